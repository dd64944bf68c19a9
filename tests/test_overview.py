"""The overview page: charts drawn at build time as inline SVG, each with a table of the same numbers."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser

from corpus_site.build import build
from helpers import load_json, parse

LANGUAGE_COLUMNS = ("Language", "Documents", "Words")
TIME_COLUMNS = ("Month", "Documents")
WORD_COLUMNS = ("Word", "Occurrences")
TOP = 12  # words a chart shows at most

# A tiny corpus whose words the test counts itself: function words that any stop list holds, and content words.
FUNCTION_WORDS = {
    "en": {"the", "and", "of", "in", "was", "were", "by", "with", "to", "a", "it"},
    "fr": {"le", "la", "les", "de", "du", "et", "dans", "un", "une", "est", "sur", "par"},
}
TINY = {
    "keeper.md": (
        "---\ntitle: Keeper\nlang: en\ndate: 2024-01-15\n---\n\n"
        "The keeper of the lighthouse trimmed the lantern and the wick. The lantern burned with a steady flame in "
        "the storm.\n\nThe harbour was quiet and the gulls were asleep on the harbour wall.\n"
    ),
    "storm.md": (
        "---\ntitle: Storm\nlang: en\ndate: 2024-01-20\n---\n\n"
        "The storm broke the harbour wall. Waves carried the nets of the fishermen to the lighthouse, and the keeper "
        "rang the bell.\n\nThe gulls circled the lantern in the storm.\n"
    ),
    "phare.md": (
        "---\ntitle: Phare\nlang: fr\ndate: 2024-03-02\n---\n\n"
        "Le gardien du phare allume la lanterne. La lanterne brille dans la tempête et le gardien surveille le port "
        "et les bateaux.\n"
    ),
    "port.md": (
        "---\ntitle: Port\nlang: fr\n---\n\n"
        "Les bateaux rentrent dans le port. Le gardien compte les bateaux et les mouettes sur le quai du port.\n"
    ),
}


def charts(page: BeautifulSoup) -> list[dict[str, Any]]:
    """Each chart on the page: its svg, its table's columns and rows, and the language of its table."""
    main = page.find("main")
    assert isinstance(main, Tag)
    found = []
    for svg in main.find_all("svg"):
        section = svg.find_parent("section")
        assert section is not None, "a chart stands in its own section"
        tables = section.find_all("table")
        assert len(tables) == 1, "each chart has one table with its numbers"
        table = tables[0]
        columns = tuple(cell.get_text(strip=True) for cell in table.select("thead th"))
        rows = [
            tuple(cell.get_text(strip=True) for cell in row.find_all(["td", "th"])) for row in table.select("tbody tr")
        ]
        found.append({"svg": svg, "columns": columns, "rows": rows, "lang": table.get("lang"), "section": section})
    return found


def language_codes(page: BeautifulSoup) -> dict[str, str]:
    """The name the site shows for a language → its code."""
    return {link.get_text(strip=True): str(link["lang"]) for link in page.select("header .langs a[lang]")}


def svg_numbers(svg: Tag) -> list[tuple[str, int]]:
    labels = [label.get_text() for label in svg.select(".chart-label")]
    values = [int(re.sub(r"\D", "", value.get_text())) for value in svg.select(".chart-value")]
    assert len(labels) == len(values) == len(svg.select(".chart-bar"))
    return list(zip(labels, values, strict=True))


