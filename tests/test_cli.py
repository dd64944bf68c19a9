"""The command line: defaults, the summary line, -q/-v/--strict, --version, refusals, the progress bar."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from corpus_site import __version__
from corpus_site.cli import main
from corpus_site.writer import output_lock
from helpers import EN, PT, load_json, write_files

SUMMARY = re.compile(
    r"^Built (?P<out>.+)/: (?P<documents>\d+) documents?, (?P<languages>\d+) languages? \((?P<codes>[^)]*)\), "
    r"(?P<skipped>\d+) skipped, (?P<warnings>\d+) warnings? in (?P<seconds>\d+\.\d+) s$"
)


def run(*args: str | Path, cwd: Path, **options) -> subprocess.CompletedProcess[str]:
    """`python -m corpus_site ARGS` as a user runs it: a fresh process, output to pipes (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "corpus_site", *map(str, args)], cwd=cwd, capture_output=True, text=True, **options
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with seeds/ in it, as the README sets up; the current directory during the test."""
    write_files(tmp_path / "seeds", {"en.txt": f"{EN}\n", "pt/pt.md": f"---\ntitle: Biblioteca\n---\n{PT}\n"})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_build_defaults_to_seeds_and_site_and_ends_with_a_summary(project: Path, capsys) -> None:
    assert main(["build"]) == 0
    captured = capsys.readouterr()
    assert (project / "site" / "index.html").is_file()
    documents = load_json(project / "site")["documents"]
    assert {entry["source"] for entry in documents} == {"en.txt", "pt/pt.md"}
    last = captured.out.rstrip("\n").split("\n")[-1]
    summary = SUMMARY.match(last)
    assert summary, last
    assert summary["out"] == "site" and summary["documents"] == "2" and summary["skipped"] == "0"
    assert summary["languages"] == "2" and set(summary["codes"].split(", ")) == {"en", "pt"}
    assert captured.err == ""  # nothing to warn about, and no progress bar: stderr is not a terminal


def test_build_counts_skipped_files_and_warnings_in_the_summary(project: Path, capsys) -> None:
    write_files(project / "seeds", {"empty.txt": "\n\n", "broken.md": f"---\ntitle: [unclosed\n---\n{EN}\n"})
    assert main(["build", "seeds", "-o", "out"]) == 0
    captured = capsys.readouterr()
    summary = SUMMARY.match(captured.out.rstrip("\n").split("\n")[-1])
    assert summary and summary["out"] == "out"
    assert (summary["documents"], summary["skipped"], summary["warnings"]) == ("3", "1", "1")
    assert "empty.txt" in captured.err
    assert re.search(r"broken\.md:\d+", captured.err)  # the warning names the file and line


def test_the_health_report_is_summarised_in_one_line_before_the_summary(project: Path, capsys) -> None:
    write_files(
        project / "seeds",
        {"empty.txt": "\n\n", "dates.txt": f"{EN}\n\nFirst seen: 2025-07-08 10:00\n\nLast seen: 2025-07-07 09:00\n"},
    )
    assert main(["build", "seeds", "-o", "out"]) == 0
    lines = capsys.readouterr().out.rstrip("\n").split("\n")
    health = lines[-2]
    assert health.startswith("health: ") and health.endswith("(details in out/report.html)"), health
    assert "1 skipped files" in health and "1 date anomalies" in health


def test_quiet_prints_nothing_on_success(project: Path, capsys) -> None:
    write_files(project / "seeds", {"empty.txt": "\n", "notes.pdf": b"%PDF"})
    assert main(["build", "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert (project / "site" / "index.html").is_file()


def test_verbose_lists_ignored_files(project: Path, capsys) -> None:
    write_files(project / "seeds", {"notes.pdf": b"%PDF", "data/table.csv": "a,b\n", ".hidden.txt": EN})
    assert main(["build"]) == 0
    assert "notes.pdf" not in capsys.readouterr().err
    assert main(["build", "-v"]) == 0
    captured = capsys.readouterr()
    assert "notes.pdf" in captured.err and "data/table.csv" in captured.err
    assert ".hidden" not in captured.err + captured.out  # hidden files are passed over, not listed
    assert SUMMARY.match(captured.out.rstrip("\n").split("\n")[-1])


def test_quiet_and_verbose_exclude_each_other(project: Path, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["build", "-q", "-v"])
    assert caught.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({}, 0),
        ({"empty.txt": "  \n"}, 1),
        ({"binary.txt": bytes(range(256)) * 4}, 1),
        ({"broken.md": f"---\ntitle: [unclosed\n---\n{EN}\n"}, 1),
    ],
)
def test_strict_fails_when_a_file_was_skipped_or_warned_about(
    project: Path, capsys, extra: dict[str, str | bytes], status: int
) -> None:
    write_files(project / "seeds", extra)
    assert main(["build", "--strict"]) == status
    captured = capsys.readouterr()
    if status:
        assert "--strict" in captured.err
    # The site is still built: --strict changes the exit status, not what is written.
    assert (project / "site" / "index.html").is_file()
    assert main(["build"]) == 0


def test_version() -> None:
    result = subprocess.run([sys.executable, "-m", "corpus_site", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == f"corpus-site {__version__}"


def test_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "corpus-site"
    if not script.exists():
        pytest.skip("the corpus-site console script is not installed next to this Python")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.stdout.strip() == f"corpus-site {__version__}"


def refusal_cases(tmp: Path) -> list[tuple[list[str], Path]]:
    seeds = write_files(tmp / "seeds", {"en.txt": f"{EN}\n"})
    (tmp / "a-file").write_text("mine")
    write_files(tmp / "photos", {"cat.jpg": b"\xff\xd8"})
    write_files(tmp / "outer" / "seeds", {"en.txt": f"{EN}\n"})
    return [
        (["build", str(tmp / "missing"), "-o", str(tmp / "site")], tmp / "missing"),
        (["build", str(seeds), "-o", str(tmp / "a-file")], tmp / "a-file"),
        (["build", str(seeds), "-o", str(tmp / "photos")], tmp / "photos"),
        (["build", str(seeds), "-o", str(seeds / "site")], seeds / "site"),
        (["build", str(tmp / "outer" / "seeds"), "-o", str(tmp / "outer")], tmp / "outer" / "seeds"),
    ]


def test_refusals_exit_2_with_one_sentence_on_stderr(tmp_path: Path, capsys) -> None:
    for argv, named in refusal_cases(tmp_path):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.strip().split("\n")
        assert len(lines) == 1, captured.err
        assert lines[0].startswith("corpus-site: error: ") and str(named) in lines[0]
        assert re.search(r"; (create|give|choose|name|move)\b", lines[0]), lines[0]  # says what to do
    assert (tmp_path / "a-file").read_text() == "mine"
    assert os.listdir(tmp_path / "photos") == ["cat.jpg"]
    assert not (tmp_path / "seeds" / "site").exists()


def test_refusal_from_a_fresh_process_has_no_traceback(tmp_path: Path) -> None:
    write_files(tmp_path / "photos", {"cat.jpg": b"\xff\xd8"})
    write_files(tmp_path / "seeds", {"en.txt": f"{EN}\n"})
    result = run("build", "-o", "photos", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("corpus-site: error: photos is not empty") and result.stderr.count("\n") == 1
    result = run("build", cwd=tmp_path / "photos")  # no seeds/ here
    assert result.returncode == 2 and "Traceback" not in result.stderr and "seeds" in result.stderr


def test_a_template_error_names_the_file_and_line_without_a_traceback(tmp_path: Path) -> None:
    write_files(tmp_path / "seeds", {"en.txt": f"{EN}\n"})
    write_files(
        tmp_path / "mine", {"doc.html": '{% extends "corpus-site/doc.html" %}\n\n{% block content %}{% for %}\n'}
    )
    result = run("build", "--templates", "mine", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert re.search(r"mine/doc\.html:3\b", result.stderr), result.stderr
    assert not (tmp_path / "site").exists()


def test_missing_templates_folder_is_refused(project: Path, capsys) -> None:
    assert main(["build", "--templates", "nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err


def big_corpus(folder: Path, count: int = 60) -> Path:
    return write_files(folder, {f"doc-{number:03d}.txt": f"Note {number}\n\n{EN}\n" for number in range(count)})


def test_no_progress_bar_when_output_is_not_a_terminal(tmp_path: Path) -> None:
    big_corpus(tmp_path / "seeds")
    result = run("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "\x1b" not in result.stderr and "#" not in result.stderr
    assert result.stderr == ""
    assert SUMMARY.match(result.stdout.rstrip("\n").split("\n")[-1])


def test_a_progress_bar_on_a_terminal_is_cleared_before_the_summary(tmp_path: Path) -> None:
    big_corpus(tmp_path / "seeds")
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "corpus_site", "build"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=secondary,
            text=True,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closed: the build has finished
                break
            if not chunk:
                break
            chunks.append(chunk)
        stdout, _ = process.communicate()
    finally:
        os.close(primary)
    terminal = b"".join(chunks).decode()
    assert process.returncode == 0
    assert "\r" in terminal and "60/60" in terminal  # the bar was drawn ...
    assert terminal.endswith("\r\x1b[K")  # ... and wiped before the summary
    assert SUMMARY.match(stdout.rstrip("\n").split("\n")[-1])


def test_a_build_into_a_folder_another_build_holds_waits_for_it_and_says_so(project: Path) -> None:
    with output_lock(project / "site"):  # as a `serve` or another build would hold it
        waiting = subprocess.Popen(
            [sys.executable, "-m", "corpus_site", "build"], cwd=project, stderr=subprocess.PIPE, text=True
        )
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert "another build is writing to site/" in line and "waiting" in line
        assert waiting.poll() is None
        assert not (project / "site").exists()
    _, rest = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, rest
    assert (project / "site" / "index.html").is_file()
    assert [path.name for path in project.iterdir() if path.name.startswith(".site.")] == []
