"""Search: Pagefind over http in headless Chromium, the offline index over file://, the concordance."""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import http.server
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import Browser, Page

from corpus_site import render as render_module
from corpus_site import search as search_module
from corpus_site.build import build
from corpus_site.loader import load_corpus
from corpus_site.records import Corpus
from corpus_site.search import (
    BUNDLE_KEY,
    SEARCH_DATA,
    PagefindWork,
    SearchIndexError,
    bundle_names,
    fragment_pages,
    fragment_source,
    language_pages,
    run_pagefind,
    script_json,
    search_data_files,
    search_index_files,
)
from corpus_site.site import Site, build_site
from corpus_site.writer import KeptFile
from helpers import (
    EN,
    FR,
    OFFLINE_HEAD,
    SEEDS,
    offline_data,
    offline_files_in,
    offline_part_prefix,
    script_value,
    write_files,
)

LETTERS = re.compile(r"[^\W\d_]+")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
HOSTILE_TEXT = (
    "Quarantined xylophonic note: </script><script>window.PWNED = 1</script> and <!-- a comment opener, "
    "a line separator \u2028 and a paragraph separator \u2029 stay text.\n"
)


def fold(text: str) -> str:
    """What the pages' matching ignores: case and accents."""
    return "".join(char for char in unicodedata.normalize("NFD", text) if not unicodedata.combining(char)).lower()


@dataclass(frozen=True)
class Probe:
    """A word from the seeds, the language it was taken from, and the documents that contain it."""

    lang: str
    word: str
    documents: frozenset[str]
    occurrences: int


@pytest.fixture(scope="module")
def seed_corpus() -> Corpus:
    return load_corpus(SEEDS)


@pytest.fixture(scope="module")
def seed_structure(seed_corpus: Corpus) -> Site:
    return build_site(seed_corpus)


def _latin_probe(corpus: Corpus, lang: str) -> Probe:
    """The most frequent long word written only in `lang`'s blocks, in the form the text spells it most."""
    forms: Counter[str] = Counter()
    elsewhere: set[str] = set()
    for document in corpus.documents:
        for block in document.blocks:
            for word in LETTERS.findall(block.text):
                if block.lang == lang and len(word) >= 8 and not HAN.search(word):
                    forms[word] += 1
                elif block.lang != lang:
                    elsewhere.add(fold(word))
    by_folded: Counter[str] = Counter()
    for word, count in forms.items():
        by_folded[fold(word)] += count
    candidates = sorted((-count, word) for word, count in by_folded.items() if word not in elsewhere)
    assert candidates, f"the seeds have no long word written only in {lang}"
    folded = candidates[0][1]
    spelled = max((count, word) for word, count in forms.items() if fold(word) == folded)[1]
    pattern = re.compile(rf"(?<![^\W_]){re.escape(folded)}(?![^\W_])")
    return _probe(corpus, lang, spelled, lambda text: len(pattern.findall(fold(text))))


def _han_probe(corpus: Corpus, lang: str) -> Probe:
    """The most frequent two-character Han sequence in `lang`'s blocks."""
    pairs: Counter[str] = Counter()
    for document in corpus.documents:
        for block in document.blocks:
            if block.lang == lang:
                for run in HAN.findall(block.text):
                    pairs.update(run[index : index + 2] for index in range(len(run) - 1))
    assert pairs, f"the seeds have no Han text in {lang}"
    word = sorted((-count, pair) for pair, count in pairs.items())[0][1]
    return _probe(corpus, lang, word, lambda text: text.count(word))


def _probe(corpus: Corpus, lang: str, word: str, count: Any) -> Probe:
    occurrences = {document.id: sum(count(block.text) for block in document.blocks) for document in corpus.documents}
    return Probe(lang, word, frozenset(key for key, value in occurrences.items() if value), sum(occurrences.values()))


@pytest.fixture(scope="module")
def probes(seed_corpus: Corpus) -> dict[str, Probe]:
    """A Portuguese, a French, an English and a Chinese word, read from the seeds."""
    return {
        "pt": _latin_probe(seed_corpus, "pt"),
        "fr": _latin_probe(seed_corpus, "fr"),
        "en": _latin_probe(seed_corpus, "en"),
        "zh": _han_probe(seed_corpus, "zh"),
    }


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass


@pytest.fixture(scope="module")
def serve() -> Iterator[Any]:
    """serve(folder) → the http:// URL of a local server for it (127.0.0.1, a free port, stopped at the end)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def seed_http(seed_site: Path, serve: Any) -> str:
    return str(serve(seed_site))


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def search(page: Page, base: str, query: str, lang: str = "") -> dict[str, Any]:
    """Open search.html for `query` and read what it shows."""
    url = f"{base}search.html?q={quote(query)}" + (f"&lang={lang}" if lang else "")
    page.goto(url)
    page.wait_for_function(
        "(query) => document.getElementById('search-results').dataset.query === query", arg=query, timeout=30_000
    )
    return page.evaluate(
        """() => ({
          engine: document.querySelector('form[data-search-page]').dataset.engine,
          status: document.getElementById('search-status').textContent,
          results: [...document.querySelectorAll('#search-results > li')].map((li) => ({
            doc: li.dataset.doc,
            source: li.dataset.source,
            group: li.dataset.group,
            members: [li.dataset.doc, ...[...li.querySelectorAll('.translations > li')].map((m) => m.dataset.doc)],
            title: li.querySelector('.result-title a').textContent,
            title_lang: li.querySelector('.result-title a').getAttribute('lang'),
            href: li.querySelector('.result-title a').getAttribute('href'),
            badges: [...li.querySelectorAll(':scope > .badges .badge')].map((b) => b.textContent),
            excerpts: [...li.querySelectorAll(':scope > .excerpt')].map((p) => ({
              lang: p.getAttribute('lang'),
              text: p.textContent,
              marks: [...p.querySelectorAll('mark')].map((m) => m.textContent),
            })),
          })),
        })"""
    )


def concordance(page: Page, base: str, query: str, **params: str) -> dict[str, Any]:
    """Open concordance.html for `query` and read its table."""
    extra = "".join(f"&{key}={quote(value)}" for key, value in params.items())
    page.goto(f"{base}concordance.html?q={quote(query)}{extra}")
    page.wait_for_function("(query) => document.getElementById('kwic').dataset.query === query", arg=query)
    return read_table(page)


def read_table(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => ({
          status: document.getElementById('kwic-status').textContent,
          live: document.getElementById('kwic-status').getAttribute('aria-live'),
          sorted: [...document.querySelectorAll('#kwic th[aria-sort]')]
            .map((th) => [th.dataset.sort, th.getAttribute('aria-sort')]),
          rows: [...document.querySelectorAll('#kwic tbody tr')].map((tr) => ({
            doc: tr.dataset.doc,
            left: tr.querySelector('.left').textContent,
            key: tr.querySelector('.key').textContent,
            right: tr.querySelector('.right').textContent,
            lang: tr.querySelector('.key').getAttribute('lang'),
          })),
        })"""
    )


