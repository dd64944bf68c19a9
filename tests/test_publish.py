"""Publishing: --base-url metadata, sitemap and robots, Atom feeds, 404, plain-text copies, JSON Lines; themes and
layout in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree as ET

import pytest
from bs4 import BeautifulSoup, Tag
from playwright.sync_api import Browser, BrowserContext, Page

from corpus_site import publish
from corpus_site.build import build
from corpus_site.publish import FEED_ENTRIES
from helpers import EN, PT, ROOT, SEEDS, link_target, load_json, parse, write_files

BASE = "https://example.org/corpus/"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
PAGE_KINDS = ("index", "doc", "lang", "parallel", "overview", "report", "search", "concordance", "404")

# A small corpus that stretches the layout: a group of three in two scripts and directions, a long compound, a long
# link, dates with time zones, and Markdown whose front matter and markup must not reach the plain-text copy.
LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherungsanstalt"
LONG_LINK = "https://example.com/" + "a-very-long-path-segment-" * 6 + "end"
STRETCH = {
    "harbour-en.md": (
        "---\ntitle: The harbour at night\nlang: en\ntranslation_key: harbour\ndate: 2024-05-01 23:30:00-05:00\n"
        "---\n\n# The harbour at night\n\nThe **harbour** lanterns of Ravenscar were lit at 9 pm by Tomas Berg, who "
        f"kept them burning until 1931. The company that paid him was the {LONG_WORD}.\n\n"
        f"Read more at {LONG_LINK} or ask the museum of Whitby.\n"
    ),
    "harbour-de.md": (
        "---\ntitle: Der Hafen bei Nacht\nlang: de\ntranslation_key: harbour\ndate: 2024-05-02 01:00:00+02:00\n"
        "---\n\n# Der Hafen bei Nacht\n\nDie Laternen im **Hafen** von Ravenscar zündete Tomas Berg um 21 Uhr an und "
        f"hielt sie bis 1931 in Gang. Bezahlt wurde er von der {LONG_WORD}.\n\n"
        f"Mehr unter {LONG_LINK} oder im Museum von Whitby.\n"
    ),
    "harbour-ar.md": (
        "---\ntitle: الميناء في الليل\nlang: ar\ntranslation_key: harbour\n---\n\n# الميناء في الليل\n\n"
        "أشعل توماس بيرغ فوانيس ميناء رافنسكار في الساعة التاسعة مساءً، وبقي يشعلها حتى عام 1931.\n\n"
        f"اقرأ المزيد على {LONG_LINK} أو اسأل متحف ويتبي.\n"
    ),
    "notes.txt": (
        "Notes from the archive\n\nPublished on March 3, 2023\n\nThe archive keeps letters, logbooks and maps from the "
        "harbour office, sorted by year and by ship.\n"
    ),
}


# --- helpers --------------------------------------------------------------------------------------------------


def rel(out: Path, path: Path) -> str:
    return path.relative_to(out).as_posix()


def html_pages(out: Path) -> list[Path]:
    return sorted(path for path in out.rglob("*.html") if "pagefind" not in path.relative_to(out).parts)


def kind(out: Path, path: Path) -> str:
    name = rel(out, path)
    folder = {"docs": "doc", "lang": "lang", "parallel": "parallel"}
    return folder[name.split("/")[0]] if "/" in name else name.removesuffix(".html")


def in_out(out: Path, base: str, url: str) -> Path:
    """The file under OUT an absolute URL on the base names (failing for a URL outside the site)."""
    assert url.startswith(base), f"{url} is not under {base}"
    return out / unquote(urlsplit(url).path[len(urlsplit(base).path) :])


def meta(page: BeautifulSoup, key: str) -> str | None:
    tag = page.find("meta", attrs={"property": key}) or page.find("meta", attrs={"name": key})
    return str(tag["content"]) if isinstance(tag, Tag) else None


def instant(value: str) -> datetime:
    assert RFC3339.fullmatch(value), f"{value!r} is not an RFC 3339 timestamp"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds built with --base-url."""
    out = tmp_path_factory.mktemp("published") / "site"
    build(SEEDS, out, base_url=BASE, cache=False)
    return out


