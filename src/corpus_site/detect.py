"""langdetect's algorithm run as array operations: the only importer of langdetect and numpy.

langtag imports this module at its first detection, so a process that never detects (the build's parent, and its
child when workers load the seeds) does not carry numpy's 14 MB.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from operator import add
from pathlib import Path

import numpy as np
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.utils.ngram import NGram

from corpus_site.langtag import Candidates, normalise_code

_SPACES = re.compile(r"\s+")


class _Profiles:
    """langdetect's profiles of some languages (one script's) as a matrix: a row of probabilities per n-gram.

    Read from langdetect's JSON files straight into the matrix, as DetectorFactory would fill its table (the same
    rows in the same order, the same probabilities to the bit), without a Python float per cell along the way.
    """

    def __init__(self, langs: tuple[str, ...]) -> None:
        row: dict[str, int] = {}
        names: list[str] = []
        columns = []
        for lang in langs:
            profile = json.loads((Path(PROFILES_DIRECTORY) / lang).read_text(encoding="utf-8"))
            names.append(profile["name"])
            freq: dict[str, int] = profile["freq"]
            rows = np.fromiter((row.setdefault(gram, len(row)) for gram in freq), dtype=np.intp, count=len(freq))
            lengths = np.fromiter(map(len, freq), dtype=np.intp, count=len(freq))
            counts = np.fromiter(freq.values(), dtype=np.float64, count=len(freq))
            columns.append((rows, lengths, counts, np.array([1, *profile["n_words"]], dtype=np.float64)))
        self.probs = np.zeros((len(row), len(langs)), dtype=np.float64)
        for column, (rows, lengths, counts, n_words) in enumerate(columns):
            kept = (lengths >= 1) & (lengths <= 3)  # langdetect gives longer ones a row but no probability
            self.probs[rows[kept], column] = counts[kept] / n_words[lengths[kept]]
        row.pop(" ", None)  # a space alone is never an n-gram
        self.row = row
        self.langs: tuple[str, ...] = tuple(normalise_code(name) or name for name in names)
        self.word_rows: dict[str, tuple[bytes, bytes, bytes]] = {}  # see _known_ngram_rows


_profiles: dict[tuple[str, ...], _Profiles] = {}
_profiles_lock = threading.Lock()


def profiles_ahead(langs: tuple[str, ...]) -> None:
    """Read the profiles of `langs` now, for the detections to come (langtag.detect_ahead)."""
    _profiles_of(langs)


def _profiles_of(langs: tuple[str, ...]) -> _Profiles:
    """One profile matrix per set of languages and process (threads race while loading)."""
    found = _profiles.get(langs)
    if found is None:
        with _profiles_lock:
            found = _profiles.get(langs)
            if found is None:
                # Only one script's languages: the n-grams of the others never enter a trial, and each
                # update multiplies a handful of probabilities instead of 55.
                found = _profiles[langs] = _Profiles(langs)
    return found


# langdetect's constants: seven trials, each multiplying in randomly drawn n-grams (smoothed by a
# jittered alpha) until one language passes 0.99999, checked every fifth draw, for at most 1001 draws.
_TRIALS = 7
_ALPHA, _ALPHA_WIDTH, _BASE_FREQ = 0.5, 0.05, 10000
_CONVERGED = 0.99999
_CHECK_EVERY, _MOST_DRAWS = 5, 1001
# Draws made for all trials at once, in rounds, each going on from the last for the samples still undecided. Most
# samples need 40-160 draws for all their trials to settle, a few near-ties langdetect's limit. Doubling rounds
# draw little past what a sample needs, in few array operations: detection took 0.67 s for 1,000 documents'
# samples against 1.10 s with rounds of 41, 161 and 1001 draws each made from the first draw.
_ROUNDS = (81, 161, 301, 601, _MOST_DRAWS)  # each one more than a multiple of _CHECK_EVERY: a round ends on a check
_KEPT = 0.1  # candidates below this probability are left out, as langdetect does
_AGREED = 3  # trials that, all settled on one language, decide a sample ...
_AGREED_FROM = 120  # ... this long; shorter ones take all seven, whose spread says how unsure they are
# The random draws are fixed once: like langdetect reseeding before every text, each text sees the
# same sequence, so a text's tags never depend on what was detected before it.
_DRAWS = np.random.default_rng(0).random((_TRIALS, _MOST_DRAWS))
_SMOOTHING = ((_ALPHA + np.random.default_rng(1).standard_normal(_TRIALS) * _ALPHA_WIDTH) / _BASE_FREQ)[:, None, None]


def detect_batch(samples: Sequence[str], langs: tuple[str, ...]) -> list[Candidates]:
    """langdetect's candidates for each sample among `langs` (langdetect's codes), best first, as BCP 47 codes.

    Its seven trials go side by side, each trial's running product of n-gram probabilities is a
    cumulative sum of logarithms, and the samples of a document go through together. A sample's
    result does not depend on the others in its batch. A long sample whose first _AGREED trials all
    settle on one language is that language: the other trials only matter when a text is unsure.
    """
    profiles = _profiles_of(langs)
    rows = [_known_ngram_rows(_langdetect_text(sample), profiles) for sample in samples]
    results: list[Candidates] = [()] * len(samples)
    known = [i for i, found in enumerate(rows) if found.size]  # no known n-gram: no candidates
    long = [i for i in known if len(samples[i]) >= _AGREED_FROM]
    for i, (probs, agreed) in zip(long, _trials(profiles, [rows[i] for i in long], _AGREED), strict=True):
        if agreed:
            results[i] = _ranked(profiles.langs, probs)
    rest = [i for i in known if not results[i]]
    for i, (probs, _) in zip(rest, _trials(profiles, [rows[i] for i in rest], _TRIALS), strict=True):
        results[i] = _ranked(profiles.langs, probs)
    return results


def _trials(profiles: _Profiles, rows: Sequence[np.ndarray], trials: int) -> list[tuple[np.ndarray, bool]]:
    """For each sample's n-gram rows, the mean of its first `trials` trials' probabilities, and whether they all
    settled on one language."""
    results: list[tuple[np.ndarray, bool]] = [(np.empty(0), False)] * len(rows)
    languages = profiles.probs.shape[1]
    # Each trial's state between rounds: its running sum at the last check, its probabilities where it stopped.
    sums = np.zeros((len(rows), trials, languages))
    finals = np.zeros((len(rows), trials, languages))
    settled = np.zeros((len(rows), trials), dtype=bool)
    todo, made = np.arange(len(rows)), 0
    for draws in _ROUNDS:  # a round goes on from the last one's draws, for the samples still undecided
        if not todo.size:
            break
        taken = [rows[i] for i in todo.tolist()]
        lengths = np.array([found.size for found in taken])
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        picks = starts[:, None, None] + (_DRAWS[None, :trials, made:draws] * lengths[:, None, None]).astype(np.intp)
        drawn = profiles.probs[np.concatenate(taken)[picks]]
        running, probs = _checks(drawn, sums[todo] if made else None)
        converged = probs.max(axis=3) > _CONVERGED
        newly = converged.any(axis=2) & ~settled[todo]
        first = converged.argmax(axis=2)
        at, trial = np.nonzero(newly)
        finals[todo[at], trial] = probs[at, trial, first[at, trial]]
        settled[todo[at], trial] = True
        sums[todo] = running[:, :, -1, :]
        made = draws
        last = draws == _MOST_DRAWS
        if last:  # a trial that never converged stops at the last draw
            at, trial = np.nonzero(~settled[todo])
            finals[todo[at], trial] = probs[at, trial, -1]
        decided = settled[todo].all(axis=1)
        for i in todo[decided | last].tolist():
            winners = set(finals[i].argmax(axis=1).tolist())
            results[i] = (finals[i].mean(axis=0), bool(settled[i].all()) and len(winners) == 1)
        todo = todo[~decided]
    return results


def _ranked(langs: Sequence[str], probs: np.ndarray) -> Candidates:
    """The languages above langdetect's reporting threshold, most probable first."""
    return tuple(sorted(((lang, float(p)) for lang, p in zip(langs, probs, strict=True) if p > _KEPT),
                        key=lambda item: -item[1]))  # fmt: skip


