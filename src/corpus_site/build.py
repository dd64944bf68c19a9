"""Runs the stages in order (load → structure → render → write); the one place that knows the whole flow."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from jinja2 import Environment, TemplateError, TemplateNotFound, TemplateSyntaxError

from corpus_site import overview, report
from corpus_site.cache import (
    CacheError,
    PageKeys,
    PageMemo,
    check_cache_dir,
    default_cache_dir,
    open_cache,
    prepare_templates,
    recall,
    remember_ledger,
    remember_site,
    settled_files,
    site_fingerprint,
    site_ledger,
    unchanged_site,
)
from corpus_site.child import ChildDied, can_fork, give_back_freed_memory, run_in_child
from corpus_site.features import let_go_of_features
from corpus_site.groups import explicit_problems, profile_ahead
from corpus_site.langtag import detect_ahead
from corpus_site.loader import Loaded, discover, load_found
from corpus_site.records import Corpus, Problem
from corpus_site.render import (
    encode_ahead,
    environment,
    export_files,
    is_export_file,
    is_text_file,
    page_keys_ahead,
    render_site,
    text_files,
)
from corpus_site.report import Health
from corpus_site.search import (
    LanguagePage,
    PagefindWork,
    SearchIndexError,
    bundle_names,
    fragment_source,
    is_pagefind_file,
    is_search_file,
    is_search_index_file,
    language_pages,
    search_data_files,
    search_pages,
)
from corpus_site.site import Site, build_site
from corpus_site.workers import default_jobs, loading
from corpus_site.writer import (
    KeptFile,
    OutputError,
    StagedSite,
    WriteStats,
    check_output,
    output_files,
    output_lock,
    staged_site,
)

PACKAGE_DIR = Path(__file__).resolve().parent


class BuildError(Exception):
    """A problem with the user's input that stops the build; the message says what to do."""


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build made, for the summary line and for tests."""

    corpus: Corpus  # skips, warnings and ignored files; documents=(): they are let go before the search index
    document_count: int
    languages: tuple[str, ...]
    seconds: float
    written: WriteStats
    from_cache: int = 0  # documents whose loading the content cache saved
    pages_kept: int = 0  # pages whose inputs had not changed, so not rendered again
    timings: tuple[tuple[str, float], ...] = ()  # seconds per stage, for -v and the benchmark
    health: Health | None = None  # the health report's findings; None when the site was kept as it was


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def data_dir(name: str) -> Path:
    """Our templates/ or static/: inside the installed package, else at the top of a checkout."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parents[1] / name


