"""Rendering: the pages and corpus.json a build writes, read back as parsed HTML and JSON."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup, Tag

from corpus_site import __version__
from corpus_site.build import BuildError, build, data_dir
from corpus_site.langtag import text_direction
from corpus_site.loader import load_corpus
from corpus_site.render import environment, export_files, is_export_file, is_text_file, parts, text_files
from corpus_site.site import build_site, language_name
from helpers import EN, HE, PT, SEEDS, link_target, load_json, parse, write_files

TITLE_PAYLOAD = '"><img src=x onerror=alert(1)>'
SCRIPT_PAYLOAD = "<script>alert(1)</script>"
AR = "يركض الكلب في الحديقة كل صباح مع صاحبه، ويحب أن يلعب بالكرة مع الأطفال الصغار في المساء."
AR_2 = "وفي نهاية الأسبوع يذهب الجميع إلى البحر للسباحة والاستمتاع بالشمس والهواء النقي."
EN_2 = "Visitors can borrow up to ten books at a time with a free card from the front desk downstairs."

MIXED = {
    "arabic-declared.md": f"---\nlang: ar\ntitle: الكلب في الحديقة\n---\n{AR}\n\n{AR_2}\n",
    "arabic-detected.txt": f"{AR}\n\n{AR_2}\n\n{EN}\n",
    "hebrew.txt": f"{HE}\n",
    "english-with-arabic.txt": f"Library hours\n\nPublished on July 10, 2025 8:06 PM GMT\n\n{EN}\n\n{AR}\n\n{EN_2}\n",
    "hostile.txt": f"{SCRIPT_PAYLOAD}\n\n{EN} <b>bold</b> javascript:alert(2) <img src=x onerror=alert(3)>\n",
    "hostile-title.txt": f"{TITLE_PAYLOAD}\n\n{EN}\n",
    "hostile.md": (
        f"---\ntitle: '{TITLE_PAYLOAD}'\nauthor: '<script>alert(4)</script>'\nsource_url: 'javascript:alert(5)'\n"
        "tags: ['<b>x</b>', '\"><svg onload=alert(6)>']\n---\n"
        f"{EN}\n\n"
        '<div onclick="alert(7)">raw <b>html</b></div>\n\n'
        "<script>alert(8)</script>\n\n"
        "[click me](javascript:alert(9)) and [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) "
        "and [tricky](jAvAsCrIpT&#58;alert(10)) and [spaced]( javascript:alert(11)) and <javascript:alert(12)> "
        "and ![pic](x onerror=alert(13)) and [fine](https://example.org/page) and [local](other.html)\n\n"
        f"<img src=x onerror=alert(14)> {EN_2}\n"
    ),
    "nested/sub folder/Ünïcödé notes.md": (
        "---\ntitle: Notas da biblioteca\ndate: 2024-03-05\nauthor: Ana Lima\ntags: [biblioteca, horários]\n"
        "source_url: https://example.org/notas\n---\n"
        f"{PT}\n\n{PT}\n"
    ),
    "empty.txt": "   \n\n",
    "notes.pdf": "%PDF-1.4",
}
BINARY = ("binary.txt", bytes(range(256)) * 8)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(seeds, out) of a small corpus with right-to-left, mixed and hostile documents."""
    base = tmp_path_factory.mktemp("mixed")
    seeds = write_files(base / "seeds", MIXED)
    (seeds / BINARY[0]).write_bytes(BINARY[1])
    out = base / "site"
    build(seeds, out)
    return seeds, out


def docs_by_source(out: Path) -> dict[str, dict]:
    return {entry["source"]: entry for entry in load_json(out)["documents"]}


def text_of(tag: Tag) -> str:
    return " ".join(tag.get_text(" ").split())


def effective(tag: Tag, attribute: str) -> str | None:
    """The value of `attribute` on `tag` or its nearest ancestor that has it (how lang and dir inherit)."""
    node: Tag | None = tag
    while node is not None:
        if isinstance(node, Tag) and node.has_attr(attribute):
            return str(node[attribute])
        node = node.parent
    return None