def _checks(drawn: np.ndarray, carried: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Each trial's running sums of log probabilities at the checks of one round, and its language probabilities
    there. `drawn` holds the round's drawn n-grams' probabilities, shaped (sample, trial, draw, language); `carried`
    the running sums where the last round ended (None in the first round, whose first draw is a check of its own).
    """
    logs = np.log(drawn + _SMOOTHING[: drawn.shape[1]])
    head, body = (logs[:, :, :1, :], logs[:, :, 1:, :]) if carried is None else (carried[:, :, None, :], logs)
    # The draws between two checks summed first, as strided slices (elementwise, so the same on every machine), then
    # a cumulative sum over the checks alone: a sequential sum, so going on from the last round's end changes no bit.
    steps = [body[:, :, start::_CHECK_EVERY, :] for start in range(_CHECK_EVERY)]
    running = np.concatenate((head, sum(steps[1:], steps[0])), axis=2).cumsum(axis=2)
    if carried is not None:
        running = running[:, :, 1:, :]  # the carried check was looked at in the last round
    probs = np.exp(running - running.max(axis=3, keepdims=True))
    probs /= probs.sum(axis=3, keepdims=True)
    return running, probs


class _Normalised(dict[int, str]):
    """str.translate table: a character to langdetect's normalised form (one CJK character per class, …)."""

    def __missing__(self, point: int) -> str:
        value: str = NGram.normalize(chr(point))
        self[point] = value
        return value


_NORMALISED = _Normalised()
_UPPERS = re.escape("".join(ch for ch in map(chr, range(0x10000)) if ch.isupper()))
_UPPER_PAIR = re.compile(f"[{_UPPERS}]{{2}}")


def _langdetect_text(sample: str) -> str:
    """The text langdetect extracts n-grams from: normalised characters, single spaces, a leading space."""
    # A space at the end counts (it ends the last word's n-grams); spaces at the start do not.
    return " " + _SPACES.sub(" ", NGram.normalize_vi(sample).translate(_NORMALISED)).lstrip()


def _known_ngram_rows(text: str, profiles: _Profiles) -> np.ndarray:
    """Profile rows of the text's 1- to 3-grams that langdetect knows, one per occurrence: every 1-gram in the
    text's order, then every 2-gram, then every 3-gram.

    langdetect starts its n-grams afresh after each space, so each word's n-grams (with the spaces around it) are
    its own whatever its neighbours: they are looked up once per word and process, not once per occurrence. It
    also skips n-grams ending in the second or later capital letter of a word in capitals.
    """
    if _UPPER_PAIR.search(text):
        return _known_ngram_rows_with_capitals(text, profiles.row)
    memo = profiles.word_rows
    ones, twos, threes = [], [], []
    words = text.split(" ")  # text is " word word …", perhaps with a space at the end: words[0] is ""
    last = len(words) - 1
    for index in range(1, last + 1):
        word = words[index]
        if not word:
            continue
        spaced = f" {word} " if index < last else f" {word}"
        found = memo.get(spaced)
        if found is None:
            if len(memo) >= _WORD_ROWS_MAX:
                memo.clear()
            found = memo[spaced] = _word_rows(spaced, profiles.row)
        ones.append(found[0])
        twos.append(found[1])
        threes.append(found[2])
    return np.frombuffer(b"".join(ones + twos + threes), dtype=np.intp)


_WORD_ROWS_MAX = 8192  # words remembered per profile set (about 3 MB); most of a text's words are common ones


def _word_rows(spaced: str, row: dict[str, int]) -> tuple[bytes, bytes, bytes]:
    """The profile rows of one word's known 1-, 2- and 3-grams, `spaced` by a space before and any after it."""
    pairs = list(map(add, spaced, spaced[1:]))
    grams = (spaced, pairs, map(add, pairs, spaced[2:]))
    return tuple(  # type: ignore[return-value]
        np.fromiter((found for gram in kind if (found := row.get(gram)) is not None), dtype=np.intp).tobytes()
        for kind in grams
    )


def _known_ngram_rows_with_capitals(text: str, row: dict[str, int]) -> np.ndarray:
    found = [
        row[gram]
        for j in range(1, len(text))
        if not (text[j].isupper() and text[j - 1].isupper())
        for gram in (text[j], text[j - 1 : j + 1], text[j - 2 : j + 1] if j >= 2 else "")
        if gram in row
    ]
    return np.array(found, dtype=np.intp)