def build(
    seeds: Path,
    out: Path,
    *,
    templates: Path | None = None,
    base_url: str | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    executor: Executor | None = None,
    cache_dir: Path | None = None,
    cache: bool = True,
    search_index: bool = True,
    isolate: bool = True,
    waiting: Callable[[], None] | None = None,
    pages_first: Callable[[BuildResult], bool] | None = None,
    resident: dict[str, Loaded] | None = None,
    in_place: AbstractContextManager[object] | None = None,
    every_page: bool = False,
) -> BuildResult:
    """Load every seed, render the site and swap it into `out`.

    With `isolate` (where forking is safe, and without an `executor`), a child process loads and renders, then
    exits before Pagefind runs: see `_isolated`. Another build into `out` is waited for (`waiting` is called
    when that starts). With `pages_first` (serve), a site whose search index has bundles to make again goes in
    twice: first the pages beside the last build's Pagefind bundles, then `pages_first` is told, then the whole
    site with its new bundles, unless `pages_first` returned False: then the build ends there, and the result
    it returns has no "search index" timing. With `pages_first` and not `isolate` (serve's rebuilds), the pages
    always go in first, and the search pages, the offline index and Pagefind's input are made only then.
    `resident` keeps the records in memory from one build to the next where the build runs in this process:
    those of unchanged seeds are not read from the cache.
    `in_place` (serve) updates an existing site in OUT file by file instead of swapping a new folder in, holding
    that lock meanwhile; serve's server holds it while it opens a file, so no reader sees the site half updated.
    `every_page` goes through every page even when the seeds are as the last build left them, which otherwise
    keeps the site without reading a record: serve's first build runs in a child, and a pass in this process works
    out what its first rebuild can then take again (each page's key), instead of that rebuild.
    """
    arguments = dict(locals())  # all of them, so a new option can never be left out of the site's fingerprint
    started = time.perf_counter()
    if seeds.exists() and not seeds.is_dir():
        raise BuildError(f"the seeds path {seeds} is a file, not a folder; name the folder holding your seed files")
    if not seeds.is_dir():
        raise BuildError(
            f"the seeds folder {seeds} does not exist; "
            "create it and put .txt or .md files in it, or name another folder"
        )
    if templates is not None and not templates.is_dir():
        raise BuildError(f"the templates folder {templates} does not exist; give --templates an existing folder")
    try:
        check_output(out, seeds)
    except OutputError as error:
        raise BuildError(str(error)) from None
    cache_folder = (cache_dir or default_cache_dir(seeds)) if cache else None
    if cache_folder:
        try:
            check_cache_dir(cache_folder, seeds, out)
        except CacheError as error:
            raise BuildError(str(error)) from None
    work = partial(
        _load_and_render,
        Inputs(
            seeds,
            out,
            templates,
            base_url,
            jobs,
            executor,
            cache_folder,
            search_index,
            owner=os.getpid(),
            resident=resident,
            in_place=in_place is not None,
            every_page=every_page,
            search_later=pages_first is not None and search_index and not isolate,
        ),
        started=started,
        site_key_of=partial(_site_key, arguments),
    )
    in_child = isolate and search_index and executor is None and can_fork()
    with _output_held(out, waiting), _collector_paused(pages_first is not None and not in_child):
        if in_child:
            rendered = _isolated(work, progress)
        else:
            rendered = work(progress)
            give_back_freed_memory()  # the records went when `work` returned (342 → 178 MB at 10,000 documents)
        if isinstance(rendered, BuildResult):  # the site was kept as it was
            return rendered
        return _index_and_swap_in(rendered, out, cache_folder, started, pages_first, in_place)


def recall_records(
    seeds: Path,
    *,
    cache_dir: Path | None,
    into: dict[str, Loaded],
    templates: Path | None = None,
    out: Path | None = None,
) -> None:
    """The records the cache holds for the seeds as they are now, into `into`: serve's first build ran in a child
    process and its records went with it, so without this its first rebuild would read them all from the cache.
    What that build would work out from them first is worked out here too (their words counted, their corpus.json
    entries encoded, their translation profiles and short lines), and what loading a seed needs is loaded (the
    detection code and profiles, ftfy): at 10,000 documents the first rebuild took 0.4 s longer than the next ones
    for these alone. The templates (the user's `templates` folder over ours) are compiled for the page memo and
    analysed too. With `out`, and a record for every seed, so are the site's structure and each page's key for a
    build into `out` (page_keys_ahead)."""
    folder = cache_dir or default_cache_dir(seeds)
    recalled: list[tuple[str | None, Loaded | None]] = []
    with suppress(CacheError, OSError):  # if not, the first rebuild reads them, as any build does
        found, ignored, problems = discover(seeds)
        recalled = recall(folder, seeds, found, into)
    documents = {key: record.document for key, record in into.items() if record.document is not None}
    overview.count_ahead(documents.values())
    encode_ahead(documents)
    profile_ahead(documents.values())
    report.count_ahead(documents.values())
    detect_ahead()
    report.mojibake_ahead()
    env = _environment(_template_dirs(templates), memoised=True)
    prepare_templates(env)
    if out is not None and recalled and all(record is not None for _, record in recalled):
        corpus = load_found(found, ignored, problems, lambda seeds: [record for _, record in recalled if record])
        by_object: dict[int, tuple[object, str]] = {
            id(record.document): (record.document, key)
            for key, record in recalled
            if record and record.document and key
        }
        # Only a shortcut: whatever goes wrong here (a template edited meanwhile) the next build meets and reports.
        with suppress(Exception):
            _page_keys_ahead(corpus, by_object, env, folder, out)


