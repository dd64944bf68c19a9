"""writer.py: the output folder is checked, written in a staging folder and swapped in whole."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from corpus_site.writer import (
    MANIFEST,
    KeptFile,
    Ledger,
    OutputError,
    StagedSite,
    check_output,
    output_files,
    output_lock,
    write_site,
)

SITE_A = {"index.html": b"<p>a</p>", "docs/one.html": b"one", "docs/two.html": b"two", "static/style.css": b"body{}"}
SITE_B = {
    "index.html": b"<p>b</p>",
    "docs/one.html": b"one",
    "docs/three.html": b"three",
    "static/style.css": b"body{}",
}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (links not followed) and its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        if not path.is_symlink()
        else b"->" + os.fsencode(os.readlink(path))
        for path in sorted(folder.rglob("*"))
        if path.is_file() or path.is_symlink()
    }


def site_files(folder: Path) -> dict[str, bytes]:
    return {name: data for name, data in snapshot(folder).items() if name != MANIFEST}


def leftovers(out: Path) -> list[str]:
    """Staging or old folders a write left beside `out`."""
    return sorted(path.name for path in out.parent.iterdir() if path.name.startswith(f".{out.name}."))


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "a.txt").write_text("hello\n")
    return folder


# check_output: refusals, each one sentence naming the path and saying what to do.


def test_new_or_empty_output_folders_are_accepted(tmp_path: Path, seeds: Path) -> None:
    check_output(tmp_path / "new" / "site", seeds)
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", seeds)


def test_output_that_is_a_file_is_refused(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "site"
    out.write_text("mine")
    with pytest.raises(OutputError, match="is a file") as caught:
        check_output(out, seeds)
    assert str(out) in str(caught.value)
    assert out.read_text() == "mine"


def test_foreign_non_empty_output_folder_is_refused(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError) as caught:
        check_output(out, seeds)
    message = str(caught.value)
    assert str(out) in message and "not empty" in message and "-o" in message


@pytest.mark.parametrize("where", ["inside", "same"])
def test_output_inside_or_equal_to_seeds_is_refused(seeds: Path, where: str) -> None:
    out = seeds / "site" if where == "inside" else seeds
    with pytest.raises(OutputError, match="inside the seeds folder") as caught:
        check_output(out, seeds)
    assert str(out) in str(caught.value)


def test_seeds_inside_output_is_refused(tmp_path: Path) -> None:
    seeds = tmp_path / "site" / "seeds"
    seeds.mkdir(parents=True)
    with pytest.raises(OutputError, match="inside the output folder") as caught:
        check_output(tmp_path / "site", seeds)
    assert str(seeds) in str(caught.value)


def test_a_folder_we_wrote_is_accepted_again(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    check_output(out, seeds)


# write_site


def test_first_write_creates_the_folder_with_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "site"
    stats = write_site(out, SITE_A)
    assert site_files(out) == SITE_A
    assert json.loads((out / MANIFEST).read_text())["files"] == sorted(SITE_A)
    assert stats.written == len(SITE_A) and stats.unchanged == 0 and stats.kept_user_files == ()
    assert leftovers(out) == []


def test_rewrite_replaces_our_files_and_removes_the_ones_we_no_longer_write(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    stats = write_site(out, SITE_B)
    assert site_files(out) == SITE_B
    assert not (out / "docs" / "two.html").exists()
    assert stats.unchanged == 2  # docs/one.html and static/style.css
    assert leftovers(out) == []


def test_unchanged_files_keep_their_modification_time(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    os.utime(out / "docs" / "one.html", ns=(1_000_000_000, 1_000_000_000))
    write_site(out, SITE_B)
    assert (out / "docs" / "one.html").stat().st_mtime_ns == 1_000_000_000
    assert (out / "index.html").read_bytes() == SITE_B["index.html"]


def test_files_a_user_added_are_never_deleted(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    (out / "CNAME").write_text("corpus.example.org\n")
    (out / ".nojekyll").write_text("")
    (out / "docs" / "my-notes.txt").write_text("mine")
    (out / "extra" / "deeper").mkdir(parents=True)
    (out / "extra" / "deeper" / "data.bin").write_bytes(b"\x00\x01")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "big.dat").write_text("outside")
    (out / "linked-folder").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (out / "linked-file").symlink_to(tmp_path / "elsewhere" / "big.dat")
    user = {name: data for name, data in snapshot(out).items() if name not in SITE_A and name != MANIFEST}
    assert len(user) == 6

    stats = write_site(out, SITE_B)
    after = snapshot(out)
    for name, data in user.items():
        assert after.get(name) == data, name
    assert (out / "linked-folder").is_symlink() and (out / "linked-folder" / "big.dat").read_text() == "outside"
    assert sorted(stats.kept_user_files) == sorted(user)
    # Kept files stay the user's: the next build does not start treating them as ours.
    write_site(out, SITE_A)
    after = snapshot(out)
    assert all(after.get(name) == data for name, data in user.items())
    assert not set(json.loads((out / MANIFEST).read_text())["files"]) & set(user)
    assert (tmp_path / "elsewhere" / "big.dat").read_text() == "outside"


def test_an_output_folder_given_as_a_symlink_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real-site"
    real.mkdir()
    out = tmp_path / "site"
    out.symlink_to(real, target_is_directory=True)
    write_site(out, SITE_A)
    write_site(out, SITE_B)
    assert out.is_symlink()
    assert site_files(real) == SITE_B
    assert leftovers(out) == [] and leftovers(real) == []


@pytest.mark.parametrize("bad", ["../escape.html", "/etc/passwd", "docs/../../x", "a\\b.html", "docs//x", "./x"])
def test_paths_leaving_the_output_folder_are_refused_and_nothing_changes(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    before = snapshot(out)
    files = dict(SITE_B)
    files["zzz/" + bad if bad.startswith("docs") else bad] = b"evil"
    with pytest.raises(ValueError, match="outside the output folder"):
        write_site(out, files)
    assert snapshot(out) == before
    assert leftovers(out) == []  # the half-written staging folder is cleaned up
    assert not (tmp_path / "escape.html").exists() and not (tmp_path / "x").exists()


def test_a_stale_staging_folder_of_ours_is_cleaned_up(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    before = snapshot(out)
    # An interrupted build may leave staging at any point: half-written (with our mark), holding the old
    # site after the swap (with its manifest), or just created and still empty.
    for state in ("marked", "manifest", "empty"):
        staging = tmp_path / ".site.corpus-site-new"
        (staging / "docs").mkdir(parents=True) if state != "empty" else staging.mkdir()
        if state == "marked":
            (staging / ".corpus-site-staging").touch()
            (staging / "docs" / "half.html").write_text("half")
        elif state == "manifest":
            (staging / MANIFEST).write_text(json.dumps({"files": ["docs/old.html"]}))
            (staging / "docs" / "old.html").write_text("old")
        write_site(out, SITE_B)
        assert site_files(out) == SITE_B, state
        assert leftovers(out) == [], state
        write_site(out, SITE_A)
        assert snapshot(out) == before


def test_a_foreign_folder_where_staging_goes_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    before = snapshot(out)
    foreign = tmp_path / ".site.corpus-site-new"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("someone's")
    with pytest.raises(OutputError, match="move it away") as caught:
        write_site(out, SITE_B)
    assert str(foreign) in str(caught.value)
    assert (foreign / "keep.txt").read_text() == "someone's"
    assert snapshot(out) == before


def test_writing_twice_gives_identical_folders(tmp_path: Path) -> None:
    write_site(tmp_path / "one", SITE_B)
    write_site(tmp_path / "two", SITE_A)
    write_site(tmp_path / "two", SITE_B)
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


def test_a_write_that_fails_midway_changes_nothing_and_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    before = snapshot(out)
    files = {**SITE_B, "docs/one.html/inner.html": b"a file where a folder must be"}  # fails after docs/one.html
    with pytest.raises(OSError):
        write_site(out, files)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_a_file_the_user_put_where_we_now_write_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    (out / "404.html").write_text("my own error page")
    before = snapshot(out)
    with pytest.raises(OutputError, match="404.html was not written by corpus-site") as caught:
        write_site(out, {**SITE_B, "404.html": b"ours"})
    assert str(out / "404.html") in str(caught.value) and "move it" in str(caught.value)
    assert snapshot(out) == before
    assert leftovers(out) == []
    # Once it is moved away, the build goes ahead.
    (out / "404.html").rename(tmp_path / "404.html")
    write_site(out, {**SITE_B, "404.html": b"ours"})
    assert (out / "404.html").read_bytes() == b"ours"


def test_an_old_file_of_the_same_size_but_other_bytes_is_written_anew(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    changed = {**SITE_A, "docs/one.html": b"eno", "docs/two.html": b"a longer two"}
    stats = write_site(out, changed)
    assert site_files(out) == changed
    assert stats.written == 2 and stats.unchanged == 2
    # Our file replaced by a symlink in the old output is never followed or reused.
    (out / "docs" / "one.html").unlink()
    (out / "docs" / "one.html").symlink_to(tmp_path / "elsewhere.html")
    (tmp_path / "elsewhere.html").write_bytes(b"eno")
    stats = write_site(out, changed)
    assert site_files(out) == changed
    assert not (out / "docs" / "one.html").is_symlink()
    assert stats.written == 1 and stats.unchanged == 3


def test_a_vouched_old_file_is_linked_and_a_wrong_vouch_is_not_trusted(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    before = (out / "docs" / "one.html").stat().st_ino
    stage = StagedSite(out)
    stage.vouch("docs/one.html", hashlib.sha256(b"one").digest())
    stage.vouch("docs/two.html", hashlib.sha256(b"two").digest())  # but the build now makes other bytes
    for name, content in {**SITE_A, "docs/two.html": b"owt"}.items():
        stage.add(name, content)
    stats = stage.finish()
    assert (out / "docs" / "one.html").stat().st_ino == before
    assert (out / "docs" / "two.html").read_bytes() == b"owt"
    assert stats.written == 1 and stats.unchanged == 3


def staged_write(out: Path, files: dict[str, bytes | KeptFile], ledger: Ledger | None = None) -> Ledger:
    """Write `files` through a StagedSite given `ledger`; the ledger it leaves for the next build."""
    stage = StagedSite(out, ledger)
    for name, content in files.items():
        stage.add(name, content)
    stage.finish()
    return stage.ledger_now(output_files(out))


def test_the_ledger_is_trusted_without_reading_only_while_the_file_is_as_it_was_left(tmp_path: Path) -> None:
    out = tmp_path / "site"
    ledger = staged_write(out, dict(SITE_A))
    assert ledger["docs/one.html"][1] == hashlib.sha256(b"one").digest()
    # A ledger that lies about docs/two.html: believed while the file is untouched, which shows the file went unread.
    lying = {**ledger, "docs/two.html": (ledger["docs/two.html"][0], hashlib.sha256(b"owt").digest())}
    staged_write(out, {**SITE_A, "docs/two.html": b"owt"}, lying)
    assert (out / "docs" / "two.html").read_bytes() == b"two"

    # Once the file has been written to, even with its size and modification time put back, it is read again.
    ledger = staged_write(out, dict(SITE_A))
    page = out / "docs" / "two.html"
    before = page.stat()
    page.write_bytes(b"xyz")
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    lying = {**ledger, "docs/two.html": (ledger["docs/two.html"][0], hashlib.sha256(b"xyz").digest())}
    stage = StagedSite(out, lying)
    assert stage.known_digest("docs/two.html") is None
    assert stage.known_digest("docs/one.html") == hashlib.sha256(b"one").digest()
    stage.abandon()


def test_a_ledger_not_renewed_after_a_build_is_not_trusted_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = staged_write(out, dict(SITE_A))
    staged_write(out, dict(SITE_B), first)  # its ledger is lost, as if the build had been killed after the swap
    stage = StagedSite(out, first)
    # Kept files were linked anew (their change time moved) and changed ones are new files: nothing matches.
    assert [name for name in SITE_B if stage.known_digest(name) is not None] == []
    stage.abandon()


def test_a_kept_file_is_linked_unread_or_made_again_when_the_old_one_is_gone(tmp_path: Path) -> None:
    out = tmp_path / "site"
    staged_write(out, dict(SITE_A))
    index_inode = (out / "index.html").stat().st_ino
    made: list[str] = []

    def make_again(content: bytes) -> KeptFile:
        return KeptFile(hashlib.sha256(content).digest(), lambda: made.append("again") or content)

    stage = StagedSite(out)
    (out / "docs" / "one.html").unlink()  # gone between the build's look at it and its link
    for name, content in SITE_A.items():
        stage.add(name, make_again(content) if name in ("index.html", "docs/one.html") else content)
    stats = stage.finish()
    assert site_files(out) == SITE_A
    assert (out / "index.html").stat().st_ino == index_inode
    assert made == ["again"]
    assert stats.unchanged == 3 and stats.written == 1


def test_builds_into_one_folder_take_turns_and_leave_no_lock_file(tmp_path: Path) -> None:
    out = tmp_path / "site"
    lock_file = tmp_path / ".site.corpus-site-lock"
    turns: list[str] = []
    waited = threading.Event()

    def second_build() -> None:
        with output_lock(out, waiting=waited.set):
            # The first removed the file it had locked as it let go: this one locks a new file there, so a third
            # build cannot take the lock while it holds it.
            turns.append(f"second, lock file there: {lock_file.exists()}")

    with output_lock(out):
        turns.append("first")
        other = threading.Thread(target=second_build)
        other.start()
        assert waited.wait(timeout=30)
        assert turns == ["first"]
    other.join(timeout=30)
    assert turns == ["first", "second, lock file there: True"]
    assert not lock_file.exists()


# In place (serve): only new and changed files move in, under the caller's lock


def write_in_place(out: Path, files: dict[str, bytes], holding: object | None = None) -> StagedSite:
    stage = StagedSite(out, in_place=True)
    for relative in sorted(files):
        stage.add(relative, files[relative])
    stage.finish(holding=holding)  # type: ignore[arg-type]
    return stage


def test_in_place_new_and_changed_files_move_in_gone_ones_go_and_the_rest_stay_as_they_were(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    (out / "notes.txt").write_bytes(b"mine")
    before = {name: os.stat(out / name) for name in SITE_A}
    stage = write_in_place(out, SITE_B)
    assert stage.in_place
    assert site_files(out) == {**SITE_B, "notes.txt": b"mine"}
    assert json.loads((out / MANIFEST).read_text())["files"] == sorted(SITE_B)
    for name in ("docs/one.html", "static/style.css"):  # unchanged: left alone, not even linked anew
        after = os.stat(out / name)
        assert (after.st_ino, after.st_ctime_ns) == (before[name].st_ino, before[name].st_ctime_ns)
    assert os.stat(out / "index.html").st_ino != before["index.html"].st_ino
    assert stage.written == 2 and stage.unchanged == 2  # index.html and docs/three.html written
    assert leftovers(out) == []


def test_in_place_a_folder_left_empty_is_removed_and_the_next_swap_finds_the_site_in_order(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, {**SITE_A, "old/deep/gone.html": b"gone"})
    write_in_place(out, SITE_A)
    assert not (out / "old").exists()
    write_site(out, SITE_B)  # a whole swap after updates in place: as if there had only ever been swaps
    assert site_files(out) == SITE_B


def test_in_place_every_change_happens_while_the_lock_is_held(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    seen: list[dict[str, bytes]] = []

    class Watching:
        def __enter__(self) -> None:
            seen.append(site_files(out))

        def __exit__(self, *exception: object) -> None:
            seen.append(site_files(out))

    write_in_place(out, SITE_B, holding=Watching())
    assert seen == [SITE_A, SITE_B]


@pytest.mark.parametrize(
    ("change", "rewritten"),
    [
        ({"index.html": b"<p>edited</p>"}, False),  # the same names: the list stays as it was
        ({"docs/four.html": b"four"}, True),  # a file more
        ({"docs/two.html": None}, True),  # a file fewer
    ],
)
def test_in_place_the_list_of_our_files_is_written_only_when_its_names_change(
    tmp_path: Path, change: dict[str, bytes | None], rewritten: bool
) -> None:
    out = tmp_path / "site"
    write_site(out, SITE_A)
    os.link(out / MANIFEST, tmp_path / "held")  # held, so that a list written anew cannot take its inode
    files = {name: content for name, content in {**SITE_A, **change}.items() if content is not None}
    write_in_place(out, files)
    assert site_files(out) == files
    assert json.loads((out / MANIFEST).read_text())["files"] == sorted(files)
    assert os.path.samefile(tmp_path / "held", out / MANIFEST) is not rewritten


def test_in_place_without_a_site_of_ours_there_is_a_whole_swap(tmp_path: Path) -> None:
    out = tmp_path / "site"
    stage = write_in_place(out, SITE_A)
    assert not stage.in_place
    assert site_files(out) == SITE_A


def test_the_ledger_of_a_build_in_place_is_trusted_by_the_next_build_as_one_made_by_looking_at_every_file(
    tmp_path: Path,
) -> None:
    out = tmp_path / "site"
    files = {**SITE_A, "docs/four.html": b"four", "index/a.js": b"a", "index/b.js": b"b"}
    ledger = staged_write(out, files)
    (out / "index" / "b.js").write_bytes(b"B")  # edited since the last build, and kept unlooked at
    (out / "docs" / "four.html").write_bytes(b"FOUR")  # edited since: read and compared, then made again
    stage = StagedSite(out, ledger, in_place=True)
    stage.add("index.html", b"<p>b</p>")  # changed: moved in
    stage.add("docs/one.html", KeptFile(ledger["docs/one.html"][1], lambda: b"one"))  # kept by its hash
    stage.add("docs/two.html", b"two")  # the same bytes, the hash known from the ledger
    stage.add("docs/four.html", b"four")
    stage.add("docs/three.html", b"three")  # new
    stage.keep_old(lambda name: name.startswith("index/"))
    stage.finish()
    assert stage.in_place and sorted(stage.placed) == ["docs/four.html", "docs/three.html", "index.html"]
    without_looking, looking = stage.ledger_in_place(), stage.ledger_now(output_files(out))
    assert {path: without_looking[path] for path in stage.digests} == {path: looking[path] for path in stage.digests}
    # An edited file's last entry stays, a true pair of then; the next build, which compares, trusts it no more.
    assert without_looking["index/b.js"] == ledger["index/b.js"] and "index/b.js" not in looking
    trusted = [StagedSite(out, found) for found in (without_looking, looking)]
    paths = sorted(site_files(out))
    assert [trusted[0].known_digest(path) for path in paths] == [trusted[1].known_digest(path) for path in paths]
    assert trusted[0].known_digest("index/a.js") == hashlib.sha256(b"a").digest()
    assert trusted[0].known_digest("docs/four.html") == hashlib.sha256(b"four").digest()
    for next_build in trusted:
        next_build.abandon()
    assert leftovers(out) == []


@pytest.mark.parametrize("in_place", [True, False])
def test_old_files_kept_as_they_are_stay_and_the_ledger_vouches_only_for_the_unchanged(
    tmp_path: Path, in_place: bool
) -> None:
    out = tmp_path / "site"
    ledger = staged_write(out, {**SITE_A, "index/a.js": b"a", "index/b.js": b"b"})
    (out / "index" / "b.js").write_bytes(b"B")  # edited since the last build
    kept = os.stat(out / "index" / "a.js")
    stage = StagedSite(out, ledger, in_place=in_place)
    for name in sorted(SITE_B):
        stage.add(name, SITE_B[name])
    stage.keep_old(lambda name: name.startswith("index/"))
    stage.finish()
    assert site_files(out) == {**SITE_B, "index/a.js": b"a", "index/b.js": b"B"}
    assert json.loads((out / MANIFEST).read_text())["files"] == sorted([*SITE_B, "index/a.js", "index/b.js"])
    assert os.stat(out / "index" / "a.js").st_ino == kept.st_ino
    assert (os.stat(out / "index" / "a.js").st_ctime_ns == kept.st_ctime_ns) is in_place  # in place: not relinked
    now = stage.ledger_now(output_files(out))
    assert now["index/a.js"][1] == hashlib.sha256(b"a").digest()
    # In place the edited file was not read, so the ledger leaves it out; a swap read it and knows its bytes.
    assert now.get("index/b.js", (None, None))[1] == (None if in_place else hashlib.sha256(b"B").digest())
    following = StagedSite(out, now)
    assert following.known_digest("index/a.js") == hashlib.sha256(b"a").digest()
    following.abandon()
    assert leftovers(out) == []
