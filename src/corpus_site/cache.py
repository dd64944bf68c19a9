"""What one build keeps for the next: loaded records by content, the site's fingerprint, pages by what they read.

Every key covers everything its value depends on, so nothing stale is ever served; all of it lives in one
SQLite file outside the output, written in transactions, and deleting it only costs time.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import operator
import os
import pickle
import re
import sqlite3
import sys
import types
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from contextlib import closing, contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, Template, Undefined, meta, nodes
from markupsafe import Markup

from corpus_site import __version__
from corpus_site.loader import Loaded, SeedFile, read_to_end, settled
from corpus_site.writer import FileFacts, KeptFile, Ledger, output_files

CACHE_DIR_NAME = ".corpus-site-cache"  # beside the seeds folder by default; hidden, so never read as seeds
_DB_NAME = "loaded.sqlite"
_FORMAT = 1  # bump when what a key covers or how a record is stored changes
_PACKAGE = "corpus_site"
_PACKAGE_DIR = Path(__file__).resolve().parent
_LOADER_MODULE = "features"  # load_analysed: the loader plus the per-document analyses
# A seed's bytes are read to key it; larger ones are left to the loader (which skips them unread).
_MAX_KEYED_BYTES = 64 * 1024 * 1024
# A file is known by what the file system says of it (device, inode, size, modification and change times) once its
# bytes have been hashed, so a rebuild need not read every seed again. One changed less than this long before it
# was hashed is not remembered: an edit later in the same tick of a coarse clock could leave all of that as it was
# (git's "racily clean" entries). The change time cannot be set back by anyone, unlike the modification time.
_SETTLED_NS = 2_000_000_000
_FRAGMENTS_PENDING = 2_000_000  # characters of new page parts held before they are written to the cache
_BUSY_MS = 30_000  # another build using the same cache holds the lock for at most its final write
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS uses (scope TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS sites (out TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, state BLOB, stats BLOB);
CREATE TABLE IF NOT EXISTS ledgers (out TEXT PRIMARY KEY, files BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
  out TEXT NOT NULL, key TEXT NOT NULL, path TEXT NOT NULL, digest BLOB NOT NULL, PRIMARY KEY (out, key)
);
CREATE TABLE IF NOT EXISTS fragments (
  out TEXT NOT NULL, key TEXT NOT NULL, html TEXT NOT NULL, PRIMARY KEY (out, key)
);
CREATE TABLE IF NOT EXISTS page_parts (
  out TEXT NOT NULL, key TEXT NOT NULL, parts TEXT NOT NULL, PRIMARY KEY (out, key)
);
CREATE TABLE IF NOT EXISTS files (
  scope TEXT NOT NULL, path TEXT NOT NULL, seen TEXT NOT NULL, digest BLOB NOT NULL, PRIMARY KEY (scope, path)
);
"""


class CacheError(Exception):
    """The cache folder cannot be used; the message says what to do."""


def default_cache_dir(seeds: Path) -> Path:
    """`.corpus-site-cache/` beside the seeds folder (not inside it, not inside the output)."""
    return seeds.resolve().parent / CACHE_DIR_NAME


def check_cache_dir(folder: Path, seeds: Path, out: Path) -> None:
    """Refuse a cache folder inside the seeds (it would be read as seeds) or the output (it would be published)."""
    cache_abs, seeds_abs, out_abs = folder.resolve(), seeds.resolve(), out.resolve()
    if cache_abs.is_relative_to(seeds_abs):
        raise CacheError(
            f"the cache folder {folder} is inside the seeds folder {seeds}; choose one outside it with --cache-dir"
        )
    if cache_abs.is_relative_to(out_abs) or out_abs.is_relative_to(cache_abs):
        raise CacheError(f"the cache folder {folder} and the output folder {out} overlap; choose another --cache-dir")
    if folder.exists() and not folder.is_dir():
        raise CacheError(f"{folder} is a file, not a folder; give --cache-dir a folder path")


@cache
def code_fingerprint() -> str:
    """What every cached record depends on besides its own inputs: our version, the loading code, its libraries."""
    digest = hashlib.sha256(f"corpus-site cache {_FORMAT} {__version__} {sys.version}".encode())
    for name, source in sorted(_modules_loading_uses().items()):
        digest.update(f"\0module {name}\0".encode())
        digest.update(source)
    for name, version in sorted(_dependency_versions().items()):
        digest.update(f"\0dist {name} {version}".encode())
    return digest.hexdigest()


def _modules_loading_uses() -> dict[str, bytes]:
    """features.py and every module of ours it imports, directly or not (read from the sources, not sys.modules),
    each with its source."""
    found: dict[str, bytes] = {}
    todo = [_LOADER_MODULE]
    while todo:
        name = todo.pop()
        path = _PACKAGE_DIR / f"{name}.py"
        if name in found or not path.is_file():
            continue
        found[name] = path.read_bytes()
        todo.extend(modules_imported(found[name].decode()))
    return found


# An import statement, at any indentation: "from <module> import <names>" (the names perhaps in parentheses, over
# several lines) or "import <modules>". Looked for in the text rather than parsed (this process would otherwise parse
# 13 modules at each start, 60 ms of a 0.3 s warm rebuild); a line in a string that reads like an import at most adds
# a module to the fingerprint. tests/test_cache.py holds the names found to those Python's parser finds.
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<dots>\.*)(?P<module>[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n]*)"
    r"|import[ \t]+(?P<modules>[^\n]*))",
    re.MULTILINE,
)


def modules_imported(source: str) -> list[str]:
    """The modules of ours that `source` imports: by "from corpus_site[.module] import", "from .[module] import"
    (each name imported so counting as a module too, as it may be one) or "import corpus_site.module"."""
    found: list[str] = []
    for match in _IMPORT.finditer(source):
        if match["modules"] is not None:
            modules = (_imported_name(part) for part in match["modules"].split("#")[0].split(","))
            found.extend(module.split(".")[1] for module in modules if module.startswith(_PACKAGE + "."))
            continue
        dots, module = match["dots"], match["module"]
        if dots == "." or module == _PACKAGE:
            names = match["names"].strip("()")
            found.extend(_imported_name(part) for line in names.split("\n") for part in line.split("#")[0].split(","))
            if dots == "." and module:
                found.append(module.split(".")[0])
        elif module.startswith(_PACKAGE + "."):
            found.append(module.split(".")[1])
    return [name for name in found if name]


def _imported_name(part: str) -> str:
    """The name that "name" or "name as other" imports ("" for none)."""
    words = part.split()
    return words[0] if words else ""


@cache
def _dependency_versions() -> dict[str, str]:
    """Installed versions of our runtime dependencies and theirs (extras included): a new langdetect,
    markdown-it or Pagefind may turn the same input into different output."""
    versions: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [("corpus-site", frozenset())]
    while todo:
        name, extras = todo.pop()
        key = name.lower().replace("_", "-")
        if key in versions and not extras:
            continue
        try:
            versions[key] = importlib.metadata.version(name)
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            versions[key] = "missing"
            continue
        for requirement in requirements:
            spec, _, marker = requirement.partition(";")
            wanted = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if (wanted and wanted.group(1) not in extras) or (marker.strip() and not wanted):
                continue  # another extra's, or a platform marker: keep the key simple and stable
            found = re.match(r"\s*([A-Za-z0-9._-]+)\s*(?:\[([^\]]*)\])?", spec)
            if found:
                todo.append(
                    (
                        found.group(1),
                        frozenset(part.strip() for part in (found.group(2) or "").split(",") if part.strip()),
                    )
                )
    versions.pop("corpus-site", None)  # our own version is part of the key already, from __init__.py
    return versions


FileDigest = Callable[[Path], bytes | None]  # a file's SHA-256, or None when it cannot be keyed