def _page_keys_ahead(
    corpus: Corpus, documents: dict[int, tuple[object, str]], env: Environment, cache_folder: Path, out: Path
) -> None:
    """What the next build in this process would work out from `corpus` before its pages go in, into the memos it
    carries from build to build (serve's): the site's structure, its health report and each page's key. The pass
    through every page that follows serve's first build (run in a child, whose memos went with it) took 1.1–1.4 s
    with a seed added at 10,000 documents, against 0.7–0.8 s for later rebuilds: most of it this."""
    site, health = _structure(corpus, carry=True)
    memo = PageMemo(cache_folder, out, env, documents, carry=True)
    memo.install()
    page_keys_ahead(site, env, None, health)
    memo.rendering_done({})  # nothing was written: only the keys are carried, for the next build's memo


def _structure(corpus: Corpus, *, carry: bool) -> tuple[Site, Health]:
    """The site built from the loaded corpus (with the problems its metadata states), and its health report."""
    site = build_site(replace(corpus, warnings=corpus.warnings + explicit_problems(corpus.documents)), carry=carry)
    return site, report.health(site, carry=carry)


@dataclass(frozen=True, slots=True)
class Inputs:
    """What loading and rendering read, besides the seeds' bytes: build()'s arguments that matter to them."""

    seeds: Path
    out: Path
    templates: Path | None
    base_url: str | None
    jobs: int | None
    executor: Executor | None
    cache_folder: Path | None
    search_index: bool
    owner: int  # the process that makes the search index, and so removes Pagefind's work folder
    resident: dict[str, Loaded] | None  # records kept in memory between builds
    in_place: bool  # update OUT file by file (see StagedSite)
    search_later: bool  # the search pages and the search index's input made once the rest is in (SearchInputLater)
    every_page: bool = False  # through every page even when the site is as the last build left it


@dataclass(frozen=True, slots=True)
class Rendered:
    """The site as loading and rendering leave it for the search index and the swap-in: every page in the
    staging folder, Pagefind's input in its work folder. Small and picklable, so a child process can hand it over."""

    stage: StagedSite
    pagefind: PagefindWork | None  # None: keep the last build's index (serve's first pass)
    pages: PageKeys | None  # the page memo's keys, committed once the site is in place
    pages_kept: int  # pages the memo found unchanged, so not rendered again
    summary: Corpus  # skips, warnings and ignored files; no documents
    count: int
    languages: tuple[str, ...]
    health: Health
    site_key: str | None
    from_cache: int
    timings: tuple[tuple[str, float], ...]
    later: SearchInputLater | None = None  # in process only: the search index's input, made after the pages


class SearchInputLater:
    """The search pages, the offline index, Pagefind's input, the exports (render.export_files) and the plain-text
    files of a site whose other pages went in without them (serve's rebuilds, which run in this process): at 10,000
    documents they, and Pagefind running beside the pages, took over a second of the time from a saved seed to its
    page; the exports, which no page reads, 0.19 s on a slow machine; the plain-text files the memo keeps (those of
    new or changed documents go in with their pages), 0.1 s. Used once: what they are made from is let go as soon as
    they are, before Pagefind runs beside the records serve keeps."""

    def __init__(
        self, site: Site, groups: dict[str, str], memo: PageMemo | None, env: Environment, inputs: Inputs
    ) -> None:
        self._from: tuple[Site, dict[str, str], PageMemo | None, Environment] | None = (site, groups, memo, env)
        self.inputs = inputs

    def into(self, stage: StagedSite, pages_written: dict[str, bytes]) -> tuple[PagefindWork, PageKeys | None]:
        """The search pages, the exports and the offline index added to `stage`, then the page memo's keys (of the
        pages in `pages_written` and of those added here) and Pagefind's work, its input written."""
        site, groups, memo, env = self._taken()
        pages = language_pages(site)
        with _template_errors(self.inputs.templates):
            for path, page in search_pages(site, env, bundle_names(pages), base_url=self.inputs.base_url).items():
                stage.add(path, page)
        for path, export in export_files(site, env, self.inputs.base_url):
            stage.add(path, export)
        for path, text in text_files(site, env, made=pages_written):
            stage.add(path, text)
        for path, content in search_data_files(site, groups, memo):
            stage.add(path, content)
        keys = memo.rendering_done(pages_written | stage.digests) if memo else None
        del site, memo, env
        pagefind = _pagefind_work(self.inputs, stage, pages, groups)
        try:
            pagefind.write_input()
        except BaseException:
            pagefind.close()
            raise
        return pagefind, keys

    def page_keys(self, written: dict[str, bytes]) -> PageKeys | None:
        """The page memo's keys, when the search index is not made after all: the plain-text files left as they were
        are looked at all the same, so that the next build knows them (else it would hash every document again)."""
        site, _, memo, env = self._taken()
        if memo is None:
            return None
        for _ in text_files(site, env, made=written):
            pass
        return memo.rendering_done(written)

    def _taken(self) -> tuple[Site, dict[str, str], PageMemo | None, Environment]:
        taken, self._from = self._from, None
        if taken is None:
            raise RuntimeError("the search index's input is made once")
        return taken


