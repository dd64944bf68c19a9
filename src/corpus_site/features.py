"""The per-document half of the whole-corpus analyses, done where each seed is loaded.

Translation groups, near-duplicates, the overview's word counts and the health report each read
every document once and then combine what they read. Reading happens here, beside decoding and
language detection: in the workers, and kept in the content cache with the document, so a build
after adding one seed reads one text instead of all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from corpus_site.groups import shingle_traits, translation_traits
from corpus_site.loader import Loaded, SeedFile, load_seed
from corpus_site.overview import document_words
from corpus_site.records import Anchors, Document, Features
from corpus_site.report import mojibake_blocks, short_lines


def load_analysed(seed: SeedFile) -> Loaded:
    """load_seed, with the document's features worked out."""
    loaded = load_seed(seed)
    if loaded.document is None:
        return loaded
    return replace(loaded, document=with_features(loaded.document))


def with_features(document: Document) -> Document:
    """The document carrying its Features (they are left out of its equality)."""
    anchors, length, sentences, paragraphs = translation_traits(document)
    features = Features(
        anchors=Anchors.packed(anchors),
        length=length,
        sentences=sentences,
        paragraphs=paragraphs,
        shingles=shingle_traits(document),
        words=document_words(document),
        mojibake=mojibake_blocks(document),
        short_lines=short_lines(document),
    )
    return replace(document, features=features)


def let_go_of_features(documents: Iterable[Document]) -> None:
    """Drop the documents' Features once the site's structure and health report are made: nothing later reads them,
    and at 10,000 documents rendering then has their 45 MB. For a build that keeps no records (not serve's)."""
    for document in documents:
        # Records are frozen so that no stage changes what another reads. Features are derived from the other fields
        # and left out of equality, and any reader that finds none works them out from the text: dropping them
        # changes what a later reader costs, never what it finds.
        object.__setattr__(document, "features", None)