def body_blocks(page: BeautifulSoup) -> list[Tag]:
    """The document's blocks, in order: the direct children of the article's body container."""
    container = page.select_one("article .body")
    assert container is not None, "doc page has no 'article .body' container"
    return [child for child in container.children if isinstance(child, Tag)]


def html_pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def seed_texts(seeds: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in seeds.rglob("*") if path.is_file())


# The index and language pages


@pytest.mark.parametrize("site", ["seeds", "mixed"])
def test_index_lists_every_document_with_title_languages_date_and_length(site, seed_site, mixed) -> None:
    out = seed_site if site == "seeds" else mixed[1]
    index = parse(out / "index.html")
    documents = load_json(out)["documents"]
    assert documents
    for entry in documents:
        links = index.find_all("a", href=entry["url"])
        assert links, f"index does not link {entry['url']}"
        assert any(text_of(link) == entry["title"] for link in links)
        row = links[0].find_parent("tr") or links[0].find_parent("li")
        assert row is not None
        row_text = text_of(row)
        for code in entry["languages"]:
            assert code in row_text or language_name(code) in row_text, (entry["id"], code)
        if entry["metadata"].get("date"):
            assert entry["metadata"]["date"][:10] in row_text
        assert f"{entry['words']:,}" in row_text or str(entry["words"]) in row_text


def test_index_shows_dates_and_skipped_files(mixed) -> None:
    seeds, out = mixed
    index = parse(out / "index.html")
    by_source = docs_by_source(out)
    assert by_source["english-with-arabic.txt"]["metadata"]["date"].startswith("2025-07-10")
    assert by_source["nested/sub folder/Ünïcödé notes.md"]["metadata"]["date"] == "2024-03-05"
    text = text_of(index)
    for skipped in load_json(out)["skipped"]:
        assert skipped["source"] in text


def test_seeds_index_and_languages(seed_site) -> None:
    by_source = docs_by_source(seed_site)
    langs = {source.split("_")[0]: entry["lang"] for source, entry in by_source.items()}
    assert langs == {"000": "pt", "001": "fr", "002": "en", "003": "pt", "004": "en"}
    chinese = next(entry for source, entry in by_source.items() if source.startswith("002"))
    assert any(code.startswith("zh") for code in chinese["languages"])


@pytest.mark.parametrize("site", ["seeds", "mixed"])
def test_a_page_per_language_lists_its_documents(site, seed_site, mixed) -> None:
    out = seed_site if site == "seeds" else mixed[1]
    documents = load_json(out)["documents"]
    codes = {entry["lang"] for entry in documents} | {code for entry in documents for code in entry["languages"]}
    index = parse(out / "index.html")
    for code in codes:
        page_path = out / "lang" / f"{code}.html"
        assert page_path.is_file(), code
        assert index.find("a", href=f"lang/{code}.html"), code
        page = parse(page_path)
        assert language_name(code) in text_of(page.find("h1"))
        linked = {a["href"] for a in page.find_all("a", href=True)}
        members = [entry for entry in documents if entry["lang"] == code or code in entry["languages"]]
        assert members
        for entry in members:
            assert "../" + entry["url"] in linked, (code, entry["id"])
        others = [entry for entry in documents if entry not in members]
        for entry in others:
            assert "../" + entry["url"] not in {a["href"] for a in page.select("main a[href]")}, (code, entry["id"])
    assert sorted(path.stem for path in (out / "lang").glob("*.html")) == sorted(codes)


# Document pages


@pytest.mark.parametrize("site", ["seeds", "mixed"])
def test_every_document_has_a_page_whose_lang_and_dir_are_its_primary_language(site, seed_site, mixed) -> None:
    out = seed_site if site == "seeds" else mixed[1]
    for entry in load_json(out)["documents"]:
        page = parse(out / entry["url"])
        html = page.find("html")
        assert html["lang"] == entry["lang"]
        assert html.get("dir", "ltr") == text_direction(entry["lang"])
        assert text_of(page.find("title")) == entry["title"] or entry["title"] in text_of(page.find("title"))
        assert text_of(page.find("h1")) == entry["title"]