# The last build's environment in this process, with the template folders' files as they were when it was made.
_ENVIRONMENT: dict[tuple[object, ...], tuple[tuple[tuple[str, str], ...], Environment]] = {}


def _template_dirs(templates: Path | None) -> list[Path]:
    """The user's templates folder, if any, then ours: the first that holds a template wins."""
    return [path for path in (templates, data_dir("templates")) if path]


def _environment(template_dirs: list[Path], *, memoised: bool) -> Environment:
    """render.environment, or the one the last build in this process made while none of the files in the template
    folders has changed since (serve): its templates are parsed and compiled, and their reads found, already (0.1 s of
    each rebuild). One made while a file had just changed is not kept: a second change could go unseen.

    `memoised`: whether the build installs a page memo, which makes the templates it loads its own (MemoTemplate);
    those loaded without one would pass it by."""
    key = (memoised, *(os.fspath(path) for path in template_dirs))
    files = settled_files(template_dirs)
    found = _ENVIRONMENT.get(key)
    if files is not None and found is not None and found[0] == files:
        env = found[1]
        env.corpus_site_memo = None  # type: ignore[attr-defined] # the last build's page memo, if it installed one
        return env
    env = environment(template_dirs)
    _ENVIRONMENT.clear()
    if files is not None:
        _ENVIRONMENT[key] = (files, env)
    return env


def _pagefind_work(
    inputs: Inputs, stage: StagedSite, pages: list[LanguagePage], groups: dict[str, str]
) -> PagefindWork:
    """Pagefind's work on the site being staged: the bundles its language pages need made again."""
    return PagefindWork(
        fragment_source(pages, groups),
        previous=stage.out,
        known_digest=stage.known_digest,
        owner=inputs.owner,
        # Beside the cache, on the user's disk: /tmp is often memory (tmpfs), and Pagefind's input and output run to
        # hundreds of MB at 100,000 documents; creating files there can be slow too.
        scratch=inputs.cache_folder,
    )


def _isolated(
    work: Callable[[Progress | None], BuildResult | Rendered], progress: Progress | None
) -> BuildResult | Rendered:
    """`work` in a child process that exits once the pages are written.

    Pagefind's Japanese dictionary alone takes 341 MB. After the build lets go of 10,000 documents its process
    still holds 159 MB (pymalloc's arenas stay fragmented; no trimming gives them back), so the two together
    passed 500 MB. A child that exits gives back everything, and the parent stays at what its imports take.
    """
    try:
        return run_in_child(work, progress)
    except ChildDied as error:
        raise BuildError(
            f"{error}; the previous site is unchanged. If the system ran out of memory, try fewer --jobs"
        ) from None


