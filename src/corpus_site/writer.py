"""Files of the site → the output folder, swapped in whole so a failed build leaves the old site (or, for serve,
updated file by file under a lock that its server takes for each request)."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: builds into one folder are not kept apart
    fcntl = None  # type: ignore[assignment]

MANIFEST = ".corpus-site.json"  # marks a folder corpus-site made and lists the files it wrote
_STAGING_MARK = ".corpus-site-staging"
_LOCK_SUFFIX = "corpus-site-lock"
_RENAME_EXCHANGE = 2

FileFacts = tuple[int, int, int, int]  # size, modification and change times in ns, inode
# What the last build left in the output folder: each file it wrote, as the file system saw it once the site was in
# place, and the hash of its bytes. A file whose facts still match holds those bytes: nobody can set a change time
# back, and every write, rename or link bumps it. Kept as a shortcut only; without it, old files are read.
Ledger = dict[str, tuple[FileFacts, bytes]]


class OutputError(Exception):
    """The output folder cannot be used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class WriteStats:
    """How many files were written anew, kept unchanged, and carried over from the user."""

    written: int
    unchanged: int
    kept_user_files: tuple[str, ...]


def check_output(out: Path, seeds: Path) -> None:
    """Refuse an output folder that is a file, someone else's, or tangled with the seeds."""
    out_abs, seeds_abs = out.resolve(), seeds.resolve()
    if out_abs == seeds_abs or out_abs.is_relative_to(seeds_abs):
        raise OutputError(
            f"the output folder {out} is inside the seeds folder {seeds}; choose an output folder outside it"
        )
    if seeds_abs.is_relative_to(out_abs):
        raise OutputError(f"the seeds folder {seeds} is inside the output folder {out}; choose another output folder")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file, not a folder; give -o a folder path")
    if out.is_dir() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise OutputError(
            f"{out} is not empty and was not made by corpus-site; choose a new or empty folder with -o "
            "(corpus-site never deletes files it did not write)"
        )


@dataclass(frozen=True, slots=True)
class KeptFile:
    """A file of the last site that this build makes again byte for byte, known by its hash without reading it:
    it is hard-linked. `content` makes the bytes again, should the old file have gone in the meantime."""

    digest: bytes
    content: Callable[[], bytes]


