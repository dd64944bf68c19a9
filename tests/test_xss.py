"""Markup in seeds is inert everywhere it surfaces: a corpus of XSS payloads, built and opened in Chromium.

The payloads (tests/hostile/xss/, plus file names written here) set `window.__xss` or open a dialog if
they ever run. Every page is opened over file:// and over http:// (where Pagefind runs), searched and
clicked through; the exports and feeds are parsed and must carry the payloads as text, and a reader must
still see every payload as text: nothing executed, nothing lost.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import Browser, BrowserContext, Page

from corpus_site.build import build
from helpers import load_json, offline_index

pytestmark = pytest.mark.browser

HOSTILE = Path(__file__).resolve().parent / "hostile" / "xss"
BASE_URL = "https://example.org/corpus/"
WORD = "payloadword"  # every payload block carries it, so searches land on the payloads
SCRIPT_PAYLOAD = "<script>window.__xss=1</script>"
# Payloads in file names (made here: '<', '>' and '"' are not allowed in names on every system a checkout lands on).
NAMED = {
    "<img src=x onerror=window.__xss=1>.txt": "Payloadword: this file's name is an image with an error handler.\n",
    '"><svg onload=alert(1)>.md': "Payloadword: this file's name breaks out of an attribute.\n",
    "'-alert(1)-' {{7*7}} javascript:alert(1).txt": "Payloadword: this file's name breaks out of a script string.\n",
}
ALLOWED_SCRIPTS = {
    "static/theme.js",
    "static/search.js",
    "static/concordance.js",
    "static/parallel.js",
    "search-data.js",
}
SCHEMES = re.compile(r"^(?:javascript|data|vbscript):", re.IGNORECASE)
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcset")

# The live page, searched for anything a seed could have turned into code: event-handler attributes,
# script elements that are not ours, links with script schemes, frames, <base>, <meta refresh>, styles in the body.
PROBE_JS = """
([allowed, urlAttributes]) => {
  const root = new URL(document.querySelector('link[rel=stylesheet]').href.replace(/static\\/style\\.css$/, ''));
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.localName;
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) bad.push(`<${tag} ${name}>`);
      if (name === 'srcdoc') bad.push(`<${tag} srcdoc>`);
      if (urlAttributes.includes(name)) {
        const squeezed = attr.value.replace(/[\\u0000-\\u0020\\u007f-\\u009f]/g, '');
        if (/^(javascript|data|vbscript):/i.test(squeezed)) bad.push(`<${tag} ${name}="${attr.value}">`);
      }
    }
    if (['iframe', 'frame', 'object', 'embed', 'base', 'applet', 'portal'].includes(tag)) bad.push(`<${tag}>`);
    if (tag === 'meta' && /refresh/i.test(el.getAttribute('http-equiv') || '')) bad.push('<meta refresh>');
    if (tag === 'style' && !el.closest('head')) bad.push('<style> in the body');
    if (tag === 'script') {
      const src = el.getAttribute('src');
      const path = src ? new URL(src, document.baseURI).href.replace(root.href, '') : null;
      if (!path || !allowed.includes(path)) bad.push(`<script src=${src}>${el.textContent.slice(0, 40)}`);
    }
  }
  return { xss: window.__xss === undefined ? null : String(window.__xss), bad };
}
"""


@pytest.fixture(scope="module")
def xss_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("xss") / "seeds"
    shutil.copytree(HOSTILE, seeds)
    for name, text in NAMED.items():
        (seeds / name).write_text(text, encoding="utf-8")
    return seeds


@pytest.fixture(scope="module")
def xss_site(xss_seeds: Path) -> Path:
    out = xss_seeds.parent / "site"
    build(xss_seeds, out, base_url=BASE_URL)
    return out


@pytest.fixture(scope="module")
def corpus(xss_site: Path) -> dict[str, Any]:
    return load_json(xss_site)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass


@pytest.fixture(scope="module")
def http_base(xss_site: Path) -> Iterator[str]:
    """The site over http://127.0.0.1 (a free port), so that Pagefind's modules load."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(xss_site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def html_pages(out: Path) -> list[str]:
    return sorted(
        path.relative_to(out).as_posix()
        for path in out.rglob("*.html")
        if "pagefind" not in path.relative_to(out).parts
    )


