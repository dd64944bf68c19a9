"""Site structure → (relative path, bytes) pairs through Jinja; never writes to disk."""

from __future__ import annotations

import functools
import json
import re
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    Template,
    pass_environment,
    select_autoescape,
)
from markupsafe import Markup, escape

from corpus_site import __version__, overview, publish, report
from corpus_site.align import alignments_jsonl, tmx
from corpus_site.groups import Group
from corpus_site.langtag import text_direction
from corpus_site.markup import is_safe_link
from corpus_site.records import Block, Document
from corpus_site.site import Site, doc_url, lang_url, language_name, parallel_url
from corpus_site.writer import KeptFile

if TYPE_CHECKING:  # the page memo is the build's, installed on the environment (cache.PageMemo.install)
    from corpus_site.cache import PageMemo

UI_LANG = "en"  # the language of the labels and navigation our templates write
_FIRST_TAG = re.compile(r"^<([a-z][a-z0-9]*)")


def environment(template_dirs: Sequence[Path]) -> Environment:
    """Templates from the user's folders first, then ours; ours are also reachable as 'corpus-site/…'."""
    ours = FileSystemLoader(str(template_dirs[-1]))
    loader = ChoiceLoader(
        [FileSystemLoader([str(path) for path in template_dirs]), PrefixLoader({"corpus-site": ours})]
    )
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # no stat of the template files for every page: build.py reuses one only while unchanged
    )
    env.filters.update(
        pick=pick,
        block_html=block_html,
        lang_name=language_name,
        text_dir=text_direction,
        lang_attrs=lang_attrs,
        parts=parts,
    )
    env.tests["safe_link"] = is_safe_link
    env.globals.update(
        parallel_url=parallel_url,
        absolute=publish.absolute,
        ui_lang=UI_LANG,
        version=__version__,
        doc_url=doc_url,
        lang_url=lang_url,
        fragment=fragment,
    )
    return env


@pass_environment
def fragment(env: Environment, name: str, **context: Any) -> Markup:
    """The template `name` rendered with `context` alone, for a part of a page (the rows of a long table).

    Under the build's page memo, a part an earlier build rendered from the same inputs comes back without
    rendering (cache.PageMemo.fragment). Its output is autoescaped like any page, so it is safe markup.
    """
    memo = getattr(env, "corpus_site_memo", None)
    return Markup(memo.fragment(name, context) if memo else env.get_template(name).render(context))


_PART_CUT = 64  # a part ends after an item whose id hashes to 0 modulo this: about this many items per part
_PART_MOST = 4 * _PART_CUT


def parts(items: Sequence[Any]) -> list[Sequence[Any]]:
    """`items` (each with an `id`) in consecutive parts for fragment(), cut after items chosen by their id.

    Cuts chosen by content, not by position, stay where they are when an item is added or removed elsewhere
    (as rsync cuts files into blocks), so one more document changes one part of a 10,000-row table. A run
    without a chosen item is cut at _PART_MOST, to bound what one change renders again.
    """
    result, start = [], 0
    for index, item in enumerate(items):
        if index + 1 - start >= _PART_MOST or zlib.crc32(item.id.encode()) % _PART_CUT == 0:
            result.append(items[start : index + 1])
            start = index + 1
    if start < len(items):
        result.append(items[start:])
    return result


def pick(keys: Sequence[str], mapping: dict[str, Any]) -> list[Any]:
    """The values of `mapping` at `keys`, in order (ids → documents in templates)."""
    return [mapping[key] for key in keys]


def lang_attrs(code: str, context_lang: str | None = None) -> Markup:
    """` lang="…"` (and ` dir="rtl"`) when `code` differs from the surrounding language."""
    return _lang_attrs(code, context_lang)  # a plain function for the page memo, as text_direction


@functools.lru_cache(maxsize=4096)
def _lang_attrs(code: str, context_lang: str | None) -> Markup:
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
    if not attrs:  # most blocks are in the page's language
        return Markup(block.html)
    return Markup(_FIRST_TAG.sub(lambda match: f"<{match[1]}{attrs}", block.html, count=1))


def render_site(
    site: Site,
    env: Environment,
    progress: Callable[[int], None] | None = None,
    *,
    base_url: str | None = None,
    health: report.Health | None = None,
    exports: bool = True,
) -> Iterator[tuple[str, bytes | KeptFile]]:
    """Every page of the site, plus (with `exports`) the machine-readable exports and feeds, one file at a time.
    Without `exports`, the plain-text files (docs/<id>.txt) are only those the page memo does not know made from the
    same document as in the last build in this process: the rest come with the exports (text_files)."""
    yield from _pages(site, env, progress, base_url, health or report.health(site), all_texts=exports)
    if exports:
        yield from export_files(site, env, base_url)


