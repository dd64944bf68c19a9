"""Time `corpus-site serve` as seeds are added: when the pages are in, and when the search index follows.

    python benchmarks/serve.py --size 10000 --runs 3

It writes the benchmark's corpus (bench.py's generator) into --work/<size>/seeds unless a corpus of that size is
there already (`bench.py --keep` leaves one), starts `corpus-site serve` on a free port, waits for its first
build, then adds --runs new documents one at a time. For each it reports the seconds from the write to serve's
"Built" line (the pages are in and the open page reloads) and to its "Search index updated" line. Both include
the time serve takes to notice the change (an event from the file system, then 75-100 ms without another).
The first seed is written once the first build is wholly done, search index included. The added seeds are
removed at the end, and serve is stopped with Ctrl-C.

With --cold the output and cache folders (serve-out and serve-cache beside the seeds) are removed first, and the
first build is reported too: seconds from the start until serve serves and until its first search index.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import _USER_CACHE, document, generate, machine, seed_path  # noqa: E402 - beside this script

WAIT = 1800  # seconds: a bound on a first build of 100,000 documents, not a measure


class Served:
    """A `corpus-site serve` process, with each line it prints and when it printed it."""

    def __init__(self, seeds: Path, out: Path, cache: Path) -> None:
        command = [sys.executable, "-m", "corpus_site", "serve", str(seeds), "-o", str(out), "--port", "0"]
        command += ["--cache-dir", str(cache)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))

    def wait_for(self, pattern: str) -> float:
        """When serve printed a line matching `pattern` (lines before it are passed over)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                when, line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise SystemExit(f"serve exited with {self.process.returncode}") from None
                continue
            if "error" in line:
                raise SystemExit(f"serve: {line}")
            if re.search(pattern, line):
                return when
        raise SystemExit(f"serve never printed {pattern!r}")

    def first_build_done(self, seconds: float) -> None:
        """Until the search index line, or `seconds` without a line (a first build that finds the site as the
        last one left it makes no search index and says nothing more)."""
        while True:
            try:
                _, line = self.lines.get(timeout=seconds)
            except queue.Empty:
                return
            if line.startswith("Search index updated"):
                return

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def time_serve(
    seeds: Path,
    out: Path,
    cache: Path,
    *,
    first: int,
    runs: int,
    cold: bool = False,
    say: Callable[[str], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Start serve on `seeds`, wait for its first build, add `runs` seeds (numbered from `first`) one at a time;
    the seconds from each write to the pages, and to the search index. The added seeds are removed again."""
    say = say or partial(print, flush=True)
    added = [seed_path(seeds, first + run) for run in range(runs)]
    started = time.perf_counter()
    served = Served(seeds, out, cache)
    pages: list[float] = []
    index: list[float] = []
    try:
        serving = served.wait_for(r"^Serving ") - started
        if cold:
            first_index = served.wait_for(r"^Search index updated") - started
            say(f"first build: serving after {serving:.2f} s, search index after {first_index:.2f} s")
        else:
            served.first_build_done(15)
        for run, path in enumerate(added):
            path.parent.mkdir(parents=True, exist_ok=True)
            written = time.perf_counter()
            path.write_text(document(first + run), encoding="utf-8")
            pages.append(served.wait_for(r"^Built ") - written)
            index.append(served.wait_for(r"^Search index updated") - written)
            say(f"seed {run + 1}: pages in {pages[-1]:.2f} s, search index in {index[-1]:.2f} s")
    finally:
        served.stop()
        for path in added:
            path.unlink(missing_ok=True)
            if path.parent.is_dir() and not any(path.parent.iterdir()):
                path.parent.rmdir()
    return pages, index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10000, metavar="N", help="corpus size (default: 10000)")
    parser.add_argument("--runs", type=int, default=3, help="seeds added one after another (default: 3)")
    parser.add_argument("--cold", action="store_true", help="start without output or cache, and time the first build")
    parser.add_argument(
        "--work",
        type=Path,
        default=_USER_CACHE / "corpus-site-bench",
        help=f"scratch folder, shared with bench.py (default: {_USER_CACHE / 'corpus-site-bench'})",
    )
    args = parser.parse_args(argv)
    work = args.work / str(args.size)
    seeds = work / "seeds"
    if not seed_path(seeds, args.size - 1).is_file():
        print(f"generating {args.size:,} documents in {seeds}", file=sys.stderr, flush=True)
        generate(seeds, args.size)
    where = machine()
    if args.cold:
        for folder in (work / "serve-out", work / "serve-cache"):
            if folder.exists():
                shutil.rmtree(folder)
    pages, index = time_serve(
        seeds, work / "serve-out", work / "serve-cache", first=args.size + 1000, runs=args.runs, cold=args.cold
    )
    print(f"\nMachine: {where}; load average at the end {os.getloadavg()[0]:.2f}")
    print(f"Command: python benchmarks/serve.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(
        f"Adding one seed to {args.size:,} documents under serve, seconds from the write (median of {args.runs}): "
        f"pages {statistics.median(pages):.2f}, search index {statistics.median(index):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