def found_documents(shown: dict[str, Any]) -> set[str]:
    return {member for result in shown["results"] for member in result["members"]}


# ---- The offline index (search-data.js) ----


def offline_files(site: Site, groups: dict[str, str] | None = None) -> dict[str, bytes]:
    files = dict(search_data_files(site, groups))
    assert all(isinstance(content, bytes) for content in files.values())
    return files  # type: ignore[return-value]


def test_offline_index_holds_every_block_with_its_language(seed_structure: Site) -> None:
    data = offline_data(offline_files(seed_structure))
    ids = [document["id"] for document in data["docs"]]
    assert ids == [document.id for document in seed_structure.documents]
    for document in data["docs"]:
        assert document["url"] == f"docs/{document['id']}.html"
        assert document["group"] == document["id"]  # no translation groups given: each document is its own
    expected = [
        [number, block.lang, block.text]
        for number, document in enumerate(seed_structure.documents)
        for block in document.blocks
        if block.text.strip()
    ]
    assert data["blocks"] == expected
    assert data["languages"] == [[language.code, language.name] for language in seed_structure.languages]
    mixed = [document for document in seed_structure.documents if len({block.lang for block in document.blocks}) > 1]
    assert mixed, "the seeds hold a document written in two languages"
    number = ids.index(mixed[0].id)
    assert len({lang for doc, lang, _text in data["blocks"] if doc == number}) > 1


def test_offline_index_takes_translation_groups(seed_structure: Site) -> None:
    first, second = (document.id for document in seed_structure.documents[:2])
    data = offline_data(offline_files(seed_structure, {first: "g", second: "g"}))
    assert [document["group"] for document in data["docs"][:3]] == ["g", "g", seed_structure.documents[2].id]


def test_offline_index_parts_are_their_data_encoded_at_once(seed_structure: Site) -> None:
    groups = {seed_structure.documents[0].id: "g", seed_structure.documents[1].id: "g"}
    files = offline_files(seed_structure, groups)
    for path, content in files.items():
        prefix = OFFLINE_HEAD if path == SEARCH_DATA else offline_part_prefix(path)
        # Encoding a part document by document changes no byte.
        assert content == prefix + script_json(script_value(content, prefix)).encode() + b";\n"
    assert offline_data(files)["docs"][0]["group"] == "g"
    empty = dataclasses.replace(seed_structure, documents=())
    assert offline_data(offline_files(empty))["blocks"] == []


def test_adding_a_document_changes_one_part_of_the_offline_index(
    seed_structure: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_module, "_PART_CUT", 2)  # the seeds are few: parts of about two documents
    whole = offline_files(seed_structure)
    assert len(whole) >= 4, sorted(whole)
    compared = 0
    for gone in seed_structure.documents:
        kept = tuple(document for document in seed_structure.documents if document is not gone)
        fewer = offline_files(dataclasses.replace(seed_structure, documents=kept))
        changed = {path for path in whole.keys() | fewer.keys() if whole.get(path) != fewer.get(path)}
        assert len(changed - {SEARCH_DATA}) <= 2, changed  # one part, renamed when it was its first document
        assert (SEARCH_DATA in changed) == (whole.keys() != fewer.keys())  # it names the parts, no more
        assert offline_data(fewer)["docs"] == [d for d in offline_data(whole)["docs"] if d["id"] != gone.id]
        compared += 1
    assert compared == len(seed_structure.documents)


def test_script_json_is_inert_and_round_trips() -> None:
    hostile = {"text": "</script><script>alert(1)</script> <!-- x --> \u2028\u2029 & </SCRIPT >", "ok": "对齐 é"}
    text = script_json(hostile)
    for forbidden in ("</script", "</SCRIPT", "<!--", "\u2028", "\u2029", "<", ">"):
        assert forbidden not in text
    assert "对齐 é" in text  # compact: non-ASCII text stays as it is
    assert json.loads(text) == hostile


# ---- Pagefind ----


def test_fragments_cut_a_mixed_document_by_language(seed_structure: Site) -> None:
    pages = dict(fragment_pages(language_pages(seed_structure)))
    for document in seed_structure.documents:
        langs = {block.lang for block in document.blocks if block.text.strip()}
        assert {path for path in pages if path.endswith(f"/{document.id}.html")} == {
            f"{lang}/{document.id}.html" for lang in langs
        }
        for lang in langs:
            soup = BeautifulSoup(pages[f"{lang}/{document.id}.html"], "html.parser")
            assert soup.html is not None and soup.html["lang"] == lang
            meta = {tag["data-pagefind-meta"]: tag["content"] for tag in soup.select("meta[data-pagefind-meta]")}
            assert meta["url[content]"] == f"docs/{document.id}.html"
            assert meta["doc[content]"] == document.id
            assert meta["title[content]"] == document.title
            body = soup.select_one("main")
            assert body is not None
            texts = [block.text for block in document.blocks if block.lang == lang and block.text.strip()]
            assert len(body.find_all(recursive=False)) == len(texts)


