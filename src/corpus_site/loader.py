"""Files on disk → Document records; nothing else reads seeds."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from corpus_site import langtag
from corpus_site.dates import date_line, looks_like_dateline, parse_date
from corpus_site.decode import UndecodableError, decode
from corpus_site.markup import (
    MARKDOWN_BUDGET,
    RawBlock,
    markdown_blocks,
    markdown_cost,
    paragraph_html,
    text_blocks,
)
from corpus_site.records import Block, Corpus, Document, Metadata, Problem, Skipped

SEED_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown"}
SIDECAR_SUFFIXES = (".yaml", ".yml")
MAX_BYTES = 32 * 1024 * 1024  # larger files are skipped unread: no reader pages through a bigger one
_MAX_METADATA_BYTES = 64 * 1024  # front matter or sidecar
_MAX_FIELD = 2000  # characters kept of one front matter value
_ID_MAX = 80
_TITLE_WIDTH = 72  # columns; a wide (CJK) character takes two
_HEADING_WIDTH = 100
_HEADING_MAX_WORDS = 16
_TITLE_LINES = 8  # lines looked at for a heading-like first line
_WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))]
)
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+(?:[.,]\d+)*")
# Scripts written without spaces between words: each character counts as a word.
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)|(?<=[。！？])")
_NOT_HEADING_END = re.compile(r"[.,;:…。，；：、]$")
_PATH_OR_URL = re.compile(r"://|^www\.|/|\\|\.html?$", re.IGNORECASE)
_HAS_WORD = re.compile(r"[^\W\d_]{2,}")
_CLOSING_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_OPENING_FENCE = re.compile(r"---[ \t]*\n")
_TEXT_KINDS_SKIPPED_FOR_TITLES = ("code", "hr", "table")
_MIB = 1024 * 1024
_CONTROL_IN_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class SeedFile:
    """A seed found on disk, with the id it will have; the unit of work for one document."""

    path: Path
    source: str  # relative to SEEDS, with / separators
    id: str  # "" for a seed refused at discovery
    format: str  # "text" or "markdown"
    sidecar: Path | None = None  # <name>.yaml beside it: metadata the file's own front matter overrides
    refused: str | None = None  # why it is skipped without being read (a link leaving SEEDS, a FIFO, …)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What loading one seed gave: a document or a reason to skip it, plus warnings."""

    document: Document | None
    skipped: Skipped | None
    warnings: tuple[Problem, ...]


Load = Callable[[Iterable[SeedFile]], Iterable[Loaded]]  # seeds → their records, in order (workers.loading makes one)


def load_corpus(seeds: Path, load: Load | None = None) -> Corpus:
    """Find and load every seed under `seeds`, in a stable order."""
    return load_found(*discover(seeds), load)


def load_found(found: list[SeedFile], ignored: list[str], problems: list[Problem], load: Load | None = None) -> Corpus:
    """Load what `discover` found into a Corpus."""
    results = list((load or _load_serially)(found))
    warnings = list(problems)
    for result in results:
        warnings.extend(result.warnings)
    return Corpus(
        documents=tuple(result.document for result in results if result.document),
        skipped=tuple(result.skipped for result in results if result.skipped),
        warnings=tuple(warnings),
        ignored=tuple(ignored),
    )


def _load_serially(found: Iterable[SeedFile]) -> Iterator[Loaded]:
    return map(load_seed, found)


# --- discovery --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    name: str
    source: str
    path: Path
    regular: bool  # a regular file (or a link to one inside SEEDS)
    refused: str | None = None


