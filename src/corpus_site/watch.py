"""What serve watches: snapshots of the folders say what changed; file-system events say when, and where, to look.

Looking costs a walk of every file (40 ms at 10,000 seeds, ten times that at 100,000), so looking twice a second
kept a core busy on a large corpus and still noticed a save only 0.25–0.75 s after it. With events (inotify,
FSEvents, ReadDirectoryChangesW, through watchfiles) serve looks as soon as something moved, at only the paths the
events name, and walks everything only rarely otherwise: on file systems that send no events (some network mounts)
a walk now and then still notices changes, and one now and then puts right anything events missed.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path

Snapshot = dict[str, tuple[int, int]]  # path → (mtime in ns, size)

POLL_SECONDS = 0.5  # without events: how often to look, and how long files must stay still before a rebuild
# With events: how long no event must come before a rebuild, after watchfiles has waited EVENTS_MS without one to
# hand over what came. A save is built 75-100 ms after its last write: an editor's (a write and a rename) comes
# well within that, and a file still being written when a rebuild starts only brings another rebuild.
QUIET_SECONDS = 0.05
EVENTS_MS = 25
# With events, a look now and then all the same, costing at most a twentieth of a core.
LOOK_ANYWAY_SECONDS = 2.0
LOOK_ANYWAY_SHARE = 20
# With events, a look after them looks again only at the paths they name; past this many, at everything.
LOOK_AT_MOST = 256


def snapshot(folders: Iterable[Path]) -> Snapshot:
    """Every file under `folders` with its modification time and size, hidden files and folders left out: no build
    reads them (discovery passes over them), and they change often: an editor's swap file (vim rewrites
    `.name.swp` every few seconds while one types), a `.git` folder at each commit."""
    seen: Snapshot = {}
    stack = [str(folder) for folder in folders if folder.is_dir()]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file():
                    info = entry.stat()
                    seen[entry.path] = (info.st_mtime_ns, info.st_size)
            except OSError:
                continue
    return seen


def updated(seen: Snapshot, paths: Iterable[str]) -> Snapshot:
    """`seen` as snapshot() would find it now, if only `paths` changed since (each a file or folder, perhaps gone)."""
    paths = set(paths)
    below = tuple(path + os.sep for path in paths)  # a folder removed or moved away names no file inside it
    now = {path: facts for path, facts in seen.items() if path not in paths and not path.startswith(below)}
    for path in paths:
        now.update(_at(path))
    return now


def _at(path: str) -> Snapshot:
    """What snapshot() finds at `path`: its files if a folder, itself if a file, else nothing."""
    try:
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):  # a folder, not a link to one, is walked
            return snapshot([Path(path)])
        info = os.stat(path)  # a link is taken for what it names, as DirEntry.is_file and stat do
    except OSError:
        return {}
    return {path: (info.st_mtime_ns, info.st_size)} if stat.S_ISREG(info.st_mode) else {}


def _below(path: str, root: str) -> str | None:
    """`path` relative to the folder `root` (both absolute), if it is inside it."""
    try:
        inside = os.path.relpath(path, root) if os.path.isabs(path) else os.pardir
    except ValueError:  # another drive (Windows)
        return None
    return None if inside in (os.curdir, os.pardir) or inside.startswith(os.pardir + os.sep) else inside


def changed_paths(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


class Watcher:
    """Wakes serve's loop when something under `folders` may have changed.

    A thread follows watchfiles' events; if it cannot (watchfiles missing, the system's limit on watches reached,
    no folder to watch), `events` is False and the loop looks every POLL_SECONDS as it did before events.
    """

    def __init__(self, folders: Iterable[Path]) -> None:
        self.folders = [folder for folder in folders if folder.is_dir()]
        self._stirred = threading.Event()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._failed = threading.Event()
        self._look_seconds = 0.0
        # The last look, and the paths events named since it was taken (under the lock); _whole: look at everything.
        self._seen: Snapshot | None = None
        self._lock = threading.Lock()
        self._named: set[str] = set()
        self._whole = True
        self._roots = [(os.path.abspath(folder), str(folder)) for folder in self.folders]
        self._thread = threading.Thread(target=self._follow, name="corpus-site-watch", daemon=True)

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exception: object) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)

    def start(self) -> None:
        """Start following events (once; a thread, so only after the build that wants to fork)."""
        if self.folders and self._thread.ident is None:
            self._thread.start()

    @property
    def events(self) -> bool:
        """True while file-system events arrive (once the watches are in place)."""
        return self._listening.is_set() and not self._failed.is_set() and self._thread.is_alive()

    def look(self) -> Snapshot:
        """A snapshot of the folders, timed so that the looks made without an event stay cheap."""
        with self._lock:  # before the walk: what changes during it is named again and looked at next time
            self._named, self._whole = set(), not self.events  # without events since, only a walk is sure
        started = time.perf_counter()
        seen = self._seen = snapshot(self.folders)
        self._look_seconds = time.perf_counter() - started
        return seen

    def look_again(self) -> Snapshot:
        """The folders now, where events came since the last look and named a few paths: only those are looked at
        (a walk of 10,000 seeds takes 60-70 ms of each rebuild); otherwise a snapshot of everything."""
        with self._lock:
            named, whole = self._named, self._whole
            self._named, self._whole = set(), False
        if self._seen is None or whole or not self.events or len(named) > LOOK_AT_MOST:
            return self.look()
        self._seen = updated(self._seen, named)
        return self._seen

    def changed_since(self, seen: Snapshot) -> bool:
        return self.look_again() != seen

    def wait(self) -> bool:
        """Until an event comes (True), or it is time to look anyway (False)."""
        if not self.events:
            time.sleep(POLL_SECONDS)
            return False
        stirred = self._stirred.wait(max(LOOK_ANYWAY_SECONDS, LOOK_ANYWAY_SHARE * self._look_seconds))
        self._stirred.clear()  # before the look that follows, so a change made during it wakes the next wait
        return stirred

    def next_change(self, before: Snapshot) -> Snapshot:
        """The folders once they differ from `before` and have held still for a moment (waits until then).

        After an event, once the events stop for a moment one look settles it; a change seen on the timer must
        still be there a moment later. At 10,000 seeds a walk of the folders takes 60–70 ms; a look at only the
        paths events named, 2 ms.
        """
        while True:
            if self.wait() and self.events:
                self.wait_for_quiet()
                seen = self.look_again()
                if seen != before:
                    return seen
                continue
            now = self.look()
            if now == before:
                continue
            self.wait_for_quiet()
            if self.look() == now:
                return now

    def wait_for_quiet(self) -> None:
        """Until the files have stayed still for a moment: an editor saving, a copy in progress."""
        if not self.events:
            time.sleep(POLL_SECONDS)
            return
        while self._stirred.wait(QUIET_SECONDS):
            self._stirred.clear()

    def _name(self, paths: Iterable[str]) -> None:
        """Note the snapshot's names of `paths`, which events say changed; a watched folder itself, or a path below
        none of them as the snapshot names them (a link's target, say), makes the next look one at everything."""
        paths = list(paths)
        names: list[str] = []
        whole = len(paths) > LOOK_AT_MOST
        for path in paths if not whole else ():
            found = [os.path.join(name, inside) for root, name in self._roots if (inside := _below(path, root))]
            names.extend(found)
            whole = whole or not found
        with self._lock:
            self._named.update(names)
            self._whole = self._whole or whole

    def _shown(self, path: str) -> bool:
        """Whether `path` is one the snapshot takes: nothing hidden below the watched folder it is in."""
        for root, _ in self._roots:
            inside = _below(path, root)
            if inside is not None:
                return not any(part.startswith(".") for part in Path(inside).parts)
        return True

    def _follow(self) -> None:
        try:
            import watchfiles

            # Changes the snapshot would not see wake no one; yield_on_timeout tells us the watches are in place, and
            # rust_timeout is how soon a stop is noticed.
            for changes in watchfiles.watch(
                *self.folders,
                watch_filter=lambda change, path: self._shown(path),
                step=EVENTS_MS,
                stop_event=self._stop,
                rust_timeout=200,
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                self._listening.set()
                if changes:
                    self._name(path for _, path in changes)
                    self._stirred.set()
        except Exception:  # noqa: BLE001 - any failure to watch leaves us looking on a timer, as before
            self._failed.set()
