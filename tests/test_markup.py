import pytest
from bs4 import BeautifulSoup

from corpus_site.markup import MARKDOWN_BUDGET, is_safe_link, linkify, markdown_blocks, markdown_cost, text_blocks

HOSTILE_TARGETS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "\x00javascript:alert(1)",
    "\u200bjavascript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "java&#x09;script:alert(1)",
    "java&Tab;script:alert(1)",
    "%6Aavascript:alert(1)",
    "java%09script:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "file:///etc/passwd",
]
SAFE_TARGETS = ["https://example.org/a?b=c#d", "HTTP://EXAMPLE.ORG", "mailto:someone@example.org", "/absolute",
                "relative/page.html", "../up.html", "#anchor", "?query", "//example.org/protocol-relative",
                "page.html?at=10:30"]  # fmt: skip


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(f"<main>{html}</main>", "html.parser")


def rendered(markdown: str) -> BeautifulSoup:
    return soup("".join(block.html for block in markdown_blocks(markdown)))


@pytest.mark.parametrize("url", HOSTILE_TARGETS)
def test_hostile_link_targets_are_refused(url):
    assert not is_safe_link(url)


def test_a_colon_before_any_slash_is_a_scheme_to_browsers():
    assert not is_safe_link("page:with-colon.html")


@pytest.mark.parametrize("url", SAFE_TARGETS)
def test_safe_link_targets_are_allowed(url):
    assert is_safe_link(url)


# --- Markdown ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", HOSTILE_TARGETS)
def test_markdown_links_never_carry_hostile_targets(url):
    clean = url.replace("\n", " ")
    page = rendered(f"[click](<{clean}>) [again]({clean}) ![img]({clean}) <{clean}>\n\n[ref]\n\n[ref]: {clean}\n")
    for element in page.find_all(href=True):
        assert is_safe_link(element["href"]), element
    assert not page.find_all(["img", "script", "iframe", "object", "embed", "svg"])


def test_markdown_keeps_safe_links_and_marks_external_ones():
    page = rendered("[out](https://example.org/x) [in](notes/other.html) [mail](mailto:a@example.org)")
    links = {a.get_text(): a for a in page.find_all("a")}
    assert links["out"]["href"] == "https://example.org/x"
    assert links["out"]["rel"] == ["nofollow", "noopener"]
    assert links["in"]["href"] == "notes/other.html"
    assert "rel" not in links["in"].attrs
    assert links["mail"]["href"] == "mailto:a@example.org"


def test_raw_html_in_markdown_is_shown_as_text():
    source = (
        '<script>alert("x")</script>\n\n'
        'Inline <img src=x onerror=alert(1)> and <a href="javascript:alert(1)">link</a>.\n\n'
        '<div onclick="alert(1)">block</div>\n\n'
        "<svg><script>alert(1)</script></svg>\n"
    )
    page = rendered(source)
    assert not page.find_all(["script", "img", "div", "svg"])
    assert not page.find_all("a")
    assert not [tag for tag in page.find_all(True) for name in tag.attrs if name.startswith("on")]
    text = page.get_text()
    assert '<script>alert("x")</script>' in text
    assert "<img src=x onerror=alert(1)>" in text


def test_images_become_links_and_nothing_is_fetched():
    page = rendered("![a cat](https://example.org/cat.png) and ![](pics/dog.jpg)")
    assert not page.find_all("img")
    hrefs = [a["href"] for a in page.find_all("a")]
    assert hrefs == ["https://example.org/cat.png", "pics/dog.jpg"]
    assert page.find_all("a")[0].get_text() == "[a cat]"


def test_markdown_blocks_kinds_text_and_lines():
    blocks = markdown_blocks("# Title\n\nFirst *para*.\n\n- one\n- two\n\n```\ncode <b>\n```\n\n---\n", first_line=5)
    # A heading sits one level below the page's own <h1>, which is the document's title.
    assert [block.kind for block in blocks] == ["h2", "p", "list", "code", "hr"]
    assert blocks[0].html.startswith("<h2>")
    assert [block.line for block in blocks] == [5, 7, 9, 12, 16]
    assert blocks[1].text == "First para."
    assert blocks[3].text == "code <b>"
    assert soup(blocks[3].html).find("code").get_text() == "code <b>\n"