Discovered = tuple[list[SeedFile], list[str], list[Problem]]  # seed files, other files, problems
FolderState = tuple[int, int, int, int]  # device, inode, modification and change times (ns)
# A folder's times show a file added, removed or renamed in it only if the change came in a later tick of the
# file system's clock than the look that saw the folder: one changed less than this long before is looked at again.
_FOLDER_SETTLED_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class _Folder:
    """What one folder holds, as discover reads it: its seeds (with their sidecars), other files, problems, and the
    folders inside it to read next."""

    prefix: str  # its path below SEEDS, as sources are shown, ending in "/" (empty for SEEDS itself)
    seeds: tuple[tuple[_Entry, Path | None], ...]
    others: tuple[str, ...]
    problems: tuple[Problem, ...]
    folders: tuple[tuple[Path, str], ...]
    linked: bool  # a symbolic link was met: its target can change unseen, so the folder is read every time


# The last discovery in this process, by seeds folder: each folder's state and what it held, then the whole answer.
_LAST_DISCOVERY: dict[tuple[str, str], tuple[dict[str, tuple[FolderState, _Folder]], Discovered | None]] = {}


def discover(seeds: Path) -> Discovered:
    """Seed files under `seeds` in a stable order (hidden ones passed over), other files, and problems.

    Each folder the last call read is taken again while it is as it was (the same device, inode, modification and
    change times: adding, removing or renaming a file changes its folder's), unless it had changed too recently for
    that to show, or held a symbolic link (its target can change unseen); the last answer whole, when every folder
    is. serve's rebuilds then look at 11 folders instead of naming 10,000 seeds again (0.1 s at 10,000 seeds), and
    read again only the folder a seed was added to.
    """
    root = seeds.resolve()
    memo_key = (os.fspath(seeds), os.fspath(root))
    known, answer = _LAST_DISCOVERY.get(memo_key, ({}, None))
    if answer is not None and all(_folder_state(folder) == state for folder, (state, _) in known.items()):
        return _copied(answer)
    read_now: dict[str, tuple[FolderState, _Folder]] = {}
    whole = True  # every folder could be taken again next time, so the answer can too
    seed_entries: list[tuple[_Entry, Path | None]] = []
    others: list[str] = []
    problems: list[Problem] = []
    folders: list[tuple[Path, str]] = [(seeds, "")]
    while folders:
        folder, prefix = folders.pop()
        name = os.fspath(folder)
        state = _folder_state(folder)  # before it is read: a change while it is read shows next time
        last = known.get(name)
        if last is not None and state is not None and last[0] == state and last[1].prefix == prefix:
            found = last[1]
        else:
            found = _read_folder(folder, prefix, root)
        if state is not None and not found.linked and settled(state[2], state[3], _FOLDER_SETTLED_NS):
            read_now[name] = (state, found)
        else:
            whole = False
        seed_entries.extend(found.seeds)
        others.extend(found.others)
        problems.extend(found.problems)
        folders.extend(found.folders)
    seed_entries.sort(key=lambda pair: pair[0].source)
    others.sort()
    result = (_seed_files(seed_entries), others, problems)
    _LAST_DISCOVERY.clear()  # one seeds folder's: a process that discovers another lets go of the last one's
    _LAST_DISCOVERY[memo_key] = (read_now, _copied(result) if whole else None)
    return result


