"""Site structure → the search files: Pagefind's index per language, the offline index, the search pages."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from jinja2 import Environment
from markupsafe import escape

from corpus_site.child import give_back_freed_memory
from corpus_site.records import Document
from corpus_site.render import every_page, parts
from corpus_site.site import Site, doc_url, language_name
from corpus_site.writer import KeptFile

if TYPE_CHECKING:  # the build's page memo, which keeps the offline index's unchanged parts
    from corpus_site.cache import PageMemo

SEARCH_PAGE = "search.html"
CONCORDANCE_PAGE = "concordance.html"
SEARCH_DATA = "search-data.js"
SEARCH_DATA_DIR = "search-data"  # its parts
PAGEFIND_DIR = "pagefind"
# Beside each bundle: what it was made from, so the next build can keep it when that is unchanged.
BUNDLE_KEY = "corpus-site-bundle.json"
# Pagefind holds a bundle's whole index in memory, about 37 bytes for each byte of the pages it reads
# (487 MB for the 13 MB of English pages of 10,000 benchmark documents, 81 MB for a sixth of them), so a
# language with more pages than this is cut into several bundles: each Pagefind process then stays near
# 100 MB whatever the corpus size, and adding a document makes one part's bundle again, not its language's.
BUNDLE_BYTES = 2_500_000
# Pagefind works mostly on one core (2.4 s of wall and 2.6 s of CPU for those English pages), so two
# bundles are made at once, each a bounded size ...
PAGEFIND_JOBS = 2
# Languages whose segmenter loads a dictionary are never made beside the rendering, while the build holds its
# documents: the extended binary takes 341 MB and more for Japanese text whatever the number of pages, and Chinese
# takes more than other languages (a bundle of 10,000 benchmark documents: ja 403 MB, zh 142-153 MB, en 127 MB) ...
_LOADS_A_DICTIONARY = frozenset({"ja", "zh", "ko"})
# ... and Japanese (with Korean, not measured) runs alone even once the documents are gone. Chinese runs beside
# another bundle: running it alone left a core idle for about 2 s of a 10,000-document build.
_RUNS_ALONE = frozenset({"ja", "ko"})
# Pagefind writes its own UIs too; our pages use only its JavaScript API, so those files are left out.
_PAGEFIND_UI = re.compile(r"^pagefind-(component-ui|modular-ui|ui|highlight)\.(js|css)$")
_WASM = re.compile(r"^wasm\.[^/]+\.pagefind$")
# A language code becomes a folder name; anything else is refused rather than trusted as a path.
_SAFE_CODE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
# A bundle is named after its language, with the part's number when the language is cut into several.
_BUNDLE_NAME = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*(\.[1-9][0-9]{0,5})?$")
# Characters that must not appear raw in data read as a script: inlined in a page they could end or
# comment out its <script>, and U+2028/2029 end a line in older JavaScript engines. search-data.js is
# its own file, but stays safe to inline.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_UNSAFE_RE = re.compile("[<>&\u2028\u2029]")


class SearchIndexError(Exception):
    """Pagefind could not be run or failed; the message says what to do."""


Groups = Mapping[str, str]  # document id → translation group id


@dataclass(frozen=True, slots=True)
class LanguagePage:
    """One document's blocks in one language: a page for Pagefind, in the bundle it belongs to."""

    document: Document
    code: str
    bundle: str
    blocks: tuple[str, ...]  # the blocks' safe HTML, in reading order


def language_pages(site: Site) -> list[LanguagePage]:
    """Every document's page per language, with its bundle: worked out once per build, then read both for
    the search page (which bundles there are) and for Pagefind's input."""
    by_document = [(document, _blocks_by_lang(document)) for document in site.documents]
    parts = _bundle_parts(by_document)
    return [
        LanguagePage(document, code, _bundle(code, document.id, parts[code]), tuple(blocks))
        for document, by_lang in by_document
        for code, blocks in by_lang.items()
    ]


def search_pages(
    site: Site, env: Environment, bundles: Sequence[str], *, base_url: str | None = None
) -> dict[str, bytes]:
    """search.html and concordance.html, at the top of the site, querying `bundles` (see bundle_names)."""
    context = {**every_page(site, base_url), "root": "", "page_lang": env.globals["ui_lang"], "bundles": list(bundles)}
    return {
        path: env.get_template(path).render(page_path=path, **context).encode()
        for path in (SEARCH_PAGE, CONCORDANCE_PAGE)
    }


