"""Loading on executors: worker processes, threads and a Dask cluster all give the site a plain build gives."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from corpus_site import cli
from corpus_site.build import build
from corpus_site.loader import discover, load_seed
from corpus_site.workers import SERIAL_BELOW, chunk_size, run_on

SENTENCES = [
    "The library opens at nine in the morning and closes late on Fridays.",
    "A biblioteca abre às nove da manhã e fecha tarde às sextas-feiras.",
    "La bibliothèque ouvre à neuf heures du matin et ferme tard le vendredi.",
    "Библиотека открывается в девять утра и закрывается поздно по пятницам.",
    "图书馆早上九点开门，星期五很晚才关门，阅览室里总是坐满了人。",
    "تفتح المكتبة أبوابها في التاسعة صباحا وتغلق متأخرة يوم الجمعة.",
]


def write_corpus(folder: Path, count: int) -> Path:
    seeds = folder / "seeds"
    (seeds / "sub").mkdir(parents=True)
    for number in range(count):
        first, second = SENTENCES[number % 6], SENTENCES[(number * 5 + 1) % 6]
        where = seeds / "sub" if number % 4 == 0 else seeds
        (where / f"doc-{number:03d}.md").write_text(
            f"---\ntitle: Document {number}\ndate: 2024-01-{number % 28 + 1:02d}\n---\n\n{first} {first}\n\n{second}\n",
            encoding="utf-8",
        )
    (seeds / "doc-001.yaml").write_text("author: A. Sidecar\n", encoding="utf-8")
    (seeds / "empty.md").write_text("---\ntitle: Nothing here\n---\n", encoding="utf-8")  # skipped, with its reason
    return seeds


def files_of(out: Path) -> dict[str, bytes]:
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), SERIAL_BELOW + 8)


@pytest.fixture(scope="module")
def plain(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("plain") / "site"
    build(corpus, out, jobs=1, cache=False)
    return files_of(out)


def test_a_build_on_a_local_dask_cluster_is_byte_for_byte_the_plain_build(
    corpus: Path, plain: dict[str, bytes], tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")  # in the test extra: installed by the test command
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = build(corpus, tmp_path / "site", executor=client.get_executor(), cache=False)
    assert result.document_count == SERIAL_BELOW + 8
    assert files_of(tmp_path / "site") == plain


def test_the_dask_option_of_the_command_line(corpus: Path, plain: dict[str, bytes], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        code = cli.main(
            [
                "build",
                str(corpus),
                "-o",
                str(tmp_path / "site"),
                "-q",
                "--no-cache",
                "--dask",
                cluster.scheduler_address,
            ]
        )
    assert code == 0
    assert files_of(tmp_path / "site") == plain


def test_an_unreachable_dask_scheduler_is_one_clear_error(corpus: Path, tmp_path: Path, capsys: Any) -> None:
    pytest.importorskip("distributed")
    code = cli.main(["build", str(corpus), "-o", str(tmp_path / "site"), "--dask", "tcp://127.0.0.1:9"])
    assert code == 2
    error = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in error
    assert "Traceback" not in error


def test_worker_processes_make_the_same_site(corpus: Path, plain: dict[str, bytes], tmp_path: Path) -> None:
    build(corpus, tmp_path / "site", jobs=2, cache=False)
    assert files_of(tmp_path / "site") == plain


def test_worker_processes_fill_the_cache_for_the_next_build(
    corpus: Path, plain: dict[str, bytes], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = build(corpus, tmp_path / "site", jobs=2, cache_dir=cache)
    second = build(corpus, tmp_path / "site", jobs=2, cache_dir=cache)
    assert first.from_cache == 0
    assert second.from_cache == second.document_count + len(second.corpus.skipped)
    assert files_of(tmp_path / "site") == plain


class BackwardsExecutor(Executor):
    """Holds every task until a result is asked for, then runs them all, last submitted first."""

    def __init__(self) -> None:
        self.held: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []
        self.order: list[int] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = HeldFuture(self)
        self.held.append((future, fn, args))
        return future

    def run_all(self) -> None:
        for number in reversed(range(len(self.held))):
            future, fn, args = self.held[number]
            if not future.done():
                self.order.append(number)
                future.set_result(fn(*args))


class HeldFuture(Future[Any]):
    def __init__(self, executor: BackwardsExecutor) -> None:
        super().__init__()
        self.executor = executor

    def result(self, timeout: float | None = None) -> Any:
        self.executor.run_all()
        return super().result(timeout)


def test_results_keep_the_seed_order_whatever_order_tasks_finish_in(corpus: Path) -> None:
    seeds, _, _ = discover(corpus)
    executor = BackwardsExecutor()
    loaded = [record for record, _ in run_on(executor, seeds, workers=2)]
    assert len(executor.order) > 1
    assert executor.order == sorted(executor.order, reverse=True)
    assert loaded == [load_seed(seed) for seed in seeds]


def test_threads_and_shipped_bytes_give_the_same_records(corpus: Path) -> None:
    seeds, _, _ = discover(corpus)
    with ThreadPoolExecutor(3) as pool:
        shipped = [record for record, _ in run_on(pool, seeds, workers=3, ship=True)]
    assert shipped == [load_seed(seed) for seed in seeds]
    assert any(seed.sidecar for seed in seeds)


@pytest.mark.parametrize(("count", "workers", "expected"), [(1, 2, 1), (40, 2, 3), (10_000, 2, 64), (10_000, 64, 20)])
def test_chunks_are_small_enough_to_balance_and_large_enough_to_amortise(
    count: int, workers: int, expected: int
) -> None:
    assert chunk_size(count, workers) == expected