def _read_folder(folder: Path, prefix: str, root: Path) -> _Folder:
    """What `folder` (at `prefix` below SEEDS, whose resolved path is `root`) holds; hidden entries passed over."""
    try:
        with os.scandir(folder) as iterator:
            entries = sorted(iterator, key=lambda entry: entry.name)
    except OSError as error:
        problems: tuple[Problem, ...] = ()
        if prefix or folder.exists():
            message = f"folder cannot be read ({_reason(error)}); its files were not loaded"
            problems = (Problem(prefix.rstrip("/") or ".", message),)
        return _Folder(prefix, (), (), problems, (), linked=False)
    files: list[_Entry] = []
    inside: list[tuple[Path, str]] = []
    problems_found: list[Problem] = []
    linked = False
    for entry in entries:
        if entry.name.startswith("."):
            continue
        source = prefix + _display_name(entry.name)
        path = _path(entry.path)
        if entry.is_symlink():
            linked = True
            target, refusal = _follow_link(path, root)
            if target is not None and target.is_dir():
                problems_found.append(Problem(source, "symbolic link to a folder, not followed"))
            elif target is not None:
                files.append(_Entry(entry.name, source, path, target.is_file()))
            elif _seed_format(entry.name):
                files.append(_Entry(entry.name, source, path, False, refusal))
            else:
                problems_found.append(Problem(source, f"{refusal}, not followed"))
        elif entry.is_dir(follow_symlinks=False):
            inside.append((path, source + "/"))
        else:
            files.append(_Entry(entry.name, source, path, entry.is_file(follow_symlinks=False)))
    sidecars_used: set[str] = set()
    regular = {item.name: item for item in files if item.regular}
    seeds: list[tuple[_Entry, Path | None]] = []
    for item in files:
        if _seed_format(item.name):
            sidecar = _sidecar_for(item.name, regular)
            if sidecar is not None:
                sidecars_used.add(sidecar.name)
            seeds.append((item, sidecar.path if sidecar else None))
    others = tuple(item.source for item in files if not _seed_format(item.name) and item.name not in sidecars_used)
    return _Folder(prefix, tuple(seeds), others, tuple(problems_found), tuple(inside), linked)


def _folder_state(folder: str | Path) -> FolderState | None:
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns)


def settled(modified_ns: int, changed_ns: int, margin_ns: int) -> bool:
    """Whether a file or folder with these modification and change times last changed more than `margin_ns` ago, so
    that a change from now on would show in its times. Never on Windows, where the change time is when the file was
    made, so an edit with its modification time put back hides."""
    return os.name == "posix" and max(modified_ns, changed_ns) < time.time_ns() - margin_ns


def _copied(found: Discovered) -> Discovered:
    """New lists of the same items (SeedFile and Problem are frozen): what a caller does with them stays its own."""
    return list(found[0]), list(found[1]), list(found[2])


def _seed_files(entries: list[tuple[_Entry, Path | None]]) -> list[SeedFile]:
    refusals: list[str | None] = []
    seen: set[str] = set()
    for item, _ in entries:
        reason = item.refused or (None if item.regular else "not a regular file (a pipe, socket or device), not read")
        if reason is None and item.source in seen:  # two names that differ only in bytes that are not UTF-8
            reason = "its name clashes with another file's once shown as text; rename it"
        if reason is None:
            seen.add(item.source)
        refusals.append(reason)
    ids = assign_ids([item.source for (item, _), reason in zip(entries, refusals, strict=True) if reason is None])
    return [
        SeedFile(
            item.path,
            item.source,
            "" if reason else ids[item.source],
            _seed_format(item.name) or "text",
            sidecar,
            reason,
        )
        for (item, sidecar), reason in zip(entries, refusals, strict=True)
    ]


@functools.lru_cache(maxsize=1 << 17)  # kept by name, as _base_slug: serve's rebuilds name the same seeds each time
def _seed_format(name: str) -> str | None:
    return SEED_SUFFIXES.get(os.path.splitext(name)[1].lower())


@functools.lru_cache(maxsize=1 << 17)  # the same path, the same (immutable) object: making 10,000 took 0.03 s
def _path(name: str) -> Path:
    return Path(name)


def _sidecar_for(name: str, regular: dict[str, _Entry]) -> _Entry | None:
    """`<name>.yaml` (or `.yml`) beside the seed: the full name first, then the name without its suffix."""
    stem = os.path.splitext(name)[0]
    for base in (name, stem):
        for suffix in SIDECAR_SUFFIXES:
            found = regular.get(base + suffix)
            if found is not None:
                return found
    return None


