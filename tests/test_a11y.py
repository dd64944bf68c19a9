"""Accessibility checked by real tools: axe-core in Debian's Chromium on every page, in light and dark themes,
with the seeds and with the hostile corpus; keyboard-only use; the language of every block (WCAG 3.1.2)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from corpus_site.build import build
from helpers import ROOT, load_json, offline_index

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
HOSTILE = Path(__file__).resolve().parent / "hostile" / "xss"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Theme variants: the system setting alone, and the reader's choice from the toggle against the system setting.
THEMES = {
    "light": ("light", False),
    "dark": ("dark", False),
    "toggled-dark": ("light", True),
    "toggled-light": ("dark", True),
}
AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
  }));
}
"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing; run `make test` (or `npm ci`: package.json lists axe-core)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("a11y-hostile")
    shutil.copytree(HOSTILE, root / "seeds")
    build(root / "seeds", root / "site")
    return root / "site"


@pytest.fixture(scope="module")
def sites(seed_site: Path, hostile_site: Path) -> dict[str, Path]:
    return {"seeds": seed_site, "hostile": hostile_site}


def html_pages(out: Path) -> list[str]:
    return sorted(
        path.relative_to(out).as_posix()
        for path in out.rglob("*.html")
        if "pagefind" not in path.relative_to(out).parts
    )


def _search_word(out: Path) -> str:
    """A word the corpus holds (the longest of the first block), so search and concordance show results."""
    data = offline_index(out)
    words = re.findall(r"[^\W\d_]{4,}", data["blocks"][0][2])
    return max(words, key=len) if words else data["blocks"][0][2][:2]


def _show_dynamic_state(page: Page, path: str, word: str) -> None:
    """Put the page in the state a reader sees after using it: results listed, source opened, a segment lit."""
    if path == "search.html":
        page.fill("form[data-search-page] input[name=q]", word)
        page.press("form[data-search-page] input[name=q]", "Enter")
        page.wait_for_function("(q) => document.getElementById('search-results').dataset.query === q", arg=word)
        assert page.locator("#search-results > li").count(), f"no result for {word!r}"
    elif path == "concordance.html":
        page.fill("form[data-concordance-page] input[name=q]", word)
        page.press("form[data-concordance-page] input[name=q]", "Enter")
        page.wait_for_function("(q) => document.getElementById('kwic').dataset.query === q", arg=word)
    elif path.startswith("docs/"):
        page.click("details.source-text > summary")
    elif path.startswith("parallel/"):
        lit = page.locator(".seg:not([data-counterpart=''])")
        (lit if lit.count() else page.locator(".seg")).first.focus()


def _set_theme(page: Page, toggle: bool, scheme: str) -> None:
    if not toggle:
        return
    page.click("#theme-toggle")
    wanted = "dark" if scheme == "light" else "light"
    assert page.get_attribute("html", "data-theme") == wanted
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == wanted


def _describe(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in found.items():
        for violation in violations:
            lines.append(f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"][:5]:
                summary = " / ".join(line.strip() for line in node["summary"].splitlines() if line.strip())
                lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def themed_page(browser: Browser) -> Iterator[Any]:
    """themed_page(scheme) → a page in a context emulating that system colour scheme (one context per scheme)."""
    contexts: dict[str, Any] = {}

    def open_page(scheme: str) -> Page:
        if scheme not in contexts:
            context = browser.new_context(color_scheme=scheme, reduced_motion="reduce")
            contexts[scheme] = (context, context.new_page())
        page: Page = contexts[scheme][1]
        return page

    yield open_page
    for context, _ in contexts.values():
        context.close()


@pytest.mark.parametrize("theme", list(THEMES))
@pytest.mark.parametrize("site", ["seeds", "hostile"])
def test_axe_finds_no_violation_on_any_page(
    site: str, theme: str, sites: dict[str, Path], themed_page: Any, axe_source: str
) -> None:
    out = sites[site]
    scheme, toggle = THEMES[theme]
    page: Page = themed_page(scheme)
    word = _search_word(out)
    errors: list[str] = []

    def on_error(error: Any) -> None:
        errors.append(str(error))

    page.on("pageerror", on_error)
    found: dict[str, list[dict[str, Any]]] = {}
    kinds = {"docs/", "lang/", "parallel/"}
    try:
        for path in html_pages(out):
            # The toggled themes only change colours: one page of each kind is enough there.
            folder = path.split("/")[0] + "/" if "/" in path else None
            if toggle and folder:
                if folder not in kinds:
                    continue
                kinds.discard(folder)
            page.goto((out / path).as_uri())
            _set_theme(page, toggle, scheme)
            _show_dynamic_state(page, path, word)
            page.add_script_tag(content=axe_source)
            violations = page.evaluate(AXE_RUN, AXE_TAGS)
            if violations:
                found[f"{path} [{theme}]"] = violations
            page.evaluate("() => { try { localStorage.clear(); } catch (e) {} }")  # the toggle's choice is remembered
    finally:
        page.remove_listener("pageerror", on_error)
    assert not errors, errors
    assert not found, "axe-core found accessibility violations:\n" + _describe(found)


# ---- Keyboard only -------------------------------------------------------------------------------------------

# Every element a keyboard user should reach, tagged with its place in document order, and how each looks
# before anything is focused.
CONTROLS_JS = """
() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])';
  return [...document.querySelectorAll(selector)]
    .filter((el) => !el.disabled && !el.closest('[hidden], [inert]') && getComputedStyle(el).visibility !== 'hidden'
      && getComputedStyle(el).display !== 'none')
    .map((el, index) => {
      el.dataset.a11yControl = String(index);
      const style = getComputedStyle(el);
      const label = (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40);
      return { index, name: `<${el.localName}> ${label}`,
               outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`, shadow: style.boxShadow };
    });
}
"""
FOCUSED_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    index: el.dataset.a11yControl === undefined ? null : Number(el.dataset.a11yControl),
    name: `<${el.localName}> ${(el.textContent || '').trim().slice(0, 40)}`,
    outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
    outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`, shadow: style.boxShadow,
    onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
      && box.top < window.innerHeight && box.left < window.innerWidth,
  };
}
"""


@pytest.fixture()
def keyboard_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(color_scheme="light", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def tab_through(page: Page, limit: int) -> list[dict[str, Any]]:
    """Press Tab until focus leaves the page or comes back around; what had focus, in order."""
    visited: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused is None or (visited and focused["index"] == visited[0]["index"]):
            break
        visited.append(focused)
    return visited


@pytest.mark.parametrize("path", ["index.html", "concordance.html", "report.html", "a document"])
def test_tab_reaches_every_control_with_a_visible_focus_indicator(
    keyboard_page: Page, seed_site: Path, path: str
) -> None:
    page = keyboard_page
    if path == "a document":
        path = load_json(seed_site)["documents"][0]["url"]
    page.goto((seed_site / path).as_uri())
    controls = page.evaluate(CONTROLS_JS)
    assert len(controls) > 5
    visited = tab_through(page, len(controls) + 10)
    reached = {item["index"] for item in visited}
    missing = [control["name"] for control in controls if control["index"] not in reached]
    assert not missing, f"never reached with Tab on {path}: {missing}"
    assert None not in reached, (
        f"focus went to elements nobody can see: {[v['name'] for v in visited if v['index'] is None]}"
    )
    unfocused = {control["index"]: control for control in controls}
    for item in visited:
        before = unfocused[item["index"]]
        assert item["onScreen"], f"{item['name']} is focused but off screen"
        outlined = item["outlineStyle"] != "none" and item["outlineWidth"] > 0 and item["outline"] != before["outline"]
        assert outlined or item["shadow"] != before["shadow"], f"{item['name']} shows no focus indicator"


def test_parallel_view_highlights_the_counterpart_from_the_keyboard(keyboard_page: Page, seed_site: Path) -> None:
    page = keyboard_page
    pages = sorted((seed_site / "parallel").glob("*.html"))
    assert pages, "the seeds have no parallel page"
    page.goto(pages[0].as_uri())
    plain_background = page.evaluate("getComputedStyle(document.querySelector('.seg')).backgroundColor")
    focused = None
    for _ in range(page.locator("a[href], button, input, select, .seg").count() + 5):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => document.activeElement.matches('.seg') && document.activeElement.dataset.counterpart"
            " ? document.activeElement.id : null"
        )
        if focused:
            break
    assert focused, "no segment with a counterpart can be reached with Tab"
    state = page.evaluate(
        """(id) => {
          const seg = document.getElementById(id);
          const others = seg.dataset.counterpart.split(' ').map((other) => document.getElementById(other));
          return {
            active: seg.classList.contains('active'),
            outline: getComputedStyle(seg).outlineStyle,
            others: others.map((el) => ({ id: el.id, lit: el.classList.contains('counterpart'),
              background: getComputedStyle(el).backgroundColor, border: getComputedStyle(el).borderTopStyle })),
          };
        }""",
        focused,
    )
    assert state["active"] and state["outline"] != "none"
    for other in state["others"]:
        assert other["lit"], f"{other['id']} is not highlighted"
        assert other["background"] != plain_background and other["border"] == "dashed"  # not colour alone
    page.keyboard.press("Enter")  # jumps to the counterpart, which lights up the segment we came from
    assert page.evaluate("document.activeElement.id") == state["others"][0]["id"]
    assert page.evaluate("(id) => document.getElementById(id).classList.contains('counterpart')", focused)


# ---- Language of parts (WCAG 3.1.2) --------------------------------------------------------------------------

BLOCK_LANGS_JS = """
() => [...document.querySelectorAll('main .body > *')].map((el) => {
  const owner = el.closest('[lang]');
  return { lang: owner ? owner.getAttribute('lang') : null, dir: getComputedStyle(el).direction,
           text: el.textContent.trim().slice(0, 40) };
})
"""


@pytest.mark.parametrize("site", ["seeds", "hostile"])
def test_every_block_carries_its_language(site: str, sites: dict[str, Path], keyboard_page: Page) -> None:
    out = sites[site]
    documents = load_json(out)["documents"]
    mixed = [document for document in documents if len({block["lang"] for block in document["blocks"]}) > 1]
    assert mixed, f"the {site} corpus has no document with blocks in two languages"
    rtl = {"ar", "fa", "he", "ur"}
    for document in documents:
        keyboard_page.goto((out / document["url"]).as_uri())
        assert keyboard_page.get_attribute("html", "lang") == document["lang"]
        shown = keyboard_page.evaluate(BLOCK_LANGS_JS)
        expected = [("" if block["lang"] == "und" else block["lang"]) for block in document["blocks"]]
        assert [item["lang"] for item in shown] == expected, f"{document['source']}: {shown}"
        for item, lang in zip(shown, expected, strict=True):
            assert (item["dir"] == "rtl") == (lang.split("-")[0] in rtl), f"{document['source']}: {item}"