def search_index_files(
    site: Site, groups: Groups | None = None, *, previous: Path | None = None
) -> Iterator[tuple[str, bytes]]:
    """The offline index and Pagefind's bundles, file by file: (path in the site, bytes).

    `previous` is the output folder of the last build: a bundle whose fragment pages are unchanged
    is kept from there instead of running Pagefind again (the result is the same bytes).
    """
    for path, content in search_data_files(site, groups):  # without a memo, every file is made
        yield path, content if isinstance(content, bytes) else content.content()
    yield from run_pagefind(fragment_source(language_pages(site), groups), previous=previous)


def bundle_names(pages: Iterable[LanguagePage]) -> list[str]:
    """The Pagefind bundles the site has, in order: a language's code, or "<code>.<part>" for each of its parts."""
    return sorted({page.bundle for page in pages})


def _bundle_parts(by_document: Iterable[tuple[Document, dict[str, list[str]]]]) -> dict[str, int]:
    """Into how many bundles each language's fragment pages go: about BUNDLE_BYTES of pages at most in each."""
    size: dict[str, int] = {}
    for _document, by_lang in by_document:
        for code, html in by_lang.items():
            size[code] = size.get(code, 0) + sum(len(part.encode()) for part in html)
    return {code: -(-total // BUNDLE_BYTES) for code, total in size.items()}


def _bundle(code: str, document_id: str, parts: int) -> str:
    """The bundle of a document's `code` page: its part follows from its id alone, so adding or removing another
    document leaves it where it was (unless the language's number of parts changes)."""
    if parts == 1:
        return code
    return f"{code}.{1 + zlib.crc32(document_id.encode()) % parts}"


def _blocks_by_lang(document: Document) -> dict[str, list[str]]:
    """Each language's blocks (their safe HTML) in reading order; codes unfit for a folder name are left out."""
    by_lang: dict[str, list[str]] = {}
    for block in document.blocks:
        if block.text.strip() and _SAFE_CODE.match(block.lang):
            by_lang.setdefault(block.lang, []).append(block.html)
    return by_lang


def _group(document: Document, groups: Groups | None) -> str:
    return (groups or {}).get(document.id, document.id)


def is_search_index_file(path: str) -> bool:
    """Whether a path of the site (relative, with /) is one of the search index's files, as this module names them."""
    folder, _, rest = path.partition("/")
    return (
        path == SEARCH_DATA
        or (folder == SEARCH_DATA_DIR and rest.endswith(".js") and "/" not in rest)
        or is_pagefind_file(path)
    )


def is_search_file(path: str) -> bool:
    """Whether a path of the site is the search index's, or one of the pages that query it."""
    return path in (SEARCH_PAGE, CONCORDANCE_PAGE) or is_search_index_file(path)


def is_pagefind_file(path: str) -> bool:
    """Whether a path of the site is one of Pagefind's bundles' files (the offline index is not)."""
    folder, _, rest = path.partition("/")
    return folder == PAGEFIND_DIR and bool(rest)


def search_data_files(
    site: Site, groups: Groups | None = None, memo: PageMemo | None = None
) -> Iterator[tuple[str, bytes | KeptFile]]:
    """The offline index, as plain scripts file:// can load: search-data.js naming its parts, then the parts.

    search-data.js holds {"version": 2, "languages", "parts": [path, ...]}; each part, a run of documents cut where
    the page tables cut theirs (render.parts), registers {"docs", "blocks": [[document number in the part, language,
    text], ...]} under its path in window.CORPUS_SEARCH_PARTS. So adding a document changes one part (and search-data.js
    only when a part is new or renamed), not 31 MB of text at 10,000 documents; under the page memo the other parts
    are kept, not encoded again.
    """
    runs = parts(site.documents)
    paths = [f"{SEARCH_DATA_DIR}/{run[0].id}.js" for run in runs]
    head = {"version": 2, "languages": [[language.code, language.name] for language in site.languages], "parts": paths}
    yield SEARCH_DATA, f"window.CORPUS_SEARCH = {script_json(head)};\n".encode()
    for path, run in zip(paths, runs, strict=True):
        run_groups = tuple(_group(document, groups) for document in run)
        make = functools.partial(search_data_part, path, run, run_groups)
        yield path, memo.file_or_kept(path, (run, run_groups), make) if memo else make()


def search_data_part(path: str, documents: Sequence[Document], groups: Sequence[str]) -> bytes:
    """One part of the offline index: its documents, and their blocks' text and language, encoded document by
    document (encoded at once, the whole index's 31 MB took 135 MB along the way at 10,000 documents)."""
    docs = [
        {
            "id": document.id,
            "title": document.title,
            "url": doc_url(document.id),
            "lang": document.primary_lang,
            "langs": [code for code, _share in document.language_shares],
            "group": group,
        }
        for document, group in zip(documents, groups, strict=True)
    ]
    data = io.BytesIO()
    data.write(f"(window.CORPUS_SEARCH_PARTS = window.CORPUS_SEARCH_PARTS || {{}})[{script_json(path)}] = ".encode())
    data.write(script_json({"docs": docs}).encode()[:-1] + b',"blocks":[')
    comma = b""
    for number, document in enumerate(documents):
        blocks = [(number, block.lang, block.text) for block in document.blocks if block.text.strip()]
        if blocks:
            data.write(comma + script_json(blocks).encode()[1:-1])  # the items, without the list's brackets
            comma = b","
    data.write(b"]};\n")
    return data.getvalue()


def script_json(data: object) -> str:
    """JSON that stays inert inside a script: no '</script>', '<!--' or raw line separators."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return _SCRIPT_UNSAFE_RE.sub(lambda match: _SCRIPT_UNSAFE[match[0]], text)


def fragment_pages(
    pages: Iterable[LanguagePage], groups: Groups | None = None, bundles: Collection[str] | None = None
) -> Iterator[tuple[str, bytes]]:
    """One small page per document and language, holding that language's blocks, for Pagefind only.

    Pagefind gives each page one language (its <html lang>) and searches one language per index, so
    a document written in two languages is cut into one page per language: each block is then
    stemmed and segmented as its own language. The pages are never written into the site; their
    metadata points at the real document page. Paths are "<bundle>/<document id>.html"; with `bundles`, only
    the pages of those bundles are made.
    """
    for page in pages:
        document, code, bundle = page.document, page.code, page.bundle
        if bundles is not None and bundle not in bundles:
            continue
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
        body = "\n".join(page.blocks)
        html = (
            f'<!DOCTYPE html>\n<html lang="{code}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(document.title)}</title>\n{head}\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
        )
        yield f"{bundle}/{document.id}.html", html.encode()


def fragment_source(
    pages: Sequence[LanguagePage], groups: Groups | None = None
) -> Callable[[Collection[str] | None], Iterator[tuple[str, bytes]]]:
    """fragment_pages as PagefindWork asks for them: all, or those of some bundles. The pages are sorted by bundle
    once, so that asking bundle by bundle does not go through every page each time."""
    by_bundle: dict[str, list[LanguagePage]] = {}
    for page in pages:
        by_bundle.setdefault(page.bundle, []).append(page)

    def made(bundles: Collection[str] | None) -> Iterator[tuple[str, bytes]]:
        if bundles is None:
            return fragment_pages(pages, groups)
        return fragment_pages(chain.from_iterable(by_bundle.get(bundle, ()) for bundle in sorted(bundles)), groups)

    return made


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


# Pages by path, or a way to make them: all of them (None), or only those of some bundles.
Pages = Mapping[str, bytes] | Callable[[Collection[str] | None], Iterable[tuple[str, bytes]]]


def run_pagefind(pages: Pages, *, previous: Path | None = None, jobs: int | None = None) -> Iterator[tuple[str, bytes]]:
    """Index fragment pages ("<bundle>/<name>.html") with Pagefind: ("pagefind/<bundle>/<file>", bytes)."""
    with PagefindWork(pages, previous=previous, jobs=jobs) as work:
        for path, content in work.files():  # without known_digest every kept file is read: all are bytes
            yield path, content if isinstance(content, bytes) else content.content()


class PagefindWork:
    """Pagefind's bundles, one per fragment-page folder, made in two steps so that little is held in memory.

    One bundle per language lets the browser open one Pagefind instance per language, each with
    its own stemmer and segmenter, and search them all at once (one instance searches only one).
    Each bundle carries BUNDLE_KEY: a hash of the pages it was made from and of the Pagefind
    version, with a hash of each of its files. When `previous` (the last build's output folder)
    holds a bundle with the same key and intact files, it is kept rather than made again.

    Making the object hashes the pages; `write_input` (or `index_meanwhile`, `files`, or pickling the object)
    writes those of the bundles Pagefind must make to a temporary folder in `scratch` (by default the system's)
    and lets go of what made them, so the caller can let go of it too before `files` runs Pagefind, which holds a
    bundle's whole index in memory.
    `files` yields each bundle's files as soon as they are read. At most `jobs` (default PAGEFIND_JOBS) run
    at once, and Japanese and Korean run alone. `index_meanwhile` makes some bundles earlier, while the
    caller does other work.
    """

    def __init__(
        self,
        pages: Pages,
        *,
        previous: Path | None = None,
        jobs: int | None = None,
        vouch: Callable[[str, bytes], None] | None = None,
        known_digest: Callable[[str], bytes | None] | None = None,
        owner: int | None = None,
        scratch: Path | None = None,
    ) -> None:
        self.previous, self.jobs = previous, jobs
        self.vouch = vouch  # told of each kept file and its hash (StagedSite.vouch): the writer need not read it again
        # Asked for the hash of a file of `previous` known unchanged without reading it (StagedSite.known_digest).
        self.known_digest = known_digest
        made = _every_page(pages) if isinstance(pages, Mapping) else pages
        digests: dict[str, dict[str, bytes]] = {}
        for path, content in made(None):
            bundle, _, rest = path.partition("/")
            if not _BUNDLE_NAME.match(bundle) or not rest:
                raise ValueError(f"fragment page paths are '<bundle>/<name>.html', not {path!r}")
            digests.setdefault(bundle, {})[rest] = hashlib.sha256(content).digest()
        self.binary = pagefind_binary() if digests else None
        version = _pagefind_version(str(self.binary)) if self.binary else ""
        self.keys = {bundle: _bundle_key(version, bundle, pages) for bundle, pages in sorted(digests.items())}
        self.kept = [bundle for bundle, key in self.keys.items() if self._kept(bundle, key) is not None]
        # The largest first, so the work ends at about the same time when several run at once.
        self.todo = sorted(set(self.keys) - set(self.kept), key=lambda bundle: (-len(digests[bundle]), bundle))
        # A plain folder, not a TemporaryDirectory: the object may be pickled to the process that runs Pagefind
        # (`owner`, default this one), and the work folder must outlive the process that filled it.
        self.folder = _work_folder(owner or os.getpid(), scratch) if self.todo else None
        self.early: list[str] = []  # bundles index_meanwhile made: their files wait in the work folder
        # Pagefind's input is written by write_input, bundle by bundle: index_meanwhile starts on each as it is done.
        self._unwritten: Callable[[Collection[str] | None], Iterable[tuple[str, bytes]]] | None = made
        self._written = {bundle: threading.Event() for bundle in self.todo}

    def write_input(self) -> None:
        """Write Pagefind's requests for each bundle to make into the work folder, the largest bundle first (once)."""
        made = self._unwritten
        if made is None or not self.folder:
            return
        for folder in (_INPUT, _OUTPUT):
            (self.folder / folder).mkdir(exist_ok=True)
        for bundle in self.todo:
            # By name: the service keeps the order it is given, and the bundle's key does not depend on it.
            _write_requests(sorted(made({bundle})), _requests_of(self.folder, bundle))
            self._written[bundle].set()
        self._unwritten = None  # only now: input cut short by an error is never taken for the whole

    def __getstate__(self) -> dict[str, object]:
        # Handed to another process, the object carries no pages, only the folder they were written to.
        self.write_input()
        return {name: value for name, value in self.__dict__.items() if name not in ("_unwritten", "_written")}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, _unwritten=None, _written={})

    def _kept(self, bundle: str, key: str) -> dict[str, bytes | KeptFile] | None:
        if self.previous is None:
            return None
        return _previous_bundle(self.previous, bundle, key, self.known_digest)

    def files(self) -> Iterator[tuple[str, bytes | KeptFile]]:
        """The kept bundles' files, then Pagefind's, bundle by bundle: ("pagefind/<bundle>/<file>", bytes).

        Pagefind starts on the bundles still to make before the kept and early ones are handed over: the
        caller copies those into the site (over a second at 10,000 documents) while Pagefind works.
        """
        if not self.folder or not self.binary:
            yield from self._kept_files()
            return
        self.write_input()
        root, binary = self.folder, self.binary
        waiting = [bundle for bundle in self.todo if bundle not in self.early]
        workers = max(1, min(len(waiting), self.jobs or PAGEFIND_JOBS, os.cpu_count() or 1))
        running: dict[Future[dict[str, bytes]], str] = {}
        with ThreadPoolExecutor(max_workers=workers) as pool:

            def start_what_may_start() -> None:
                while len(running) < workers:
                    start = next((name for name in waiting if _may_start(name, running.values())), None)
                    if start is None:
                        return
                    waiting.remove(start)
                    running[pool.submit(_index_one, binary, root, start)] = start

            start_what_may_start()
            yield from self._kept_files()
            for bundle in self.early:
                yield from self._made(bundle, _output_of(root, bundle))
                give_back_freed_memory()  # as below, with the first bundle under way
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                finished = sorted((running.pop(future), future) for future in done)
                del done
                start_what_may_start()  # before handing over what finished, for the same reason
                while finished:
                    bundle, future = finished.pop(0)
                    yield from self._made(bundle, future.result())
                    # The future held the bundle's bytes: once it goes, glibc is asked to give them back, or the
                    # process keeps its peak (80-100 MB at 10,000 documents) beside the Japanese bundle still running.
                    del future
                    give_back_freed_memory()

    def _kept_files(self) -> Iterator[tuple[str, bytes | KeptFile]]:
        for bundle in self.kept:
            kept = self._kept(bundle, self.keys[bundle])
            if kept is None:
                raise SearchIndexError(f"the search index in {self.previous} changed during the build; build again")
            for path, content in _in_site(bundle, kept):
                if self.vouch and isinstance(content, bytes):
                    self.vouch(path, hashlib.sha256(content).digest())
                yield path, content

    def _made(self, bundle: str, files: dict[str, bytes]) -> Iterator[tuple[str, bytes | KeptFile]]:
        yield from _in_site(bundle, {**files, BUNDLE_KEY: _key_file(self.keys[bundle], files)})

    @contextmanager
    def index_meanwhile(self) -> Iterator[None]:
        """Make bundles one after another while the `with` block runs; `files` then reads them instead.

        Rendering the pages keeps one core busy; on two, Pagefind can use the other, at idle priority (on Linux;
        elsewhere nothing is made early). One runs at a time, and no language whose segmenter loads a dictionary,
        so beside a build still holding its documents Pagefind adds about 100 MB (see BUNDLE_BYTES). Leaving the
        block waits for the bundle under way (an exception stops it instead). A bundle Pagefind failed on here
        is left to `files`, which reports the failure.
        """
        if not self.folder or not self.binary or not _CAN_IDLE:
            self.write_input()
            yield
            return
        bundles = [name for name in self.todo if not _loads_dictionary(name)]
        turn = _IndexingInTurn(self.binary, self.folder, bundles, self._written)
        try:
            # Pagefind starts on the first bundle as soon as its pages are written, while the rest are.
            self.write_input()
            yield
        except BaseException:
            turn.stop(now=True)
            raise
        self.early = turn.stop(now=False)

    def close(self) -> None:
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> PagefindWork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_WORK_PREFIX = "corpus-site-pagefind-"


def _work_folder(owner: int, scratch: Path | None) -> Path:
    """A temporary folder for Pagefind's input and output in `scratch` (default: the system's), named after the
    process that will remove it, so that a later build can tell it was abandoned."""
    parent = scratch or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_work(parent)
    return Path(tempfile.mkdtemp(prefix=f"{_WORK_PREFIX}{owner}-", dir=parent))


def _remove_abandoned_work(parent: Path) -> None:
    """Delete our work folders whose process is gone: a build that was killed could not remove its own."""
    if os.name != "posix":  # os.kill(pid, 0) only asks on POSIX; elsewhere it can end the process
        return
    for folder in parent.glob(f"{_WORK_PREFIX}*"):
        pid = folder.name.removeprefix(_WORK_PREFIX).partition("-")[0]
        try:
            info = folder.lstat()
        except OSError:
            continue
        mine = info.st_uid == os.getuid() and stat.S_ISDIR(info.st_mode)
        if mine and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


def _every_page(pages: Mapping[str, bytes]) -> Callable[[Collection[str] | None], Iterable[tuple[str, bytes]]]:
    return lambda bundles: (
        (path, page) for path, page in pages.items() if bundles is None or path.partition("/")[0] in bundles
    )


def _may_start(bundle: str, running: Iterable[str]) -> bool:
    """Whether Pagefind may start on `bundle` beside those `running`: Japanese and Korean go alone."""
    busy = list(running)
    return not busy or not any(_language_root(name) in _RUNS_ALONE for name in (bundle, *busy))


def _loads_dictionary(bundle: str) -> bool:
    return _language_root(bundle) in _LOADS_A_DICTIONARY


def _bundle_language(bundle: str) -> str:
    """The bundle's language by name, for messages ("en.2" → "English")."""
    return language_name(bundle.partition(".")[0])


def _inside_bundle(name: str) -> bool:
    """Whether a file name Pagefind (or a kept bundle's key) gives stays inside its bundle's folder."""
    return not any(part in ("", ".", "..") for part in name.split("/"))  # "" also stands for a leading "/"


def _language_root(bundle: str) -> str:
    return bundle.partition(".")[0].partition("-")[0].lower()


def _in_site(bundle: str, files: Mapping[str, bytes | KeptFile]) -> Iterator[tuple[str, bytes | KeptFile]]:
    for relative in sorted(files):
        yield f"{PAGEFIND_DIR}/{bundle}/{relative}", files[relative]


@functools.lru_cache(maxsize=4)
def _pagefind_version(binary: str) -> str:
    """What `pagefind --version` says; part of each bundle's key, so a new Pagefind makes new bundles."""
    try:
        finished = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    except OSError as error:
        raise SearchIndexError(f"could not run Pagefind ({binary}): {error}") from None
    return finished.stdout.strip() if finished.returncode == 0 else ""


def _bundle_key(version: str, bundle: str, pages: Mapping[str, bytes]) -> str:
    """A hash of everything a bundle is made from: Pagefind's version, and its pages' names and hashes."""
    digest = hashlib.sha256()
    parts = [text.encode() for text in ("corpus-site bundle 3", version, bundle)]
    for name in sorted(pages):
        parts += [name.encode(), pages[name]]
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _key_file(key: str, bundle: Mapping[str, bytes]) -> bytes:
    return _key_text(key, {name: hashlib.sha256(content).hexdigest() for name, content in bundle.items()})


def _key_text(key: str, digests: Mapping[str, str]) -> bytes:
    return (json.dumps({"key": key, "files": dict(sorted(digests.items()))}, indent=0, sort_keys=True) + "\n").encode()


def _previous_bundle(
    previous: Path, bundle: str, key: str, known_digest: Callable[[str], bytes | None] | None = None
) -> dict[str, bytes | KeptFile] | None:
    """The last build's `bundle`, if it was made from the same pages and its files are intact; a file the
    writer knows unchanged (`known_digest`) is not read."""
    folder = previous / PAGEFIND_DIR / bundle
    try:
        raw = _read_regular(folder / BUNDLE_KEY)
        recorded = json.loads(raw)
        if not isinstance(recorded, dict) or recorded.get("key") != key or not isinstance(recorded.get("files"), dict):
            return None
        files: dict[str, bytes | KeptFile] = {}
        for name, digest in recorded["files"].items():
            if (
                not isinstance(name, str)
                or not isinstance(digest, str)
                or name == BUNDLE_KEY
                or not _inside_bundle(name)
            ):
                return None
            known = known_digest(f"{PAGEFIND_DIR}/{bundle}/{name}") if known_digest else None
            if known is not None and known.hex() == digest:
                files[name] = KeptFile(known, functools.partial(_gone_during_build, previous))
                continue
            content = _read_regular(folder / name)
            if hashlib.sha256(content).hexdigest() != digest:
                return None
            files[name] = content
        if _key_text(key, recorded["files"]) != raw:
            return None
    except (OSError, ValueError):
        return None
    files[BUNDLE_KEY] = raw
    return files


def _gone_during_build(previous: Path) -> bytes:
    raise SearchIndexError(f"the search index in {previous} changed during the build; build again")


def _read_regular(path: Path) -> bytes:
    """A regular file's bytes; a symlink or anything else is refused (OSError)."""
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # NONBLOCK: a FIFO must not hang us
    with open(handle, "rb") as file:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise FileNotFoundError(path)
        return file.read()


# How soon a turn waiting for a bundle's input notices it was stopped, and how often a service's answers are read.
_POLL_SECONDS = 0.05


class _IndexingInTurn:
    """A thread that runs Pagefind on `bundles` one after another, at idle priority, until stopped."""

    def __init__(
        self, binary: Path, root: Path, bundles: Sequence[str], written: Mapping[str, threading.Event]
    ) -> None:
        self.binary, self.root, self.bundles = binary, root, list(bundles)
        self.written = written  # a bundle is started once its event here says its input is written
        self.made: list[str] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="corpus-site search index", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for bundle in self.bundles:
            while not self.written[bundle].wait(_POLL_SECONDS):
                if self._stopping:
                    return
            with self._lock:
                if self._stopping:
                    return
                try:
                    self._process = _start_service([*_AT_IDLE_PRIORITY, str(self.binary)], self.root, bundle)
                except OSError:
                    return  # files() runs it again, and says why it cannot
            try:
                _served(self._process, self.root, bundle)
            except _ServiceFailed:
                continue  # files() runs it again, and says why it failed
            self.made.append(bundle)  # its files wait in the service's answers, read by files()

    def stop(self, *, now: bool) -> list[str]:
        """Start no more; end the bundle under way (`now`: stop it) and return the bundles made."""
        with self._lock:
            self._stopping = True
            if now and self._process:
                self._process.kill()  # Popen does nothing once the process is reaped: no other process is hit
        self._thread.join()
        return self.made


# Pagefind beside the rendering runs under Linux's SCHED_IDLE policy: it gets only the CPU time the build
# leaves unused. At normal priority it slowed the rendering (adding one seed to 10,000 documents: 3.7 s
# instead of 3.2 s, medians of six). The policy is set by a small Python program that then becomes Pagefind,
# so that Pagefind's threads have it from the start (glibc's posix_spawn accepts no SCHED_IDLE, and a
# preexec_fn is unsafe in a process with threads). Where it fails, Pagefind is run again by `files`.
_IDLE_THEN_EXEC = (
    "import os, sys; os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0)); os.execv(sys.argv[1], sys.argv[1:])"
)
_AT_IDLE_PRIORITY = (sys.executable, "-I", "-S", "-c", _IDLE_THEN_EXEC)
_CAN_IDLE = hasattr(os, "SCHED_IDLE") and bool(sys.executable)


def _index_one(binary: Path, root: Path, bundle: str) -> dict[str, bytes]:
    try:
        _served(_start_service([str(binary)], root, bundle), root, bundle)
    except OSError as error:
        raise SearchIndexError(f"could not run Pagefind ({binary}): {error}") from None
    except _ServiceFailed as failure:
        raise SearchIndexError(f"Pagefind failed on the {_bundle_language(bundle)} pages: {failure}") from None
    return _output_of(root, bundle)


# Pagefind is run in its service mode (`pagefind --service`, the protocol its own Node and Python APIs speak): it
# reads one file of requests per bundle instead of one HTML file per page, and answers with the bundle's files
# instead of writing each. At 10,000 documents that is 13,195 small files not created for its input and 13,694 not
# created by Pagefind (creating 13,195 took 0.8-4.6 s on the benchmark machine, in the build's way). The service also
# adds pages in the order it is given them, where `pagefind --site` takes them in the order the file system lists
# them, so a bundle's bytes now depend on its pages alone.
_INPUT, _OUTPUT = "input", "out"
_SERVICE_INDEX = 0  # the id a new service gives its first index
_READ_BYTES = 1 << 20
# The service answers each page (a few hundred bytes) and then the bundle (megabytes). Its answers go to a file that
# is looked at every _POLL_SECONDS, not to a pipe read answer by answer: beside the rendering, each read would wait
# for the interpreter's lock, slowing Pagefind and the rendering both (a 10,000-document build rendered in 10-12 s
# instead of 8). Answers up to _WHOLE bytes are read whole; of the one with the files, only its start, for its kind.
_WHOLE = 1 << 16
_HEAD = 96  # base64 characters: the start of '{"message_id":N,"payload":{"type":"GetFiles",...'
_KIND = re.compile(rb'"payload":\{"type":"(\w+)"')


class _ServiceFailed(Exception):
    """Pagefind's service did not answer with the bundle's files; the message says what it said."""


def _requests_of(root: Path, bundle: str) -> Path:
    return root / _INPUT / f"{bundle}.requests"


def _answers_of(root: Path, bundle: str) -> Path:
    return root / _OUTPUT / f"{bundle}.answers"


def _request(message_id: int, payload: Mapping[str, object]) -> bytes:
    """One request to Pagefind's service: base64 of its JSON, then a comma."""
    return base64.b64encode(json.dumps({"message_id": message_id, "payload": payload}).encode()) + b","


def _write_requests(pages: Iterable[tuple[str, bytes]], target: Path) -> None:
    """The requests that make one bundle: a new index, each page ("<bundle>/<name>.html") by name, its files."""
    with open(target, "wb") as requests:
        requests.write(_request(1, {"type": "NewIndex", "config": None}))
        message_id = 1
        for path, content in pages:
            message_id += 1
            page = {"type": "AddFile", "index_id": _SERVICE_INDEX, "file_path": path.partition("/")[2], "url": None}
            requests.write(_request(message_id, {**page, "file_contents": content.decode()}))
        requests.write(_request(message_id + 1, {"type": "GetFiles", "index_id": _SERVICE_INDEX}))


def _start_service(command: list[str], root: Path, bundle: str) -> subprocess.Popen[bytes]:
    """Pagefind's service (`command` runs the binary) for one bundle; `_served` hands it the requests."""
    # Files, so that a chatty Pagefind never blocks on a pipe no one reads.
    with open(root / _INPUT / f"{bundle}.log", "wb") as log, open(_answers_of(root, bundle), "wb") as answers:
        return subprocess.Popen([*command, "--service"], stdin=subprocess.PIPE, stdout=answers, stderr=log)


def _served(process: subprocess.Popen[bytes], root: Path, bundle: str) -> None:
    """Feed a started service its bundle's requests until its answers hold the bundle's files (see `_output_of`)."""
    assert process.stdin
    feeder = threading.Thread(target=_feed, args=(_requests_of(root, bundle), process.stdin), daemon=True)
    feeder.start()
    try:
        failure = _await_files(process, _answers_of(root, bundle))
    finally:
        # The service never ends by itself (the end of its input ends it at once, answered or not): it is stopped.
        process.kill()
        process.wait()
        feeder.join()
        with suppress(OSError):
            process.stdin.close()
    if failure is not None:
        if not failure:  # it ended without a word: what it printed says why
            log = (root / _INPUT / f"{bundle}.log").read_text(encoding="utf-8", errors="replace").split("\n")
            failure = " ".join(line.strip() for line in log[-4:] if line.strip())
        raise _ServiceFailed(failure or f"Pagefind ended with exit code {process.returncode}")


def _feed(requests: Path, stdin: IO[bytes]) -> None:
    # Left open afterwards: the service ends at the end of its input.
    try:
        with open(requests, "rb") as source:
            shutil.copyfileobj(source, stdin, _READ_BYTES)
        stdin.flush()
    except (OSError, ValueError):
        pass  # the service stopped early, or was stopped: _await_files says why


def _await_files(process: subprocess.Popen[bytes], answers: Path) -> str | None:
    """Watch the service's answers until the one with the files is whole: None, or what went wrong ("" if unsaid)."""
    kept, length = bytearray(), 0  # the answer being written: its first _WHOLE bytes, and its length so far
    with open(answers, "rb") as file:
        while True:
            ended = process.poll() is not None  # looked at first: whatever it wrote before ending is read below
            chunk = file.read(_READ_BYTES)
            at = 0
            while at < len(chunk):
                comma = chunk.find(b",", at)
                stop = len(chunk) if comma < 0 else comma
                kept += chunk[at : min(stop, at + _WHOLE - len(kept))] if len(kept) < _WHOLE else b""
                length += stop - at
                if comma < 0:
                    break
                at = comma + 1
                outcome = _answer_outcome(bytes(kept), whole=length <= _WHOLE)
                kept, length = bytearray(), 0
                if outcome != "go on":
                    return outcome
            if not chunk:
                if ended:
                    return ""
                time.sleep(_POLL_SECONDS)


def _answer_outcome(answer: bytes, *, whole: bool) -> str | None:
    """What one answer means: "go on", None (the files are there), or a failure's message."""
    try:
        if whole:
            payload = json.loads(base64.b64decode(answer))["payload"]
            kind = payload["type"]
        else:  # only the answer with the files is this long: its start says its kind
            found = _KIND.search(base64.b64decode(answer[:_HEAD]))
            payload, kind = {}, found[1].decode() if found else None
    except (ValueError, KeyError, TypeError):
        return "Pagefind's service gave an answer that could not be read"
    if kind == "Error":
        return str(payload.get("message") or "Pagefind's service reported an error")
    if kind == "NewIndex" and payload.get("index_id") != _SERVICE_INDEX:
        return f"Pagefind's service numbered its index {payload.get('index_id')!r}"
    if kind == "GetFiles":
        return None
    return "go on" if kind else "Pagefind's service gave an answer that could not be read"


def _bundle_files(payload: Any) -> dict[str, bytes]:
    """The files of a service's (decoded) answer, but for Pagefind's own UIs and the WebAssembly module no page uses."""
    files: dict[str, bytes] = {}
    try:
        for item in payload["files"]:
            path, content = item["path"], base64.b64decode(item["content"])
            if not isinstance(path, str) or not _inside_bundle(path):
                raise _ServiceFailed(f"Pagefind's service named a file {path!r}")
            if not _PAGEFIND_UI.match(path.rpartition("/")[2]):
                files[path] = content
    except (ValueError, KeyError, TypeError):
        raise _ServiceFailed("Pagefind's service answered with files that could not be read") from None
    return _without_unused_wasm(files)


def _output_of(root: Path, bundle: str) -> dict[str, bytes]:
    """The files of a bundle Pagefind made, from its service's answers in the work folder."""
    try:
        answers = _answers_of(root, bundle).read_bytes()
        # The service was stopped as soon as the answer with the files was whole: it is the last.
        payload = json.loads(base64.b64decode(answers[:-1].rpartition(b",")[2]))["payload"]
        if payload["type"] != "GetFiles":
            raise ValueError(payload["type"])
    except (OSError, ValueError, KeyError, TypeError):
        raise SearchIndexError(f"Pagefind's work folder {root} changed during the build; build again") from None
    try:
        return _bundle_files(payload)
    except _ServiceFailed as failure:
        raise SearchIndexError(f"Pagefind's files for the {_bundle_language(bundle)} pages: {failure}") from None


def _without_unused_wasm(files: dict[str, bytes]) -> dict[str, bytes]:
    """Pagefind writes a language-neutral WebAssembly module beside the language's own; keep only the one used."""
    try:
        entry = json.loads(files["pagefind-entry.json"])
        used = {f"wasm.{index.get('wasm') or 'unknown'}.pagefind" for index in entry["languages"].values()}
    except (KeyError, ValueError, TypeError, AttributeError):
        return files
    return {path: content for path, content in files.items() if not _WASM.match(path) or path in used}