class StagedSite:
    """The output being written: files go into a staging folder beside OUT as they are made, so a site never
    has to fit in memory at once; `finish` swaps the folder in whole.

    `in_place` (serve): the staging folder holds only the new and changed files, and `finish` moves them into OUT
    one by one and removes the files no longer made. Linking the 34,000 unchanged files of a 10,000-document
    site into a new folder, and removing the old one, took 0.8 s of each rebuild; in place, a reader of the
    folder could see the site half updated for a moment, so the caller's lock must keep readers out meanwhile.
    """

    def __init__(self, out: Path, ledger: Ledger | None = None, *, in_place: bool = False) -> None:
        if out.is_symlink():  # swap the folder the link points to; the user's link stays
            out = out.resolve()
        self.out = out
        self.staging = out.parent / f".{out.name}.corpus-site-new"
        self.previous = _manifest(out)
        self.in_place = in_place and bool(self.previous)  # a folder of ours to update; else swapped in whole
        _remove_stale_staging(self.staging)
        self.staging.mkdir(parents=True)
        (self.staging / _STAGING_MARK).touch()
        self.old = _scan(out) if out.is_dir() else {}
        self.names: set[str] = set()
        self.made: set[str] = set()
        self.written = self.unchanged = 0
        self.vouched: dict[str, bytes] = {}  # path → hash of the last site's file there, read during this build
        self.ledger = ledger or {}
        self.digests: dict[str, bytes] = {}  # path → hash of what this build put there, for the next build's ledger
        self._previous_site: Path | None = None  # where `finish` put the site it replaced, until it is removed
        self.placed: list[str] = []  # in place: the files written to the staging folder, to move into OUT
        self.left: set[str] = set()  # in place: the last site's files kept without being looked at (keep_old)

    def __getstate__(self) -> dict[str, object]:
        # The scan of the old site holds os.DirEntry objects, which do not pickle; it is cheap to make again
        # (30 ms for 34,000 files), so the process that receives the stage scans the old site itself.
        return {name: value for name, value in self.__dict__.items() if name != "old"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.old = _scan(self.out) if self.out.is_dir() else {}

    def vouch(self, relative: str, digest: bytes) -> None:
        """Note that the last site's file at `relative` was read during this build and hashed to `digest`:
        if `add` is given bytes with that hash, it links the file without reading it again."""
        self.vouched[relative] = digest

    def old_files(self, wanted: Callable[[str], bool]) -> list[str]:
        """The relative paths of the last site's regular files (symlinks left out) that `wanted` accepts, sorted."""
        return sorted(self._old_files(wanted))

    def _old_files(self, wanted: Callable[[str], bool]) -> Iterator[str]:
        return (path for path, entry in self.old.items() if wanted(path) and _is_regular(entry))

    def keep_old(self, wanted: Callable[[str], bool]) -> None:
        """The last site's files that `wanted` accepts and this build has not written, kept as they are (those the
        writer knows unchanged are linked unread). In place they are not even looked at: the ledger keeps those the
        file system then says are unchanged (ledger_now). At 10,000 documents, serve's pages go in 0.17 s sooner
        beside 14,000 such files."""

        def unwritten(path: str) -> bool:
            return wanted(path) and path not in self.names

        if self.in_place:  # into a set: no need to sort them
            self.left.update(path for path in self._old_files(unwritten) if path in self.previous)
            return
        for name in self.old_files(unwritten):
            digest, path = self.known_digest(name), self.out / name
            self.add(name, KeptFile(digest, path.read_bytes) if digest is not None else path.read_bytes())

    def known_digest(self, relative: str) -> bytes | None:
        """The hash of the last site's file at `relative`, if the file system says it is as the last build left it."""
        recorded, old = self.ledger.get(relative), self.old.get(relative)
        if recorded is None or old is None:
            return None
        try:
            facts = _facts(old.stat(follow_symlinks=False))
        except OSError:
            return None
        return recorded[1] if facts == recorded[0] else None

    def add(self, relative: str, content: bytes | KeptFile) -> None:
        """Write one file of the site (an identical one of the last site is hard-linked instead)."""
        _refuse_escape(relative)
        if relative in self.names:
            # Writing again could write through a hard link into the site being replaced.
            raise ValueError(f"{relative!r} was already written")
        if self.old and relative not in self.previous and os.path.lexists(self.out / relative):
            raise OutputError(  # someone put it there: we do not overwrite what we did not write
                f"{self.out / relative} was not written by corpus-site and this build would replace it; "
                "move it out of the output folder and build again"
            )
        self.names.add(relative)
        self.left.discard(relative)
        old = self.old.get(relative)
        if self.in_place and isinstance(content, KeptFile) and _stays(old):
            # Left where it is: nothing goes into the staging folder (20,000 such files a rebuild under serve).
            self.digests[relative] = content.digest
            self.unchanged += 1
            return
        target = os.path.join(self.staging, relative)
        folder = os.path.dirname(target)
        if folder not in self.made:
            os.makedirs(folder, exist_ok=True)
            self.made.add(folder)
        if isinstance(content, KeptFile):
            if self._keep(old, target):
                self.digests[relative] = content.digest
                self.unchanged += 1
                return
            content = content.content()
        digest = self.digests[relative] = hashlib.sha256(content).digest()
        known = self.vouched.pop(relative, None) or self.known_digest(relative)
        # A known hash settles it without reading the old file; otherwise an old file of the same size is compared.
        if (known == digest or (known is None and _same_bytes(old, content))) and self._keep(old, target):
            self.unchanged += 1
            return
        with open(target, "wb") as handle:
            handle.write(content)
        self.written += 1
        self.placed.append(relative)

    def _keep(self, old: os.DirEntry[str] | None, target: str) -> bool:
        """The old file, known to hold the right bytes, stays: linked into the staging folder, or left in place."""
        return _stays(old) if self.in_place else _link(old, target)

    def finish(
        self, *, remove_previous: bool = True, holding: AbstractContextManager[object] | None = None
    ) -> WriteStats:
        """Carry the user's own files over, then swap the staging folder in for OUT. The previous site is removed
        then, or (`remove_previous=False`) when `remove_previous()` is called: removing 34,000 files takes 0.3 s.
        In place, the files move in while `holding` is held."""
        if self.in_place:
            return self._finish_in_place(holding or nullcontext())
        kept = _carry_user_files(self.old, self.staging, self.previous, self.names, self.made)
        (self.staging / MANIFEST).write_text(_manifest_text(self.names), encoding="utf-8")
        (self.staging / _STAGING_MARK).unlink()
        self._previous_site = _swap_in(self.staging, self.out)
        if remove_previous:
            self.remove_previous()
        return WriteStats(self.written, self.unchanged, tuple(kept))

    def _finish_in_place(self, holding: AbstractContextManager[object]) -> WriteStats:
        """The files no longer made removed, the new and changed ones moved in, the list of ours written: while
        it goes on, every file named in OUT is in one of the two lists, so a failure midway leaves none unclaimed."""
        users = _user_files(self.old, self.previous, self.names)  # they stay where they are
        gone = sorted(self.previous - self.names - self.left - {MANIFEST})
        claimed, final = self.previous | self.names, self.names | self.left
        with holding:
            # Each list is written only if it differs from the one OUT holds: 34,000 names, 0.1 s to write at
            # 10,000 documents, and a rebuild under serve most often adds a page or two, or none.
            if claimed != self.previous:
                _write_manifest(self.out, claimed, self.staging)
            for relative in gone:  # first, so that a folder of ours that is now a file's name is out of the way
                _remove_file_of_ours(self.out, relative)
            for relative in self.placed:
                target = self.out / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.staging / relative, target)
            if final != claimed:
                _write_manifest(self.out, final, self.staging)
        _remove_ours(self.staging)
        return WriteStats(self.written, self.unchanged, tuple(users))

    def remove_previous(self) -> None:
        """Remove the site that `finish` swapped out (the kept files' change times change as it goes)."""
        if self._previous_site is not None:
            _remove_ours(self._previous_site)
            self._previous_site = None

    def ledger_now(self, facts: Mapping[str, FileFacts]) -> Ledger:
        """This build's ledger, given what the file system says of the output folder now that it is in place."""
        ledger = {path: (facts[path], digest) for path, digest in self.digests.items() if path in facts}
        for path in self.left:  # as the last ledger had them, unless the file system says they changed since
            recorded = self.ledger.get(path)
            if recorded is not None and facts.get(path) == recorded[0]:
                ledger[path] = recorded
        return ledger

    def ledger_in_place(self) -> Ledger:
        """ledger_now for a build that finished in place, without looking at every file of OUT again (0.4 s for
        34,000 files): a file moved in is looked at now; a kept one was left untouched, so what the file system said
        of it during this build still holds (DirEntry keeps it); one kept unlooked at (keep_old) keeps the last
        ledger's entry. Each entry stays a true pair of what the file system said and the bytes the file held then:
        a file changed since has a later change time, and the next build, which compares, reads it."""
        placed = set(self.placed)
        ledger: Ledger = {}
        for path, digest in self.digests.items():
            old = self.old.get(path)
            try:
                if path in placed or old is None:
                    info = os.stat(self.out / path, follow_symlinks=False)
                else:
                    info = old.stat(follow_symlinks=False)
            except OSError:
                continue
            ledger[path] = (_facts(info), digest)
        for path in self.left:
            recorded = self.ledger.get(path)
            if recorded is not None:
                ledger[path] = recorded
        return ledger

    def abandon(self) -> None:
        """Remove the staging folder; OUT stays as it was."""
        if self.staging.exists():
            _remove_ours(self.staging)


