"""Two versions of one text → aligned segment pairs (Gale–Church with anchors), as JSON Lines and TMX."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from corpus_site import __version__
from corpus_site.groups import Group, anchors, content_blocks, fold, split_sentences, text_anchors, text_weight
from corpus_site.records import Document


@dataclass(frozen=True, slots=True)
class Segment:
    """A paragraph or sentence of one version, with the language of the block it comes from."""

    text: str
    lang: str


@dataclass(frozen=True, slots=True)
class Pair:
    """One bead: 0–2 segments of the left version against 0–2 of the right, and how sure the aligner is (0..1)."""

    left: tuple[str, ...]
    right: tuple[str, ...]
    confidence: float
    left_lang: str
    right_lang: str


@dataclass(frozen=True, slots=True)
class Alignment:
    """Two documents of a group aligned; `level` is "paragraph" or "sentence"."""

    group: str
    left: str  # document id
    right: str
    left_lang: str  # the documents' primary languages
    right_lang: str
    level: str
    pairs: tuple[Pair, ...]


# Gale & Church (1993): prior probabilities of each bead and the variance of length differences per unit; but
# scraped versions leave out more (ads, comment forms, a title), so a segment alone is likelier than in Hansards.
_BEADS = ((1, 1, 0.85), (1, 0, 0.06), (0, 1, 0.06), (2, 1, 0.03), (1, 2, 0.03), (2, 2, 0.0075))
_VARIANCE = 6.8
_ANCHOR_BONUS = 4.0  # nats for a bead whose two sides share all their anchors
_ANCHOR_PENALTY = 3.0  # nats for a bead whose anchors the other side lacks (less when they weigh under 2)
_COGNATE_BONUS = 4.0  # nats for a bead whose sides share every four-letter word start (within one script)
_LETTERS = re.compile(r"[^\W\d_]+")
_NULL_SLOPE = 0.4  # nats per unit of log length for a segment left without counterpart
_PARAGRAPH_RATIO = 0.8  # paragraph counts closer than this: align paragraphs; else sentences
_FULL = 90_000  # cells; larger alignments search a band around the diagonal
_NEG = -math.inf
_SQRT2 = math.sqrt(2)


def level_for(left: Document, right: Document) -> str:
    """Paragraphs when both versions have about as many (and more than one), else sentences."""
    a, b = len(content_blocks(left)), len(content_blocks(right))
    return "paragraph" if max(a, b) > 1 and min(a, b) >= _PARAGRAPH_RATIO * max(a, b) else "sentence"


def segments(document: Document, level: str) -> tuple[Segment, ...]:
    """The document's prose (no code, no rules) as paragraphs or sentences, in order."""
    blocks = content_blocks(document)
    if level == "paragraph":
        return tuple(Segment(text.strip(), lang) for text, lang in blocks)
    return tuple(Segment(sentence, lang) for text, lang in blocks for sentence in split_sentences(text))


def align(left: Document, right: Document) -> tuple[Pair, ...]:
    """Every segment of both versions exactly once, in order, paired into beads."""
    return alignment(left, right).pairs


def alignment(left: Document, right: Document, group: str = "") -> Alignment:
    """`align` with the facts a page or an export needs around it."""
    level = level_for(left, right)
    a, b = segments(left, level), segments(right, level)
    names = _names(left) | _names(right)
    pairs = _align(a, b, names, left.primary_lang, right.primary_lang)
    return Alignment(group, left.id, right.id, left.primary_lang, right.primary_lang, level, pairs)


def align_group(group: Group, documents: Mapping[str, Document]) -> tuple[Alignment, ...]:
    """Every two members of a group, in member order: (m0, m1), (m0, m2), …, (m1, m2), …"""
    return tuple(alignment(documents[a], documents[b], group.id) for a, b in combinations(group.members, 2))


def _names(document: Document) -> frozenset[str]:
    found = document.features.anchors.unpacked() if document.features else anchors(document)
    return frozenset(anchor.token for anchor in found if anchor.token.startswith("w:"))