# What export_files makes (the language feeds are lang/<code>.xml beside lang/<code>.html).
_EXPORT_NAMES = frozenset(
    {"corpus.json", "corpus.jsonl", "feed.xml", "alignments.jsonl", "alignments.tmx", "sitemap.xml", "robots.txt"}
)


def is_export_file(path: str) -> bool:
    """Whether a path of the site (relative, with /) is one that export_files makes."""
    return path in _EXPORT_NAMES or (path.startswith("lang/") and path.endswith(".xml") and path.count("/") == 1)


def is_text_file(path: str) -> bool:
    """Whether a path of the site (relative, with /) is a document's plain text (text_files)."""
    return path.startswith("docs/") and path.endswith(".txt") and path.count("/") == 1


def text_files(
    site: Site, env: Environment, made: Mapping[str, bytes] | None = None
) -> Iterator[tuple[str, bytes | KeptFile]]:
    """Each document's plain text, docs/<id>.txt: what the page memo keeps of the last build's comes back unmade, as
    does each one in `made` (path → hash: those this build made already)."""
    memo: PageMemo | None = getattr(env, "corpus_site_memo", None)
    for document in site.documents:
        path = _text_path(document)
        digest = (made or {}).get(path)
        if digest is None:
            yield _text_file(document, memo)
        else:
            yield path, KeptFile(digest, functools.partial(_cleaned_bytes, document))


def _text_path(document: Document) -> str:
    return f"docs/{document.id}.txt"  # beside its page (doc_url), which links to it; is_text_file names these


def _text_file(document: Document, memo: PageMemo | None) -> tuple[str, bytes | KeptFile]:
    path, text = _text_path(document), functools.partial(_cleaned_bytes, document)
    return path, memo.file_or_kept(path, (document,), text) if memo else text()


def export_files(site: Site, env: Environment, base_url: str | None) -> Iterator[tuple[str, bytes]]:
    """The machine-readable exports and feeds: no page reads them, so serve puts them in after the pages."""
    memo: PageMemo | None = getattr(env, "corpus_site_memo", None)
    # Each document's entry is encoded once, for both files.
    carry = bool(memo and memo.carry)
    entries = _ENTRIES.entries(site, memo.document_key if memo else lambda document: None, carry=carry)
    yield "corpus.json", corpus_json(site, entries)
    yield "corpus.jsonl", publish.corpus_jsonl(entries)
    del entries
    yield from publish.feed_files(site, base_url, carry=carry).items()
    yield "alignments.jsonl", alignments_jsonl(site.alignments)
    yield "alignments.tmx", tmx(site.alignments)
    if base_url:
        yield "sitemap.xml", publish.sitemap(site, base_url, alternates=site.alternates())
        yield "robots.txt", publish.robots(base_url)


def every_page(site: Site, base_url: str | None) -> dict[str, Any]:
    """What every page's template is given, whatever else it gets."""
    return {
        "site": site,
        "languages": site.languages,  # most documents first, for the lists that show the counts
        # For the header on every page and the language menus: an order one more document cannot change, or
        # an edit that tips two counts would render (and publish) every page again.
        "languages_by_code": tuple(sorted(site.languages, key=lambda language: language.code)),
        "skipped": site.corpus.skipped,
        "base_url": base_url,
    }


def _pages(
    site: Site,
    env: Environment,
    progress: Callable[[int], None] | None,
    base_url: str | None,
    health: report.Health,
    *,
    all_texts: bool,
) -> Iterator[tuple[str, bytes | KeptFile]]:
    shared = every_page(site, base_url)
    memo: PageMemo | None = getattr(env, "corpus_site_memo", None)
    templates: dict[str, Template] = {}  # looked up once: Jinja's look-up costs as much as a kept page's key
    for item in _site_pages(site, base_url, health):
        if isinstance(item, Document):
            # The new document's plain text goes in with its page, which links to it; the 10,000 others of a
            # rebuild under serve can follow (0.1 s of it: each one's file looked at, and the writer told).
            if all_texts or memo is None or not memo.same_file_inputs(_text_path(item), (item,)):
                yield _text_file(item, memo)
            if progress:
                progress(1)
            continue
        path, name, own = item
        template = templates.get(name) or templates.setdefault(name, env.get_template(name))
        yield path, _render(template, shared, own)


