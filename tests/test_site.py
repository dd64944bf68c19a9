"""site.py: documents → the site's structure (order, URLs, per-language lists and counts)."""

from __future__ import annotations

import pytest

from corpus_site.records import Block, Corpus, Document, Metadata, Skipped
from corpus_site.site import build_site, doc_url, lang_url, language_name


def make_doc(doc_id: str, shares: dict[str, float], words: int = 100, *, primary: str | None = None) -> Document:
    langs = list(shares)
    return Document(
        id=doc_id,
        source=f"{doc_id}.txt",
        sha256="0" * 64,
        format="text",
        encoding="utf-8",
        title=doc_id.title(),
        text=doc_id,
        blocks=tuple(Block("p", f"block {lang}", f"<p>block {lang}</p>", lang) for lang in langs),
        primary_lang=primary or langs[0],
        language_shares=tuple(shares.items()),
        words=words,
        metadata=Metadata(),
    )


def corpus_of(*documents: Document, skipped: tuple[Skipped, ...] = ()) -> Corpus:
    return Corpus(documents=documents, skipped=skipped, warnings=(), ignored=())


@pytest.fixture
def site():
    return build_site(
        corpus_of(
            make_doc("c-english-chinese", {"en": 0.8, "zh": 0.2}, words=1000),
            make_doc("a-portuguese", {"pt": 1.0}, words=300),
            make_doc("b-english", {"en": 1.0}, words=200),
            make_doc("d-arabic-english", {"ar": 0.5, "en": 0.5}, words=40),
            make_doc("e-portuguese", {"pt": 0.9, "en": 0.1}, words=100),
        )
    )


def by_code(site):
    return {language.code: language for language in site.languages}


def test_documents_are_ordered_by_source_path(site) -> None:
    assert [document.source for document in site.documents] == sorted(document.source for document in site.documents)
    assert site.documents[0].id == "a-portuguese"


def test_every_language_is_listed_with_its_primary_and_partial_documents(site) -> None:
    languages = by_code(site)
    assert set(languages) == {"en", "pt", "zh", "ar"}
    assert languages["en"].primary == ("b-english", "c-english-chinese")
    assert languages["en"].partial == ("d-arabic-english", "e-portuguese")
    assert languages["pt"].primary == ("a-portuguese", "e-portuguese")
    assert languages["pt"].partial == ()
    # A language that is no document's main language still gets its list (002's Chinese summary).
    assert languages["zh"].primary == ()
    assert languages["zh"].partial == ("c-english-chinese",)
    assert languages["ar"].primary == ("d-arabic-english",)


def test_a_document_is_never_partial_in_its_own_primary_language(site) -> None:
    for language in site.languages:
        assert not set(language.primary) & set(language.partial), language.code
    ids = {document.id for document in site.documents}
    for document in site.documents:
        primaries = [language.code for language in site.languages if document.id in language.primary]
        assert primaries == [document.primary_lang]
        assert {language.code for language in site.languages if document.id in language.partial} == {
            code for code, _ in document.language_shares if code != document.primary_lang
        }
    listed = {doc_id for language in site.languages for doc_id in language.primary}
    assert listed == ids


def test_languages_are_ordered_by_document_count_then_code(site) -> None:
    # en and pt both have two documents: the code breaks the tie; zh has none of its own, so comes last.
    assert [language.code for language in site.languages] == ["en", "pt", "ar", "zh"]


def test_word_counts_follow_the_language_shares(site) -> None:
    languages = by_code(site)
    assert languages["en"].words == round(0.8 * 1000 + 200 + 0.5 * 40 + 0.1 * 100)
    assert languages["zh"].words == 200
    assert languages["pt"].words == round(300 + 0.9 * 100)
    assert languages["ar"].words == 20


def test_language_names_and_directions(site) -> None:
    languages = by_code(site)
    assert languages["ar"].dir == "rtl"
    assert languages["en"].dir == languages["zh"].dir == "ltr"
    assert languages["pt"].name == "Português"
    assert language_name("pt-BR") == "Português"  # a region falls back to the base language's name
    assert language_name("zh-Hans") != "zh-Hans"
    assert language_name("qaa") == "qaa"  # an unknown code stays readable as itself


def test_declared_primary_language_not_among_the_shares_still_has_its_list() -> None:
    document = make_doc("declared", {"en": 1.0}, primary="he")
    site = build_site(corpus_of(document))
    languages = by_code(site)
    assert languages["he"].primary == ("declared",)
    assert languages["he"].dir == "rtl"
    assert languages["en"].partial == ("declared",)


def test_urls_are_relative_files() -> None:
    assert doc_url("x-1") == "docs/x-1.html"
    assert lang_url("zh-Hans") == "lang/zh-Hans.html"


def test_empty_corpus_has_no_languages_and_keeps_the_skipped_list() -> None:
    skipped = (Skipped("empty.txt", "empty file"),)
    site = build_site(corpus_of(skipped=skipped))
    assert site.documents == ()
    assert site.languages == ()
    assert site.corpus.skipped == skipped


def test_by_id_maps_every_document(site) -> None:
    mapping = site.by_id()
    assert list(mapping) == [document.id for document in site.documents]
    assert mapping["b-english"].title == "B-English"
