"""Arguments → build(); the messages people read."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import TextIO

from corpus_site import __version__
from corpus_site.build import BuildError, BuildResult, build
from corpus_site.report import Health
from corpus_site.serve import serve
from corpus_site.workers import ExecutorError, executor_for


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="corpus-site", description="Read a multilingual text corpus as a static website."
    )
    main.add_argument("--version", action="version", version=f"corpus-site {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build_cmd = commands.add_parser(
        "build", help="build the site from a folder of seeds", description="Build the site from a folder of seeds."
    )
    _add_site_arguments(build_cmd)
    build_cmd.add_argument(
        "--base-url",
        metavar="URL",
        help="public address of the site: absolute canonical links, sitemap.xml, robots.txt",
    )
    build_cmd.add_argument(
        "--strict", action="store_true", help="exit non-zero if any file was skipped or any warning was given"
    )
    loudness = build_cmd.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    loudness.add_argument("-v", "--verbose", action="store_true", help="also list every warning and ignored file")
    _add_speed_options(build_cmd)
    build_cmd.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="decode and detect on a Dask cluster, e.g. tcp://host:8786 (pip install 'corpus-site[dask]')",
    )
    serve_cmd = commands.add_parser(
        "serve", help="build, serve on 127.0.0.1 and rebuild on every change",
        description="Build the site, serve it on 127.0.0.1, and rebuild it (and reload the open page) "
        "when a seed, template or static file changes. The pages come first; the search index follows.",
    )  # fmt: skip
    _add_site_arguments(serve_cmd)
    serve_cmd.add_argument(
        "--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000; 0 picks a free one)"
    )
    _add_speed_options(serve_cmd)
    return main


def _add_site_arguments(command: argparse.ArgumentParser) -> None:
    """What build and serve share: where the seeds are, where the site goes, and whose templates."""
    command.add_argument(
        "seeds",
        nargs="?",
        default="seeds",
        type=Path,
        metavar="SEEDS",
        help="folder of .txt/.md/.markdown seeds (default: seeds/)",
    )
    command.add_argument("-o", "--out", default="site", type=Path, metavar="OUT", help="output folder (default: site/)")
    command.add_argument(
        "--templates", type=Path, metavar="DIR", help="folder of templates that override ours one by one"
    )


def _add_speed_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-j",
        "--jobs",
        type=_positive,
        metavar="N",
        help="worker processes for decoding and detection (default: one per core)",
    )
    command.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="content cache folder (default: .corpus-site-cache/ beside SEEDS)"
    )
    command.add_argument("--no-cache", action="store_true", help="neither read nor write the content cache")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


class ProgressBar:
    """A one-line bar on a terminal; silent when stderr is not one."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total < 50 or (done % max(1, total // 200) and done != total):
            return
        width = 30
        filled = width * done // total
        self.stream.write(f"\r{stage:<7} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(
            args.seeds, args.out, templates=args.templates, port=args.port,
            jobs=args.jobs, cache_dir=args.cache_dir, cache=not args.no_cache, waiting=partial(say_waiting, args.out),
        )  # fmt: skip
    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    try:
        with executor_for(args.dask) as executor:
            result = build(
                # No bar, no callback: a build in a child process would send it each page over a pipe for nothing.
                args.seeds, args.out, templates=args.templates, base_url=args.base_url,
                progress=bar if bar.enabled else None,
                jobs=args.jobs, executor=executor, cache_dir=args.cache_dir, cache=not args.no_cache,
                waiting=partial(say_waiting, args.out),
            )  # fmt: skip
    except (BuildError, ExecutorError) as error:
        bar.clear()
        print(f"corpus-site: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        bar.clear()
        print("corpus-site: interrupted; the previous site is unchanged", file=sys.stderr)
        return 130
    bar.clear()
    report(result, args.out, verbose=args.verbose, quiet=args.quiet)
    corpus = result.corpus
    if args.strict and (corpus.skipped or corpus.warnings):
        print(f"corpus-site: --strict: {len(corpus.skipped)} skipped, {len(corpus.warnings)} warnings", file=sys.stderr)
        return 1
    return 0


def say_waiting(out: Path) -> None:
    """What a build says while another build into the same folder (a `serve`, say) finishes."""
    print(
        f"corpus-site: another build is writing to {out}/; waiting for it to finish (Ctrl-C to stop)", file=sys.stderr
    )


def health_line(health: Health, out: Path) -> str:
    """The health report in one line: each section with findings, and its count."""
    found = [f"{count} {title.lower()}" for title, count in health.counts().items() if count]
    return f"health: {'; '.join(found) if found else 'nothing to report'} (details in {out}/report.html)"


def report(result: BuildResult, out: Path, *, verbose: bool, quiet: bool) -> None:
    """Warnings and skips (all with -v, a sample otherwise), then one summary line."""
    corpus = result.corpus
    if not quiet:
        limit = None if verbose else 10
        lines = [f"warning: {problem}" for problem in corpus.warnings]
        lines += [f"skipped: {item.source}: {item.reason}" for item in corpus.skipped]
        for line in lines[:limit]:
            print(line, file=sys.stderr)
        if limit is not None and len(lines) > limit:
            print(f"… and {len(lines) - limit} more (see -v, or the skipped list on the index page)", file=sys.stderr)
        if verbose:
            for source in corpus.ignored:
                print(f"ignored: {source}: not a .txt, .md or .markdown file", file=sys.stderr)
    if quiet:
        return
    if verbose:
        stages = (
            ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings)
            or "site unchanged, kept as it was"
        )
        print(
            f"timings: {stages}; {result.from_cache} documents from the cache, {result.pages_kept} pages kept",
            file=sys.stderr,
        )
    if result.health:
        print(health_line(result.health, out))
    documents = result.document_count
    print(
        f"Built {out}/: {documents} document{'s' * (documents != 1)}, "
        f"{len(result.languages)} language{'s' * (len(result.languages) != 1)} ({', '.join(result.languages)}), "
        f"{len(corpus.skipped)} skipped, {len(corpus.warnings)} warning{'s' * (len(corpus.warnings) != 1)} "
        f"in {result.seconds:.2f} s"
    )