def _align(
    left: Sequence[Segment], right: Sequence[Segment], names: frozenset[str], left_lang: str, right_lang: str
) -> tuple[Pair, ...]:
    n, m = len(left), len(right)
    if not n or not m:
        return tuple(Pair((s.text,), (), 1.0, s.lang, right_lang) for s in left) + tuple(
            Pair((), (s.text,), 1.0, left_lang, s.lang) for s in right
        )
    model = _Model(left, right, names)
    lo, hi = _band(n, m)
    beads = _search(model, n, m, lo, hi)
    # The length ratio of the whole texts is skewed by what only one side has; re-estimate it on matched beads.
    matched = [(i, j, k) for i, j, k, posterior in beads if _BEADS[k][0] and _BEADS[k][1] and posterior >= 0.5]
    if matched:
        x = sum(sum(model.left[i : i + _BEADS[k][0]]) for i, _, k in matched)
        y = sum(sum(model.right[j : j + _BEADS[k][1]]) for _, j, k in matched)
        ratio = min(3.0, max(1 / 3, y / x))
        if abs(ratio / model.ratio - 1) > 0.05:
            model.ratio = ratio
            beads = _search(model, n, m, lo, hi)
    pairs = []
    for i, j, k, posterior in beads:
        di, dj, _ = _BEADS[k]
        lefts, rights = left[i : i + di], right[j : j + dj]
        pairs.append(
            Pair(
                left=tuple(s.text for s in lefts),
                right=tuple(s.text for s in rights),
                confidence=round(posterior, 2),
                left_lang=lefts[0].lang if lefts else left_lang,
                right_lang=rights[0].lang if rights else right_lang,
            )
        )
    return tuple(pairs)


def _search(model: _Model, n: int, m: int, lo: Sequence[int], hi: Sequence[int]) -> list[tuple[int, int, int, float]]:
    """The best path as (left start, right start, bead type, posterior probability of that bead), in order."""
    costs = model.costs(lo, hi)
    forward, back = _forward(costs, n, m, lo, hi)
    backward = _backward(costs, n, m, lo, hi)
    total = forward[n][m - lo[n]]
    beads = []
    i, j = n, m
    while i or j:
        k = back[i][j - lo[i]]
        di, dj, _ = _BEADS[k]
        i, j = i - di, j - dj
        start = forward[i][j - lo[i]]
        cost = costs[k][i][j - lo[i]]
        posterior = math.exp(min(0.0, start - cost + backward[i + di][j + dj - lo[i + di]] - total))
        beads.append((i, j, k, posterior))
    return beads[::-1]


class _Model:
    """The cost (in nats) of each bead: its prior, how well the lengths fit, and what the two sides share."""

    def __init__(self, left: Sequence[Segment], right: Sequence[Segment], names: frozenset[str]) -> None:
        self.left = [max(1.0, text_weight(s.text)) for s in left]
        self.right = [max(1.0, text_weight(s.text)) for s in right]
        self.ratio = min(3.0, max(1 / 3, sum(self.right) / sum(self.left)))  # the pair's own expansion factor
        self.left_spans = _spans(left, self.left, names)
        self.right_spans = _spans(right, self.right, names)
        self.shared: dict[int, list[array[float]]] = {}  # per bead type and cell; the same whatever the ratio

    def costs(self, lo: Sequence[int], hi: Sequence[int]) -> list[list[array[float]]]:
        """cost[k][i][j - lo[i]]: the cost of a bead of type k starting at left segment i and right segment j."""
        n, m = len(self.left), len(self.right)
        ratio = self.ratio
        out = []
        for k, (di, dj, prior) in enumerate(_BEADS):
            base = -math.log(prior)
            lefts, rights = self.left_spans[di], self.right_spans[dj]
            if di and dj and k not in self.shared:
                self.shared[k] = [
                    array(
                        "d",
                        (
                            _shared(lefts[i], rights[j]) if i + di <= n and j + dj <= m else 0.0
                            for j in range(lo[i], hi[i] + 1)
                        ),
                    )
                    for i in range(n + 1)
                ]
            shared = self.shared.get(k)
            rows = []
            for i in range(n + 1):
                row = array("d", [math.inf] * (hi[i] - lo[i] + 1))
                if i + di <= n:
                    x = ratio * lefts[i][0] if di else 0.0
                    for j in range(lo[i], min(hi[i], m - dj) + 1):
                        y = rights[j][0] if dj else 0.0
                        if shared is None:
                            # Scraped versions carry untranslated boilerplate: a segment alone costs its length slowly.
                            row[j - lo[i]] = base + _NULL_SLOPE * math.log1p(x + y)
                        else:
                            delta = abs(y - x) / math.sqrt(_VARIANCE * max(1.0, (x + y) / 2))
                            fit = -math.log(max(1e-300, math.erfc(delta / _SQRT2)))
                            row[j - lo[i]] = base + fit + shared[i][j - lo[i]]
                rows.append(row)
            out.append(rows)
        return out