def test_right_to_left_documents_declared_and_detected(mixed) -> None:
    _, out = mixed
    by_source = docs_by_source(out)
    for source, lang in [("arabic-declared.md", "ar"), ("arabic-detected.txt", "ar"), ("hebrew.txt", "he")]:
        entry = by_source[source]
        assert entry["lang"] == lang
        page = parse(out / entry["url"])
        assert page.find("html")["lang"] == lang
        assert page.find("html")["dir"] == "rtl"
        # The interface around the text (written in English) says so, so screen readers and bidi get it right.
        for landmark in page.select("header, footer"):
            assert effective(landmark, "lang") == "en" and effective(landmark, "dir") == "ltr"
    assert by_source["arabic-declared.md"]["title"] == "الكلب في الحديقة"


@pytest.mark.parametrize("site", ["seeds", "mixed"])
def test_every_block_carries_its_language_and_direction(site, seed_site, mixed) -> None:
    out = seed_site if site == "seeds" else mixed[1]
    for entry in load_json(out)["documents"]:
        page = parse(out / entry["url"])
        blocks = body_blocks(page)
        assert len(blocks) == len(entry["blocks"]), entry["id"]
        for tag, block in zip(blocks, entry["blocks"], strict=True):
            where = (entry["id"], text_of(tag)[:40])
            assert effective(tag, "dir") == text_direction(block["lang"]), where
            if block["lang"] == entry["lang"]:
                assert not tag.has_attr("lang"), f"{where}: a block in the page's language repeats it"
                assert effective(tag, "lang") == page.find("html")["lang"], where
            else:
                assert tag["lang"] == ("" if block["lang"] == "und" else block["lang"]), where  # "" is HTML's unknown
                if text_direction(block["lang"]) == text_direction(entry["lang"]):
                    assert tag.get("dir") in (None, text_direction(block["lang"]))
                else:
                    assert tag["dir"] == text_direction(block["lang"])


def test_seed_002_tags_its_chinese_summary_blocks_zh(seed_site) -> None:
    entry = next(entry for entry in load_json(seed_site)["documents"] if entry["source"].startswith("002"))
    page = parse(seed_site / entry["url"])
    han = re.compile(r"[\u4e00-\u9fff]")
    chinese = [tag for tag in body_blocks(page) if len(han.findall(text_of(tag))) > len(text_of(tag)) / 2]
    assert len(chinese) >= 5
    for tag in chinese:
        assert tag["lang"].startswith("zh")
        assert effective(tag, "dir") == "ltr"
    english = [tag for tag in body_blocks(page) if not han.search(text_of(tag)) and len(text_of(tag)) > 200]
    assert len(english) >= 5
    assert all(effective(tag, "lang") == "en" and not tag.has_attr("lang") for tag in english)


def test_mixed_blocks_in_both_directions(mixed) -> None:
    _, out = mixed
    by_source = docs_by_source(out)
    english = parse(out / by_source["english-with-arabic.txt"]["url"])
    arabic_blocks = [tag for tag in body_blocks(english) if AR[:20] in text_of(tag)]
    assert len(arabic_blocks) == 1 and arabic_blocks[0]["lang"] == "ar" and arabic_blocks[0]["dir"] == "rtl"
    arabic = parse(out / by_source["arabic-detected.txt"]["url"])
    english_blocks = [tag for tag in body_blocks(arabic) if EN[:20] in text_of(tag)]
    assert len(english_blocks) == 1 and english_blocks[0]["lang"] == "en" and english_blocks[0]["dir"] == "ltr"


def test_metadata_panel(mixed) -> None:
    seeds, out = mixed
    entry = docs_by_source(out)["nested/sub folder/Ünïcödé notes.md"]
    page = parse(out / entry["url"])
    panel = page.select_one("article aside") or page.select_one("article dl")
    assert panel is not None
    text = text_of(panel)
    assert "Ana Lima" in text and "biblioteca" in text and "horários" in text
    assert entry["sha256"] in text
    assert panel.find("time", datetime="2024-03-05") is not None
    assert panel.find("a", href="https://example.org/notas") is not None
    assert panel.find("a", href="../lang/pt.html") is not None
    assert f"{entry['words']:,}" in text
    # The panel is interface text: it is marked as English even on an Arabic page.
    arabic = parse(out / docs_by_source(out)["arabic-declared.md"]["url"])
    aside = arabic.select_one("article aside")
    assert effective(aside, "lang") == "en" and effective(aside, "dir") == "ltr"


