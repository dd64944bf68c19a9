"""Documents → groups of translations (explicit metadata first, then content evidence) and near-duplicates."""

from __future__ import annotations

import hashlib
import math
import posixpath
import re
import sys
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import Any

from corpus_site.dates import MONTHS as MONTH_NAMES  # capitalised in English, lower case elsewhere: not names
from corpus_site.dates import looks_like_dateline
from corpus_site.loader import slugify
from corpus_site.records import Anchor, Document, Problem, Shingles

# ---------------------------------------------------------------------------------------------------------------
# What survives translation: anchors, length and sentences, measured the same way in every script.

OPT_OUT = frozenset({"none", "false", "no", "off", "null", "-"})  # translation_key values meaning "never group me"
_SKIPPED_KINDS = ("code", "hr")

_L = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"  # Latin letters
_U = "".join(  # Latin capitals, as a character class
    ch for start, end in ((0xC0, 0x24F), (0x1E00, 0x1EFF)) for ch in map(chr, range(start, end + 1)) if ch.isupper()
)
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff"
_STOP = r"""\s<>"'“”‘’«»()\[\]{}|"""
_TOKENS = rf"""(?P<url>(?:https?://|www\.)[^{_STOP}]+)
    |(?P<email>(?<![A-Za-z0-9.+_-])[A-Za-z0-9.+_-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,}})
    |(?P<domain>(?<![A-Za-z0-9.@/-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[a-z]{{2,6}}(?![A-Za-z0-9-])(?:/[^{_STOP}]*)?)
    |(?P<handle>(?<![A-Za-z0-9_@.])@[A-Za-z0-9_]{{2,}})
    |(?P<tag>(?<![A-Za-z0-9_#&])\#\w{{2,}})
    |(?P<word>WORD)
    |(?P<number>\d+(?:[.,\u066b\u066c'\u00a0\u202f]\d+)*)
    |(?P<emoji>[EMOJI])
    """
_TOKENS = _TOKENS.replace("EMOJI", _EMOJI)
# Inside Cyrillic, Arabic or Han text every Latin word is an anchor; in Latin-script prose only words with a
# capital or a digit can be, so the pattern passes over the others without a Python call for each.
_TOKEN = re.compile(_TOKENS.replace("WORD", f"(?<![{_L}])[{_L}][{_L}0-9]*+"), re.VERBOSE)
_MARKED = re.compile(
    _TOKENS.replace("WORD", f"(?<![{_L}0-9])(?:[A-Z{_U}][{_L}0-9]*+|[^\\W\\d_A-Z{_U}]++[A-Z{_U}0-9][{_L}0-9]*+)"),
    re.VERBOSE,
)
# What ends a chunk below: Python's \s but the no-break spaces (U+00A0, U+202F), which join a number's groups
# ("10 000") and a title to a name.
_BREAKS = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\u1680\u2000-\u200a\u2028\u2029\u205f\u3000"
# Chunks of Latin-script prose between such spaces that can hold an anchor: a capital, digit, @, #, / or emoji, or a
# dot inside (blender.org), perhaps after dots that are not ("p. 12"). Most words are none of these; the token pattern
# then runs on the rest only, and finds there what it finds in the whole text.
_CANDIDATE = re.compile(
    rf"(?<![^{_BREAKS}])(?:[^{_BREAKS}\d.@#/A-Z{_U}{_EMOJI}]++|\.(?!\w))*+"
    rf"(?:[\d@#/A-Z{_U}{_EMOJI}]|\.(?=\w))[^{_BREAKS}]*+"
)
_LATIN_RUNS = re.compile(f"[{_L}]+")
_OTHER_RUNS = re.compile(rf"[^\W\d_{_L}]+")
_CJK = re.compile(r"[\u1100-\u11ff\u3005-\u30ff\u3130-\u318f\u31f0-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_SPACERS = "*_—–-)]}”’»›」』"  # skipped when looking back for a sentence end
_SENTENCE_STARTS = ".!?…:;\n。！？\"'“‘«‹„‚([{¿¡「『"  # a quotation opens a sentence too
_CAPITALISED_NOUNS = frozenset({"de", "lb", "gsw"})  # languages that capitalise every noun


def text_weight(text: str) -> float:
    """Length in comparable units: characters but spaces, a Han character as 3, Kana 1.7, a Hangul syllable 2.5."""
    weight = float(len(text) - text.count(" ") - text.count("\n"))
    if text.isascii() or not _CJK.search(text):
        return weight
    return weight + 2 * _HAN.subn("", text)[1] + 0.7 * _KANA.subn("", text)[1] + 1.5 * _HANGUL.subn("", text)[1]


def _letters(pattern: re.Pattern[str], text: str) -> int:
    return len(text) - len(pattern.sub("", text))