def _load_and_render(
    inputs: Inputs,
    progress: Progress | None,
    *,
    started: float,
    site_key_of: Callable[[list[str | None], list[Problem], list[str], Path | None], str | None],
) -> BuildResult | Rendered:
    """Every seed loaded and every page written to the staging folder; a BuildResult if the site was kept."""
    seeds, out, templates, cache_folder = inputs.seeds, inputs.out, inputs.templates, inputs.cache_folder
    try:
        with open_cache(cache_folder, seeds, resident=inputs.resident) as load_cache, _records_spared_by_collector():
            found, ignored, problems = discover(seeds)
            keys = load_cache.keys_of(found) if load_cache else []
            # The records are named by their inputs, so the keys and what discovery saw settle the whole site:
            # when they and the output are as the last build left them, not even the records are read.
            site_key = site_key_of(keys, problems, ignored, templates) if load_cache else None
            kept = (
                unchanged_site(cache_folder, out, site_key)
                if cache_folder and site_key and not inputs.every_page
                else None
            )
            if load_cache and kept:
                load_cache.keep(keys)
            else:
                # An executor may stand for other machines (Dask): the seeds' bytes travel with the work.
                load = loading(
                    jobs=inputs.jobs,
                    executor=inputs.executor,
                    ship=inputs.executor is not None,
                    cache=load_cache,
                    progress=progress,
                )
                corpus = load_found(found, ignored, problems, load)
            from_cache = load_cache.hits if load_cache else 0
            documents = load_cache.documents if load_cache else {}
    except CacheError as error:
        gc.unfreeze()
        raise BuildError(str(error)) from None
    try:
        if kept:
            stats, languages, summary, count = kept
            return BuildResult(
                corpus=summary,
                document_count=count,
                languages=languages,
                seconds=time.perf_counter() - started,
                written=WriteStats(0, stats.written + stats.unchanged, stats.kept_user_files),
                from_cache=len(keys),
            )
        return _render(inputs, corpus, documents, progress, started=started, site_key=site_key, from_cache=from_cache)
    finally:
        gc.unfreeze()