def test_body_headings_follow_the_title_without_skipping_a_level():
    blocks = markdown_blocks("## Part\n\ntext\n\n#### Detail\n\ntext\n\n## Next\n")
    assert [block.kind for block in blocks if block.kind.startswith("h")] == ["h2", "h3", "h2"]


def test_markdown_cost_counts_the_expensive_punctuation():
    assert markdown_cost("plain words only") == 0
    assert markdown_cost("[a](b) *c* `d` <e> &f \\g ~h_") == 11
    assert markdown_cost("![" * MARKDOWN_BUDGET) > MARKDOWN_BUDGET


# --- plain text -------------------------------------------------------------------------------------------------


def test_plain_text_paragraphs_are_separated_by_blank_lines():
    blocks = text_blocks("First line\nsame paragraph\n\n\nSecond  paragraph\n \t\nThird\n", first_line=1)
    assert [block.text for block in blocks] == ["First line\nsame paragraph", "Second  paragraph", "Third"]
    assert [block.line for block in blocks] == [1, 5, 7]
    assert soup(blocks[0].html).find("p").find("br") is not None


def test_plain_text_without_blank_lines_has_one_paragraph_per_line():
    blocks = text_blocks("\n\nOne.\nTwo.\nThree.\n\n")
    assert [block.text for block in blocks] == ["One.", "Two.", "Three."]
    assert all(block.kind == "p" for block in blocks)


def test_plain_text_is_shown_as_written_and_escaped():
    text = 'Hostile <script>alert("x")</script> & <b onclick="y">bold</b> *not emphasis* [not](a link)'
    (block,) = text_blocks(text)
    page = soup(block.html)
    assert not page.find_all(["script", "b"])
    assert page.get_text() == text
    assert block.text == text


@pytest.mark.parametrize(
    ("text", "href", "shown"),
    [
        ("see https://example.org/page.", "https://example.org/page", "https://example.org/page"),
        ("(https://example.org/a)", "https://example.org/a", "https://example.org/a"),
        ("at https://en.wikipedia.org/wiki/Mercury_(planet), look", "https://en.wikipedia.org/wiki/Mercury_(planet)",
         "https://en.wikipedia.org/wiki/Mercury_(planet)"),
        ("visit www.example.com, now!", "https://www.example.com", "www.example.com"),
        ("“http://example.org/q?a=1&b=2”", "http://example.org/q?a=1&b=2", "http://example.org/q?a=1&b=2"),
        ("cut https://t.co/abc…", "https://t.co/abc", "https://t.co/abc"),
        ("中文https://example.org/路径。后面", "https://example.org/路径", "https://example.org/路径"),
        ("x <https://example.org/x> y", "https://example.org/x", "https://example.org/x"),
    ],
)  # fmt: skip
def test_bare_urls_become_links_without_trailing_punctuation(text, href, shown):
    page = soup(linkify(text))
    (link,) = page.find_all("a")
    assert link["href"] == href
    assert link.get_text() == shown
    assert link["rel"] == ["nofollow", "noopener"]
    assert page.get_text() == text


@pytest.mark.parametrize(
    "text", ["http://", "www.", "https://.", "javascript:alert(1)", "x.com/AmandaAskell/s…ficação"]
)
def test_things_that_are_not_urls_stay_text(text):
    page = soup(linkify(text))
    assert not page.find_all("a")
    assert page.get_text() == text


def test_linkify_escapes_markup_around_and_inside_urls():
    text = 'http://a.example/?q=<script>alert(1)</script> "onmouseover=alert(1)'
    page = soup(linkify(text))
    assert not page.find_all("script")
    assert page.get_text() == text
    for link in page.find_all("a"):
        assert set(link.attrs) == {"href", "rel"}


def test_five_megabyte_lines_are_handled():
    # Linear work on lines a scraper leaves without a single break; a quadratic step would hang here.
    for line in ("word " * 1_000_000, "a" * 5_000_000, "汉字测试" * 1_250_000, "http://" * 700_000, "x)" * 2_500_000):
        (block,) = text_blocks(line)
        assert len(block.text) >= 4_900_000
    (block,) = markdown_blocks(("word " * 99 + "*em* ") * 10_000)
    assert block.kind == "p"
    assert len(soup(block.html).find_all("em")) == 10_000
