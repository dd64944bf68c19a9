"""Site → the files a publisher needs: Atom feeds, sitemap, robots.txt, JSON Lines, 404 support."""

from __future__ import annotations

import functools
import heapq
import operator
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urljoin
from xml.etree import ElementTree as ET

from corpus_site import __version__
from corpus_site.records import Document
from corpus_site.site import Site, doc_url, lang_url

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML = "http://www.w3.org/1999/xhtml"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAMESPACE = uuid.UUID("8f0b8a52-3c55-4e5e-9a55-6d1f9a3c2b10")  # ours: stable Atom ids from content hashes

Alternates = Mapping[str, Iterable[tuple[str, str]]]  # document id → (lang, url relative to OUT) of each version


def absolute(base_url: str | None, path: str) -> str:
    """`path` (relative to OUT) under the base URL, or unchanged without one."""
    if not base_url:
        return path
    return urljoin(base_url.rstrip("/") + "/", quote(path))


# A feed reader polls the feed again and again: the newest entries are what it needs, and a feed of a whole
# 10,000-document corpus (6.6 MB, and 6.4 MB more in the language feeds) is what some readers refuse.
FEED_ENTRIES = 100


FeedArguments = tuple[str, str, str, str | None, str | None, str]  # title, path, root, base URL, language, page
# The feeds the last build in this process wrote, with the records each shows, by their arguments (feed_files).
_LAST_FEEDS: dict[FeedArguments, tuple[list[Document], bytes]] = {}


def feed_files(site: Site, base_url: str | None, *, carry: bool = False) -> dict[str, bytes]:
    """feed.xml for the whole corpus and lang/<code>.xml for each language.

    With `carry` (serve, which keeps its records from one build to the next) each feed is kept with the records it
    shows, and the next call writes again only those whose newest records changed: records are frozen, so the same
    ones in the same order make the same feed (15 feeds of 100 entries took 0.08 s of each rebuild at 10,000
    documents). Without it, the last call's are let go.
    """
    last = _LAST_FEEDS if carry else {}
    made: dict[FeedArguments, tuple[list[Document], bytes]] = {}
    files = {}
    by_id = site.by_id()
    feeds: list[tuple[Sequence[Document], FeedArguments]] = [
        (site.documents, ("Corpus", "feed.xml", "", base_url, None, "index.html"))
    ]
    for language in site.languages:
        path = lang_url(language.code).replace(".html", ".xml")
        title = f"Corpus: {language.name}"
        arguments: FeedArguments = (title, path, "../", base_url, language.code, lang_url(language.code))
        feeds.append(([by_id[doc_id] for doc_id in language.primary], arguments))
    for documents, arguments in feeds:
        ordered = heapq.nlargest(FEED_ENTRIES, documents, key=_sort_key)
        found = last.get(arguments)
        if found is not None and len(found[0]) == len(ordered) and all(map(operator.is_, found[0], ordered)):
            made[arguments] = found
        else:
            made[arguments] = (ordered, atom_feed(ordered, *arguments))
        files[arguments[1]] = made[arguments][1]
    _LAST_FEEDS.clear()
    if carry:
        _LAST_FEEDS.update(made)
    return files


def _sort_key(document: Document) -> tuple[datetime, str]:
    return (_instant(document.metadata.date), document.id)


@functools.lru_cache(maxsize=1 << 17)  # each feed sorts every document by it: 20,000 parsed in 0.03 s a rebuild
def _instant(value: str | None) -> datetime:
    """A metadata date as an aware datetime (a day or a local time read as UTC); undated sorts first."""
    try:
        parsed = datetime.fromisoformat(value) if value else _EPOCH
    except ValueError:
        parsed = _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _atom_time(value: str | None) -> str:
    """Atom wants RFC 3339 (seconds and a zone); our dates may be days, local times, or times with an offset."""
    return _instant(value).isoformat(timespec="seconds").replace("+00:00", "Z")


def atom_feed(
    ordered: list[Document], title: str, self_path: str, root: str, base_url: str | None, lang: str | None, page: str
) -> bytes:
    """An Atom 1.0 feed of `ordered` (the newest FEED_ENTRIES documents, newest first); links relative to the feed
    unless a base URL is given."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    if lang:
        feed.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    _text(feed, "title", title)
    _text(feed, "id", absolute(base_url, self_path) if base_url else _urn(self_path))
    _text(feed, "updated", _atom_time(ordered[0].metadata.date if ordered else None))
    generator = _text(feed, "generator", "corpus-site")
    generator.set("version", __version__)
    _link(feed, absolute(base_url, self_path) if base_url else self_path.rsplit("/", 1)[-1], "self")
    _link(feed, absolute(base_url, page) if base_url else root + page, "alternate")  # the page listing the same
    for document in ordered:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        entry.set("{http://www.w3.org/XML/1998/namespace}lang", document.primary_lang)
        _text(entry, "title", document.title)
        _text(entry, "id", _urn("doc:" + document.source))
        _text(entry, "updated", _atom_time(document.metadata.date))
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(author, "name", document.metadata.author or "unknown")
        _link(entry, absolute(base_url, doc_url(document.id)) if base_url else root + doc_url(document.id), "alternate")
        _text(entry, "summary", _summary(document))
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True)) + b"\n"


def _summary(document: Document, limit: int = 280) -> str:
    text = " ".join(" ".join(block.text.split()) for block in document.blocks[:4])
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _urn(key: str) -> str:
    return uuid.uuid5(_NAMESPACE, key).urn


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = value
    return element


def _link(parent: ET.Element, href: str, rel: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"rel": rel, "href": href})


def sitemap(site: Site, base_url: str, alternates: Alternates) -> bytes:
    """sitemap.xml: the pages with content of their own (not search, the report or 404), with hreflang alternates
    for every translation group (needs absolute URLs)."""
    ET.register_namespace("", SITEMAP)
    ET.register_namespace("xhtml", XHTML)
    urlset = ET.Element(f"{{{SITEMAP}}}urlset")
    pages = ["index.html", "overview.html", *(lang_url(language.code) for language in site.languages)]
    pages += [path for path, _, _ in site.parallel_pages()]
    for path in pages:
        url = ET.SubElement(urlset, f"{{{SITEMAP}}}url")
        ET.SubElement(url, f"{{{SITEMAP}}}loc").text = absolute(base_url, path)
    for document in site.documents:
        url = ET.SubElement(urlset, f"{{{SITEMAP}}}url")
        ET.SubElement(url, f"{{{SITEMAP}}}loc").text = absolute(base_url, doc_url(document.id))
        if document.metadata.date:
            ET.SubElement(url, f"{{{SITEMAP}}}lastmod").text = document.metadata.date[:10]
        for lang, path in alternates.get(document.id, ()):
            ET.SubElement(
                url, f"{{{XHTML}}}link", {"rel": "alternate", "hreflang": lang, "href": absolute(base_url, path)}
            )
    return bytes(ET.tostring(urlset, encoding="utf-8", xml_declaration=True)) + b"\n"


def robots(base_url: str) -> bytes:
    return f"User-agent: *\nAllow: /\nSitemap: {absolute(base_url, 'sitemap.xml')}\n".encode()


def corpus_jsonl(entries: Iterable[bytes]) -> bytes:
    """One JSON document per line: the same encoded entries as corpus.json, for streaming tools."""
    return b"".join(piece for entry in entries for piece in (entry, b"\n"))