_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Case and accents folded: 'Zürich' and 'ZURICH' are one anchor."""
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))


def _number(raw: str) -> tuple[str, float]:
    """A number in one spelling whatever the locale: 3,5 and 3.5 → '3.5'; 10,000, 10.000 and 10 000 → '10000'."""
    digits = "".join(str(unicodedata.decimal(ch)) if ch.isdigit() else ch for ch in raw)
    groups = re.split(r"[^0-9]", digits)
    seps = re.findall(r"[^0-9]", digits)
    if len(groups) == 1:
        value = groups[0].lstrip("0") or "0"
        return value, 0.4 if len(value) == 1 else 0.8 if len(value) == 2 else 1.2
    thousands_only = {"'", "\u066c", "\u00a0", "\u202f"}
    if len(set(seps)) == 1 and (
        seps[0] in thousands_only or (all(len(group) == 3 for group in groups[1:]) and groups[0] != "0")
    ):
        return "".join(groups).lstrip("0") or "0", 1.5
    if len(groups) == 2 or (len(set(seps[:-1])) == 1 and seps[-1] != seps[0]):
        whole = "".join(groups[:-1]).lstrip("0") or "0"
        fraction = groups[-1].rstrip("0")
        return (f"{whole}.{fraction}" if fraction else whole), 1.5
    return ".".join(group.lstrip("0") or "0" for group in groups), 1.5  # a version: 1.2.3


def _url(raw: str) -> str:
    text = raw.lower().rstrip(".,;:!?…'\"")
    text = re.sub(r"^(?:https?://)?(?:www\.)?", "", text).split("…")[0]
    host, _, path = text.partition("/")
    first = path.split("/")[0].split("?")[0].split("#")[0]
    return f"url:{host}/{first}" if first else f"url:{host}"


def _sentence_initial(text: str, start: int) -> bool:
    """Whether the word at `start` opens a sentence or line, where every language capitalises."""
    i = start - 1
    while i >= 0 and (text[i].isspace() and text[i] != "\n" or text[i] in _SPACERS):
        i -= 1
    return i < 0 or text[i] in _SENTENCE_STARTS


def anchors(document: Document) -> tuple[Anchor, ...]:
    """The document's anchors in reading order: numbers, URLs, handles, emoji and names in Latin letters."""
    blocks = [block for block in document.blocks if block.kind not in _SKIPPED_KINDS]
    # A scraper's date lines ("First seen: 2025-07-07 11:26") are about the file, not the text.
    texts = [_without_datelines(block.text) for block in blocks]
    weights = [text_weight(text) for text in texts]
    total = sum(weights) or 1.0
    found: list[tuple[str, float, float, bool]] = []  # token, position, weight, sure (not sentence-initial)
    done = 0.0
    for block, text, size in zip(blocks, texts, weights, strict=True):
        for token, start, weight, sure in _text_anchors(text, block.lang):
            found.append((token, (done + size * start / len(text)) / total, weight, sure))
        done += size
    names = {token for token, _, _, sure in found if sure and token.startswith("w:")}
    return tuple(
        Anchor(token, round(position, 4), weight) for token, position, weight, sure in found if sure or token in names
    )


def text_anchors(text: str, lang: str, names: frozenset[str] = frozenset()) -> dict[str, float]:
    """Anchor → summed weight in one segment; a capitalised word opening a sentence counts only if in `names`."""
    found: dict[str, float] = {}
    for token, _, weight, sure in _text_anchors(text, lang):
        if sure or token in names:
            found[token] = found.get(token, 0.0) + weight
    return found


def _text_anchors(text: str, lang: str) -> list[tuple[str, int, float, bool]]:
    """(token, offset, weight, sure) for each anchor of one block's text."""
    latin_block = (
        text.isascii()
        or not _OTHER_RUNS.search(text)
        or _letters(_LATIN_RUNS, text) >= _letters(_OTHER_RUNS, text) + 2 * _HAN.subn("", text)[1]
    )
    nouns = lang.split("-")[0] in _CAPITALISED_NOUNS
    found = []
    spans = [chunk.span() for chunk in _CANDIDATE.finditer(text)] if latin_block else [(0, len(text))]
    pattern = _MARKED if latin_block else _TOKEN
    for start, end in spans:
        for match in pattern.finditer(text, start, end):
            item = _anchor(match, text, latin_block, nouns)
            if item:
                found.append((item[0], match.start(), item[1], item[2]))
    return found


def _without_datelines(text: str) -> str:
    return "\n".join("" if looks_like_dateline(line) else line for line in text.split("\n"))


def _anchor(match: re.Match[str], text: str, latin_block: bool, nouns: bool) -> tuple[str, float, bool] | None:
    kind = match.lastgroup
    raw = match.group()
    if kind == "word":
        return _word(raw, text, match.start(), latin_block, nouns)
    if kind in ("url", "domain"):
        return _url(raw), 2.0, True
    if kind == "email":
        return "mail:" + raw.lower(), 2.0, True
    if kind == "handle":
        return raw.lower(), 2.0, True
    if kind == "tag":
        return "#" + fold(raw[1:]), 1.5, True
    if kind == "number":
        value, weight = _number(raw)
        return "n:" + value, weight, True
    return "e:" + raw, 0.7, True  # emoji


def _word(raw: str, text: str, start: int, latin_block: bool, nouns: bool) -> tuple[str, float, bool] | None:
    if len(raw) < 2 or (latin_block and raw.islower() and raw.isalpha()):
        return None  # most words of Latin-script prose
    if raw.casefold() in MONTH_NAMES:
        return None
    token = "w:" + _fold_word(raw)
    if not latin_block:  # a Latin word inside Cyrillic, Arabic or Han text survived translation
        return token, 1.0, True
    if not raw.isalpha() or not raw[1:].islower():  # C3O, iPhone, LLM
        return token, 1.0, True
    if not raw[0].isupper():
        return None
    if _sentence_initial(text, start):
        return token, 1.0, False  # kept only if the word is also capitalised mid-sentence somewhere
    return token, 0.3 if nouns else 1.0, True


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    return fold(word)