def _follow_link(path: Path, root: Path) -> tuple[Path | None, str]:
    """The target of a symbolic link if it stays inside SEEDS, else why it is not followed."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError:
        return None, "symbolic link that loops"
    except FileNotFoundError:
        return None, "broken symbolic link"
    except OSError as error:
        if error.errno == 40:  # ELOOP
            return None, "symbolic link that loops"
        return None, f"symbolic link that cannot be followed ({_reason(error)})"
    if not target.is_relative_to(root) or target == root:
        return None, "symbolic link leaving the seeds folder" if target != root else "symbolic link that loops"
    return target, ""


def _display_name(name: str) -> str:
    """The name as text for pages and reports: bytes that are not UTF-8 (kept by Python as
    surrogates) and control characters are shown as \\xNN."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        name = os.fsencode(name).decode("utf-8", "backslashreplace")
    return _CONTROL_IN_NAME.sub(lambda match: f"\\x{ord(match.group()):02x}", name)


def _reason(error: OSError) -> str:
    return (error.strerror or type(error).__name__).lower()


# --- ids --------------------------------------------------------------------------------------------------------


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits, '-' and '_': safe in any URL and on any file system."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")
    return re.sub(r"-{2,}", "-", slug)


def assign_ids(sources: list[str]) -> dict[str, str]:
    """A unique id per source path. A path's slug is its id unless another path has the same slug
    (same stem, other suffix; names differing in case or accents; …): then each gets a hash of its path."""
    base = {source: _base_slug(source) for source in sources}
    counts = Counter(base.values())
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for source in sorted(sources):
        slug = base[source]
        if slug and counts[slug] == 1 and slug not in _WINDOWS_DEVICES and not _spelled_outside_ascii(source):
            ids[source] = slug
            taken.add(slug)
    for source in sorted(sources):
        if source in ids:
            continue
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        length = 8
        while True:
            candidate = f"{base[source] or 'doc'}-{digest[:length]}"
            if candidate not in taken:
                break
            length += 4
            if length > len(digest):  # a 64-digit collision: only a crafted name gets here
                digest = hashlib.sha256(digest.encode()).hexdigest()
                length = 8
        ids[source] = candidate
        taken.add(candidate)
    return ids


def _spelled_outside_ascii(source: str) -> bool:
    """Letters the slug cannot spell (Han, Cyrillic, …): what is left of the name may say little, so a hash joins it."""
    if source.isascii():  # most names: each of their letters is its own spelling
        return False
    return any(char.isalpha() and not unicodedata.normalize("NFKD", char).encode("ascii", "ignore") for char in source)


# Each discovery names every seed again: serve's rebuilds find most slugs here (10,000 took 0.04 s to make).
@functools.lru_cache(maxsize=1 << 17)
def _base_slug(source: str) -> str:
    folder, _, name = source.rpartition("/")
    stem, suffix = os.path.splitext(name)
    stem = stem if suffix.lower() in SEED_SUFFIXES else name
    slug = slugify(f"{folder}-{stem}" if folder else stem)
    if len(slug) > _ID_MAX:
        slug = slug[:_ID_MAX]
        cut = slug.rfind("-")
        slug = slug[:cut] if cut > _ID_MAX // 2 else slug
    return slug.strip("-_")


# --- one seed ---------------------------------------------------------------------------------------------------


def load_seed(seed: SeedFile) -> Loaded:
    """Read, decode, parse and language-tag one seed file."""
    if seed.refused:
        return _skip(seed, seed.refused)
    try:
        return _load(seed)
    except Exception as error:  # one broken file must not stop a build; the reason names the bug
        return _skip(
            seed,
            f"could not be loaded because of an internal error ({type(error).__name__}: {error}); please report it",
        )


