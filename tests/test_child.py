import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from corpus_site import child as child_module
from corpus_site.child import ChildDied, RemoteTraceback, can_fork, die_with, give_back_freed_memory, run_in_child

pytestmark = pytest.mark.skipif(not can_fork(), reason="the child process is forked, which only Linux does safely")


def test_the_result_and_each_progress_call_come_back_in_order() -> None:
    calls: list[tuple[str, int, int, int]] = []

    def work(progress):  # type: ignore[no-untyped-def]
        for done in range(1, 4):
            progress("load", done, 3)
        progress("render", 1, 1)
        return {"pid": os.getpid(), "pages": ["a", "b"]}

    result = run_in_child(work, lambda stage, done, total: calls.append((stage, done, total, os.getpid())))
    assert result["pages"] == ["a", "b"]
    assert result["pid"] != os.getpid()
    assert calls == [("load", 1, 3, os.getpid()), ("load", 2, 3, os.getpid()), ("load", 3, 3, os.getpid()),
                     ("render", 1, 1, os.getpid())]  # fmt: skip


def test_without_a_progress_callback_the_work_gets_none() -> None:
    assert run_in_child(lambda progress: progress, None) is None


def test_an_error_in_the_child_is_raised_here_with_the_childs_traceback() -> None:
    def failing_work(progress):  # type: ignore[no-untyped-def]
        raise ValueError("no such seed")

    with pytest.raises(ValueError, match="no such seed") as raised:
        run_in_child(failing_work, None)
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "failing_work" in str(raised.value.__cause__)


class Unpicklable(Exception):
    def __init__(self, message: str, handle: object) -> None:
        super().__init__(message)
        self.handle = handle

    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError("cannot pickle a lock")


def test_an_error_that_does_not_pickle_still_arrives_as_text() -> None:
    def work(progress):  # type: ignore[no-untyped-def]
        raise Unpicklable("bad state", threading.Lock())

    with pytest.raises(RuntimeError, match="Unpicklable: bad state"):
        run_in_child(work, None)


def test_a_child_killed_midway_is_reported_not_waited_for() -> None:
    with pytest.raises(ChildDied, match=r"exit code -9"):
        run_in_child(lambda progress: os.kill(os.getpid(), signal.SIGKILL), None)


PARENT = """
import sys, time
from pathlib import Path
from corpus_site.child import run_in_child

folder = Path(sys.argv[1])

def work(progress):
    (folder / "child.pid").write_text(str(__import__("os").getpid()))
    try:
        while True:
            time.sleep(0.05)
    finally:
        time.sleep(0.5)  # a slow cleanup, like removing a large staging folder
        (folder / "cleaned").touch()

try:
    run_in_child(work, None)
except KeyboardInterrupt:
    sys.exit(130)
"""


def start_parent(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(folder)], start_new_session=True)
    deadline = time.monotonic() + 30
    while not (folder / "child.pid").is_file() or not (folder / "child.pid").read_text():
        assert time.monotonic() < deadline and parent.poll() is None, "the child never started"
        time.sleep(0.02)
    return parent, int((folder / "child.pid").read_text())


def gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("who", ["the parent alone", "the whole process group, as a terminal does"])
def test_ctrl_c_lets_the_child_clean_up_once_then_ends_both(tmp_path: Path, who: str) -> None:
    parent, child = start_parent(tmp_path)
    if who == "the parent alone":
        parent.send_signal(signal.SIGINT)
    else:
        os.killpg(parent.pid, signal.SIGINT)
    assert parent.wait(timeout=30) == 130
    assert (tmp_path / "cleaned").is_file()  # the second Ctrl-C (passed on by the parent) did not cut it short
    assert gone(child)


INTERRUPTED_AT_FORK = """
import multiprocessing.context, os, signal, sys, time
from corpus_site.child import run_in_child

start = multiprocessing.context.ForkProcess.start

def start_then_ctrl_c(self):
    start(self)
    os.kill(os.getpid(), signal.SIGINT)  # lands before run_in_child waits for an answer

multiprocessing.context.ForkProcess.start = start_then_ctrl_c

def work(progress):
    while True:
        time.sleep(0.05)

try:
    run_in_child(work, None)
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_ctrl_c_right_after_the_fork_still_ends_both() -> None:
    parent = subprocess.Popen([sys.executable, "-c", INTERRUPTED_AT_FORK], stderr=subprocess.DEVNULL)
    try:
        assert parent.wait(timeout=30) == 130  # it used to wait at exit for a child that was never told
    finally:
        parent.kill()


def test_the_child_dies_with_its_parent(tmp_path: Path) -> None:
    parent, child = start_parent(tmp_path)
    parent.kill()
    parent.wait(timeout=30)
    assert gone(child), "an orphaned child would go on writing the staging folder the next build uses"


def test_without_a_c_library_to_open_by_name_memory_and_parent_death_are_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Windows' LoadLibrary refuses None; ctypes.CDLL(None) then raises TypeError, which used to end the build there.
    def no_library(name: object, *args: object, **kwargs: object) -> None:
        raise TypeError("LoadLibrary() argument 1 must be str, not None")

    monkeypatch.setattr(child_module.ctypes, "CDLL", no_library)
    give_back_freed_memory()
    die_with(None)