def _doc(corpus: dict[str, Any], source: str) -> dict[str, Any]:
    return next(document for document in corpus["documents"] if document["source"] == source)


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _meta_panel(soup: BeautifulSoup) -> dict[str, Any]:
    """The document page's metadata panel: label → its <dd>."""
    return {
        _squeeze(dt.get_text()): dd for dt, dd in zip(soup.select(".meta dt"), soup.select(".meta dd"), strict=True)
    }


# ---- The built files, parsed ---------------------------------------------------------------------------------


def test_every_page_kind_was_built(xss_site: Path) -> None:
    pages = html_pages(xss_site)
    for kind in ("index.html", "search.html", "concordance.html", "overview.html", "report.html", "404.html"):
        assert kind in pages
    for folder in ("docs/", "lang/", "parallel/"):
        assert any(page.startswith(folder) for page in pages), f"no {folder} page: the payloads miss a page kind"


def test_no_page_holds_markup_from_a_seed(xss_site: Path) -> None:
    for page in html_pages(xss_site):
        soup = BeautifulSoup((xss_site / page).read_bytes(), "html.parser")
        # 404.html may be served at any depth, so with a base URL its links are absolute.
        root = BASE_URL if page == "404.html" else "../" * page.count("/")
        for script in soup.find_all("script"):
            assert script.get("src", "").removeprefix(root) in ALLOWED_SCRIPTS, f"{page}: {script}"
            assert not script.get_text().strip(), f"{page}: inline script {script}"
        for tag in soup.find_all(True):
            for name, value in tag.attrs.items():
                assert not name.lower().startswith("on"), f"{page}: <{tag.name} {name}>"
                if name.lower() in URL_ATTRIBUTES:
                    squeezed = re.sub(r"[\x00-\x20\x7f-\x9f]", "", str(value))
                    assert not SCHEMES.match(squeezed), f"{page}: <{tag.name} {name}={value!r}>"
        for name in ("iframe", "frame", "object", "embed", "base", "math"):
            assert not soup.find_all(name), f"{page}: <{name}> from a seed"
        assert page == "overview.html" or not soup.find_all("svg"), f"{page}: <svg> from a seed"  # charts are ours
        assert not soup.select("body style"), f"{page}: a <style> in the body"
        assert not soup.select('meta[http-equiv="refresh" i]')


def test_files_of_other_types_are_not_published(xss_site: Path) -> None:
    assert not list(xss_site.rglob("*.svg"))
    assert not (xss_site / "evil.html").exists()


def test_plain_text_payloads_are_shown_whole_as_text(xss_site: Path, corpus: dict[str, Any]) -> None:
    document = _doc(corpus, "plain-payloads.txt")
    soup = BeautifulSoup((xss_site / document["url"]).read_bytes(), "html.parser")
    shown = _squeeze(soup.select_one("main .body").get_text(" "))
    source = (HOSTILE / "plain-payloads.txt").read_text(encoding="utf-8")
    for paragraph in source.split("\n\n"):
        assert _squeeze(paragraph) in shown, f"lost or changed: {paragraph!r}"
    assert "{{ 7*7 }}" in shown and "49" not in shown
    # The source text as written; the decoder reads U+2028 as a line end and U+2029 as a paragraph end.
    assert soup.select_one("main pre").get_text() == source.replace("\u2028", "\n").replace("\u2029", "\n\n")
    raw = (xss_site / document["url"]).read_bytes()
    assert SCRIPT_PAYLOAD.encode() not in raw and b"<svg onload" not in raw


def test_markdown_payloads_are_shown_as_text(xss_site: Path, corpus: dict[str, Any]) -> None:
    document = _doc(corpus, "markdown-payloads.md")
    soup = BeautifulSoup((xss_site / document["url"]).read_bytes(), "html.parser")
    title = '<script>window.__xss=1</script> "Quoted" & <b>bold</b> title'
    assert document["title"] == title
    assert soup.select_one("main h1").get_text() == title
    assert soup.title is not None and title in soup.title.get_text()
    assert soup.select_one('meta[property="og:title"]')["content"] == title  # escaped in an attribute, read back whole
    meta = _meta_panel(soup)
    assert meta["Author"].get_text() == """<img src=x onerror=window.__xss=1> O'Brien & "Partners\""""
    assert meta["Tags"].get_text() == '<svg onload=window.__xss=1>, "><script>window.__xss=1</script>, {{ 7*7 }}'
    assert meta["Source URL"].get_text() == "javascript:window.__xss=1"
    assert meta["Source URL"].find("a") is None
    body = _squeeze(soup.select_one("main .body").get_text(" "))
    for text in (
        "Heading <img src=x onerror=window.__xss=1> payloadword",
        '<div onclick="window.__xss=1">a div with a handler</div>',
        '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
        '<a href="javascript:window.__xss=1">raw anchor</a>',
        '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">',
        "<svg><script>window.__xss=1</script></svg>",
        "<style>body{display:none}</style>",
        "[plain](javascript:window.__xss=1)",
        "[vb](vbscript:msgbox(1))",
        "![svg](data:image/svg+xml,<svg onload=window.__xss=1>)",
        "<javascript:window.__xss=1>",
        '{{ 7*7 }} {{ config }} {% include "base.html" %}',
        "</script><script>window.__xss=1</script><!--",
    ):
        assert _squeeze(text) in body, f"lost: {text!r}"
    links = {a["href"] for a in soup.select("main .body a[href]")}
    assert links == {"https://example.org/", "https://example.org/?a=1&b=2"}