def _load(seed: SeedFile) -> Loaded:
    data = _read(seed.path, MAX_BYTES)
    if isinstance(data, str):
        return _skip(seed, data)
    try:
        decoded = decode(data)
    except UndecodableError as error:
        return _skip(seed, str(error))
    warnings = [Problem(seed.source, message, line) for message, line in decoded.warnings]
    text = decoded.text
    front = _Fields()
    body, body_line = text, 1
    if seed.format == "markdown":
        front, body, body_line, problems = split_front_matter(text, seed.source)
        warnings.extend(problems)
    fields = front
    if seed.sidecar:
        sidecar, problems = _read_sidecar(seed)
        warnings.extend(problems)
        fields = sidecar.updated(front)  # the file's own front matter wins
    metadata, problems = _metadata(fields, body, seed.source)
    warnings.extend(problems)
    if seed.format == "markdown" and markdown_cost(body) > MARKDOWN_BUDGET:
        warnings.append(
            Problem(seed.source, "too much Markdown punctuation to format in reasonable time; shown as plain text")
        )
        raw = text_blocks(body, body_line)
    elif seed.format == "markdown":
        raw = markdown_blocks(body, body_line)
    else:
        raw = text_blocks(body, body_line)
    if not raw:
        reason = (
            "no text besides its front matter"
            if body is not text
            else "no text to show (only Markdown link definitions)"
        )
        return Loaded(None, Skipped(seed.source, reason), tuple(warnings))
    document = _document(seed, data, decoded.encoding, text, raw, fields.values, metadata)
    return Loaded(document, None, tuple(warnings))


