"""Site structure → the search files: Pagefind's index per language, the offline index, the search pages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jinja2 import Environment
from markupsafe import escape

from corpus_site.records import Document
from corpus_site.site import Site, doc_url, language_name

SEARCH_PAGE = "search.html"
CONCORDANCE_PAGE = "concordance.html"
SEARCH_DATA = "search-data.js"
PAGEFIND_DIR = "pagefind"
# Pagefind writes its own UIs too; our pages use only its JavaScript API, so those files are left out.
_PAGEFIND_UI = re.compile(r"^pagefind-(component-ui|modular-ui|ui|highlight)\.(js|css)$")
_WASM = re.compile(r"^wasm\.[^/]+\.pagefind$")
# A language code becomes a folder name; anything else is refused rather than trusted as a path.
_SAFE_CODE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
# Characters that must not appear raw in data read as a script: inlined in a page they could end or
# comment out its <script>, and U+2028/2029 end a line in older JavaScript engines. search-data.js is
# its own file, but stays safe to inline.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_UNSAFE_RE = re.compile("[<>&\u2028\u2029]")


class SearchIndexError(Exception):
    """Pagefind could not be run or failed; the message says what to do."""


Groups = Mapping[str, str]  # document id → translation group id


def search_pages(site: Site, env: Environment, *, base_url: str | None = None) -> dict[str, bytes]:
    """search.html and concordance.html, at the top of the site."""
    context = {
        "site": site, "languages": site.languages, "skipped": site.corpus.skipped, "base_url": base_url,
        "root": "", "page_lang": env.globals["ui_lang"], "bundles": bundle_languages(site),
    }  # fmt: skip
    return {
        path: env.get_template(path).render(page_path=path, **context).encode()
        for path in (SEARCH_PAGE, CONCORDANCE_PAGE)
    }


def search_index_files(site: Site, groups: Groups | None = None) -> dict[str, bytes]:
    """The offline index and Pagefind's bundles (one per language)."""
    files = {SEARCH_DATA: search_data_js(site, groups)}
    files.update(run_pagefind(fragment_pages(site, groups)))
    return files


def bundle_languages(site: Site) -> list[str]:
    """The languages that get a Pagefind bundle: those some block is written in."""
    return sorted({code for document in site.documents for code in _blocks_by_lang(document)})


def _blocks_by_lang(document: Document) -> dict[str, list[str]]:
    """Each language's blocks (their safe HTML) in reading order; codes unfit for a folder name are left out."""
    by_lang: dict[str, list[str]] = {}
    for block in document.blocks:
        if block.text.strip() and _SAFE_CODE.match(block.lang):
            by_lang.setdefault(block.lang, []).append(block.html)
    return by_lang


def _group(document: Document, groups: Groups | None) -> str:
    return (groups or {}).get(document.id, document.id)


def search_data_js(site: Site, groups: Groups | None = None) -> bytes:
    """The offline index: every block's text, language and document, as a plain script file:// can load."""
    documents = []
    blocks: list[tuple[int, str, str]] = []
    for number, document in enumerate(site.documents):
        documents.append(
            {
                "id": document.id,
                "title": document.title,
                "url": doc_url(document.id),
                "lang": document.primary_lang,
                "langs": [code for code, _share in document.language_shares],
                "group": _group(document, groups),
            }
        )
        blocks.extend((number, block.lang, block.text) for block in document.blocks if block.text.strip())
    data = {
        "version": 1,
        "languages": [[language.code, language.name] for language in site.languages],
        "docs": documents,
        "blocks": blocks,
    }
    return b"window.CORPUS_SEARCH = " + script_json(data).encode() + b";\n"


