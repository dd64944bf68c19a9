"""Text → language tags: the writing system settles what it can, langdetect (run by detect.py) the rest."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

UNDETERMINED = "und"

# langdetect itself is only ever asked to choose among the languages of one writing system: its
# known confusions (Chinese read as Korean, Russian as Macedonian/Bulgarian/Ukrainian, Hindi as
# Marathi) are between languages the script, or a preference for its most written language, tells apart.
_LATIN = "af ca cs cy da de en es et fi fr hr hu id it lt lv nl no pl pt ro sk sl so sq sv sw tl tr vi"
_LANGS = {
    "Latin": tuple(_LATIN.split()),
    "Cyrillic": ("ru", "uk", "bg", "mk"),
    "Arabic": ("ar", "fa", "ur"),
    "Devanagari": ("hi", "mr", "ne"),
}
# Where one language writes most of a script's text, a neighbour must win all of langdetect's
# trials; a prior over languages does not do it, since each trial's posterior saturates anyway.
_PREFERRED = {"Cyrillic": "ru", "Arabic": "ar", "Devanagari": "hi"}
# Scripts written by (nearly) one language settle it without asking langdetect.
_SETTLES = {
    "Han": "zh", "Kana": "ja", "Hangul": "ko", "Hebrew": "he", "Greek": "el", "Thai": "th",
    "Georgian": "ka", "Armenian": "hy", "Bengali": "bn", "Gurmukhi": "pa", "Gujarati": "gu",
    "Oriya": "or", "Tamil": "ta", "Telugu": "te", "Kannada": "kn", "Malayalam": "ml",
    "Sinhala": "si", "Lao": "lo", "Tibetan": "bo", "Myanmar": "my", "Ethiopic": "am",
    "Khmer": "km", "Thaana": "dv", "Syriac": "syr",
}  # fmt: skip
_LANG_SCRIPTS: dict[str, frozenset[str]] = {
    **{lang: frozenset({script}) for script, langs in _LANGS.items() for lang in langs},
    **{lang: frozenset({script}) for script, lang in _SETTLES.items()},
    "ja": frozenset({"Kana", "Han"}),
    "sr": frozenset({"Cyrillic", "Latin"}),
    **dict.fromkeys(("be", "kk", "ky", "mn", "tg", "tt"), frozenset({"Cyrillic"})),
    **dict.fromkeys(("ps", "ckb", "sd", "ug", "ku"), frozenset({"Arabic"})),
    **dict.fromkeys(("mai", "sa", "kok", "bho"), frozenset({"Devanagari"})),
    "yi": frozenset({"Hebrew"}),
}
_SUBTAG_SCRIPTS = {"Latn": "Latin", "Cyrl": "Cyrillic", "Arab": "Arabic", "Hebr": "Hebrew",
                   "Grek": "Greek", "Deva": "Devanagari", "Hans": "Han", "Hant": "Han"}  # fmt: skip

# Letters below this many (in the block's main script) are too few to judge; they take neighbours.
_MIN_LETTERS = {"Latin": 20, "Cyrillic": 10, "Arabic": 10, "Devanagari": 10, "Kana": 2, "Hangul": 2}
_MIN_SETTLED = 4  # e.g. four Han characters, or a Greek word
_CJK_WEIGHT = 3  # one Han/Kana/Hangul character carries about a Latin word's worth of letters
# The per-text memos only need to span one document's blocks; larger ones kept old texts alive
# and grew each worker from 88 to 118 MB at 10,000 documents, for no measurable speed.
_MEMO = 2048
_SCRIPTLESS = 4  # weighted letters below which a block does not even show its script ("α = 0.5")
_SAMPLE = 300  # characters handed to langdetect (~50 words; it is right 99 %+ from 40): bounds the time per block
_UNSURE = 0.9  # below this langdetect's seven trials disagree
_SHORT = 60  # a Latin block this short and unsure leans on its document's main Latin language

_RANGES = sorted([
    (0x0041, 0x024F, "Latin"), (0x1E00, 0x1EFF, "Latin"), (0x2C60, 0x2C7F, "Latin"),
    (0xA720, 0xA7FF, "Latin"), (0xFF21, 0xFF5A, "Latin"), (0x0370, 0x03FF, "Greek"),
    (0x1F00, 0x1FFF, "Greek"), (0x0400, 0x052F, "Cyrillic"), (0x1C80, 0x1C8F, "Cyrillic"),
    (0x2DE0, 0x2DFF, "Cyrillic"), (0xA640, 0xA69F, "Cyrillic"), (0x0530, 0x058F, "Armenian"),
    (0x0590, 0x05FF, "Hebrew"), (0xFB1D, 0xFB4F, "Hebrew"), (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"), (0x08A0, 0x08FF, "Arabic"), (0xFB50, 0xFDFF, "Arabic"),
    (0xFE70, 0xFEFF, "Arabic"), (0x0700, 0x074F, "Syriac"), (0x0780, 0x07BF, "Thaana"),
    (0x0900, 0x097F, "Devanagari"), (0xA8E0, 0xA8FF, "Devanagari"), (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"), (0x0A80, 0x0AFF, "Gujarati"), (0x0B00, 0x0B7F, "Oriya"),
    (0x0B80, 0x0BFF, "Tamil"), (0x0C00, 0x0C7F, "Telugu"), (0x0C80, 0x0CFF, "Kannada"),
    (0x0D00, 0x0D7F, "Malayalam"), (0x0D80, 0x0DFF, "Sinhala"), (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Lao"), (0x0F00, 0x0FFF, "Tibetan"), (0x1000, 0x109F, "Myanmar"),
    (0x10A0, 0x10FF, "Georgian"), (0x1C90, 0x1CBF, "Georgian"), (0x1100, 0x11FF, "Hangul"),
    (0x3130, 0x318F, "Hangul"), (0xAC00, 0xD7AF, "Hangul"), (0x1200, 0x139F, "Ethiopic"),
    (0x1780, 0x17FF, "Khmer"), (0x3005, 0x3007, "Han"), (0x3040, 0x30FF, "Kana"),
    (0x31F0, 0x31FF, "Kana"), (0xFF66, 0xFF9F, "Kana"), (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"), (0xF900, 0xFAFF, "Han"), (0x20000, 0x323AF, "Han"),
])  # fmt: skip
_STARTS = [start for start, _, _ in _RANGES]
# The first range starts at "A" and no character below it votes, so a block of voting characters none of which lies
# past this one is all Latin letters: its letters are counted, and its sample taken, without looking at each.
_LATIN_TO = chr(_RANGES[0][1])
_PAST_LATIN = re.compile(f"[^\\x00-{_LATIN_TO}]")

# Things that are not prose and fool langdetect (a lone "@jdoe_92" reads as Dutch at p = 0.99999).
_NOISE = re.compile(
    r"(?:https?://|www\.)\S+"  # URLs
    # Each run below starts only where a run of its characters starts: without the lookbehinds, a long
    # text without spaces is retried from every position (quadratic).
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|[@#]\w+"  # handles and hashtags
    r"|(?<![A-Za-z0-9-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[a-z]{2,6}\b(?:/\S*)?"  # bare domains, x.com/...
    r"|\b[A-Za-z_]*[0-9_][A-Za-z0-9_]*"  # identifiers and numbers: C3O, tpl_guoji1, 2025
)
# Every match of _NOISE holds one of these; most prose holds none, and this one pass is a fifth of _NOISE's.
_NOISE_HINT = re.compile(r"[0-9_@#]|://|www\.|[A-Za-z0-9-]\.[a-z]")


@dataclass(frozen=True, slots=True)
class _Judgement:
    lang: str  # best guess, UNDETERMINED if none
    script: str  # the block's main script; "" when it has too few letters to show one
    weight: int  # voting letters, CJK weighted: the block's part in the document's shares
    confident: bool  # enough letters to stand on its own
    candidates: tuple[tuple[str, float], ...] = ()  # langdetect's, best first


def tag_blocks(texts: Sequence[str], declared: str | None = None) -> tuple[str, ...]:
    """One BCP 47 code per block of one document, in order."""
    cleaned = [_clean(text) for text in texts]
    _detect_all([pending for text in cleaned if isinstance(pending := _before_detection(text), _Pending)])
    judged = [_judge(text) for text in cleaned]
    settled: list[str | None] = [j.lang if j.confident else None for j in judged]
    _lean_on_document(judged, settled)
    # A declared language is the author's word for every block it could be written in: blocks of its
    # script and blocks too short to show a script. A block plainly in another script (a Chinese
    # paragraph in a document declared `en`) keeps its detected tag.
    lang = normalise_code(declared) if declared else None
    if lang and lang != UNDETERMINED:
        for i, judgement in enumerate(judged):
            if _fits(lang, judgement):
                settled[i] = lang
    whole: str | None = None
    if not any(settled) and texts:
        whole = _judge(_clean(" ".join(texts))).lang
    return tuple(_fill(i, judged, settled, whole) for i in range(len(judged)))


def language_shares(texts: Sequence[str], langs: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """Each language's share of the text by voting characters, largest first, rounded to 3 places, summing to ~1."""
    weights: Counter[str] = Counter()
    for text, lang in zip(texts, langs, strict=True):
        weights[lang] += _judge(_clean(text)).weight
    if not +weights:  # nothing voted: every block counts the same
        weights = Counter(langs)
    total = sum(weights.values())
    ranked = sorted(((lang, n / total) for lang, n in weights.items() if n), key=lambda x: (-x[1], x[0]))
    return tuple((lang, round(share, 3)) for lang, share in ranked)


