"""Odd file names, escaping symbolic links and a broken corpus: safe distinct URLs, nothing written outside
OUT, every link resolving, byte-identical rebuilds, and a health report that names what is wrong."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from corpus_site.build import BuildResult, build
from helpers import load_json, write_files

SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SAFE_OUTPUT_PATH = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
LONG_NAME = "a" * 120 + " long name " + "b" * 100 + ".txt"  # 235 bytes: near the 255-byte limit of a file name
NFC_NAME = unicodedata.normalize("NFC", "café.txt")
NFD_NAME = unicodedata.normalize("NFD", "café.txt")
ODD_NAMES = [
    "with spaces.txt",
    NFC_NAME,
    NFD_NAME,  # another file on Linux, the same name to a reader
    "🙂 smile 👩🏽‍💻.txt",
    "😀.txt",
    LONG_NAME,
    "Report.txt",  # these three differ only in case: they collide on case-insensitive hosts
    "report.txt",
    "REPORT.md",
    "a..b.txt",
    "a--b.txt",
    "-rf.txt",
    "--help.md",
    "-.txt",
    "_.txt",
    "100%.txt",
    "%2e%2e%2fescape.txt",
    "#hash.txt",
    "what?.txt",
    "a&b.txt",
    'quote".txt',
    "it's.txt",
    "back\\slash.txt",
    "new\nline.txt",
    "tab\there.txt",
    "con.txt",  # Windows device names
    "aux.md",
    "日本語.md",
    "ß.txt",
    "SS.txt",
    "ﬁ.txt",
    "fi.txt",
    "index.txt",  # names of our own pages
    "404.txt",
    "search.txt",
    "deep/er/still deeper/file.txt",
    "-dash/x.txt",
    "docs/index.txt",
    "lang/en.txt",
    "parallel/x.txt",
    "static/style.txt",
]
NOT_UTF8_NAME = b"caf\xe9 latin-1.txt"


def _body(name: str) -> str:
    return f"A short note kept in a file called {name!r}, written in plain English so that there is enough to read.\n"


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding seeds/ with odd names and links, and outside/, a folder the links try to reach."""
    root = tmp_path_factory.mktemp("odd-names")
    seeds, outside = root / "seeds", root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("A secret outside the seeds folder that must never be published.\n")
    for name in ODD_NAMES:
        path = seeds / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_body(name), encoding="utf-8")
    (seeds / os.fsdecode(NOT_UTF8_NAME)).write_text(_body("not UTF-8"), encoding="utf-8")
    # Names that clash get a short hash of their path; a file already named like such an id must not take it twice.
    for clashing in ("Report.txt", "report.txt"):
        crafted = f"report-{hashlib.sha256(clashing.encode()).hexdigest()[:8]}.txt"
        (seeds / crafted).write_text(_body(crafted), encoding="utf-8")
    (seeds / ".hidden.txt").write_text("Hidden files are passed over.\n")
    os.symlink("../outside/secret.txt", seeds / "leak.txt")
    os.symlink(outside / "secret.txt", seeds / "absolute-leak.md")
    os.symlink("../outside", seeds / "leak-folder")
    os.symlink("loop.txt", seeds / "loop.txt")
    os.symlink("loop-b.md", seeds / "loop-a.md")
    os.symlink("loop-a.md", seeds / "loop-b.md")
    os.symlink("..", seeds / "deep" / "up")  # a folder loop
    os.symlink("missing.txt", seeds / "broken.txt")
    os.symlink("with spaces.txt", seeds / "inside-link.txt")  # stays inside SEEDS: followed
    return root


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` (links not followed) with what it is: a hash, a link target or a folder."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = str(path.relative_to(folder))
            if path.is_symlink():
                found[key] = "link " + os.readlink(path)
            elif path.is_dir():
                found[key] = "folder"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def odd_build(odd: Path) -> tuple[Path, BuildResult, dict[str, str], dict[str, str]]:
    """The odd corpus built once: (OUT, result, the folder before, the folder after)."""
    before = _snapshot(odd)
    out = odd / "out"
    result = build(odd / "seeds", out)
    return out, result, before, _snapshot(odd)


def test_every_odd_name_gets_a_distinct_safe_id(odd_build: tuple[Path, BuildResult, dict, dict]) -> None:
    out, result, _, _ = odd_build
    data = load_json(out)
    sources = {document["source"] for document in data["documents"]}
    shown = {name.replace("\n", "\\x0a").replace("\t", "\\x09") for name in ODD_NAMES}  # controls shown escaped
    crafted = {source for source in sources if re.fullmatch(r"report-[0-9a-f]{8}\.txt", source)}
    assert len(crafted) == 2
    assert shown | crafted | {"inside-link.txt", "caf\\xe9 latin-1.txt"} == sources
    ids = [document["id"] for document in data["documents"]]
    bad = [value for value in ids if not SAFE_ID.match(value)]
    assert not bad, f"unsafe ids: {bad}"
    assert len({value.casefold() for value in ids}) == len(ids), "two ids differ only in case"
    assert all(len(f"{value}.html".encode()) <= 255 for value in ids)
    for document in data["documents"]:
        assert document["url"] == f"docs/{document['id']}.html"
        assert (out / document["url"]).is_file()
    # NFC and NFD spellings of one name are two files, so two documents with two pages.
    assert len({document["id"] for document in data["documents"] if document["source"] in (NFC_NAME, NFD_NAME)}) == 2
    assert result.document_count == len(ids)


def test_every_output_path_is_plain(odd_build: tuple[Path, BuildResult, dict, dict]) -> None:
    out, _, _, _ = odd_build
    paths = [path.relative_to(out).as_posix() for path in out.rglob("*")]
    for relative in paths:
        assert SAFE_OUTPUT_PATH.match(relative), f"odd output path {relative!r}"
        assert not (out / relative).is_symlink(), f"{relative} is a symbolic link"
        assert len(Path(relative).name.encode()) <= 255
    # A case-insensitive host (macOS, Windows, some buckets) would make two of these one file.
    assert len({relative.casefold() for relative in paths}) == len(paths)


def test_links_leaving_seeds_or_looping_are_reported_not_followed(
    odd_build: tuple[Path, BuildResult, dict, dict],
) -> None:
    out, result, _, _ = odd_build
    skipped = {item["source"]: item["reason"] for item in load_json(out)["skipped"]}
    for name in ("leak.txt", "absolute-leak.md"):
        assert "leaving the seeds folder" in skipped[name]
    for name in ("loop.txt", "loop-a.md", "loop-b.md"):
        assert "loops" in skipped[name]
    assert "broken" in skipped["broken.txt"]
    warned = {problem.source: problem.message for problem in result.corpus.warnings}
    assert "not followed" in warned["leak-folder"]
    assert "not followed" in warned["deep/up"]
    secret = "A secret outside the seeds folder"
    for path in out.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"{path.relative_to(out)} holds text from outside SEEDS"
    report = BeautifulSoup((out / "report.html").read_bytes(), "html.parser")
    items = [" ".join(item.get_text(" ").split()) for item in report.select("li")]
    for name in ("leak.txt", "loop.txt", "broken.txt", "leak-folder", "deep/up"):
        reason = skipped.get(name) or warned[name]
        assert any(item.startswith(name) and reason in item for item in items), f"{name} missing from report.html"


def test_nothing_is_written_outside_out(odd_build: tuple[Path, BuildResult, dict, dict]) -> None:
    _, _, before, after = odd_build
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    # The content cache lives beside SEEDS by design (outside both SEEDS and OUT); everything else is OUT's.
    outside = sorted(path for path in changed if path.split(os.sep)[0] not in ("out", ".corpus-site-cache"))
    assert not outside, f"written outside OUT: {outside}"
    assert {path for path in changed if path.startswith("seeds")} == set()


def _local_target(page: Path, out: Path, url: str) -> tuple[Path, str] | None:
    """The file a relative link points at (and its fragment), or None for an external or page-local link."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    target = (page.parent / unquote(parts.path)).resolve()
    assert target.is_relative_to(out.resolve()), f"{page.relative_to(out)} links outside the site: {url}"
    return target, unquote(parts.fragment)


def broken_links(out: Path) -> list[str]:
    """Every href and src of every page that does not lead to a file (and fragment) in OUT."""
    problems: list[str] = []
    ids: dict[Path, set[str]] = {}

    def anchors(path: Path) -> set[str]:
        if path not in ids:
            soup = BeautifulSoup(path.read_bytes(), "html.parser")
            ids[path] = {str(tag["id"]) for tag in soup.select("[id]")}
        return ids[path]

    for page in sorted(out.rglob("*.html")):
        if "pagefind" in page.relative_to(out).parts:
            continue
        soup = BeautifulSoup(page.read_bytes(), "html.parser")
        for tag in soup.select("[href], [src]"):
            url = str(tag.get("href") or tag.get("src"))
            if tag.name == "link" and tag.get("rel") == ["canonical"]:
                continue
            if url.startswith("#"):
                target: tuple[Path, str] | None = (page.resolve(), url[1:])
            else:
                target = _local_target(page, out, url)
            if target is None:
                continue
            path, fragment = target
            where = f"{page.relative_to(out)}: {url}"
            if not path.is_file():
                problems.append(f"{where} (no such file)")
            elif fragment and path.suffix == ".html" and fragment not in anchors(path):
                problems.append(f"{where} (no element with that id)")
    return problems


def test_every_page_link_resolves(odd_build: tuple[Path, BuildResult, dict, dict]) -> None:
    out, _, _, _ = odd_build
    assert broken_links(out) == []


def test_every_link_of_the_seed_site_resolves(seed_site: Path) -> None:
    assert broken_links(seed_site) == []


def test_two_builds_of_the_odd_corpus_are_byte_identical(
    odd: Path, odd_build: tuple[Path, BuildResult, dict, dict], tmp_path: Path
) -> None:
    out, _, _, _ = odd_build
    again = tmp_path / "again"
    # The command, from the folder holding '-rf.txt' and '--help.md', without the cache: a build from scratch.
    finished = subprocess.run(
        [sys.executable, "-m", "corpus_site", "build", ".", "-o", str(again), "--no-cache", "-q"],
        cwd=odd / "seeds", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    first = {path.relative_to(out).as_posix(): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    second = {path.relative_to(again).as_posix(): path.read_bytes() for path in again.rglob("*") if path.is_file()}
    assert sorted(first) == sorted(second)
    differing = [path for path in first if first[path] != second[path]]
    assert not differing, f"files that differ between two builds: {differing[:10]}"


# ---- The health report --------------------------------------------------------------------------------------

MOJIBAKE = "O verÃ£o estÃ¡ quente, o cafÃ© Ã© bom e a praÃ§a estÃ¡ cheia de gente Ã  noite."
DUPLICATE = (
    "The harbour was quiet that morning. Fishing boats came in one by one, their nets heavy with sardines, "
    "while gulls circled above the market stalls and the old men argued about the weather and the price of fuel. "
    "By noon the tide had turned and the square smelled of grilled fish and strong coffee."
)
BROKEN_CORPUS = {
    "mojibake.txt": MOJIBAKE + "\n\n" + MOJIBAKE.replace("verÃ£o", "inverno") + "\n",
    "dates.txt": (
        "First seen: 2025-07-07 11:26\nLast seen: 2025-07-01 09:00\n\n"
        "A report about the river that flooded the lower town twice this year, written by a local teacher.\n"
    ),
    "harbour.txt": DUPLICATE + "\n",
    "harbour copy.txt": DUPLICATE.replace("quiet", "calm") + "\n",
    "short.txt": "Ok, fine.\n",
    "news/one.txt": (
        "Subscribe\n\nThe council voted to rebuild the old bridge next spring, after years of complaints from "
        "people who cross it every day on foot and by bicycle.\n\nShare this\n\nRead more\n"
    ),
    "news/two.txt": (
        "Subscribe\n\nThe library will stay open late on Thursdays from next month, the mayor announced, "
        "so that students have a quiet place to work in the evenings.\n\nShare this\n"
    ),
    "story.en.md": (
        "---\ntranslation_key: the-lighthouse\nlang: en\n---\n\n"
        "The lighthouse keeper climbed the stairs every evening at seven and lit the lamp for the ships.\n"
    ),
    "story.pt.md": (
        "---\ntranslation_key: the-lighthouse\nlang: pt\n---\n\n"
        "O faroleiro subia as escadas todas as noites às sete e acendia a lâmpada para os navios.\n"
    ),
    "binary.txt": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,  # an image with a .txt name
    "empty.md": "   \n\n",
}


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("broken")
    build(write_files(root / "seeds", BROKEN_CORPUS), root / "out")
    return root / "out"


def _report_sections(out: Path) -> dict[str, list[tuple[str, str | None]]]:
    """Report section title → [(entry text, the link's target file relative to OUT)]."""
    soup = BeautifulSoup((out / "report.html").read_bytes(), "html.parser")
    sections: dict[str, list[tuple[str, str | None]]] = {}
    for section in soup.select("main section"):
        heading = section.find(re.compile("^h[2-6]$"))
        assert heading is not None
        title = re.sub(r"\s*\(\d+\)\s*$", "", " ".join(heading.get_text(" ").split()))
        entries = []
        for item in section.select("li"):
            link = item.find("a", href=True)
            target = None
            if link is not None:
                resolved = _local_target(out / "report.html", out, str(link["href"]))
                assert resolved is not None and resolved[0].is_file(), f"report link {link['href']} leads nowhere"
                target = resolved[0].relative_to(out.resolve()).as_posix()
            entries.append((" ".join(item.get_text(" ").split()), target))
        sections[title] = entries
    return sections


def _doc_url(out: Path, source: str) -> str:
    return next(document["url"] for document in load_json(out)["documents"] if document["source"] == source)


def _entry(entries: list[tuple[str, str | None]], needle: str) -> tuple[str, str | None]:
    found = [entry for entry in entries if needle in entry[0]]
    assert found, f"no entry mentions {needle!r} in {entries}"
    return found[0]


def test_index_links_to_the_report(broken_site: Path) -> None:
    soup = BeautifulSoup((broken_site / "index.html").read_bytes(), "html.parser")
    assert soup.select_one('main a[href="report.html"]') is not None


def test_report_lists_skipped_files_with_reasons(broken_site: Path) -> None:
    entries = _report_sections(broken_site)["Skipped files"]
    reasons = {item["source"]: item["reason"] for item in load_json(broken_site)["skipped"]}
    assert set(reasons) == {"binary.txt", "empty.md"}
    for source, reason in reasons.items():
        assert reason
        text, _ = _entry(entries, source)
        assert reason in text


def test_report_flags_uncertain_language_mojibake_and_date_anomalies(broken_site: Path) -> None:
    sections = _report_sections(broken_site)
    for title, source, words in (
        ("Uncertain language", "short.txt", "too short"),
        ("Suspected mojibake", "mojibake.txt", "Ã"),
        ("Date anomalies", "dates.txt", "last seen"),
    ):
        text, target = _entry(sections[title], source)
        assert words in text
        assert target == _doc_url(broken_site, source), f"{title}: {source} does not link to its document"
    assert not any("harbour.txt" in text for text, _ in sections["Suspected mojibake"])
    assert not any("harbour.txt" in text for text, _ in sections["Date anomalies"])


def test_report_lists_near_duplicates_and_boilerplate(broken_site: Path) -> None:
    sections = _report_sections(broken_site)
    text, target = _entry(sections["Near-duplicates"], "harbour copy.txt")
    assert "harbour.txt" in text.removeprefix("harbour copy.txt")
    assert target == _doc_url(broken_site, "harbour copy.txt")
    for source in ("news/one.txt", "news/two.txt"):
        text, target = _entry(sections["Boilerplate-looking blocks"], source)
        assert "Subscribe" in text and "Share this" in text
        assert target == _doc_url(broken_site, source)
    assert not any("story" in text for text, _ in sections["Boilerplate-looking blocks"])


def test_report_lists_translation_groups_with_scores(broken_site: Path, seed_site: Path) -> None:
    text, target = _entry(_report_sections(broken_site)["Translation groups"], "story.en.md")
    assert "story.pt.md" in text and "linked in metadata" in text
    assert target is not None and target.startswith("parallel/")
    # Groups matched by content carry the matcher's score: the seed corpus has such groups.
    groups = [item for item in load_json(seed_site)["documents"] if item["group"] and not item["group"]["explicit"]]
    assert groups, "the seeds have no translation group matched by content"
    entries = _report_sections(seed_site)["Translation groups"]
    for item in groups:
        text, target = _entry(entries, item["source"])
        assert f"score {item['group']['score']:.2f}" in text
        assert target is not None and (seed_site / target).is_file()
