"""features.py: the per-document half of the corpus analyses, worked out where seeds are loaded and cached with them."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from corpus_site import overview, report
from corpus_site.build import build
from corpus_site.cache import default_cache_dir, open_cache
from corpus_site.features import load_analysed, with_features
from corpus_site.groups import anchors
from corpus_site.loader import discover, load_corpus
from corpus_site.overview import WordCounts, Words, charts, count_ahead
from corpus_site.records import Anchors, Document
from corpus_site.report import ShortLineCounts, health, short_lines
from corpus_site.site import build_site
from helpers import SEEDS


def seeds_with_a_duplicate_and_mojibake(folder: Path) -> Path:
    shutil.copytree(SEEDS, folder)
    first = sorted(folder.iterdir())[0]
    (folder / "copy-of-first.txt").write_bytes(first.read_bytes() + b"\nShared by a reader.\n")
    (folder / "mis-decoded.txt").write_text(
        "CafÃ© crÃ¨me and Ã©clairs were served at the seminar on Tuesday morning.\n", encoding="utf-8"
    )
    return folder


def test_the_analyses_find_the_same_from_features_as_from_the_texts(tmp_path: Path) -> None:
    seeds = seeds_with_a_duplicate_and_mojibake(tmp_path / "seeds")
    from_texts = build_site(load_corpus(seeds))
    from_features = build_site(load_corpus(seeds, lambda found: map(load_analysed, found)))
    assert all(document.features is None for document in from_texts.documents)
    assert all(document.features is not None for document in from_features.documents)
    assert from_features.groups == from_texts.groups
    assert len(from_features.groups) >= 2  # the seeds' two translation pairs
    assert from_features.duplicates == from_texts.duplicates
    assert "copy-of-first" in from_features.duplicates
    assert from_features.alignments == from_texts.alignments
    assert charts(from_features) == charts(from_texts)
    found = health(from_features)
    assert found == health(from_texts)
    assert dict(found.counts())["Suspected mojibake"] == 1
    assert dict(found.counts())["Near-duplicates"] == 2


def test_packed_anchors_unpack_to_the_anchors_found_in_the_text() -> None:
    documents = load_corpus(SEEDS).documents
    found = [anchors(document) for document in documents]
    assert all(found) and any(not anchor.token.isascii() for tokens in found for anchor in tokens)
    for document, tokens in zip(documents, found, strict=True):
        packed = Anchors.packed(tokens)
        assert packed.unpacked() == tokens
        features = with_features(document).features
        assert features and features.anchors == packed
    assert Anchors.packed(()).unpacked() == ()


def test_documents_from_the_cache_carry_their_features(tmp_path: Path) -> None:
    seeds = seeds_with_a_duplicate_and_mojibake(tmp_path / "seeds")
    build(seeds, tmp_path / "site", jobs=1)
    again = build(seeds, tmp_path / "again", jobs=1)
    assert again.from_cache == again.document_count == 7
    with open_cache(default_cache_dir(seeds), seeds) as cache:
        assert cache is not None
        found, _ignored, _problems = discover(seeds)
        records = cache.lookup(cache.keys_of(found))
    documents = [record.document for record in records if record is not None]
    assert len(documents) == 7 and all(document and document.features is not None for document in documents)


def test_words_counted_again_after_documents_came_and_went_are_those_counted_afresh(tmp_path: Path) -> None:
    seeds = seeds_with_a_duplicate_and_mojibake(tmp_path / "seeds")
    documents = build_site(load_corpus(seeds, lambda found: map(load_analysed, found))).documents
    # Serve's next builds: the same document objects, some gone, one in twice (two seeds with one record could be).
    fewer, twice = documents[1:], (*documents[2:], documents[-1])
    counts, counted = WordCounts(), []
    counts.count(lists_of(documents), carry=True)
    for changed in (fewer, documents, twice, fewer):
        counted_on = counts.count(lists_of(changed), carry=True)
        counted.append(counts.counted)
        afresh = WordCounts().count(lists_of(changed), carry=False)
        assert afresh and {lang: dict(words) for lang, words in counted_on.items()} == {
            lang: dict(words) for lang, words in afresh.items()
        }  # as dicts: a Counter equals one without its zero counts, which charts would show
    assert counted == [1, 1, 3, 2]  # only the lists that came or went


def test_words_counted_ahead_are_not_counted_again_by_the_next_site_that_carries_them(tmp_path: Path) -> None:
    seeds = seeds_with_a_duplicate_and_mojibake(tmp_path / "seeds")
    corpus = load_corpus(seeds, lambda found: map(load_analysed, found))
    documents = sorted(corpus.documents, key=lambda document: document.source)
    count_ahead(documents[1:])  # serve, once it has read its records back
    site = build_site(corpus, carry=True)  # its first rebuild, with one more document
    assert overview._COUNTS.counted == 1
    assert build_site(corpus, carry=True).words == site.words and overview._COUNTS.counted == 0
    afresh = build_site(corpus)  # a build that carries nothing counts them all, and keeps none of them
    assert afresh.words == site.words and charts(afresh) == charts(site)
    assert overview._COUNTS.counted == len(documents) and not overview._COUNTS._lists


def lists_of(documents: tuple[Document, ...]) -> list[Words]:
    return [document.features.words for document in documents if document.features]


def documents_with_a_scraped_page_twice(folder: Path) -> tuple[tuple[Document, ...], Path]:
    """The seeds' documents with a second copy of a scraped page (its aggregator's short lines), and that page."""
    seeds = seeds_with_a_duplicate_and_mojibake(folder)
    third = sorted(seeds.iterdir())[2]
    (seeds / "scraped-again.txt").write_bytes(third.read_bytes() + b"\nAnother reader's copy.\n")
    return build_site(load_corpus(seeds, lambda found: map(load_analysed, found))).documents, third


def test_boilerplate_findings_carried_from_call_to_call_are_those_found_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents, third = documents_with_a_scraped_page_twice(tmp_path / "seeds")
    copy = next(index for index, document in enumerate(documents) if document.source == "scraped-again.txt")
    without_copy = (*documents[:copy], *documents[copy + 1 :])
    made: list[str] = []
    finding = report._boilerplate_finding
    monkeypatch.setattr(
        report, "_boilerplate_finding", lambda document, *rest: made.append(document.id) or finding(document, *rest)
    )
    monkeypatch.setattr(report, "_SHORT_LINES", ShortLineCounts())
    report._boilerplate(documents, carry=True)
    # Serve's next builds: the copy gone (the page's lines are its own again), back, the same again, loaded again.
    made_again, found = [], []
    for changed in (without_copy, documents, documents, (*documents[:-1], replace(documents[-1]))):
        made.clear()
        carried = report._boilerplate(changed, carry=True)
        made_again.append(len(made))
        with monkeypatch.context() as fresh:
            fresh.setattr(report, "_SHORT_LINES", ShortLineCounts())
            assert carried == report._boilerplate(changed, carry=False)
        found.append({item.source: item.message for item in carried})
    assert found[1][third.name] != found[0][third.name]  # the lines it shares with the copy are flagged beside it
    # Only the records holding a line whose count crossed one, and a record new to the call, are looked at again.
    assert made_again[2] == 0 and made_again[3] == 1 and 0 < made_again[0] < len(documents) // 2
    # Lines counted in between (serve counts the records it reads back before its first rebuild) reach them too.
    report.count_ahead(without_copy)
    carried = report._boilerplate(without_copy, carry=True)
    with monkeypatch.context() as fresh:
        fresh.setattr(report, "_SHORT_LINES", ShortLineCounts())
        assert carried == report._boilerplate(without_copy, carry=False)


def test_short_lines_counted_again_after_documents_came_and_went_are_those_counted_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents, third = documents_with_a_scraped_page_twice(tmp_path / "seeds")
    read: list[str] = []
    lines_of = report._short_lines_of
    monkeypatch.setattr(report, "_short_lines_of", lambda document: read.append(document.id) or lines_of(document))
    carried = ShortLineCounts()
    carried.count(documents, carry=True)
    assert len(read) == len(documents)
    # Serve's next builds: the same document objects, some gone, one in twice; then one loaded again.
    reloaded = (*documents[:-1], replace(documents[-1]))
    read_again = []
    without_fourth = (*documents[:3], *documents[4:])  # its short lines are its own: their counts go to nothing
    for changed in (documents[1:], documents, (*documents[2:], documents[-1]), documents[1:], without_fourth, reloaded):
        read.clear()
        lines, seen_in = carried.count(changed, carry=True)
        read_again.append(len(read))
        assert lines == ShortLineCounts().count(changed, carry=False)[0]
        # In how many documents each short line is, as the report says it: counted plainly here.
        plainly = Counter(low for document in changed for low in {line.lower() for line in short_lines(document)})
        assert seen_in == plainly and 0 not in seen_in.values()
    assert read_again == [0, 1, 0, 1, 1, 2]  # the records not in the last call (and the one loaded again)
    assert max(seen_in.values()) > 1  # the copy shares the scraped page's short lines: they look like boilerplate
    # A count without `carry` keeps nothing for the next.
    carried.count(documents, carry=False)
    read.clear()
    carried.count(documents, carry=True)
    assert len(read) == len(documents)
