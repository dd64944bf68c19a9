"""Runs the stages in order (load → structure → render → write); the one place that knows the whole flow."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from corpus_site.loader import Loaded, SeedFile, load_corpus, load_seed
from corpus_site.records import Corpus
from corpus_site.render import environment, render_site
from corpus_site.site import build_site
from corpus_site.writer import OutputError, WriteStats, check_output, write_site

PACKAGE_DIR = Path(__file__).resolve().parent


class BuildError(Exception):
    """A problem with the user's input that stops the build; the message says what to do."""


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build made, for the summary line and for tests."""

    corpus: Corpus
    languages: tuple[str, ...]
    seconds: float
    written: WriteStats


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
) -> BuildResult:
    """Load every seed, render the site and swap it into `out`."""
    started = time.perf_counter()
    if not seeds.is_dir():
        raise BuildError(f"the seeds folder {seeds} does not exist; create it and put .txt or .md files in it, or name another folder")
    if templates is not None and not templates.is_dir():
        raise BuildError(f"the templates folder {templates} does not exist; give --templates an existing folder")
    try:
        check_output(out, seeds)
    except OutputError as error:
        raise BuildError(str(error)) from None
    corpus = load_corpus(seeds, _loading_with_progress(progress))
    site = build_site(corpus)
    env = environment([path for path in (templates, data_dir("templates")) if path])
    total = len(site.documents)
    done = 0

    def rendered(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress("render", done, total)

    try:
        files = render_site(site, env, rendered, base_url=base_url)
    except TemplateSyntaxError as error:
        raise BuildError(f"{error.filename or error.name}:{error.lineno}: template error: {error.message}") from None
    except TemplateError as error:
        raise BuildError(f"template error: {error.message}; check your --templates overrides") from None
    files.update(static_files([path for path in (templates and templates / "static", data_dir("static")) if path]))
    stats = write_site(out, files)
    return BuildResult(
        corpus=corpus,
        languages=tuple(language.code for language in site.languages),
        seconds=time.perf_counter() - started,
        written=stats,
    )


def _loading_with_progress(progress: Progress | None) -> Callable[[Iterable[SeedFile]], Iterator[Loaded]]:
    def load(found: Iterable[SeedFile]) -> Iterator[Loaded]:
        seeds = list(found)
        for done, seed in enumerate(seeds, 1):
            yield load_seed(seed)
            if progress:
                progress("load", done, len(seeds))

    return load


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