def _read(path: Path, limit: int) -> bytes | str:
    """The file's bytes, or why it was not read; a large file is refused before reading any of it."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (a symlink may lead to one).
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        return f"cannot be read ({_reason(error)})"
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file (a pipe, socket or device), not read"
        if info.st_size > limit:
            return f"too large to read ({info.st_size / _MIB:,.1f} MB; the limit is {limit / _MIB:,.0f} MB)"
        try:
            data = read_to_end(handle, info.st_size, limit)
        except OSError as error:
            return f"cannot be read ({_reason(error)})"
    if len(data) > limit:  # it grew after we looked
        return f"too large to read (over {limit / _MIB:,.0f} MB)"
    return data


def read_to_end(handle: BinaryIO, size: int, limit: int) -> bytes:
    """The rest of the file, up to `limit` + 1 bytes (more than that is too large), `size` being what it should hold.

    `read(limit + 1)` would make a buffer of the limit's size for every file, however small (0.3 s for 10,000
    seeds of 3 KB against 0.1 s); one byte past the expected size shows a file that grew, which is read on."""
    data = handle.read(min(size, limit) + 1)
    if len(data) > size and len(data) <= limit:
        data += handle.read(limit + 1 - len(data))
    return data


def _skip(seed: SeedFile, reason: str) -> Loaded:
    return Loaded(None, Skipped(seed.source, reason), ())


def _document(
    seed: SeedFile,
    data: bytes,
    encoding: str,
    text: str,
    raw: list[RawBlock],
    fields: dict[str, Any],
    metadata: Metadata,
) -> Document:
    votes = ["" if block.kind in ("code", "hr") else block.text for block in raw]
    langs = langtag.tag_blocks(votes, metadata.lang)
    blocks = tuple(_block(item, lang, seed.format) for item, lang in zip(raw, langs, strict=True))
    shares = langtag.language_shares(votes, langs)
    primary = metadata.lang or (shares[0][0] if shares else langtag.UNDETERMINED)
    return Document(
        id=seed.id,
        source=seed.source,
        sha256=hashlib.sha256(data).hexdigest(),
        format=seed.format,
        encoding=encoding,
        title=_title(fields, raw, seed),
        text=text,
        blocks=blocks,
        primary_lang=primary,
        language_shares=shares,
        words=sum(count_words(block.text) for block in raw if block.kind != "hr"),
        metadata=metadata,
    )


def _block(item: RawBlock, lang: str, format: str) -> Block:
    """The block, tagged; a plain-text paragraph whose lines are in different scripts gets a lang per line."""
    lines = item.text.split("\n")
    if format != "text" or len(lines) < 2 or len({script for script in map(langtag.main_script, lines) if script}) < 2:
        return Block(item.kind, item.text, item.html, lang)
    line_langs = langtag.tag_blocks(lines, None)
    spans = [_lang_attrs(code, lang) if code not in (lang, langtag.UNDETERMINED) else "" for code in line_langs]
    if not any(spans):
        return Block(item.kind, item.text, item.html, lang)
    return Block(item.kind, item.text, paragraph_html(lines, spans), lang)


def _lang_attrs(code: str, around: str) -> str:
    direction = langtag.text_direction(code)
    return f' lang="{code}"' + (f' dir="{direction}"' if direction != langtag.text_direction(around) else "")


def count_words(text: str) -> int:
    """Words in `text`; each Han or Kana character counts as one (those scripts put no spaces between words)."""
    rest, cjk = _CJK_CHAR.subn(" ", text)
    return cjk + _WORD.subn("", rest)[1]


# --- front matter and sidecars ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fields:
    """Metadata fields by normalised key, and the file and line each came from (for warnings)."""

    values: dict[str, Any] = field(default_factory=dict)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)

    def updated(self, other: _Fields) -> _Fields:
        return _Fields({**self.values, **other.values}, {**self.where, **other.where})


def split_front_matter(text: str, source: str) -> tuple[_Fields, str, int, list[Problem]]:
    """YAML front matter between '---' lines → (fields, body, body's first line, warnings)."""
    opening = _OPENING_FENCE.match(text)
    if not opening:
        return _Fields(), text, 1, []
    closing = _CLOSING_FENCE.search(text, opening.end())
    if closing is None:
        return _Fields(), text, 1, [Problem(source, "front matter opened with '---' is never closed; read as text", 1)]
    front = text[opening.end() : closing.start()]
    body_start = min(closing.end() + 1, len(text))
    body_line = text.count("\n", 0, body_start) + 1
    fields, problems = parse_yaml(front, source, first_line=2)
    return fields, text[body_start:], body_line, problems


def parse_yaml(front: str, source: str, first_line: int) -> tuple[_Fields, list[Problem]]:
    """Safe-load a mapping, one field at a time: a bad value costs only that field; anything else is a warning."""
    if len(front) > _MAX_METADATA_BYTES:
        return _Fields(), [
            Problem(source, f"front matter larger than {_MAX_METADATA_BYTES // 1024} KB ignored", first_line)
        ]
    loader = _YamlLoader(front)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first_line + mark.line if mark is not None else first_line
        return _Fields(), [
            Problem(source, f"front matter ignored: {error.problem or error.context or 'not valid YAML'}", line)
        ]
    except (yaml.YAMLError, RecursionError, ValueError) as error:
        return _Fields(), [Problem(source, f"front matter ignored: not valid YAML ({error})", first_line)]
    finally:
        loader.dispose()
    if node is None:
        return _Fields(), []
    if not isinstance(node, yaml.MappingNode) or node.tag != "tag:yaml.org,2002:map":
        return _Fields(), [
            Problem(
                source,
                "front matter ignored: it must be a mapping of 'key: value' lines",
                first_line + node.start_mark.line,
            )
        ]
    problems: list[Problem] = []
    try:
        yaml.constructor.SafeConstructor().flatten_mapping(node)  # merge keys ("<<: *defaults")
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as error:
        return _Fields(), [
            Problem(source, f"front matter ignored: {getattr(error, 'problem', None) or error}", first_line)
        ]
    values: dict[str, Any] = {}
    where: dict[str, tuple[str, int]] = {}
    for key_node, value_node in node.value:
        line = first_line + key_node.start_mark.line
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem(source, "front matter field ignored: its name is not a plain word", line))
            continue
        key = _field_name(key_node.value)
        try:
            value = yaml.constructor.SafeConstructor().construct_object(value_node, deep=True)
        except Exception as error:  # PyYAML raises ValueError, TypeError, … for values it cannot build
            detail = getattr(error, "problem", None) or str(error) or type(error).__name__
            problems.append(Problem(source, f"front matter field {key!r} ignored: {detail}", line))
            continue
        values[key] = value
        where[key] = (source, line)
    return _Fields(values, where), problems