def source_is_reachable(out: Path, page_path: Path, text: str) -> bool:
    """The source text is on the page (e.g. behind a <details>) or one link away."""
    page = parse(page_path)
    if any(pre.get_text() == text or pre.get_text().strip() == text.strip() for pre in page.find_all("pre")):
        return True
    for link in page.find_all("a", href=True):
        href = str(link["href"])
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or parts.path.startswith("/"):
            continue  # a link off the site cannot open the site's copy of the source
        target = link_target(out, page_path, href)
        readable = target is not None and target.suffix != ".html" and target.is_file()
        if readable and target.read_text(encoding="utf-8").strip() == text.strip():
            return True
    return False


@pytest.mark.parametrize("site", ["seeds", "mixed"])
def test_the_source_text_is_reachable_from_each_page(site, seed_site, mixed) -> None:
    seeds, out = (SEEDS, seed_site) if site == "seeds" else mixed
    for entry in load_json(out)["documents"]:
        text = (seeds / entry["source"]).read_text(encoding="utf-8")
        assert source_is_reachable(out, out / entry["url"], text), entry["source"]


@pytest.mark.parametrize("site", ["seeds", "mixed"])
def test_previous_and_next_links_walk_the_documents_in_order(site, seed_site, mixed) -> None:
    out = seed_site if site == "seeds" else mixed[1]
    urls = [entry["url"] for entry in load_json(out)["documents"]]
    for number, url in enumerate(urls):
        page = parse(out / url)
        previous = page.find("a", rel="prev")
        following = page.find("a", rel="next")
        if number == 0:
            assert previous is None
        else:
            assert link_target(out, out / url, previous["href"]) == out / urls[number - 1]
        if number == len(urls) - 1:
            assert following is None
        else:
            assert link_target(out, out / url, following["href"]) == out / urls[number + 1]


# Links


URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "data", "srcset", "xlink:href", "background")


@pytest.mark.parametrize("site", ["seeds", "mixed"])
def test_all_links_are_relative_and_point_at_files(site, seed_site, mixed) -> None:
    seeds, out = (SEEDS, seed_site) if site == "seeds" else mixed
    content = seed_texts(seeds)
    pages = html_pages(out)
    assert len(pages) >= 4
    for page_path in pages:
        page = parse(page_path)
        ids = {tag["id"] for tag in page.find_all(id=True)}
        for tag in page.find_all(True):
            for attribute in URL_ATTRIBUTES:
                if not tag.has_attr(attribute):
                    continue
                value = str(tag[attribute]).strip()
                where = f"{page_path.relative_to(out)}: <{tag.name} {attribute}={value!r}>"
                assert not value.startswith("//"), where
                scheme = urlsplit(value).scheme.lower()
                if scheme in ("http", "https"):
                    # Only links that come from the seeds' own text, in a document's body or metadata panel.
                    assert tag.name == "a" and tag.find_parent("article") is not None, where
                    assert value in content or value.split("://", 1)[1] in content, where
                    continue
                if scheme == "mailto":
                    assert tag.name == "a", where
                    continue
                assert not scheme, where
                assert not value.startswith("/"), where
                assert not urlsplit(value).path.endswith("/"), where
                if tag.find_parent(class_="body") is not None and value in content:
                    continue  # a relative link the seed's author wrote: theirs to keep working
                target = link_target(out, page_path, value)
                if target is None:
                    assert urlsplit(value).fragment in ids, where
                else:
                    assert target.is_file(), where


