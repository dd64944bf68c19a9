"""build(): atomic, deterministic output; rebuilds; refusals; a build killed while writing."""

from __future__ import annotations

import gc
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import pytest
from jinja2 import Environment

from corpus_site import build as build_module
from corpus_site import cache as cache_module
from corpus_site import detect, groups, langtag, overview, report, search
from corpus_site import render as render_module
from corpus_site.build import BuildError, BuildResult, build, recall_records
from corpus_site.loader import Loaded
from corpus_site.render import is_export_file
from corpus_site.writer import _STAGING_MARK, MANIFEST, KeptFile
from helpers import EN, FR, HE, PT, SEEDS, load_json, parse, write_files


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() or path.is_symlink()
    }


def plain_build(seeds: Path, tmp_path: Path) -> dict[str, bytes]:
    """The site a build without cache makes of `seeds` (into tmp_path/plain), file by file."""
    plain = tmp_path / "plain"
    build(seeds, plain, cache=False)
    return snapshot(plain)


def leftovers(out: Path) -> list[str]:
    return sorted(path.name for path in out.parent.iterdir() if path.name.startswith(f".{out.name}."))


def index_links(out: Path) -> set[str]:
    page = parse(out / "index.html")
    return {a["href"] for a in page.find_all("a", href=True)}


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "seeds", {"en.txt": f"{EN}\n", "pt.txt": f"{PT}\n", "fr/fr.md": f"# Horaires\n\n{FR}\n"}
    )


# Atomicity


FAILING_TEMPLATES = {
    # StrictUndefined: fails on the first document page.
    "undefined": '{% extends "corpus-site/doc.html" %}{% block title %}{{ doc.titel }}{% endblock %}',
    # Fails only on the last document, after every other page has rendered.
    "late": (
        '{% extends "corpus-site/doc.html" %}{% block title %}'
        "{% if next is none %}{{ 1 // (doc.words * 0) }}{% endif %}{{ doc.title }}{% endblock %}"
    ),
}


@pytest.mark.parametrize("kind", sorted(FAILING_TEMPLATES))
def test_a_failed_build_leaves_the_previous_site_exactly_as_it_was(tmp_path: Path, seeds: Path, kind: str) -> None:
    out = tmp_path / "site"
    build(seeds, out)
    (out / "mine.txt").write_text("a user's file")
    before = snapshot(out)
    mtimes = {path: path.stat().st_mtime_ns for path in out.rglob("*")}
    write_files(seeds, {"new.txt": f"{EN} Another one.\n"})
    (seeds / "en.txt").unlink()
    templates = write_files(tmp_path / "templates", {"doc.html": FAILING_TEMPLATES[kind]})
    with pytest.raises(BuildError, match=r"doc\.html:1: template error"):
        build(seeds, out, templates=templates)
    assert snapshot(out) == before
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*")} == mtimes
    assert leftovers(out) == []


def test_a_failed_first_build_creates_nothing(tmp_path: Path, seeds: Path) -> None:
    templates = write_files(tmp_path / "templates", {"doc.html": FAILING_TEMPLATES["late"]})
    with pytest.raises(BuildError):
        build(seeds, tmp_path / "site", templates=templates)
    assert not (tmp_path / "site").exists()
    assert leftovers(tmp_path / "site") == []


# Determinism


def test_two_builds_of_the_seeds_are_byte_identical(tmp_path: Path, seed_site: Path) -> None:
    # Built from a copy elsewhere, by a relative path: no path, time or order of the build machine leaks in.
    copy = tmp_path / "elsewhere" / "my seeds"
    shutil.copytree(SEEDS, copy)
    os.utime(copy / sorted(os.listdir(copy))[0], ns=(0, 0))
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        build(Path("elsewhere/my seeds"), Path("site"))
    finally:
        os.chdir(cwd)
    first, second = snapshot(seed_site), snapshot(tmp_path / "site")
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []
    assert len(first) > 10


