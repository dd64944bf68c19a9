"""What a reader sees: the seed site opened from disk in headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from helpers import SEEDS, load_json

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 800}
NARROW: ViewportSize = {"width": 320, "height": 640}  # the width WCAG asks text to reflow at

# Every block of text under <main> (outside the verbatim source text): its share of Han characters among its
# letters, whether the browser resolves the block's language to Chinese, and whether all of its mostly-Han text
# runs do (a mixed block may stay in the page's language if its Chinese runs carry their own lang).
BLOCKS_JS = r"""
() => {
  const BLOCK = "p, li, h1, h2, h3, h4, h5, h6, blockquote, dt, dd, td, th, caption, figcaption, summary";
  const letters = (text) => (text.match(/\p{L}/gu) || []).length;
  const hanShare = (text) => (text.match(/\p{Script=Han}/gu) || []).length / Math.max(1, letters(text));
  const out = [];
  for (const block of document.querySelectorAll(`main :is(${BLOCK})`)) {
    if (block.closest("pre, code") || block.querySelector(BLOCK) || !letters(block.textContent)) continue;
    const runs = [];
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (letters(node.data) && hanShare(node.data) > 0.5) runs.push(node.parentElement.matches(":lang(zh)"));
    }
    out.push({
      text: block.textContent.trim().slice(0, 60),
      han: hanShare(block.textContent),
      zh: block.matches(":lang(zh)"),
      han_runs_zh: runs.every(Boolean),
    });
  }
  return out;
}
"""

# Elements that stick out past the right edge of the viewport, to say what overflows when the test fails.
OVERFLOW_JS = """
() => [...document.querySelectorAll("body *")]
  .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 5)
  .map((element) => `<${element.tagName.toLowerCase()} class="${element.className}"> right edge `
       + `${Math.round(element.getBoundingClientRect().right)}px`)