# ---------------------------------------------------------------------------------------------------------------
# Sentences, shared with the aligner.

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr sra srta jr st mt vs etc e.g i.e cf approx ca no nr nos p pp vol vols fig figs ed eds al
    dept est inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec mme mlle mm me z.b u.a d.h usw bzw
    ggf evtl vgl str a.c d.c p.ex ex av pág págs núm art arts cap tel г гг т.е т.д т.п др им ул стр см рис""".split()  # noqa: SIM905
)
_REPEATED_ENDS = ".!?…"  # marks that may come several at once ("?!", "...")
_SINGLE_ENDS = "\u037e\u061f\u06d4\u0964\u0965"  # Greek and Arabic question marks, Urdu full stop, dandas
_CJK_ENDS = "。！？"
_TERMINATOR = re.compile(
    rf"""(?:[{_REPEATED_ENDS}]+|(?<=[\u0370-\u03ff\u1f00-\u1fff]);|[{_SINGLE_ENDS}])["'”’»)\]」』]*(?=\s)"""
    rf"""|[{_CJK_ENDS}]+[」』”’)）]*"""
    r"""|\n"""
)
# The first character of every match of _TERMINATOR. sre scans for a pattern that opens on one class quickly, but
# tries each of _TERMINATOR's alternatives at every position: finding these first and matching only there finds the
# same marks six times sooner.
_TERMINATOR_START = re.compile(f"[{_REPEATED_ENDS};{_SINGLE_ENDS}{_CJK_ENDS}\n]")


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of one block: Western, CJK (。！？), Arabic (؟) and Devanagari (।) ends; 'e.g.' stays."""
    pieces: list[str] = []
    start = 0
    for match in _terminators(text):
        end = match.end()
        following = _NEXT.search(text, end)  # the first character after the mark and any space
        if not following:
            break
        rest = following.group()
        if match.group() == "\n":
            before = text[start : match.start()].rstrip()
            if rest.islower() or before.endswith((",", "-", "‐")):
                continue  # a hard-wrapped line
        elif not _ends_sentence(text, start, match, rest):
            continue
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    last = text[start:].strip()
    if last:
        pieces.append(last)
    return pieces


def _terminators(text: str) -> Iterator[re.Match[str]]:
    """_TERMINATOR.finditer(text): every match opens on a character of _TERMINATOR_START, and none is empty."""
    at = 0
    while found := _TERMINATOR_START.search(text, at):
        match = _TERMINATOR.match(text, found.start())  # its lookbehind still sees the text before
        if match is None:
            at = found.start() + 1
        else:
            yield match
            at = match.end()


def _ends_sentence(text: str, start: int, match: re.Match[str], rest: str) -> bool:
    mark = match.group()
    if mark[0] in _CJK_ENDS:
        return True
    if rest[0].islower():  # "etc. and", "p. ex. le"
        return False
    if mark.startswith(".") and not mark.startswith(".."):
        word = _last_word(text, start, match.start())
        if word:
            stem = word.casefold()
            if stem in _ABBREVIATIONS or (len(stem) == 1 and word.isupper()):
                return False  # "Dr. Smith", "J. Kutasov"
    return True


_NEXT = re.compile(r"\S")


def _last_word(text: str, start: int, end: int) -> str:
    """The word (a letter, then letters, digits, '_' or '.') that ends text[start:end] or its final newline."""
    if end > start and text[end - 1] == "\n":  # $ also matches before a final newline
        end -= 1
    first = end
    while first > start and ((char := text[first - 1]) == "." or char == "_" or char.isalnum()):
        first -= 1
    while first < end and not ((char := text[first]).isalnum() and not char.isdecimal()):
        first += 1
    return text[first:end]


def content_blocks(document: Document) -> list[tuple[str, str]]:
    """(text, lang) of the blocks that hold prose: code and rules are left out."""
    return [
        (block.text, block.lang) for block in document.blocks if block.kind not in _SKIPPED_KINDS and block.text.strip()
    ]


# ---------------------------------------------------------------------------------------------------------------
# Pairs of documents: how much they look like one text in two languages.


@dataclass(frozen=True, slots=True)
class Group:
    """Documents that are versions of one text; score 1.0 when metadata says so, else the weakest pair's evidence."""

    id: str  # URL-safe and unique among groups
    members: tuple[str, ...]  # document ids: an original named by translation_of first, then source order
    score: float
    explicit: bool


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why two documents in different languages look like one text (score 0..1) and what they share."""

    left: str
    right: str
    score: float
    anchors: float  # anchors found in both, in order and in place / the richer side's; less if bunched in one stretch
    length: float  # 1 when the lengths fit a translation, falling to 0 for a ratio of 0.4
    structure: float  # sentence (or paragraph) count ratio
    shared: tuple[str, ...]  # distinct anchors that matched in order, heaviest first (at most 12)


THRESHOLD = 0.45  # a pair below this is never grouped automatically
LINK = 0.4  # every pair inside an automatic group must reach at least this
_BAND = 0.3  # matched anchors may stand this far apart (as a share of the text)
_SPREAD = (0.2, 0.7)  # matched anchors spanning less of the texts than 0.7 count less, nothing below 0.2
_MIN_SHARED = 3  # distinct anchors in order, at the least
_MIN_WEIGHT = 3.0
_SENTENCE_MIN = 15  # shorter lines ("Publicidade", "0 Comentários") are left out of the sentence count
_COMMON = 8  # anchors in up to this many documents keep their full weight
_CANDIDATE_DF = 60  # anchors in more documents than this do not propose candidate pairs


@dataclass(slots=True)
class _Profile:
    id: str
    source: str
    lang: str
    anchors: tuple[Anchor, ...]
    counts: Counter[str]
    length: float
    sentences: int
    paragraphs: int


def translation_traits(document: Document) -> tuple[tuple[Anchor, ...], float, int, int]:
    """What pair evidence reads from one document: (anchors, prose weight, sentences, paragraphs)."""
    blocks = content_blocks(document)
    length = sum(text_weight(text) for text, _ in blocks)
    sentences = sum(text_weight(part) >= _SENTENCE_MIN for text, _ in blocks for part in split_sentences(text))
    return anchors(document), length, sentences, len(blocks)


def _profile(document: Document) -> _Profile:
    known = document.features
    found, length, sentences, paragraphs = (
        (known.anchors.unpacked(), known.length, known.sentences, known.paragraphs)
        if known
        else translation_traits(document)
    )
    return _Profile(
        id=document.id,
        source=document.source,
        lang=document.primary_lang.split("-")[0],
        anchors=found,
        counts=Counter(anchor.token for anchor in found),
        length=length,
        sentences=sentences,
        paragraphs=paragraphs,
    )


def _profiles(documents: Sequence[Document], *, carry: bool) -> list[_Profile]:
    """Each document's profile: the last call's for the same record (records are frozen), else worked out now."""
    last = _LAST_PROFILES if carry else {}
    kept = {}
    for document in documents:
        found = last.get(id(document))
        kept[id(document)] = found if found is not None and found[0] is document else (document, _profile(document))
    _LAST_PROFILES.clear()
    if carry:
        _LAST_PROFILES.update(kept)  # holding each record keeps its id from being reused
    return [kept[id(document)][1] for document in documents]


def profile_ahead(documents: Iterable[Document]) -> None:
    """Profile the documents now, for find_groups over nearly the same documents (the same objects, with carry):
    serve does this while it waits, not on the first save (0.05 s at 10,000 documents)."""
    _profiles(list(documents), carry=True)


# The last call's profiles in this process, by the id of their record (find_groups).
_LAST_PROFILES: dict[int, tuple[Document, _Profile]] = {}


class _Scorer:
    """Pair evidence over one corpus: anchors found in many documents weigh less."""

    def __init__(self, profiles: Sequence[_Profile]) -> None:
        self.profiles = {profile.id: profile for profile in profiles}
        self.df: Counter[str] = Counter()
        for profile in profiles:
            self.df.update(profile.counts.keys())
        self.n = len(profiles)
        self.cache: dict[tuple[str, str], Evidence] = {}
        self.totals: dict[str, float] = {}

    def idf(self, token: str) -> float:
        df = self.df[token]
        if df <= _COMMON or self.n <= _COMMON:
            return 1.0
        return math.log(1 + self.n / df) / math.log(1 + self.n / _COMMON)

    def total(self, profile: _Profile) -> float:
        if profile.id not in self.totals:
            self.totals[profile.id] = sum(anchor.weight * self.idf(anchor.token) for anchor in profile.anchors)
        return self.totals[profile.id]

    def evidence(self, a: str, b: str) -> Evidence:
        key = (a, b) if a < b else (b, a)
        if key not in self.cache:
            self.cache[key] = self._evidence(self.profiles[key[0]], self.profiles[key[1]])
        return self.cache[key]

    def _evidence(self, a: _Profile, b: _Profile) -> Evidence:
        matched, shared, spread = _ordered_matches(a.anchors, b.anchors, self.idf)
        totals = (self.total(a), self.total(b))
        anchor_score = min(1.0, matched / max(totals)) if max(totals) else 0.0
        # Anchors agreeing only in one stretch (a shared footer, a common header) are not a whole text translated.
        anchor_score *= min(1.0, max(0.0, (spread - _SPREAD[0]) / (_SPREAD[1] - _SPREAD[0])))
        ratio = min(a.length, b.length) / max(a.length, b.length, 1.0)
        length = min(1.0, max(0.0, (ratio - 0.4) / 0.3))
        sentences = min(a.sentences, b.sentences) / max(a.sentences, b.sentences, 1)
        paragraphs = min(a.paragraphs, b.paragraphs) / max(a.paragraphs, b.paragraphs, 1)
        structure = max(sentences, paragraphs)
        enough = len(shared) >= _MIN_SHARED and matched >= _MIN_WEIGHT
        score = anchor_score * length * (0.7 + 0.3 * structure) if enough else 0.0
        return Evidence(
            left=a.id,
            right=b.id,
            score=round(score, 3),
            anchors=round(anchor_score, 3),
            length=round(length, 3),
            structure=round(structure, 3),
            shared=tuple(shared[:12]),
        )


def _ordered_matches(
    left: Sequence[Anchor], right: Sequence[Anchor], idf: Callable[[str], float]
) -> tuple[float, list[str], float]:
    """The heaviest chain of anchors found in both texts in the same order and near the same place: its weight,
    its tokens, and how much of the texts it spans (0..1, the smaller of the two sides)."""
    common = {anchor.token for anchor in left} & {anchor.token for anchor in right}
    if not common:
        return 0.0, [], 0.0
    right_kept = [anchor for anchor in right if anchor.token in common]
    where: dict[str, list[int]] = defaultdict(list)
    for k, anchor in enumerate(right_kept):
        where[anchor.token].append(k)
    # Weighted longest increasing subsequence over (left index, right index) matches: a Fenwick tree of maxima.
    size = len(right_kept)
    tree_value = [0.0] * (size + 1)
    tree_at = [-1] * (size + 1)
    chain_value: list[float] = []
    chain_back: list[int] = []
    chain_token: list[str] = []
    chain_at: list[tuple[float, float]] = []
    for anchor in left:
        if anchor.token not in common:
            continue
        candidates = [k for k in where[anchor.token] if abs(right_kept[k].position - anchor.position) <= _BAND]
        weight = min(anchor.weight, max(right_kept[k].weight for k in candidates) if candidates else 0.0)
        weight *= idf(anchor.token)
        updates = []
        for k in candidates:  # query all before updating: one left anchor matches at most one right anchor
            best, at = 0.0, -1
            i = k  # prefix max over right indices < k (tree index k covers 1..k)
            while i > 0:
                if tree_value[i] > best:
                    best, at = tree_value[i], tree_at[i]
                i -= i & -i
            updates.append((k, best + weight, at))
        for k, value, back in updates:
            chain_value.append(value)
            chain_back.append(back)
            chain_token.append(anchor.token)
            chain_at.append((anchor.position, right_kept[k].position))
            node = len(chain_value) - 1
            i = k + 1
            while i <= size:
                if value > tree_value[i]:
                    tree_value[i], tree_at[i] = value, node
                i += i & -i
    if not chain_value:
        return 0.0, [], 0.0
    best_node = max(range(len(chain_value)), key=chain_value.__getitem__)
    weights: Counter[str] = Counter()
    node = last = best_node
    while node >= 0:
        weights[chain_token[node]] += 1
        first, node = node, chain_back[node]
    shared = sorted(weights, key=lambda token: (-weights[token], token))
    spread = min(chain_at[last][0] - chain_at[first][0], chain_at[last][1] - chain_at[first][1])
    return chain_value[best_node], shared, spread


# ---------------------------------------------------------------------------------------------------------------
# Groups.


def find_groups(documents: Sequence[Document], *, carry: bool = False) -> tuple[Group, ...]:
    """Groups of two or more versions: explicit metadata first, then automatic evidence among the rest.

    With `carry` (serve, which keeps its records from one build to the next) the documents' profiles are kept for the
    next call, which profiles only the documents that are not the same objects (10,000 took 0.07 s)."""
    explicit, claimed, originals = _explicit_groups(documents)
    profiles = _profiles(documents, carry=carry)
    scorer = _Scorer(profiles)
    free = [
        profile
        for document, profile in zip(documents, profiles, strict=True)
        if document.id not in claimed and profile.lang != "und"
    ]
    automatic = _automatic_groups(free, scorer)
    order = {document.id: index for index, document in enumerate(sorted(documents, key=lambda d: d.source))}
    groups: list[tuple[tuple[str, ...], float, bool, str | None]] = []
    for key, members in explicit:
        ranked = sorted(members, key=lambda m: (m not in originals, order[m]))
        groups.append((tuple(ranked), 1.0, True, key))
    for members, score in automatic:
        groups.append((tuple(sorted(members, key=order.__getitem__)), score, False, None))
    groups.sort(key=lambda item: order[item[0][0]])
    return tuple(
        Group(id=group_id, members=members, score=score, explicit=is_explicit)
        for group_id, (members, score, is_explicit, _) in zip(_group_ids(groups), groups, strict=True)
    )


def _group_ids(groups: Sequence[tuple[tuple[str, ...], float, bool, str | None]]) -> list[str]:
    wanted = [(slugify(key)[:60].strip("-_") if key else "") or min(members) for members, _, _, key in groups]
    seen: Counter[str] = Counter(wanted)
    ids = []
    for (_, _, _, key), candidate in zip(groups, wanted, strict=True):
        if seen[candidate] > 1 and key:
            candidate = f"{candidate}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"
        ids.append(candidate)
    return ids


def _key(value: str | None) -> str | None:
    return " ".join(value.casefold().split()) if value else None


def _explicit_groups(documents: Sequence[Document]) -> tuple[list[tuple[str | None, set[str]]], set[str], set[str]]:
    """(key, members) of groups the metadata makes; ids it takes out of automatic grouping; originals named."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: str, y: str) -> None:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    claimed: set[str] = set()
    originals: set[str] = set()
    keys: dict[str, str] = {}
    first_key: dict[str, str] = {}
    for document in documents:
        key = _key(document.metadata.translation_key)
        if key is None:
            continue
        claimed.add(document.id)
        if key in OPT_OUT:
            continue
        keys[document.id] = key
        if key in first_key:
            union(first_key[key], document.id)
        else:
            first_key[key] = document.id
            find(document.id)
    for document in documents:
        target = resolve_reference(document, documents)
        if target:
            claimed.update((document.id, target))
            originals.add(target)
            union(document.id, target)
    members: dict[str, set[str]] = defaultdict(set)
    for document_id in list(parent):
        members[find(document_id)].add(document_id)
    groups = []
    for root in sorted(members):
        if len(members[root]) < 2:
            continue
        named = sorted({keys[m] for m in members[root] if m in keys})
        groups.append((named[0] if named else None, members[root]))
    return groups, claimed, originals


