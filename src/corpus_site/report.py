"""Site → a corpus health report: what was skipped, what looks wrong, what deserves a second look."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from corpus_site.groups import Group
from corpus_site.records import Document
from corpus_site.site import Site, doc_url, parallel_url

# Below this many words a language guess is a guess (see research/langdetect.md: < 20 characters is a coin toss).
SHORT_DOCUMENT_WORDS = 12
# A primary language under this share means the document is really mixed.
MIXED_SHARE = 0.6
# Short blocks that recur across documents, or name common page furniture, look like scraper leftovers.
BOILERPLATE_MAX_WORDS = 6
_FURNITURE = re.compile(
    r"^(?:subscribe|sign up|log ?in|share( this)?|advertisement|ad|sponsored|comments?|read more|related( articles)?|"
    r"cookies?|accept|publicidade|anúncio|compartilhe|comentários?|publicité|partager|abonnez-vous|s'abonner|"
    r"publicidad|suscríbete|comentarios|werbung|anzeige|teilen|kommentare|pubblicità|相关文章|相关标签|广告|分享|评论|"
    r"広告|シェア|реклама|поделиться|подписаться)\W*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One entry of the report: which document (if any), and what about it."""

    kind: str
    message: str
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """Findings by section, in a fixed order."""

    sections: tuple[tuple[str, tuple[Finding, ...]], ...]

    def counts(self) -> dict[str, int]:
        return {title: len(findings) for title, findings in self.sections}


def health(site: Site, *, carry: bool = False) -> Health:
    """Everything worth a corpus editor's attention, each entry linking to its document.

    With `carry` (serve, which keeps its records from one build to the next), the short lines the boilerplate check
    counts are kept for the next call, which counts only those of the records that came or went."""
    corpus = site.corpus
    sections = (
        ("Skipped files", tuple(Finding("skipped", item.reason, item.source) for item in corpus.skipped)),
        ("Warnings", tuple(Finding("warning", problem.message, problem.source) for problem in corpus.warnings)),
        ("Uncertain language", tuple(_uncertain_language(site.documents))),
        ("Suspected mojibake", tuple(_mojibake(site.documents))),
        ("Near-duplicates", tuple(_duplicates(site, site.duplicates))),
        ("Translation groups", tuple(_groups(site, site.groups))),
        ("Date anomalies", tuple(_date_anomalies(site.documents))),
        ("Boilerplate-looking blocks", tuple(_boilerplate(site.documents, carry=carry))),
    )
    return Health(sections)


def _finding(kind: str, message: str, document: Document) -> Finding:
    return Finding(kind, message, document.source, doc_url(document.id))


def _uncertain_language(documents: Iterable[Document]) -> Iterable[Finding]:
    for document in documents:
        top = document.language_shares[0][1] if document.language_shares else 0.0
        if document.words < SHORT_DOCUMENT_WORDS:
            yield _finding(
                "language",
                f"only {document.words} words: tagged {document.primary_lang}, too short to be sure",
                document,
            )
        elif top < MIXED_SHARE:
            shares = ", ".join(f"{code} {share:.0%}" for code, share in document.language_shares)
            yield _finding("language", f"no clear main language ({shares})", document)


@cache
def _mojibake_suspect() -> re.Pattern[str]:
    """Any one character that ftfy's badness pattern names: text holding none of them cannot match it."""
    from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES  # imported late: only the report needs them

    # Every alternative of BADNESS_RE needs at least one non-ASCII character from its classes or literals, so a
    # text without any of them is not bad; tests/test_overview.py checks this against is_bad itself.
    top = max(ord(char) for value in MOJIBAKE_CATEGORIES.values() for char in value)
    every = "".join(map(chr, range(0x80, top + 1)))
    named = re.findall("[" + "".join(MOJIBAKE_CATEGORIES.values()) + "]", every)
    literal = [char for char in BADNESS_RE.pattern if not char.isascii()]
    chars = sorted(set(named) | set(literal))
    return re.compile("[" + "".join(re.escape(char) for char in chars) + "]")


