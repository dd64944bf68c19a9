"""`corpus-site serve`: serves the built site, rebuilds on change, reloads pages, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import Browser, expect

from corpus_site.build import BuildResult, build
from corpus_site.loader import Loaded
from corpus_site.search import is_pagefind_file
from corpus_site.serve import (
    SCRIPT_PATH,
    VERSION_PATH,
    Handler,
    SiteState,
    _pass_through_every_page,
    _rebuild_pages_first,
    inject_reload,
)
from corpus_site.watch import Watcher, changed_paths, snapshot

EN = "The library opens at nine in the morning and closes late on Fridays, when the reading room is busy."
PT = "A biblioteca abre às nove da manhã e fecha tarde às sextas-feiras, quando a sala de leitura está cheia."
WAIT = 60  # seconds before a test gives up on something that should happen (a bound, not a timed assertion)


class Server:
    """A `corpus-site serve` process and the lines it prints."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        try:
            self.url = self.wait_for_line(r"^Serving .* at (http://127\.0\.0\.1:\d+/)").group(1)
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.join(timeout=WAIT)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    pytest.fail(f"serve exited with {self.process.returncode}; it printed {self.seen}")
                continue
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        pytest.fail(f"serve never printed {pattern!r}; it printed {self.seen}")

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as response:
            return bytes(response.read())

    def version(self) -> str:
        return self.get(VERSION_PATH).decode()


def files_of(out: Path) -> dict[str, bytes]:
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail("the served site never changed as expected")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "first.md").write_text(f"---\ntitle: First note\n---\n\n{EN}\n\n{EN}\n", encoding="utf-8")
    (seeds / "second.md").write_text(f"---\ntitle: Segunda nota\n---\n\n{PT}\n\n{PT}\n", encoding="utf-8")
    return seeds