def test_unsafe_source_urls_are_text_not_links(xss_site: Path, corpus: dict[str, Any]) -> None:
    for source in ("markdown-payloads.fr.md", "vbscript-source.md", "tab-source.md"):
        document = _doc(corpus, source)
        soup = BeautifulSoup((xss_site / document["url"]).read_bytes(), "html.parser")
        meta = _meta_panel(soup)
        assert _squeeze(meta["Source URL"].get_text()) == _squeeze(document["metadata"]["source_url"])
        for link in meta["Source URL"].find_all("a"):
            assert not SCHEMES.match(re.sub(r"[\x00-\x20]", "", link["href"]))


def test_a_language_tag_cannot_break_out_of_its_attribute(xss_site: Path, corpus: dict[str, Any]) -> None:
    document = _doc(corpus, "vbscript-source.md")
    assert re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]+)*", document["lang"])
    soup = BeautifulSoup((xss_site / document["url"]).read_bytes(), "html.parser")
    for tag in soup.select("[lang]"):
        assert re.fullmatch(r"([A-Za-z]{2,3}(-[A-Za-z0-9]+)*)?", tag["lang"]), tag
    assert soup.select_one(".meta").get_text().count("<script>window.__xss=1</script>") == 1  # the tag, as text


def test_payload_file_names_are_text_with_safe_urls(xss_site: Path, corpus: dict[str, Any]) -> None:
    index = BeautifulSoup((xss_site / "index.html").read_bytes(), "html.parser")
    shown = index.select_one("main").get_text(" ")
    for name in NAMED:
        document = _doc(corpus, name)
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", document["id"])
        page = BeautifulSoup((xss_site / document["url"]).read_bytes(), "html.parser")
        assert name in page.select_one(".meta").get_text()
        assert name in shown or document["title"] in shown


def test_lists_show_every_payload_title_as_text(xss_site: Path, corpus: dict[str, Any]) -> None:
    index = _squeeze(BeautifulSoup((xss_site / "index.html").read_bytes(), "html.parser").select_one("main").get_text())
    for document in corpus["documents"]:
        assert _squeeze(document["title"]) in index, f"{document['title']!r} is not on the index"
        page = BeautifulSoup((xss_site / "lang" / f"{document['lang']}.html").read_bytes(), "html.parser")
        assert document["title"] in [link.get_text() for link in page.select("main table a")]
    report = _squeeze(BeautifulSoup((xss_site / "report.html").read_bytes(), "html.parser").get_text(" "))
    assert """front matter lang 'en" onmouseover="window.__xss=1'""" in report  # the warning quotes it as text


