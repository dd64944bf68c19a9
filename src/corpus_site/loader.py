"""Files on disk → Document records; nothing else reads seeds."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from corpus_site import langtag
from corpus_site.dates import date_line, looks_like_dateline
from corpus_site.decode import UndecodableError, decode
from corpus_site.markup import RawBlock, markdown_blocks, text_blocks
from corpus_site.records import Block, Corpus, Document, Metadata, Problem, Skipped

SEED_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown"}
SIDECAR_SUFFIXES = (".yaml", ".yml")
MAX_BYTES = 64 * 1024 * 1024  # larger files are skipped: a corpus page that size helps no reader
_MAX_FRONT_MATTER = 64 * 1024
_ID_MAX = 80
_TITLE_MAX = 72
_HEADING_MAX_WORDS = 16
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+(?:[.,]\d+)*")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)|(?<=[。！？])")


@dataclass(frozen=True, slots=True)
class SeedFile:
    """A seed found on disk, with the id it will have; the unit of work for one document."""

    path: Path
    source: str
    id: str
    format: str
    sidecar: Path | None = None


@dataclass(frozen=True, slots=True)
class Loaded:
    """What loading one seed gave: a document or a reason to skip it, plus warnings."""

    document: Document | None
    skipped: Skipped | None
    warnings: tuple[Problem, ...]


def load_corpus(
    seeds: Path, load: Callable[[Iterable[SeedFile]], Iterable[Loaded]] | None = None
) -> Corpus:
    """Find and load every seed under `seeds`, in a stable order."""
    found, ignored, problems = discover(seeds)
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


def discover(seeds: Path) -> tuple[list[SeedFile], list[str], list[Problem]]:
    """Seed files under `seeds` (hidden ones passed over), other files, and link problems."""
    root = seeds.resolve()
    candidates: list[tuple[str, Path]] = []
    others: list[str] = []
    problems: list[Problem] = []
    for folder, dirnames, filenames in os.walk(seeds):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in dirnames:
            if os.path.islink(os.path.join(folder, name)):
                problems.append(Problem(_relative(Path(folder, name), seeds), "symbolic link to a folder, not followed"))
        for name in sorted(filenames):
            path = Path(folder, name)
            if name.startswith("."):
                continue
            source = _relative(path, seeds)
            if path.is_symlink() and not _inside(path, root):
                problems.append(Problem(source, "symbolic link leaving the seeds folder (or broken), not followed"))
                continue
            candidates.append((source, path))
    candidates.sort()
    names = {source for source, _ in candidates}
    seeds_found: list[tuple[str, Path, str]] = []
    for source, path in candidates:
        kind = SEED_SUFFIXES.get(path.suffix.lower())
        if kind:
            seeds_found.append((source, path, kind))
        elif not (path.suffix.lower() in SIDECAR_SUFFIXES and _has_seed(source, names)):
            others.append(source)
    ids = assign_ids([source for source, _, _ in seeds_found])
    found = [
        SeedFile(path, source, ids[source], kind, _sidecar(path))
        for source, path, kind in seeds_found
    ]
    return found, others, problems


def _relative(path: Path, seeds: Path) -> str:
    return path.relative_to(seeds).as_posix()


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root) and path.exists()
    except (OSError, RuntimeError):  # loops raise RuntimeError on older Pythons
        return False


def _has_seed(sidecar_source: str, names: set[str]) -> bool:
    stem = sidecar_source.rsplit(".", 1)[0]
    return any(stem + suffix in names for suffix in SEED_SUFFIXES)


def _sidecar(path: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits, '-' and '_': safe in any URL and on any file system."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")
    return re.sub(r"-{2,}", "-", slug)


def assign_ids(sources: list[str]) -> dict[str, str]:
    """A unique id per source path; ids that would collide get a short hash of their path."""

    def digest(source: str) -> str:
        return hashlib.sha1(source.encode()).hexdigest()[:8]

    base: dict[str, str] = {}
    for source in sources:
        stem = source.rsplit(".", 1)[0] if "." in source.rsplit("/", 1)[-1] else source
        slug = slugify(stem.replace("/", "-"))[:_ID_MAX].strip("-_")
        base[source] = slug or "doc"
    counts: dict[str, int] = {}
    for slug in base.values():
        counts[slug] = counts.get(slug, 0) + 1
    ids: dict[str, str] = {}
    for source in sorted(sources):
        slug = base[source]
        if counts[slug] > 1 or slug == "doc":
            slug = f"{slug}-{digest(source)}"
        ids[source] = slug
    return ids


def load_seed(seed: SeedFile) -> Loaded:
    """Read, decode, parse and language-tag one seed file."""
    try:
        size = seed.path.stat().st_size
        if size > MAX_BYTES:
            return _skip(seed, f"larger than {MAX_BYTES // (1024 * 1024)} MB")
        data = seed.path.read_bytes()
    except OSError as error:
        return _skip(seed, f"cannot be read ({error.strerror or error})")
    try:
        text, encoding, removed = decode(data)
    except UndecodableError as error:
        return _skip(seed, str(error))
    warnings: list[Problem] = []
    if removed:
        warnings.append(Problem(seed.source, f"{removed} control character(s) removed"))
    fields: dict[str, Any] = {}
    body, body_line = text, 1
    if seed.format == "markdown":
        fields, body, body_line, problems = split_front_matter(text, seed.source)
        warnings.extend(problems)
    if seed.sidecar:
        sidecar_fields, problems = _read_sidecar(seed)
        warnings.extend(problems)
        fields = {**sidecar_fields, **fields}  # the file's own front matter wins
    metadata, problems = _metadata(fields, body, seed.source)
    warnings.extend(problems)
    raw = markdown_blocks(body, body_line) if seed.format == "markdown" else text_blocks(body, body_line)
    if not raw:
        return Loaded(None, Skipped(seed.source, "no text after the front matter"), tuple(warnings))
    document = _document(seed, data, encoding, text, raw, fields, metadata)
    return Loaded(document, None, tuple(warnings))


def _skip(seed: SeedFile, reason: str) -> Loaded:
    return Loaded(None, Skipped(seed.source, reason), ())


def _document(
    seed: SeedFile, data: bytes, encoding: str, text: str, raw: list[RawBlock], fields: dict[str, Any], metadata: Metadata
) -> Document:
    votes = ["" if block.kind in ("code", "hr") else block.text for block in raw]
    langs = langtag.tag_blocks(votes, metadata.lang)
    blocks = tuple(Block(item.kind, item.text, item.html, lang) for item, lang in zip(raw, langs, strict=True))
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
        words=count_words(" ".join(block.text for block in raw)),
        metadata=metadata,
    )


def count_words(text: str) -> int:
    """Words in `text`; each Han, Kana or Hangul character counts as one."""
    cjk = len(_CJK_CHAR.findall(text))
    return cjk + len(_WORD.findall(_CJK_CHAR.sub(" ", text)))


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str, int, list[Problem]]:
    """YAML front matter between '---' lines → (fields, body, body's first line, warnings)."""
    if not text.startswith("---\n"):
        return {}, text, 1, []
    lines = text.split("\n")
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() in ("---", "...")), None)
    if closing is None:
        return {}, text, 1, [Problem(source, "front matter opened with '---' is never closed; read as text", 1)]
    front = "\n".join(lines[1:closing])
    body = "\n".join(lines[closing + 1 :])
    fields, problems = parse_yaml(front, source, first_line=2)
    return fields, body, closing + 2, problems


