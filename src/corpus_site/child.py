"""Work run in a forked child process: its progress and result come back over a pipe, its memory goes when it exits."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import Any, TypeVar

Result = TypeVar("Result")
Progress = Callable[[str, int, int], None]  # (stage, done, total), as build.Progress

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_WAIT_AFTER_CTRL_C = 30.0  # seconds the child gets to clean up after Ctrl-C before it is terminated


class ChildDied(Exception):
    """The child process ended without a result or an error: killed, most likely for want of memory."""


class RemoteTraceback(Exception):
    """The child's traceback, as text: the __cause__ of an exception re-raised in the parent."""

    def __str__(self) -> str:
        return str(self.args[0])


def can_fork() -> bool:
    """Whether forking is safe here: on Linux, with no other thread that could hold a lock the child would inherit
    held forever. macOS has fork but its system libraries are not safe across it; Windows has none."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def give_back_freed_memory() -> None:
    """Hand the memory freed objects leave in glibc's heap back to the system, which glibc does not do by itself,
    so that a long-lived process holds only what it uses. Where there is no malloc_trim, nothing happens."""
    libc = _c_library()
    if libc is not None:
        with suppress(AttributeError):  # not glibc
            libc.malloc_trim(0)


def _c_library() -> ctypes.CDLL | None:
    """The C library this process runs on; None where it cannot be opened by that name (Windows)."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except (OSError, TypeError):  # Windows' LoadLibrary takes no None
        return None


def run_in_child(work: Callable[[Progress | None], Result], progress: Progress | None) -> Result:
    """`work(progress)` in a forked child process; what it returns or raises comes back here, and each progress
    call it makes is made here too, in order."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    # Ctrl-C is held back across the fork, here until the child exists and there until it can take it: one that
    # came between the two used to leave the child unaware of it, and this interpreter waiting at exit for the child
    # (a non-daemon process) forever.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # the mask as it is
    arguments = (work, receiver, sender, progress is not None, os.getpid(), signal.SIGINT not in held)
    child = context.Process(target=_run, args=arguments, name="corpus-site build")
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            child.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        sender.close()  # so that the receiver sees the end of the pipe when the child is gone
        return _answer(receiver, child, progress)  # type: ignore[no-any-return]
    except KeyboardInterrupt:
        # Ctrl-C in a terminal reaches the child too, and it takes only the first; `kill -INT` reaches us alone.
        # Either way the child removes its staging folder and keeps what it loaded, then exits.
        if child.is_alive() and child.pid:
            os.kill(child.pid, signal.SIGINT)
        _drain(receiver, child, time.monotonic() + _WAIT_AFTER_CTRL_C)
        if child.is_alive():
            child.terminate()
        raise
    finally:
        if child.pid is not None:  # started
            child.join()
        receiver.close()


def _drain(receiver: Connection, child: multiprocessing.process.BaseProcess, deadline: float) -> None:
    """Read and drop what the child sends until it exits: a child blocked on a full pipe would never get there."""
    while child.is_alive() and time.monotonic() < deadline:
        try:
            if receiver.poll(0.1):
                receiver.recv()
        except (EOFError, OSError):
            break
    child.join(max(0.0, deadline - time.monotonic()))


def _answer(receiver: Connection, child: multiprocessing.process.BaseProcess, progress: Progress | None) -> Any:
    """The child's result, once each of its progress calls has been made here."""
    while True:
        try:
            kind, payload = receiver.recv()
        except EOFError:
            child.join()
            raise ChildDied(f"the build's child process ended without finishing (exit code {child.exitcode})") from None
        if kind == "progress" and progress:
            progress(*payload)
        elif kind == "result":
            return payload
        elif kind == "error":
            error, trace = payload
            raise error from RemoteTraceback(trace)


def die_with(parent: int | None) -> None:
    """Be killed when the process that started this one dies, as one process killed would have been; an orphan
    would go on writing the staging folder that the next build is about to use, or hold the output folder's lock
    (inherited across fork) so that the next build waits forever. `parent` is its pid where known, to catch a
    death that came first."""
    libc = _c_library() if sys.platform.startswith("linux") else None
    if libc is not None:
        with suppress(AttributeError):
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _interrupt_once(signum: int, frame: object) -> None:
    """Ctrl-C as KeyboardInterrupt, once: a second one (the parent passes it on) must not cut the cleanup short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _portable(error: BaseException) -> BaseException:
    """`error`, or a RuntimeError saying what it was when it would not survive the trip through pickle."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any exception class may fail to pickle in its own way
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _run(
    work: Callable[[Progress | None], object],
    receiver: Connection,
    sender: Connection,
    report_progress: bool,
    parent: int,
    take_ctrl_c: bool,
) -> None:
    """The child's whole life: every outcome, even Ctrl-C, is sent to the parent rather than printed."""
    receiver.close()  # the parent's end: held open here too, a dead parent would go unnoticed
    die_with(parent)
    signal.signal(signal.SIGINT, _interrupt_once)

    def forward(stage: str, done: int, total: int) -> None:
        sender.send(("progress", (stage, done, total)))

    try:
        if take_ctrl_c:  # held back by the parent across the fork: one that came meanwhile arrives now
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        outcome: tuple[str, object] = ("result", work(forward if report_progress else None))
    except BaseException as error:  # noqa: BLE001 - the parent raises it again
        outcome = ("error", (_portable(error), traceback.format_exc()))
    try:
        sender.send(outcome)
    except OSError:
        pass  # the parent is gone or has stopped listening (Ctrl-C): there is no one to tell
    except Exception as error:  # noqa: BLE001 - it did not pickle (nothing was sent): say what can be said
        with suppress(OSError):
            sender.send(("error", (RuntimeError(f"the build's result could not be sent back: {error!r}"), "")))
    finally:
        sender.close()