def resolve_reference(document: Document, documents: Sequence[Document]) -> str | None:
    """The id of the document `translation_of` names: an id, a path from SEEDS, or a path beside this file."""
    value = (document.metadata.translation_of or "").strip()
    if not value:
        return None
    by_id = {d.id: d.id for d in documents}
    by_source = {d.source: d.id for d in documents}
    by_stem = {d.source.rsplit(".", 1)[0]: d.id for d in documents}
    folder = posixpath.dirname(document.source)
    path = value.replace("\\", "/")
    tries = [path.lstrip("/"), posixpath.normpath(posixpath.join(folder, path)) if folder else path]
    found = by_id.get(value)
    for candidate in tries:
        found = found or by_source.get(candidate) or by_stem.get(candidate)
    return found if found and found != document.id else None


def explicit_problems(documents: Sequence[Document]) -> tuple[Problem, ...]:
    """Warnings for translation_of values that name no document."""
    return tuple(
        Problem(document.source, f"translation_of {document.metadata.translation_of!r} names no document; ignored")
        for document in documents
        if document.metadata.translation_of and resolve_reference(document, documents) is None
    )


def _candidates(profiles: Sequence[_Profile]) -> list[tuple[str, str]]:
    """Pairs in different languages sharing enough distinct, not too common anchors to be worth scoring."""
    postings: dict[str, list[int]] = defaultdict(list)
    for index, profile in enumerate(profiles):
        for token in profile.counts:
            postings[token].append(index)
    shared: Counter[tuple[int, int]] = Counter()
    for indices in postings.values():
        if 2 <= len(indices) <= _CANDIDATE_DF:
            shared.update(combinations(indices, 2))
    return sorted(
        (profiles[i].id, profiles[j].id)
        for (i, j), count in shared.items()
        if count >= _MIN_SHARED and profiles[i].lang != profiles[j].lang
    )


