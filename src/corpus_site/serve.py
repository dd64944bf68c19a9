"""`corpus-site serve`: build, serve the site on 127.0.0.1, rebuild on every change and reload the open page."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from corpus_site.build import BuildError, BuildResult, build, data_dir, recall_records
from corpus_site.loader import Loaded
from corpus_site.watch import Snapshot, Watcher, changed_paths

HOST = "127.0.0.1"
VERSION_PATH = "/__corpus_site_version"
SCRIPT_PATH = "/__corpus_site_reload.js"
# The page asks for the site's version ("<pages>.<search index>") twice a second and reloads itself when a rebuild
# changed its pages; the search page also when the search index followed, as Pagefind's files changed under it.
# An external script, not an inline one, so a Content-Security-Policy allowing only 'self' lets it run.
RELOAD_JS = b"""(function () {
  var script = document.currentScript, seen = script && script.dataset.version;
  var searching = !!document.querySelector("form[data-search-page]");
  function part(version) { return searching ? version : version.split(".")[0]; }
  function poll() {
    fetch("%s", { cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(function (version) {
        if (seen && part(version) !== part(seen)) { location.reload(); return; }
        seen = seen || version;
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
""" % VERSION_PATH.encode()
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


class SiteState:
    """The version the open pages compare against, "<pages>.<search index>": the first part changes when a rebuild
    put new pages in, the second when a search index followed them on its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages = self._index = 0
        # Held by a rebuild while files in the output folder change (it updates them in place), and by a request
        # while it opens its file: a reader gets a file of the old site or of the new, never of one half updated.
        self.files = threading.Lock()

    @property
    def version(self) -> str:
        with self._lock:
            return f"{self._pages}.{self._index}"

    def bump(self) -> None:
        with self._lock:
            self._pages += 1

    def index_followed(self) -> None:
        with self._lock:
            self._index += 1


def inject_reload(html: bytes, version: str) -> bytes:
    """The page with our reload script before </body> (at the end if it has none); only ever in a response."""
    tag = f'<script src="{SCRIPT_PATH}" data-version="{version}"></script>'.encode()
    ends = [match.start() for match in _BODY_END.finditer(html)]
    if not ends:
        return html + tag
    return html[: ends[-1]] + tag + html[ends[-1] :]


class Handler(SimpleHTTPRequestHandler):
    """Files from the output folder; HTML gets the reload script on the way out, the file on disk stays as built."""

    state: SiteState

    def __init__(self, *args: Any, state: SiteState, **kwargs: Any) -> None:
        self.state = state
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    def _respond(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == VERSION_PATH:
            return self._send(self.state.version.encode(), "text/plain; charset=utf-8", head)
        if path == SCRIPT_PATH:
            return self._send(RELOAD_JS, "text/javascript; charset=utf-8", head)
        with self.state.files:
            page = self._page(path)
        if page is not None:
            return self._send(inject_reload(page, self.state.version), "text/html; charset=utf-8", head)
        if head:
            return super().do_HEAD()
        return super().do_GET()

    def _page(self, path: str) -> bytes | None:
        """The HTML file at `path`, if there is one."""
        local = Path(self.translate_path(path))
        if local.is_dir() and path.endswith("/"):
            local = local / "index.html"
        if local.suffix.lower() not in (".html", ".htm"):
            return None
        try:
            return local.read_bytes()
        except OSError:
            return None

    def send_head(self) -> Any:
        with self.state.files:  # once open, the file reads as it was even if the rebuild replaces it
            return super().send_head()

    def _send(self, body: bytes, content_type: str, head: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # pages change under a running server: keep no old copies
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # a line per request would bury the rebuild messages


def watched_folders(seeds: Path, templates: Path | None) -> list[Path]:
    """Seeds, the user's templates (and their static/), and ours: what a rebuild reads."""
    folders = [seeds, data_dir("templates"), data_dir("static")]
    if templates is not None:
        folders.append(templates)
    return folders


def serve(
    seeds: Path,
    out: Path,
    *,
    templates: Path | None = None,
    port: int = 8000,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    cache: bool = True,
    waiting: Callable[[], None] | None = None,
) -> int:
    """Build, then serve `out` until Ctrl-C, rebuilding after each change; 0 when stopped, 2 if it cannot start.

    Pagefind has no incremental mode, so a change goes in twice (build's `pages_first`): the pages with the last
    search index, which reloads the open page, then the whole site once Pagefind has made the new index.
    """

    records: dict[str, Loaded] = {}  # the last build's, so that a rebuild reads back only what changed

    def rebuild(pages_first: Callable[[BuildResult], bool] | None = None, *, every_page: bool = False) -> BuildResult:
        # The first build runs in a child process (its memory goes back when it ends), the next ones in this one,
        # where the last build's records are kept.
        return build(
            seeds, out, templates=templates, jobs=jobs, cache_dir=cache_dir, cache=cache, waiting=waiting,
            pages_first=pages_first, resident=records, in_place=state.files, isolate=serving.ident is None,
            every_page=every_page,
        )  # fmt: skip

    folders = watched_folders(seeds, templates)
    state = SiteState()
    try:  # before the first build, which can take minutes: a port in use is said at once
        server = ThreadingHTTPServer((HOST, port), partial(Handler, state=state, directory=os.fspath(out)))
    except OSError as error:
        print(
            f"corpus-site: error: cannot listen on {HOST}:{port} ({error.strerror or error}); try another --port",
            file=sys.stderr,
        )
        return 2
    server.daemon_threads = True
    serving = threading.Thread(target=server.serve_forever, name="corpus-site-serve", daemon=True)

    watcher = Watcher(folders)
    # The first build runs in a child process, whose records go with it: they are read back from the cache while
    # Pagefind makes the first search index (10,000 records in 1.5–3 s), not after it, when a save may be waiting.
    recalling = threading.Thread(
        target=recall_records, args=(seeds,),
        kwargs={"cache_dir": cache_dir, "into": records, "templates": templates, "out": out},
        name="corpus-site-recall", daemon=True,
    )  # fmt: skip

    def start_serving() -> None:
        watcher.start()
        if serving.ident is None:  # not started yet
            serving.start()
            if cache:
                recalling.start()
            print(f"Serving {out}/ at http://{HOST}:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True)

    try:
        with watcher:
            before = watcher.look()
            # Served from the moment the first build's pages are in, while Pagefind makes the search index.
            if not _rebuild_pages_first(rebuild, out, state, changed_meanwhile=lambda: False, pages_in=start_serving):
                return 2
            if recalling.ident is not None:
                recalling.join()
                # The first build's page keys went with its child: the recall thread worked them out again from the
                # recalled records, and a pass through every page here takes them, with what the output folder holds,
                # so that the next change is rebuilt as fast as later ones. A change made since the first build began
                # is rebuilt by this pass (as fast as a later rebuild: 0.64 against 1.38 s at 10,000 documents when
                # the pass keyed every page itself), which then says so; otherwise it writes and says nothing.
                before = _pass_through_every_page(rebuild, out, state, watcher, before)
            while True:
                settled = watcher.next_change(before)
                changed = changed_paths(before, settled)
                before = settled
                print(f"Changed: {_describe(changed)}; rebuilding…", flush=True)
                _rebuild_pages_first(rebuild, out, state, changed_meanwhile=partial(watcher.changed_since, settled))
    except KeyboardInterrupt:
        pass
    finally:
        if serving.ident is not None:
            server.shutdown()
        server.server_close()
    if serving.ident is not None:
        print("Stopped.", flush=True)
    return 0


def _pass_through_every_page(
    rebuild: Callable[..., BuildResult], out: Path, state: SiteState, watcher: Watcher, before: Snapshot
) -> Snapshot:
    """One build through every page (see build's `every_page`); the folders as it found them."""
    settled = watcher.look_again()
    quiet = settled == before  # nothing changed since the first build began: a pass that writes nothing says nothing
    if not quiet:
        print(f"Changed: {_describe(changed_paths(before, settled))}; rebuilding…", flush=True)
    changed_meanwhile = partial(watcher.changed_since, settled)
    _rebuild_pages_first(
        partial(rebuild, every_page=True), out, state, changed_meanwhile=changed_meanwhile, quiet=quiet
    )
    return settled


def _rebuild_pages_first(
    rebuild: Callable[[Callable[[BuildResult], bool]], BuildResult],
    out: Path,
    state: SiteState,
    *,
    changed_meanwhile: Callable[[], bool],
    pages_in: Callable[[], None] = lambda: None,
    quiet: bool = False,
) -> bool:
    """One build: the open page reloads (and `pages_in` is called) as soon as the pages are in; the search index is
    reported when it follows. False if the build failed before the pages were in.

    If more changes came while the pages were made, the search index is left to the build for them, which comes
    next: in a run of saves, each would otherwise wait for Pagefind before the next pages.
    `quiet`: a build that wrote nothing says nothing, and is not followed by the search index.
    """
    told = False

    def announce(result: BuildResult) -> None:
        nonlocal told
        told = True
        if quiet and not result.written.written:
            return
        _say_built(out, result)
        if result.written.written:  # else the pages are as they were: no page need reload
            state.bump()
        pages_in()

    def pages_first(result: BuildResult) -> bool:
        announce(result)
        if quiet and not result.written.written:
            return False
        if changed_meanwhile():
            print("More changes came; the search index waits for the next build.", flush=True)
            return False
        return True

    try:
        result = rebuild(pages_first)
    except BuildError as error:
        print(f"corpus-site: error: {error}", file=sys.stderr, flush=True)
        return told
    index_followed = told
    if not told:  # the search index had nothing to make again, or the site was kept as it was
        announce(result)
    seconds = dict(result.timings).get("search index")
    if seconds is not None:
        print(f"Search index updated in {seconds:.2f} s.", flush=True)
        if index_followed and result.written.written:  # else the open search page has the index it would get
            state.index_followed()
    return True


def _describe(paths: list[str]) -> str:
    names = [os.path.basename(path) for path in paths[:3]]
    more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    return ", ".join(names) + more


def _say_built(out: Path, result: BuildResult) -> None:
    documents = result.document_count
    problems = len(result.corpus.warnings) + len(result.corpus.skipped)
    print(
        f"Built {out}/: {documents} document{'s' * (documents != 1)} in {result.seconds:.2f} s "
        f"({result.from_cache} from the cache, {result.written.written} files written"
        + (f", {problems} warnings or skipped files" if problems else "")
        + ")",
        flush=True,
    )