def test_no_request_leaves_the_site(seed_site) -> None:
    for page_path in html_pages(seed_site):
        page = parse(page_path)
        for tag in page.find_all(["link", "script", "img", "iframe", "source", "video", "audio", "object", "embed"]):
            for attribute in ("href", "src", "data"):
                value = str(tag.get(attribute, ""))
                assert not urlsplit(value).scheme and not value.startswith("//"), (page_path, tag)
        for style in page.find_all("style"):
            assert not re.search(r"url\(\s*['\"]?(?:[a-z]+:|//)|@import", style.get_text(), re.I)
    for css in (seed_site / "static").rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert not re.search(r"url\(\s*['\"]?(?:https?:|//)|@import\s+(?:url\()?['\"]?(?:https?:|//)", text, re.I)
    for script in (seed_site / "static").rglob("*.js"):
        assert not re.search(r"https?://|fetch\(|XMLHttpRequest", script.read_text(encoding="utf-8"))


# Hostile text


def assert_inert(page: BeautifulSoup, where: str) -> None:
    """Nothing from a seed became markup: no seed scripts, event handlers, images or script links."""
    for script in page.find_all("script"):
        assert script.get("src", "").startswith(("static/", "../static/")), f"{where}: {script}"
        assert "alert" not in script.get_text(), where
    for tag in page.find_all(True):
        for attribute, value in tag.attrs.items():
            assert not attribute.lower().startswith("on"), f"{where}: <{tag.name} {attribute}>"
            value = " ".join(value) if isinstance(value, list) else str(value)
            assert "alert(" not in value, f"{where}: <{tag.name} {attribute}={value!r}>"
    assert not page.find_all(["img", "iframe", "object", "embed", "base", "frame"]), where
    assert not page.find_all("meta", attrs={"http-equiv": True}), where
    for link in page.find_all("a", href=True):
        squeezed = re.sub(r"[\x00-\x20]", "", link["href"]).lower()
        assert not squeezed.startswith(("javascript:", "data:", "vbscript:")), f"{where}: {link}"


def test_script_in_a_text_file_is_shown_as_text(mixed) -> None:
    _, out = mixed
    entry = docs_by_source(out)["hostile.txt"]
    page = parse(out / entry["url"])
    assert_inert(page, entry["url"])
    assert not page.body.find_all("script")
    blocks = body_blocks(page)
    assert text_of(blocks[0]) == SCRIPT_PAYLOAD
    assert "<b>bold</b>" in text_of(blocks[1]) and "<img src=x onerror=alert(3)>" in text_of(blocks[1])
    assert "javascript:alert(2)" in text_of(blocks[1]) and not blocks[1].find("a")
    assert entry["title"] == SCRIPT_PAYLOAD
    assert text_of(page.find("title")) == SCRIPT_PAYLOAD


def test_raw_html_and_script_links_in_markdown_are_inert(mixed) -> None:
    _, out = mixed
    entry = docs_by_source(out)["hostile.md"]
    page = parse(out / entry["url"])
    assert_inert(page, entry["url"])
    body = text_of(page.select_one("article .body"))
    for shown in ['<div onclick="alert(7)">', "<script>alert(8)</script>", "click me", "<img src=x onerror=alert(14)>"]:
        assert shown in body
    links = {a["href"] for a in page.select("article .body a[href]")}
    assert "https://example.org/page" in links and "other.html" in links
    assert all(link in ("https://example.org/page", "other.html") for link in links), links
    panel = text_of(page.select_one("article aside"))
    assert (
        "<script>alert(4)</script>" in panel and "javascript:alert(5)" in panel and '"><svg onload=alert(6)>' in panel
    )


@pytest.mark.parametrize("source", ["hostile.md", "hostile-title.txt"])
def test_a_hostile_title_is_escaped_everywhere(mixed, source: str) -> None:
    _, out = mixed
    entry = docs_by_source(out)[source]
    assert entry["title"] == TITLE_PAYLOAD
    page = parse(out / entry["url"])
    assert text_of(page.find("title")) == TITLE_PAYLOAD
    assert text_of(page.find("h1")) == TITLE_PAYLOAD
    listings = [out / "index.html", out / "lang" / f"{entry['lang']}.html"]
    for listing in listings:
        found = [a for a in parse(listing).find_all("a") if a.get("href", "").endswith(entry["url"])]
        assert found and all(text_of(a) == TITLE_PAYLOAD for a in found), listing
    for page_path in html_pages(out):
        assert_inert(parse(page_path), str(page_path.relative_to(out)))
    raw = (out / "corpus.json").read_text(encoding="utf-8")
    assert (
        json.loads(raw)["documents"][[d["source"] for d in json.loads(raw)["documents"]].index(source)]["title"]
        == TITLE_PAYLOAD
    )