def _automatic_groups(profiles: Sequence[_Profile], scorer: _Scorer) -> list[tuple[set[str], float]]:
    """Complete-linkage merging from the best pair down; one document per language, every pair at least LINK."""
    langs = {profile.id: profile.lang for profile in profiles}
    edges = []
    for a, b in _candidates(profiles):
        evidence = scorer.evidence(a, b)
        if evidence.score >= THRESHOLD:
            edges.append((-evidence.score, a, b))
    edges.sort()
    cluster: dict[str, frozenset[str]] = {profile.id: frozenset({profile.id}) for profile in profiles}
    for _, a, b in edges:
        left, right = cluster[a], cluster[b]
        if left is right or {langs[m] for m in left} & {langs[m] for m in right}:
            continue
        if all(scorer.evidence(x, y).score >= LINK for x in left for y in right):
            merged = left | right
            for member in merged:
                cluster[member] = merged
    groups = []
    for members in {c for c in cluster.values() if len(c) > 1}:
        weakest = min(scorer.evidence(x, y).score for x, y in combinations(sorted(members), 2))
        groups.append((set(members), round(weakest, 2)))
    return groups


def pair_evidence(documents: Sequence[Document], *, every_pair: bool = False) -> tuple[Evidence, ...]:
    """Evidence for candidate pairs (or, with every_pair, for every pair in different languages), best first."""
    profiles = [_profile(document) for document in documents]
    scorer = _Scorer(profiles)
    if every_pair:
        pairs = [(a.id, b.id) for a, b in combinations(profiles, 2) if a.lang != b.lang]
    else:
        pairs = _candidates(profiles)
    found = [scorer.evidence(a, b) for a, b in pairs]
    return tuple(sorted(found, key=lambda e: (-e.score, e.left, e.right)))