def parse_yaml(front: str, source: str, first_line: int) -> tuple[dict[str, Any], list[Problem]]:
    """Safe-load a mapping; anything else is a warning and no fields."""
    if len(front) > _MAX_FRONT_MATTER:
        return {}, [Problem(source, "front matter larger than 64 KB ignored", first_line)]
    try:
        fields = yaml.safe_load(front)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        reason = getattr(error, "problem", None) or "not valid YAML"
        return {}, [Problem(source, f"front matter ignored: {reason}; fix the YAML there", line)]
    except RecursionError:
        return {}, [Problem(source, "front matter ignored: nested too deeply", first_line)]
    if fields is None:
        return {}, []
    if not isinstance(fields, dict):
        return {}, [Problem(source, "front matter ignored: it must be a mapping of 'key: value' lines", first_line)]
    return {str(key).strip().lower(): value for key, value in fields.items()}, []


def _read_sidecar(seed: SeedFile) -> tuple[dict[str, Any], list[Problem]]:
    assert seed.sidecar is not None
    source = _relative_sidecar(seed)
    try:
        text, _, _ = decode(seed.sidecar.read_bytes())
    except (OSError, UndecodableError) as error:
        return {}, [Problem(source, f"sidecar metadata ignored: {error}")]
    return parse_yaml(text, source, first_line=1)


