"""features.py: the per-document half of the corpus analyses, worked out where seeds are loaded and cached with them."""

from __future__ import annotations

import shutil
from pathlib import Path

from corpus_site import overview
from corpus_site.build import build
from corpus_site.cache import default_cache_dir, open_cache
from corpus_site.features import load_analysed
from corpus_site.loader import discover, load_corpus
from corpus_site.overview import WordCounts, Words, charts, count_ahead
from corpus_site.records import Document
from corpus_site.report import health
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
    counts.count(lists_of(documents))
    for changed in (fewer, documents, twice, fewer):
        counted_on = counts.count(lists_of(changed))
        counted.append(counts.counted)
        afresh = WordCounts().count(lists_of(changed))
        assert afresh and {lang: dict(words) for lang, words in counted_on.items()} == {
            lang: dict(words) for lang, words in afresh.items()
        }  # as dicts: a Counter equals one without its zero counts, which charts would show
    assert counted == [1, 1, 3, 2]  # only the lists that came or went


def test_words_counted_ahead_are_not_counted_again_by_the_charts(tmp_path: Path) -> None:
    seeds = seeds_with_a_duplicate_and_mojibake(tmp_path / "seeds")
    site = build_site(load_corpus(seeds, lambda found: map(load_analysed, found)))
    count_ahead(site.documents[1:])  # serve, once it has read its records back
    counted = charts(site)  # its first rebuild, with one more document
    assert overview._COUNTS.counted == 1
    assert counted == charts(site) and overview._COUNTS.counted == 0


def lists_of(documents: tuple[Document, ...]) -> list[Words]:
    return [document.features.words for document in documents if document.features]