# ---------------------------------------------------------------------------------------------------------------
# Near-duplicates: one text scraped twice, whatever its boilerplate.

_SHINGLE = 5  # words (a CJK run counts a word per two characters) per shingle
_LOW_32 = 0xFFFFFFFF  # shingles are hashed to 32 bits
_SAMPLE = 4  # shingles whose hash is 0 mod this index the corpus and compare large documents
_FULL_BELOW = 400  # documents with fewer shingles than this are compared on all of them
_MIN_SHINGLES = 12  # shorter texts are too short to call duplicates
_DUPLICATE_JACCARD = 0.5
_DUPLICATE_CONTAINMENT = 0.8  # of the smaller text, with at least _CONTAINED_JACCARD overall
_CONTAINED_JACCARD = 0.3
_DUPLICATE_DF = 20  # a sampled shingle in more documents than this is boilerplate, not evidence
_CJK_PAIR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,2}|[^\W_]+")


def _word_codes(document: Document) -> list[int]:
    """A CRC-32 per word of the document (two CJK characters making a word), case and accents folded."""
    words = _CJK_PAIR.findall(fold(" ".join(block.text for block in document.blocks)))
    return list(map(_word_code, words))


def _shingles_of_codes(codes: Sequence[int]) -> frozenset[int]:
    """32-bit hashes of every run of five word codes (of all of them, in a shorter text)."""
    if len(codes) < _SHINGLE:
        return frozenset({hash(tuple(codes)) & _LOW_32}) if codes else frozenset()
    # Tuples of ints hash the same in every run (only str and bytes hashing is salted per process). Two small texts
    # (under _FULL_BELOW shingles) share a 32-bit hash by chance less than once in 25,000 pairs: no threshold notices.
    return frozenset(hash(run) & _LOW_32 for run in zip(*(codes[i:] for i in range(_SHINGLE)), strict=False))