@pytest.fixture(scope="module")
def stretch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = write_files(tmp_path_factory.mktemp("stretch-seeds"), STRETCH)
    out = tmp_path_factory.mktemp("stretch-site") / "site"
    build(seeds, out, cache=False)
    return out


# --- with a base URL ------------------------------------------------------------------------------------------


def test_every_page_kind_has_an_absolute_canonical_link_and_social_metadata(published: Path) -> None:
    pages = html_pages(published)
    assert {kind(published, path) for path in pages} >= set(PAGE_KINDS)
    for path in pages:
        page = parse(path)
        where = rel(published, path)
        canonical = page.select('head link[rel="canonical"]')
        assert len(canonical) == 1, where
        assert canonical[0]["href"] == BASE + quote(where)
        assert in_out(published, BASE, str(canonical[0]["href"])) == path
        title = page.title.get_text() if page.title else ""
        assert title and meta(page, "og:title") == title, where
        assert meta(page, "og:url") == canonical[0]["href"]
        assert meta(page, "og:type") == ("article" if kind(published, path) == "doc" else "website"), where
        assert meta(page, "og:site_name")
        assert meta(page, "og:locale") == str(page.html["lang"]).replace("-", "_"), where
        assert meta(page, "twitter:card") in ("summary", "summary_large_image")
        assert meta(page, "twitter:title") == title
        for link in page.select('head link[rel="alternate"][hreflang]'):
            assert in_out(published, BASE, str(link["href"])).is_file(), where


def test_the_404_page_works_at_any_depth_with_a_base_url(published: Path) -> None:
    page = parse(published / "404.html")
    assert page.h1 and "not found" in page.h1.get_text().lower()
    # Hosts serve it for any missing address, so its own links cannot be relative to where it happens to be.
    urls = [str(tag[attr]) for tag in page.find_all(True) for attr in ("href", "src", "action") if tag.has_attr(attr)]
    assert urls
    for url in urls:
        if url.startswith("#"):
            continue
        assert url.startswith(BASE), url
        assert in_out(published, BASE, url).is_file(), url
    assert any(url == BASE + "index.html" for url in urls)


def test_sitemap_lists_every_document_and_language_page_with_reciprocal_alternates(published: Path) -> None:
    root = ET.parse(published / "sitemap.xml").getroot()
    assert root.tag == f"{SITEMAP}urlset"
    corpus = load_json(published)
    entries: dict[str, set[tuple[str, str]]] = {}
    for url in root.findall(f"{SITEMAP}url"):
        loc = url.findtext(f"{SITEMAP}loc")
        assert loc and loc not in entries
        assert in_out(published, BASE, loc).is_file(), loc
        lastmod = url.findtext(f"{SITEMAP}lastmod")
        if lastmod is not None:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", lastmod) or instant(lastmod)
        links = url.findall(f"{XHTML}link")
        assert all(link.get("rel") == "alternate" for link in links)
        entries[loc] = {(str(link.get("hreflang")), str(link.get("href"))) for link in links}
    languages = {path.name for path in (published / "lang").glob("*.html")}
    assert {BASE + document["url"] for document in corpus["documents"]} <= set(entries)
    assert {BASE + "lang/" + name for name in languages} <= set(entries)
    assert {BASE + "index.html", BASE + "overview.html"} <= set(entries)
    parallel = {BASE + path.relative_to(published).as_posix() for path in (published / "parallel").rglob("*.html")}
    assert parallel and parallel <= set(entries)
    assert not {BASE + name for name in ("search.html", "concordance.html", "report.html", "404.html")} & set(entries)
    by_id = {document["id"]: document for document in corpus["documents"]}
    for document in corpus["documents"]:
        found = entries[BASE + document["url"]]
        if document["group"] is None:
            assert not found
            continue
        expected = {(by_id[m]["lang"], BASE + by_id[m]["url"]) for m in document["group"]["members"]}
        assert found == expected, "each version lists every version, itself included"
    assert sum(bool(found) for found in entries.values()) == sum(bool(d["group"]) for d in corpus["documents"]) > 0


