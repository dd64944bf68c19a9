"""The content cache: reused when nothing changed, never stale, beside the seeds; unchanged pages keep their mtimes."""

from __future__ import annotations

import ast
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from jinja2 import DictLoader, Environment, Template

from corpus_site import cache as cache_module
from corpus_site import render as render_module
from corpus_site import search as search_module
from corpus_site.build import BuildError, build
from corpus_site.cache import CACHE_DIR_NAME, LoadCache, code_fingerprint, default_cache_dir, open_cache, seed_key
from corpus_site.loader import discover, load_corpus
from corpus_site.workers import loading
from helpers import ROOT, load_json

EN = "The library opens at nine in the morning and closes late on Fridays, when the reading room is busy."
PT = "A biblioteca abre às nove da manhã e fecha tarde às sextas-feiras, quando a sala de leitura está cheia."
OTHER = "Visitors may borrow up to ten books at a time with a free card and return them at any branch of the city."
FR = "La bibliothèque ouvre à neuf heures du matin et ferme tard le vendredi, quand la salle de lecture est pleine."


def write_corpus(folder: Path, count: int = 6) -> Path:
    seeds = folder / "seeds"
    seeds.mkdir(parents=True)
    texts = [EN, PT, FR]
    for number in range(count):
        text = texts[number % 3]
        (seeds / f"note-{number:02d}.md").write_text(
            f"---\ntitle: Note {number}\n---\n\n{text}\n\n{text}\n", encoding="utf-8"
        )
    return seeds


def files_of(out: Path) -> dict[str, bytes]:
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


def title_of(out: Path, doc_id: str) -> str:
    soup = BeautifulSoup((out / "docs" / f"{doc_id}.html").read_bytes(), "html.parser")
    heading = soup.select_one("article h1")
    assert heading is not None
    return heading.get_text(strip=True)


def records_in(cache_dir: Path) -> int:
    with sqlite3.connect(cache_dir / "loaded.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM records").fetchone()[0])