@lru_cache(maxsize=1 << 16)
def _word_code(word: str) -> int:
    return zlib.crc32(word.encode())


def shingle_traits(document: Document) -> Shingles | None:
    """The shingles near-duplicates are found by; None for a text too short to compare."""
    found = _sorted_shingles_of(_word_codes(document))
    if len(found) < _MIN_SHINGLES:
        return None
    rest = found[found % _SAMPLE != 0].tobytes() if len(found) < _FULL_BELOW else None
    return Shingles(found[found % _SAMPLE == 0].tobytes(), rest)


def _sorted_shingles_of(codes: Sequence[int]) -> Any:
    """_shingles_of_codes's hashes as a sorted numpy uint32 array (packed as array "I" would pack them)."""
    import numpy as np

    if len(codes) < _SHINGLE or not _tuple_hash_is_xxhash():
        return np.array(sorted(_shingles_of_codes(codes)), dtype=np.uint32)
    return _xxhash_runs(codes)


# CPython's tuple hash on 64-bit builds: xxHash's round per item, where an int below 2**61 - 1 (a word code) hashes to
# itself. Run as array operations over every run of _SHINGLE codes at once, it gives _shingles_of_codes's hashes
# without making a tuple for each: shingle_traits took 0.17 s for 1,000 documents instead of 0.26 s.
_XX_PRIME_1, _XX_PRIME_2, _XX_PRIME_5 = 11400714785074694791, 14029467366897019727, 2870177450012600261
_XX_LENGTH = _SHINGLE ^ _XX_PRIME_5 ^ 3527539  # the tuple's length goes in last
_XX_MINUS_ONE = 1546275796  # what a tuple hashes to when the sum comes out as -1


def _xxhash_runs(codes: Sequence[int]) -> Any:
    """hash() of every run of _SHINGLE codes, & _LOW_32, distinct and sorted (numpy uint32)."""
    import numpy as np

    lanes = np.array(codes, dtype=np.uint64)
    runs = len(codes) - _SHINGLE + 1
    acc = np.full(runs, _XX_PRIME_5, dtype=np.uint64)
    for i in range(_SHINGLE):
        acc += lanes[i : i + runs] * np.uint64(_XX_PRIME_2)
        acc = (acc << np.uint64(31)) | (acc >> np.uint64(33))
        acc *= np.uint64(_XX_PRIME_1)
    acc += np.uint64(_XX_LENGTH)
    low = (acc & np.uint64(_LOW_32)).astype(np.uint32)
    low[acc == np.uint64(2**64 - 1)] = _XX_MINUS_ONE
    low.sort()
    first = np.empty(runs, dtype=bool)  # np.unique does the same with ten times the overhead (29 against 2.5 µs)
    first[0] = True
    np.not_equal(low[1:], low[:-1], out=first[1:])
    return low[first]


@lru_cache(maxsize=1)
def _tuple_hash_is_xxhash() -> bool:
    """Whether this interpreter hashes tuples as _xxhash_runs does: checked once, against hash() itself."""
    if sys.hash_info.width != 64:
        return False
    codes = [0, 1, 2, _LOW_32, 2**32 - 5, 123456789, 7, 0, 42, _LOW_32 - 1, 3]
    return bool(_xxhash_runs(codes).tolist() == sorted(_shingles_of_codes(codes)))


def _unpacked(packed: bytes) -> frozenset[int]:
    return frozenset(memoryview(packed).cast("I"))


def _shingles_of(document: Document) -> Shingles | None:
    return document.features.shingles if document.features else shingle_traits(document)


def find_duplicates(documents: Sequence[Document], *, carry: bool = False) -> dict[str, tuple[str, ...]]:
    """Each document with near-duplicates → their ids (source order); symmetric. Sampled shingles, exact Jaccard.

    With `carry` (serve) the sampled shingles, sorted, are kept for the next call, which sorts in only those of the
    documents that are not the same objects (see _sharing_enough)."""
    ids: list[str] = []
    kept: list[Shingles] = []
    for document in sorted(documents, key=lambda d: d.source):
        item = _shingles_of(document)
        if item is not None:
            ids.append(document.id)
            kept.append(item)
    links: dict[str, list[str]] = defaultdict(list)
    for i, j in _sharing_enough(kept, carry=carry):
        if _near_duplicates(kept[i], kept[j]):
            links[ids[i]].append(ids[j])
            links[ids[j]].append(ids[i])
    position = {doc_id: index for index, doc_id in enumerate(ids)}
    return {doc_id: tuple(sorted(others, key=position.__getitem__)) for doc_id, others in sorted(links.items())}