def test_robots_txt_points_to_the_sitemap(published: Path) -> None:
    lines = (published / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert "User-agent: *" in lines
    assert f"Sitemap: {BASE}sitemap.xml" in lines
    assert not any(line.strip() == "Disallow: /" for line in lines)


# --- without one -----------------------------------------------------------------------------------------------


def test_without_a_base_url_nothing_points_at_an_address_of_the_site(seed_site: Path) -> None:
    assert not (seed_site / "sitemap.xml").exists()
    assert not (seed_site / "robots.txt").exists()
    for path in html_pages(seed_site):
        page = parse(path)
        where = rel(seed_site, path)
        assert not page.select('link[rel="canonical"]'), where
        assert meta(page, "og:url") is None, where
        for tag in page.select("head [href], head [src], body [src], form[action]"):
            value = str(tag.get("href") or tag.get("src") or tag.get("action"))
            assert not urlsplit(value).scheme and not value.startswith("/"), f"{where}: {tag}"
        for link in page.select("a[href]"):
            href = str(link["href"])
            assert not href.startswith("/"), f"{where}: {link}"
            if urlsplit(href).scheme:  # only links written in the seeds, shown in a document
                assert link.find_parent("article") is not None, f"{where}: {link}"
    for feed in [seed_site / "feed.xml", *sorted((seed_site / "lang").glob("*.xml"))]:
        for link in ET.parse(feed).getroot().iter(f"{ATOM}link"):
            assert not urlsplit(str(link.get("href"))).scheme, f"{feed.name}: {link.get('href')}"
    corpus = load_json(seed_site)
    assert all(not urlsplit(document["url"]).scheme for document in corpus["documents"])


# --- feeds --------------------------------------------------------------------------------------------------------


def check_feed(out: Path, path: Path, base: str | None) -> list[ET.Element]:
    """RFC 4287's requirements for a feed and its entries; returns the entries."""
    name = rel(out, path)
    feed = ET.parse(path).getroot()
    assert feed.tag == f"{ATOM}feed", name

    def one(parent: ET.Element, tag: str) -> ET.Element:
        found = parent.findall(f"{ATOM}{tag}")
        assert len(found) == 1, f"{name}: {len(found)} atom:{tag} in {parent.tag}"
        return found[0]

    def opened(link: ET.Element) -> Path:
        href = str(link.get("href"))
        if base:
            return in_out(out, base, href)
        found = link_target(out, path, href)
        assert found is not None, f"{name}: {href} names no file"
        return found

    for tag in ("id", "title", "updated"):
        assert (one(feed, tag).text or "").strip(), f"{name}: empty atom:{tag}"
    feed_id = one(feed, "id").text or ""
    assert urlsplit(feed_id).scheme, f"{name}: atom:id must be an IRI"
    updated = instant(one(feed, "updated").text or "")
    links = feed.findall(f"{ATOM}link")
    self_links = [link for link in links if link.get("rel") == "self"]
    assert len(self_links) == 1 and opened(self_links[0]) == path
    for link in links:
        if link.get("rel") in (None, "alternate"):
            assert opened(link).is_file(), f"{name}: {link.get('href')}"
    entries = feed.findall(f"{ATOM}entry")
    feed_has_author = bool(feed.findall(f"{ATOM}author"))
    ids = []
    times = []
    for entry in entries:
        for tag in ("id", "title", "updated"):
            assert (one(entry, tag).text or "").strip(), f"{name}: entry without atom:{tag}"
        ids.append(one(entry, "id").text)
        assert urlsplit(ids[-1] or "").scheme
        times.append(instant(one(entry, "updated").text or ""))
        assert feed_has_author or entry.findall(f"{ATOM}author/{ATOM}name"), f"{name}: entry without an author"
        alternate = [link for link in entry.findall(f"{ATOM}link") if link.get("rel") in (None, "alternate")]
        if entry.find(f"{ATOM}content") is None:
            assert alternate, f"{name}: an entry without content needs an alternate link"
        for link in alternate:
            assert opened(link).is_file(), f"{name}: {link.get('href')}"
    assert len(set(ids)) == len(ids), f"{name}: entry ids repeat"
    assert times == sorted(times, reverse=True), f"{name}: entries are not newest first"
    assert all(updated >= time for time in times), f"{name}: the feed is older than an entry"
    return entries


@pytest.mark.parametrize("built", ["seeds", "published", "stretch"])
def test_feeds_are_atom_newest_first_with_links_that_open(
    built: str, seed_site: Path, published: Path, stretch: Path
) -> None:
    out, base = {"seeds": (seed_site, None), "published": (published, BASE), "stretch": (stretch, None)}[built]
    corpus = load_json(out)
    entries = check_feed(out, out / "feed.xml", base)
    assert len(entries) == min(FEED_ENTRIES, len(corpus["documents"]))
    languages = sorted(path.stem for path in (out / "lang").glob("*.html"))
    assert sorted(path.stem for path in (out / "lang").glob("*.xml")) == languages
    for code in languages:
        feed = out / "lang" / f"{code}.xml"
        entries = check_feed(out, feed, base)
        assert ET.parse(feed).getroot().get(XML_LANG) == code
        assert all(entry.get(XML_LANG) == code for entry in entries)
        assert len(entries) == min(FEED_ENTRIES, sum(document["lang"] == code for document in corpus["documents"]))
        # Each language page offers its own feed to readers' feed discovery.
        page = out / "lang" / f"{code}.html"
        offered = parse(page).select('head link[rel="alternate"][type="application/atom+xml"]')
        hrefs = {str(link["href"]) for link in offered}
        assert any(link_target(out, page, href) == feed for href in hrefs if not urlsplit(href).scheme)
    assert parse(out / "index.html").select_one('head link[type="application/atom+xml"]')


def test_feeds_carry_only_the_newest_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "FEED_ENTRIES", 3)
    days = (5, 1, 9, 3, 7)
    texts = {f"day-{day}.md": f"---\ndate: 2024-03-0{day}\nlang: en\n---\n# Market report {day}\n\nUp." for day in days}
    seeds = write_files(tmp_path / "seeds", texts)
    build(seeds, tmp_path / "site", cache=False)
    feed = ET.parse(tmp_path / "site" / "feed.xml").getroot()
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.findall(f"{ATOM}entry")]
    assert titles == ["Market report 9", "Market report 7", "Market report 5"]
    assert (tmp_path / "site" / "lang" / "en.xml").read_text(encoding="utf-8").count("<entry") == 3


