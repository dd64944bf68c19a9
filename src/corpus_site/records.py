"""The frozen records that flow from one pipeline stage to the next."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class _Record:
    """Pickles as a call of its constructor, with its fields in order.

    Python 3.11's pickling of slots dataclasses looks their fields up again for every object it
    restores; records come back from the workers and the cache more than twice as fast this way
    (0.07 against 0.16 s for 1,500 documents).
    """

    __slots__: tuple[str, ...] = ()  # a dataclass's slots: its fields, in order

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return type(self), tuple(getattr(self, name) for name in self.__slots__)


@dataclass(frozen=True, slots=True)
class Block(_Record):
    """One paragraph-level unit of a document: its plain text, safe HTML and language."""

    kind: str  # "p", "h1".."h6", "list", "quote", "code", "table", "hr"
    text: str  # plain text, for language detection, search and alignment
    html: str  # a complete, already-escaped element such as "<p>…</p>"
    lang: str


@dataclass(frozen=True, slots=True)
class Metadata(_Record):
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
class Anchor(_Record):
    """A token that reads the same in any language, where it stands (0..1 through the text) and its weight."""

    token: str
    position: float
    weight: float


@dataclass(frozen=True, slots=True)
class Anchors(_Record):
    """A document's anchors in reading order, packed: with its token and two floats an Anchor takes about 180 bytes,
    and 10,000 documents carry 110,000 of them from loading to the translation groups."""

    tokens: str  # joined by newlines: no token holds whitespace (every pattern that finds one stops at it)
    places: bytes  # each one's position and weight in turn, as native doubles (array "d")

    @classmethod
    def packed(cls, anchors: Sequence[Anchor]) -> Anchors:
        places = array("d", [value for anchor in anchors for value in (anchor.position, anchor.weight)])
        return cls("\n".join(anchor.token for anchor in anchors), places.tobytes())

    def unpacked(self) -> tuple[Anchor, ...]:
        if not self.tokens:
            return ()
        places = memoryview(self.places).cast("d")
        return tuple(
            Anchor(token, places[2 * index], places[2 * index + 1])
            for index, token in enumerate(self.tokens.split("\n"))
        )


@dataclass(frozen=True, slots=True)
class Shingles(_Record):
    """A document's word 5-grams, hashed to 32 bits, for finding near-duplicates.

    The hashes are packed as sorted native unsigned 32-bit integers (array "I"): under a tenth of the memory of a
    set of Python ints, which matters with 10,000 documents held at once.
    """

    sampled: bytes  # the hashes that are 0 modulo a fixed sample rate
    rest: bytes | None  # the others, for small documents; None for a large one, compared on its sample


@dataclass(frozen=True, slots=True)
class Features(_Record):
    """What the whole-corpus analyses need from one document.

    Worked out where the document is loaded (in the workers) and cached with it, so a build combines
    these instead of reading every text again: each field belongs to the module named beside it.
    """

    anchors: Anchors  # groups: translation anchors in reading order
    length: float  # groups: weight of the prose
    sentences: int  # groups
    paragraphs: int  # groups
    shingles: Shingles | None  # groups: None when too short to compare
    words: tuple[tuple[str, str], ...]  # overview: content words by block language, space-separated (compact)
    mojibake: tuple[str, ...]  # report: texts of blocks that look mis-decoded
    short_lines: tuple[str, ...]  # report: lines of a few words, boilerplate candidates


@dataclass(frozen=True, slots=True)
class Document(_Record):
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
    # Derived from the fields above, so left out of equality and repr; None until worked out (see features.py).
    features: Features | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Problem(_Record):
    """A warning about an input file; `line` is 1-based where one is known."""

    source: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Skipped(_Record):
    """A seed file that did not become a document, and why."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Corpus(_Record):
    """Everything the loader found under SEEDS."""

    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]
    warnings: tuple[Problem, ...]
    ignored: tuple[str, ...]  # files of other types, listed with -v
