"""Document bodies → paragraph-level blocks with safe HTML (plain text and Markdown)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from itertools import zip_longest
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token

_URL = re.compile(r"""(?<![A-Za-z0-9])(?:https?://|www\.)[^\s<>"'\u3000-\u303f\uff00-\uffef]+""", re.IGNORECASE)
_URL_TRAILING = ".,;:!?'\"»”’…*_"
_URL_BODY = re.compile(r"(?:https?://|www\.)[^\W_]", re.IGNORECASE)  # something after the scheme
_SAFE_SCHEME = re.compile(r"^(?:https?|mailto):", re.IGNORECASE)
_ANY_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_EXTERNAL = re.compile(r"^(?:https?:)?//", re.IGNORECASE)
# Delimiters markdown-it must balance or look up; dense runs of them cost it ~10 µs each.
_MARKDOWN_PUNCTUATION = "[]!*_`<&\\~"
# Above this many, a body is shown as plain text: a bounded time per file matters more than emphasis.
MARKDOWN_BUDGET = 300_000
_BLOCK_KINDS = {
    "paragraph_open": "p",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "blockquote_open": "quote",
    "table_open": "table",
    "fence": "code",
    "code_block": "code",
    "hr": "hr",
}


@dataclass(frozen=True, slots=True)
class RawBlock:
    """A block before language tagging; `line` is where it starts in the body (1-based)."""

    kind: str
    text: str
    html: str
    line: int


def is_safe_link(url: str) -> bool:
    """Only http, https, mailto and relative targets may become links."""
    # Judge the target as a browser would see it, and as it would read after any decoding:
    # entities and %-escapes undone, and the tabs, newlines and controls browsers ignore removed.
    head = url[:512]
    for _ in range(3):
        decoded = unquote(html.unescape(head))
        if decoded == head:
            break
        head = decoded
    squeezed = _INVISIBLE.sub("", head)
    return bool(_SAFE_SCHEME.match(squeezed)) or not _ANY_SCHEME.match(squeezed)


def text_blocks(body: str, first_line: int = 1) -> list[RawBlock]:
    """Plain text: blank lines separate paragraphs; without any, each line is one."""
    lines = body.split("\n")
    has_blank = any(not line.strip() for line in _trim_edges(lines))
    blocks: list[RawBlock] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(lines):
        if line.strip() and has_blank:
            if not current:
                start = number
            current.append(line)
            continue
        if current:
            blocks.append(_text_block(current, first_line + start))
            current = []
        if line.strip():
            blocks.append(_text_block([line], first_line + number))
    if current:
        blocks.append(_text_block(current, first_line + start))
    return blocks


def _trim_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _text_block(lines: list[str], line: int) -> RawBlock:
    parts = [part.strip() for part in lines]
    return RawBlock("p", "\n".join(parts), paragraph_html(parts), line)


def paragraph_html(lines: Sequence[str], spans: Sequence[str] = ()) -> str:
    """A plain-text paragraph, a <br> between lines; a line with an attribute string in `spans` is wrapped in a span."""
    marked = [
        f"<span{attrs}>{linkify(line)}</span>" if attrs else linkify(line)
        for line, attrs in zip_longest(lines, spans, fillvalue="")
    ]
    return "<p>" + "<br>\n".join(marked) + "</p>"


def linkify(text: str) -> str:
    """Escape `text` and turn bare http(s) and www. URLs into links."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        if not _URL_BODY.match(url):
            continue
        out.append(escape(text[position : match.start()]))
        href = url if "://" in url else "https://" + url
        out.append(f'<a href="{escape(href)}" rel="nofollow noopener">{escape(url)}</a>')
        position = match.start() + len(url)
    out.append(escape(text[position:]))
    return "".join(out)


def _trim_url(url: str) -> str:
    """Leave out punctuation that ends the sentence rather than the URL; keep a closing bracket
    that has its opening one inside the URL, as in https://en.wikipedia.org/wiki/Mercury_(planet)."""
    end = len(url)
    unmatched = {closing: url.count(closing) - url.count(opening) for opening, closing in ("()", "[]", "{}")}
    while end:
        last = url[end - 1]
        if last in unmatched:
            if unmatched[last] <= 0:
                break
            unmatched[last] -= 1
        elif last not in _URL_TRAILING:
            break
        end -= 1
    return url[:end]


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = is_safe_link  # type: ignore[method-assign]  # markdown-it-py documents this override
    md.add_render_rule("image", _image_as_link)
    md.add_render_rule("link_open", _link_open)
    return md


def markdown_cost(body: str) -> int:
    """The characters that make markdown-it work hardest; its time grows with their number."""
    return sum(body.count(ch) for ch in _MARKDOWN_PUNCTUATION)


def _link_open(self: Any, tokens: list[Token], index: int, options: Any, env: Any) -> str:
    """Links that leave the site say so to search engines and get no access to this page."""
    token = tokens[index]
    if _EXTERNAL.match(str(token.attrGet("href") or "")):
        token.attrSet("rel", "nofollow noopener")
    return str(self.renderToken(tokens, index, options, env))


def _image_as_link(self: Any, tokens: list[Token], index: int, options: Any, env: Any) -> str:
    """Images become links: a page must not fetch anything from outside the site."""
    token = tokens[index]
    alt = escape(token.content or "image")
    src = str(token.attrGet("src") or "")
    if not src or not is_safe_link(src):
        return f"[{alt}]"
    return f'<a href="{escape(src)}" rel="nofollow noopener">[{alt}]</a>'


def markdown_blocks(body: str, first_line: int = 1) -> list[RawBlock]:
    """Markdown with raw HTML off: one block per top-level element."""
    md = _markdown()
    tokens = md.parse(body)
    # The page's one <h1> is the document's title: the body's headings go below it, h2 for the top level
    # the body uses and one step per level after that, so no level is skipped.
    levels = sorted({token.tag for token in tokens if token.type == "heading_open"})
    outline = {tag: f"h{min(6, rank + 2)}" for rank, tag in enumerate(levels)}
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = outline[token.tag]
    blocks: list[RawBlock] = []
    index = 0
    while index < len(tokens):
        end = _block_end(tokens, index)
        group = tokens[index : end + 1]
        opening = group[0]
        kind = _BLOCK_KINDS.get(opening.type, opening.tag if opening.type == "heading_open" else "p")
        html = md.renderer.render(group, md.options, {}).strip()
        line = first_line + (opening.map[0] if opening.map else 0)
        if html:
            blocks.append(RawBlock(kind, _plain_text(group), html, line))
        index = end + 1
    return blocks


def _block_end(tokens: list[Token], start: int) -> int:
    if tokens[start].nesting != 1:
        return start
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _child_text(token: Token) -> str:
    return "\n" if token.type in ("softbreak", "hardbreak") else token.content


def _plain_text(group: list[Token]) -> str:
    parts: list[str] = []
    for token in group:
        if token.type == "inline":
            children = token.children or ()
            parts.append("".join(_child_text(child) for child in children) if children else token.content)
        elif token.type in ("fence", "code_block"):
            parts.append(token.content.rstrip("\n"))
    return "\n".join(part for part in parts if part)