def test_a_build_in_the_same_process_writes_again_only_the_feeds_whose_entries_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stories = [("opening-en", EN), ("opening-pt", PT), ("weekend-en", EN + " " + EN), ("weekend-pt", PT + " " + PT)]
    texts = {f"{name}.md": f"---\ndate: 2024-03-0{day}\n---\n\n{text}\n" for day, (name, text) in enumerate(stories, 1)}
    seeds = write_files(tmp_path / "seeds", texts)
    written: list[str] = []
    write_feed = publish.atom_feed
    monkeypatch.setattr(publish, "atom_feed", lambda *args: written.append(args[2]) or write_feed(*args))

    def rebuild() -> list[str]:  # in this process, as serve's rebuilds; the records stay in memory
        written.clear()
        build(seeds, tmp_path / "site", cache_dir=tmp_path / "cache", resident=records, isolate=False)
        shutil.copytree(seeds, tmp_path / f"seeds-{len(made)}")  # built afresh at the end, as the rebuilds' reference
        feeds.append(
            {path: (tmp_path / "site" / path).read_bytes() for path in ("feed.xml", "lang/en.xml", "lang/pt.xml")}
        )
        return sorted(written)

    records: dict[str, Any] = {}
    made: list[list[str]] = []
    feeds: list[dict[str, bytes]] = []
    made.append(rebuild())
    (seeds / "opening-pt.md").write_text(texts["opening-pt.md"].replace("nove", "dez"), encoding="utf-8")
    made.append(rebuild())
    assert made == [["feed.xml", "lang/en.xml", "lang/pt.xml"], ["feed.xml", "lang/pt.xml"]]  # English: same records
    # Only after the rebuilds: a build without carry lets the carried feeds go (and one here might not fork).
    for step, written_then in enumerate(feeds):
        build(tmp_path / f"seeds-{step}", tmp_path / f"plain-{step}", cache=False)
        assert {path: (tmp_path / f"plain-{step}" / path).read_bytes() for path in written_then} == written_then