def _relative_sidecar(seed: SeedFile) -> str:
    assert seed.sidecar is not None
    return seed.source.rsplit("/", 1)[0] + "/" + seed.sidecar.name if "/" in seed.source else seed.sidecar.name


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()[:2000] or None


def _metadata(fields: dict[str, Any], body: str, source: str) -> tuple[Metadata, list[Problem]]:
    problems: list[Problem] = []
    found: dict[str, str] = {}
    for line in body.split("\n"):
        recognised = date_line(line.strip())
        if recognised and recognised[0] not in found:
            found[recognised[0]] = recognised[1]
    lang = None
    declared = _scalar(fields.get("lang", fields.get("language")))
    if declared:
        lang = langtag.normalise_code(declared)
        if lang is None:
            problems.append(Problem(source, f"front matter lang {declared!r} is not a language tag such as 'pt' or 'zh-Hans'; detected instead"))
    tags = fields.get("tags", fields.get("keywords")) or ()
    if isinstance(tags, str):
        tags = [part.strip() for part in tags.split(",")]
    tag_list = tuple(tag for tag in (_scalar(item) for item in tags) if tag) if isinstance(tags, (list, tuple)) else ()
    explicit_date = _scalar(fields.get("date"))
    metadata = Metadata(
        date=explicit_date or found.get("published") or found.get("first_seen") or found.get("updated"),
        published=found.get("published"),
        first_seen=found.get("first_seen"),
        last_seen=found.get("last_seen"),
        author=_scalar(fields.get("author", fields.get("authors"))),
        tags=tag_list,
        source_url=_scalar(fields.get("source_url", fields.get("source", fields.get("url")))),
        lang=lang,
        translation_key=_scalar(fields.get("translation_key")),
        translation_of=_scalar(fields.get("translation_of")),
    )
    return metadata, problems


def _title(fields: dict[str, Any], raw: list[RawBlock], seed: SeedFile) -> str:
    """Front matter, else a heading-like first line, else the first sentence's opening words."""
    given = _scalar(fields.get("title"))
    if given:
        return _shorten(" ".join(given.split()), 200)
    if raw[0].kind.startswith("h") and raw[0].kind != "hr" and raw[0].text.strip():
        return _shorten(" ".join(raw[0].text.split()), 200)
    lines = [line.strip() for block in raw[:2] for line in block.text.split("\n") if line.strip()]
    for line in lines[:3]:
        if looks_like_dateline(line):
            continue
        if _reads_like_heading(line):
            return line
        break
    for block in raw:
        if block.kind not in ("code", "hr") and block.text.strip():
            first = _SENTENCE_END.split(" ".join(block.text.split()), maxsplit=1)[0]
            return _shorten(first, _TITLE_MAX)
    return seed.path.stem


def _reads_like_heading(line: str) -> bool:
    words = line.split()
    return (
        len(line) <= 100
        and 1 <= len(words) <= _HEADING_MAX_WORDS
        and not re.search(r"[.,;:。，；]$", line)
        and not re.search(r"://|^www\.|\.html?$|/", line)
        and bool(re.search(r"[^\W\d_]{2,}", line))
    )


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary (or, for text without spaces, a character) and mark the cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"

