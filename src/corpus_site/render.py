"""Site structure → {relative path: bytes} through Jinja; never writes to disk."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from corpus_site import __version__
from corpus_site.langtag import text_direction
from corpus_site.markup import is_safe_link
from corpus_site.records import Block, Document
from corpus_site.site import Site, doc_url, lang_url, language_name

Output = dict[str, bytes]
UI_LANG = "en"  # the language of the labels and navigation our templates write
_FIRST_TAG = re.compile(r"^<([a-z][a-z0-9]*)")


def environment(template_dirs: Sequence[Path]) -> Environment:
    """Templates from the user's folders first, then ours; ours are also reachable as 'corpus-site/…'."""
    ours = FileSystemLoader(str(template_dirs[-1]))
    loader = ChoiceLoader([FileSystemLoader([str(path) for path in template_dirs]), PrefixLoader({"corpus-site": ours})])
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pick=pick, block_html=block_html, lang_name=language_name, text_dir=text_direction, lang_attrs=lang_attrs)
    env.tests["safe_link"] = is_safe_link
    env.globals.update(ui_lang=UI_LANG, version=__version__, doc_url=doc_url, lang_url=lang_url)
    return env


def pick(keys: Sequence[str], mapping: dict[str, Any]) -> list[Any]:
    """The values of `mapping` at `keys`, in order (ids → documents in templates)."""
    return [mapping[key] for key in keys]


def lang_attrs(code: str, context_lang: str | None = None) -> Markup:
    """` lang="…"` (and ` dir="rtl"`) when `code` differs from the surrounding language."""
    if code == context_lang:
        return Markup("")
    attrs = f' lang="{escape(code)}"' if code != "und" else ' lang=""'
    direction = text_direction(code)
    if context_lang is None or direction != text_direction(context_lang):
        attrs += f' dir="{direction}"'
    return Markup(attrs)


def block_html(block: Block, page_lang: str) -> Markup:
    """The block's (already escaped) element, with lang and dir where it differs from the page."""
    attrs = lang_attrs(block.lang, page_lang)
    # The loader built this HTML by escaping every piece of seed text, so it is safe markup.
    return Markup(_FIRST_TAG.sub(lambda match: f"<{match[1]}{attrs}", block.html, count=1))


def render_site(site: Site, env: Environment, progress: Callable[[int], None] | None = None) -> Output:
    """Every page of the site, plus the machine-readable export."""
    output: Output = {}
    output.update(_pages(site, env, progress))
    output["corpus.json"] = corpus_json(site)
    return output


def _pages(site: Site, env: Environment, progress: Callable[[int], None] | None) -> Iterator[tuple[str, bytes]]:
    by_id = site.by_id()
    shared = {"site": site, "languages": site.languages, "skipped": site.corpus.skipped}
    yield "index.html", _render(env, "index.html", root="", page_lang=UI_LANG, **shared, by_id=by_id)
    for language in site.languages:
        yield (
            lang_url(language.code),
            _render(env, "lang.html", root="../", page_lang=UI_LANG, language=language, by_id=by_id, **shared),
        )
    documents = site.documents
    for index, document in enumerate(documents):
        previous = documents[index - 1] if index > 0 else None
        following = documents[index + 1] if index + 1 < len(documents) else None
        yield (
            doc_url(document.id),
            _render(
                env, "doc.html", root="../", page_lang=document.primary_lang, doc=document,
                previous=previous, next=following, **shared,
            ),
        )  # fmt: skip
        yield f"docs/{document.id}.txt", document.text.encode()
        if progress:
            progress(1)


def _render(env: Environment, name: str, **context: Any) -> bytes:
    return env.get_template(name).render(**context).encode()


def corpus_json(site: Site) -> bytes:
    """The machine-readable export other tools (and the tests) read."""
    data = {
        "generator": f"corpus-site {__version__}",
        "documents": [_document_entry(document) for document in site.documents],
        "skipped": [{"source": item.source, "reason": item.reason} for item in site.corpus.skipped],
    }
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()


def _document_entry(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "source": document.source,
        "sha256": document.sha256,
        "title": document.title,
        "lang": document.primary_lang,
        "languages": dict(document.language_shares),
        "url": doc_url(document.id),
        "words": document.words,
        "metadata": document.metadata.as_dict(),
        "blocks": [{"lang": block.lang, "kind": block.kind} for block in document.blocks],
    }