def test_feed_dates_with_time_zones_are_ordered_by_the_instant(stretch: Path) -> None:
    # 23:30 at UTC-5 is 04:30 UTC on the 2nd, later than 01:00 at UTC+2 (23:00 UTC on the 1st).
    feed = ET.parse(stretch / "feed.xml").getroot()
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.findall(f"{ATOM}entry")]
    assert titles.index("The harbour at night") < titles.index("Der Hafen bei Nacht")
    stamps = [entry.findtext(f"{ATOM}updated") or "" for entry in feed.findall(f"{ATOM}entry")]
    assert "2024-05-01T23:30:00-05:00" in stamps and "2024-05-02T01:00:00+02:00" in stamps


# --- other files ----------------------------------------------------------------------------------------------------


def test_each_document_has_its_cleaned_text_beside_its_page(stretch: Path, seed_site: Path) -> None:
    for out in (seed_site, stretch):
        for document in load_json(out)["documents"]:
            text_path = out / "docs" / f"{document['id']}.txt"
            assert text_path.is_file()
            text = text_path.read_text(encoding="utf-8")
            assert text.strip()
            page = parse(out / document["url"])
            body = page.select_one("article .body")
            assert body is not None
            shown = [block.get_text(" ", strip=True) for block in body.find_all(recursive=False)]
            assert " ".join(" ".join(shown).split()) == " ".join(text.split()), document["id"]
            link = page.find("a", href=f"{document['id']}.txt")
            assert link is not None, "the page links its plain text"
    text = (stretch / "docs" / "harbour-en.txt").read_text(encoding="utf-8")
    assert "---" not in text and "translation_key" not in text and "**" not in text and "# " not in text
    assert text.startswith("The harbour at night\n\n") and "The harbour lanterns" in text


def test_corpus_jsonl_is_corpus_json_one_document_per_line(seed_site: Path, stretch: Path) -> None:
    for out in (seed_site, stretch):
        documents = load_json(out)["documents"]
        lines = (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(documents)
        assert [json.loads(line) for line in lines] == documents


def test_pages_with_social_metadata_pass_the_nu_html_checker(published: Path) -> None:
    java = shutil.which("java")
    if java is None or not VNU_JAR.is_file():
        pytest.fail("java and node_modules/vnu-jar are needed; run `npm ci` and install java")
    pages = {kind(published, path): path for path in html_pages(published)}
    run = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *map(str, pages.values())],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(run.stderr)["messages"]
    assert not messages, "\n".join(f"{m.get('url')}:{m.get('lastLine')}: {m.get('message')}" for m in messages)


# --- in a browser: themes, print, narrow screens, keyboard --------------------------------------------------------


@pytest.fixture
def context(browser: Browser) -> Iterator[Any]:
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> Page:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("color_scheme", "light")
        new = browser.new_context(**options)
        new.route(re.compile(r"^(?!file:)"), lambda route: route.abort())  # nothing leaves the machine
        opened.append(new)
        return new.new_page()

    yield open_context
    for item in opened:
        item.close()


def background(page: Page) -> str:
    return str(page.evaluate("() => getComputedStyle(document.body).backgroundColor"))