def test_feeds_sitemap_and_exports_parse_and_hold_payloads_as_text(xss_site: Path, corpus: dict[str, Any]) -> None:
    titles = {document["title"] for document in corpus["documents"]}
    atom = "{http://www.w3.org/2005/Atom}"
    feeds = [xss_site / "feed.xml", *sorted((xss_site / "lang").glob("*.xml"))]
    seen: set[str] = set()
    for feed in feeds:
        tree = ET.parse(feed)
        for element in tree.iter():
            namespace = element.tag.partition("}")[0] + "}"
            assert namespace in (atom, "{http://www.w3.org/XML/1998/namespace}"), f"{feed.name}: <{element.tag}>"
            assert not any(name.lower().startswith("on") for name in element.attrib)
        for link in tree.iter(f"{atom}link"):
            assert not SCHEMES.match(link.get("href", ""))
        seen.update(entry.findtext(f"{atom}title") or "" for entry in tree.iter(f"{atom}entry"))
    assert titles <= seen
    sitemap = ET.parse(xss_site / "sitemap.xml")
    for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc"):
        assert (loc.text or "").startswith(BASE_URL) and "<" not in (loc.text or "")
    assert (xss_site / "robots.txt").read_text().endswith(f"Sitemap: {BASE_URL}sitemap.xml\n")
    lines = (xss_site / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["title"] for line in lines] == [document["title"] for document in corpus["documents"]]
    assert SCRIPT_PAYLOAD in (_doc(corpus, "markdown-payloads.md")["metadata"]["translation_key"])
    ET.parse(xss_site / "alignments.tmx")
    for line in (xss_site / "alignments.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line)


def test_search_data_is_inert_inside_a_script(xss_site: Path, corpus: dict[str, Any]) -> None:
    for path in [xss_site / "search-data.js", *(xss_site / "search-data").glob("*.js")]:
        content = path.read_text(encoding="utf-8")
        for needle in ("</script", "<!--", "<script", "\u2028", "\u2029"):
            assert needle not in content.lower(), path
    data = offline_index(xss_site)
    assert [document["title"] for document in data["docs"]] == [document["title"] for document in corpus["documents"]]
    texts = " ".join(block[2] for block in data["blocks"])
    assert "</script><script>window.__xss=1</script>" in texts and "<!--" in texts and "]]>" in texts


# ---- In the browser ------------------------------------------------------------------------------------------


@dataclass
class Watch:
    """One browser context with everything that must not happen recorded: dialogs, errors, stray requests."""

    context: BrowserContext
    page: Page
    out: Path
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)

    def check(self, where: str) -> None:
        parts = {path.relative_to(self.out).as_posix() for path in (self.out / "search-data").glob("*.js")}
        found = self.page.evaluate(PROBE_JS, [sorted(ALLOWED_SCRIPTS | parts), list(URL_ATTRIBUTES)])
        assert found["xss"] is None, f"{where}: a seed's script ran (window.__xss = {found['xss']})"
        assert not self.dialogs, f"{where}: dialogs opened: {self.dialogs}"
        assert not found["bad"], f"{where}: seed markup became live: {found['bad']}"
        assert not self.errors, f"{where}: errors in the page: {self.errors}"
        assert not self.stray, f"{where}: requests for files the site does not have: {self.stray}"


def _watch(browser: Browser, out: Path, base: str) -> Watch:
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    watch = Watch(context, page, out)

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_request(route: Any) -> None:
        url: str = route.request.url
        if url.startswith(BASE_URL):  # the public address (404.html links there): served from the build
            path = url[len(BASE_URL) :].split("?")[0].split("#")[0]
            if (out / path).is_file():
                route.fulfill(path=out / path)
                return
        if not url.startswith(base):
            watch.stray.append(url)  # nothing may leave the site
            route.abort()
            return
        path = url[len(base) :].split("?")[0].split("#")[0]
        if path != "favicon.ico" and not (out / path).is_file():
            watch.stray.append(url)  # e.g. the 'x' of <img src=x>, had it become an image
        route.continue_()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    context.route("**/*", on_request)
    return watch


@pytest.fixture(scope="module", params=["file", "http"])
def watch(request: pytest.FixtureRequest, browser: Browser, xss_site: Path) -> Iterator[tuple[Watch, str]]:
    base = xss_site.as_uri() + "/" if request.param == "file" else request.getfixturevalue("http_base")
    watched = _watch(browser, xss_site, base)
    yield watched, base
    watched.context.close()


def _interact(watch: Watch, page_path: str) -> None:
    """What a reader does on each kind of page."""
    page = watch.page
    if page_path == "index.html":
        page.click("#theme-toggle")
        page.click("#theme-toggle")
    if page_path.startswith("docs/"):
        page.click("details.source-text > summary")
        for link in page.locator("main a").all()[:20]:
            link.hover()
    if page_path.startswith("parallel/"):
        segments = page.locator(".seg")
        for index in range(segments.count()):
            segments.nth(index).focus()
            page.keyboard.press("Enter")
            segments.nth(index).hover()


def test_no_seed_script_runs_on_any_page(watch: tuple[Watch, str], xss_site: Path) -> None:
    watched, base = watch
    for page_path in html_pages(xss_site):
        watched.page.goto(base + page_path)
        watched.page.wait_for_load_state("load")
        watched.check(f"{page_path} loaded")
        _interact(watched, page_path)
        watched.check(f"{page_path} after interaction")