def file_digest(path: Path) -> bytes | None:
    """The SHA-256 of the file's bytes, read now; None when it cannot be read or is too large to key."""
    return _digest_and_stat(os.fspath(path))[0]


def _digest_and_stat(name: str) -> tuple[bytes | None, os.stat_result | None]:
    """The file's digest and its state while it was read: None for the state if it changed meanwhile."""
    try:
        before = os.stat(name)
        if before.st_size > _MAX_KEYED_BYTES:
            return None, None
        with open(name, "rb") as handle:
            data = read_to_end(handle, before.st_size, _MAX_KEYED_BYTES)
            after = os.fstat(handle.fileno())
    except OSError:
        return None, None
    if len(data) > _MAX_KEYED_BYTES:
        return None, None
    return hashlib.sha256(data).digest(), after if _seen(after) == _seen(before) else None


def _seen(info: os.stat_result) -> str:
    """What the file system says of a file that any write, replacement or rename changes."""
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"


def _settled(info: os.stat_result) -> bool:
    return settled(info.st_mtime_ns, info.st_ctime_ns, _SETTLED_NS)


def settled_files(folders: Iterable[Path]) -> tuple[tuple[str, str], ...] | None:
    """Every file under `folders` with what the file system says of it (as the seeds' are known unchanged), or None
    if one changed too recently for a change made after this look to show."""
    found = []
    for folder in folders:
        for root, subfolders, files in os.walk(folder):
            subfolders.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                try:
                    info = os.stat(path)
                except OSError:
                    return None
                if not _settled(info):
                    return None
                found.append((path, _seen(info)))
    return tuple(found)


def seed_key(seed: SeedFile, options: str = "", digest_of: FileDigest = file_digest) -> str | None:
    """The cache key of one seed, or None when it cannot be keyed (unreadable, huge): then it is loaded afresh."""
    contents = []
    for path in _paths_of(seed):
        content = digest_of(path)
        if content is None:
            return None
        contents.append(content)
    return _seed_key(code_fingerprint(), seed, options, tuple(contents))


def _paths_of(seed: SeedFile) -> list[Path]:
    """The files a seed names, in the order of its fields: itself, its sidecar, any other file the loader reads."""
    return [value for name in _SEED_FIELDS if isinstance(value := getattr(seed, name), Path)]


# SeedFile's fields in order, looked up once: dataclasses.fields() builds its tuple on every call, two per seed in a
# build's keys (their paths: 10.6 ms for 10,000 seeds that way, 5.4 ms this way).
_SEED_FIELDS = tuple(field.name for field in dataclasses.fields(SeedFile))


def _seen_now(name: str) -> str | None:
    try:
        return _seen(os.stat(name))
    except OSError:
        return None


# The keys of the last build's seeds in this process, by seed: (options, each file it names with what the file system
# said of it and its hash, key). LoadCache.keys_of takes one again while the file system says the same.
Keyed = tuple[str, tuple[tuple[str, tuple[str, bytes]], ...], str]
_KEYED: dict[SeedFile, Keyed] = {}


# Kept by seed and file contents: serve's rebuilds key the same 10,000 seeds each time (0.07 s to hash them again).
@functools.lru_cache(maxsize=1 << 17)
def _seed_key(code: str, seed: SeedFile, options: str, contents: tuple[bytes, ...]) -> str:
    """seed_key from the code's fingerprint and the hashes of the files the seed names (`contents`, in the order of
    its fields)."""
    digest = hashlib.sha256(code.encode())
    digest.update(b"\0options\0" + options.encode())
    files = iter(contents)
    for name in _SEED_FIELDS:
        value = getattr(seed, name)
        if isinstance(value, Path):
            digest.update((b"\0bytes\0" if name == "path" else f"\0{name}\0".encode()) + next(files))
        else:
            digest.update(f"\0{name}\0{value!r}".encode())
    return digest.hexdigest()


_WRITE_EVERY = 256  # records held in memory before they are written to the cache