def luminance(colour: str) -> float:
    red, green, blue = (int(part) for part in re.findall(r"\d+", colour)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@pytest.mark.browser
def test_the_theme_toggle_switches_and_is_remembered(context: Any, seed_site: Path) -> None:
    page = context(color_scheme="light")
    page.goto((seed_site / "index.html").as_uri())
    assert page.evaluate("() => document.documentElement.dataset.theme") is None  # following the system
    light = background(page)
    toggle = page.locator("#theme-toggle")
    assert toggle.is_visible()
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    dark = background(page)
    assert dark != light and luminance(dark) < luminance(light)
    assert toggle.get_attribute("aria-pressed") == "true"
    page.reload()
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    assert background(page) == dark
    corpus = load_json(seed_site)
    page.goto((seed_site / corpus["documents"][0]["url"]).as_uri())  # another page of the site
    assert background(page) == dark
    page.locator("#theme-toggle").click()
    assert background(page) == light


@pytest.mark.browser
def test_a_dark_system_setting_darkens_the_site_without_the_toggle(context: Any, seed_site: Path) -> None:
    light = context(color_scheme="light")
    dark = context(color_scheme="dark")
    for page in (light, dark):
        page.goto((seed_site / "index.html").as_uri())
        assert page.evaluate("() => document.documentElement.dataset.theme") is None
    assert luminance(background(dark)) < luminance(background(light))
    colour = "() => getComputedStyle(document.querySelector('main')).color"
    assert luminance(dark.evaluate(colour)) > luminance(light.evaluate(colour))


@pytest.mark.browser
def test_a_chosen_light_theme_keeps_the_parallel_highlight_light_on_a_dark_system(context: Any, stretch: Path) -> None:
    page = context(color_scheme="dark")
    page.goto((stretch / "parallel" / "harbour.html").as_uri())
    page.locator("#theme-toggle").click()
    assert page.evaluate("() => document.documentElement.dataset.theme") == "light"
    segment = page.locator(".seg[data-counterpart]:not([data-counterpart=''])").first
    segment.focus()
    counterpart = page.locator(".seg.counterpart").first
    assert counterpart.count() == 1
    highlight = counterpart.evaluate("(element) => getComputedStyle(element).backgroundColor")
    assert luminance(highlight) > luminance(background(page)) - 60, f"{highlight} is a dark theme's highlight"


@pytest.mark.browser
def test_print_hides_the_header_and_navigation_and_prints_dark_on_white(context: Any, seed_site: Path) -> None:
    corpus = load_json(seed_site)
    page = context(color_scheme="dark")
    page.goto((seed_site / corpus["documents"][0]["url"]).as_uri())
    page.locator("#theme-toggle").click()  # whatever the screen shows
    page.locator("#theme-toggle").click()
    page.emulate_media(media="print")
    assert not page.locator("header").first.is_visible()
    assert not page.locator("nav[aria-label='Site']").is_visible()
    assert not page.locator("#theme-toggle").is_visible()
    assert page.locator("main h1").is_visible()
    assert luminance(background(page)) > 250
    link = page.locator("main a[href]").first
    assert luminance(link.evaluate("(element) => getComputedStyle(element).color")) < 160, "links readable on paper"


@pytest.mark.browser
@pytest.mark.parametrize("built", ["seeds", "stretch"])
def test_no_page_kind_scrolls_sideways_at_320_pixels(
    context: Any, built: str, seed_site: Path, stretch: Path, artifacts: Path
) -> None:
    out = {"seeds": seed_site, "stretch": stretch}[built]
    page = context(viewport={"width": 320, "height": 640})
    pages = {}
    for path in html_pages(out):
        pages.setdefault(kind(out, path), []).append(path)
    assert set(pages) >= set(PAGE_KINDS)
    too_wide = {}
    for paths in pages.values():
        for path in paths:
            page.goto(path.as_uri())
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > 320:
                too_wide[rel(out, path)] = width
    assert not too_wide, f"pages wider than 320 px: {too_wide}"
    page.goto((out / "parallel" / sorted(p.name for p in (out / "parallel").glob("*.html"))[0]).as_uri())
    page.screenshot(path=artifacts / f"parallel-320-{built}.png", full_page=False)


@pytest.mark.browser
def test_skip_to_content_is_the_first_tab_stop_on_every_page_kind(context: Any, stretch: Path) -> None:
    page = context()
    seen = set()
    for path in html_pages(stretch):
        if kind(stretch, path) in seen:
            continue
        seen.add(kind(stretch, path))
        page.goto(path.as_uri())
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => ({text: document.activeElement.textContent.trim(),"
            " href: document.activeElement.getAttribute('href')})"
        )
        assert focused == {"text": "Skip to content", "href": "#main"}, rel(stretch, path)
        assert page.locator("#main").count() == 1
    assert seen >= set(PAGE_KINDS)