@contextmanager
def output_lock(out: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold OUT for one build; another build into it waits (calling `waiting` once) until this one is done.

    Two builds into one folder would share its staging folder, and each would take the other's for a stale one and
    remove it, or swap in a half-written site. The lock is a file beside OUT, removed when the build ends.
    """
    if fcntl is None:
        yield
        return
    if out.is_symlink():
        out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.parent / f".{out.name}.{_LOCK_SUFFIX}"
    handle = _acquire(path, waiting)
    try:
        yield
    finally:
        with suppress(OSError):
            os.unlink(path)  # still held: a build that opened this file meanwhile sees it gone and tries again
        os.close(handle)


def _acquire(path: Path, waiting: Callable[[], None] | None) -> int:
    told = False
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting and not told:
                    waiting()
                    told = True
                fcntl.flock(handle, fcntl.LOCK_EX)
            if _names(path, handle):
                return handle
        except BaseException:
            os.close(handle)
            raise
        os.close(handle)  # the build before us removed the file as it let go: lock the one there now


def _names(path: Path, handle: int) -> bool:
    """Whether `path` still names the open file `handle`."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(handle)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


@contextmanager
def staged_site(out: Path, ledger: Ledger | None = None, *, in_place: bool = False) -> Iterator[StagedSite]:
    """A StagedSite for `out`, removed again if the build fails before `finish`."""
    stage = StagedSite(out, ledger, in_place=in_place)
    try:
        yield stage
    except BaseException:
        stage.abandon()
        raise


def write_site(out: Path, files: Mapping[str, bytes]) -> WriteStats:
    """Write `files` into a staging folder beside `out`, then swap it in."""
    with staged_site(out) as stage:
        for relative in sorted(files):
            stage.add(relative, files[relative])
        return stage.finish()


def _refuse_escape(relative: str) -> None:
    parts = relative.split("/")
    if relative.startswith("/") or "\\" in relative or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"refusing to write outside the output folder: {relative!r}")


def _remove_stale_staging(staging: Path) -> None:
    """A staging folder left by an interrupted build is ours if it carries our mark or manifest, or is empty."""
    if not staging.exists():
        return
    if (staging / _STAGING_MARK).exists() or (staging / MANIFEST).exists() or not any(staging.iterdir()):
        _remove_ours(staging)
    else:
        raise OutputError(f"{staging} exists and was not made by corpus-site; move it away and build again")