_DEPRECATED = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv"}
_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")  # a language, then script, region, variants


def normalise_code(code: str) -> str | None:
    """A user's or langdetect's code ('pt-BR', 'zh-cn', 'PT', 'en_US') as BCP 47; None if not a plausible tag."""
    tag = code.strip().replace("_", "-").lower()
    if not _TAG.fullmatch(tag):
        return None
    if tag in ("zh-cn", "zh-tw"):  # langdetect's two Chinese profiles: one language to the site
        return "zh"
    first, *rest = tag.split("-")
    parts = [_DEPRECATED.get(first, first)]
    for part in rest:
        if len(part) == 4 and part.isalpha():
            part = part.title()  # script: Hans
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            part = part.upper()  # region: BR, 419
        parts.append(part)
    return "-".join(parts)


_RTL_LANGS = frozenset("ar he fa ur ps yi dv ckb sd ug syr arc azb prs pnb ks bal mzn glk lrc sdh".split())  # noqa: SIM905
_RTL_SCRIPTS = frozenset("Arab Hebr Thaa Syrc Nkoo Adlm Rohg Samr Mand".split())  # noqa: SIM905


def text_direction(code: str) -> str:
    """'rtl' for languages written right to left (ar, he, fa, ur, ...), else 'ltr'."""
    # A plain function around a memo: it is a template filter, and the page memo fingerprints filters as functions.
    return _direction(code)