def _render(
    inputs: Inputs,
    corpus: Corpus,
    documents: dict[int, tuple[object, str]],
    progress: Progress | None,
    *,
    started: float,
    site_key: str | None,
    from_cache: int,
) -> Rendered:
    """The site's structure, pages and Pagefind's input, written to a staging folder beside the output."""
    out, templates = inputs.out, inputs.templates
    timings = [("load", time.perf_counter() - started)]
    carry = inputs.resident is not None  # only a build that keeps its records keeps what the next build can reuse
    site, health = _structure(corpus, carry=carry)
    if not carry:
        let_go_of_features(site.documents)
    corpus = site.corpus
    env = _environment(_template_dirs(templates), memoised=bool(inputs.cache_folder))
    # Pages whose inputs did not change come back from the output folder instead of being rendered.
    memo = PageMemo(inputs.cache_folder, out, env, documents, carry=carry) if inputs.cache_folder else None
    if memo:
        memo.install()
    total = len(site.documents)
    done = 0

    def rendered(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress("render", done, total)

    try:
        # Each page goes to the staging folder as soon as it is rendered: the site is never all in memory.
        ledger = site_ledger(inputs.cache_folder, out, carried=carry) if inputs.cache_folder else None
        with staged_site(out, ledger, in_place=inputs.in_place) as stage, ExitStack() as search_work:
            if memo:
                memo.vouch, memo.known_digest = stage.vouch, stage.known_digest
            # Made later, with the search pages that list its bundles, where the search index comes after the pages.
            pages = None if inputs.search_later else language_pages(site)
            groups = {member: group.id for group in site.groups for member in group.members}
            pagefind, search_input, meanwhile = None, time.perf_counter(), ExitStack()
            if inputs.search_index and pages is not None:
                # Pagefind's input comes first: its bundles are made while the pages render (index_meanwhile).
                pagefind = search_work.enter_context(_pagefind_work(inputs, stage, pages, groups))
                if _cores_to_spare(inputs):  # Pagefind starts on each bundle as soon as its input is written
                    meanwhile.enter_context(pagefind.index_meanwhile())
                else:
                    pagefind.write_input()
            search_input = time.perf_counter() - search_input
            with meanwhile:
                _render_into(
                    stage,
                    site,
                    env,
                    rendered,
                    templates=templates,
                    base_url=inputs.base_url,
                    health=health,
                    bundles=bundle_names(pages) if pages is not None else None,
                    exports=pages is not None,
                )
                if inputs.search_index and pages is not None:
                    # Made inside the block, so that it overlaps the wait for the bundle Pagefind has under way when
                    # the block ends (at 10,000 documents, 0.5 s to make and 0.7 s of waiting).
                    search_data = time.perf_counter()
                    for path, content in search_data_files(site, groups, memo):
                        stage.add(path, content)
                    search_input += time.perf_counter() - search_data
            timings.append(("structure, render and write", _since(started, timings) - search_input))
            # The search index's line counts the making of its input, not the bundles made beside the rendering.
            timings.append(("search input", search_input))
            search_work.pop_all()  # Pagefind's work folder now belongs to whoever makes the index
    except (SearchIndexError, OutputError, OSError) as error:
        raise _output_failure(error, out) from None
    later = SearchInputLater(site, groups, memo, env, inputs) if inputs.search_later else None
    return Rendered(
        stage=stage,
        pagefind=pagefind,
        pages=memo.rendering_done(stage.digests) if memo and not later else None,
        pages_kept=memo.kept if memo else 0,
        summary=replace(corpus, documents=()),
        count=len(corpus.documents),
        languages=tuple(language.code for language in site.languages),
        health=health,
        site_key=site_key,
        from_cache=from_cache,
        timings=tuple(timings),
        later=later,
    )


def _index_and_swap_in(
    rendered: Rendered,
    out: Path,
    cache_folder: Path | None,
    started: float,
    pages_first: Callable[[BuildResult], bool] | None = None,
    holding: AbstractContextManager[object] | None = None,
) -> BuildResult:
    """Pagefind's index into the staging folder, then the folder in for `out`; the caches learn what was made."""
    stage, pagefind, timings = rendered.stage, rendered.pagefind, list(rendered.timings)
    pages_committed = False
    try:
        try:
            if pages_first and (rendered.later or (pagefind and pagefind.todo)):
                following, pages = _pages_swapped_in_first(rendered, out, cache_folder, started, pages_first, holding)
                if following is None:
                    return pages
                stage, pages_committed = following, True
                timings.append(("pages first", _since(started, timings)))
            if rendered.later:
                pagefind, keys = rendered.later.into(stage, rendered.stage.digests)
                if keys:
                    keys.commit()  # at once, as _pages_swapped_in_first does: the index may yet fail
            if pagefind:
                pagefind.vouch, pagefind.known_digest = stage.vouch, stage.known_digest
                for path, content in pagefind.files():
                    stage.add(path, content)
            else:
                stage.keep_old(is_search_index_file)
            timings.append(("search index", _since(started, timings)))
            timings = _folded(timings, "search input", into="search index")
            stats = stage.finish(holding=holding)
        except BaseException:
            stage.abandon()
            raise
        finally:
            if pagefind:
                pagefind.close()
    except (SearchIndexError, OutputError, OSError) as error:
        raise _output_failure(error, out) from None
    if rendered.pages and not pages_committed:
        rendered.pages.commit()
    if cache_folder:
        # Looked at once the old site is gone, since removing it changed the kept files' change times. A file someone
        # writes into the output folder in the moment between the swap and this look is taken for the build's own.
        files = output_files(out)
        remember_ledger(cache_folder, out, stage.ledger_now(files))
        if rendered.site_key:
            summary = (stats, rendered.languages, rendered.summary, rendered.count)
            remember_site(cache_folder, out, rendered.site_key, summary, files)
    return _result(rendered, started, stats, (*timings, ("swap in", _since(started, timings))))


def _result(
    rendered: Rendered, started: float, written: WriteStats, timings: tuple[tuple[str, float], ...]
) -> BuildResult:
    return BuildResult(
        corpus=rendered.summary,
        document_count=rendered.count,
        languages=rendered.languages,
        seconds=time.perf_counter() - started,
        written=written,
        from_cache=rendered.from_cache,
        pages_kept=rendered.pages_kept,
        health=rendered.health,
        timings=timings,
    )


def _pages_swapped_in_first(
    rendered: Rendered,
    out: Path,
    cache_folder: Path | None,
    started: float,
    tell: Callable[[BuildResult], bool],
    holding: AbstractContextManager[object] | None,
) -> tuple[StagedSite | None, BuildResult]:
    """The rendered pages (and the new offline index, unless it is made `later`) swapped in beside the last build's
    Pagefind bundles (and offline index), and `tell` told. Returned with what `tell` was told: a new staging folder
    holding the same files but those of the search index, for the new ones to join; None if `tell` said to stop.

    Pagefind has no incremental mode: serve's pages would otherwise wait for it, or be loaded and rendered a
    second time once it is done. Linking the site again costs about a second at 10,000 documents.
    """
    stage = rendered.stage
    # The last build's bundles stay beside the pages; where the rest of the search and the exports come `later`, all
    # of them do.
    last = _made_after_the_pages if rendered.later else is_pagefind_file
    try:
        stage.keep_old(last)
        # Told before the swapped-out site is removed: serve's page reloads 0.3 s sooner at 10,000 documents.
        stats = stage.finish(remove_previous=False, holding=holding)
    except BaseException:
        stage.abandon()
        raise
    pages = _result(rendered, started, stats, rendered.timings)
    try:
        go_on = tell(pages)
    finally:
        stage.remove_previous()
    if rendered.pages:
        rendered.pages.commit()
    elif rendered.later and not go_on and (keys := rendered.later.page_keys(stage.digests)):
        keys.commit()
    # The site in place now is remembered (the swap changed the kept files' change times): if the index then
    # fails, the next build still finds these pages by their hashes.
    ledger = stage.ledger_in_place() if stage.in_place else stage.ledger_now(output_files(out))
    if cache_folder:
        remember_ledger(cache_folder, out, ledger)
    if not go_on:
        return None, pages
    following = StagedSite(out, ledger, in_place=stage.in_place)
    if following.in_place:  # the pages stay as they went in: 0.6 s at 10,000 documents to look at each again
        following.keep_old(lambda path: not last(path))
        return following, pages
    try:
        for path in sorted(stage.names):
            if last(path):
                continue
            # Linked unread if the file is as this build left it a moment ago; if not, read, and the writer compares.
            digest, source = following.known_digest(path), out / path
            following.add(
                path,
                KeptFile(digest, source.read_bytes)
                if digest and digest == stage.digests[path]
                else source.read_bytes(),
            )
    except BaseException:
        following.abandon()
        raise
    return following, pages


def _made_after_the_pages(path: str) -> bool:
    """Whether serve's rebuilds put the file at `path` in after the pages (SearchInputLater), or may."""
    return is_search_file(path) or is_export_file(path) or is_text_file(path)


def _output_failure(error: SearchIndexError | OutputError | OSError, out: Path) -> BuildError:
    """What the user is told when the search index or the output folder fails."""
    if not isinstance(error, OSError):
        return BuildError(str(error))
    failed = error.filename or out
    return BuildError(
        f"cannot write the site to {out} ({failed}: {error.strerror or error}); "
        "check that the output folder's parent exists and is writable"
    )


@contextmanager
def _output_held(out: Path, waiting: Callable[[], None] | None) -> Iterator[None]:
    """writer.output_lock, with a lock that cannot be made reported like any other output failure."""
    with ExitStack() as stack:
        try:
            stack.enter_context(output_lock(out, waiting))
        except OSError as error:
            raise _output_failure(error, out) from None
        yield


@contextmanager
def _records_spared_by_collector() -> Iterator[None]:
    """Load with Python's cyclic garbage collector paused, then freeze what was loaded until the site is written.

    The records hold millions of objects and no reference cycles. Each full collection walked all of them again:
    nine per build after adding one seed to 10,000 documents, about a second in all. Frozen objects are still
    freed as soon as nothing refers to them; only the collector's walks skip them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _collector_paused(paused: bool) -> Iterator[None]:
    """Python's cyclic garbage collector paused (if `paused`) until the build is done: serve's rebuilds, in its own
    process, which keeps its records from one rebuild to the next.

    Those records are millions of objects: unfrozen after the rendering (_records_spared_by_collector), a full
    collection walks them all, 0.3 s at 10,000 documents. It came right after the pages went in, holding up the
    open page's reload and the search index, and could come before them; the collections on the way to the pages
    took 0.04 s more. Rendering makes few reference cycles (307 objects left for the collector after a rebuild
    that rendered all 10,000 document pages again), so what the collector would have freed waits a few seconds.
    """
    if not paused or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _cores_to_spare(inputs: Inputs) -> bool:
    """Whether Pagefind may run beside the rendering: not when the build was asked to keep to one core."""
    return (inputs.jobs or default_jobs()) > 1


def _folded(timings: list[tuple[str, float]], stage: str, *, into: str) -> list[tuple[str, float]]:
    """`timings` with `stage`'s seconds added to those of `into`."""
    extra = dict(timings).get(stage, 0.0)
    return [(name, spent + extra if name == into else spent) for name, spent in timings if name != stage]


def _since(started: float, timings: list[tuple[str, float]]) -> float:
    """Seconds since the last stage in `timings` ended."""
    return time.perf_counter() - started - sum(seconds for _, seconds in timings)


def _render_into(
    stage: StagedSite,
    site: Site,
    env: Environment,
    rendered: Callable[[int], None],
    *,
    templates: Path | None,
    base_url: str | None,
    health: Health,
    bundles: list[str] | None,
    exports: bool = True,
) -> None:
    """Every page, export and static file of the site into `stage`; without `bundles`, not the search pages, and
    without `exports`, not the exports (they come with the search index: SearchInputLater)."""
    with _template_errors(templates):
        for path, content in render_site(site, env, rendered, base_url=base_url, health=health, exports=exports):
            stage.add(path, content)
        if bundles is not None:
            for path, content in search_pages(site, env, bundles, base_url=base_url).items():
                stage.add(path, content)
    static_dirs = [path for path in (templates and templates / "static", data_dir("static")) if path]
    for path, content in static_files(static_dirs).items():
        stage.add(path, content)


@contextmanager
def _template_errors(templates: Path | None) -> Iterator[None]:
    """Errors raised in a template, ours or a user's override, as a BuildError naming the template and line."""
    try:
        yield
    except TemplateSyntaxError as error:
        raise BuildError(f"{error.filename or error.name}:{error.lineno}: template error: {error.message}") from None
    except Exception as error:  # only errors raised inside a template become a BuildError
        where = _template_location(error)
        if not isinstance(error, TemplateError) and not (where and templates and _inside(where[0], templates)):
            raise
        message = f"template {error.name!r} not found" if isinstance(error, TemplateNotFound) else str(error)
        place = f"{where[0]}:{where[1]}: " if where else ""
        raise BuildError(f"{place}template error: {message}; check your --templates overrides") from None


# These change how build() works, not what it makes.
_NOT_IN_OUTPUT = {
    "progress", "jobs", "executor", "cache_dir", "cache", "isolate", "waiting", "pages_first", "resident", "in_place",
    "every_page",
}  # fmt: skip


def _site_key(
    arguments: dict[str, object],
    keys: list[str | None],
    problems: list[Problem],
    ignored: list[str],
    templates: Path | None,
) -> str | None:
    """The fingerprint of everything the output depends on; None when a seed could not be keyed."""
    if not keys or None in keys:
        return None
    options = {name: value for name, value in arguments.items() if name not in _NOT_IN_OUTPUT}
    parts = [*(key or "" for key in keys), repr(problems), repr(ignored)]
    folders = [templates, data_dir("templates"), templates and templates / "static", data_dir("static")]
    return site_fingerprint(parts, options, folders)


def _template_location(error: BaseException) -> tuple[str, int] | None:
    """The template file and line where a rendering error was raised (Jinja points its frames at templates)."""
    where = None
    trace = error.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and not filename.startswith("<"):
            where = (filename, trace.tb_lineno)
        trace = trace.tb_next
    return where


def _inside(filename: str, folder: Path) -> bool:
    return Path(filename).resolve().is_relative_to(folder.resolve())


def static_files(static_dirs: list[Path]) -> dict[str, bytes]:
    """Our static files, replaced one by one by any a user provides, under static/."""
    output: dict[str, bytes] = {}
    for folder in reversed(static_dirs):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                output["static/" + path.relative_to(folder).as_posix()] = path.read_bytes()
    return output