"""


@dataclass
class Visit:
    """A page in its own browser context, with everything it asked for and every error it raised."""

    page: Page
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: Path) -> None:
        self.page.goto(path.as_uri())


@pytest.fixture
def visit(browser: Browser) -> Iterator[Callable[[ViewportSize], Visit]]:
    contexts: list[BrowserContext] = []

    def open_context(viewport: ViewportSize) -> Visit:
        context = browser.new_context(viewport=viewport, color_scheme="light", reduced_motion="reduce")
        contexts.append(context)
        # Anything that is not a file is recorded by the listener below, then refused, so a leak fails the
        # test instead of reaching the network.
        context.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
        page = context.new_page()
        seen = Visit(page)
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on("requestfailed", lambda request: seen.failed.append(f"{request.url}: {request.failure}"))
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        return seen

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def corpus(seed_site: Path) -> dict[str, Any]:
    return load_json(seed_site)


def seed_count() -> int:
    return sum(
        1
        for path in SEEDS.rglob("*")
        if path.is_file()
        and path.suffix in {".txt", ".md", ".markdown"}
        and not any(part.startswith(".") for part in path.relative_to(SEEDS).parts)
    )


def all_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_index_lists_every_document_and_a_link_opens_it(
    visit: Callable[[ViewportSize], Visit], seed_site: Path, corpus: dict[str, Any], artifacts: Path
) -> None:
    documents = corpus["documents"]
    assert len(documents) + len(corpus["skipped"]) == seed_count()
    seen = visit(DESKTOP)
    page = seen.page
    seen.open(seed_site / "index.html")

    for document in documents:
        link = page.get_by_role("link", name=document["title"], exact=True)
        assert link.count() >= 1, f"index.html has no link named {document['title']!r}"
        assert link.first.is_visible()
    page.screenshot(path=artifacts / "index.png")

    document = next(document for document in documents if document["lang"] != "en")
    page.get_by_role("link", name=document["title"], exact=True).first.click()
    page.wait_for_url((seed_site / document["url"]).as_uri())
    assert page.locator("h1").count() == 1
    assert page.locator("h1").inner_text().strip() == document["title"]
    assert page.locator("html").get_attribute("lang") == document["lang"]
    assert page.title() == document["title"]
    page.screenshot(path=artifacts / "doc.png")

    assert seen.requests and all(url.startswith("file://") for url in seen.requests), seen.requests
    assert not seen.failed
    assert not seen.errors


def test_chinese_blocks_in_an_english_document_carry_lang_zh(
    visit: Callable[[ViewportSize], Visit], seed_site: Path, corpus: dict[str, Any]
) -> None:
    mixed = [
        document
        for document in corpus["documents"]
        if document["lang"] == "en" and any(code.split("-")[0] == "zh" for code in document["languages"])
    ]
    assert mixed, "the seeds hold an English document with Chinese parts; corpus.json shows none"
    seen = visit(DESKTOP)
    for document in mixed:
        seen.open(seed_site / document["url"])
        assert seen.page.locator("html").get_attribute("lang") == "en"
        blocks = seen.page.evaluate(BLOCKS_JS)
        chinese = [block for block in blocks if block["han"] > 0.5]
        assert chinese, f"{document['url']} shows no Chinese text"
        untagged = [block for block in chinese if not (block["zh"] or block["han_runs_zh"])]
        assert not untagged, f"Chinese blocks not inside lang=zh in {document['url']}: {untagged}"
        # Running English is not swallowed by a Chinese tag.
        english = [block for block in blocks if block["han"] == 0 and len(block["text"]) >= 40]
        assert english and not [block for block in english if block["zh"]]


def test_no_request_leaves_the_site_and_every_link_is_a_file(
    visit: Callable[[ViewportSize], Visit], seed_site: Path
) -> None:
    seen = visit(DESKTOP)
    pages = all_pages(seed_site)
    assert len(pages) > 2
    missing: list[str] = []
    for path in pages:
        seen.open(path)
        hrefs: list[str] = seen.page.evaluate("() => [...document.querySelectorAll('a[href]')].map((a) => a.href)")
        for href in hrefs:
            parts = urlsplit(href)
            if parts.scheme != "file":
                continue  # a link a reader may follow, not a request the page makes
            target = Path(unquote(parts.path))
            if not target.is_file():
                missing.append(f"{path.relative_to(seed_site)} → {href}")
    assert all(url.startswith("file://") for url in seen.requests), [
        url for url in seen.requests if not url.startswith("file://")
    ]
    assert any(url.endswith(".css") for url in seen.requests), "no page loaded a stylesheet"
    assert not seen.failed, seen.failed
    assert not seen.errors, seen.errors
    assert not missing, f"links to files that do not exist (or to bare folders): {missing}"


@pytest.mark.parametrize("page_name", ["index.html", "document"])
def test_tab_from_the_top_focuses_skip_to_content_first(
    visit: Callable[[ViewportSize], Visit], seed_site: Path, corpus: dict[str, Any], page_name: str
) -> None:
    path = seed_site / (corpus["documents"][0]["url"] if page_name == "document" else page_name)
    seen = visit(DESKTOP)
    page = seen.page
    seen.open(path)
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => { const a = document.activeElement; const box = a.getBoundingClientRect();"
        " return {text: a.textContent.trim(), href: a.getAttribute('href'), left: box.left, top: box.top}; }"
    )
    assert focused["text"] == "Skip to content"
    assert focused["left"] >= 0 and focused["top"] >= 0, "the focused skip link is off screen"
    target = focused["href"]
    assert target.startswith("#") and page.locator(target).count() == 1
    page.keyboard.press("Enter")
    # Following a fragment link updates the address asynchronously: wait for it rather than race it.
    page.wait_for_function(f"() => location.hash === {target!r}", timeout=5000)
    assert page.url.endswith(target)
    page.keyboard.press("Tab")
    assert page.evaluate(f"() => document.activeElement.closest({target!r}) !== null"), "Tab after skipping left main"


def test_phone_layout(
    visit: Callable[[ViewportSize], Visit], seed_site: Path, corpus: dict[str, Any], artifacts: Path
) -> None:
    document = next(document for document in corpus["documents"] if document["lang"] != "en")
    seen = visit(PHONE)
    seen.open(seed_site / document["url"])
    assert seen.page.locator("h1").inner_text().strip() == document["title"]
    seen.page.screenshot(path=artifacts / "doc-phone.png")


def test_no_horizontal_scrollbar_at_a_narrow_width(visit: Callable[[ViewportSize], Visit], seed_site: Path) -> None:
    seen = visit(NARROW)
    too_wide: dict[str, list[str]] = {}
    for path in all_pages(seed_site):
        seen.open(path)
        fits = seen.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        if not fits:
            too_wide[str(path.relative_to(seed_site))] = seen.page.evaluate(OVERFLOW_JS)
    assert not too_wide, f"pages wider than {NARROW['width']}px: {too_wide}"