@lru_cache(maxsize=1024)  # a site has a few dozen codes; every block of every page asks
def _direction(code: str) -> str:
    tag = normalise_code(code)
    if tag is None:
        return "ltr"
    first, *rest = tag.split("-")
    script = next((part for part in rest if len(part) == 4 and part.isalpha()), None)
    if script:  # an explicit script wins: az-Arab is rtl, ku-Latn ltr
        return "rtl" if script in _RTL_SCRIPTS else "ltr"
    return "rtl" if first in _RTL_LANGS else "ltr"


def _fits(lang: str, judgement: _Judgement) -> bool:
    """Whether a block could be written in `lang`, going by its script."""
    if judgement.script in ("", "Latin") and not judgement.confident:
        return True  # a name, a brand, "OK": short Latin text turns up inside any language
    if judgement.script == "Han" and not judgement.confident:
        return lang in ("zh", "ja")  # two kanji say nothing about Chinese versus Japanese
    return judgement.script in _scripts_of(lang)


def _scripts_of(lang: str) -> frozenset[str]:
    first, *rest = lang.split("-")
    for part in rest:
        if part in _SUBTAG_SCRIPTS:
            return frozenset({_SUBTAG_SCRIPTS[part]})
    # Most languages without an entry are written in Latin script.
    return _LANG_SCRIPTS.get(first, frozenset({"Latin"}))


def _fill(i: int, judged: list[_Judgement], settled: list[str | None], whole: str | None) -> str:
    """Block i's tag: its own if settled, else the nearest fitting settled neighbour (before, then after)."""
    if own := settled[i]:
        return own
    for neighbour in [*reversed(settled[:i]), *settled[i + 1 :]]:
        if neighbour and _fits(neighbour, judged[i]):
            return neighbour
    if whole and whole != UNDETERMINED and _fits(whole, judged[i]):
        return whole
    return judged[i].lang