def test_fragments_can_be_made_for_some_bundles_only(seed_structure: Site) -> None:
    pages = dict(fragment_pages(language_pages(seed_structure)))
    some = set(sorted({path.split("/")[0] for path in pages})[::2])
    assert dict(fragment_pages(language_pages(seed_structure), bundles=some)) == {
        path: page for path, page in pages.items() if path.split("/")[0] in some
    }
    # As PagefindWork asks for them: the same pages, all or bundle by bundle.
    source = fragment_source(language_pages(seed_structure))
    assert dict(source(None)) == pages
    for bundle in some:
        assert dict(source({bundle})) == {path: page for path, page in pages.items() if path.startswith(f"{bundle}/")}
    assert dict(source(some)) == dict(fragment_pages(language_pages(seed_structure), bundles=some))


def test_pagefind_bundles_are_per_language_and_deterministic(seed_structure: Site) -> None:
    pages = dict(fragment_pages(language_pages(seed_structure)))
    first = _pagefind(pages)
    second = _pagefind(dict(reversed(pages.items())))
    assert first == second  # byte for byte, whatever order the pages come in
    langs = {path.split("/")[0] for path in pages}
    for lang in langs:
        entry = json.loads(first[f"pagefind/{lang}/pagefind-entry.json"])
        assert list(entry["languages"]) == [lang]
        assert f"pagefind/{lang}/pagefind.js" in first
    assert {path.split("/")[1] for path in first} == langs
    assert not [path for path in first if "pagefind-ui" in path or "component-ui" in path]