_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _field_name(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", key.strip().lower())[:100]


def _read_sidecar(seed: SeedFile) -> tuple[_Fields, list[Problem]]:
    assert seed.sidecar is not None
    source = seed.source.rpartition("/")[0]
    source = f"{source}/{_display_name(seed.sidecar.name)}" if source else _display_name(seed.sidecar.name)
    data = _read(seed.sidecar, _MAX_METADATA_BYTES)
    if isinstance(data, str):
        return _Fields(), [Problem(source, f"sidecar metadata ignored: {data}")]
    try:
        text = decode(data).text
    except UndecodableError as error:
        return _Fields(), [Problem(source, f"sidecar metadata ignored: {error}")]
    return parse_yaml(text, source, first_line=1)


# --- metadata ---------------------------------------------------------------------------------------------------


def _scalar(value: Any) -> str | None:
    """A front matter value as one line of text; lists, mappings and binary data are not."""
    if value is None or isinstance(value, (dict, list, tuple, set, bytes)):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = " ".join(str(value).split())[:_MAX_FIELD]
    return text or None


def _scalars(value: Any) -> tuple[str, ...]:
    """A list of scalars, or a comma-separated string, as a tuple of strings."""
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = value[:200]
    else:
        items = (value,)
    return tuple(dict.fromkeys(text for text in map(_scalar, items) if text))


def _iso_date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds" if value.second or value.microsecond else "minutes")
    if isinstance(value, date):
        return value.isoformat()
    text = _scalar(value)
    return parse_date(text) if text and len(text) <= 100 else None


def _metadata(fields: _Fields, body: str, source: str) -> tuple[Metadata, list[Problem]]:
    problems: list[Problem] = []
    values = fields.values

    def warn(key: str, message: str) -> None:
        where, line = fields.where.get(key, (source, None))
        problems.append(Problem(where, message, line))

    def first(*keys: str) -> tuple[str, Any]:
        return next(((key, values[key]) for key in keys if values.get(key) is not None), (keys[0], None))

    lines_found: dict[str, str] = {}
    for line in body.split("\n"):
        if len(line) <= 90:
            recognised = date_line(line.strip())
            if recognised and recognised[0] not in lines_found:
                lines_found[recognised[0]] = recognised[1]
    dates: dict[str, str | None] = {}
    for name in ("date", "published", "first_seen", "last_seen", "updated"):
        key, value = first(name, *(("modified", "lastmod") if name == "updated" else ()))
        iso = _iso_date(value) if value is not None else None
        if value is not None and iso is None:
            warn(key, f"front matter {key} {_scalar(value)!r} is not a date (write it as 2025-07-10); ignored")
        dates[name] = iso or lines_found.get(name)
    lang = None
    key, value = first("lang", "language", "locale")
    declared = _scalar(value)
    if declared:
        lang = langtag.normalise_code(declared)
        if lang is None:
            warn(
                key,
                f"front matter {key} {declared[:40]!r} is not a language tag such as 'pt' or 'zh-Hans'; "
                "detected instead",
            )
    author = first("author", "authors", "by")[1]
    source_url = first("source_url", "source", "url", "link", "original_url", "canonical_url")[1]
    return Metadata(
        date=dates["date"] or dates["published"] or dates["first_seen"] or dates["updated"],
        published=dates["published"],
        first_seen=dates["first_seen"],
        last_seen=dates["last_seen"],
        author=(", ".join(_scalars(author)) or None) if author is not None else None,
        tags=_scalars(first("tags", "keywords", "categories")[1] or ()),
        source_url=_scalar(source_url),
        lang=lang,
        translation_key=_scalar(values.get("translation_key")),
        translation_of=_scalar(values.get("translation_of")),
    ), problems


# --- titles -----------------------------------------------------------------------------------------------------


def _title(fields: dict[str, Any], raw: list[RawBlock], seed: SeedFile) -> str:
    """Front matter, else a heading-like first line (date lines passed over), else the first sentence's opening."""
    given = _scalar(fields.get("title"))
    if given:
        return _shorten(given, 2 * _HEADING_WIDTH)
    blocks = [block for block in raw if block.kind not in _TEXT_KINDS_SKIPPED_FOR_TITLES and block.text.strip()]
    if not blocks:
        return _name_title(seed)
    if blocks[0].kind in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return _shorten(blocks[0].text, 2 * _HEADING_WIDTH)
    candidates: list[tuple[RawBlock, int]] = []  # (block, offset of a non-blank line in its text)
    for block in blocks:
        offset = 0
        for line in block.text[:4000].split("\n"):
            if line.strip():
                candidates.append((block, offset))
            offset += len(line) + 1
            if len(candidates) >= _TITLE_LINES:
                break
        if len(candidates) >= _TITLE_LINES:
            break
    candidates = candidates or [(blocks[0], 0)]
    block, offset = next(((b, o) for b, o in candidates if not looks_like_dateline(_line_at(b.text, o))), candidates[0])
    line = _line_at(block.text, offset).strip()
    if _reads_like_heading(line):
        return " ".join(line.split())
    opening = " ".join(block.text[offset : offset + 2000].split())
    sentence = _SENTENCE_END.split(opening, maxsplit=1)[0]
    title = _shorten(sentence, _TITLE_WIDTH)
    if title.endswith((".", "。")) and not title.endswith("..") and len(title) > 1:
        title = title[:-1]
    return title or _name_title(seed)


def _name_title(seed: SeedFile) -> str:
    """For a document without words: its file name without the suffix."""
    name = seed.source.rpartition("/")[2]
    return _shorten(os.path.splitext(name)[0], _TITLE_WIDTH) or _shorten(name, _TITLE_WIDTH) or seed.id


def _line_at(text: str, offset: int) -> str:
    end = text.find("\n", offset, offset + 4000)
    return text[offset : end if end != -1 else offset + 4000]


def _reads_like_heading(line: str) -> bool:
    return (
        _width(line, _HEADING_WIDTH + 1) <= _HEADING_WIDTH
        and 1 <= len(line.split()) <= _HEADING_MAX_WORDS
        and not _NOT_HEADING_END.search(line)
        and not _PATH_OR_URL.search(line)
        and bool(_HAS_WORD.search(line))
    )


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200d\ufe0e\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _width(text: str, stop: int) -> int:
    """Columns `text` takes (a wide character two), counting no further than `stop`."""
    total = 0
    for ch in text:
        total += _char_width(ch)
        if total >= stop:
            break
    return total


def _joins_previous(ch: str) -> bool:
    """A character that belongs to the one before it: a combining mark, joiner, selector or skin tone."""
    return bool(
        unicodedata.combining(ch)
        or unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or ch in "\u200d\ufe0e\ufe0f"
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
        or "\U000e0020" <= ch <= "\U000e007f"
    )


def _shorten(text: str, width: int) -> str:
    """One line of at most `width` columns, cut at a word boundary (at a character in scripts
    without spaces, never inside a character cluster) and marked with an ellipsis."""
    text = " ".join(text[: width * 4].split()) if len(text) > width * 4 else " ".join(text.split())
    if _width(text, width + 1) <= width:
        return text
    used = cut = 0
    for index, ch in enumerate(text):
        used += _char_width(ch)
        if used > width - 1:  # room for the ellipsis
            cut = index
            break
    space = text.rfind(" ", 0, cut + 1)
    if space > cut // 2:
        cut = space
    else:
        while cut > 1 and (_joins_previous(text[cut]) or text[cut - 1] == "\u200d"):
            cut -= 1
    return text[:cut].rstrip(" ,;:-–—、，") + "…"
