"""Document bodies → paragraph-level blocks with safe HTML (plain text and Markdown)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

_URL = re.compile(r"""\b(?:https?://|www\.)[^\s<>"'\u3000-\u303f\uff00-\uffef]+""", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\"»”’"
_SAFE_SCHEME = re.compile(r"^(?:https?|mailto):", re.IGNORECASE)
_ANY_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
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
    squeezed = _INVISIBLE.sub("", url)
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
    text = "\n".join(part.strip() for part in lines)
    html = "<br>\n".join(linkify(part.strip()) for part in lines)
    return RawBlock("p", text, f"<p>{html}</p>", line)


def linkify(text: str) -> str:
    """Escape `text` and turn bare http(s) and www. URLs into links."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILING)
        out.append(escape(text[position : match.start()]))
        href = url if "://" in url else "https://" + url
        out.append(f'<a href="{escape(href)}" rel="nofollow noopener">{escape(url)}</a>')
        position = match.start() + len(url)
    out.append(escape(text[position:]))
    return "".join(out)


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = is_safe_link
    md.add_render_rule("image", _image_as_link)
    return md


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