class LoadCache:
    """Loaded records by key, in one SQLite file: atomic commits survive interruption, and it is safe to delete."""

    def __init__(self, folder: Path, scope: str, options: str = "", resident: dict[str, Loaded] | None = None) -> None:
        self.folder = folder
        self.scope = scope  # the seeds folder: pruning forgets only what this folder no longer uses
        self.options = options
        self.resident = resident  # the last build's records, kept in memory between builds (serve)
        self.hits = 0
        self.misses = 0
        self._used: set[str] = set()
        self.documents: dict[int, tuple[object, str]] = {}  # id(document) → (document, key), for PageMemo
        self._fresh: dict[str, bytes] = {}  # stored, not yet written
        self._stored: set[str] = set()
        self._write_early = True  # write records in batches while loading, until that fails once
        self._known: dict[SeedFile, str | None] = {}
        self._db = self._connect()
        self._files_before: dict[str, tuple[str, bytes]] | None = None  # path → (_seen, digest), as last committed
        self._files: dict[str, tuple[str, bytes]] = {}  # what this build found out
        self._keyed: dict[SeedFile, Keyed] = {}  # this build's seeds keyed from settled files, for _KEYED

    def _connect(self) -> sqlite3.Connection:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                return self._open()
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError:  # not a database any more (a full disk, an edit): it only ever held copies
                (self.folder / _DB_NAME).unlink(missing_ok=True)
                return self._open()
        except (OSError, sqlite3.Error) as error:
            raise CacheError(
                f"cannot use the cache folder {self.folder} ({error}); "
                "choose another with --cache-dir, or build with --no-cache"
            ) from None

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.folder / _DB_NAME, timeout=_BUSY_MS / 1000, isolation_level=None)
        try:
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def key(self, seed: SeedFile) -> str | None:
        return seed_key(seed, self.options, self.file_digest)

    def file_digest(self, path: Path) -> bytes | None:
        """file_digest, without reading a file that the file system shows unchanged since it was last hashed:
        by the last build, or by this one (a first build checks each seed again once it is loaded)."""
        name = os.fspath(path)
        if self._files_before is None:
            self._files_before = self._files_committed()
        known = self._files.get(name) or self._files_before.get(name)
        if known is not None:
            seen = _seen_now(name)
            if seen is None:
                return None
            if seen == known[0]:
                self._files[name] = known
                return known[1]
        digest, info = _digest_and_stat(name)
        if digest is not None and info is not None and _settled(info):
            self._files[name] = (_seen(info), digest)
        return digest

    def _files_committed(self) -> dict[str, tuple[str, bytes]]:
        try:
            rows = self._db.execute("SELECT path, seen, digest FROM files WHERE scope = ?", (self.scope,))
            return {path: (seen, digest) for path, seen, digest in rows}
        except sqlite3.Error:
            return {}

    def keys_of(self, seeds: Sequence[SeedFile]) -> list[str | None]:
        """Each seed's key, kept for `known_key` so the files are read once."""
        keys = [self._key_again(seed) for seed in seeds]
        self._known = dict(zip(seeds, keys, strict=True))
        _KEYED.clear()  # this build's, for the next one in this process; those of seeds gone are let go
        _KEYED.update(self._keyed)
        self._keyed = {}
        return keys

    def _key_again(self, seed: SeedFile) -> str | None:
        """key, taken again when this process keyed `seed` with these options before and the file system says of
        each file it names what it said then (as file_digest compares): in serve's rebuilds, a stat per seed instead
        of every layer of key (0.2 s at 10,000 seeds on a slow machine, 0.08 s on a fast one)."""
        last = _KEYED.get(seed)
        if last is not None and last[0] == self.options and all(_seen_now(name) == known[0] for name, known in last[1]):
            for name, known in last[1]:
                self._files[name] = known
            self._keyed[seed] = last
            return last[2]
        key = self.key(seed)
        files = tuple((name, self._files.get(name)) for name in map(os.fspath, _paths_of(seed)))
        if key is not None and all(known is not None for _, known in files):  # each hashed once settled
            self._keyed[seed] = (self.options, files, key)  # type: ignore[assignment] # none is None
        return key

    def known_key(self, seed: SeedFile) -> str | None:
        """The key `keys_of` found for `seed`, else its key now."""
        return self._known[seed] if seed in self._known else self.key(seed)

    def keep(self, keys: Iterable[str | None]) -> None:
        """Count these records as used without reading them (the site they made was kept), so none is pruned."""
        self._used.update(key for key in keys if key)

    def lookup(self, keys: Iterable[str | None]) -> list[Loaded | None]:
        """The cached record for each key (None where there is none), in order."""
        wanted = list(keys)
        known = {key for key in wanted if key}
        resident = self.resident or {}
        try:
            found = self._fetch(sorted(key for key in known if key not in resident))
        except sqlite3.OperationalError as error:
            raise CacheError(
                f"cannot read the cache in {self.folder} ({error}); build with --no-cache or delete it"
            ) from None
        except sqlite3.DatabaseError:  # damaged since it was opened: start it afresh, load everything
            self._db.close()
            (self.folder / _DB_NAME).unlink(missing_ok=True)
            self._db = self._connect()
            found = {}
        self._used.update(known)
        results = [(resident.get(key) or found.get(key)) if key else None for key in wanted]
        self.hits += sum(result is not None for result in results)
        self.misses += sum(result is None for result in results)
        return results

    def _fetch(self, names: list[str]) -> dict[str, Loaded]:
        found: dict[str, Loaded] = {}
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            query = f"SELECT key, record FROM records WHERE key IN ({','.join('?' * len(chunk))})"
            for key, blob in self._db.execute(query, chunk):
                try:
                    record = pickle.loads(blob)
                except Exception:  # written by an incompatible Python, or damaged: load the seed again
                    continue
                if isinstance(record, Loaded):
                    found[key] = record
        return found

    def remember(self, records: Iterable[tuple[str | None, Loaded]]) -> None:
        """Keep this build's records in memory for the next (when there is a `resident` memo), and no others."""
        if self.resident is not None:
            self.resident.clear()
            self.resident.update((key, record) for key, record in records if key)

    def store(self, key: str, record: Loaded, pickled: bytes | None = None) -> None:
        """Keep `record` (already pickled, when a worker did it) for the next build."""
        self._fresh[key] = pickled or pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        self._stored.add(key)
        self._used.add(key)
        if len(self._fresh) >= _WRITE_EVERY and self._write_early:
            self._write_fresh()

    def _write_fresh(self) -> None:
        """Write the records stored so far, as used by this seeds folder, in a transaction of their own.

        A record's key names its content, so one written before the build ends is never wrong, only
        perhaps unused; memory no longer grows with the records of a whole first build. If the cache
        cannot be written now (another build holds it), the records wait for `commit` as before.
        """
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            self._write_early = False
            return
        try:
            db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?)", self._fresh.items())
            db.executemany("INSERT OR IGNORE INTO uses VALUES (?, ?)", ((self.scope, key) for key in self._fresh))
            db.execute("COMMIT")
        except sqlite3.Error:
            db.execute("ROLLBACK")
            self._write_early = False
            return
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._fresh.clear()

    def commit(self, *, prune: bool = True) -> None:
        """Write the new records and (when `prune`) forget what this seeds folder no longer uses, in one transaction.

        Only what changed since the last commit is written: rewriting the uses and files of 10,000 seeds took
        0.15 s of every rebuild. Every record has a use (both are written together), so the records that can have
        lost their last use are among those this folder stopped using."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?)", self._fresh.items())
            known = {key for (key,) in db.execute("SELECT key FROM uses WHERE scope = ?", (self.scope,))}
            used = self._used if prune else self._stored
            db.executemany("INSERT INTO uses VALUES (?, ?)", ((self.scope, key) for key in sorted(used - known)))
            if prune and (gone := sorted(known - used)):
                db.executemany("DELETE FROM uses WHERE scope = ? AND key = ?", ((self.scope, key) for key in gone))
                db.execute("CREATE TEMP TABLE IF NOT EXISTS gone (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM gone")
                db.executemany("INSERT INTO gone VALUES (?)", ((key,) for key in gone))
                db.execute(
                    "DELETE FROM records WHERE key IN (SELECT key FROM gone) AND key NOT IN (SELECT key FROM uses)"
                )
            self._write_files(prune=prune)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._fresh.clear()

    def _write_files(self, *, prune: bool) -> None:
        """Remember the files hashed or recognised in this build (and, when pruning, only those)."""
        before = self._files_before if self._files_before is not None else self._files_committed()
        gone, changed = _difference(before, self._files)
        if prune:
            gone_rows = ((self.scope, name) for name in gone)
            self._db.executemany("DELETE FROM files WHERE scope = ? AND path = ?", gone_rows)
        rows = ((self.scope, name, *self._files[name]) for name in changed)
        self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()

    def stats(self) -> Mapping[str, Any]:
        with closing(self._db.execute("SELECT count(*), coalesce(sum(length(record)), 0) FROM records")) as rows:
            count, size = rows.fetchone()
        return {"records": count, "bytes": size, "hits": self.hits, "misses": self.misses}


def _difference(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """What a table holding `stored` must lose and gain to hold `wanted`: the keys gone, and the keys new or with
    another value, each sorted. The cache's commits write only these rather than every row again."""
    gone = sorted(stored.keys() - wanted.keys())
    return gone, sorted(key for key, value in wanted.items() if stored.get(key) != value)


@contextmanager
def open_cache(
    folder: Path | None, seeds: Path, options: str = "", resident: dict[str, Loaded] | None = None
) -> Iterator[LoadCache | None]:
    """The cache for `seeds`, or None when `folder` is None; what was loaded is kept even if loading was
    interrupted (Ctrl-C in a long first build), but only a finished one forgets records. `resident` holds records
    in memory from one build to the next (serve): they are looked up there first, and replaced by this build's."""
    if folder is None:
        yield None
        return
    cache_ = LoadCache(folder, scope=os.fsdecode(seeds.resolve()), options=options, resident=resident)
    try:
        yield cache_
    except BaseException:
        with suppress(Exception):
            cache_.commit(prune=False)
        raise
    else:
        cache_.commit()
    finally:
        cache_.close()


def recall(
    folder: Path, seeds: Path, found: Sequence[SeedFile], into: dict[str, Loaded]
) -> list[tuple[str | None, Loaded | None]]:
    """The cached records of the `found` seeds as they are now, into `into`, leaving the cache as it is; each seed's
    key and record (None where the cache has none), in order."""
    cache_ = LoadCache(folder, scope=os.fsdecode(seeds.resolve()), resident=into)
    try:
        keys = cache_.keys_of(found)
        records = cache_.lookup(keys)
        cache_.remember((key, record) for key, record in zip(keys, records, strict=True) if record is not None)
    finally:
        cache_.close()
    return list(zip(keys, records, strict=True))


# --- the whole site: skip rendering and writing when no input changed ---------------------------


def installed_distributions() -> list[str]:
    """Names and versions of everything installed (the .dist-info folders): cheap, and any upgrade shows."""
    found: set[str] = set()
    for entry in sys.path:
        if "-packages" not in entry:
            continue  # the script's own folder or the current one: they differ between `python -m` and the script
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        found.update(name for name in names if name.endswith((".dist-info", ".egg-info", ".egg-link", ".pth")))
    return sorted(found)