# corpus.json


@pytest.mark.parametrize("site", ["seeds", "mixed"])
def test_corpus_json_follows_the_schema(site, seed_site, mixed) -> None:
    seeds, out = (SEEDS, seed_site) if site == "seeds" else mixed
    data = load_json(out)
    assert data["generator"] == f"corpus-site {__version__}"
    assert set(data) >= {"generator", "documents", "skipped"}
    ids = [entry["id"] for entry in data["documents"]]
    assert len(set(ids)) == len(ids)
    for entry in data["documents"]:
        assert {"id", "source", "sha256", "title", "lang", "languages", "url", "words", "metadata"} <= set(entry)
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", entry["id"]), entry["id"]
        source = entry["source"]
        assert "\\" not in source and not source.startswith("/") and ".." not in source.split("/")
        assert (seeds / source).is_file()
        assert entry["sha256"] == hashlib.sha256((seeds / source).read_bytes()).hexdigest()
        assert isinstance(entry["title"], str) and entry["title"]
        assert isinstance(entry["languages"], dict) and entry["languages"]
        assert all(isinstance(share, float | int) and 0 < share <= 1 for share in entry["languages"].values())
        assert sum(entry["languages"].values()) == pytest.approx(1, abs=0.01)
        assert entry["lang"] in entry["languages"] or entry["metadata"].get("lang") == entry["lang"]
        assert not urlsplit(entry["url"]).scheme and not entry["url"].startswith("/")
        assert (out / entry["url"]).is_file()
        assert isinstance(entry["words"], int) and entry["words"] > 0
        assert isinstance(entry["metadata"], dict)
    assert [entry["source"] for entry in data["documents"]] == sorted(entry["source"] for entry in data["documents"])


def test_corpus_json_accounts_for_every_seed_file(mixed) -> None:
    seeds, out = mixed
    data = load_json(out)
    skipped = {item["source"]: item["reason"] for item in data["skipped"]}
    assert set(skipped) == {"empty.txt", "binary.txt"}
    assert all(isinstance(reason, str) and reason for reason in skipped.values())
    seed_files = {path.relative_to(seeds).as_posix() for path in seeds.rglob("*") if path.suffix in (".txt", ".md")}
    assert {entry["source"] for entry in data["documents"]} | set(skipped) == seed_files
    entry = docs_by_source(out)["nested/sub folder/Ünïcödé notes.md"]
    assert entry["metadata"]["author"] == "Ana Lima" and entry["metadata"]["tags"] == ["biblioteca", "horários"]
    assert entry["lang"] == "pt"


# Template overrides


def build_with_templates(tmp_path: Path, templates: dict[str, str]) -> Path:
    """Builds a two-document corpus with these user templates (in tmp_path/templates); returns the site folder."""
    seeds = write_files(tmp_path / "seeds", {"one.txt": f"{EN}\n", "two.txt": f"{PT}\n"})
    build(seeds, tmp_path / "site", templates=write_files(tmp_path / "templates", templates))
    return tmp_path / "site"


def test_a_user_template_extends_ours_and_overrides_one_block(tmp_path: Path) -> None:
    user_doc = (
        '{% extends "corpus-site/doc.html" %}\n'
        '{% block content %}<p class="user-banner">From my archive: {{ doc.title }}</p>\n{{ super() }}{% endblock %}\n'
    )
    site = build_with_templates(tmp_path, {"doc.html": user_doc})
    for entry in load_json(site)["documents"]:
        page = parse(site / entry["url"])
        banner = page.select_one("p.user-banner")
        assert banner is not None and text_of(banner) == f"From my archive: {entry['title']}"
        assert text_of(page.find("h1")) == entry["title"]  # ours is still there around it
        assert len(body_blocks(page)) == 1
        assert page.find("html")["lang"] == entry["lang"]
    assert parse(site / "index.html").select_one("p.user-banner") is None


