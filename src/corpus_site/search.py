"""Site structure → the search files: Pagefind's index per language, the offline index, the search pages."""

from __future__ import annotations

import functools
import hashlib
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
# Beside each language's bundle: what it was made from, so the next build can keep it when that is unchanged.
BUNDLE_KEY = "corpus-site-bundle.json"
# Pagefind holds a language's whole index in memory (hundreds of MB at 10,000 documents): few run at once.
PAGEFIND_JOBS = 1
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


def search_index_files(site: Site, groups: Groups | None = None, *, previous: Path | None = None) -> dict[str, bytes]:
    """The offline index and Pagefind's bundles (one per language).

    `previous` is the output folder of the last build: a language whose fragment pages are unchanged
    keeps its bundle from there instead of running Pagefind again (the result is the same bytes).
    """
    files = {SEARCH_DATA: search_data_js(site, groups)}
    files.update(run_pagefind(fragment_pages(site, groups), previous=previous))
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


def run_pagefind(
    files: Mapping[str, bytes], *, previous: Path | None = None, jobs: int | None = None
) -> dict[str, bytes]:
    """Index the fragment pages with Pagefind, one bundle per language: {"pagefind/<lang>/…": bytes}.

    One bundle per language lets the browser open one Pagefind instance per language, each with
    its own stemmer and segmenter, and search them all at once (one instance searches only one).
    Each bundle carries BUNDLE_KEY: a hash of the pages it was made from and of the Pagefind
    version, with a hash of each of its files. When `previous` (the last build's output folder)
    holds a bundle with the same key and intact files, it is kept rather than made again. At most
    `jobs` Pagefind processes (default PAGEFIND_JOBS) run at once, as each holds a whole index in memory.
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
    version = _pagefind_version(str(binary))
    keys = {code: _bundle_key(version, code, pages) for code, pages in by_lang.items()}
    bundles: dict[str, dict[str, bytes]] = {}
    for code, key in keys.items():
        kept = _previous_bundle(previous, code, key) if previous is not None else None
        if kept is not None:
            bundles[code] = kept
    # The largest first, so the work ends at about the same time when several run at once.
    todo = sorted((code for code in by_lang if code not in bundles), key=lambda code: (-len(by_lang[code]), code))
    if todo:
        with tempfile.TemporaryDirectory(prefix="corpus-site-pagefind-") as temp:
            root = Path(temp)
            for code in todo:
                for rest, content in by_lang[code].items():
                    target = root / "site" / code / rest
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
            workers = max(1, min(len(todo), jobs or PAGEFIND_JOBS, os.cpu_count() or 1))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                made = list(pool.map(lambda code: _index_one(binary, root, code), todo))
        for code, bundle in zip(todo, made, strict=True):
            bundles[code] = {**bundle, BUNDLE_KEY: _key_file(keys[code], bundle)}
    output: dict[str, bytes] = {}
    for code, bundle in bundles.items():
        for relative, content in bundle.items():
            output[f"{PAGEFIND_DIR}/{code}/{relative}"] = content
    return dict(sorted(output.items()))


@functools.lru_cache(maxsize=4)
def _pagefind_version(binary: str) -> str:
    """What `pagefind --version` says; part of each bundle's key, so a new Pagefind makes new bundles."""
    try:
        finished = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    except OSError as error:
        raise SearchIndexError(f"could not run Pagefind ({binary}): {error}") from None
    return finished.stdout.strip() if finished.returncode == 0 else ""


def _bundle_key(version: str, code: str, pages: Mapping[str, bytes]) -> str:
    """A hash of everything a language's bundle is made from: Pagefind's version and the pages, names and bytes."""
    digest = hashlib.sha256()
    parts = [text.encode() for text in ("corpus-site bundle 1", version, code)]
    for name in sorted(pages):
        parts += [name.encode(), pages[name]]
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _key_file(key: str, bundle: Mapping[str, bytes]) -> bytes:
    files = {name: hashlib.sha256(content).hexdigest() for name, content in sorted(bundle.items())}
    return (json.dumps({"key": key, "files": files}, indent=0, sort_keys=True) + "\n").encode()


def _previous_bundle(previous: Path, code: str, key: str) -> dict[str, bytes] | None:
    """The last build's bundle for `code`, if it was made from the same pages and its files are intact."""
    folder = previous / PAGEFIND_DIR / code
    try:
        raw = _read_regular(folder / BUNDLE_KEY)
        recorded = json.loads(raw)
        if not isinstance(recorded, dict) or recorded.get("key") != key or not isinstance(recorded.get("files"), dict):
            return None
        bundle: dict[str, bytes] = {}
        for name, digest in recorded["files"].items():
            if (
                not isinstance(name, str)
                or name == BUNDLE_KEY
                or any(part in ("", ".", "..") for part in name.split("/"))
            ):
                return None
            content = _read_regular(folder / name)
            if hashlib.sha256(content).hexdigest() != digest:
                return None
            bundle[name] = content
    except (OSError, ValueError):
        return None
    if _key_file(key, bundle) != raw:
        return None
    bundle[BUNDLE_KEY] = raw
    return bundle


def _read_regular(path: Path) -> bytes:
    """A regular file's bytes; a symlink or anything else is refused (OSError)."""
    if path.is_symlink() or not path.is_file():
        raise FileNotFoundError(path)
    return path.read_bytes()


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