def test_an_incremental_rebuild_equals_a_fresh_build(tmp_path: Path) -> None:
    # Cache, page memo and reused search bundles on one side; nothing reused on the other.
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    build(seeds, tmp_path / "site")
    edited = sorted(seeds.iterdir())[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nUma frase nova no fim.\n", encoding="utf-8")
    write_files(seeds, {"added.txt": EN})
    build(seeds, tmp_path / "site")
    build(seeds, tmp_path / "fresh", cache=False)
    incremental, fresh = snapshot(tmp_path / "site"), snapshot(tmp_path / "fresh")
    assert sorted(incremental) == sorted(fresh)
    assert [name for name in fresh if fresh[name] != incremental[name]] == []


def test_two_builds_of_a_hostile_corpus_are_byte_identical(tmp_path: Path) -> None:
    seeds = write_files(
        tmp_path / "seeds",
        {
            "a b/Ünïcödé name.txt": f"{EN}\n\n{HE}\n",
            "a-b/unicode-name.txt": f"{PT}\n",
            "x.md": "---\ntitle: '\"><img src=x onerror=alert(1)>'\ndate: [broken\n---\n<script>alert(1)</script>\n",
            "empty.md": "---\ntitle: nothing\n---\n",
            "dup.TXT": f"{FR}\n",
        },
    )
    (seeds / "bin.txt").write_bytes(bytes(range(256)))
    build(seeds, tmp_path / "one")
    build(seeds, tmp_path / "two")
    build(seeds, tmp_path / "two")  # a rebuild into the same folder gives the same bytes as a fresh one
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


# Rebuilds


def test_rebuild_after_adding_and_removing_seeds(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "site"
    build(seeds, out)
    assert {entry["source"] for entry in load_json(out)["documents"]} == {"en.txt", "pt.txt", "fr/fr.md"}
    assert not (out / "lang" / "he.html").exists()

    write_files(seeds, {"he.txt": f"{HE}\n"})
    build(seeds, out)
    added = next(entry for entry in load_json(out)["documents"] if entry["source"] == "he.txt")
    assert (out / added["url"]).is_file()
    assert added["url"] in index_links(out)
    assert (out / "lang" / "he.html").is_file()

    (seeds / "he.txt").unlink()
    (seeds / "pt.txt").unlink()
    result = build(seeds, out)
    sources = {entry["source"] for entry in load_json(out)["documents"]}
    assert sources == {"en.txt", "fr/fr.md"}
    assert not (out / added["url"]).exists()
    assert added["url"] not in index_links(out)
    assert not (out / "lang" / "he.html").exists() and not (out / "lang" / "pt.html").exists()
    assert not any("pt" in path.name for path in (out / "docs").iterdir())
    assert set(result.languages) == {"en", "fr"}
    # And the rebuilt folder is the same as a fresh build of the same seeds.
    build(seeds, tmp_path / "fresh")
    assert snapshot(out) == snapshot(tmp_path / "fresh")


def test_files_a_user_put_into_the_output_are_kept(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "site"
    build(seeds, out)
    user = {"CNAME": b"corpus.example.org\n", "docs/annotations.html": b"<p>mine</p>", "assets/logo.svg": b"<svg/>"}
    for name, data in user.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    (seeds / "pt.txt").unlink()
    build(seeds, out)
    build(seeds, out)
    for name, data in user.items():
        assert (out / name).read_bytes() == data, name


# The cyclic garbage collector


def test_the_collector_skips_loaded_records_while_rendering_and_is_restored_after(tmp_path: Path, seeds: Path) -> None:
    assert gc.isenabled() and gc.get_freeze_count() == 0
    seen: set[tuple[str, bool, bool]] = set()

    def progress(stage: str, done: int, total: int) -> None:
        seen.add((stage, gc.isenabled(), gc.get_freeze_count() > 0))

    out, cache = tmp_path / "out", tmp_path / "cache"
    build(seeds, out, progress=progress, jobs=1, cache_dir=cache, search_index=False)
    # Paused while records are made, then frozen (and collecting again) while pages are rendered.
    assert seen == {("load", False, False), ("render", True, True)}
    assert gc.isenabled() and gc.get_freeze_count() == 0
    build(seeds, out, progress=progress, jobs=1, cache_dir=cache, search_index=False)  # kept as it was
    assert gc.isenabled() and gc.get_freeze_count() == 0
    templates = write_files(tmp_path / "templates", {"doc.html": FAILING_TEMPLATES["late"]})
    with pytest.raises(BuildError):
        build(seeds, out, templates=templates, jobs=1, cache_dir=cache, search_index=False)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_serve_s_rebuilds_make_no_collection_on_the_way_to_the_pages_and_collect_again_after(
    tmp_path: Path, seeds: Path
) -> None:
    out, cache, lock = tmp_path / "out", tmp_path / "cache", threading.Lock()
    build(seeds, out, cache_dir=cache)
    events: list[str] = []

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            events.append("collection")

    def progress(stage: str, done: int, total: int) -> None:
        if not events or events[-1] != stage:
            events.append(stage)

    def pages_in(result: BuildResult) -> bool:
        events.append("pages in")
        return True

    def rebuild(**options: Any) -> None:
        options.update(isolate=False, in_place=lock, pages_first=pages_in, progress=progress)
        build(seeds, out, cache_dir=cache, **options)

    thresholds = gc.get_threshold()
    (seeds / "more.txt").write_text(f"{HE}\n", encoding="utf-8")
    gc.set_threshold(1)  # else a build this small might make no collection at all
    gc.callbacks.append(collected)
    try:
        rebuild()
        assert events[events.index("load") :][:3] == ["load", "render", "pages in"]  # none on the way to the pages
        assert gc.isenabled()
        templates = write_files(tmp_path / "templates", {"doc.html": FAILING_TEMPLATES["late"]})
        (seeds / "more.txt").write_text(f"{HE}\n\n{HE}\n", encoding="utf-8")
        with pytest.raises(BuildError):  # a failure: the collector is back all the same
            rebuild(templates=templates)
        assert gc.isenabled()
        events.clear()
        build(seeds, tmp_path / "plain", cache_dir=cache, isolate=False, search_index=False, progress=progress)
        assert "collection" in events  # no pages_first: collecting as before
    finally:
        gc.callbacks.remove(collected)
        gc.set_threshold(*thresholds)


# The child process that loads and renders

# Run in a fresh interpreter: a fork is only safe, so only made, when no other thread runs, and a test session
# has one (asyncio's child watcher, for the browser tests' Playwright driver).
BUILD_IN_A_FRESH_PROCESS = """
import json, multiprocessing, os, signal, sys
from pathlib import Path
from corpus_site import render as render_module
from corpus_site import search
from corpus_site.build import BuildError, build

seeds, out, cache, isolate, kill = sys.argv[1:]
seen = []

def build_children():
    return [child for child in multiprocessing.active_children() if child.name == "corpus-site build"]

def progress(stage, done, total):
    seen.append([stage, done, total, bool(build_children())])
    if kill == "kill" and stage == "render":
        for child in build_children():
            os.kill(child.pid, signal.SIGKILL)

try:
    result = build(Path(seeds), Path(out), progress=progress, jobs=1, cache_dir=Path(cache), isolate=isolate == "1")
    outcome = {"documents": result.document_count, "kept": result.pages_kept, "last": result.timings[-1][0]}
except BuildError as error:
    outcome = {"error": str(error)}
print(json.dumps({"seen": seen, "children left": len(build_children()), **outcome}))
"""


def build_in_a_fresh_process(seeds: Path, out: Path, *, isolate: bool = True, kill: bool = False) -> dict[str, Any]:
    arguments = [str(seeds), str(out), str(out.parent / f"cache-{out.name}"), str(int(isolate)), "kill" * kill]
    finished = subprocess.run(
        [sys.executable, "-c", BUILD_IN_A_FRESH_PROCESS, *arguments], capture_output=True, text=True, check=True
    )
    return cast(dict[str, Any], json.loads(finished.stdout))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a child is forked only on Linux")
def test_loading_and_rendering_happen_in_a_child_that_is_gone_before_the_build_returns(
    tmp_path: Path, seeds: Path
) -> None:
    built = build_in_a_fresh_process(seeds, tmp_path / "site")
    # Each progress call is made in the calling process, in order. The last ones may come after the child has
    # exited; the first, while it is still working.
    assert [stage for stage, *_ in built["seen"]] == ["load"] * 3 + ["render"] * 3
    assert built["seen"][-1][1:3] == [3, 3] and built["seen"][0][3]
    assert built["children left"] == 0 and built["documents"] == 3 and built["last"] == "swap in"
    inside = build_in_a_fresh_process(seeds, tmp_path / "inside", isolate=False)
    assert inside["seen"] and not any(child for *_, child in inside["seen"])


def test_pagefind_indexes_beside_the_rendering_unless_the_build_keeps_to_one_core(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    real = search._IndexingInTurn

    def indexing_in_turn(binary: Path, root: Path, bundles: list[str], *rest: Any) -> search._IndexingInTurn:
        started.append(list(bundles))
        return real(binary, root, bundles, *rest)

    monkeypatch.setattr(search, "_IndexingInTurn", indexing_in_turn)
    for jobs in (1, 2):
        build(seeds, tmp_path / f"site-{jobs}", jobs=jobs, cache=False, isolate=False)
    assert [sorted(bundles) for bundles in started] == [["en", "fr", "pt"]]
    assert snapshot(tmp_path / "site-1") == snapshot(tmp_path / "site-2")


def test_the_offline_index_is_made_while_pagefind_finishes_its_bundle_beside_the_rendering(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_stop, real_data = search._IndexingInTurn.stop, build_module.search_data_files

    def stop(self: search._IndexingInTurn, *, now: bool) -> list[str]:
        events.append("stop Pagefind beside the rendering")
        return real_stop(self, now=now)

    def search_data(*args: Any, **kwargs: Any) -> Iterator[tuple[str, bytes | KeptFile]]:
        events.append("offline index")
        yield from real_data(*args, **kwargs)

    monkeypatch.setattr(search._IndexingInTurn, "stop", stop)
    monkeypatch.setattr(build_module, "search_data_files", search_data)
    build(seeds, tmp_path / "site", jobs=2, cache=False, isolate=False)
    assert events == ["offline index", "stop Pagefind beside the rendering"]


def test_a_pages_only_build_links_the_last_search_index_unread_unless_it_changed_since(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(seeds, out, jobs=1, cache_dir=cache, isolate=False)
    index_files = sorted(
        path.relative_to(out).as_posix()
        for path in out.rglob("*")
        if path.is_file()
        and (path.name == search.SEARCH_DATA or path.parts[len(out.parts)] in ("pagefind", "search-data"))
    )
    assert len(index_files) > 10
    before = {name: (out / name).stat().st_ino for name in index_files}
    # One file changed since that build (same size, other bytes): it is not as the ledger says, so it is read.
    touched = out / "pagefind" / "en" / "pagefind-entry.json"
    touched.write_bytes(touched.read_bytes().upper())
    touched_bytes = touched.read_bytes()
    read: list[str] = []
    real_read = Path.read_bytes

    def counted(path: Path) -> bytes:
        if path.is_relative_to(out):
            read.append(path.relative_to(out).as_posix())
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", counted)
    (seeds / "more.txt").write_text(f"{EN}\n", encoding="utf-8")
    build(seeds, out, jobs=1, cache_dir=cache, isolate=False, search_index=False)
    assert read == ["pagefind/en/pagefind-entry.json"]
    after = {name: (out / name).stat().st_ino for name in index_files}
    assert {name for name in index_files if after[name] != before[name]} == set()  # every one linked, none copied
    assert touched.read_bytes() == touched_bytes  # kept as it now is, as the search index is until it is made again


def pagefind_files(out: Path) -> dict[str, bytes]:
    return {name: content for name, content in snapshot(out).items() if search.is_pagefind_file(name)}


def test_pages_first_puts_the_pages_in_beside_the_last_bundles_then_the_whole_site(tmp_path: Path, seeds: Path) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(seeds, out, cache_dir=cache)
    last_bundles = pagefind_files(out)
    assert last_bundles
    (seeds / "more.txt").write_text(f"{FR}\n\n{FR}\n", encoding="utf-8")  # new French text: a bundle to make again
    seen: list[tuple[int, dict[str, bytes], list[str]]] = []

    def pages_first(pages: BuildResult) -> bool:
        seen.append((pages.document_count, snapshot(out), leftovers(out)))
        return True

    result = build(seeds, out, cache_dir=cache, pages_first=pages_first)
    assert len(seen) == 1
    count, pages_in, beside = seen[0]
    assert ".site.corpus-site-new" in beside  # told before the site it replaced is removed (0.3 s at 10,000)
    assert count == result.document_count == 4
    plain = tmp_path / "plain"
    build(seeds, plain, cache=False)
    whole = snapshot(plain)

    # First: every file of the new site but Pagefind's (and the list of them all), and the last build's bundles.
    def pages_of(files: dict[str, bytes]) -> dict[str, bytes]:
        return {name: content for name, content in files.items() if not search.is_pagefind_file(name)} | {MANIFEST: b""}

    assert pages_of(pages_in) == pages_of(whole)
    assert pagefind_files(out) != last_bundles
    assert {name: content for name, content in pages_in.items() if search.is_pagefind_file(name)} == last_bundles
    # Then the site a plain build makes, and nothing left beside it.
    assert snapshot(out) == whole
    assert leftovers(out) == []
    # The pages were written once: the second swap linked them, and wrote only Pagefind's new files.
    made = [name for name, content in pagefind_files(out).items() if last_bundles.get(name) != content]
    assert made and result.written.written == len(made)


def test_in_process_the_pages_go_in_before_the_search_index_s_input_is_made(tmp_path: Path, seeds: Path) -> None:
    out, cache, lock = tmp_path / "site", tmp_path / "cache", threading.Lock()
    build(seeds, out, cache_dir=cache)
    last_search = {name: content for name, content in snapshot(out).items() if search.is_search_file(name)}
    last_exports = {name: content for name, content in snapshot(out).items() if is_export_file(name)}
    (seeds / "more.txt").write_text(f"{HE}\n\n{HE}\n", encoding="utf-8")  # a new language: a bundle for the search page
    seen: list[dict[str, bytes]] = []
    result = build(
        seeds, out, cache_dir=cache, isolate=False, in_place=lock, pages_first=lambda pages: seen.append(snapshot(out))
        is None,
    )  # fmt: skip
    build(seeds, tmp_path / "plain", cache=False)
    whole = snapshot(tmp_path / "plain")
    assert len(seen) == 1

    def split(files: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]]:
        index = {name: content for name, content in files.items() if search.is_search_file(name)}
        exports = {name: content for name, content in files.items() if is_export_file(name)}
        pages = {name: content for name, content in files.items() if name not in index | exports and name != MANIFEST}
        return pages, exports, index

    # The new pages beside the last build's exports (corpus.json, the feeds: no page reads them) and search: Pagefind's
    # bundles, the offline index and the pages that query them.
    assert split(seen[0]) == (split(whole)[0], last_exports, last_search)
    assert split(whole)[1] != last_exports and {"corpus.json", "feed.xml", "lang/he.xml"} <= set(split(whole)[1])
    changed = {name for name, content in split(whole)[2].items() if last_search.get(name) != content}
    assert {"search.html", "search-data.js"} <= changed and any(name.startswith("pagefind/he/") for name in changed)
    assert snapshot(out) == whole and leftovers(out) == []
    assert "search index" in dict(result.timings) and "search input" not in dict(result.timings)
    again = build(seeds, out, cache_dir=cache, isolate=False, in_place=lock, pages_first=lambda pages: True)
    assert again.written.written == 0 and snapshot(out) == whole
    with closing(sqlite3.connect(cache / cache_module._DB_NAME)) as db:  # the page memo's keys, by page
        remembered = {path for (path,) in db.execute("SELECT path FROM pages")}
    # Those made in either step: the new document's pages, and the search pages and offline index made after them.
    assert {"docs/more.html", "docs/more.txt", "search.html"} <= remembered
    assert any(path.startswith(search.SEARCH_DATA_DIR + "/") for path in remembered)


@pytest.mark.parametrize("isolate", [True, False])
def test_pages_go_in_first_when_pagefind_has_nothing_to_make_only_in_process(
    tmp_path: Path, seeds: Path, isolate: bool
) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(seeds, out, cache_dir=cache)
    templates = write_files(
        tmp_path / "templates", {"404.html": "{% extends 'base.html' %}{% block content %}Lost{% endblock %}"}
    )
    told: list[int] = []
    result = build(
        seeds, out, cache_dir=cache, templates=templates, isolate=isolate,
        pages_first=lambda pages: bool(told.append(pages.written.written)) or True,
    )  # fmt: skip
    if isolate:
        assert told == []  # the pages and the index went in at once, in one swap
    else:  # the offline index is made after the pages, so they go in first; the search index then changed nothing
        assert len(told) == 1 and told[0] > 0 and result.written.written == 0
    assert "Lost" in (out / "404.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("isolate", [True, False])
def test_pages_first_saying_stop_leaves_the_last_bundles_to_the_next_build(
    tmp_path: Path, seeds: Path, isolate: bool
) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(seeds, out, cache_dir=cache)
    last_bundles = pagefind_files(out)
    (seeds / "more.txt").write_text(f"{FR}\n\n{FR}\n", encoding="utf-8")
    result = build(seeds, out, cache_dir=cache, pages_first=lambda pages: False, isolate=isolate)
    assert result.document_count == 4 and "search index" not in dict(result.timings)
    assert (out / "docs" / "more.html").is_file()
    assert pagefind_files(out) == last_bundles
    assert leftovers(out) == [] and not [
        path for path in cache.iterdir() if path.name.startswith("corpus-site-pagefind-")
    ]
    build(seeds, out, cache_dir=cache)  # nothing changed since, but the bundles are made now
    build(seeds, tmp_path / "plain", cache=False)
    assert snapshot(out) == snapshot(tmp_path / "plain")


def test_when_pagefind_fails_after_the_pages_went_in_first_they_stay(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(seeds, out, cache_dir=cache)
    last_bundles = pagefind_files(out)
    real = search.pagefind_binary()
    failing = tmp_path / "pagefind"  # says its version as the real one does, then fails on every bundle
    failing.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        f"if sys.argv[1:] == ['--version']: os.execv({str(real)!r}, [{str(real)!r}, '--version'])\n"
        "sys.exit('stand-in: cannot index')\n"
    )
    failing.chmod(0o755)
    monkeypatch.setattr(search, "pagefind_binary", lambda: failing)
    (seeds / "more.txt").write_text(f"{FR}\n\n{FR}\n", encoding="utf-8")
    told: list[int] = []
    with pytest.raises(BuildError, match="Pagefind failed on the Fran"):
        build(seeds, out, cache_dir=cache, pages_first=lambda pages: bool(told.append(pages.document_count)) or True)
    assert told == [4]
    assert (out / "docs" / "more.html").is_file()
    assert pagefind_files(out) == last_bundles
    assert leftovers(out) == [] and not [
        path for path in cache.iterdir() if path.name.startswith("corpus-site-pagefind-")
    ]
    monkeypatch.undo()
    build(seeds, out, cache_dir=cache)
    build(seeds, tmp_path / "plain", cache=False)
    assert snapshot(out) == snapshot(tmp_path / "plain")


def test_pagefind_works_in_the_cache_folder_and_leaves_nothing_there(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_temporary = tmp_path / "tmp"
    system_temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temporary))
    roots: list[Path] = []
    real = search._index_one

    def index_one(binary: Path, root: Path, bundle: str) -> dict[str, bytes]:
        roots.append(root)
        return real(binary, root, bundle)

    monkeypatch.setattr(search, "_index_one", index_one)
    cache = tmp_path / "cache"
    build(seeds, tmp_path / "site", jobs=1, cache_dir=cache, isolate=False)
    assert roots and {root.parent for root in roots} == {cache}
    assert not [path for path in cache.iterdir() if path.name.startswith("corpus-site-pagefind-")]
    cached = len(roots)
    build(seeds, tmp_path / "uncached", jobs=1, cache=False, isolate=False)  # no cache folder: the system's
    assert roots[cached:] and {root.parent for root in roots[cached:]} == {system_temporary}
    assert list(system_temporary.iterdir()) == []


def test_a_build_in_a_child_and_one_in_process_make_the_same_site(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    sites = {isolate: tmp_path / f"site-{isolate}" for isolate in (True, False)}
    for isolate, out in sites.items():
        build_in_a_fresh_process(seeds, out, isolate=isolate)
    assert snapshot(sites[True]) == snapshot(sites[False])
    write_files(seeds, {"added.txt": f"{EN}\n"})  # again with the page memo and the kept search bundles
    results = {isolate: build_in_a_fresh_process(seeds, out, isolate=isolate) for isolate, out in sites.items()}
    assert snapshot(sites[True]) == snapshot(sites[False])
    assert results[True]["kept"] == results[False]["kept"] > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a child is forked only on Linux")
def test_a_child_killed_midway_fails_the_build_and_leaves_the_old_site(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "site"
    build_in_a_fresh_process(seeds, out)
    before = snapshot(out)
    write_files(seeds, {"added.txt": f"{EN}\n"})
    killed = build_in_a_fresh_process(seeds, out, kill=True)
    assert re.fullmatch(r".*ended without finishing \(exit code -9\).*previous site is unchanged.*", killed["error"])
    assert snapshot(out) == before
    build_in_a_fresh_process(seeds, out)
    assert "added.html" in {path.name for path in (out / "docs").iterdir()} and leftovers(out) == []


# Refusals


def test_refusals_name_the_path_and_say_what_to_do(tmp_path: Path, seeds: Path) -> None:
    missing = tmp_path / "no-such-seeds"
    a_file = tmp_path / "site.html"
    a_file.write_text("mine")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    inside = seeds / "site"
    outer = tmp_path / "outer"
    nested_seeds = write_files(outer / "seeds", {"a.txt": f"{EN}\n"})
    cases = [
        (missing, tmp_path / "out", missing, "does not exist"),
        (a_file, tmp_path / "out", a_file, "is a file"),
        (seeds, a_file, a_file, "is a file"),
        (seeds, foreign, foreign, "not empty"),
        (seeds, inside, inside, "inside the seeds folder"),
        (seeds, seeds, seeds, "inside the seeds folder"),
        (nested_seeds, outer, nested_seeds, "inside the output folder"),
        (seeds, a_file / "site", a_file, "cannot write"),
    ]
    for source, out, named, reason in cases:
        with pytest.raises(BuildError) as caught:
            build(source, out)
        message = str(caught.value)
        assert str(named) in message and reason in message, message
        assert "\n" not in message
        assert ";" in message or "choose" in message or "give" in message  # says what to do
    assert a_file.read_text() == "mine"
    assert (foreign / "cat.jpg").read_bytes() == b"\xff\xd8" and sorted(os.listdir(foreign)) == ["cat.jpg"]
    assert not inside.exists()
    assert sorted(os.listdir(outer)) == ["seeds"]


def test_an_empty_existing_folder_is_accepted(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    build(seeds, out)
    assert (out / "index.html").is_file()


# Killed while writing


def synthetic_corpus(folder: Path, variant: int) -> Path:
    """400 small documents; variant 1 drops, changes and adds a few, so the two sites differ in every way."""
    rng = random.Random(7)
    words = ["the", "dog", "runs", "in", "a", "park", "every", "morning", "with", "its", "owner", "and", "ball"]
    files: dict[str, str] = {}
    for number in range(400):
        body = " ".join(rng.choice(words) for _ in range(40))
        files[f"part-{number // 100}/doc-{number:03d}.txt"] = f"Note number {number}\n\n{body}.\n"
    if variant:
        for number in range(0, 400, 40):
            del files[f"part-{number // 100}/doc-{number:03d}.txt"]
        for number in range(5, 400, 20):
            files[f"part-{number // 100}/doc-{number:03d}.txt"] += f"\n{PT}\n"
        for number in range(10):
            files[f"new/extra-{number}.txt"] = f"Extra {number}\n\n{FR}\n"
    return write_files(folder, files)


def descendants(pid: int) -> set[int]:
    """The process's children, their children, and so on, as Linux lists them."""
    found: set[int] = set()
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
            except OSError:
                continue
            found.update(map(int, children))
            stack.extend(map(int, children))
    return found


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc")
def test_a_build_killed_while_loading_leaves_no_worker_behind_to_hold_the_output(tmp_path: Path) -> None:
    seeds = synthetic_corpus(tmp_path / "seeds", 0)
    out = tmp_path / "site"
    command = [sys.executable, "-m", "corpus_site", "build", str(seeds), "-o", str(out), "-q", "--jobs", "2"]
    process = subprocess.Popen([*command, "--no-cache"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree: set[int] = set()
    while process.poll() is None and len(tree) < 3:  # the build's child and its two workers
        tree = descendants(process.pid)
    assert len(tree) >= 3, "the build ended before its workers were seen"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(running, tree)):
        time.sleep(0.05)
    assert not any(map(running, tree)), "a process of the killed build lives on"
    # A worker left alive held the output folder's lock: the next build waited for it forever.
    assert subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    assert (out / "index.html").is_file()


def start_build(seeds: Path, out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "corpus_site", "build", str(seeds), "-o", str(out), "-q"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_staging(process: subprocess.Popen[bytes], staging: Path, probe: Path | None) -> None:
    """Until the build has made its own staging folder (a stale one, which it removes first, holds our probe)."""
    while process.poll() is None and not ((staging / _STAGING_MARK).exists() and not (probe and probe.exists())):
        time.sleep(0.001)


def probe_stale(staging: Path) -> Path | None:
    """Mark a staging folder a killed build left, to tell it from the one the next build makes."""
    if not staging.exists() or not any(staging.iterdir()):
        return None
    probe = staging / "left-by-the-killed-build"
    probe.touch()
    return probe


def mix(now: dict[str, bytes], sites: list[dict[str, bytes]]) -> str:
    def differences(site: dict[str, bytes]) -> list[str]:
        return sorted(name for name in set(now) | set(site) if now.get(name) != site.get(name))

    old, new = differences(sites[0]), differences(sites[1])
    return f"{len(old)} files differ from the old site ({old[:5]}), {len(new)} from the new one ({new[:5]})"


def test_a_build_killed_while_writing_leaves_the_old_site_or_the_new_one(tmp_path: Path) -> None:
    corpora = [synthetic_corpus(tmp_path / f"seeds-{variant}", variant) for variant in (0, 1)]
    out = tmp_path / "site"
    staging = tmp_path / ".site.corpus-site-new"
    build(corpora[0], out)
    sites = [snapshot(out)]
    # One whole build measures how long writing takes on this machine (from the staging folder's birth to exit) ...
    process = start_build(corpora[1], out)
    wait_for_staging(process, staging, None)
    began = time.monotonic()
    _, stderr = process.communicate()
    assert process.returncode == 0, stderr.decode()
    writing = time.monotonic() - began
    sites.append(snapshot(out))
    assert sites[0] != sites[1] and leftovers(out) == []
    # ... then builds are killed at random moments spread over that span, each from whichever site is there.
    rng = random.Random()
    delays = [writing * rng.uniform(step / 3, (step + 1) / 3) for step in range(3)]
    state, outcomes = 1, []
    # The last two kills aim at the swap itself: the moment our mark leaves the staging folder, just before the
    # exchange, or while the old site (now in the staging folder) is being deleted.
    for delay in [*delays, None, None]:
        target = 1 - state
        probe = probe_stale(staging)
        process = start_build(corpora[target], out)
        wait_for_staging(process, staging, probe)
        if delay is None:
            while process.poll() is None and (staging / _STAGING_MARK).exists():
                pass
        else:
            time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate()
        assert process.returncode in (0, -signal.SIGKILL), stderr.decode()
        now = snapshot(out)
        assert now in sites, f"killed {delay} s into writing, {out} is a mix: {mix(now, sites)}"
        state = sites.index(now)
        outcomes.append((delay and round(delay, 3), "new" if state == target else "old", staging.exists()))
        # A killed build's lock file stays (the next build locks and removes it); nothing else may.
        left = [name for name in leftovers(out) if name != f".{out.name}.corpus-site-lock"]
        assert left in ([], [staging.name]), outcomes
    # The next build succeeds, whatever the kills left, and cleans up the staging folder.
    result = subprocess.run(
        [sys.executable, "-m", "corpus_site", "build", str(corpora[1 - state]), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (result.stderr, outcomes)
    assert snapshot(out) == sites[1 - state]
    assert leftovers(out) == [], outcomes
    print(f"writing took {writing:.3f} s; kills (delay, site left, staging left): {outcomes}")


# Records kept in memory between builds (serve)


def test_resident_records_stand_in_for_the_cache_and_never_for_a_changed_seed(tmp_path: Path, seeds: Path) -> None:
    out, cache, resident = tmp_path / "site", tmp_path / "cache", {}
    build(seeds, out, cache_dir=cache, isolate=False, resident=resident)
    assert len(resident) == 3
    first = dict(resident)
    shutil.rmtree(cache)  # from here on, only memory can know the records
    (seeds / "more.txt").write_text(f"{FR}\n\n{FR}\n", encoding="utf-8")
    (seeds / "en.txt").write_text(f"{EN}\n\n{PT}\n", encoding="utf-8")
    result = build(seeds, out, cache_dir=cache, isolate=False, resident=resident)
    assert result.from_cache == 2  # pt.txt and fr/fr.md, from memory
    assert len(resident) == 4  # this build's records, and no others: the old en.txt's is gone
    assert len(set(resident) & set(first)) == 2
    assert snapshot(out) == plain_build(seeds, tmp_path)


def test_recalled_records_are_those_the_cache_holds_for_the_seeds_as_they_are_now(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(seeds, out, cache_dir=cache)  # in a child process: its records are not kept here
    (seeds / "en.txt").write_text(f"{EN}\n\n{PT}\n", encoding="utf-8")  # not built yet: the cache has no record
    # What this process's earlier builds left in the per-process memos must not count here.
    monkeypatch.setattr(render_module, "_ENTRIES", render_module.EncodedEntries())
    monkeypatch.setattr(overview, "_COUNTS", overview.WordCounts())
    monkeypatch.setattr(report, "_SHORT_LINES", report.ShortLineCounts())
    monkeypatch.setattr(groups, "_LAST_PROFILES", {})
    worked_out: list[tuple[str, str]] = []  # (what, document) for each profile and list of short lines made

    def spying(what: str, work: Any) -> Any:
        return lambda document: worked_out.append((what, document.source)) or work(document)

    monkeypatch.setattr(groups, "_profile", spying("profile", groups._profile))
    monkeypatch.setattr(report, "_short_lines_of", spying("short lines", report._short_lines_of))
    monkeypatch.setattr(detect, "_profiles", {})  # langdetect's profiles, read on first use
    report._mojibake_suspect.cache_clear()  # and the mojibake check's pattern
    resident: dict[str, Loaded] = {}
    recall_records(seeds, cache_dir=cache, into=resident)
    assert sorted(loaded.document.source for loaded in resident.values() if loaded.document) == ["fr/fr.md", "pt.txt"]
    # What loading the next seed needs is read already: every script's profiles, ftfy's pattern.
    assert set(detect._profiles) == set(langtag._LANGS.values()) and report._mojibake_suspect.cache_info().currsize
    assert sorted(worked_out) == [
        (what, source) for what in ("profile", "short lines") for source in ("fr/fr.md", "pt.txt")
    ]
    worked_out.clear()
    result = build(seeds, out, cache_dir=cache, isolate=False, resident=resident)
    assert result.from_cache == 2
    assert len(resident) == 3
    # Their words were counted, their corpus.json entries encoded, their translation profiles and short lines made
    # with them: the build did only en.txt's.
    assert render_module._ENTRIES.encoded == 1 and overview._COUNTS.counted == 1
    assert sorted(worked_out) == [("profile", "en.txt"), ("short lines", "en.txt")]
    assert snapshot(out) == plain_build(seeds, tmp_path)


def test_recalling_compiles_and_analyses_the_templates_so_the_next_build_does_neither(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(seeds, out, cache_dir=cache)  # in a child process: its environment is not kept here
    monkeypatch.setattr(build_module, "_ENVIRONMENT", {})  # nor what this process's earlier builds left
    monkeypatch.setattr(cache_module, "_SETTLED_NS", 0)  # the templates count as settled, even in a fresh clone
    compiled: list[str | None] = []
    analysed: list[str] = []
    real_compile, real_uses = Environment.compile, cache_module.template_uses

    def compiling(env: Environment, source: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(name)
        return real_compile(env, source, name, *args, **kwargs)

    def analysing(env: Environment, name: str) -> Any:
        analysed.append(name)
        return real_uses(env, name)

    monkeypatch.setattr(Environment, "compile", compiling)
    monkeypatch.setattr(cache_module, "template_uses", analysing)
    resident: dict[str, Loaded] = {}
    recall_records(seeds, cache_dir=cache, into=resident)
    assert {"doc.html", "lang.html", "index.html"} <= set(compiled) and "doc.html" in analysed
    compiled.clear()
    analysed.clear()
    (seeds / "en.txt").write_text(f"{EN}\n\n{PT}\n", encoding="utf-8")
    result = build(seeds, out, cache_dir=cache, isolate=False, resident=resident)
    assert compiled == [] and analysed == []
    assert result.pages_kept >= 1, result.pages_kept  # the templates are the page memo's: a page it kept says so
    assert snapshot(out) == plain_build(seeds, tmp_path)


def _built_as_serve_s_first_build(tmp_path: Path) -> tuple[Path, Path, Path, threading.Lock]:
    """A copy of the seeds (seeds, site, cache, lock) built as serve's first build is: in a child, whose page keys go
    with it."""
    seeds, out, cache, lock = tmp_path / "seeds", tmp_path / "site", tmp_path / "cache", threading.Lock()
    shutil.copytree(SEEDS, seeds)
    build(seeds, out, cache_dir=cache, in_place=lock)
    return seeds, out, cache, lock


def _pages_keyed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The place of each page (or page part) whose key is worked out from what it reads from now on, not taken
    again from the last build in this process."""
    keyed: list[bytes] = []
    real_key = cache_module.PageMemo._key

    def keying(memo: cache_module.PageMemo, name: str, context: Any, place: bytes) -> str | None:
        keyed.append(place)
        return real_key(memo, name, context, place)

    monkeypatch.setattr(cache_module.PageMemo, "_key", keying)
    return keyed


def test_a_pass_through_every_page_after_a_build_in_a_child_lets_the_next_build_take_each_page_s_key_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, out, cache, lock = _built_as_serve_s_first_build(tmp_path)
    before = snapshot(out)
    resident: dict[str, Loaded] = {}
    recall_records(seeds, cache_dir=cache, into=resident)

    def as_serve_rebuilds(**options: Any) -> BuildResult:
        return build(seeds, out, cache_dir=cache, isolate=False, resident=resident, in_place=lock, **options)

    result = as_serve_rebuilds(every_page=True, pages_first=lambda result: False)
    assert result.written.written == 0 and snapshot(out) == before  # the seeds are as they were: nothing to write
    keyed = _pages_keyed(monkeypatch)
    (seeds / "zz-added.txt").write_text(
        "A short note on the garden: the tomatoes are late this year, the beans early.\n", encoding="utf-8"
    )
    as_serve_rebuilds(pages_first=lambda result: True)
    document_pages = [place for place in keyed if place.startswith(b"\0page\0docs/")]
    # The new document's page and its neighbour's (whose "next" link changed); the other five kept their keys.
    assert len(document_pages) == 2, document_pages
    assert snapshot(out) == plain_build(seeds, tmp_path)


def test_recalling_for_an_output_folder_works_out_each_page_s_key_so_the_pass_after_a_build_in_a_child_takes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, out, cache, lock = _built_as_serve_s_first_build(tmp_path)
    monkeypatch.setattr(cache_module, "_CARRIED", {})  # nor may this process's earlier builds leave any
    resident: dict[str, Loaded] = {}
    recall_records(seeds, cache_dir=cache, into=resident, out=out)
    # A seed added while serve's first build was still making its search index: the pass builds it.
    (seeds / "zz-added.txt").write_text(
        "A short note on the garden: the tomatoes are late this year, the beans early.\n", encoding="utf-8"
    )
    keyed = _pages_keyed(monkeypatch)
    hashed: list[str] = []  # the plain-text files whose key was worked out, not taken again
    real_file_key = cache_module.PageMemo.file_key

    def file_keying(memo: cache_module.PageMemo, path: str, inputs: tuple[object, ...]) -> str | None:
        carried = memo.carried
        key = real_file_key(memo, path, inputs)
        if memo.carried == carried and render_module.is_text_file(path):
            hashed.append(path)
        return key

    monkeypatch.setattr(cache_module.PageMemo, "file_key", file_keying)

    def worked_out_by(**options: Any) -> tuple[list[bytes], list[bytes], list[str]]:
        """The document pages, other pages and plain-text files whose key a rebuild as serve's worked out."""
        keyed.clear()
        hashed.clear()
        build(
            seeds, out, cache_dir=cache, isolate=False, resident=resident, in_place=lock,
            pages_first=lambda result: True, **options,
        )  # fmt: skip
        document_pages = [place for place in keyed if place.startswith(b"\0page\0docs/")]
        return document_pages, [place for place in keyed if place not in document_pages], list(hashed)

    document_pages, other_pages, texts = worked_out_by(every_page=True)
    # The new document's page and its neighbour's (whose "next" link changed); the others kept their keys.
    assert len(document_pages) == 2, document_pages
    assert texts == ["docs/zz-added.txt"]
    # Of the other pages, those a later rebuild that adds a seed works out too (the language pages list it).
    (seeds / "zz-later.txt").write_text(
        "Another note on the garden: the apples are ripe, the pears are not.\n", encoding="utf-8"
    )
    later_documents, later_others, later_texts = worked_out_by()
    assert len(later_documents) == 2 and later_texts == ["docs/zz-later.txt"]
    assert later_others == other_pages and b"\0fragment" in other_pages  # the changed parts of the long tables
    assert snapshot(out) == plain_build(seeds, tmp_path)


def test_serve_s_rebuilds_put_the_plain_text_of_unchanged_documents_in_after_the_pages_and_still_mend_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, out, cache, lock = tmp_path / "seeds", tmp_path / "site", tmp_path / "cache", threading.Lock()
    shutil.copytree(SEEDS, seeds)
    resident: dict[str, Loaded] = {}

    def as_serve_rebuilds(pages_first: Any) -> BuildResult:
        return build(
            seeds, out, cache_dir=cache, isolate=False, resident=resident, in_place=lock, pages_first=pages_first
        )  # fmt: skip

    as_serve_rebuilds(lambda result: True)
    texts = sorted(name for name in snapshot(out) if render_module.is_text_file(name))
    assert len(texts) > 3 and all(name.startswith("docs/") for name in texts)
    defaced = texts[0]
    (out / defaced).write_text("defaced\n", encoding="utf-8")
    (seeds / "zz-added.txt").write_text(f"{EN}\n", encoding="utf-8")
    at_pages: list[dict[str, bytes]] = []
    as_serve_rebuilds(lambda result: at_pages.append(snapshot(out)) is None)
    plain = tmp_path / "plain"
    build(seeds, plain, cache=False)
    whole = snapshot(plain)
    # With the pages: the new document's page and the plain text it links to. The others follow, mended if need be.
    assert at_pages[0]["docs/zz-added.txt"] == whole["docs/zz-added.txt"]
    assert at_pages[0]["docs/zz-added.html"] == whole["docs/zz-added.html"]
    assert at_pages[0][defaced] == b"defaced\n" and snapshot(out) == whole

    # A rebuild whose search index waits for the next one (more changes came) still looks at the plain-text files
    # it left as they were, so the next one makes only the new document's again.
    made: list[str] = []
    real = render_module._cleaned_bytes
    monkeypatch.setattr(render_module, "_cleaned_bytes", lambda document: made.append(document.id) or real(document))
    (seeds / "zz-more.txt").write_text(f"{FR}\n", encoding="utf-8")
    as_serve_rebuilds(lambda result: False)
    (seeds / "zz-most.txt").write_text(f"{PT}\n", encoding="utf-8")
    made.clear()
    as_serve_rebuilds(lambda result: True)
    assert made == ["zz-most"]
    build(seeds, plain, cache=False)
    assert snapshot(out) == snapshot(plain)


def test_builds_in_place_give_a_plain_build_s_site_and_leave_every_unchanged_file_as_it_was(
    tmp_path: Path, seeds: Path
) -> None:
    out, cache, lock = tmp_path / "site", tmp_path / "cache", threading.Lock()
    build(seeds, out, cache_dir=cache, in_place=lock)
    before = snapshot(out)
    inodes = {name: (os.stat(out / name).st_ino, os.stat(out / name).st_ctime_ns) for name in before}
    (seeds / "more.txt").write_text(f"{FR}\n\n{FR}\n", encoding="utf-8")  # new French text: a bundle to make again
    told: list[dict[str, bytes]] = []
    build(seeds, out, cache_dir=cache, in_place=lock, pages_first=lambda pages: told.append(snapshot(out)) is None)
    plain = tmp_path / "plain"
    build(seeds, plain, cache=False)
    assert len(told) == 1
    assert snapshot(out) == snapshot(plain)
    assert leftovers(out) == []
    # Not even linked anew (a link would change the change time): the files were left alone.
    same = [name for name, content in snapshot(out).items() if before.get(name) == content and name != MANIFEST]
    assert same and all((os.stat(out / name).st_ino, os.stat(out / name).st_ctime_ns) == inodes[name] for name in same)
    assert not lock.locked()


def test_corpus_json_entries_are_encoded_again_only_for_documents_that_changed(tmp_path: Path) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    texts = {"en.md": EN, "pt.md": PT, "fr.md": FR}
    seeds = write_files(
        tmp_path / "seeds", {name: f"---\ntranslation_key: hours\n---\n\n{text}\n" for name, text in texts.items()}
    )
    resident: dict[str, Loaded] = {}  # builds that keep their records, as serve's do, keep the entries too
    build(seeds, out, cache_dir=cache, isolate=False, resident=resident)
    group = load_json(out)["documents"][0]["group"]
    assert group and len(group["members"]) == 3
    (seeds / "he.txt").write_text(f"{HE}\n", encoding="utf-8")
    fr = (seeds / "fr.md").read_bytes()
    (seeds / "fr.md").unlink()  # the group loses a member: its two other entries change
    encoded, exports = [], []
    for _ in ("fr.md gone, he.txt new", "fr.md back"):
        build(seeds, out, cache_dir=cache, isolate=False, search_index=False, resident=resident)
        encoded.append(render_module._ENTRIES.encoded)
        exports.append([(out / name).read_bytes() for name in ("corpus.json", "corpus.jsonl")])
        (seeds / "fr.md").write_bytes(fr)
    assert encoded == [1, 1]  # he.txt; then fr.md, gone from the last build (the group's two join it anew)
    # Plain builds, after: one in between would have left the kept entries empty.
    for removed in (False, True):
        if removed:
            (seeds / "fr.md").unlink()
        build(seeds, tmp_path / "plain", cache=False, search_index=False)
        assert [(tmp_path / "plain" / name).read_bytes() for name in ("corpus.json", "corpus.jsonl")] == exports[
            1 - removed
        ]
    build(seeds, out, cache_dir=cache, isolate=False, search_index=False)  # keeps no records: holds no entries
    assert render_module._ENTRIES._last == {}


def test_a_build_that_keeps_no_records_renders_them_without_their_features_and_makes_the_same_site(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    featured: list[bool] = []  # whether the documents rendered carried their features, for each build
    site_pages = render_module._site_pages

    def spying(site: Any, *rest: Any) -> Any:
        featured.append(any(document.features is not None for document in site.documents))
        return site_pages(site, *rest)

    monkeypatch.setattr(render_module, "_site_pages", spying)
    resident: dict[str, Loaded] = {}
    # The second one is serve's: it keeps its records, features and all, for the next build.
    for out, keeps in ((tmp_path / "site", None), (tmp_path / "kept", resident)):
        build(seeds, out, cache_dir=tmp_path / f"{out.name}-cache", isolate=False, search_index=False, resident=keeps)
    assert featured == [False, True]
    assert all(loaded.document and loaded.document.features for loaded in resident.values())
    assert snapshot(tmp_path / "site") == snapshot(tmp_path / "kept")


def test_a_process_keeps_its_templates_from_one_build_to_the_next_until_a_file_beside_them_changes(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "_SETTLED_NS", 0)  # files count as settled at once: each is a build old here
    made: list[object] = []
    make = build_module.environment
    monkeypatch.setattr(build_module, "environment", lambda folders: made.append(folders) or make(folders))
    templates = tmp_path / "templates"
    override = templates / "doc.html"
    write_files(templates, {"doc.html": "{% extends 'corpus-site/doc.html' %}{% block title %}first{% endblock %}"})
    out, cache = tmp_path / "site", tmp_path / "cache"

    def rebuild(**options: Any) -> str:
        build(seeds, out, templates=templates, cache_dir=cache, isolate=False, search_index=False, **options)
        return (out / "docs" / "pt.html").read_text(encoding="utf-8")

    assert "<title>first" in rebuild()
    (seeds / "more.txt").write_text(f"{FR}\n\n{FR}\n", encoding="utf-8")
    assert "<title>first" in rebuild()
    assert len(made) == 1  # the second build parsed and compiled no template again
    override.write_text(override.read_text(encoding="utf-8").replace("first", "second one"), encoding="utf-8")
    assert "<title>second one" in rebuild()
    (templates / "static").mkdir()
    (templates / "static" / "extra.css").write_text("p { margin: 0 }\n", encoding="utf-8")  # any file there counts
    rebuild()
    assert len(made) == 3
    # A build without the page memo, after one that used it, renders every page itself.
    rebuild(cache=False)
    plain = tmp_path / "plain"
    build(seeds, plain, templates=templates, cache=False, search_index=False)
    assert snapshot(out) == snapshot(plain)
    # Templates a build without the page memo loaded would pass it by: a build with it does not take them.
    monkeypatch.setattr(build_module, "_ENVIRONMENT", {})
    build(seeds, plain, templates=templates, cache=False, search_index=False)
    (seeds / "most.txt").write_text(f"{PT}\n\n{PT}\n", encoding="utf-8")
    kept = build(seeds, out, templates=templates, cache_dir=cache, isolate=False, search_index=False).pages_kept
    assert kept >= 3