def test_a_user_base_template_changes_every_page(tmp_path: Path) -> None:
    user_base = (
        '{% extends "corpus-site/base.html" %}\n'
        '{% block head %}{{ super() }}<meta name="corpus-user" content="stamp">{% endblock %}\n'
    )
    site = build_with_templates(tmp_path, {"base.html": user_base})
    for page_path in [site / "index.html", *sorted((site / "docs").glob("*.html"))]:
        page = parse(page_path)
        assert page.select_one('head meta[name="corpus-user"]') is not None, page_path
        assert page.select_one("main h1") is not None, page_path


def test_a_template_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    user_doc = '{% extends "corpus-site/doc.html" %}\n{% block content %}\n<p>{% if %}</p>\n{% endblock %}\n'
    with pytest.raises(BuildError) as caught:
        build_with_templates(tmp_path, {"doc.html": user_doc})
    message = str(caught.value)
    assert f"{tmp_path / 'templates' / 'doc.html'}:3" in message
    assert "\n" not in message and "Traceback" not in message
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    ("template", "line", "name"),
    [
        ('{% extends "corpus-site/doc.html" %}\n{% block title %}\n{{ doc.titel }}{% endblock %}\n', 3, "titel"),
        ('{% extends "corpus-site/doc.html" %}\n{% block content %}\n\n{{ sumary }}{% endblock %}\n', 4, "sumary"),
    ],
)
def test_a_typo_in_a_template_fails_the_build_naming_the_file_and_line(
    tmp_path: Path, template: str, line: int, name: str
) -> None:
    with pytest.raises(BuildError) as caught:
        build_with_templates(tmp_path, {"doc.html": template})
    message = str(caught.value)
    assert name in message
    assert f"{tmp_path / 'templates' / 'doc.html'}:{line}" in message
    assert "\n" not in message


class Item:
    def __init__(self, id: str) -> None:
        self.id = id


def test_long_tables_are_cut_into_parts_where_their_items_say() -> None:
    items = [Item(f"doc-{number:05d}") for number in range(3000)]
    cut = parts(items)
    assert [item for part in cut for item in part] == items
    assert 20 < len(cut) < 150  # about one cut in _PART_CUT items, and no part longer than _PART_MOST
    assert max(len(part) for part in cut) <= 4 * 64
    # One more item, anywhere, changes the part it falls into (two, if it is a cut itself); the others stay.
    before = {tuple(item.id for item in part) for part in cut}
    for position in (0, 1234, 3000):
        grown = parts([*items[:position], Item(f"new-{position}"), *items[position:]])
        after = {tuple(item.id for item in part) for part in grown}
        assert 1 <= len(after - before) <= 2, position
        assert len(before - after) <= 1, position
    assert parts([]) == []


def test_the_exports_serve_puts_in_after_the_pages_are_the_files_is_export_file_names(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(SEEDS, out, base_url="https://corpus.example/", cache=False)
    site = build_site(load_corpus(SEEDS))
    made = [path for path, _ in export_files(site, environment([data_dir("templates")]), "https://corpus.example/")]
    named = sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file())
    assert sorted(made) == [path for path in named if is_export_file(path)]
    assert {"corpus.json", "feed.xml", "sitemap.xml", "robots.txt"} <= set(made) and any(
        path.startswith("lang/") and path.endswith(".xml") for path in made
    )
    assert not any(is_export_file(path) for path in named if path.endswith(".html"))
    # The plain-text files, which serve's rebuilds may also put in after the pages (those of unchanged documents).
    env = environment([data_dir("templates")])
    texts = dict(text_files(site, env))
    assert sorted(texts) == [path for path in named if is_text_file(path)] and len(texts) == len(site.documents)
    assert all(texts[path] == (out / path).read_bytes() for path in texts)
    assert not any(is_text_file(path) for path in named if path.endswith(".html"))
