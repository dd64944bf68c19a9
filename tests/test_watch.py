"""serve's watcher: file-system events wake it, snapshots say what changed, and without events it looks on a timer."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from corpus_site.watch import Watcher, changed_paths, snapshot

WAIT = 30  # seconds before a test gives up (a bound, not a timed assertion)


def listening(folder: Path) -> Watcher:
    watcher = Watcher([folder])
    watcher.start()
    deadline = time.monotonic() + WAIT
    while not watcher.events:
        if time.monotonic() > deadline:
            pytest.fail("the watcher never started following events")
        time.sleep(0.05)
    return watcher


def test_a_new_file_in_a_new_subfolder_wakes_the_watcher_and_the_snapshot_names_it(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("old", encoding="utf-8")
    with listening(tmp_path) as watcher:
        before = watcher.look()
        (tmp_path / "part").mkdir()
        (tmp_path / "part" / "new.md").write_text("new", encoding="utf-8")
        deadline = time.monotonic() + WAIT
        while not watcher.wait():
            assert time.monotonic() < deadline, "no event came for the new file"
        watcher.wait_for_quiet()
        assert changed_paths(before, watcher.look()) == [str(tmp_path / "part" / "new.md")]


def test_with_nothing_changing_the_wait_ends_without_an_event(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("old", encoding="utf-8")
    with listening(tmp_path) as watcher:
        assert watcher.wait() is False


def test_an_edit_and_a_removal_are_events_too(tmp_path: Path) -> None:
    seed, other = tmp_path / "seed.md", tmp_path / "other.md"
    seed.write_text("one", encoding="utf-8")
    other.write_text("two", encoding="utf-8")
    with listening(tmp_path) as watcher:
        before = watcher.look()
        seed.write_text("one, edited", encoding="utf-8")
        other.unlink()
        deadline = time.monotonic() + WAIT
        while not watcher.wait():
            assert time.monotonic() < deadline, "no event came for the edit"
        watcher.wait_for_quiet()
        assert changed_paths(before, watcher.look()) == sorted([str(seed), str(other)])


def test_without_a_folder_to_watch_it_looks_on_a_timer(tmp_path: Path) -> None:
    watcher = Watcher([tmp_path / "missing"])
    with watcher:
        watcher.start()
        assert not watcher.events
        assert watcher.wait() is False  # slept POLL_SECONDS instead
        assert watcher.look() == {}


def test_a_snapshot_sees_every_file_below_the_folders_and_no_folder(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.txt").write_text("deep", encoding="utf-8")
    (tmp_path / "top.md").write_text("top", encoding="utf-8")
    assert sorted(snapshot([tmp_path])) == [str(tmp_path / "a" / "b" / "deep.txt"), str(tmp_path / "top.md")]


def test_hidden_files_and_folders_are_not_in_the_snapshot(tmp_path: Path) -> None:
    (tmp_path / "seed.md").write_text("seed", encoding="utf-8")
    (tmp_path / ".seed.md.swp").write_bytes(b"vim")
    (tmp_path / ".#seed.md").write_text("emacs", encoding="utf-8")
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    (tmp_path / ".git" / "objects" / "ab12").write_bytes(b"commit")
    assert sorted(snapshot([tmp_path])) == [str(tmp_path / "seed.md")]


def test_changes_to_hidden_files_wake_no_one(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    with listening(tmp_path) as watcher:
        (tmp_path / ".seed.md.swp").write_bytes(b"vim")
        (tmp_path / ".git" / "index").write_bytes(b"git")
        assert watcher.wait() is False  # the wait ran out: no event came through
        (tmp_path / "seed.md").write_text("seed", encoding="utf-8")
        deadline = time.monotonic() + WAIT
        while not watcher.wait():
            assert time.monotonic() < deadline, "no event came for the seed"


def test_the_next_change_comes_once_the_writes_stop(tmp_path: Path) -> None:
    seed = tmp_path / "seed.md"
    with listening(tmp_path) as watcher:
        before = watcher.look()
        seed.write_text("first part", encoding="utf-8")
        time.sleep(0.02)  # a save in two writes, closer together than the quiet moment
        seed.write_text("first part, then the rest", encoding="utf-8")
        settled = watcher.next_change(before)
        assert changed_paths(before, settled) == [str(seed)]
        assert settled == watcher.look()  # the file as it was left, not half written


def test_on_the_timer_the_next_change_is_seen_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # importing it fails: no events, only looks
    with Watcher([tmp_path]) as watcher:
        watcher.start()
        before = watcher.look()
        (tmp_path / "new.md").write_text("new", encoding="utf-8")
        assert changed_paths(before, watcher.next_change(before)) == [str(tmp_path / "new.md")]
        assert not watcher.events
