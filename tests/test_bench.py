"""benchmarks/bench.py's memory sampling: what it sums is memory the process tree really holds."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_site_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# A process holding 200 MB that starts a program again and again, as a build's child starts Pagefind.
_SPAWNING = """
import subprocess, sys, time
held = bytearray(200 * 1024 * 1024)
for at in range(0, len(held), 4096):
    held[at] = 1
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    subprocess.run(["/bin/true"])
"""


def test_a_child_started_with_vfork_is_not_counted_again_while_it_shares_its_parent_s_memory() -> None:
    bench = _bench()
    if bench._KCMP is None or not Path("/proc/self/task").exists():
        pytest.skip("kcmp(2) and /proc are Linux's, on x86_64 and aarch64")
    with subprocess.Popen([sys.executable, "-c", _SPAWNING, "3"], stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout and process.stdout.readline() == "ready\n"
            held = bench._rss_kb(process.pid)[1]
            peak = caught = 0
            end = time.monotonic() + 2.5
            while time.monotonic() < end:
                peak = max(peak, bench.tree_rss_kb(process.pid)[0])
                children = bench._children(process.pid)
                caught += any(bench.same_memory(child, process.pid) for child in children)
        finally:
            process.kill()
    assert caught, "no child was seen before it ran its program: nothing was tested"
    assert held > 200_000  # KiB
    assert peak < 1.2 * held  # counted twice, it was about 2 × held