_Span = tuple[
    float, dict[str, float], float, frozenset[str], frozenset[str]
]  # length, anchors, weight, cognates, words


def _spans(segments: Sequence[Segment], lengths: Sequence[float], names: frozenset[str]) -> list[list[_Span]]:
    """For one and two consecutive segments from each index: length, anchors, cognates and words, merged once."""
    ones: list[_Span] = []
    for segment, length in zip(segments, lengths, strict=True):
        found = text_anchors(segment.text, segment.lang, names)
        words = frozenset("w:" + word for word in _LETTERS.findall(fold(segment.text)) if len(word) >= 2)
        ones.append((length, found, sum(found.values()), _cognates(segment.text), words))
    twos: list[_Span] = []
    for first, second in zip(ones, ones[1:], strict=False):
        merged = dict(first[1])
        for token, weight in second[1].items():
            merged[token] = merged.get(token, 0.0) + weight
        twos.append((first[0] + second[0], merged, first[2] + second[2], first[3] | second[3], first[4] | second[4]))
    return [[], ones, twos]


def _shared(a: _Span, b: _Span) -> float:
    """Nats gained for anchors and cognates both sides share, or lost for anchors only one side has."""
    cost = 0.0
    if a[2] or b[2]:
        # "km" is an anchor inside Japanese but a plain lower-case word in English: it still counts as found.
        found = sum(min(w, b[1][t]) if t in b[1] else w if t in b[4] else 0.0 for t, w in a[1].items())
        found += sum(min(w, a[1][t]) if t in a[1] else w if t in a[4] else 0.0 for t, w in b[1].items())
        agreement = found / (a[2] + b[2])
        cost += -_ANCHOR_BONUS * agreement + _ANCHOR_PENALTY * (1 - agreement) * min(1.0, (a[2] + b[2]) / 2)
    if a[3] and b[3]:
        cost -= _COGNATE_BONUS * 2 * len(a[3] & b[3]) / (len(a[3]) + len(b[3]))
    return cost


def _cognates(text: str) -> frozenset[str]:
    """Simard et al. (1992): words of four or more letters sharing their first four are likely cognates."""
    return frozenset(word[:4] for word in _LETTERS.findall(fold(text)) if len(word) >= 4)