def _search(watch: Watch, base: str, query: str) -> dict[str, Any]:
    """Type `query` into the search page's box, submit, and read the results."""
    page = watch.page
    page.goto(base + "search.html")
    page.fill("form[data-search-page] input[name=q]", query)
    page.press("form[data-search-page] input[name=q]", "Enter")
    page.wait_for_function("(q) => document.getElementById('search-results').dataset.query === q", arg=query)
    shown: dict[str, Any] = page.evaluate(
        """() => ({
          engine: document.querySelector('form[data-search-page]').dataset.engine,
          titles: [...document.querySelectorAll('#search-results a')].map((a) => a.textContent),
          excerpts: [...document.querySelectorAll('#search-results .excerpt')].map((p) => p.textContent),
          status: document.getElementById('search-status').textContent,
        })"""
    )
    return shown


def test_searching_the_payloads_runs_none_of_them(watch: tuple[Watch, str], corpus: dict[str, Any]) -> None:
    watched, base = watch
    shown = _search(watched, base, WORD)
    assert shown["engine"] == ("offline" if base.startswith("file:") else "pagefind")
    payload_title = _doc(corpus, "markdown-payloads.md")["title"]
    assert payload_title in shown["titles"], shown["titles"]  # the title's markup, as text
    assert any("<" in excerpt for excerpt in shown["excerpts"])
    watched.check(f"search for {WORD!r}")
    for query in (SCRIPT_PAYLOAD, '"><img src=x onerror=window.__xss=1>', "{{ 7*7 }}"):
        shown = _search(watched, base, query)
        assert query in shown["status"]
        watched.check(f"search for {query!r}")


def test_a_payload_typed_in_the_header_search_box_stays_text(watch: tuple[Watch, str]) -> None:
    watched, base = watch
    page = watched.page
    page.goto(base + "index.html")
    query = f"<img src=x onerror=window.__xss=1> {WORD}"
    page.fill(".site-search input[name=q]", query)
    page.press(".site-search input[name=q]", "Enter")
    page.wait_for_url("**/search.html?q=*")
    page.wait_for_function("(q) => document.getElementById('search-results').dataset.query === q", arg=query)
    assert page.input_value("form[data-search-page] input[name=q]") == query
    watched.check("search from the header")


def _concordance(watch: Watch, base: str, query: str, whole_words: bool = True) -> list[dict[str, str]]:
    page = watch.page
    page.goto(base + "concordance.html")
    if not whole_words:
        page.uncheck("input[name=words]")
    page.fill("form[data-concordance-page] input[name=q]", query)
    page.press("form[data-concordance-page] input[name=q]", "Enter")
    page.wait_for_function("(q) => document.getElementById('kwic').dataset.query === q", arg=query)
    rows: list[dict[str, str]] = page.evaluate(
        """() => [...document.querySelectorAll('#kwic tbody tr')].map((tr) => ({
          doc: tr.querySelector('.doc').textContent,
          left: tr.querySelector('.left').textContent,
          key: tr.querySelector('.key').textContent,
          right: tr.querySelector('.right').textContent,
        }))"""
    )
    return rows


def test_the_concordance_shows_payloads_as_text(watch: tuple[Watch, str]) -> None:
    watched, base = watch
    rows = _concordance(watched, base, WORD)
    assert rows and all(row["key"].casefold() == WORD for row in rows)
    watched.check(f"concordance of {WORD!r}")
    rows = _concordance(watched, base, SCRIPT_PAYLOAD, whole_words=False)
    assert rows and all(row["key"] == SCRIPT_PAYLOAD for row in rows)
    assert any("<script>" in row["doc"] for row in rows)  # the payload title, shown as text
    watched.check(f"concordance of {SCRIPT_PAYLOAD!r}")
    rows = _concordance(watched, base, "</script><script>", whole_words=False)
    assert rows
    watched.check("concordance of '</script><script>'")


def test_payloads_in_query_strings_stay_text(watch: tuple[Watch, str]) -> None:
    watched, base = watch
    page = watched.page
    query = '"><script>window.__xss=1</script>'
    for path in ("search.html", "concordance.html"):
        page.goto(f"{base}{path}?q={quote(query)}&lang={quote('<svg onload=alert(1)>')}&width={quote('<b>')}")
        status = "#search-status" if path == "search.html" else "#kwic-status"
        page.wait_for_function("(sel) => document.querySelector(sel).textContent.includes('”')", arg=status)
        assert query in page.text_content(status) or ""
        watched.check(f"{path} with a payload in its query string")
