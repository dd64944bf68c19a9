"""Loading seeds (decoding, parsing, language detection) in worker processes or on any Executor, in a stable order."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from corpus_site.cache import LoadCache
from corpus_site.child import die_with
from corpus_site.features import load_analysed
from corpus_site.loader import Load, Loaded, SeedFile

Progress = Callable[[str, int, int], None]  # (stage, done, total), as in build.py

# Below this many seeds to load, starting workers (each loads langdetect's profiles, ~0.4 s) costs
# more than it saves: they are loaded in this process.
SERIAL_BELOW = 32
_CHUNKS_PER_WORKER = 8  # enough chunks that a slow one does not leave the other workers idle
_MAX_CHUNK = 64  # up to about a second of work per task: its overhead and pickling stay small beside it


def default_jobs() -> int:
    """The cores this process may use."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if count is not None:
        return max(1, count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def chunk_size(count: int, workers: int) -> int:
    """Seeds per task: about eight tasks per worker, at most _MAX_CHUNK seeds each."""
    return max(1, min(_MAX_CHUNK, -(-count // (max(1, workers) * _CHUNKS_PER_WORKER))))


def load_chunk(seeds: Sequence[SeedFile]) -> list[bytes]:
    """The unit of work sent to a worker: several seeds, so the work outweighs the messages.

    Each record comes back pickled by the worker: the content cache stores those very bytes, so the
    main process only unpickles them, instead of unpickling and pickling again.
    """
    return [_pickled(load_analysed(seed)) for seed in seeds]


def _pickled(loaded: Loaded) -> bytes:
    return pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL)


Shipped = tuple[SeedFile, dict[str, tuple[str, bytes]]]  # a seed and its files' (name, bytes) by SeedFile field


def load_shipped_chunk(items: Sequence[Shipped]) -> list[bytes]:
    """load_chunk for workers that cannot see our disk: each seed's files travel with it, under their own names."""
    results: list[bytes] = []
    with tempfile.TemporaryDirectory(prefix="corpus-site-") as folder:
        for number, (seed, files) in enumerate(items):
            here = Path(folder, str(number))
            here.mkdir()
            moved: dict[str, Path] = {}
            for field, (name, data) in files.items():
                (here / name).write_bytes(data)
                moved[field] = here / name
            results.append(_pickled(load_analysed(dataclasses.replace(seed, **moved))))  # type: ignore[arg-type]
    return results


def _ship(seed: SeedFile) -> Shipped | None:
    """The seed with the bytes of every file it names; None if one cannot be read here (loaded here instead)."""
    files: dict[str, tuple[str, bytes]] = {}
    for field in dataclasses.fields(seed):
        value = getattr(seed, field.name)
        if isinstance(value, Path):
            try:
                files[field.name] = (value.name, value.read_bytes())
            except OSError:
                return None
    return seed, files


_DONE: Future[list[bytes]] = Future()  # stands in for a future whose result was read


def run_on(
    executor: Executor, seeds: Sequence[SeedFile], workers: int, *, ship: bool = False
) -> Iterator[tuple[Loaded, bytes]]:
    """Load `seeds` on `executor` in chunks: (record, its pickle) in the order of `seeds`, whatever order tasks end."""
    size = chunk_size(len(seeds), workers)
    futures: list[Future[list[bytes]]] = []
    local: dict[int, list[bytes]] = {}
    for start in range(0, len(seeds), size):
        chunk = seeds[start : start + size]
        if ship:
            shipped = [item for item in map(_ship, chunk) if item is not None]
            if len(shipped) == len(chunk):
                futures.append(executor.submit(load_shipped_chunk, shipped))
                continue
            local[len(futures)] = load_chunk(chunk)  # rare: a file unreadable here gets the loader's own message
            futures.append(Future())
        else:
            futures.append(executor.submit(load_chunk, chunk))
    try:
        for index, future in enumerate(futures):
            results = local.pop(index) if index in local else future.result()
            # A finished future holds its result for as long as it is referenced: without this, every
            # record's pickle of a first build stayed in memory until the last one came (120 MB at 10,000).
            futures[index] = _DONE
            for pickled in results:
                yield pickle.loads(pickled), pickled
    finally:
        for future in futures:
            future.cancel()


def worker_count(executor: Executor) -> int | None:
    """How many tasks `executor` runs at once, where it says: a pool's size, or a Dask cluster's threads."""
    client = getattr(executor, "_client", None)  # distributed's ClientExecutor
    if client is not None:
        try:
            return sum(client.nthreads().values()) or None
        except Exception:  # noqa: BLE001 - only a hint for the chunk size
            return None
    count = getattr(executor, "_max_workers", None)  # ProcessPoolExecutor, ThreadPoolExecutor
    return count if isinstance(count, int) else None


def _process_pool(jobs: int) -> ProcessPoolExecutor:
    # fork copies a process as it is; with other threads running (corpus-site serve) a lock one of them
    # holds would stay held in the child forever, so workers then start from a fresh interpreter.
    # Either way a worker dies with the process that started it: a build killed while loading leaves none behind.
    methods = multiprocessing.get_all_start_methods()
    if threading.active_count() > 1 and "forkserver" in methods:
        # The server starts the workers, and ends when this process does.
        context = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(jobs, mp_context=context, initializer=die_with, initargs=(None,))
    return ProcessPoolExecutor(jobs, initializer=die_with, initargs=(os.getpid(),))


def load_all(
    seeds: Sequence[SeedFile],
    *,
    jobs: int | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    ship: bool = False,
) -> Iterator[tuple[Loaded, bytes | None]]:
    """Every seed loaded, in order, with its pickle where a worker made one: here when there are few or jobs is 1,
    else on `executor` or our own process pool."""
    if executor is not None:
        yield from run_on(executor, seeds, workers or worker_count(executor) or jobs or default_jobs(), ship=ship)
        return
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(seeds) < SERIAL_BELOW:
        yield from ((load_analysed(seed), None) for seed in seeds)
        return
    with _process_pool(jobs) as pool:
        yield from run_on(pool, seeds, jobs)


def loading(
    *,
    jobs: int | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    ship: bool = False,
    cache: LoadCache | None = None,
    progress: Progress | None = None,
) -> Load:
    """The `load` step for loader.load_corpus: cached records where the cache has them, the rest loaded in parallel."""

    def load(found: Iterable[SeedFile]) -> Iterator[Loaded]:
        seeds = list(found)
        total = len(seeds)
        keys: list[str | None] = [cache.known_key(seed) for seed in seeds] if cache else [None] * total
        results: list[Loaded | None] = cache.lookup(keys) if cache else [None] * total
        missing = [index for index, result in enumerate(results) if result is None]
        done = total - len(missing)
        if progress and done:
            progress("load", done, total)
        todo = [seeds[index] for index in missing]
        for index, (loaded, pickled) in zip(
            missing, load_all(todo, jobs=jobs, executor=executor, workers=workers, ship=ship), strict=True
        ):
            results[index] = loaded
            key = keys[index]
            # Kept only if the files still hold what the key was made from: one edited while it was
            # being loaded may have been read in its new state, which the old key must not return.
            if cache and key and cache.key(seeds[index]) == key:
                cache.store(key, loaded, pickled)
            done += 1
            if progress:
                progress("load", done, total)
        records = [result for result in results if result is not None]
        if cache:
            cache.remember(zip(keys, records, strict=True))
        for result, key in zip(records, keys, strict=True):
            if cache and key and result.document is not None:
                cache.documents[id(result.document)] = (result.document, key)
            yield result

    return load


class ExecutorError(Exception):
    """The executor asked for cannot be used; the message says what to do."""


@contextmanager
def executor_for(dask_address: str | None) -> Iterator[Executor | None]:
    """An executor on the Dask cluster at `dask_address` (None: none, our own process pool is used)."""
    if not dask_address:
        yield None
        return
    try:
        import distributed  # optional: pip install 'corpus-site[dask]'
    except ImportError:
        raise ExecutorError("--dask needs the distributed package: pip install 'corpus-site[dask]'") from None
    connect: Any = distributed.Client  # untyped
    try:
        client = connect(dask_address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise ExecutorError(f"cannot reach the Dask scheduler at {dask_address} ({error}); is it running?") from None
    try:
        yield client.get_executor()
    finally:
        client.close()
