"""serve's watcher: file-system events wake it, snapshots say what changed, and without events it looks on a timer."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from corpus_site import watch
from corpus_site.watch import Snapshot, Watcher, changed_paths, snapshot

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


def settled_look(watcher: Watcher, folder: Path) -> Snapshot:
    """look_again once the events of the changes just made have come: it agrees with a walk (or the test fails)."""
    deadline = time.monotonic() + WAIT
    while not watcher.wait():
        assert time.monotonic() < deadline, "no event came"
    while True:
        watcher.wait_for_quiet()
        seen = watcher.look_again()
        if seen == snapshot([folder]):
            return seen
        assert time.monotonic() < deadline, f"the look after events never agreed with a walk: {seen}"
        watcher.wait()


def test_a_look_after_events_looks_only_at_the_paths_they_name_and_sees_what_a_walk_sees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, elsewhere = tmp_path / "seeds", tmp_path / "elsewhere"
    (seeds / "kept").mkdir(parents=True)
    (seeds / "leaving" / "deep").mkdir(parents=True)
    for name in ("edited.md", "removed.md", "kept/a.md", "leaving/b.md", "leaving/deep/c.md"):
        (seeds / name).write_text(name, encoding="utf-8")
    (elsewhere / "arriving" / "deep").mkdir(parents=True)
    (elsewhere / "arriving" / "d.md").write_text("d", encoding="utf-8")
    (elsewhere / "arriving" / "deep" / "e.md").write_text("e", encoding="utf-8")
    (elsewhere / "arriving" / ".hidden.md").write_text("hidden", encoding="utf-8")
    walked: list[list[Path]] = []
    real_snapshot = watch.snapshot

    def spied(folders: Iterable[Path]) -> Snapshot:
        folders = list(folders)
        walked.append(folders)
        return real_snapshot(folders)

    with listening(seeds) as watcher:
        before = watcher.look()
        monkeypatch.setattr(watch, "snapshot", spied)
        (seeds / "edited.md").write_text("edited, and longer", encoding="utf-8")
        (seeds / "removed.md").unlink()
        (seeds / "new" / "deeper").mkdir(parents=True)
        (seeds / "new" / "deeper" / "f.md").write_text("f", encoding="utf-8")
        (seeds / "leaving").rename(elsewhere / "left")  # one event for the folder, none for its files
        (elsewhere / "arriving").rename(seeds / "arrived")
        (seeds / "link.md").symlink_to(seeds / "kept" / "a.md")
        (seeds / ".swap").write_text("hidden", encoding="utf-8")
        seen = settled_look(watcher, seeds)
        assert [seeds] not in walked, "the look after events walked everything"
    assert changed_paths(before, seen) == sorted(
        str(seeds / name)
        for name in (
            "edited.md", "removed.md", "new/deeper/f.md", "leaving/b.md", "leaving/deep/c.md",
            "arrived/d.md", "arrived/deep/e.md", "link.md",
        )
    )  # fmt: skip


def test_a_look_taken_before_events_came_is_followed_by_a_walk(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("old", encoding="utf-8")
    with Watcher([tmp_path]) as watcher:
        before = watcher.look()  # as serve's first look, before the first build starts the watcher
        (tmp_path / "unheard.md").write_text("written before the watches were in place", encoding="utf-8")
        watcher.start()
        deadline = time.monotonic() + WAIT
        while not watcher.events:
            assert time.monotonic() < deadline, "the watcher never started following events"
            time.sleep(0.05)
        (tmp_path / "heard.md").write_text("heard", encoding="utf-8")
        seen = settled_look(watcher, tmp_path)
    assert changed_paths(before, seen) == [str(tmp_path / "heard.md"), str(tmp_path / "unheard.md")]


def test_a_look_after_events_through_a_linked_folder_sees_what_a_walk_sees(tmp_path: Path) -> None:
    real, linked = tmp_path / "real", tmp_path / "linked"
    real.mkdir()
    linked.symlink_to(real, target_is_directory=True)
    (real / "old.md").write_text("old", encoding="utf-8")
    with listening(linked) as watcher:
        before = watcher.look()
        (real / "new.md").write_text("new", encoding="utf-8")
        (real / "old.md").unlink()
        seen = settled_look(watcher, linked)
    assert changed_paths(before, seen) == [str(linked / "new.md"), str(linked / "old.md")]