def _lean_on_document(judged: list[_Judgement], settled: list[str | None]) -> None:
    """Give short, unsure Latin blocks the document's main Latin language when langdetect allows it."""
    weights: Counter[str] = Counter()
    for judgement, lang in zip(judged, settled, strict=True):
        if lang and judgement.script == "Latin":
            weights[lang] += judgement.weight
    if not weights:
        return
    main = weights.most_common(1)[0][0]
    for i, judgement in enumerate(judged):
        if (
            settled[i]
            and judgement.script == "Latin"
            and judgement.weight < _SHORT
            and judgement.candidates[0][1] < _UNSURE
            and main in dict(judgement.candidates)
        ):
            settled[i] = main


class _Voting(dict[int, int]):
    """str.translate table: a voting character to itself, anything else to a space; filled as characters turn up."""

    def __missing__(self, point: int) -> int:
        value = point if _kind(chr(point)) is not None else 0x20
        self[point] = value
        return value


_VOTING = _Voting()


class _OfScript(dict[int, int]):
    """str.translate table: letters of one script (and marks) to themselves, anything else to a space."""

    def __init__(self, script: str) -> None:
        super().__init__()
        self.script = script

    def __missing__(self, point: int) -> int:
        value = point if _kind(chr(point)) in (self.script, "") else 0x20
        self[point] = value
        return value


_OF_SCRIPT = {script: _OfScript(script) for script in _LANGS}


@lru_cache(maxsize=_MEMO)  # tag_blocks and language_shares see the same texts, one after the other
def _clean(text: str) -> str:
    """The voting characters of `text`: letters and their marks, everything else a single space."""
    # translate runs in C and asks _Voting only about characters it has not seen yet. What it leaves is letters,
    # marks and plain spaces, so split and join collapse the spaces (three times quicker than a pattern).
    if _NOISE_HINT.search(text):
        text = _NOISE.sub(" ", text)
    return " ".join(text.translate(_VOTING).split())


@lru_cache(maxsize=8192)
def _kind(ch: str) -> str | None:
    """A letter's script ("Other" when unknown), "" for a combining mark, None for what does not vote."""
    category = unicodedata.category(ch)
    if category[0] == "M":
        return ""
    if category[0] != "L":
        return None
    point = ord(ch)
    i = bisect_right(_STARTS, point) - 1
    return _RANGES[i][2] if i >= 0 and point <= _RANGES[i][1] else "Other"


@lru_cache(maxsize=_MEMO)
def main_script(text: str) -> str:
    """The writing system most of `text`'s letters are in ("Latin", "Han", "Arabic", …); "" when too few to tell."""
    return _script(_clean(text))[0]


def _all_latin(cleaned: str) -> bool:
    """Whether voting characters (see _clean) are all Latin letters: none lies past _LATIN_TO."""
    return cleaned.isascii() or not _PAST_LATIN.search(cleaned)


def _script(cleaned: str) -> tuple[str, Counter[str], int]:
    """(main script or "", letters per script, weight with CJK characters counted as words)."""
    if _all_latin(cleaned):
        letters = len(cleaned) - cleaned.count(" ")
        counts = Counter({"Latin": letters} if letters else {})
    else:
        found: dict[str, int] = {}
        for ch, n in Counter(cleaned).items():  # counted per distinct character: a block repeats its letters
            if kind := _kind(ch):
                found[kind] = found.get(kind, 0) + n
        counts = Counter(found)
    cjk = counts["Han"] + counts["Kana"] + counts["Hangul"]
    weight = sum(counts.values()) + (_CJK_WEIGHT - 1) * cjk
    if weight < _SCRIPTLESS:
        return "", counts, weight
    groups = Counter({s: n for s, n in counts.items() if s not in ("Han", "Kana", "Hangul")})
    groups["CJK"] = _CJK_WEIGHT * cjk
    script = max(sorted(groups), key=groups.__getitem__)  # sorted: ties break the same way each run
    if script == "CJK":
        # Korean may carry some Hanja and Japanese is mostly kanji, so the syllabaries decide.
        if counts["Hangul"] >= 0.3 * cjk:
            script = "Hangul"
        elif counts["Kana"] >= 0.1 * cjk:
            script = "Kana"
        else:
            script = "Han"
    return script, counts, weight