def _band(n: int, m: int) -> tuple[list[int], list[int]]:
    """For each left index, the range of right indices searched: everything, or a band around the diagonal."""
    if (n + 1) * (m + 1) <= _FULL:
        return [0] * (n + 1), [m] * (n + 1)
    # Wide enough for boilerplate and merges; narrow enough that a book stays within about a million cells.
    width = min(max(40, abs(n - m) + 20, max(n, m) // 10), max(40, 500_000 // (n + 1)))
    lo = [max(0, i * m // n - width) for i in range(n + 1)]
    hi = [min(m, i * m // n + width) for i in range(n + 1)]
    lo[n], hi[0] = min(lo[n], m), max(hi[0], 0)
    return lo, hi


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == _NEG:
        return _NEG
    return top + math.log(sum(math.exp(v - top) for v in values))


def _forward(
    costs: list[list[array[float]]], n: int, m: int, lo: Sequence[int], hi: Sequence[int]
) -> tuple[list[array[float]], list[array[int]]]:
    """Forward log-probabilities and the Viterbi bead ending at each cell."""
    forward = [array("d", [_NEG] * (hi[i] - lo[i] + 1)) for i in range(n + 1)]
    best = [array("d", [_NEG] * (hi[i] - lo[i] + 1)) for i in range(n + 1)]
    back = [array("b", [-1] * (hi[i] - lo[i] + 1)) for i in range(n + 1)]
    forward[0][0 - lo[0]] = best[0][0 - lo[0]] = 0.0
    beads = list(enumerate((di, dj) for di, dj, _ in _BEADS))
    for i in range(n + 1):
        for j in range(lo[i], hi[i] + 1):
            sums: list[float] = []
            top, top_k = _NEG, -1
            for k, (di, dj) in beads:
                i0, j0 = i - di, j - dj
                if i0 < 0 or j0 < 0:
                    continue
                offset = j0 - lo[i0]
                if offset < 0 or offset >= len(best[i0]):
                    continue
                start = best[i0][offset]
                if start == _NEG:
                    continue
                cost = costs[k][i0][offset]
                sums.append(forward[i0][offset] - cost)
                if start - cost > top:
                    top, top_k = start - cost, k
            if sums:
                forward[i][j - lo[i]] = _logsumexp(sums)
                best[i][j - lo[i]] = top
                back[i][j - lo[i]] = top_k
    return forward, back


def _backward(
    costs: list[list[array[float]]], n: int, m: int, lo: Sequence[int], hi: Sequence[int]
) -> list[array[float]]:
    """Log-probability of finishing the alignment from each cell."""
    backward = [array("d", [_NEG] * (hi[i] - lo[i] + 1)) for i in range(n + 1)]
    backward[n][m - lo[n]] = 0.0
    beads = list(enumerate((di, dj) for di, dj, _ in _BEADS))
    for i in range(n, -1, -1):
        for j in range(hi[i], lo[i] - 1, -1):
            sums: list[float] = []
            for k, (di, dj) in beads:
                i1, j1 = i + di, j + dj
                if i1 > n or j1 > m:
                    continue
                offset = j1 - lo[i1]
                if offset < 0 or offset >= len(backward[i1]):
                    continue
                end = backward[i1][offset]
                if end != _NEG:
                    sums.append(end - costs[k][i][j - lo[i]])
            if sums:
                backward[i][j - lo[i]] = _logsumexp(sums)
    return backward


# ---------------------------------------------------------------------------------------------------------------
# Exports.

_CJK_EDGE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def join(texts: Sequence[str]) -> str:
    """Segments of one side as one string: a space between them, none between CJK sentences."""
    out = ""
    for text in texts:
        if out and not (_CJK_EDGE.match(out[-1]) and _CJK_EDGE.match(text[:1])):
            out += " "
        out += text
    return out


def alignments_jsonl(alignments: Iterable[Alignment]) -> bytes:
    """One JSON object per bead: group, the two documents with language and segments, level, confidence."""
    lines = []
    for item in alignments:
        for index, pair in enumerate(item.pairs):
            record = {
                "group": item.group,
                "index": index,
                "level": item.level,
                "confidence": pair.confidence,
                "left": {"doc": item.left, "lang": pair.left_lang, "segments": list(pair.left)},
                "right": {"doc": item.right, "lang": pair.right_lang, "segments": list(pair.right)},
            }
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    return "".join(line + "\n" for line in lines).encode()


def tmx(alignments: Iterable[Alignment]) -> bytes:
    """TMX 1.4: one <tu> per bead with text on both sides (a segment without counterpart is no translation unit)."""
    items = list(alignments)
    sources = {item.left_lang for item in items}
    levels = {item.level for item in items}
    root = ET.Element("tmx", version="1.4")
    header = {
        "creationtool": "corpus-site",
        "creationtoolversion": __version__,
        "datatype": "plaintext",
        "segtype": levels.pop() if len(levels) == 1 else "paragraph",
        "adminlang": "en",
        "srclang": sources.pop() if len(sources) == 1 else "*all*",
        "o-tmf": "corpus-site",
    }
    ET.SubElement(root, "header", header)
    body = ET.SubElement(root, "body")
    for item in items:
        for index, pair in enumerate(item.pairs):
            if not pair.left or not pair.right:
                continue
            unit = ET.SubElement(
                body,
                "tu",
                tuid=f"{item.group}/{item.left}/{item.right}/{index}",
                srclang=pair.left_lang,
                segtype=item.level,
            )
            ET.SubElement(unit, "prop", type="x-confidence").text = f"{pair.confidence:.2f}"
            for lang, texts in ((pair.left_lang, pair.left), (pair.right_lang, pair.right)):
                variant = ET.SubElement(unit, "tuv", {"xml:lang": lang})
                ET.SubElement(variant, "seg").text = _NOT_XML.sub("", join(texts))
    ET.indent(root, space=" ")
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
