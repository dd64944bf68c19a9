"""Site → corpus statistics and their charts as inline SVG (drawn at build time, no JavaScript)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import TYPE_CHECKING

from markupsafe import Markup

from corpus_site.records import Document

if TYPE_CHECKING:  # site.py counts the words with this module's word_counts
    from corpus_site.site import Site

_URLISH = re.compile(r"\S+://\S+|www\.\S+|\S+@\S+|@\w+|#\w+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
_ELISION = re.compile(r"^(?:[cdjlmnst]|qu|dell|all|dall|nell|sull)['’]")  # l'alignement → alignement
_CJK_LANGS = {"zh", "ja"}  # written without spaces: frequent words are approximated by character pairs
TOP_WORDS = 12


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: its title, the SVG drawing, and the same numbers as table rows."""

    id: str
    title: str
    svg: Markup
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lang: str | None = None


@cache
def stopwords(lang: str) -> frozenset[str]:
    """stopwords-iso's list for the language (empty where it has none)."""
    import stopwordsiso  # imported late: only the overview page needs it

    base = lang.split("-")[0]
    return frozenset(stopwordsiso.stopwords(base)) if stopwordsiso.has_lang(base) else frozenset()


def content_words(text: str, lang: str) -> list[str]:
    """Words of `text` worth counting: no stop words, numbers, handles or links."""
    if "/" in text or "@" in text or "#" in text or "www." in text:  # else _URLISH cannot match
        text = _URLISH.sub(" ", text)
    stop = stopwords(lang)
    if lang.split("-")[0] in _CJK_LANGS:
        pairs = [run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
        return [pair for pair in pairs if pair not in stop and pair[0] not in stop and pair[1] not in stop]
    words = _WORD.findall(text.lower()) if _lowers_word_by_word(text) else list(map(str.lower, _WORD.findall(text)))
    if "'" in text or "’" in text:  # only a word holding an apostrophe can lose an elided article
        words = [_ELISION.sub("", word) if "'" in word or "’" in word else word for word in words]
    return [word for word in words if len(word) > 2 and word not in stop]


def _lowers_word_by_word(text: str) -> bool:
    """Whether `text` in lower case holds its words in lower case, where _WORD finds them in `text`. Every character
    but two lowers to one character that _WORD takes or leaves as it did the original: İ becomes two characters, and
    Σ becomes σ or ς by what follows it, which may lie beyond the word."""
    return "\u0130" not in text and "\u03a3" not in text


def document_words(document: Document) -> tuple[tuple[str, str], ...]:
    """The document's content words by the language of the blocks they are in, each language's joined by spaces
    (a content word holds none): one string each keeps 10,000 documents' words in a few megabytes."""
    by_lang: dict[str, list[str]] = {}
    for block in document.blocks:
        by_lang.setdefault(block.lang, []).extend(content_words(block.text, block.lang))
    return tuple((lang, " ".join(words)) for lang, words in by_lang.items())


def charts(site: Site) -> tuple[Chart, ...]:
    """The overview's charts: languages, time, and frequent words per language."""
    result = [_language_chart(site), _time_chart(site)]
    counts = site.words
    for language in site.languages:
        top = sorted(counts.get(language.code, Counter()).items(), key=lambda item: (-item[1], item[0]))[:TOP_WORDS]
        if top:
            result.append(
                Chart(
                    id=f"words-{language.code}",
                    title=f"Most frequent content words: {language.name}",
                    svg=bar_chart([(word, count) for word, count in top], lang=language.code),
                    columns=("Word", "Occurrences"),
                    rows=tuple((word, str(count)) for word, count in top),
                    lang=language.code,
                )
            )
    return tuple(result)


Words = tuple[tuple[str, str], ...]  # a document's content words by language (document_words)


def _words_of(document: Document) -> Words:
    return document.features.words if document.features else document_words(document)


def word_counts(documents: Iterable[Document], *, carry: bool = False) -> dict[str, Counter[str]]:
    """Content words counted by language over `documents`, for the charts. With `carry` (serve) each document's words
    are kept for the next call, which counts only those of documents that came or went."""
    return _COUNTS.count([_words_of(document) for document in documents], carry=carry)


def count_ahead(documents: Iterable[Document]) -> None:
    """Count the documents' words now, so that word_counts over nearly the same documents (the same objects) counts
    only those that came or went: serve does this while it waits, rather than on the first save (0.3 s at 10,000)."""
    word_counts(documents, carry=True)


class WordCounts:
    """Content words counted by language, with the documents' word lists they were counted from: counting nearly the
    same documents again (serve's rebuilds, where unchanged documents are the same objects) counts only the lists
    that came or went. All of them took 0.3 s at 10,000 documents."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: dict[int, Words] = {}  # by id, each held so that its id names it
        self._uses: Counter[int] = Counter()  # how many documents of the last call had each list
        self._counts: dict[str, Counter[str]] = {}
        self.counted = 0  # word lists counted in (or out) by the last call

    def count(self, lists: Sequence[Words], *, carry: bool) -> dict[str, Counter[str]]:
        """The counts over `lists`: a fresh dictionary, which the next call does not change. Without `carry` the lists
        are counted afresh and none is kept (10,000 documents' words are 19 MB)."""
        uses = Counter(map(id, lists))
        with self._lock:
            if not carry:
                self._lists, self._uses, self._counts = {}, Counter(), {}
            came = uses - self._uses
            gone = self._uses - uses
            if came.total() + gone.total() > len(lists) // 2:  # counting them all is then as quick
                self._counts, came, gone = {}, uses, Counter()
            self.counted = came.total() + gone.total()
            lists_by_id = {id(words): words for words in lists}
            for key, times in gone.items():
                _add(self._counts, self._lists[key], -times)
            for key, times in came.items():
                _add(self._counts, lists_by_id[key], times)
            counts = self._counts
            if not carry:
                self._counts = {}
                return {lang: counter for lang, counter in counts.items() if counter}
            self._lists, self._uses = lists_by_id, uses
            return {lang: counter.copy() for lang, counter in counts.items() if counter}


def _add(counts: dict[str, Counter[str]], words: Words, times: int) -> None:
    """`words` counted `times` more (fewer, if negative) into `counts`; a word counted zero times is dropped."""
    for lang, joined in words:
        if not joined:
            continue
        counter, split = counts.setdefault(lang, Counter()), joined.split(" ")
        change = counter.update if times > 0 else counter.subtract
        for _ in range(abs(times)):
            change(split)
        if times < 0:
            for word in set(split):
                if counter[word] <= 0:
                    del counter[word]


_COUNTS = WordCounts()  # one per process: serve's builds run in it one after another


def _language_chart(site: Site) -> Chart:
    rows = [(language.name, len(language.primary), language.words) for language in site.languages]
    return Chart(
        id="languages",
        title="Documents and words per language",
        svg=bar_chart([(name, words) for name, _, words in rows], unit="words"),
        columns=("Language", "Documents", "Words"),
        rows=tuple((name, str(documents), str(words)) for name, documents, words in rows),
    )


def _time_chart(site: Site) -> Chart:
    months = Counter(document.metadata.date[:7] for document in site.documents if document.metadata.date)
    undated = sum(1 for document in site.documents if not document.metadata.date)
    items = sorted(months.items())
    rows = [(month, str(count)) for month, count in items] + ([("undated", str(undated))] if undated else [])
    return Chart(
        id="time",
        title="Documents over time (by month)",
        svg=bar_chart(items + ([("undated", undated)] if undated else []), unit="documents"),
        columns=("Month", "Documents"),
        rows=tuple(rows),
    )


def bar_chart(items: list[tuple[str, int]], unit: str = "", lang: str | None = None) -> Markup:
    """Horizontal bars with labels and values; decorative for assistive technology (the table carries the data)."""
    row, label_width, bar_width = 26, 170, 330
    height = max(row, row * len(items))
    peak = max((value for _, value in items), default=0) or 1
    lang_attr = f' lang="{escape(lang)}"' if lang else ""
    parts = [
        f'<svg class="chart" viewBox="0 0 {label_width + bar_width + 90} {height}" width="100%" '
        f'aria-hidden="true" focusable="false"{lang_attr}>'
    ]
    for index, (label, value) in enumerate(items):
        y = index * row
        width = max(1, round(bar_width * value / peak))
        shown = label if len(label) <= 22 else label[:21] + "…"
        suffix = " " + unit if unit and index == 0 else ""  # the first bar names the unit for all
        parts.append(
            f'<text class="chart-label" x="{label_width - 8}" y="{y + 17}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="chart-bar" x="{label_width}" y="{y + 5}" width="{width}" height="{row - 10}" rx="2"></rect>'
            f'<text class="chart-value" x="{label_width + width + 6}" y="{y + 17}">{value:,}{suffix}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