def expected_languages(corpus: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Language code → (documents mainly in it, words in it) from corpus.json."""
    documents: Counter[str] = Counter(document["lang"] for document in corpus["documents"])
    words: Counter[str] = Counter()
    for document in corpus["documents"]:
        for code, share in document["languages"].items():
            words[code] += share * document["words"]
    return {code: (documents[code], round(words[code])) for code in set(documents) | set(words)}


def expected_months(corpus: dict[str, Any]) -> list[tuple[str, str]]:
    dated = Counter(
        document["metadata"]["date"][:7] for document in corpus["documents"] if document["metadata"].get("date")
    )
    undated = sum(1 for document in corpus["documents"] if not document["metadata"].get("date"))
    return [(month, str(count)) for month, count in sorted(dated.items())] + (
        [("undated", str(undated))] if undated else []
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("overview-seeds")
    for name, content in TINY.items():
        (seeds / name).write_text(content, encoding="utf-8")
    out = tmp_path_factory.mktemp("overview-site") / "site"
    build(seeds, out, cache=False)
    return out


@pytest.mark.parametrize("built", ["seeds", "tiny"])
def test_one_chart_per_language_plus_languages_and_time_each_with_a_table(
    built: str, seed_site: Path, tiny: Path
) -> None:
    out = {"seeds": seed_site, "tiny": tiny}[built]
    corpus = load_json(out)
    page = parse(out / "overview.html")
    found = charts(page)
    kinds = Counter(chart["columns"] for chart in found)
    assert kinds[LANGUAGE_COLUMNS] == 1 and kinds[TIME_COLUMNS] == 1
    languages = {path.stem for path in (out / "lang").glob("*.html")}
    word_charts = [chart for chart in found if chart["columns"] == WORD_COLUMNS]
    assert sorted(chart["lang"] for chart in word_charts) == sorted(languages)
    assert len(found) == len(languages) + 2
    for chart in found:
        svg = chart["svg"]
        assert svg.get("aria-hidden") == "true", "the drawing is decoration; the table carries the data"
        heading = chart["section"].find(["h2", "h3"])
        assert heading is not None and heading.get_text(strip=True)
        caption = chart["section"].find("caption")
        assert caption is not None and caption.get_text(strip=True)
        assert chart["rows"], "a chart with no numbers"
        # The drawing and the table say the same thing, row for row.
        drawn = svg_numbers(svg)
        assert [value for _, value in drawn] == [int(row[-1].replace(",", "")) for row in chart["rows"]]
        for (label, _), row in zip(drawn, chart["rows"], strict=True):
            assert label == row[0] or (label.endswith("…") and row[0].startswith(label[:-1])), (label, row[0])
    total = sum(document["words"] for document in corpus["documents"])
    summary = page.select_one("main .summary")
    assert summary is not None and f"{total:,}" in summary.get_text()


@pytest.mark.parametrize("built", ["seeds", "tiny"])
def test_language_and_time_tables_match_corpus_json(built: str, seed_site: Path, tiny: Path) -> None:
    out = {"seeds": seed_site, "tiny": tiny}[built]
    corpus = load_json(out)
    page = parse(out / "overview.html")
    found = charts(page)
    codes = language_codes(page)
    table = next(chart for chart in found if chart["columns"] == LANGUAGE_COLUMNS)
    shown = {codes[name]: (int(documents), int(words.replace(",", ""))) for name, documents, words in table["rows"]}
    assert shown == expected_languages(corpus)
    time = next(chart for chart in found if chart["columns"] == TIME_COLUMNS)
    assert time["rows"] == expected_months(corpus)


def test_the_tiny_corpus_counts_are_the_ones_the_test_expects(tiny: Path) -> None:
    corpus = load_json(tiny)
    assert {code: documents for code, (documents, _) in expected_languages(corpus).items()} == {"en": 2, "fr": 2}
    assert expected_months(corpus) == [("2024-01", "2"), ("2024-03", "1"), ("undated", "1")]


def test_most_frequent_words_leave_out_stop_words_and_count_right(tiny: Path) -> None:
    by_lang = {
        chart["lang"]: chart for chart in charts(parse(tiny / "overview.html")) if chart["columns"] == WORD_COLUMNS
    }
    for lang in ("en", "fr"):
        counts: Counter[str] = Counter()
        for content in TINY.values():
            front, _, body = content.partition("\n---\n")
            if f"lang: {lang}\n" not in front + "\n":
                continue
            words = re.findall(r"[^\W\d_]+", body.lower())
            counts.update(word for word in words if word not in FUNCTION_WORDS[lang] and len(word) > 2)
        expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
        assert by_lang[lang]["rows"] == [(word, str(count)) for word, count in expected]
    top_en = dict(by_lang["en"]["rows"])
    assert top_en["storm"] == "3" and top_en["lantern"] == "3" and top_en["harbour"] == "3"
    assert dict(by_lang["fr"]["rows"])["port"] == "3"


def test_the_seeds_most_frequent_words_have_no_stop_words(seed_site: Path) -> None:
    by_lang = {
        chart["lang"]: [row[0] for row in chart["rows"]]
        for chart in charts(parse(seed_site / "overview.html"))
        if chart["columns"] == WORD_COLUMNS
    }
    stop = {
        "en": {"the", "and", "of", "to", "that", "is", "it", "this", "with", "for"},
        "pt": {"de", "que", "para", "uma", "com", "não", "por", "mais", "como", "o"},
        "fr": {"de", "que", "les", "des", "une", "est", "pour", "dans", "qui", "pas"},
    }
    for lang, words in stop.items():
        assert by_lang[lang], f"no frequent words for {lang}"
        assert not set(by_lang[lang]) & words, f"stop words among {lang}'s most frequent: {set(by_lang[lang]) & words}"
        assert all(len(word) > 2 and not any(ch.isdigit() for ch in word) for word in by_lang[lang])


@pytest.mark.browser
def test_the_charts_draw_without_javascript_and_only_the_tables_reach_screen_readers(
    browser: Browser, seed_site: Path, artifacts: Path
) -> None:
    page_html = parse(seed_site / "overview.html")
    scripts = page_html.find_all("script")
    assert all(script.get("src") and "chart" not in str(script["src"]) for script in scripts), "no chart script"
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto((seed_site / "overview.html").as_uri())
        svgs = page.locator("main svg")
        count = svgs.count()
        assert count == len(charts(page_html)) >= 3
        for index in range(count):
            box = svgs.nth(index).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 10
            assert svgs.nth(index).locator("rect").count() >= 1
        # The svg is hidden from assistive technology; every table is in the accessibility tree.
        assert page.get_by_role("table").count() == count
        assert page.get_by_role("img").count() == 0
        page.screenshot(path=artifacts / "overview.png", full_page=True)
    finally:
        context.close()


def test_mojibake_check_agrees_with_ftfy() -> None:
    from ftfy.badness import is_bad

    from corpus_site.report import is_mojibake

    plain = [
        "The keeper trimmed the lantern.",
        "Zürich, São Paulo, Łódź — “quoted” façade",
        "Привет, как дела? Всё хорошо.",
        "今日は晴れです。",
        "مرحبا بالعالم",
        "Ελληνικά κείμενα; Ναι.",
        "",
        "   ",
        "œuvre",
        "Œil de bœuf 5°",
    ]
    broken = [
        text.encode("utf-8").decode(codec, errors="replace")
        for text in plain
        for codec in ("cp1252", "latin-1", "cp1251", "mac_roman", "cp1253", "cp1257")
    ]
    edges = ["Ã ", "x Ã ", "Ã\xa0b", "ГўВЂВ™s", "вЂ™", "× ²", "ØªÙ…Ø§Ù…", "Â ", "a Â ”", "à²", "ā€"]
    texts = plain + broken + edges + [f"{'plain text ' * 20}{edge}{' more' * 30}" for edge in edges]
    assert any(is_bad(text) for text in texts)
    assert [is_mojibake(text) for text in texts] == [is_bad(text) for text in texts]


def test_every_character_but_the_dotted_capital_i_lowers_to_one_of_the_same_kind_for_words() -> None:
    from corpus_site.overview import _WORD

    def kind(text: str) -> tuple[bool, bool]:
        return bool(_WORD.fullmatch(text)), text in "'’"

    changed = [
        chr(point) for point in range(0x110000) if not 0xD800 <= point < 0xE000 and chr(point).lower() != chr(point)
    ]
    odd = [ch for ch in changed if len(ch.lower()) != 1 or kind(ch) != kind(ch.lower())]
    assert odd == ["\u0130"]  # İ; Σ lowers to one character, but which one depends on what follows


@given(st.lists(st.sampled_from(["ΑΣ", "Σ", ".", "Β", "İstanbul", "l'", "’", "Œuvre", "STRASSE", " ", "1", "_", "ǅ"])))
@settings(max_examples=400)
def test_content_words_are_the_words_found_then_each_lowered(pieces: list[str]) -> None:
    from corpus_site.overview import _ELISION, _WORD, content_words, stopwords

    text = "".join(pieces)
    words = [_ELISION.sub("", word.lower()) for word in _WORD.findall(text)]
    assert content_words(text, "fr") == [word for word in words if len(word) > 2 and word not in stopwords("fr")]