def test_a_language_with_many_pages_is_cut_into_bundles_of_bounded_size(
    seed_structure: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = {path.split("/")[0] for path in dict(fragment_pages(language_pages(seed_structure)))}
    assert bundle_names(language_pages(seed_structure)) == sorted(whole)  # the seeds are small: one bundle per language
    monkeypatch.setattr(search_module, "BUNDLE_BYTES", 3000)
    pages = dict(fragment_pages(language_pages(seed_structure)))
    names = bundle_names(language_pages(seed_structure))
    assert names == sorted({path.split("/")[0] for path in pages})
    assert any("." in name for name in names) and set(names) != whole
    sizes: Counter[str] = Counter()
    for path, content in pages.items():
        bundle = path.split("/")[0]
        assert BeautifulSoup(content, "html.parser").html["lang"] == bundle.split(".")[0]  # type: ignore[index]
        sizes[bundle] += len(content)
    by_lang: dict[str, list[int]] = {}
    for bundle, size in sizes.items():
        by_lang.setdefault(bundle.split(".")[0], []).append(size)
    # Each language is cut into the number of parts its blocks' size asks for (some may stay empty).
    for lang, parts in by_lang.items():
        blocks = sum(
            len(block.html.encode()) for d in seed_structure.documents for block in d.blocks
            if block.lang == lang and block.text.strip()
        )  # fmt: skip
        assert len(parts) <= -(-blocks // 3000)
    bundles = _pagefind(pages)
    for name in names:
        entry = json.loads(bundles[f"pagefind/{name}/pagefind-entry.json"])
        assert list(entry["languages"]) == [name.split(".")[0]]


def parts_of(site: Site) -> dict[str, int]:
    """How many bundles each language is cut into."""
    return search_module._bundle_parts(
        (document, search_module._blocks_by_lang(document)) for document in site.documents
    )


def test_a_documents_bundle_does_not_move_when_another_document_goes(
    seed_structure: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "BUNDLE_BYTES", 3000)
    before = set(dict(fragment_pages(language_pages(seed_structure))))
    compared = 0
    for gone in seed_structure.documents:
        kept = tuple(document for document in seed_structure.documents if document is not gone)
        fewer = dataclasses.replace(seed_structure, documents=kept)
        # While the languages keep their number of parts, every other document's pages stay in their bundles.
        if parts_of(fewer) == parts_of(seed_structure):
            assert set(dict(fragment_pages(language_pages(fewer)))) == {
                p for p in before if not p.endswith(f"/{gone.id}.html")
            }
            compared += 1
    assert compared


def test_run_pagefind_refuses_paths_outside_a_language_folder() -> None:
    with pytest.raises(ValueError):
        _pagefind({"../escape.html": b"<html></html>"})
    assert _pagefind({}) == {}


def _pagefind(pages: dict[str, bytes], **options: Any) -> dict[str, bytes]:
    return dict(run_pagefind(pages, **options))


def _fragment(lang: str, title: str, text: str) -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
        f'<meta data-pagefind-meta="url[content]" content="docs/{title}.html">\n</head>\n'
        f"<body>\n<main>\n<p>{text}</p>\n</main>\n</body>\n</html>\n"
    ).encode()


SMALL_PAGES = {
    "en/one.html": _fragment("en", "one", "The quick brown fox jumps over the lazy dog near the river bank."),
    "en/two.html": _fragment("en", "two", "A second English page about gardens, rivers and quiet evenings."),
    "fr/one.html": _fragment("fr", "one", "Le renard brun saute par-dessus le chien paresseux près de la rivière."),
}


JA_PAGES = {
    **SMALL_PAGES,
    **{f"ja/{n}.html": _fragment("ja", n, f"図書館は朝{n}時に開きます。") for n in ("one", "two", "three")},
}

CJK_PAGES = {**JA_PAGES, **{f"zh/{n}.html": _fragment("zh", n, f"图书馆早上{n}点开门。") for n in ("one", "two")}}


def _write_out(out: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(content)


def test_an_unchanged_language_keeps_its_bundle_from_the_last_build(tmp_path: Path) -> None:
    fresh = _pagefind(SMALL_PAGES)
    assert {f"pagefind/{lang}/{BUNDLE_KEY}" for lang in ("en", "fr")} <= set(fresh)
    _write_out(tmp_path, fresh)
    assert _pagefind(SMALL_PAGES, previous=tmp_path) == fresh  # byte for byte the same as made anew
    # The kept bundle really comes from the folder: a file changed there, with its recorded hash
    # changed to match, is carried as it is (the key says the pages are the same).
    fragment = next(name for name in fresh if name.startswith("pagefind/fr/") and name.endswith(".pf_fragment"))
    (tmp_path / fragment).write_bytes(b"changed")
    key_path = tmp_path / "pagefind" / "fr" / BUNDLE_KEY
    recorded = json.loads(key_path.read_text())
    recorded["files"][fragment.split("/", 2)[2]] = hashlib.sha256(b"changed").hexdigest()
    key_path.write_text(json.dumps(recorded, indent=0, sort_keys=True) + "\n")
    kept = _pagefind(SMALL_PAGES, previous=tmp_path)
    assert kept[fragment] == b"changed"
    assert {name: data for name, data in kept.items() if name.startswith("pagefind/en/")} == {
        name: data for name, data in fresh.items() if name.startswith("pagefind/en/")
    }


def test_a_kept_bundle_is_vouched_for_and_a_symlinked_file_is_never_followed(tmp_path: Path) -> None:
    fresh = _pagefind(SMALL_PAGES)
    _write_out(tmp_path / "site", fresh)
    vouched: dict[str, bytes] = {}
    with PagefindWork(SMALL_PAGES, previous=tmp_path / "site", vouch=vouched.__setitem__) as work:
        assert dict(work.files()) == fresh
    assert vouched == {name: hashlib.sha256(data).digest() for name, data in fresh.items()}
    # A file swapped for a link to other bytes, its recorded hash changed to match: not read, so made again.
    fragment = next(name for name in fresh if name.startswith("pagefind/fr/") and name.endswith(".pf_fragment"))
    (tmp_path / "elsewhere").write_bytes(b"changed")
    (tmp_path / "site" / fragment).unlink()
    (tmp_path / "site" / fragment).symlink_to(tmp_path / "elsewhere")
    key_path = tmp_path / "site" / "pagefind" / "fr" / BUNDLE_KEY
    recorded = json.loads(key_path.read_text())
    recorded["files"][fragment.split("/", 2)[2]] = hashlib.sha256(b"changed").hexdigest()
    key_path.write_text(json.dumps(recorded, indent=0, sort_keys=True) + "\n")
    assert _pagefind(SMALL_PAGES, previous=tmp_path / "site") == fresh


def test_kept_bundle_files_the_writer_knows_unchanged_are_not_read(tmp_path: Path) -> None:
    fresh = _pagefind(SMALL_PAGES)
    _write_out(tmp_path / "site", fresh)
    digests = {name: hashlib.sha256(data).digest() for name, data in fresh.items()}
    # Overwritten on disk while the writer still vouches for it: only a file that was not read passes.
    fragment = next(name for name in fresh if name.startswith("pagefind/fr/") and name.endswith(".pf_fragment"))
    (tmp_path / "site" / fragment).write_bytes(b"changed")
    with PagefindWork(SMALL_PAGES, previous=tmp_path / "site", known_digest=digests.get) as work:
        assert work.todo == []
        files = dict(work.files())
    kept = files[fragment]
    assert isinstance(kept, KeptFile) and kept.digest == digests[fragment]
    assert {name: data for name, data in files.items() if isinstance(data, bytes)} == {
        name: data for name, data in fresh.items() if name.endswith(BUNDLE_KEY)
    }
    # Asked without the writer's word, the same folder is read, and the changed bundle is made again.
    with PagefindWork(SMALL_PAGES, previous=tmp_path / "site") as work:
        assert work.todo == ["fr"]


def test_a_changed_language_or_a_damaged_bundle_is_made_again(tmp_path: Path) -> None:
    fresh = _pagefind(SMALL_PAGES)
    _write_out(tmp_path, fresh)
    changed = {
        **SMALL_PAGES,
        "fr/two.html": _fragment("fr", "two", "Une deuxième page sur les jardins et les soirées."),
    }
    again = _pagefind(changed, previous=tmp_path)
    assert again == _pagefind(changed)
    assert again[f"pagefind/fr/{BUNDLE_KEY}"] != fresh[f"pagefind/fr/{BUNDLE_KEY}"]
    assert again[f"pagefind/en/{BUNDLE_KEY}"] == fresh[f"pagefind/en/{BUNDLE_KEY}"]
    # A file of the old bundle damaged or missing: its hash no longer matches, so Pagefind runs again.
    fragment = next(name for name in fresh if name.startswith("pagefind/en/") and name.endswith(".pf_fragment"))
    (tmp_path / fragment).write_bytes(b"damaged")
    (tmp_path / "pagefind" / "fr" / "pagefind-entry.json").unlink()
    assert _pagefind(SMALL_PAGES, previous=tmp_path) == fresh
    assert _pagefind(SMALL_PAGES, previous=tmp_path / "missing") == fresh


def test_work_folders_of_killed_builds_are_removed_by_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = tmp_path / f"corpus-site-pagefind-{finished.stdout.strip()}-abc"  # its process has ended
    running = tmp_path / f"corpus-site-pagefind-{os.getpid()}-abc"  # a build still running
    other = tmp_path / "corpus-site-pagefind-unknown"
    for folder in (gone, running, other):
        (folder / "site").mkdir(parents=True)
    _pagefind(SMALL_PAGES)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([running.name, other.name])


def test_pagefind_runs_one_or_several_at_a_time_with_the_same_result() -> None:
    assert _pagefind(JA_PAGES, jobs=1) == _pagefind(JA_PAGES, jobs=3)


def _wait_for(condition: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _started(work: PagefindWork, bundle: str) -> bool:
    """Whether Pagefind has been started on `bundle` (its service's log is opened as it starts)."""
    return bool(work.folder and (work.folder / "input" / f"{bundle}.log").exists())


def _requested_pages(folder: Path) -> dict[str, str]:
    """The pages the requests in a work folder hand Pagefind, bundle by bundle: {"<bundle>/<name>": html}."""
    pages = {}
    for requests in sorted((folder / "input").glob("*.requests")):
        for request in requests.read_bytes().split(b",")[:-1]:
            payload = json.loads(base64.b64decode(request))["payload"]
            if payload["type"] == "AddFile":
                pages[f"{requests.stem}/{payload['file_path']}"] = payload["file_contents"]
    return pages


def _counting_index_one(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bundles Pagefind is run on by PagefindWork.files, in order (it still runs)."""
    ran: list[str] = []
    real = search_module._index_one

    def index_one(binary: Path, root: Path, bundle: str) -> dict[str, bytes]:
        ran.append(bundle)
        return real(binary, root, bundle)

    monkeypatch.setattr(search_module, "_index_one", index_one)
    return ran


def test_pagefind_is_under_way_before_the_kept_bundles_are_handed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_out(tmp_path, _pagefind(SMALL_PAGES))
    changed = {**SMALL_PAGES, "fr/two.html": _fragment("fr", "two", "Une deuxième page sur les jardins.")}
    expected = _pagefind(changed)
    ran = _counting_index_one(monkeypatch)
    with PagefindWork(changed, previous=tmp_path) as work:
        assert work.kept == ["en"] and work.todo == ["fr"]
        files = work.files()
        first = next(files)
        assert first[0].startswith("pagefind/en/")
        # The caller holds one kept file and has asked for nothing more: French is being made all the same.
        _wait_for(lambda: ran == ["fr"], seconds=10)
        assert dict([first, *files]) == expected


def test_pagefind_starts_on_a_bundle_beside_the_rendering_as_soon_as_its_input_is_written() -> None:
    made_so_far: list[PagefindWork] = []

    def made(bundles: Collection[str] | None) -> list[tuple[str, bytes]]:
        if bundles is not None and "fr" in bundles:  # asked for French pages: Pagefind is at work on English already
            _wait_for(lambda: any(_started(work, "en") for work in made_so_far), seconds=10)
        return [(path, page) for path, page in SMALL_PAGES.items() if bundles is None or path[:2] in bundles]

    with PagefindWork(made) as work:
        made_so_far.append(work)
        assert work.folder and work.todo == ["en", "fr"]
        with work.index_meanwhile():
            pass
        assert "en" in work.early
        assert dict(work.files()) == _pagefind(SMALL_PAGES)


def test_pagefind_work_handed_to_another_process_carries_its_input_written_not_its_pages() -> None:
    with PagefindWork(SMALL_PAGES) as work:
        assert work.folder and not any(work.folder.iterdir())  # nothing written yet
        copy = pickle.loads(pickle.dumps(work))
        assert _requested_pages(work.folder) == {path: page.decode() for path, page in SMALL_PAGES.items()}
        assert copy._unwritten is None
        assert dict(copy.files()) == _pagefind(SMALL_PAGES)


def test_bundles_made_meanwhile_are_read_not_made_again(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _pagefind(CJK_PAGES)
    ran = _counting_index_one(monkeypatch)
    with PagefindWork(CJK_PAGES) as work:
        assert work.folder and work.todo == ["ja", "en", "zh", "fr"]  # the largest first
        with work.index_meanwhile():
            _wait_for(lambda: _started(work, "fr"))  # en made, fr under way: leaving waits for it
        # Never Japanese or Chinese: their segmenters' dictionaries are too large to load beside a build that holds
        # its documents.
        assert work.early == ["en", "fr"]
        assert dict(work.files()) == fresh
    assert ran == ["ja", "zh"]


@pytest.mark.skipif(not search_module._CAN_IDLE, reason="SCHED_IDLE is Linux's")
def test_pagefind_meanwhile_runs_at_idle_priority_and_its_failures_are_left_to_files(tmp_path: Path) -> None:
    log = tmp_path / "policies"
    stand_in = tmp_path / "pagefind"
    stand_in.write_text(
        f"#!{sys.executable}\nimport os\n"
        f"with open({str(log)!r}, 'a') as log: log.write(f'{{os.sched_getscheduler(0)}}\\n')\n"
        "raise SystemExit(1)\n"
    )
    stand_in.chmod(0o755)
    with PagefindWork(SMALL_PAGES) as work:
        work.binary = stand_in  # fails every bundle, after writing down the scheduling policy it runs under
        with work.index_meanwhile():
            _wait_for(lambda: log.exists() and len(log.read_text().split()) == 2)
        assert work.early == []
        # Both bundles are left, made two at a time: whichever fails first is the one reported.
        with pytest.raises(SearchIndexError, match="Pagefind failed on the (English|Français) pages"):
            dict(work.files())
    assert log.read_text().split()[:2] == [str(os.SCHED_IDLE)] * 2


def _answering_service(path: Path, payload: str) -> Path:
    """A stand-in for Pagefind's service that answers its first request with `payload` (Python source), then waits."""
    path.write_text(
        f"#!{sys.executable}\nimport base64, json, os, sys\n"
        "request = json.loads(base64.b64decode(os.read(0, 1 << 20).split(b',')[0]))\n"
        f"answer = {{'message_id': request['message_id'], 'payload': {payload}}}\n"
        "sys.stdout.buffer.write(base64.b64encode(json.dumps(answer).encode()) + b','); sys.stdout.flush()\n"
        "sys.stdin.read()\n"
    )
    path.chmod(0o755)
    return path


def _english_page_made_by(binary: Path) -> None:
    with PagefindWork({"en/one.html": SMALL_PAGES["en/one.html"]}) as work:
        work.binary = binary
        dict(work.files())


def test_what_pagefinds_service_answers_with_an_error_or_prints_as_it_fails_is_reported(tmp_path: Path) -> None:
    answering = _answering_service(tmp_path / "answering", "{'type': 'Error', 'message': 'no such index'}")
    dying = tmp_path / "dying"  # dies noisily
    dying.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('thread main panicked: out of memory')\n")
    dying.chmod(0o755)
    for stand_in, said in ((answering, "no such index"), (dying, "panicked: out of memory")):
        with pytest.raises(SearchIndexError, match=f"Pagefind failed on the English pages: .*{said}"):
            _english_page_made_by(stand_in)


def test_a_file_pagefinds_service_names_outside_its_bundle_is_refused(tmp_path: Path) -> None:
    files = "[{'path': '../../escape.js', 'content': base64.b64encode(b'alert(1)').decode()}]"
    escaping = _answering_service(tmp_path / "escaping", f"{{'type': 'GetFiles', 'files': {files}}}")
    with pytest.raises(SearchIndexError, match=r"English pages: .*'\.\./\.\./escape\.js'"):
        _english_page_made_by(escaping)


def test_a_failure_meanwhile_stops_pagefind_and_leaves_every_bundle_to_be_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = _pagefind(SMALL_PAGES)
    ran = _counting_index_one(monkeypatch)
    with PagefindWork(SMALL_PAGES) as work:
        assert work.folder
        with pytest.raises(RuntimeError), work.index_meanwhile():
            _wait_for(lambda: _started(work, "en"))
            raise RuntimeError("a template failed")
        assert work.early == []
        assert dict(work.files()) == fresh  # whatever the stopped run left in its folder is not used
    assert ran == ["en", "fr"]


def test_japanese_runs_alone_and_chinese_beside_another_bundle() -> None:
    assert search_module._may_start("ja", [])
    for bundle, running in (("en.2", ["en.1"]), ("fr", ["zh.2"]), ("zh-Hant.1", ["de"]), ("zh.1", ["zh.2"])):
        assert search_module._may_start(bundle, running), (bundle, running)
    for bundle, running in (("ja", ["en.1"]), ("en.1", ["ja"]), ("ja", ["zh.1"]), ("zh.2", ["ja-Jpan"])):
        assert not search_module._may_start(bundle, running), (bundle, running)


def test_build_writes_search_files(seed_site: Path, seed_structure: Site) -> None:
    for name in ("search.html", "concordance.html", SEARCH_DATA, "static/search.js", "static/concordance.js"):
        assert (seed_site / name).is_file(), name
    assert list((seed_site / "pagefind").rglob("*.pf_fragment"))
    soup = BeautifulSoup((seed_site / "search.html").read_text(encoding="utf-8"), "html.parser")
    form = soup.select_one("form[data-search-page]")
    assert form is not None
    bundles = str(form["data-bundles"]).split()
    assert bundles == sorted({path.name for path in (seed_site / "pagefind").iterdir()})
    assert {option["value"] for option in form.select("select[name=lang] option")} == {""} | {
        language.code for language in seed_structure.languages
    }
    assert form.select("select[name=lang] option")[0]["value"] == ""  # all languages unless the reader picks one
    assert form.select_one("select[name=lang] option[selected]") is None
    # The fragment pages fed to Pagefind are not part of the site.
    assert not [path for path in seed_site.rglob("*.html") if path.parent.name in bundles]


def test_search_files_are_deterministic(seed_structure: Site) -> None:
    assert dict(search_index_files(seed_structure)) == dict(search_index_files(seed_structure))


# ---- In the browser: Pagefind over http ----


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["pt", "fr", "en", "zh"])
def test_pagefind_finds_a_word_in_each_language(
    page: Page, seed_http: str, probes: dict[str, Probe], lang: str
) -> None:
    probe = probes[lang]
    shown = search(page, seed_http, probe.word)
    assert shown["engine"] == "pagefind"
    assert probe.documents <= found_documents(shown), (probe, shown["status"])
    by_pagefind = {result["doc"] for result in shown["results"] if result["source"] == "pagefind"}
    assert probe.documents & by_pagefind, f"Pagefind itself found none of {sorted(probe.documents)} for {probe.word!r}"
    for result in shown["results"]:
        if result["doc"] in probe.documents:
            assert result["href"].endswith(f"docs/{result['doc']}.html")
            assert result["badges"]
            assert any(
                excerpt["lang"] == lang and any(fold(probe.word) in fold(mark) for mark in excerpt["marks"])
                for excerpt in result["excerpts"]
            ), result["excerpts"]


@pytest.mark.browser
def test_a_mixed_document_is_found_by_words_of_both_its_languages(
    page: Page, seed_http: str, seed_corpus: Corpus, probes: dict[str, Probe]
) -> None:
    han = probes["zh"]
    mixed = [
        document
        for document in seed_corpus.documents
        if document.id in han.documents and len({block.lang for block in document.blocks}) > 1
    ]
    assert mixed, "the Chinese probe word comes from a document written in two languages"
    document = mixed[0]
    other = next(lang for lang, _share in document.language_shares if lang != "zh")
    words = Counter(
        word
        for block in document.blocks
        if block.lang == other
        for word in LETTERS.findall(block.text)
        if len(word) >= 8 and not HAN.search(word)
    )
    word = sorted((-count, word) for word, count in words.items())[0][1]
    for query, lang in ((han.word, "zh"), (word, other)):
        shown = search(page, seed_http, query)
        lead = next(result for result in shown["results"] if result["doc"] == document.id)
        assert lead["source"] == "pagefind"
        assert lang in {excerpt["lang"] for excerpt in lead["excerpts"]}


@pytest.mark.browser
def test_pagefind_language_filter(page: Page, seed_http: str, probes: dict[str, Probe]) -> None:
    english = probes["en"].word
    assert search(page, seed_http, english, lang="pt")["results"] == []
    shown = search(page, seed_http, english, lang="en")
    assert shown["results"] and all(excerpt["lang"] == "en" for r in shown["results"] for excerpt in r["excerpts"])
    assert "English" in shown["status"]
    assert page.eval_on_selector("select[name=lang]", "select => select.value") == "en"


PARTED_DOCS = 12


@pytest.fixture(scope="module")
def parted_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve English and two French texts, built with bundles small enough that English is cut into parts, and
    the offline index cut into parts of about three documents."""
    seeds = tmp_path_factory.mktemp("parted-seeds")
    files = {f"en-{number:02}.md": f"# Harbour note {number}\n\n{EN} The lighthouse keeper wrote it down.\n"
             for number in range(PARTED_DOCS)}  # fmt: skip
    files.update({f"fr-{number}.md": f"# Note {number}\n\n{FR}\n" for number in range(2)})
    write_files(seeds, files)
    out = tmp_path_factory.mktemp("parted") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search_module, "BUNDLE_BYTES", 1000)
        patch.setattr(render_module, "_PART_CUT", 3)
        build(seeds, out, cache=False)
    bundles = sorted(path.name for path in (out / "pagefind").iterdir())
    assert len([name for name in bundles if name.startswith("en.")]) >= 3, bundles
    assert len(list((out / "search-data").iterdir())) >= 3
    return out


@pytest.fixture(scope="module")
def parted_http(parted_site: Path, serve: Any) -> str:
    return str(serve(parted_site))


@pytest.mark.browser
def test_pagefind_searches_every_part_of_a_language(page: Page, parted_http: str) -> None:
    shown = search(page, parted_http, "lighthouse")
    assert shown["engine"] == "pagefind"
    assert len({result["doc"] for result in shown["results"] if result["source"] == "pagefind"}) == PARTED_DOCS
    assert len(search(page, parted_http, "lighthouse", lang="en")["results"]) == PARTED_DOCS
    assert search(page, parted_http, "lighthouse", lang="fr")["results"] == []
    assert len(search(page, parted_http, "bibliothèque", lang="fr")["results"]) == 2


@pytest.mark.browser
def test_pagefind_ignores_words_no_bundle_holds(page: Page, seed_http: str) -> None:
    # Pagefind answers an unknown word with the longest indexed word it starts with; that is not a hit.
    shown = search(page, seed_http, "qzxjvwkplm")
    assert shown["engine"] == "pagefind"
    assert shown["results"] == []
    assert shown["status"].startswith("No texts")


@pytest.mark.browser
def test_chinese_across_segmenter_words_still_found(page: Page, seed_http: str, seed_corpus: Corpus) -> None:
    # Three Han characters straddle the segmenter's word boundaries somewhere; substring matches fill in.
    han = next(
        run
        for document in seed_corpus.documents
        for block in document.blocks
        if block.lang == "zh"
        for run in HAN.findall(block.text)
        if len(run) >= 6
    )
    query = han[1:4]
    expected = {document.id for document in seed_corpus.documents if query in document.text}
    shown = search(page, seed_http, query)
    assert shown["engine"] == "pagefind"
    assert expected <= found_documents(shown)


# ---- In the browser: the offline index over file:// ----


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["pt", "fr", "en", "zh"])
def test_offline_search_finds_a_word_in_each_language(
    page: Page, seed_site: Path, probes: dict[str, Probe], lang: str
) -> None:
    probe = probes[lang]
    shown = search(page, seed_site.as_uri() + "/", probe.word)
    assert shown["engine"] == "offline"
    assert probe.documents <= found_documents(shown)
    for result in shown["results"]:
        assert result["source"] == "offline"
        assert result["excerpts"], result
        assert all(fold(probe.word) in fold(mark) for excerpt in result["excerpts"] for mark in excerpt["marks"])
        assert any(excerpt["marks"] for excerpt in result["excerpts"])


@pytest.mark.browser
def test_offline_search_and_the_concordance_read_every_part_of_the_index(page: Page, parted_site: Path) -> None:
    base = parted_site.as_uri() + "/"
    shown = search(page, base, "lighthouse")
    assert shown["engine"] == "offline"
    assert found_documents(shown) == {f"en-{number:02}" for number in range(PARTED_DOCS)}
    assert len(search(page, base, "bibliothèque", lang="fr")["results"]) == 2
    table = concordance(page, base, "lighthouse")
    # In the corpus's order, across the parts.
    assert [row["doc"] for row in table["rows"]] == [f"en-{number:02}" for number in range(PARTED_DOCS)]


@pytest.mark.browser
def test_offline_search_ignores_case_and_accents(page: Page, seed_site: Path, probes: dict[str, Probe]) -> None:
    probe = probes["fr"]
    shown = search(page, seed_site.as_uri() + "/", fold(probe.word).upper())
    assert probe.documents <= found_documents(shown)


@pytest.mark.browser
def test_offline_search_is_used_when_pagefind_is_missing(
    page: Page, seed_site: Path, tmp_path: Path, serve: Any, probes: dict[str, Probe]
) -> None:
    copy = tmp_path / "site"
    shutil.copytree(seed_site, copy)
    shutil.rmtree(copy / "pagefind")
    shown = search(page, serve(copy), probes["pt"].word)
    assert shown["engine"] == "offline"
    assert probes["pt"].documents <= found_documents(shown)


@pytest.mark.browser
def test_translations_are_grouped_into_one_result(
    page: Page, seed_site: Path, tmp_path: Path, serve: Any, seed_structure: Site
) -> None:
    # Translation groups come from elsewhere; here two documents are declared one group by hand.
    first, second = seed_structure.documents[0], seed_structure.documents[1]
    common = Counter(fold(word) for word in LETTERS.findall(first.text) if len(word) >= 4) & Counter(
        fold(word) for word in LETTERS.findall(second.text) if len(word) >= 4
    )
    word = sorted((-count, word) for word, count in common.items())[0][1]
    copy = tmp_path / "site"
    shutil.copytree(seed_site, copy)
    shutil.rmtree(copy / "pagefind")
    for path, content in search_index_files(seed_structure, {first.id: "group-1", second.id: "group-1"}):
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        (copy / path).write_bytes(content)
    for base in (serve(copy), copy.as_uri() + "/"):
        shown = search(page, base, word)
        grouped = [result for result in shown["results"] if result["group"] == "group-1"]
        assert len(grouped) == 1, shown["results"]
        assert set(grouped[0]["members"]) == {first.id, second.id}


# ---- The concordance ----


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["pt", "zh"])
def test_concordance_lists_every_occurrence(page: Page, seed_site: Path, probes: dict[str, Probe], lang: str) -> None:
    probe = probes[lang]
    shown = concordance(page, seed_site.as_uri() + "/", probe.word)
    assert len(shown["rows"]) == probe.occurrences
    assert shown["status"].startswith(f"{probe.occurrences} occurrences")
    assert shown["live"] == "polite"
    assert {row["doc"] for row in shown["rows"]} == probe.documents
    for row in shown["rows"]:
        assert fold(row["key"]) == fold(probe.word)
        assert row["lang"] == lang
        assert len(row["left"]) <= 42 and len(row["right"]) <= 42  # 40 characters (41 not to split a pair), "…"


@pytest.mark.browser
def test_concordance_sorts_and_filters(page: Page, seed_site: Path, probes: dict[str, Probe]) -> None:
    probe = probes["pt"]
    base = seed_site.as_uri() + "/"
    shown = concordance(page, base, probe.word)
    page.click("#kwic th[data-sort=right] button")
    after = read_table(page)
    assert after["sorted"] == [["right", "ascending"]]
    rights = [LETTERS.findall(fold(row["right"])) for row in after["rows"]]
    assert rights == sorted(rights)
    assert sorted(row["right"] for row in after["rows"]) == sorted(row["right"] for row in shown["rows"])
    page.click("#kwic th[data-sort=right] button")
    assert read_table(page)["sorted"] == [["right", "descending"]]
    page.click("#kwic th[data-sort=left] button")
    lefts = [list(reversed(LETTERS.findall(fold(row["left"])))) for row in read_table(page)["rows"]]
    assert lefts == sorted(lefts)
    other = concordance(page, base, probe.word, lang="fr")
    assert other["rows"] == [] and other["status"].startswith("0 occurrences")
    table = BeautifulSoup(page.content(), "html.parser").select_one("#kwic")
    assert table is not None
    assert [th["scope"] for th in table.select("thead th")] == ["col"] * 4


@pytest.mark.browser
def test_concordance_matches_inside_words_when_asked(page: Page, seed_site: Path, seed_corpus: Corpus) -> None:
    part = "model"
    expected = sum(fold(block.text).count(part) for document in seed_corpus.documents for block in document.blocks)
    whole = sum(
        len(re.findall(rf"(?<![^\W_]){part}(?![^\W_])", fold(block.text)))
        for document in seed_corpus.documents
        for block in document.blocks
    )
    base = seed_site.as_uri() + "/"
    assert len(concordance(page, base, part, words="0")["rows"]) == expected
    assert len(concordance(page, base, part)["rows"]) == whole


# ---- Seed text that tries to break out ----


@pytest.fixture(scope="module")
def hostile_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("hostile-seeds")
    (seeds / "hostile.txt").write_text(HOSTILE_TEXT + "\n" + HOSTILE_TEXT + "\n" + HOSTILE_TEXT, encoding="utf-8")
    (seeds / "plain.txt").write_text("An ordinary English note about the weather and the garden in spring.\n")
    return seeds


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory, hostile_seeds: Path) -> Path:
    out = tmp_path_factory.mktemp("hostile-site") / "site"
    build(hostile_seeds, out)
    return out


def test_hostile_text_stays_inert_in_the_offline_index(hostile_site: Path) -> None:
    files = offline_files_in(hostile_site)
    for content in files.values():
        assert b"</script" not in content.lower() and b"<!--" not in content
        assert "\u2028".encode() not in content and "\u2029".encode() not in content
    data = offline_data(files)
    assert any("</script><script>window.PWNED = 1</script>" in text for _doc, _lang, text in data["blocks"])


@pytest.mark.browser
@pytest.mark.parametrize("where", ["file", "http"])
def test_hostile_text_is_shown_not_run(
    page: Page, hostile_seeds: Path, hostile_site: Path, serve: Any, where: str
) -> None:
    base = hostile_site.as_uri() + "/" if where == "file" else serve(hostile_site)
    shown = search(page, base, "xylophonic")
    assert page.evaluate("() => window.PWNED") is None
    assert [result["title"] for result in shown["results"]]
    assert any("</script>" in excerpt["text"] for result in shown["results"] for excerpt in result["excerpts"])
    table = concordance(page, base, "script")
    assert page.evaluate("() => window.PWNED") is None
    expected = sum(
        len(re.findall(r"\bscript\b", block.text))
        for doc in load_corpus(hostile_seeds).documents
        for block in doc.blocks
    )
    assert expected >= 9
    assert len(table["rows"]) == expected
    assert {row["key"] for row in table["rows"]} == {"script"}