@pytest.fixture
def server(corpus: Path, tmp_path: Path) -> Iterator[Server]:
    process = subprocess.Popen(
        [sys.executable, "-m", "corpus_site", "serve", str(corpus), "-o", str(tmp_path / "site"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    started = Server(process)
    try:
        yield started
    finally:
        started.close()


def test_serves_rebuilds_on_a_new_seed_and_stops_on_ctrl_c(server: Server, corpus: Path, tmp_path: Path) -> None:
    server.wait_for_line(r"^Search index updated")  # the first build's: served before it, and it changes the version
    index = BeautifulSoup(server.get("/"), "html.parser")
    assert {link.get_text(strip=True) for link in index.select("a[href$='.html']")} >= {"First note", "Segunda nota"}
    reload_script = index.select_one(f"script[src='{SCRIPT_PATH}']")
    assert reload_script is not None
    version = server.version()
    assert reload_script["data-version"] == version
    assert b"location.reload" in server.get(SCRIPT_PATH)

    with pytest.raises(urllib.error.HTTPError):
        server.get("/docs/third.html")
    (corpus / "third.md").write_text(f"---\ntitle: Third note\n---\n\n{EN} {EN}\n", encoding="utf-8")
    eventually(lambda: server.version() != version)
    page = BeautifulSoup(server.get("/docs/third.html"), "html.parser")
    heading = page.select_one("article h1")
    assert heading is not None and heading.get_text(strip=True) == "Third note"
    index = BeautifulSoup(server.get("/index.html"), "html.parser")
    assert "Third note" in {link.get_text(strip=True) for link in index.select("a")}
    assert server.wait_for_line(r"^Built .*: 3 documents .*\(2 from the cache")

    # The search index follows the pages; then the site is exactly what `build` makes.
    server.wait_for_line(r"^Search index updated")
    build(corpus, tmp_path / "plain", cache=False)
    assert files_of(tmp_path / "site") == files_of(tmp_path / "plain")

    # The reload script exists only in responses: the files on disk are the site as built.
    built = [path for path in (tmp_path / "site").rglob("*.html")]
    assert built
    for path in built:
        soup = BeautifulSoup(path.read_bytes(), "html.parser")
        assert soup.select(f"script[src='{SCRIPT_PATH}']") == [], path
        assert b"__corpus_site" not in path.read_bytes(), path

    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=WAIT) == 0
    assert "Traceback" not in "\n".join(server.seen)


@pytest.mark.browser
def test_in_a_browser_the_open_page_reloads_with_a_new_seed_and_search_finds_it_once_the_index_follows(
    server: Server, corpus: Path, browser: Browser
) -> None:
    server.wait_for_line(r"^Search index updated")  # the first build's
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "index.html")
        page.evaluate("() => { window.notReloaded = true; }")
        searching = context.new_page()
        searching.goto(server.url + "search.html?q=zephyrquill")
        shown = "() => document.getElementById('search-results').dataset.query === 'zephyrquill'"
        searching.wait_for_function(shown, timeout=WAIT * 1000)
        assert searching.locator("#search-results > li").count() == 0
        (corpus / "third.md").write_text(
            f"---\ntitle: Third note\n---\n\n{EN} The zephyrquill was seen at dawn.\n", encoding="utf-8"
        )
        # Nobody reloads the page here: serve's script does, once the pages are in.
        page.wait_for_function("() => window.notReloaded === undefined", timeout=WAIT * 1000)
        assert "Third note" in page.locator("main").inner_text()
        # The search page, open all along, reloads itself once the search index followed: Pagefind finds the seed.
        # (It reloads with the pages too; if Pagefind's files change under it while it loads them, that load searches
        # the offline index instead, which may find the seed already: the reload for the index follows.)
        searching.wait_for_function(
            "() => document.querySelector('form[data-search-page]').dataset.engine === 'pagefind'"
            " && [...document.querySelectorAll('#search-results .result-title a')]"
            ".some((link) => link.textContent === 'Third note')",
            timeout=WAIT * 1000,
        )
        # Read through Playwright's retrying check: a page whose HTML came before the search index's version changed,
        # but whose Pagefind files came after, has found the seed already and reloads once more when it polls.
        expect(searching.locator("form[data-search-page]")).to_have_attribute(
            "data-engine", "pagefind", timeout=WAIT * 1000
        )
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_in_a_browser_a_search_index_alone_reloads_the_search_page_and_no_other(
    seed_site: Path, browser: Browser
) -> None:
    state = SiteState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, state=state, directory=os.fspath(seed_site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    context = browser.new_context()
    try:
        polls: list[str] = []
        opened = {}
        for name in ("index.html", "search.html"):
            opened[name] = context.new_page()
            opened[name].on(
                "request", lambda request, name=name: polls.append(name) if request.url.endswith(VERSION_PATH) else None
            )
            opened[name].goto(url + name)
            opened[name].evaluate("() => { window.notReloaded = true; }")

        def polled_twice_more(name: str) -> None:
            wanted, deadline = polls.count(name) + 2, time.monotonic() + WAIT
            while polls.count(name) < wanted:
                assert time.monotonic() < deadline, f"{name} stopped asking for the version"
                opened[name].wait_for_timeout(100)

        state.index_followed()
        opened["search.html"].wait_for_function("() => window.notReloaded === undefined", timeout=WAIT * 1000)
        polled_twice_more("index.html")
        assert opened["index.html"].evaluate("() => window.notReloaded") is True
        state.bump()
        opened["index.html"].wait_for_function("() => window.notReloaded === undefined", timeout=WAIT * 1000)
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_a_template_change_rebuilds_and_a_template_error_keeps_serving(corpus: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "corpus_site", "serve", str(corpus), "-o", str(tmp_path / "site"), "--port", "0",
         "--templates", str(templates)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    server = Server(process)
    try:
        server.wait_for_line(r"^Search index updated")
        version = server.version()
        (templates / "404.html").write_text(
            "{% extends 'base.html' %}{% block content %}<p>Lost here</p>{% endblock %}"
        )
        eventually(lambda: server.version() != version)
        assert "Lost here" in server.get("/404.html").decode()
        version = server.version()
        (templates / "404.html").write_text("{% extends 'base.html' %}{% block content %}{{ oops( }}{% endblock %}")
        server.wait_for_line(r"error: .*404\.html")
        assert server.version() == version
        assert "Lost here" in server.get("/404.html").decode()  # the last good site stays up
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 0
    finally:
        server.close()


def test_when_more_changes_came_meanwhile_the_search_index_waits_for_their_build(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, cache = tmp_path / "site", tmp_path / "cache"
    build(corpus, out, cache_dir=cache)

    def bundles() -> dict[str, bytes]:
        return {name: content for name, content in files_of(out).items() if is_pagefind_file(name)}

    last = bundles()
    (corpus / "third.md").write_text(f"---\ntitle: Third note\n---\n\n{PT} {PT}\n", encoding="utf-8")
    state = SiteState()

    def rebuild(pages_first: Callable[[BuildResult], bool]) -> BuildResult:
        return build(corpus, out, cache_dir=cache, pages_first=pages_first)

    _rebuild_pages_first(rebuild, out, state, changed_meanwhile=lambda: True)
    printed = capsys.readouterr().out
    assert re.search(r"^Built .*: 3 documents", printed, re.MULTILINE)
    assert "the search index waits for the next build" in printed and "Search index updated" not in printed
    assert state.version == "1.0" and (out / "docs" / "third.html").is_file()
    assert bundles() == last
    # The next build (here with nothing changed since) makes it.
    _rebuild_pages_first(rebuild, out, state, changed_meanwhile=lambda: False)
    printed = capsys.readouterr().out
    assert re.search(r"^Built .*\n.*^Search index updated in", printed, re.MULTILINE | re.DOTALL)
    assert state.version == "1.1"  # the pages were as they were (no page reloads), then the search index followed
    build(corpus, tmp_path / "plain", cache=False)
    assert files_of(out) == files_of(tmp_path / "plain")


def test_the_pass_after_the_first_build_says_nothing_unless_a_change_came_and_then_builds_it_once(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, cache, state = tmp_path / "site", tmp_path / "cache", SiteState()
    records: dict[str, Loaded] = {}

    def rebuild(pages_first: Callable[[BuildResult], bool], *, every_page: bool = False) -> BuildResult:
        return build(
            corpus, out, cache_dir=cache, pages_first=pages_first, resident=records, in_place=state.files,
            isolate=False, every_page=every_page,
        )  # fmt: skip

    with Watcher([corpus]) as watcher:
        before = watcher.look()  # as serve: before the first build, which runs in a child
        build(corpus, out, cache_dir=cache, in_place=state.files)
        site, version = files_of(out), state.version
        watcher.start()
        deadline = time.monotonic() + WAIT
        while not watcher.events:
            assert time.monotonic() < deadline, "the watcher never started following events"
            time.sleep(0.05)
        settled = _pass_through_every_page(rebuild, out, state, watcher, before)
        assert settled == before and capsys.readouterr().out == ""
        assert files_of(out) == site and state.version == version  # nothing written, nothing to reload
        (corpus / "third.md").write_text(f"---\ntitle: Third note\n---\n\n{PT} {PT}\n", encoding="utf-8")
        while not watcher.wait():
            assert time.monotonic() < deadline, "no event came for the new seed"
        watcher.wait_for_quiet()
        settled = _pass_through_every_page(rebuild, out, state, watcher, settled)
    printed = capsys.readouterr().out
    assert re.search(r"^Changed: third\.md; rebuilding…\nBuilt .*: 3 documents", printed, re.MULTILINE)
    assert "Search index updated" in printed and (out / "docs" / "third.html").is_file()
    assert changed_paths(settled, snapshot([corpus])) == []  # the loop that follows does not build it again
    build(corpus, tmp_path / "plain", cache=False)
    assert files_of(out) == files_of(tmp_path / "plain")


def test_a_port_in_use_is_one_clear_error(corpus: Path, tmp_path: Path, server: Server) -> None:
    port = server.url.rsplit(":", 1)[1].strip("/")
    result = subprocess.run(
        [sys.executable, "-m", "corpus_site", "serve", str(corpus), "-o", str(tmp_path / "other"), "--port", port],
        capture_output=True, text=True, timeout=WAIT,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "other").exists()  # said before building, not after


def test_the_first_build_is_served_as_soon_as_its_pages_are_in(server: Server) -> None:
    # The fixture's serve started on an empty output folder: Pagefind had every bundle to make.
    assert [line.split(" ")[0] for line in server.seen] == ["Built", "Serving"]
    assert server.wait_for_line(r"^Search index updated in")


def test_inject_reload_goes_before_the_last_body_end_tag() -> None:
    page = b"<html><body><pre>&lt;/body&gt;</pre></body></html>"
    injected = inject_reload(page, "7")
    assert injected.endswith(b'<script src="/__corpus_site_reload.js" data-version="7"></script></body></html>')
    assert inject_reload(b"<p>no body tag</p>", "1").startswith(b"<p>no body tag</p><script ")


@pytest.mark.parametrize("name", ["index.html", "style.css"])
def test_a_request_waits_while_a_rebuild_changes_files_in_place(tmp_path: Path, name: str) -> None:
    (tmp_path / "index.html").write_bytes(b"<html><body><p>old</p></body></html>")
    (tmp_path / "style.css").write_bytes(b"p{}")
    state = SiteState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, state=state, directory=os.fspath(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got: list[bytes] = []

    def fetch() -> None:
        url = f"http://127.0.0.1:{server.server_address[1]}/{name}"
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            got.append(response.read())

    try:
        with state.files:  # a rebuild moving files in
            request = threading.Thread(target=fetch)
            request.start()
            request.join(timeout=1)
            assert request.is_alive() and not got  # it waits for the rebuild
            (tmp_path / "index.html").write_bytes(b"<html><body><p>new</p></body></html>")
            (tmp_path / "style.css").write_bytes(b"a{}")
        request.join(timeout=WAIT)
        assert got and (b"<p>new</p>" in got[0] if name == "index.html" else got[0] == b"a{}")
    finally:
        server.shutdown()
        server.server_close()
