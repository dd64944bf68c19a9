"""Every page we write passes the Nu Html Checker (vnu-jar from npm, run with the machine's java)."""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from corpus_site.build import build
from helpers import ROOT, load_json, write_files

VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
INSTALL_HINT = "run `make test` (installs vnu-jar and java)"

# A corpus that tries to break the markup: markup in plain text, quotes and ampersands in a title, raw HTML and
# script links in Markdown, right-to-left text, Japanese, awkward names, a nested folder and a file we skip.
HOSTILE: dict[str, str | bytes] = {
    "hostile.txt": (
        "A \"quoted\" title & <b>ampersands</b> 'here'\n\n"
        "<script>alert(1)</script>\n\n"
        "Plain text with <tags>, an &amp; entity, a bare link https://example.com/?a=1&b=<2> and a mail@example.com.\n"
    ),
    "arabic.md": (
        "---\n"
        'title: "مقال عن \\"الاقتباس\\" & الرموز <b>"\n'
        "lang: ar\n"
        "date: 2024-02-29\n"
        'author: "O\'Brien & <Partners>"\n'
        'tags: [نص, "<script>"]\n'
        "source_url: javascript:alert(1)\n"
        "---\n\n"
        "# عنوان القسم\n\n"
        "يركض الكلب في الحديقة كل صباح مع صاحبه، ثم يعودان إلى البيت لتناول الفطور معاً.\n\n"
        '<div onclick="alert(1)">raw <em>HTML</em></div>\n\n'
        "<img src=x onerror=alert(1)>\n\n"
        "[اضغط هنا](javascript:alert(1)) و [رابط آمن](https://example.org/ \"a 'title' & more\") "
        "و <javascript:alert(2)>\n\n"
        "- عنصر أول\n- عنصر ثانٍ مع `<code>` مضمّن\n\n"
        "> اقتباس طويل بما يكفي ليتعرف عليه كاشف اللغة بثقة كاملة.\n\n"
        "```html\n<script>alert(3)</script>\n```\n"
    ),
    "日本/ノート 1.md": (
        "---\ntitle: 公園の犬\n---\n\n"
        "犬は毎朝飼い主と一緒に公園を走ります。それから家に帰って朝ご飯を食べます。\n\n"
        "## 見出し\n\n"
        "| 列 | 値 |\n|---|---|\n| ア | 1 |\n\n"
        "**太字**と*斜体*、そして[リンク](../other.md)。\n"
    ),
    "Café notes.md": '# Café & "bar"\n\nCourte note en français avec des <balises> et un lien [vers](http://exemple.fr).\n',
    "broken.md": "---\ntitle: [unclosed\n---\n\nThe front matter above is broken, but this text still loads.\n",
    "binary.txt": b"\x00\x01\x02\xff\xfe\x00binary",
    "empty.txt": "   \n\n",
}


def vnu_command() -> list[str]:
    java = shutil.which("java")
    if java is None:
        pytest.fail(f"java is not installed; {INSTALL_HINT}")
    if not VNU_JAR.is_file():
        pytest.fail(f"{VNU_JAR.relative_to(ROOT)} is missing; {INSTALL_HINT}")
    return [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json"]


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = write_files(tmp_path_factory.mktemp("hostile-seeds"), HOSTILE)
    out = tmp_path_factory.mktemp("hostile-site") / "site"
    build(seeds, out)
    return out


@pytest.fixture(scope="module")
def vnu_messages(seed_site: Path, hostile_site: Path) -> dict[Path, list[dict[str, Any]]]:
    """Every error the checker reports, by file; one java process for both sites (the JVM start is the cost)."""
    pages = sorted(seed_site.rglob("*.html")) + sorted(hostile_site.rglob("*.html"))
    run = subprocess.run([*vnu_command(), *map(str, pages)], capture_output=True, text=True, check=False)
    try:
        report = json.loads(run.stderr)  # vnu writes its JSON report to stderr
    except json.JSONDecodeError:
        pytest.fail(f"vnu exited {run.returncode} without a JSON report:\n{run.stderr}\n{run.stdout}")
    by_file: dict[Path, list[dict[str, Any]]] = {page: [] for page in pages}
    for message in report["messages"]:
        by_file.setdefault(Path(unquote(urlsplit(message.get("url", "")).path)), []).append(message)
    return by_file


def errors_in(site: Path, messages: dict[Path, list[dict[str, Any]]]) -> list[str]:
    lines = []
    for path, found in messages.items():
        if path.is_relative_to(site) or path == Path():
            for message in found:
                where = f"{path.relative_to(site) if path != Path() else '?'}:{message.get('lastLine', '?')}"
                extract = message.get("extract", "").strip().replace("\n", " ")[:120]
                lines.append(f"{where}: {message.get('type')}: {message.get('message')}  [{extract}]")
    return lines


def test_seed_site_pages_pass_the_nu_html_checker(
    seed_site: Path, vnu_messages: dict[Path, list[dict[str, Any]]]
) -> None:
    checked = [path for path in vnu_messages if path.is_relative_to(seed_site)]
    assert {"index.html", "docs", "lang"} <= {path.relative_to(seed_site).parts[0] for path in checked}
    errors = errors_in(seed_site, vnu_messages)
    assert not errors, "Nu Html Checker errors:\n" + "\n".join(errors)


def test_hostile_corpus_pages_pass_the_nu_html_checker(
    hostile_site: Path, vnu_messages: dict[Path, list[dict[str, Any]]]
) -> None:
    corpus = load_json(hostile_site)
    # Which odd files load or are skipped is the loader tests' business; here every text file must have a page.
    texts = {name for name, content in HOSTILE.items() if isinstance(content, str) and content.strip()}
    assert {unicodedata.normalize("NFC", document["source"]) for document in corpus["documents"]} >= {
        unicodedata.normalize("NFC", name) for name in texts
    }
    assert {document["lang"] for document in corpus["documents"]} >= {"ar", "ja"}
    checked = {path.relative_to(hostile_site).as_posix() for path in vnu_messages if path.is_relative_to(hostile_site)}
    assert {document["url"] for document in corpus["documents"]} <= checked
    errors = errors_in(hostile_site, vnu_messages)
    assert not errors, "Nu Html Checker errors:\n" + "\n".join(errors)