@cache
def _mojibake_reach() -> int | None:
    """How far a match of ftfy's pattern can reach from one of its characters; None if unbounded or unknown."""
    from ftfy.badness import BADNESS_RE

    try:
        low, high = re._parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags).getwidth()  # type: ignore[attr-defined]
    except Exception:  # a private module: without it, every suspect text is searched whole
        return None
    return high if high < 64 else None


def mojibake_ahead() -> None:
    """Import ftfy and make the mojibake check's patterns now, in a process that will load seeds soon: serve, while
    it waits, rather than on the first seed it loads (0.07 s)."""
    _mojibake_suspect()
    _mojibake_reach()


def is_mojibake(text: str) -> bool:
    """ftfy's is_bad, searched only around the characters its pattern looks for (none: not bad)."""
    from ftfy.badness import BADNESS_RE  # imported late: only the report needs it

    suspects = [match.start() for match in _mojibake_suspect().finditer(text)]
    if not suspects:
        return False
    reach = _mojibake_reach()
    if reach is None:
        return bool(BADNESS_RE.search(text))
    # The pattern has no lookaround and '^' only matches at the text's real start, so searching between pos and
    # endpos finds exactly the matches lying there; every match holds a suspect character and is at most `reach`
    # long, so the windows around the suspects hold every match.
    start = end = -1
    for at in suspects:
        if at - reach > end:
            if end >= 0 and BADNESS_RE.search(text, start, end):
                return True
            start = max(0, at - reach)
        end = at + reach + 1
    return bool(BADNESS_RE.search(text, start, end))


def mojibake_blocks(document: Document) -> tuple[str, ...]:
    """The texts of the document's blocks that look mis-decoded."""
    return tuple(block.text for block in document.blocks if is_mojibake(block.text))


def _mojibake(documents: Iterable[Document]) -> Iterable[Finding]:
    for document in documents:
        bad = document.features.mojibake if document.features else mojibake_blocks(document)
        if bad:
            sample = " ".join(bad[0].split())[:60]
            yield _finding("mojibake", f"{len(bad)} block(s) look mis-decoded, e.g. “{sample}”", document)


def _duplicates(site: Site, duplicates: Mapping[str, tuple[str, ...]]) -> Iterable[Finding]:
    by_id = site.by_id()
    for document in site.documents:
        others = [by_id[other].source for other in duplicates.get(document.id, ()) if other in by_id]
        if others:
            yield _finding("duplicate", "near-duplicate of " + ", ".join(others), document)


def _groups(site: Site, groups: Iterable[Group]) -> Iterable[Finding]:
    by_id = site.by_id()
    for group in groups:
        names = ", ".join(f"{by_id[member].source} ({by_id[member].primary_lang})" for member in group.members)
        how = "linked in metadata" if group.explicit else f"matched by content, score {group.score:.2f}"
        yield Finding("group", f"{names}; {how}", f"parallel view of {group.id}", parallel_url(group.id))


def _date_anomalies(documents: Iterable[Document]) -> Iterable[Finding]:
    for document in documents:
        meta = document.metadata
        if meta.first_seen and meta.last_seen and meta.last_seen < meta.first_seen:
            yield _finding("date", f"last seen ({meta.last_seen}) before first seen ({meta.first_seen})", document)
        if meta.published and meta.first_seen and meta.first_seen[:10] < meta.published[:10]:
            yield _finding("date", f"first seen ({meta.first_seen}) before published ({meta.published})", document)


def short_lines(document: Document) -> tuple[str, ...]:
    """The document's lines of a few words, spaces collapsed: where boilerplate hides."""
    lines = (" ".join(line.split()) for block in document.blocks for line in block.text.split("\n"))
    return tuple(line for line in lines if 0 < len(line.split()) <= BOILERPLATE_MAX_WORDS)


def _boilerplate(documents: list[Document] | tuple[Document, ...], *, carry: bool = False) -> list[Finding]:
    """Documents with short lines that other documents hold too, that recur within them, or that name furniture.

    With `carry`, a record's finding (or none) is taken again while ShortLineCounts still holds it: at 10,000
    documents, 8,000 findings made again took a tenth of the report."""
    lines, seen_in = _SHORT_LINES.count(documents, carry=carry)
    known = _SHORT_LINES.findings
    findings = []
    for document, short in zip(documents, lines, strict=True):
        key = id(document)
        finding = known[key] if key in known else _boilerplate_finding(document, short, seen_in)
        if carry:
            known[key] = finding
        if finding is not None:
            findings.append(finding)
    return findings