def script_json(data: object) -> str:
    """JSON that stays inert inside a script: no '</script>', '<!--' or raw line separators."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return _SCRIPT_UNSAFE_RE.sub(lambda match: _SCRIPT_UNSAFE[match[0]], text)


def fragment_pages(site: Site, groups: Groups | None = None) -> dict[str, bytes]:
    """One small page per document and language, holding that language's blocks, for Pagefind only.

    Pagefind gives each page one language (its <html lang>) and searches one language per index, so
    a document written in two languages is cut into one page per language: each block is then
    stemmed and segmented as its own language. The pages are never written into the site; their
    metadata points at the real document page. Keys are "<lang>/<document id>.html".
    """
    pages: dict[str, bytes] = {}
    for document in site.documents:
        for code, html in _blocks_by_lang(document).items():
            meta = {
                "title": document.title,
                "url": doc_url(document.id),
                "doc": document.id,
                "lang": document.primary_lang,
                "langs": " ".join(lang for lang, _share in document.language_shares),
                "group": _group(document, groups),
                "hit_lang": code,
            }
            head = "".join(
                f'<meta data-pagefind-meta="{key}[content]" content="{escape(value)}">' for key, value in meta.items()
            )
            # The loader escaped every piece of seed text in block.html, so it is safe markup.
            body = "\n".join(html)
            page = (
                f'<!DOCTYPE html>\n<html lang="{code}">\n<head>\n<meta charset="utf-8">\n'
                f"<title>{escape(document.title)}</title>\n{head}\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
            )
            pages[f"{code}/{document.id}.html"] = page.encode()
    return pages


def pagefind_binary() -> Path:
    """The Pagefind executable the `pagefind` package finds (the extended one, with CJK segmentation, first)."""
    from pagefind.service import get_executable

    found = get_executable()
    if found is None:
        raise SearchIndexError(
            "the Pagefind binary is missing; install it with: pip install 'pagefind[extended]' "
            "(or 'pagefind[bin]', which does not segment Chinese or Japanese)"
        )
    return found


def run_pagefind(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """Index the fragment pages with Pagefind, one bundle per language: {"pagefind/<lang>/…": bytes}.

    One bundle per language lets the browser open one Pagefind instance per language, each with
    its own stemmer and segmenter, and search them all at once (one instance searches only one).
    """
    by_lang: dict[str, dict[str, bytes]] = {}
    for path, content in files.items():
        code, _, rest = path.partition("/")
        if not _SAFE_CODE.match(code) or not rest:
            raise ValueError(f"fragment page paths are '<lang>/<name>.html', not {path!r}")
        by_lang.setdefault(code, {})[rest] = content
    if not by_lang:
        return {}
    binary = pagefind_binary()
    output: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="corpus-site-pagefind-") as temp:
        root = Path(temp)
        for code, pages in by_lang.items():
            for rest, content in pages.items():
                target = root / "site" / code / rest
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        workers = min(len(by_lang), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            bundles = list(pool.map(lambda code: _index_one(binary, root, code), by_lang))
        for code, bundle in zip(by_lang, bundles, strict=True):
            for relative, content in bundle.items():
                output[f"{PAGEFIND_DIR}/{code}/{relative}"] = content
    return dict(sorted(output.items()))


def _index_one(binary: Path, root: Path, code: str) -> dict[str, bytes]:
    site_dir, out_dir = root / "site" / code, root / "out" / code
    command = [str(binary), "--site", str(site_dir), "--output-path", str(out_dir), "--silent"]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise SearchIndexError(f"could not run Pagefind ({binary}): {error}") from None
    if finished.returncode != 0:
        message = (finished.stderr or finished.stdout).strip().splitlines()
        raise SearchIndexError(f"Pagefind failed on the {language_name(code)} pages: {' '.join(message[-3:])}")
    files = {
        path.relative_to(out_dir).as_posix(): path.read_bytes()
        for path in sorted(out_dir.rglob("*"))
        if path.is_file() and not _PAGEFIND_UI.match(path.name)
    }
    return _without_unused_wasm(files)


def _without_unused_wasm(files: dict[str, bytes]) -> dict[str, bytes]:
    """Pagefind writes a language-neutral WebAssembly module beside the language's own; keep only the one used."""
    try:
        entry = json.loads(files["pagefind-entry.json"])
        used = {f"wasm.{index.get('wasm') or 'unknown'}.pagefind" for index in entry["languages"].values()}
    except (KeyError, ValueError, TypeError, AttributeError):
        return files
    return {path: content for path, content in files.items() if not _WASM.match(path) or path in used}
