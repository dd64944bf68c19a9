"""The frozen records that flow from one pipeline stage to the next."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph-level unit of a document: its plain text, safe HTML and language."""

    kind: str  # "p", "h1".."h6", "list", "quote", "code", "table", "hr"
    text: str  # plain text, for language detection, search and alignment
    html: str  # a complete, already-escaped element such as "<p>…</p>"
    lang: str


@dataclass(frozen=True, slots=True)
class Metadata:
    """What a document says about itself: front matter, sidecar and recognised date lines."""

    date: str | None = None  # ISO 8601; the date a reader sorts by
    published: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    source_url: str | None = None
    lang: str | None = None  # declared language; wins over detection
    translation_key: str | None = None
    translation_of: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The fields that are set, for corpus.json and the metadata panel."""
        items = {
            "date": self.date,
            "published": self.published,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "author": self.author,
            "tags": list(self.tags) or None,
            "source_url": self.source_url,
            "lang": self.lang,
            "translation_key": self.translation_key,
            "translation_of": self.translation_of,
        }
        return {key: value for key, value in items.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Document:
    """One seed file, decoded, split into blocks and language-tagged."""

    id: str  # URL-safe, unique, derived from the source path
    source: str  # path relative to SEEDS, with / separators
    sha256: str  # of the file's bytes
    format: str  # "text" or "markdown"
    encoding: str
    title: str
    text: str  # the decoded text as written (NFC, \n line ends)
    blocks: tuple[Block, ...]
    primary_lang: str
    language_shares: tuple[tuple[str, float], ...]
    words: int
    metadata: Metadata = field(default_factory=Metadata)


@dataclass(frozen=True, slots=True)
class Problem:
    """A warning about an input file; `line` is 1-based where one is known."""

    source: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A seed file that did not become a document, and why."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Corpus:
    """Everything the loader found under SEEDS."""

    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]
    warnings: tuple[Problem, ...]
    ignored: tuple[str, ...]  # files of other types, listed with -v