def page_keys_ahead(site: Site, env: Environment, base_url: str | None, health: report.Health) -> None:
    """Work out the key of every page, page part and plain-text file `_pages` would make, through the page memo
    installed on `env`, reading nothing from the output folder (serve: see build.recall_records). Only the pages
    rendered every time and those whose last build had parts (the language pages, which render again whenever a
    document is added) are rendered, for their parts' keys, and what they give is let go."""
    memo: PageMemo = env.corpus_site_memo  # type: ignore[attr-defined]
    shared = every_page(site, base_url)
    for item in _site_pages(site, base_url, health):
        if isinstance(item, Document):
            memo.file_key(_text_path(item), (item,))
            continue
        _, name, own = item
        each_time = name in _RENDERED_EACH_TIME
        key = None if each_time else memo.page_key(name, shared, own)
        if each_time or (key is not None and memo.had_parts(key)):
            Template.render(env.get_template(name), {**shared, **own})


# A page of the site as its path, template and own values; a document stands for its plain-text file.
SitePage = tuple[str, str, dict[str, Any]] | Document


def _site_pages(site: Site, base_url: str | None, health: report.Health) -> Iterator[SitePage]:
    """Every page of the site in the order it is made, each with what its template is given besides every_page."""
    by_id = site.by_id()
    group_of = site.group_of()
    alternates = site.alternates()

    def page(path: str, name: str, root: str | None = None, **context: Any) -> SitePage:
        context["root"] = "../" * path.count("/") if root is None else root
        context["page_path"] = path
        return path, name, context

    yield page("index.html", "index.html", page_lang=UI_LANG, by_id=by_id, texts=site.texts())
    yield page("report.html", "report.html", page_lang=UI_LANG, health=health)
    # Hosts serve 404.html at whatever address was missing, at any depth: with a base URL its links can hold.
    yield page("404.html", "404.html", root=publish.absolute(base_url, "") if base_url else None, page_lang=UI_LANG)
    charts = overview.charts(site)
    total_words = sum(document.words for document in site.documents)
    yield page("overview.html", "overview.html", page_lang=UI_LANG, charts=charts, total_words=total_words)
    groups = {group.id: group for group in site.groups}
    for path, item, links in site.parallel_pages():
        yield page(
            path, "parallel.html", page_lang=UI_LANG, group=groups[item.group],
            left=by_id[item.left], right=by_id[item.right], pairs=item.pairs, pair_links=links,
        )  # fmt: skip
    for language in site.languages:
        yield page(lang_url(language.code), "lang.html", page_lang=UI_LANG, language=language, by_id=by_id)
    documents = site.documents
    for index, document in enumerate(documents):
        previous = documents[index - 1] if index > 0 else None
        following = documents[index + 1] if index + 1 < len(documents) else None
        group = group_of.get(document.id)
        yield page(
            doc_url(document.id), "doc.html", page_lang=document.primary_lang, doc=document,
            previous=previous, next=following, og_type="article", group=group,
            versions=tuple(by_id[member] for member in group.members if member != document.id) if group else (),
            alternates=alternates.get(document.id, ()),
            duplicates=tuple(by_id[other] for other in site.duplicates.get(document.id, ())),
        )  # fmt: skip
        yield document


def _cleaned_bytes(document: Document) -> bytes:
    return cleaned_text(document).encode()


def cleaned_text(document: Document) -> str:
    """The document's text block by block, without front matter or markup."""
    return "\n\n".join(block.text for block in document.blocks if block.text) + "\n"


# Pages that read the whole corpus, so that the page memo's hashing of all they read takes longer than rendering
# them: index.html from the parts the memo keeps (render.fragment), report.html from the health report, overview.html
# from the charts. At 10,000 documents, 0.21 s and 0.12 s to look the first two up against 0.12 s and 0.05 s to
# render; 0.035 s to hash the charts against a few ms to render them. Most changes change all three.
_RENDERED_EACH_TIME = frozenset({"index.html", "report.html", "overview.html"})