def _remove_ours(folder: Path) -> None:
    """Delete a folder of ours, its marks last: if we are killed midway, the next build still knows it."""
    marks = (folder / _STAGING_MARK, folder / MANIFEST)
    for path in folder.iterdir():
        if path in marks:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    for mark in marks:
        mark.unlink(missing_ok=True)
    folder.rmdir()


def _manifest(out: Path) -> set[str]:
    try:
        return set(json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _scan(out: Path) -> dict[str, os.DirEntry[str]]:
    """Every file (and symlink, never followed) under `out`, by its relative path: one scandir walk, no sorting."""
    found: dict[str, os.DirEntry[str]] = {}
    stack = [("", os.fspath(out))]
    while stack:
        prefix, folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                relative = prefix + entry.name
                try:
                    is_folder = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_folder = False
                if is_folder:
                    stack.append((relative + "/", entry.path))
                else:
                    found[relative] = entry
    return found


def output_files(out: Path) -> dict[str, FileFacts]:
    """Every file in the output folder as the file system sees it; any edit, addition or removal changes it."""
    facts: dict[str, FileFacts] = {}
    # Relative paths are joined as the walk goes: os.path.relpath took most of a warm rebuild at 100,000 documents.
    stack = [("", os.fspath(out))]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append((prefix + entry.name + "/", entry.path))
                continue
            try:
                facts[prefix + entry.name] = _facts(entry.stat(follow_symlinks=False))
            except OSError:
                continue
    return facts


def _facts(info: os.stat_result) -> FileFacts:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def _same_bytes(old: os.DirEntry[str] | None, content: bytes) -> bool:
    """Whether the old file holds `content`, so it can stay (its modification time, and rsync, stay put).

    Only a regular file of the same size is read to compare; the rest are written anew.
    """
    if old is None or not _is_regular(old):
        return False
    try:
        if old.stat(follow_symlinks=False).st_size != len(content):
            return False
        with open(old.path, "rb") as handle:
            return handle.read(len(content) + 1) == content
    except OSError:
        return False


def _write_manifest(out: Path, names: set[str], beside: Path) -> None:
    """OUT's list of the files we wrote, replaced in one step (written first into the staging folder `beside`)."""
    draft = beside / MANIFEST
    draft.write_text(_manifest_text(names), encoding="utf-8")
    os.replace(draft, out / MANIFEST)


def _manifest_text(names: set[str]) -> str:
    return json.dumps({"generator": "corpus-site", "files": sorted(names)}, indent=0) + "\n"


def _remove_file_of_ours(out: Path, relative: str) -> None:
    """A file we wrote and no longer make, and the folders it leaves empty (never OUT itself)."""
    (out / relative).unlink(missing_ok=True)
    folder = (out / relative).parent
    while folder != out:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone already)
            return
        folder = folder.parent


def _stays(old: os.DirEntry[str] | None) -> bool:
    """In place, whether the last site's file (if any) can stay where it is: a regular file, not a link."""
    return old is not None and _is_regular(old)


def _is_regular(entry: os.DirEntry[str]) -> bool:
    """A regular file, never a symlink's target; False when the file system cannot say."""
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _link(old: os.DirEntry[str] | None, target: str) -> bool:
    """Hard-link a regular old file known to hold the right bytes."""
    if old is None or not _is_regular(old):
        return False
    try:
        os.link(old.path, target)
        return True
    except OSError:
        return False


def _carry_user_files(
    old: dict[str, os.DirEntry[str]], staging: Path, previous: set[str], files: set[str], made: set[str]
) -> list[str]:
    """Files someone added to the output folder stay there: we only replace what we wrote."""
    kept = _user_files(old, previous, files)
    for relative in kept:
        source, target = old[relative].path, os.path.join(staging, relative)
        folder = os.path.dirname(target)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(source, target, follow_symlinks=False)
    return kept


def _user_files(old: Mapping[str, object], previous: set[str], files: set[str]) -> list[str]:
    """The files in the output folder that we neither wrote last time nor write now: someone else's."""
    return sorted(
        relative
        for relative in old
        if relative not in previous and relative not in files and relative not in (MANIFEST, _STAGING_MARK)
    )


def _swap_in(staging: Path, out: Path) -> Path | None:
    """Exchange the folders in one step where the kernel allows it, else two quick renames; where the previous
    site is now, for the caller to remove."""
    if not out.exists():
        os.rename(staging, out)
        return None
    if _exchange(staging, out):
        return staging  # now the previous site
    old = out.parent / f".{out.name}.corpus-site-old"
    if old.exists():
        shutil.rmtree(old)
    os.rename(out, old)
    os.rename(staging, out)
    return old


def _exchange(first: Path, second: Path) -> bool:
    """Linux renameat2(RENAME_EXCHANGE): both names stay valid at every instant."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), _RENAME_EXCHANGE)
    return bool(result == 0)