def _boilerplate_finding(document: Document, short: ShortLines, seen_in: Counter[str]) -> Finding | None:
    _, flagged_alone, others = short
    flagged = sorted(flagged_alone.union(line for line, low in others if seen_in[low] > 1))
    if not flagged:
        return None
    return _finding("boilerplate", "; ".join(f"“{text[:40]}”" for text in flagged[:8]), document)


# A document's short lines, lower-cased and each once; those flagged whatever other documents hold (recurring in it,
# or furniture); and the others, each with its lower-cased form.
ShortLines = tuple[frozenset[str], frozenset[str], tuple[tuple[str, str], ...]]


def _short_lines_of(document: Document) -> ShortLines:
    lines = document.features.short_lines if document.features else short_lines(document)
    lower = [line.lower() for line in lines]
    twice = set() if len(set(lower)) == len(lower) else {line for line, n in Counter(lower).items() if n > 1}
    alone = frozenset(line for line, low in zip(lines, lower, strict=True) if low in twice or _FURNITURE.match(line))
    others = tuple((line, low) for line, low in zip(lines, lower, strict=True) if line not in alone)
    return frozenset(lower), alone, others


class ShortLineCounts:
    """How many documents hold each short line, with each record's lines, kept from one call to the next when asked
    (`carry`): a call for nearly the same records (serve's rebuilds, where unchanged records are the same objects)
    counts in or out only those that came or went. All of them, 160,000 lines at 10,000 documents, took 0.1 s."""

    def __init__(self) -> None:
        self._lines: dict[int, tuple[Document, ShortLines]] = {}  # by the record's id; holding it keeps the id its own
        self._uses: Counter[int] = Counter()  # how many of the last call's documents each record was
        self._seen_in: Counter[str] = Counter()
        # Each record's boilerplate finding (or None), by its id, for the records of the last call (see _boilerplate):
        # one holding a line that came to be in more than one document, or stopped being, is let go at each call.
        self.findings: dict[int, Finding | None] = {}

    def count(self, documents: Sequence[Document], *, carry: bool) -> tuple[list[ShortLines], Counter[str]]:
        """Each document's short lines, and in how many of `documents` each (lower-cased) line is."""
        last, used, seen_in = (self._lines, self._uses, self._seen_in) if carry else ({}, Counter(), Counter())
        now = {id(document): last.get(id(document)) or (document, _short_lines_of(document)) for document in documents}
        uses = Counter(map(id, documents))
        came, gone = uses - used, used - uses
        shared_before: dict[str, bool] = {}  # each line of the records that came or went: in more than one before?
        afresh = came.total() + gone.total() > len(documents) // 2  # counting them all is then as quick
        if afresh:
            seen_in, came, gone = Counter(), uses, Counter()
        else:
            for unique in [now[key][1][0] for key in came] + [last[key][1][0] for key in gone]:
                for low in unique:
                    shared_before.setdefault(low, seen_in[low] > 1)
        for key, times in came.items():
            for _ in range(times):
                seen_in.update(now[key][1][0])
        for key, times in gone.items():
            unique = last[key][1][0]
            for _ in range(times):
                seen_in.subtract(unique)
            for low in unique:
                if seen_in[low] <= 0:
                    del seen_in[low]
        self._lines, self._uses, self._seen_in = (now, uses, seen_in) if carry else ({}, Counter(), Counter())
        if carry and not afresh:
            flipped = {low for low, was in shared_before.items() if (seen_in[low] > 1) != was}
            self.findings = {
                key: found for key, found in self.findings.items() if key in now and now[key][1][0].isdisjoint(flipped)
            }
        else:
            self.findings = {}
        return [now[id(document)][1] for document in documents], seen_in


_SHORT_LINES = ShortLineCounts()  # one per process: serve's builds run in it one after another


def count_ahead(documents: Iterable[Document]) -> None:
    """Count the documents' short lines now, so that health() over nearly the same documents (the same objects, with
    carry) counts only those that came or went: serve does this while it waits, not on the first save (0.12 s)."""
    _SHORT_LINES.count(list(documents), carry=True)