def _render(template: Template, shared: Mapping[str, Any], own: Mapping[str, Any]) -> bytes | KeptFile:
    """The page `template` renders from what every page is given (`shared`) and its `own` values."""
    # Under the build's page memo a page the output folder already holds is linked, not read back (cache.PageMemo).
    page_or_kept = getattr(template, "page_or_kept", None)
    if page_or_kept is None or template.name in _RENDERED_EACH_TIME:
        return Template.render(template, {**shared, **own}).encode()
    page = page_or_kept(shared, own)
    return page if isinstance(page, KeptFile) else page.encode()


def corpus_json(site: Site, entries: list[bytes]) -> bytes:
    """The machine-readable export other tools (and the tests) read; `entries` are the documents' encoded entries."""
    skipped = [_json({"source": item.source, "reason": item.reason}).encode() for item in site.corpus.skipped]
    # One document or skipped file per line: as easy to read and diff as indented JSON, and written by json's C
    # encoder (indenting makes json fall back to Python, five times slower for 10,000 documents). Joined as UTF-8:
    # one emoji makes a whole str four bytes a character, and this file runs to megabytes.
    head = f'{{"generator": {_json(f"corpus-site {__version__}")},\n"documents": ['.encode()
    return b"".join([head, *_json_lines(entries), b'],\n"skipped": [', *_json_lines(skipped), b"]}\n"])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_lines(items: list[bytes]) -> list[bytes]:
    """The pieces of `items` one to a line, comma-separated, as a JSON array's inside."""
    pieces = [piece for i, item in enumerate(items) for piece in (b",\n" if i else b"\n", item)]
    return [*pieces, b"\n"] if items else []


class EncodedEntries:
    """corpus.json's entries. The part a document settles alone (all but its group and near-duplicates) is kept
    encoded by the cache key of its seed, which settles all of the document: a build after a few seeds changed
    (serve's) encodes only theirs, and joins each entry with its group and near-duplicates, encoded again each
    time (most are none). Encoding all 10,000 took 0.17 s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, tuple[str, str]] = {}  # seed key → the document's own part, before and after
        self.encoded = 0  # documents whose own part the last call encoded

    def entries(self, site: Site, key_of: Callable[[Document], str | None], *, carry: bool) -> list[bytes]:
        """Each document's entry, encoded as JSON in UTF-8, in the site's order. With `carry` (serve) each one's own
        part is kept for the next call; a build that carries nothing lets them go."""
        group_of = site.group_of()
        kept: dict[str, tuple[str, str]] = {}
        result = []
        with self._lock:
            self.encoded = 0
            for document in site.documents:
                key = key_of(document)
                own = self._last.get(key) if key else None
                if own is None:
                    own = _own_parts(document)
                    self.encoded += 1
                if key and carry:
                    kept[key] = own
                result.append(_joined(own, group_of.get(document.id), site.duplicates.get(document.id, ())).encode())
            self._last = kept
        return result

    def encode_ahead(self, documents: Mapping[str, Document]) -> None:
        """Encode the own parts of these documents (by their seeds' keys) now, for the next call to find: serve does
        this while it waits, rather than on the first save (0.25–0.32 s at 10,000)."""
        with self._lock:
            self._last = {key: self._last.get(key) or _own_parts(document) for key, document in documents.items()}


_ENTRIES = EncodedEntries()  # one per process: serve's builds run in it one after another


def encode_ahead(documents: Mapping[str, Document]) -> None:
    """corpus.json's entries of these documents (by their seeds' keys), encoded now: EncodedEntries.encode_ahead."""
    _ENTRIES.encode_ahead(documents)


def _own_parts(document: Document) -> tuple[str, str]:
    """A document's entry but its group and near-duplicates, encoded: what comes before them, and its blocks."""
    own = {
        "id": document.id,
        "source": document.source,
        "sha256": document.sha256,
        "title": document.title,
        "lang": document.primary_lang,
        "languages": dict(document.language_shares),
        "url": doc_url(document.id),
        "words": document.words,
        "metadata": document.metadata.as_dict(),
    }
    return _json(own)[:-1], _json([{"lang": block.lang, "kind": block.kind} for block in document.blocks])


def _joined(own: tuple[str, str], group: Group | None, duplicates: tuple[str, ...]) -> str:
    """The whole entry, as json.dumps writes the dictionary with group, duplicates and blocks last."""
    before, blocks = own
    shown = (
        _json({"id": group.id, "score": group.score, "explicit": group.explicit, "members": list(group.members)})
        if group
        else "null"
    )
    others = _json(list(duplicates)) if duplicates else "[]"
    return f'{before}, "group": {shown}, "duplicates": {others}, "blocks": {blocks}}}'