@dataclass(frozen=True, slots=True)
class _Pending:
    """A block langdetect must judge: its sample among the languages of its script."""

    sample: str
    script: str
    weight: int
    confident: bool


@lru_cache(maxsize=_MEMO)  # language_shares judges the blocks tag_blocks has just judged
def _judge(cleaned: str) -> _Judgement:
    """What one block's voting characters say: its main script and language."""
    found = _before_detection(cleaned)
    if isinstance(found, _Judgement):
        return found
    candidates = _detect(found.sample, found.script)
    preferred = _PREFERRED.get(found.script)
    lang = candidates[0][0] if candidates else preferred or UNDETERMINED
    if preferred and candidates and candidates[0][1] < _UNSURE:
        lang = preferred
    return _Judgement(lang, found.script, found.weight, found.confident and lang != UNDETERMINED, candidates)


@lru_cache(maxsize=_MEMO)  # asked before a document's blocks are detected together, then again by _judge
def _before_detection(cleaned: str) -> _Judgement | _Pending:
    """A block's judgement where its script settles it, else what langdetect is to be asked."""
    script, counts, weight = _script(cleaned)
    if not script:
        return _Judgement(UNDETERMINED, "", weight, False)
    letters = counts[script] if script != "Kana" else counts["Kana"] + counts["Han"]
    confident = letters >= _MIN_LETTERS.get(script, _MIN_SETTLED)
    if script not in _LANGS:
        return _Judgement(_SETTLES.get(script, UNDETERMINED), script, weight, confident and script in _SETTLES)
    preferred = _PREFERRED.get(script)
    if preferred and not confident:  # too few letters to tell the script's languages apart
        return _Judgement(preferred, script, weight, False)
    # Only the main script's letters go to langdetect: a Chinese name must not sway an English verdict.
    if script == "Latin" and _all_latin(cleaned[: _SAMPLE + 1]):
        # What the translation below would leave: the character past the sample shows that a space ending the sample
        # is followed by a letter, which the join keeps it for.
        return _Pending(cleaned[:_SAMPLE], script, weight, confident)
    sample = " ".join(cleaned[: 4 * _SAMPLE].translate(_OF_SCRIPT[script]).split())
    return _Pending(sample[:_SAMPLE], script, weight, confident)


Candidates = tuple[tuple[str, float], ...]
_DETECTED: dict[tuple[str, str], Candidates] = {}  # (sample, script) → candidates: one detection per distinct text
_DETECTED_MAX = 16384


def _detect(sample: str, script: str) -> Candidates:
    """langdetect's candidates for `sample` among the languages of `script`, best first."""
    found = _DETECTED.get((sample, script))
    if found is None:
        found = _detect_batch([sample], script)[0]
        _remember(sample, script, found)
    return found


def _detect_all(pending: Sequence[_Pending]) -> None:
    """Detect the blocks not detected before, all of a script at once (array operations cost per call)."""
    by_script: dict[str, list[str]] = {}
    for item in pending:
        if (item.sample, item.script) not in _DETECTED:
            by_script.setdefault(item.script, []).append(item.sample)
    for script, samples in sorted(by_script.items()):
        unique = list(dict.fromkeys(samples))
        for sample, found in zip(unique, _detect_batch(unique, script), strict=True):
            _remember(sample, script, found)


def _remember(sample: str, script: str, found: Candidates) -> None:
    if len(_DETECTED) >= _DETECTED_MAX:
        _DETECTED.clear()
    _DETECTED[(sample, script)] = found


def detect_ahead() -> None:
    """Load the detection code (numpy, langdetect) and langdetect's profiles of each script now, in a process that
    will detect soon: serve, while it waits, rather than on the first seed it loads (0.15 s; 14 MB, nearly all of it
    the Latin script's, which most corpora need)."""
    from corpus_site import detect

    for langs in _LANGS.values():
        detect.profiles_ahead(langs)


def _detect_batch(samples: Sequence[str], script: str) -> list[Candidates]:
    """langdetect's candidates for each sample among the languages of `script`, best first."""
    # Here, not at the top: numpy then loads only in the processes that detect (see detect.py).
    from corpus_site import detect

    return detect.detect_batch(samples, _LANGS[script])