def _sharing_enough(kept: Sequence[Shingles], *, carry: bool = False) -> list[tuple[int, int]]:
    """The pairs (i < j, ascending) of `kept` that share at least a fifth of the smaller one's sampled shingles,
    counting only shingles found in 2.._DUPLICATE_DF documents: fewer cannot reach the thresholds of
    _near_duplicates, and a shingle in more is boilerplate, not evidence.

    Array operations over every sampled shingle at once: at 10,000 documents (670,000 shingles, 69,000 pairs
    sharing one) 0.05 s, where counting them in dicts and Counters took 0.22 s of every build. A document's
    sampled shingles are distinct (they come from a set), so a run of equal shingles names distinct documents.
    """
    import numpy as np  # here: the processes that never compare documents need not load it (see detect.py)

    if len(kept) < 2:
        _SORTED.clear()
        return []
    ordered, owners, sizes = _SORTED.again(kept) if carry else _sorted_shingles(kept)
    if not carry:
        _SORTED.clear()  # one build's shingles are not held for nothing: a build that carries none lets them go
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    runs = np.diff(np.r_[starts, len(ordered)])
    codes = []  # each pair sharing a shingle as i * len(kept) + j, once per shingle shared
    for size in range(2, _DUPLICATE_DF + 1):
        members = owners[starts[runs == size][:, None] + np.arange(size)]
        left, right = np.triu_indices(size, 1)
        first, second = members[:, left], members[:, right]
        codes.append((np.minimum(first, second) * len(kept) + np.maximum(first, second)).ravel())
    pairs, shared = np.unique(np.concatenate(codes), return_counts=True)
    first, second = np.divmod(pairs, len(kept))
    enough = shared >= 0.2 * np.minimum(sizes[first], sizes[second])
    return list(zip(first[enough].tolist(), second[enough].tolist(), strict=True))


def _sorted_shingles(kept: Sequence[Shingles]) -> tuple[Any, Any, Any]:
    """Every sampled shingle of `kept`, sorted; the index in `kept` of the one each came from; each one's count.

    Not a stable sort (four times faster at 10,000 documents): within a run of one shingle its documents come in any
    order, so _sharing_enough puts each pair as (smaller, larger)."""
    import numpy as np

    sizes = np.fromiter((len(item.sampled) // 4 for item in kept), dtype=np.int64, count=len(kept))
    shingled = np.frombuffer(b"".join(item.sampled for item in kept), dtype=np.uint32)
    order = np.argsort(shingled)
    return shingled[order], np.repeat(np.arange(len(kept), dtype=np.int64), sizes)[order], sizes


class _SortedShingles:
    """The last call's sorted shingles in this process (with carry), each owned by a slot that stands for one
    Shingles object: the next call takes out those of objects it no longer has and merges in those of new ones,
    instead of sorting them all again (0.03 s of each rebuild under serve at 10,000 documents)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.slots: dict[int, tuple[Shingles, int]] = {}  # id → (the object, held so its id is not reused; its slot)
        self.ordered: Any = None  # the shingles, sorted
        self.owners: Any = None  # the slot each came from
        self.sizes: Any = None  # by slot: how many shingles
        self.next_slot = 0

    def again(self, kept: Sequence[Shingles]) -> tuple[Any, Any, Any]:
        """_sorted_shingles(kept), from the last call's where it can."""
        import numpy as np

        ids = [id(item) for item in kept]
        now = set(ids)
        if len(now) < len(kept):  # one object twice: a slot cannot stand for it
            self.clear()
            return _sorted_shingles(kept)
        if self.ordered is None or self.next_slot > 2 * len(kept) + 1000:  # or many slots left by objects gone
            ordered, owners, sizes = _sorted_shingles(kept)
            self.clear()
            self.slots = {id(item): (item, index) for index, item in enumerate(kept)}
            self.ordered, self.owners, self.sizes, self.next_slot = ordered, owners, sizes, len(kept)
            return ordered, owners, sizes
        gone = [key for key in self.slots if key not in now]
        new = [item for item in kept if id(item) not in self.slots]
        if gone:
            self.ordered, self.owners = _without(self.ordered, self.owners, [self.slots.pop(key)[1] for key in gone])
        if new:
            first = self.next_slot
            self.next_slot += len(new)
            self.slots.update((id(item), (item, first + index)) for index, item in enumerate(new))
            added, added_owners, added_sizes = _sorted_shingles(new)
            places = np.searchsorted(self.ordered, added)
            self.ordered = np.insert(self.ordered, places, added)
            self.owners = np.insert(self.owners, places, added_owners + first)
            self.sizes = np.concatenate([self.sizes, added_sizes])
        slot_of = np.fromiter((self.slots[key][1] for key in ids), dtype=np.int64, count=len(ids))
        index_of = np.full(self.next_slot, -1, dtype=np.int64)
        index_of[slot_of] = np.arange(len(kept), dtype=np.int64)
        return self.ordered, index_of[self.owners], self.sizes[slot_of]


def _without(ordered: Any, owners: Any, gone: list[int]) -> tuple[Any, Any]:
    import numpy as np

    keep = ~np.isin(owners, np.array(gone, dtype=np.int64))
    return ordered[keep], owners[keep]


_SORTED = _SortedShingles()


def _near_duplicates(a: Shingles, b: Shingles) -> bool:
    left, right = map(_unpacked, (a.sampled, b.sampled))
    if a.rest is not None and b.rest is not None:  # two small documents: compared on all their shingles
        left, right = left | _unpacked(a.rest), right | _unpacked(b.rest)
    if not left or not right:
        return False
    common = len(left & right)
    jaccard = common / (len(left) + len(right) - common)
    containment = common / min(len(left), len(right))
    return jaccard >= _DUPLICATE_JACCARD or (containment >= _DUPLICATE_CONTAINMENT and jaccard >= _CONTAINED_JACCARD)


def members_by_document(groups: Iterable[Group]) -> dict[str, Group]:
    """Document id → its group, for pages and corpus.json."""
    return {member: group for group in groups for member in group.members}