def test_second_build_reuses_every_record_and_makes_the_same_site(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    first = build(seeds, tmp_path / "site")
    second = build(seeds, tmp_path / "again")
    uncached = build(seeds, tmp_path / "plain", cache=False)
    assert first.from_cache == 0
    assert second.from_cache == second.document_count == 6
    assert uncached.from_cache == 0
    assert files_of(tmp_path / "again") == files_of(tmp_path / "plain") == files_of(tmp_path / "site")


def test_cache_lives_beside_the_seeds_not_inside_them_or_the_output(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    build(seeds, tmp_path / "site")
    assert (tmp_path / CACHE_DIR_NAME / "loaded.sqlite").is_file()
    assert not any(path.name == CACHE_DIR_NAME for path in seeds.rglob("*"))
    assert not any(CACHE_DIR_NAME in path.parts for path in (tmp_path / "site").rglob("*"))
    with pytest.raises(BuildError, match="inside the seeds folder"):
        build(seeds, tmp_path / "site", cache_dir=seeds / "cache")
    with pytest.raises(BuildError, match="overlap"):
        build(seeds, tmp_path / "site", cache_dir=tmp_path / "site" / "cache")


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    build(seeds, tmp_path / "site", cache=False)
    assert not (tmp_path / CACHE_DIR_NAME).exists()


def settle() -> None:
    """Wait until files written now count as settled, as those of any corpus older than two seconds do."""
    time.sleep(cache_module._SETTLED_NS / 1e9 + 0.1)


def spy_on_reads(monkeypatch: Any) -> list[str]:
    """The names of the files the cache reads and hashes from now on (it still does so for real)."""
    reads: list[str] = []
    real = cache_module._digest_and_stat

    def digest_and_stat(name: str) -> Any:
        reads.append(Path(name).name)
        return real(name)

    monkeypatch.setattr(cache_module, "_digest_and_stat", digest_and_stat)
    return reads


def test_an_edit_is_seen_even_when_size_and_mtime_are_put_back(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    settle()  # so the first build remembers each seed by what the file system says of it
    out = tmp_path / "site"
    build(seeds, out)
    seed = seeds / "note-01.md"
    before = seed.stat()
    text = seed.read_text(encoding="utf-8")
    seed.write_text(text.replace("Note 1", "Nota 1"), encoding="utf-8")  # same length
    os.utime(seed, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert seed.stat().st_size == before.st_size
    result = build(seeds, out)
    assert result.from_cache == 5
    assert title_of(out, "note-01") == "Nota 1"


def test_settled_seeds_are_recognised_without_reading_them(tmp_path: Path, monkeypatch: Any) -> None:
    seeds = write_corpus(tmp_path)
    settle()
    out = tmp_path / "site"
    build(seeds, out)
    reads = spy_on_reads(monkeypatch)
    (seeds / "note-06.md").write_text(f"---\ntitle: Note 6\n---\n\n{OTHER}\n", encoding="utf-8")
    result = build(seeds, out, isolate=False)  # keyed in this process, where the spy counts
    assert result.document_count == 7 and result.from_cache == 6
    assert set(reads) == {"note-06.md"}  # the new seed only: keyed, and keyed again once loaded
    reads.clear()
    assert build(seeds, out, isolate=False).document_count == 7
    assert set(reads) == {"note-06.md"}  # it changed just before it was read: not trusted by its times yet


def test_a_build_in_the_same_process_takes_each_unchanged_seed_s_key_again_and_sees_every_edit(
    tmp_path: Path, monkeypatch: Any
) -> None:
    seeds = write_corpus(tmp_path)
    (seeds / "note-02.yaml").write_text("author: First author\n", encoding="utf-8")
    settle()
    out = tmp_path / "site"
    build(seeds, out, isolate=False)  # keyed in this process, as serve's rebuilds are
    keyed: list[str] = []
    real = cache_module.seed_key
    monkeypatch.setattr(cache_module, "seed_key", lambda seed, *rest: keyed.append(seed.source) or real(seed, *rest))
    assert build(seeds, out, isolate=False).from_cache == 6
    assert keyed == []  # every key taken again
    seed = seeds / "note-01.md"
    before = seed.stat()
    seed.write_text(seed.read_text(encoding="utf-8").replace("Note 1", "Nota 1"), encoding="utf-8")
    os.utime(seed, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same size and modification time
    (seeds / "note-02.yaml").write_text("author: Other author\n", encoding="utf-8")
    result = build(seeds, out, isolate=False)
    assert result.from_cache == 4
    assert sorted(set(keyed)) == ["note-01.md", "note-02.md"]
    metadata = {entry["id"]: entry["metadata"] for entry in json.loads((out / "corpus.json").read_text())["documents"]}
    assert title_of(out, "note-01") == "Nota 1" and metadata["note-02"].get("author") == "Other author"
    keyed.clear()
    build(seeds, out, isolate=False)
    assert sorted(set(keyed)) == ["note-01.md", "note-02.md"]  # changed just before they were hashed: not trusted yet


def test_seeds_that_changed_just_before_a_build_are_read_again_by_the_next(tmp_path: Path, monkeypatch: Any) -> None:
    seeds = write_corpus(tmp_path)
    out = tmp_path / "site"
    build(seeds, out)
    reads = spy_on_reads(monkeypatch)
    build(seeds, out, isolate=False)
    assert sorted(reads) == sorted(path.name for path in seeds.iterdir())


def test_a_changed_sidecar_reloads_its_seed(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "letter.txt").write_text(f"{EN}\n\n{EN}\n", encoding="utf-8")
    (seeds / "letter.yaml").write_text("title: First title\n", encoding="utf-8")
    out = tmp_path / "site"
    build(seeds, out)
    assert title_of(out, "letter") == "First title"
    (seeds / "letter.yaml").write_text("title: Second title\n", encoding="utf-8")
    result = build(seeds, out)
    assert result.from_cache == 0
    assert title_of(out, "letter") == "Second title"
    (seeds / "letter.yaml").unlink()
    assert build(seeds, out).from_cache == 0


def test_the_same_bytes_under_another_name_are_their_own_record(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=1)
    out = tmp_path / "site"
    build(seeds, out)
    (seeds / "copy.md").write_bytes((seeds / "note-00.md").read_bytes())
    result = build(seeds, out)
    assert result.from_cache == 1
    documents = load_json(out)["documents"]
    assert sorted(document["id"] for document in documents) == ["copy", "note-00"]
    assert {document["source"] for document in documents} == {"copy.md", "note-00.md"}


def test_records_of_deleted_seeds_are_pruned(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    out = tmp_path / "site"
    build(seeds, out)
    assert records_in(tmp_path / CACHE_DIR_NAME) == 6
    (seeds / "note-00.md").unlink()
    (seeds / "note-01.md").unlink()
    build(seeds, out)
    assert records_in(tmp_path / CACHE_DIR_NAME) == 4


def test_two_seed_folders_can_share_a_cache_without_pruning_each_other(tmp_path: Path) -> None:
    one = write_corpus(tmp_path / "one")
    two = write_corpus(tmp_path / "two", count=3)
    shared = tmp_path / "cache"
    build(one, tmp_path / "site-one", cache_dir=shared)
    build(two, tmp_path / "site-two", cache_dir=shared)
    assert build(one, tmp_path / "site-one", cache_dir=shared).from_cache == 6


def test_a_record_two_folders_share_is_pruned_only_when_neither_uses_it(tmp_path: Path) -> None:
    one = write_corpus(tmp_path / "one", count=2)
    two = write_corpus(tmp_path / "two", count=3)  # note-00 and note-01 as in `one`: the same keys
    settle()  # so that the cache remembers the seeds' files too
    shared = tmp_path / "cache"
    build(one, tmp_path / "site-one", cache_dir=shared)
    build(two, tmp_path / "site-two", cache_dir=shared)
    assert records_in(shared) == 3
    (two / "note-00.md").unlink()
    (two / "note-02.md").unlink()
    build(two, tmp_path / "site-two", cache_dir=shared)
    assert records_in(shared) == 2  # note-02's record went; note-00's stays for `one`
    assert build(one, tmp_path / "site-one", cache_dir=shared).from_cache == 2
    (one / "note-00.md").unlink()
    build(one, tmp_path / "site-one", cache_dir=shared)
    assert records_in(shared) == 1
    with sqlite3.connect(shared / "loaded.sqlite") as db:  # the files each folder last had, and only those
        files = sorted(Path(path).relative_to(tmp_path).as_posix() for (path,) in db.execute("SELECT path FROM files"))
    assert files == ["one/seeds/note-01.md", "two/seeds/note-01.md"]


def test_a_damaged_cache_is_started_afresh(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    build(seeds, tmp_path / "site")
    (tmp_path / CACHE_DIR_NAME / "loaded.sqlite").write_bytes(b"not a database at all" * 100)
    result = build(seeds, tmp_path / "again")
    assert result.from_cache == 0
    assert files_of(tmp_path / "again") == files_of(tmp_path / "site")
    assert build(seeds, tmp_path / "again").from_cache == 6


def test_deleting_the_cache_is_safe(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    build(seeds, tmp_path / "site")
    for path in (tmp_path / CACHE_DIR_NAME).iterdir():
        path.unlink()
    (tmp_path / CACHE_DIR_NAME).rmdir()
    assert build(seeds, tmp_path / "site").from_cache == 0


def test_a_build_killed_while_loading_leaves_a_usable_cache(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=60)
    out = tmp_path / "site"
    process = subprocess.Popen(
        [sys.executable, "-m", "corpus_site", "build", str(seeds), "-o", str(out), "-q", "--jobs", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = tmp_path / CACHE_DIR_NAME / "loaded.sqlite"
    while not database.exists() and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = build(seeds, out)
    assert result.document_count == 60
    assert files_of(out) == files_of(_plain_build(seeds, tmp_path / "plain"))


def _plain_build(seeds: Path, out: Path) -> Path:
    build(seeds, out, cache=False)
    return out


def test_the_key_covers_version_code_options_and_every_field_of_the_seed(tmp_path: Path, monkeypatch: Any) -> None:
    seeds = write_corpus(tmp_path, count=1)
    (seed,) = discover(seeds)[0]
    key = seed_key(seed)
    assert key == seed_key(seed)
    assert seed_key(seed, options="lang=pt") != key
    assert {"loader", "langtag", "decode", "markup", "records"} <= cache_module._modules_loading_uses().keys()
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    code_fingerprint.cache_clear()
    try:
        assert seed_key(seed) != key
    finally:
        monkeypatch.undo()
        code_fingerprint.cache_clear()
    assert seed_key(seed) == key


class EditingExecutor(Executor):
    """Runs each task at once, after `before_each` has had its way with the files: a seed edited mid-build."""

    def __init__(self, before_each: Callable[[], None]) -> None:
        self.before_each = before_each

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.before_each()
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_a_seed_edited_while_it_loads_is_not_cached_under_its_old_key(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=1)
    seed = seeds / "note-00.md"
    original = seed.read_bytes()

    def edit() -> None:
        seed.write_bytes(original.replace(b"Note 0", b"Edited"))

    folder = tmp_path / "cache"
    with open_cache(folder, seeds) as load_cache:
        corpus = load_corpus(seeds, loading(executor=EditingExecutor(edit), cache=load_cache))
    assert corpus.documents[0].title == "Edited"  # read after the edit
    seed.write_bytes(original)
    with open_cache(folder, seeds) as load_cache:
        assert isinstance(load_cache, LoadCache)
        corpus = load_corpus(seeds, loading(cache=load_cache))
        assert load_cache.hits == 0
    assert corpus.documents[0].title == "Note 0"


def test_a_settled_seed_edited_while_it_loads_is_not_cached_under_its_old_key(tmp_path: Path) -> None:
    # Settled seeds are hashed once in a first build: the check after loading goes by what the file system says.
    seeds = write_corpus(tmp_path, count=1)
    seed = seeds / "note-00.md"
    original = seed.read_bytes()
    settle()
    folder = tmp_path / "cache"
    with open_cache(folder, seeds) as load_cache:
        edit = partial(seed.write_bytes, original.replace(b"Note 0", b"Edited"))
        corpus = load_corpus(seeds, loading(executor=EditingExecutor(edit), cache=load_cache))
    assert corpus.documents[0].title == "Edited"
    seed.write_bytes(original)
    with open_cache(folder, seeds) as load_cache:
        assert isinstance(load_cache, LoadCache)
        corpus = load_corpus(seeds, loading(cache=load_cache))
        assert load_cache.hits == 0
    assert corpus.documents[0].title == "Note 0"


def test_a_first_build_reads_each_settled_seed_once(tmp_path: Path, monkeypatch: Any) -> None:
    seeds = write_corpus(tmp_path)
    settle()
    reads = spy_on_reads(monkeypatch)
    result = build(seeds, tmp_path / "site", isolate=False)
    assert result.document_count == 6 and result.from_cache == 0
    assert sorted(reads) == sorted(path.name for path in seeds.iterdir())


def test_unchanged_pages_keep_their_modification_times(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=9)
    out = tmp_path / "site"
    build(seeds, out)
    old = 946_684_800_000_000_000  # 2000-01-01: anything rewritten is newer than this
    for path in out.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))
    (seeds / "note-99.md").write_text(f"---\ntitle: Note 99\n---\n\n{OTHER}\n", encoding="utf-8")
    result = build(seeds, out)
    assert result.from_cache == 9
    mtimes = {path.relative_to(out).as_posix(): path.stat().st_mtime_ns for path in out.rglob("*") if path.is_file()}
    assert mtimes["docs/note-99.html"] > old
    assert mtimes["index.html"] > old  # lists the new document
    # Pages the new document does not touch (not its neighbours in reading order) are the same files as before.
    for doc_id in ("note-00", "note-01", "note-02", "note-05"):
        assert mtimes[f"docs/{doc_id}.html"] == old, doc_id
        assert mtimes[f"docs/{doc_id}.txt"] == old, doc_id
    assert mtimes["docs/note-08.html"] > old  # its "next" link now leads to note-99
    assert result.written.unchanged > result.written.written


def test_a_change_in_language_counts_leaves_the_other_pages_as_they_were(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=6)  # two notes each in English, Portuguese and French
    out = tmp_path / "site"
    build(seeds, out)
    old = 946_684_800_000_000_000
    for path in out.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))
    # A third Portuguese note: Portuguese now has the most documents, which reorders the index's list of languages.
    other_pt = "O mercado da praça abre cedo aos sábados e os agricultores vendem fruta, queijo e pão caseiro."
    (seeds / "note-99.md").write_text(f"---\ntitle: Note 99\n---\n\n{other_pt}\n", encoding="utf-8")
    build(seeds, out)
    index = BeautifulSoup((out / "index.html").read_bytes(), "html.parser")
    assert [link["href"] for link in index.select(".lang-list a")] == ["lang/pt.html", "lang/en.html", "lang/fr.html"]
    # Every page's header lists the languages too, in an order no count changes: those pages stay as they were.
    header = BeautifulSoup((out / "docs/note-00.html").read_bytes(), "html.parser").select("header .langs a")
    assert [link["lang"] for link in header] == ["en", "fr", "pt"]
    for doc_id in ("note-00", "note-01", "note-02", "note-03"):
        assert (out / f"docs/{doc_id}.html").stat().st_mtime_ns == old, doc_id


def test_with_nothing_changed_the_output_folder_is_left_as_it_is(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    out = tmp_path / "site"
    build(seeds, out)
    before = files_of(out)
    folder = out.stat().st_ino  # a build that writes swaps in a new folder
    result = build(seeds, out)
    assert out.stat().st_ino == folder
    assert result.written.written == 0
    assert result.written.unchanged > 0
    assert files_of(out) == before


def test_a_kept_site_reads_no_record_yet_reports_them_and_keeps_them_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = write_corpus(tmp_path)
    (seeds / "empty.md").write_text("---\ntitle: Nothing\n---\n", encoding="utf-8")
    out = tmp_path / "site"
    first = build(seeds, out)

    def no_reading(self: LoadCache, keys: Any) -> Any:
        raise AssertionError("records were read")

    with monkeypatch.context() as patched:
        patched.setattr(LoadCache, "lookup", no_reading)
        kept = build(seeds, out)
    assert kept.written.written == 0
    assert (kept.document_count, kept.corpus.skipped, kept.corpus.warnings) == (
        first.document_count, first.corpus.skipped, first.corpus.warnings
    )  # fmt: skip
    assert kept.document_count == 6 and len(kept.corpus.skipped) == 1
    (seeds / "note-00.md").write_text(f"---\ntitle: Changed\n---\n\n{EN}\n", encoding="utf-8")
    again = build(seeds, out)
    assert again.from_cache == 6  # the other records were not pruned while the site was kept


def test_any_change_to_the_output_or_the_inputs_builds_again(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    out = tmp_path / "site"
    build(seeds, out)
    expected = files_of(out)

    (out / "docs" / "note-02.html").unlink()  # someone deleted a page
    build(seeds, out)
    assert files_of(out) == expected

    (out / "docs" / "note-03.html").write_text("defaced", encoding="utf-8")  # or edited one
    build(seeds, out)
    assert files_of(out) == expected

    templates = tmp_path / "templates"
    templates.mkdir()
    build(seeds, out, templates=templates)  # an option, even one that changes nothing
    assert files_of(out) == expected
    (templates / "404.html").write_text("{% extends 'base.html' %}{% block content %}<p>Lost</p>{% endblock %}")
    build(seeds, out, templates=templates)
    assert "<p>Lost</p>" in (out / "404.html").read_text(encoding="utf-8")
    (templates / "404.html").write_text("{% extends 'base.html' %}{% block content %}<p>Gone</p>{% endblock %}")
    build(seeds, out, templates=templates)
    assert "<p>Gone</p>" in (out / "404.html").read_text(encoding="utf-8")
    (templates / "static").mkdir()
    (templates / "static" / "extra.css").write_text("p { color: teal }")
    build(seeds, out, templates=templates)
    assert (out / "static" / "extra.css").read_text() == "p { color: teal }"


RU = "Библиотека открывается в девять утра и закрывается поздно по пятницам, когда читальный зал полон."


def assert_same_as_a_plain_build(
    seeds: Path, out: Path, tmp_path: Path, templates: Path | None = None, search_index: bool = True
) -> None:
    plain = tmp_path / "plain"
    build(seeds, plain, templates=templates, cache=False, search_index=search_index)
    assert files_of(out) == files_of(plain)


def test_pages_whose_inputs_did_not_change_are_not_rendered_again(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=9)
    out = tmp_path / "site"
    assert build(seeds, out).pages_kept == 0
    (seeds / "note-99.md").write_text(f"---\ntitle: Note 99\n---\n\n{OTHER}\n", encoding="utf-8")
    result = build(seeds, out)
    # Every document page but the new one and its neighbour (whose "next" link changed) comes back as it was.
    assert result.pages_kept >= 8
    assert_same_as_a_plain_build(seeds, out, tmp_path)


def test_kept_pages_are_always_what_rendering_would_give(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=6)
    out = tmp_path / "site"
    build(seeds, out)

    # A new title shows in the neighbours' previous/next links.
    note = seeds / "note-03.md"
    note.write_text(note.read_text(encoding="utf-8").replace("Note 3", "A better title"), encoding="utf-8")
    build(seeds, out)
    assert_same_as_a_plain_build(seeds, out, tmp_path)
    assert "A better title" in (out / "docs" / "note-02.html").read_text(encoding="utf-8")

    # A new language appears in the menu of every page.
    (seeds / "note-07.md").write_text(f"---\ntitle: Заметка\n---\n\n{RU}\n\n{RU}\n", encoding="utf-8")
    build(seeds, out)
    assert_same_as_a_plain_build(seeds, out, tmp_path)
    assert "ru.html" in (out / "docs" / "note-00.html").read_text(encoding="utf-8")

    # And leaves it when its last document goes.
    (seeds / "note-07.md").unlink()
    build(seeds, out)
    assert_same_as_a_plain_build(seeds, out, tmp_path)
    assert "ru.html" not in (out / "docs" / "note-00.html").read_text(encoding="utf-8")


def test_keys_carried_from_the_last_build_in_this_process_follow_every_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = write_corpus(tmp_path, count=6)
    templates = tmp_path / "templates"
    templates.mkdir()
    out = tmp_path / "site"
    keyed: list[str] = []  # the pages whose key was worked out, not carried from the last build
    parts: list[str] = []  # and the table parts (render.fragment)
    work_out_key = cache_module.PageMemo._key

    def counted(memo: cache_module.PageMemo, name: str, context: Any, place: bytes) -> str | None:
        if place.startswith(b"\0page\0"):
            keyed.append(place.removeprefix(b"\0page\0").decode())
        else:
            parts.append(name)
        return work_out_key(memo, name, context, place)

    monkeypatch.setattr(cache_module.PageMemo, "_key", counted)

    def rebuild() -> list[str]:  # in this process, as serve's rebuilds
        keyed.clear()
        parts.clear()
        result = build(seeds, out, templates=templates, search_index=False, isolate=False, resident=records)
        assert result.health is not None  # rendered, not kept whole as the last build left it
        assert_same_as_a_plain_build(seeds, out, tmp_path, templates, search_index=False)
        return sorted(path for path in keyed if path.startswith("docs/"))

    records: dict[str, Any] = {}  # kept from one build to the next, as serve keeps them
    assert len(rebuild()) == 6
    (seeds / "notes.csv").write_text("a,b\n", encoding="utf-8")  # no page shows a file of another kind
    assert rebuild() == []  # every document page's key is the last build's
    assert parts == []  # and every part's

    # A new title: its page, the neighbours whose previous and next links show it, and the page of note-00 (the same
    # text), which lists it as a near-duplicate.
    note = seeds / "note-03.md"
    note.write_text(note.read_text(encoding="utf-8").replace("Note 3", "A better title"), encoding="utf-8")
    assert rebuild() == ["docs/note-00.html", "docs/note-02.html", "docs/note-03.html", "docs/note-04.html"]
    assert parts  # the parts of the tables that list it
    assert "A better title" in (out / "docs" / "note-02.html").read_text(encoding="utf-8")

    # A new language reaches every page's menu, though no page's own values changed.
    (seeds / "note-07.md").write_text(f"---\ntitle: Заметка\n---\n\n{RU}\n\n{RU}\n", encoding="utf-8")
    assert len(rebuild()) == 7
    assert "ru.html" in (out / "docs" / "note-00.html").read_text(encoding="utf-8")

    # So does a template edited between two builds.
    (templates / "doc.html").write_text(
        "{% extends 'corpus-site/doc.html' %}{% block title %}{{ doc.title }} · read{% endblock %}", encoding="utf-8"
    )
    assert len(rebuild()) == 7
    assert "Note 0 · read" in (out / "docs" / "note-00.html").read_text(encoding="utf-8")

    # A build that keeps no records carries no keys either: the corpus would stay in memory after it.
    (seeds / "more.csv").write_text("c,d\n", encoding="utf-8")
    build(seeds, out, templates=templates, search_index=False, isolate=False)
    (seeds / "most.csv").write_text("e,f\n", encoding="utf-8")
    assert len(rebuild()) == 7


def test_a_carried_key_needs_each_own_value_the_same_or_equal_and_of_the_same_type(tmp_path: Path) -> None:
    env = Environment(loader=DictLoader({"page.html": "{{ x }}"}))

    def key(value: object) -> str | None:  # each call a build of its own, as serve's follow each other
        memo = cache_module.PageMemo(tmp_path, tmp_path / "site", env, {}, carry=True)
        own = {"page_path": "a.html", "x": value}
        found = memo.key("page.html", own, own)
        memo.rendering_done({})
        return found

    assert key(1) == key(1) != key(1.0) != key(True)  # equal, but each shows differently on the page
    assert key((1, 2)) == key((1, 2)) != key([1, 2])


def test_the_pages_remembered_after_seeds_come_and_go_are_those_a_fresh_build_remembers(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path)
    out = tmp_path / "site"
    build(seeds, out)
    (seeds / "note-00.md").unlink()
    (seeds / "note-06.md").write_text(f"---\ntitle: Note 6\n---\n\n{OTHER}\n", encoding="utf-8")
    build(seeds, out)
    fresh = tmp_path / "fresh"
    build(seeds, fresh, cache_dir=tmp_path / "fresh-cache")

    def pages(cache_dir: Path) -> set[tuple[str, str, bytes]]:
        with sqlite3.connect(cache_dir / "loaded.sqlite") as db:
            return set(db.execute("SELECT key, path, digest FROM pages"))

    remembered = pages(tmp_path / CACHE_DIR_NAME)
    assert remembered == pages(tmp_path / "fresh-cache")
    assert "docs/note-06.html" in {path for _, path, _ in remembered}


def test_a_page_whose_empty_list_fills_is_rendered_again(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=3)  # three different texts: no page lists a near-duplicate
    out = tmp_path / "site"
    build(seeds, out)
    assert "Near-duplicates" not in (out / "docs" / "note-00.html").read_text(encoding="utf-8")
    (seeds / "note-10.md").write_text(f"---\ntitle: Note 10\n---\n\n{EN}\n\n{EN}\n", encoding="utf-8")
    build(seeds, out)
    assert "note-10.md" in (out / "docs" / "note-00.html").read_text(encoding="utf-8")
    assert_same_as_a_plain_build(seeds, out, tmp_path)


def test_a_template_that_reads_the_whole_site_makes_every_page_depend_on_it(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=6)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "doc.html").write_text(
        "{% extends 'corpus-site/doc.html' %}{% block title %}{{ doc.title }} · one of "
        "{{ site.documents | length }}{% endblock %}",
        encoding="utf-8",
    )
    out = tmp_path / "site"
    build(seeds, out, templates=templates)
    assert "one of 6" in (out / "docs" / "note-00.html").read_text(encoding="utf-8")
    (seeds / "note-50.md").write_text(f"---\ntitle: Note 50\n---\n\n{EN}\n", encoding="utf-8")
    build(seeds, out, templates=templates)
    assert "one of 7" in (out / "docs" / "note-00.html").read_text(encoding="utf-8")
    assert_same_as_a_plain_build(seeds, out, tmp_path, templates)


def test_a_page_edited_in_the_output_is_rendered_again(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=6)
    out = tmp_path / "site"
    build(seeds, out)
    page = out / "docs" / "note-04.html"
    page.write_text(page.read_text(encoding="utf-8").replace("Note 4", "Defaced"), encoding="utf-8")
    (seeds / "note-00.md").write_text(f"---\ntitle: Changed\n---\n\n{EN}\n", encoding="utf-8")  # so the site is rebuilt
    build(seeds, out)
    assert "Defaced" not in page.read_text(encoding="utf-8")
    assert_same_as_a_plain_build(seeds, out, tmp_path)


def test_builds_that_keep_their_records_take_the_last_ledger_and_page_keys_from_memory_and_see_pages_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = write_corpus(tmp_path, count=6)
    out, cache = tmp_path / "site", default_cache_dir(seeds)
    resident: dict[str, Any] = {}
    build(seeds, out, isolate=False, resident=resident, in_place=threading.Lock())  # as serve's rebuilds
    with closing(sqlite3.connect(cache / "loaded.sqlite")) as db, db:
        db.execute("DELETE FROM ledgers")  # from here on only memory knows them
        db.execute("DELETE FROM pages")
    page = out / "docs" / "note-04.html"
    page.write_text(page.read_text(encoding="utf-8").replace("Note 4", "Defaced"), encoding="utf-8")
    (seeds / "note-00.md").write_text(f"---\ntitle: Changed\n---\n\n{EN}\n", encoding="utf-8")  # so the site is rebuilt
    read_back: list[str] = []
    kept_page = cache_module.PageMemo.kept_page
    monkeypatch.setattr(
        cache_module.PageMemo, "kept_page", lambda memo, key, path: read_back.append(path) or kept_page(memo, key, path)
    )
    result = build(seeds, out, isolate=False, resident=resident, in_place=threading.Lock())
    assert "docs/note-02.html" not in read_back  # known unchanged by the ledger in memory: linked unread
    assert result.pages_kept == 3  # notes 2, 3 and 5, by what memory knew (0 changed, 1 is next to it, 4 defaced)
    assert "Defaced" not in page.read_text(encoding="utf-8")
    assert_same_as_a_plain_build(seeds, out, tmp_path)


def test_a_page_edited_in_place_with_its_size_and_times_put_back_is_rendered_again(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=6)
    out = tmp_path / "site"
    build(seeds, out)
    page = out / "docs" / "note-04.html"
    before = page.stat()
    page.write_bytes(page.read_bytes().replace(b"Note 4", b"Xote 4"))
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (page.stat().st_size, page.stat().st_ino) == (before.st_size, before.st_ino)
    (seeds / "note-00.md").write_text(f"---\ntitle: Changed\n---\n\n{EN}\n", encoding="utf-8")  # so the site is rebuilt
    build(seeds, out)
    assert b"Xote 4" not in page.read_bytes()
    assert_same_as_a_plain_build(seeds, out, tmp_path)


def test_kept_pages_are_linked_without_being_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = write_corpus(tmp_path, count=9)
    out = tmp_path / "site"
    build(seeds, out)
    read_back: list[str] = []
    read_page = cache_module.PageMemo.kept_page

    def counted(self: cache_module.PageMemo, key: str, page_path: str) -> str | None:
        page = read_page(self, key, page_path)
        if page is not None:
            read_back.append(page_path)
        return page

    monkeypatch.setattr(cache_module.PageMemo, "kept_page", counted)
    (seeds / "note-99.md").write_text(f"---\ntitle: Note 99\n---\n\n{OTHER}\n", encoding="utf-8")
    result = build(seeds, out, isolate=False)  # rendered in this process, where the count is kept
    assert result.pages_kept >= 8
    assert read_back == []
    assert_same_as_a_plain_build(seeds, out, tmp_path)


class InterruptedFuture(Future[Any]):
    def result(self, timeout: float | None = None) -> Any:
        raise KeyboardInterrupt


class InterruptingExecutor(Executor):
    """Runs the first `finish` tasks; asking for a later one's result is Ctrl-C."""

    def __init__(self, finish: int) -> None:
        self.finish = finish
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        if self.submitted > self.finish:
            return InterruptedFuture()
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_what_was_loaded_before_ctrl_c_is_kept(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=40)
    folder = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt), open_cache(folder, seeds) as load_cache:
        load_corpus(seeds, loading(executor=InterruptingExecutor(finish=2), workers=1, cache=load_cache))
    with open_cache(folder, seeds) as load_cache:
        assert isinstance(load_cache, LoadCache)
        load_corpus(seeds, loading(jobs=1, cache=load_cache))
        assert load_cache.hits == 10  # two tasks of five seeds each


def test_records_reach_the_disk_while_loading_not_only_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "_WRITE_EVERY", 4)
    seeds = write_corpus(tmp_path, count=10)
    folder = tmp_path / "cache"
    with open_cache(folder, seeds) as load_cache:
        load_corpus(seeds, loading(jobs=1, cache=load_cache))
        assert records_in(folder) == 8  # two batches of four; the last two wait for the build's commit
    assert records_in(folder) == 10
    with open_cache(folder, seeds) as load_cache:
        assert isinstance(load_cache, LoadCache)
        load_corpus(seeds, loading(jobs=1, cache=load_cache))
        assert load_cache.hits == 10


def test_records_wait_for_the_commit_while_another_build_holds_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "_WRITE_EVERY", 2)
    monkeypatch.setattr(cache_module, "_BUSY_MS", 50)
    seeds = write_corpus(tmp_path, count=3)
    folder = tmp_path / "cache"
    with open_cache(folder, seeds) as load_cache:
        assert isinstance(load_cache, LoadCache)
        other = sqlite3.connect(folder / "loaded.sqlite", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another build's write in progress
        load_corpus(seeds, loading(jobs=1, cache=load_cache))  # its early writes give way, without an error
        other.execute("ROLLBACK")
        other.close()
    assert records_in(folder) == 3


def test_a_long_table_renders_again_only_the_part_a_new_document_falls_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for number in range(300):
        (seeds / f"note-{number:03d}.md").write_text(f"---\ntitle: Note {number}\n---\n\n{EN}\n", encoding="utf-8")
    out = tmp_path / "site"
    rendered: list[str] = []

    class CountingTemplate:  # stands in for jinja2.Template where the page memo renders, and counts
        @staticmethod
        def render(template: Any, *args: Any, **kwargs: Any) -> str:
            rendered.append(template.name)
            return Template.render(template, *args, **kwargs)

    def built() -> list[str]:
        rendered.clear()
        with monkeypatch.context() as patched:
            patched.setattr(cache_module, "Template", CountingTemplate)
            patched.setattr(render_module, "Template", CountingTemplate)  # index.html, made from its parts each time
            build(seeds, out, search_index=False, isolate=False)
        return rendered

    first = built()
    assert first.count("_text_rows.html") > 2 and first.count("_doc_rows.html") > 2  # the tables come in parts
    (seeds / "note-150x.md").write_text(f"---\ntitle: Note 150x\n---\n\n{EN}\n", encoding="utf-8")
    again = built()
    # Its part of the index and of its language's page (two where the new document is itself a cut).
    assert 1 <= again.count("_text_rows.html") <= 2 and 1 <= again.count("_doc_rows.html") <= 2
    assert "index.html" in again and "lang.html" in again
    assert_same_as_a_plain_build(seeds, out, tmp_path, search_index=False)


def test_a_page_kept_whole_keeps_its_parts_for_the_next_build_that_changes_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_module, "_PART_CUT", 2)  # parts of about two documents
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for number in range(12):
        for code, text in (("en", EN), ("pt", PT)):
            (seeds / f"{code}-{number:02d}.md").write_text(
                f"---\ntitle: {code} {number}\n---\n\n{text}\n", encoding="utf-8"
            )
    out = tmp_path / "site"
    rendered: list[tuple[str, str | None]] = []  # (template, page) of each page and part the page memo renders

    class CountingTemplate:  # stands in for jinja2.Template where the page memo renders, and counts
        @staticmethod
        def render(template: Any, context: dict[str, Any]) -> str:
            rendered.append((template.name, context.get("page_path")))
            return Template.render(template, context)

    def built() -> list[tuple[str, str | None]]:
        rendered.clear()
        with monkeypatch.context() as patched:
            patched.setattr(cache_module, "Template", CountingTemplate)
            build(seeds, out, search_index=False, isolate=False)
        return rendered

    assert built().count(("_doc_rows.html", None)) >= 6  # each language's table comes in parts
    # A build that changes no page: one that read no document, as after a file no page shows, keeps every page whole.
    (seeds / "notes.csv").write_text("a,b\n", encoding="utf-8")
    assert not [page for page in built() if page[1] is None or page[1].startswith("lang/")]
    (seeds / "pt-12.md").write_text(f"---\ntitle: pt 12\n---\n\n{PT}\n", encoding="utf-8")
    again = built()
    assert ("lang.html", "lang/pt.html") in again
    # Only the part the new document joins (two where it is itself a cut), not every part of the page's table.
    assert 1 <= again.count(("_doc_rows.html", None)) <= 2, again
    assert_same_as_a_plain_build(seeds, out, tmp_path, search_index=False)


def test_a_users_template_for_the_rows_of_a_table_renders_the_pages_holding_it_again(tmp_path: Path) -> None:
    seeds = write_corpus(tmp_path, count=6)
    templates = tmp_path / "templates"
    templates.mkdir()
    out = tmp_path / "site"
    build(seeds, out, templates=templates, search_index=False)
    # Nothing a language page is given changes, only the template its table's rows come from.
    (templates / "_doc_rows.html").write_text(
        "{% for doc in docs %}<tr><td class=mine>{{ doc.title }}</td></tr>{% endfor %}", encoding="utf-8"
    )
    build(seeds, out, templates=templates, search_index=False)
    assert "<td class=mine>Note 0</td>" in (out / "lang" / "en.html").read_text(encoding="utf-8")
    assert_same_as_a_plain_build(seeds, out, tmp_path, templates, search_index=False)


def test_a_page_is_keyed_by_its_parts_sources_and_always_rendered_when_it_names_them_at_run_time() -> None:
    templates = {
        "named.html": "{{ fragment('row.html', x=x) }}",
        "chosen.html": "{{ fragment(name, x=1) }}",
        "row.html": "{{ x }}-{{ y.z }}",
    }
    named = cache_module.template_uses(Environment(loader=DictLoader(templates)), "named.html")
    # What the page passes its part is read; what the part reads from that is the part's own key's business.
    assert named is not None and named[0] == frozenset({("x",), ("fragment",)})
    edited = cache_module.template_uses(
        Environment(loader=DictLoader({**templates, "row.html": "{{ x }}"})), "named.html"
    )
    assert edited is not None and edited[1] != named[1]  # the part's source is in the page's key
    assert cache_module.template_uses(Environment(loader=DictLoader(templates)), "chosen.html") is None


def test_a_page_key_holds_what_it_reads_of_the_globals_and_a_value_passed_in_their_place(tmp_path: Path) -> None:
    def key(global_motto: str, **context: Any) -> str | None:
        env = Environment(loader=DictLoader({"page.html": "{{ motto }} {{ x }}"}))
        env.globals["motto"] = global_motto
        memo = cache_module.PageMemo(tmp_path, tmp_path / "site", env, {})
        return memo.key("page.html", {"page_path": "a.html", "x": 1, **context})

    assert key("sea") == key("sea") != key("sky")  # a global's value, hashed once per build, is in the key
    assert key("sea", motto="sky") == key("sky")  # a page's own value for the name is read in its place


def test_the_paths_a_page_reads_from_a_value_are_walked_as_one_tree() -> None:
    reads = cache_module.reads_of([("*", "title"), ("*", "id"), ("#",)])
    assert reads == (
        ("#", cache_module.reads_of([()])),
        ("*", (("id", cache_module._WHOLE), ("title", cache_module._WHOLE))),
    )
    # A value read whole covers every path into it.
    assert cache_module.reads_of([("*", "title"), ()]) is cache_module._WHOLE


def test_a_documents_plain_text_is_made_again_only_when_the_document_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = write_corpus(tmp_path, count=6)
    out = tmp_path / "site"
    made: list[str] = []
    plain_text = render_module._cleaned_bytes

    def counted(document: Any) -> bytes:
        made.append(document.id)
        return plain_text(document)

    monkeypatch.setattr(render_module, "_cleaned_bytes", counted)
    build(seeds, out, search_index=False, isolate=False)
    assert sorted(made) == [f"note-{number:02d}" for number in range(6)]
    made.clear()
    (seeds / "note-07.md").write_text(f"---\ntitle: Note 7\n---\n\n{OTHER}\n", encoding="utf-8")
    note = seeds / "note-02.md"
    note.write_text(note.read_text(encoding="utf-8") + f"\n{OTHER}\n", encoding="utf-8")
    build(seeds, out, search_index=False, isolate=False)
    assert sorted(made) == ["note-02", "note-07"]  # the others were linked from the last site, unread
    assert OTHER in (out / "docs" / "note-02.txt").read_text(encoding="utf-8")
    assert_same_as_a_plain_build(seeds, out, tmp_path, search_index=False)


def test_the_offline_index_makes_again_only_the_part_a_new_document_falls_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_module, "_PART_CUT", 2)  # parts of about two documents
    seeds = write_corpus(tmp_path, count=8)
    out = tmp_path / "site"
    made: list[tuple[str, ...]] = []
    make_part = search_module.search_data_part

    def counted(path: str, documents: Any, groups: Any) -> bytes:
        made.append(tuple(document.id for document in documents))
        return make_part(path, documents, groups)

    monkeypatch.setattr(search_module, "search_data_part", counted)
    build(seeds, out, isolate=False)
    before = list(made)
    assert len(before) >= 3 and sorted(id_ for part in before for id_ in part) == [f"note-{n:02d}" for n in range(8)]
    made.clear()
    (seeds / "note-09.md").write_text(f"---\ntitle: Note 9\n---\n\n{OTHER}\n", encoding="utf-8")
    build(seeds, out, isolate=False)
    # The part note-09 joins is made again (two, if it starts a cut of its own); every other part is kept, unread.
    assert any("note-09" in part for part in made) and len(made) <= 2, made
    assert not set(made) & set(before)
    assert_same_as_a_plain_build(seeds, out, tmp_path)


def test_a_page_keyed_from_the_shared_mapping_and_its_own_values_gets_the_key_of_its_whole_context(
    tmp_path: Path,
) -> None:
    env = Environment(loader=DictLoader({"page.html": "{{ motto }} {{ x }} {{ page_path }}"}))

    def keys(shared: dict[str, object], pages: list[dict[str, object]]) -> tuple[list[str | None], list[str | None]]:
        # Each call a build of its own; page_key reads `shared` once for all its pages, key reads each whole context.
        memo = cache_module.PageMemo(tmp_path, tmp_path / "site", env, {}, carry=True)
        by_parts = [memo.page_key("page.html", shared, own) for own in pages]
        memo.rendering_done({})
        whole = cache_module.PageMemo(tmp_path, tmp_path / "other", env, {})
        return by_parts, [whole.key("page.html", {**shared, **own}) for own in pages]

    pages = [{"page_path": f"{n}.html", "x": n} for n in range(3)]
    sea = {"motto": "sea"}
    first, whole = keys(sea, pages)
    assert first == whole and len(set(first)) == 3
    assert keys(sea, pages)[0] == first  # carried from the last build
    sky, whole = keys({"motto": "sky"}, pages)  # another mapping: read again
    assert sky == whole and not set(sky) & set(first)
    assert keys(sea, [{**pages[0], "x": 9}])[0] == keys({"motto": "sea"}, [{**pages[0], "x": 9}])[1]
    assert keys({"motto": "sea"}, [{**pages[0], "motto": "own"}])[0] == keys({"motto": "own"}, [pages[0]])[0]


def _imports_parsed(source: str) -> list[str]:
    """Our modules that `source` imports, as Python's parser reads its import statements."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 or module == "corpus_site":
                found.extend(alias.name for alias in node.names)
                if node.level == 1 and module:
                    found.append(module.split(".")[0])
            elif module.startswith("corpus_site."):
                found.append(module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.extend(a.name.split(".")[1] for a in node.names if a.name.startswith("corpus_site."))
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "src" / "corpus_site").glob("*.py")), ids=lambda path: path.name)
def test_the_modules_a_module_imports_are_those_python_s_parser_finds(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert sorted(cache_module.modules_imported(source)) == sorted(_imports_parsed(source))


def test_every_form_of_import_of_ours_is_found() -> None:
    source = """
import os, corpus_site.decode as decoding
from corpus_site import (
    langtag,  # a comment
    records as r,
)
def f():
    from corpus_site.markup import x
    from . import dates
    from .groups import y
    from .. import nothing
from corpus_site import __version__  # not a module: no file of that name
"""
    assert sorted(cache_module.modules_imported(source)) == sorted(_imports_parsed(source))
    assert {"decode", "langtag", "records", "markup", "dates", "groups", "y"} <= set(
        cache_module.modules_imported(source)
    )