def site_fingerprint(
    corpus_parts: Iterable[str], arguments: Mapping[str, object], folders: Iterable[Path | None]
) -> str:
    """Everything the output depends on: our code, what is installed, the build's arguments, the corpus, and
    the bytes of every template and static file."""
    digest = hashlib.sha256(f"corpus-site site {_FORMAT} {__version__} {sys.version}".encode())
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(b"\0code\0" + path.relative_to(_PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update("\0".join(installed_distributions()).encode())
    digest.update(f"\0env {os.environ.get('SOURCE_DATE_EPOCH')}".encode())
    for name, value in sorted(arguments.items()):
        shown = os.fspath(value.resolve()) if isinstance(value, Path) else repr(value)
        digest.update(f"\0arg {name}={shown}".encode())
    for part in corpus_parts:
        digest.update(b"\0corpus\0" + part.encode())
    for folder in folders:
        if folder is None or not folder.is_dir():
            digest.update(b"\0no folder")
            continue
        digest.update(b"\0folder\0" + os.fsencode(folder.resolve()))
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(b"\0file\0" + path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def unchanged_site(folder: Path, out: Path, fingerprint: str) -> Any | None:
    """What `remember_site` was given by the last build, if it had this fingerprint and its output is exactly
    as it left it."""
    database = folder / _DB_NAME
    if not database.is_file():
        return None
    try:
        with closing(sqlite3.connect(database, timeout=_BUSY_MS / 1000)) as db:
            db.executescript(_SCHEMA)
            row = db.execute("SELECT fingerprint, state, stats FROM sites WHERE out = ?", (_out_key(out),)).fetchone()
        if row is None or row[0] != fingerprint:
            return None
        if pickle.loads(row[1]) != output_files(out):
            return None
        return pickle.loads(row[2])
    except Exception:  # noqa: BLE001 - any doubt means building as usual
        return None


def remember_site(folder: Path, out: Path, fingerprint: str, stats: object, files: Mapping[str, FileFacts]) -> None:
    """Note what this build made (`stats`: anything picklable the next build needs; `files`: the output folder as
    the file system sees it now), for `unchanged_site`."""
    state = pickle.dumps(dict(files), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        with closing(sqlite3.connect(folder / _DB_NAME, timeout=_BUSY_MS / 1000)) as db, db:
            db.executescript(_SCHEMA)
            db.execute(
                "INSERT OR REPLACE INTO sites VALUES (?, ?, ?, ?)",
                (_out_key(out), fingerprint, state, pickle.dumps(stats, protocol=pickle.HIGHEST_PROTOCOL)),
            )
    except sqlite3.Error:
        pass  # only a shortcut for the next build is lost


def site_ledger(folder: Path, out: Path, *, carried: bool = False) -> Ledger:
    """The ledger the last build into `out` left (see writer.Ledger); empty when there is none or it is unreadable.

    `carried` (serve): the one this process last remembered for `out`, if any, without reading it back (0.06 s for
    34,000 files on a slow machine). Each entry pairs what the file system said of a file with the hash of what it
    held then, true whatever another process built since: a file changed since says otherwise (its change time), so
    an older ledger than the cache's costs at most a read of that file."""
    if carried and (known := _LEDGERS.get((os.fspath(folder), _out_key(out)))) is not None:
        return dict(known)
    try:
        with closing(sqlite3.connect(folder / _DB_NAME, timeout=_BUSY_MS / 1000)) as db:
            db.executescript(_SCHEMA)
            row = db.execute("SELECT files FROM ledgers WHERE out = ?", (_out_key(out),)).fetchone()
        ledger = pickle.loads(row[0]) if row else {}
    except Exception:  # noqa: BLE001 - any doubt means reading the old files as before
        return {}
    return ledger if isinstance(ledger, dict) else {}


def remember_ledger(folder: Path, out: Path, ledger: Ledger) -> None:
    """Keep this build's ledger for the next build into `out` (and in memory, for the next in this process)."""
    _LEDGERS.clear()  # one output folder's: a process that builds into another lets go of the last one's
    _LEDGERS[(os.fspath(folder), _out_key(out))] = ledger
    try:
        with closing(sqlite3.connect(folder / _DB_NAME, timeout=_BUSY_MS / 1000)) as db, db:
            db.executescript(_SCHEMA)
            db.execute(
                "INSERT OR REPLACE INTO ledgers VALUES (?, ?)",
                (_out_key(out), pickle.dumps(ledger, protocol=pickle.HIGHEST_PROTOCOL)),
            )
    except sqlite3.Error:
        pass  # only a shortcut for the next build is lost


def _out_key(out: Path) -> str:
    return os.fspath(out.resolve())


# The last ledger this process remembered, by cache folder and output folder (site_ledger).
_LEDGERS: dict[tuple[str, str], Ledger] = {}


# --- pages: render again only those whose inputs changed -----------------------------------------
#
# A page's key is the hash of its templates' sources and of the values it reads from its context.
# What it reads comes from the templates themselves: `languages` read only as `language.code`,
# `.name` and `.dir` in a loop makes the key depend on those, so adding a document (which changes
# each language's document list) re-renders the pages that show it, not every page with the menu.
# Anything the analysis does not follow (a filter's argument, a macro's, a method call) counts as
# read whole, and a template it cannot see into (a computed {% include %}) is always rendered.

AccessPath = tuple[str, ...]
_EVERY = "*"  # path step: each item of a sequence
_LENGTH = "#"  # path step: how many items (a loop reads that even when its body reads nothing)
_LOCAL: AccessPath = ("",)  # path_of: an expression rooted in a loop or macro variable, not in the context
# The paths read from one context value as a tree, so that a value many paths pass through is visited once:
# (step, what is read below it) pairs, sorted; _WHOLE alone means the value is read whole.
Reads = tuple[tuple[str, "Reads"], ...]
_WHOLE: Reads = (("=", ()),)


def reads_of(rests: Iterable[AccessPath]) -> Reads:
    """The tree of `rests` (paths below one value); a value read whole covers every path into it."""
    below: dict[str, list[AccessPath]] = {}
    for rest in rests:
        if not rest:
            return _WHOLE
        below.setdefault(rest[0], []).append(rest[1:])
    return tuple((step, reads_of(more)) for step, more in sorted(below.items()))


def prepare_templates(env: Environment) -> None:
    """Every top-level template of `env` compiled for the page memo, and what it reads found, before a build asks:
    serve does it while it waits for its first search index (0.12 s of its first rebuild). One that fails here is
    left to the build that renders it, which says why."""
    env.template_class = MemoTemplate  # as PageMemo.install: templates loaded from now on are the memo's
    analysed = _analysed(env)
    for name in env.list_templates(filter_func=lambda name: "/" not in name):
        with suppress(Exception):
            env.get_template(name)
            if name not in analysed:
                analysed[name] = template_uses(env, name)


def _analysed(env: Environment) -> dict[str, tuple[frozenset[AccessPath], str] | None]:
    """What each template of `env` reads (template_uses), by name: kept with the environment, which build.py keeps
    only while its templates' files are as they were."""
    return env.__dict__.setdefault("corpus_site_uses", {})  # type: ignore[no-any-return]


class Unfingerprintable(Exception):
    """A value whose content cannot be hashed reliably: the page is rendered as usual."""


def template_uses(env: Environment, name: str) -> tuple[frozenset[AccessPath], str] | None:
    """The context paths the template `name` (with everything it extends, includes or imports) reads,
    and a hash of their sources, with those of the parts it renders through render.fragment; None if one
    of them is chosen at run time."""
    paths: set[AccessPath] = set()
    digest = hashlib.sha256()
    hashed: set[str] = set()
    read: set[str] = set()
    todo = [(name, True)]
    while todo:
        current, reads = todo.pop()
        if current in read or (current in hashed and not reads):
            continue
        source, _, _ = env.loader.get_source(env, current) if env.loader else ("", None, None)
        if current not in hashed:
            hashed.add(current)
            digest.update(f"\0template {current}\0{source}".encode())
        tree = env.parse(source, current)
        included, parts = list(meta.find_referenced_templates(tree)), list(_fragments_called(tree))
        if None in included or None in parts:
            return None
        todo.extend((item, reads) for item in included if item)
        # A part is given only what the call passes it, which the page reads here: what the part reads from
        # that is its own key's business (PageMemo.fragment), so only its sources count for the page.
        todo.extend((item, False) for item in parts if item)
        if reads:
            read.add(current)
            _visit(tree, {}, paths)
    return frozenset(paths), digest.hexdigest()


def _fragments_called(tree: nodes.Template) -> Iterator[str | None]:
    """The templates named in the tree's calls of render.fragment, as find_referenced_templates names includes;
    None for a name chosen at run time."""
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "fragment":
            first = call.args[0] if call.args else None
            yield first.value if isinstance(first, nodes.Const) and isinstance(first.value, str) else None


def _path_of(node: nodes.Node, scope: dict[str, AccessPath]) -> AccessPath | None:
    """`a.b.c` as ("a", "b", "c"); _LOCAL when rooted in a local name; None for any other expression."""
    if isinstance(node, nodes.Name):
        if node.ctx != "load":
            return _LOCAL
        return scope.get(node.name, (node.name,))
    if isinstance(node, nodes.Getattr):
        inner = _path_of(node.node, scope)
        if inner is None or inner == _LOCAL:
            return inner
        return (*inner, node.attr)
    return None


def _use(node: nodes.Node, scope: dict[str, AccessPath], paths: set[AccessPath]) -> None:
    """`node`'s value is read whole."""
    path = _path_of(node, scope)
    if path == _LOCAL:
        return
    if path is not None:
        paths.add(path)
        return
    for child in node.iter_child_nodes():
        _visit(child, scope, paths)


def _visit(node: nodes.Node, scope: dict[str, AccessPath], paths: set[AccessPath]) -> None:
    if isinstance(node, nodes.For):
        iterated = _path_of(node.iter, scope)
        item: AccessPath
        if iterated is None:
            _use(node.iter, scope, paths)
            item = _LOCAL
        elif iterated == _LOCAL:
            item = _LOCAL
        else:
            paths.add((*iterated, _LENGTH))
            item = (*iterated, _EVERY)
        inner = dict(scope, loop=_LOCAL)
        if isinstance(node.target, nodes.Name):
            inner[node.target.name] = item
        else:  # for key, value in …: each item read whole
            if item != _LOCAL:
                paths.add(item)
            for target in node.target.find_all(nodes.Name):
                inner[target.name] = _LOCAL
        for child in [*node.body, *([node.test] if node.test else [])]:
            _visit(child, inner, paths)
        for child in node.else_:
            _visit(child, scope, paths)
    elif isinstance(node, (nodes.Macro, nodes.CallBlock)):
        inner = dict(scope, varargs=_LOCAL, kwargs=_LOCAL, caller=_LOCAL)
        inner.update((argument.name, _LOCAL) for argument in node.args)
        if isinstance(node, nodes.CallBlock):
            _use(node.call, scope, paths)
        for default in node.defaults:
            _use(default, scope, paths)
        for child in node.body:
            _visit(child, inner, paths)
    elif isinstance(node, nodes.With):
        for value in node.values:
            _use(value, scope, paths)
        inner = dict(scope)
        for target_node in node.targets:
            inner.update((name.name, _LOCAL) for name in target_node.find_all(nodes.Name))
        for child in node.body:
            _visit(child, inner, paths)
    elif isinstance(node, nodes.Expr):
        _use(node, scope, paths)
    else:
        # {% set x = … %} is not made local: Jinja lets an {% if %} decide whether it happens, so a later
        # `x` may still be the context's; reading both is the safe side.
        for child in node.iter_child_nodes():
            _visit(child, scope, paths)


@dataclasses.dataclass(frozen=True, slots=True)
class PageKeys:
    """This build's pages by key, to remember once the site is written; small and picklable, so a process other
    than the one that rendered can commit them."""

    folder: Path
    out: Path
    pages: dict[str, tuple[str, bytes]]  # key → (page path, hash of the page)
    fragments: frozenset[str] = frozenset()  # keys of the page parts this build used (PageMemo.fragment)
    # Page key → the keys of the parts it was rendered from, for the pages of this build that have parts.
    parts: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    carry: bool = False  # keep them in memory too, for the next build's page memo in this process (serve)

    def commit(self) -> None:
        """After the site is written: remember this build's pages, forget the other pages and page parts (this
        build's new parts are stored already, see _Fragments)."""
        out = _out_key(self.out)  # once: it resolves the path on disk (0.14 s for 10,000 pages, once per row)
        try:
            with closing(sqlite3.connect(self.folder / _DB_NAME, timeout=_BUSY_MS / 1000)) as db, db:
                db.executescript(_SCHEMA)
                # Only the rows that changed: rewriting all 34,000 took 0.14 s of each rebuild at 10,000 documents.
                rows = db.execute("SELECT key, path, digest FROM pages WHERE out = ?", (out,))
                gone, changed = _difference({key: (path, digest) for key, path, digest in rows}, self.pages)
                db.executemany("DELETE FROM pages WHERE out = ? AND key = ?", ((out, key) for key in gone))
                new_rows = ((out, key, *self.pages[key]) for key in changed)
                db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)", new_rows)
                known = {key for (key,) in db.execute("SELECT key FROM fragments WHERE out = ?", (out,))}
                db.executemany(
                    "DELETE FROM fragments WHERE out = ? AND key = ?", ((out, key) for key in known - self.fragments)
                )
                db.execute("DELETE FROM page_parts WHERE out = ?", (out,))  # a few dozen rows: the long tables' pages
                parts_rows = ((out, key, "\n".join(parts)) for key, parts in self.parts.items())
                db.executemany("INSERT INTO page_parts VALUES (?, ?, ?)", parts_rows)
        except sqlite3.Error:
            return  # only a shortcut for the next build is lost
        _COMMITTED.clear()
        if self.carry:
            _COMMITTED[(out, os.fspath(self.folder))] = (self.pages, self.parts)


# The pages, and the parts of pages, that this process's last build committed (PageKeys), by output and cache folder:
# a carrying page memo starts from them instead of reading them back (20,000 rows, 0.04-0.06 s on a slow machine).
# Each says what rendering gives from the inputs its key names, true whatever another process built since.
_COMMITTED: dict[tuple[str, str], tuple[dict[str, tuple[str, bytes]], dict[str, tuple[str, ...]]]] = {}


class _Fragments:
    """The page parts an output folder's builds rendered, by key, in the cache: read one at a time, and this build's
    new ones written a few MB at a time, so that neither the last build's parts nor this one's are all held in
    memory (16 MB of text at 10,000 documents). A part's key names everything it was rendered from, so one stored
    by a build that fails later is still right for the next; the parts no build uses are forgotten at commit."""

    def __init__(self, folder: Path, out: str) -> None:
        self.folder, self.out = folder, out
        self.used: set[str] = set()
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, str] = {}
        self._pending_chars = 0

    def get(self, key: str) -> str | None:
        self.used.add(key)
        if key in self._pending:
            return self._pending[key]
        try:
            query = "SELECT html FROM fragments WHERE out = ? AND key = ?"
            row = self._connection().execute(query, (self.out, key)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def put(self, key: str, html: str) -> None:
        self._pending[key] = html
        self._pending_chars += len(html)
        if self._pending_chars >= _FRAGMENTS_PENDING:
            self._flush()

    def close(self) -> None:
        self._flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _flush(self) -> None:
        rows = [(self.out, key, html) for key, html in self._pending.items()]
        self._pending, self._pending_chars = {}, 0
        if rows:
            try:
                with self._connection() as db:  # one short transaction: another build may be waiting to write
                    db.executemany("INSERT OR REPLACE INTO fragments VALUES (?, ?, ?)", rows)
            except sqlite3.Error:
                pass  # only a shortcut for the next build is lost

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.folder / _DB_NAME, timeout=_BUSY_MS / 1000)
        return self._db


class PageMemo:
    """Rendered pages of the last build, found again by key; their bytes are read back from the output folder."""

    def __init__(
        self,
        folder: Path,
        out: Path,
        env: Environment,
        documents: Mapping[int, tuple[object, str]],
        *,
        carry: bool = False,
    ) -> None:
        """`carry`: keep the pages' keys, and the values they were worked out from, for the next build in this
        process (serve, which keeps its records too; see key). Without it the last build's are let go."""
        self.folder, self.out, self.env, self.carry = folder, out, env, carry
        self.documents = documents  # id(document) → (document, its seed's cache key): a document's content in O(1)
        self.kept = 0
        self.rendered = 0
        self._uses: dict[str, tuple[bytes, list[tuple[str, bytes, Reads]]] | None] = {}
        self._digests: dict[int, tuple[object, bytes]] = {}
        self._reads: dict[tuple[int, int], tuple[object, bytes]] = {}
        self._globals: dict[tuple[str, int], bytes] = {}  # by name and reads: what pages read of env.globals
        self._empties: dict[tuple[type, int], bytes] = {}  # by kind and reads: what an empty list or tuple gives
        # By template and own names: the names read outside them, their values on the last page, their hash (None if
        # they cannot be hashed) and the mapping they were last read from.
        self._tokens: dict[
            tuple[str, tuple[str, ...]],
            tuple[list[tuple[str, bytes, Reads]], list[object], bytes | None, Mapping[str, Any]],
        ] = {}
        # Page and file keys of this process's last build into `out` (see key), and this build's, kept at the end.
        self._carried = _CARRIED.get((_out_key(out), os.fspath(folder)), {}) if carry else {}
        self._carry: dict[object, Carried] = {}
        self._parts: Counter[tuple[str, tuple[str, ...]]] = Counter()  # parts rendered so far, by template and names
        self.carried = 0  # pages and files whose key was carried from the last build
        self._base = _code_and_installed()
        self._functions: bytes | None = None
        self._pages: dict[str, tuple[str, bytes]] = {}  # key → (page path, hash of the page), for this build
        self._rendered: dict[str, str] = {}  # key → page path, of the pages rendered (their hashes come later)
        self._previous: dict[str, tuple[str, bytes]] = {}
        self._fragments = _Fragments(folder, _out_key(out))  # its `out` is the output folder's key in the cache
        # The parts each page of the last build was rendered from, and of this build's: a page kept whole still
        # needs its parts, or the next build that changes one of its rows renders every row again (see kept_parts).
        self._previous_parts: dict[str, tuple[str, ...]] = {}
        self._page_parts: dict[str, tuple[str, ...]] = {}
        self._parts_now: list[str] | None = None  # the parts of the page being rendered, while it is
        # Told of each kept page's file and hash (StagedSite.vouch), so the writer need not read it a second time.
        self.vouch: Callable[[str, bytes], None] | None = None
        # Asked for the hash of the output folder's file at a path, if it is known unchanged (StagedSite.known_digest).
        self.known_digest: Callable[[str], bytes | None] | None = None
        committed = _COMMITTED.get((self._fragments.out, os.fspath(folder))) if carry else None
        if committed is not None:
            self._previous, self._previous_parts = committed
            return
        try:
            with closing(sqlite3.connect(folder / _DB_NAME, timeout=_BUSY_MS / 1000)) as db:
                db.executescript(_SCHEMA)
                rows = db.execute("SELECT key, path, digest FROM pages WHERE out = ?", (self._fragments.out,))
                self._previous = {key: (path, digest) for key, path, digest in rows}
                rows = db.execute("SELECT key, parts FROM page_parts WHERE out = ?", (self._fragments.out,))
                self._previous_parts = {key: tuple(parts.split("\n")) for key, parts in rows}
        except sqlite3.Error:
            self._previous = {}

    def document_key(self, document: object) -> str | None:
        """The cache key of the seed `document` was loaded from, which settles all of it; None if not known."""
        found = self.documents.get(id(document))
        return found[1] if found is not None and found[0] is document else None

    def install(self) -> None:
        """Route every template `env` loads from now on through this memo."""
        self.env.template_class = MemoTemplate
        self.env.corpus_site_memo = self  # type: ignore[attr-defined]

    def key(self, name: str | None, context: Mapping[str, Any], own: Mapping[str, Any] | None = None) -> str | None:
        """The page's key, or None when it must be rendered anyway (no page_path, a template chosen at run
        time, a value that cannot be hashed).

        `own` names the part of `context` that is the page's own (the rest being what every page is given): the
        key the last build in this process found for the page is taken again when what it reads outside `own` is
        the same and each value in `own` is the one it was given then (the records serve keeps are the same
        objects from one build to the next). Hashing what 10,000 document pages read took 0.2 s of each rebuild.
        """
        page_path = context.get("page_path")
        if name is None or not isinstance(page_path, str):
            return None
        place = b"\0page\0" + page_path.encode()
        if own is None:
            return self._key(name, context, place)
        return self._carried_key(page_path, name, context, own, place)

    def page_key(self, name: str | None, shared: Mapping[str, Any], own: Mapping[str, Any]) -> str | None:
        """key for a page given what every page is given apart from its `own` values, without merging the two.

        `shared` must be the same mapping on every page of a build, not changed meanwhile (render._pages makes it
        once): what a template reads of it is then hashed once per build, not looked over again on each page."""
        page_path = own.get("page_path")
        if name is None or not isinstance(page_path, str):
            return None
        return self._carried_key(page_path, name, shared, own, b"\0page\0" + page_path.encode())

    def _carried_key(
        self, slot: object, name: str, shared: Mapping[str, Any], own: Mapping[str, Any], place: bytes
    ) -> str | None:
        """_key, or the key found at `slot` by the last build in this process, if it was worked out from the same
        template, the same values outside `own` (read from `shared`, which may hold `own` too) and the same (or
        equal) values in `own` (see key)."""
        names, values = tuple(own), tuple(own.values())
        token = self._shared_token(name, shared, names)
        last = self._carried.get(slot)
        if last is not None and last[:3] == (name, token, names) and _same_values(last[3], values):
            key: str | None = last[4]
            self.carried += 1
        else:
            key = self._key(name, own if shared is own else {**shared, **own}, place)
        if key is not None and token is not None and self.carry:
            self._carry[slot] = (name, token, names, values, key)
        return key

    def _shared_token(self, name: str, context: Mapping[str, Any], own: tuple[str, ...]) -> bytes | None:
        """A hash of what template `name` reads outside `own`: its sources and the values of the other names (the
        same objects on every page of a build, so hashed once per build); None if it cannot be hashed. page_key's
        `shared`, the same mapping on every page, unchanged, is known by itself without its values being looked at."""
        found = self._tokens.get((name, own))
        if found is not None:
            shared, last, token, mapping = found
            if mapping is context:
                return token
            values = [context.get(root, _ABSENT) for root, _, _ in shared]
            if all(map(operator.is_, last, values)):
                self._tokens[(name, own)] = (shared, last, token, context)
                return token
        else:
            if name not in self._uses:
                self._uses[name] = self._analyse(name)
            uses = self._uses[name]
            if uses is None:
                return None
            shared = [(root, label, reads) for root, label, reads in uses[1] if root not in own]
            values = [context.get(root, _ABSENT) for root, _, _ in shared]
        parts = [self._uses[name][0]]  # type: ignore[index] # analysed above, or when the token was first made
        try:
            for (root, label, reads), value in zip(shared, values, strict=True):
                parts.append(label)
                parts.append(self._global_digest(root, reads) if value is _ABSENT else self._root_digest(value, reads))
            made: bytes | None = hashlib.sha256(b"".join(parts)).digest()
        except Exception:  # noqa: BLE001 - as in _key: the page is keyed the long way, and rendering reports errors
            made = None
        # Holding the values and the mapping keeps their ids from being reused.
        self._tokens[(name, own)] = (shared, values, made, context)
        return made

    def fragment(self, name: str, context: Mapping[str, Any]) -> str:
        """A part of a page (render.fragment) as the template `name` renders it from `context`: the last
        build's, when nothing it reads has changed, else rendered now.

        The n-th part rendered with `name` takes the key of the last build's n-th in this process when it is
        given the same values (see key): one more document changes one part of a table, and the parts after it
        stay where they were but when it starts a new one. Hashing 390 parts' documents took 0.1 s of each rebuild.
        """
        names = tuple(context)
        slot = (name, names, self._parts[(name, names)])
        self._parts[(name, names)] += 1
        key = self._carried_key(slot, name, context, context, b"\0fragment")
        if key is None:
            return Template.render(self.env.get_template(name), context)
        if self._parts_now is not None:
            self._parts_now.append(key)
        html = self._fragments.get(key)
        if html is None:
            html = Template.render(self.env.get_template(name), context)
            self._fragments.put(key, html)
        return html

    def _key(self, name: str, context: Mapping[str, Any], place: bytes) -> str | None:
        if name not in self._uses:
            self._uses[name] = self._analyse(name)
        uses = self._uses[name]
        if uses is None:
            return None
        sources, by_root = uses
        parts = [sources, place]  # hashed at once: one call instead of one per root, at 20-odd roots per page
        try:
            for root, label, reads in by_root:
                value = context.get(root, _ABSENT)
                parts.append(label)
                # Not in the context: a global (a function, our version) or a name Jinja gives (self, super).
                parts.append(self._global_digest(root, reads) if value is _ABSENT else self._root_digest(value, reads))
        except Exception:  # noqa: BLE001 - anything unexpected: render it, and let rendering report errors
            return None
        return hashlib.sha256(b"".join(parts)).hexdigest()

    def _analyse(self, name: str) -> tuple[bytes, list[tuple[str, bytes, Reads]]] | None:
        """The template's sources (with our code and filters) and its paths grouped by context variable."""
        analysed = _analysed(self.env)
        if name not in analysed:
            analysed[name] = template_uses(self.env, name)
        uses = analysed[name]
        if uses is None:
            return None
        paths, sources = uses
        if self._functions is None:  # filters and tests are code, but one could be a closure over data
            self._functions = self._digest(dict(self.env.filters)) + self._digest(dict(self.env.tests))
        roots: dict[str, list[AccessPath]] = {}
        for path in paths:
            roots.setdefault(path[0], []).append(path[1:])
        by_root = [(root, f"\0{root}\0".encode(), reads_of(rests)) for root, rests in sorted(roots.items())]
        return self._base + self._functions + sources.encode(), by_root

    def _global_digest(self, root: str, reads: Reads) -> bytes:
        found = self._globals.get((root, id(reads)))  # `reads` lives in self._uses all build long
        if found is None:
            found = self._globals[(root, id(reads))] = self._root_digest(self.env.globals.get(root, _ABSENT), reads)
        return found

    def _root_digest(self, value: object, reads: Reads) -> bytes:
        """What a page reads from one context value: the same object on many pages is hashed once."""
        kind = type(value)
        if (value is None or kind in (str, int, float, bool)) and reads is _WHOLE:
            shown = repr(value)
            return f"{kind.__name__}:{len(shown)}:{shown}".encode()
        if kind in (list, tuple) and not value:
            # Most pages pass fresh empty lists (no versions, no duplicates): memoising them by id only fills memory.
            empty = self._empties.get((kind, id(reads)))
            if empty is None:
                empty = self._empties[(kind, id(reads))] = f"empty {kind.__name__}:{reads!r}".encode()
            return empty
        # A value many pages pass (a document as `next` and as `doc`, the site) is looked up before it is read.
        cached = self._reads.get((id(value), id(reads)))  # `reads` lives in self._uses all build long
        if cached is not None and cached[0] is value:
            return cached[1]
        result = self._read(value, reads)
        self._reads[(id(value), id(reads))] = (value, result)  # holding `value` keeps its id from being reused
        return result

    def kept_unread(self, key: str, page_path: str) -> bytes | None:
        """The hash of the last build's page for this key, if the output folder's file is known to hold it still."""
        found = self._previous.get(key)
        if found is None or found[0] != page_path or self.known_digest is None:
            return None
        if self.known_digest(page_path) != found[1]:
            return None
        self._pages[key] = found
        self.kept += 1
        self._keep_parts(key)
        return found[1]

    def file_or_kept(self, path: str, inputs: tuple[object, ...], make: Callable[[], bytes]) -> bytes | KeptFile:
        """A file our code makes from `inputs` alone (a document's plain text), kept from the last build like a
        page while they are unchanged: then it is linked, neither made nor hashed again."""
        key = self.file_key(path, inputs)
        if key is None:
            return make()
        found = self._previous.get(key)
        if found is not None and found[0] == path and self.known_digest and self.known_digest(path) == found[1]:
            self._pages[key] = found
            return KeptFile(found[1], make)
        self._rendered[key] = path
        return make()

    def file_key(self, path: str, inputs: tuple[object, ...]) -> str | None:
        """The key of the file our code makes at `path` from `inputs` alone; None if they cannot be hashed."""
        if self.same_file_inputs(path, inputs):
            key: str = self._carried[path][4]  # as for a page's own values (key): the last build's, in this process
            self.carried += 1
        else:
            try:
                parts = self._digest_parts(inputs)
            except Unfingerprintable:
                return None
            key = hashlib.sha256(self._base + b"\0file\0" + path.encode() + parts).hexdigest()
        if self.carry:
            self._carry[path] = (_FILE, b"", (), inputs, key)
        return key

    def had_parts(self, key: str) -> bool:
        """Whether the last build's page with this key was rendered from parts (fragment)."""
        return key in self._previous_parts

    def same_file_inputs(self, path: str, inputs: tuple[object, ...]) -> bool:
        """Whether file_or_kept made the file at `path` from these same inputs in the last build in this process."""
        last = self._carried.get(path)
        return last is not None and last[0] is _FILE and _same_values(last[3], inputs)

    def kept_page(self, key: str, page_path: str) -> str | None:
        """The page as the last build rendered it for this key, if the output folder still holds exactly that."""
        found = self._previous.get(key)
        if found is None or found[0] != page_path:
            return None
        try:
            data = (self.out / page_path).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).digest() != found[1]:
            return None  # edited since, or not what the template returned (someone post-processes it): render
        try:
            page = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        self._pages[key] = found
        self.kept += 1
        self._keep_parts(key)
        if self.vouch:
            self.vouch(page_path, found[1])
        return page

    def _keep_parts(self, key: str) -> None:
        """A page kept whole keeps the parts it was rendered from: were they forgotten, the next build that changed
        one row of its table would render all its rows again (231 parts, 0.4 s, for the English page at 10,000)."""
        parts = self._previous_parts.get(key)
        if parts:
            self._page_parts[key] = parts
            self._fragments.used.update(parts)

    @contextmanager
    def rendering(self, key: str) -> Iterator[None]:
        """Around the rendering of the page `key`: the parts it renders (fragment) are noted as its own."""
        self._parts_now = []
        try:
            yield
        finally:
            parts, self._parts_now = self._parts_now, None
        if parts:
            self._page_parts[key] = tuple(parts)

    def rendered_page(self, key: str, page_path: str, page: str) -> None:
        # Not hashed here: the writer hashes every file it is given, and rendering_done takes the hash from it.
        self._rendered[key] = page_path
        self.rendered += 1

    def rendering_done(self, written: Mapping[str, bytes]) -> PageKeys:
        """Let go of the documents, of every value hashed along the way and of the writer; the pages' keys go to
        the PageKeys returned.

        `written` is the hash of each file the writer was given, by path (StagedSite.digests). A rendered page
        that never reached it is not remembered: the next build renders it again. The memo and the environment
        it is installed on refer to each other, so only a full collection would free what the memo still held:
        in serve, which keeps its records, that waited for several builds (60 MB each at 10,000 documents).
        """
        for key, path in self._rendered.items():
            digest = written.get(path)
            if digest is not None:
                self._pages[key] = (path, digest)
        _CARRIED.clear()  # one site's keys are carried: a process that builds another lets go of the last one's
        if self.carry:
            _CARRIED[(self._fragments.out, os.fspath(self.folder))] = self._carry
        self._carry, self._carried, self._tokens, self._parts = {}, {}, {}, Counter()
        pages, self._pages, self._previous = self._pages, {}, {}
        parts = {key: self._page_parts[key] for key in pages.keys() & self._page_parts.keys()}
        self._page_parts, self._previous_parts = {}, {}
        self.documents, self._rendered = {}, {}
        self._uses, self._digests, self._reads, self._globals, self._empties = {}, {}, {}, {}, {}
        self.vouch = self.known_digest = None
        self._fragments.close()
        return PageKeys(self.folder, self.out, pages, frozenset(self._fragments.used), parts, carry=self.carry)

    def _read(self, value: object, reads: Reads) -> bytes:
        """A hash of what `reads` takes from `value`, each part of it visited once."""
        if reads is _WHOLE or isinstance(value, Undefined) or value is _ABSENT:
            return self._digest(value)
        if self.document_key(value) is not None:  # its seed's key settles everything read from it
            return self._digest(value)
        cached = self._reads.get((id(value), id(reads)))  # `reads` lives in self._uses all build long
        if cached is not None and cached[0] is value:
            return cached[1]
        digest = hashlib.sha256()
        for step, below in reads:
            digest.update(b"\0" + step.encode() + b"\0")
            if step == _LENGTH:
                digest.update(repr(len(value)).encode() if isinstance(value, Sized) else self._digest(value))
            elif step != _EVERY:
                digest.update(self._read(self.env.getattr(value, step), below))
            elif isinstance(value, Iterator):
                raise Unfingerprintable("a one-shot iterator: reading it here would leave the template nothing")
            elif isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                digest.update(self._digest(value))
            else:
                for item in value:
                    digest.update(b"\0item" + self._read(item, below))
        result = digest.digest()
        self._reads[(id(value), id(reads))] = (value, result)  # holding `value` keeps its id from being reused
        return result

    def _digest(self, value: object) -> bytes:
        """A hash of `value`'s content (scalars, containers, records, functions), memoised for large objects."""
        kind = type(value)
        if isinstance(value, bytes) and kind is bytes:
            return hashlib.sha256(b"bytes:" + value).digest()
        if value is None or kind in (bool, int, float, str, Markup):
            return hashlib.sha256(f"{kind.__name__}:{value!r}".encode()).digest()
        if value is _ABSENT or isinstance(value, Undefined):
            return b"undefined"
        cached = self._digests.get(id(value))
        if cached is not None and cached[0] is value:
            return cached[1]
        key = self.document_key(value)
        result = hashlib.sha256(b"document:" + key.encode()).digest() if key is not None else self._digest_parts(value)
        self._digests[id(value)] = (value, result)
        return result

    def _digest_parts(self, value: object) -> bytes:
        digest = hashlib.sha256(f"{type(value).__module__}.{type(value).__qualname__}:".encode())
        if isinstance(value, (tuple, list)):
            for item in value:
                digest.update(self._digest(item))
        elif isinstance(value, dict):
            for key, item in value.items():
                digest.update(self._digest(key) + self._digest(item))
        elif isinstance(value, (set, frozenset)):
            for item in sorted(self._digest(item) for item in value):
                digest.update(item)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                digest.update(field.name.encode() + self._digest(getattr(value, field.name)))
        elif isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
            # Our code and what is installed are in the key already; a closure's data is not.
            digest.update(f"{value.__module__}.{value.__qualname__}".encode())
            for cell in getattr(value, "__closure__", None) or ():
                digest.update(self._digest(cell.cell_contents))
            for default in getattr(value, "__defaults__", None) or ():
                digest.update(self._digest(default))
        elif isinstance(value, types.MethodType):
            digest.update(self._digest(value.__self__) + self._digest(value.__func__))
        elif isinstance(value, functools.partial):
            digest.update(self._digest(value.func) + self._digest(value.args) + self._digest(value.keywords))
        else:
            raise Unfingerprintable(type(value).__qualname__)
        return digest.digest()


_ABSENT = object()
_FILE = "\0file"  # in place of a template's name: a key of file_or_kept's
# A page's or file's key and what it was worked out from: (template name, shared token, own names, own values, key).
Carried = tuple[str, bytes, tuple[str, ...], tuple[object, ...], str]
# By output folder and cache folder: each page's key by its path, each part's by its template and place in the build
# (PageMemo.key, PageMemo.fragment), each file's by its path (file_or_kept).
_CARRIED: dict[tuple[str, str], dict[object, Carried]] = {}


def _same_values(before: tuple[object, ...], now: tuple[object, ...]) -> bool:
    """Whether each value is the one given before: the same object, or an equal one of the same type (1 == 1.0 ==
    True, but a page shows each differently). Records are frozen, so the same record still holds what it held."""
    if len(before) != len(now):
        return False
    if all(map(operator.is_, before, now)):  # most often: serve keeps the records, and most lists are empty
        return True
    return all(old is new or (type(old) is type(new) and old == new) for old, new in zip(before, now, strict=True))


class MemoTemplate(Template):
    """A template whose `render` returns the last build's page when nothing it reads has changed."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        context = dict(*args, **kwargs)
        memo: PageMemo | None = getattr(self.environment, "corpus_site_memo", None)
        return self._memoised(memo, memo.key(self.name, context) if memo else None, context)

    def page_or_kept(self, shared: Mapping[str, Any], own: Mapping[str, Any]) -> str | KeptFile:
        """As `render` with what every page is given (`shared`, see PageMemo.page_key) and the page's `own` values,
        but a page the output folder is known to hold already comes back unread, as a KeptFile."""
        memo: PageMemo | None = getattr(self.environment, "corpus_site_memo", None)
        key = memo.page_key(self.name, shared, own) if memo else None
        if memo is not None and key is not None:
            digest = memo.kept_unread(key, own["page_path"])
            if digest is not None:
                return KeptFile(digest, lambda: Template.render(self, {**shared, **own}).encode())
        return self._memoised(memo, key, {**shared, **own})

    def _memoised(self, memo: PageMemo | None, key: str | None, context: dict[str, Any]) -> str:
        if memo is None or key is None:
            return Template.render(self, context)
        page_path = context["page_path"]
        kept = memo.kept_page(key, page_path)
        if kept is not None:
            return kept
        with memo.rendering(key):
            page = Template.render(self, context)
        memo.rendered_page(key, page_path, page)
        return page


@cache
def _code_and_installed() -> bytes:
    digest = hashlib.sha256(f"corpus-site pages {_FORMAT} {__version__} {sys.version}".encode())
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(b"\0code\0" + path.relative_to(_PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update("\0".join(installed_distributions()).encode())
    return digest.digest()
