"""Plain helpers the tests share: where the seeds are, sample sentences, writing small corpora, reading a built site."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

# Sentences long enough for langdetect to tag each one with its language.
EN = "The library opens at nine in the morning and closes late on Fridays, when the reading room is busiest."
PT = "A biblioteca abre às nove da manhã e fecha tarde às sextas-feiras, quando a sala de leitura está cheia."
FR = "La bibliothèque ouvre à neuf heures du matin et ferme tard le vendredi, quand la salle de lecture est pleine."
HE = "הכלב רץ בפארק כל בוקר עם הבעלים שלו והוא מאוד שמח לשחק עם הילדים הקטנים בערב."


def write_files(folder: Path, files: Mapping[str, str | bytes]) -> Path:
    """Writes each file under `folder` (text as UTF-8, bytes as given), making folders as needed; returns `folder`."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def parse(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def load_json(out: Path) -> dict[str, Any]:
    """The corpus.json of the site built in `out`."""
    data: dict[str, Any] = json.loads((out / "corpus.json").read_text(encoding="utf-8"))
    return data


def link_target(out: Path, page: Path, href: str) -> Path | None:
    """The file a relative link on `page` (a file under `out`) opens, or None for a link to the same page."""
    parts = urlsplit(href)
    assert not parts.scheme and not parts.netloc and not parts.path.startswith("/"), f"{href} on {page} is not relative"
    if not parts.path:
        return None
    resolved: list[str] = []
    for part in (PurePosixPath(page.parent.relative_to(out).as_posix()) / unquote(parts.path)).parts:
        if part == "..":
            assert resolved, f"{href} on {page} leaves the site"
            resolved.pop()
        elif part != ".":
            resolved.append(part)
    return out.joinpath(*resolved)


OFFLINE_HEAD = b"window.CORPUS_SEARCH = "


def offline_part_prefix(path: str) -> bytes:
    """What an offline index part at `path` starts with: its registration under its path."""
    return f"(window.CORPUS_SEARCH_PARTS = window.CORPUS_SEARCH_PARTS || {{}})[{json.dumps(path)}] = ".encode()


def script_value(content: bytes, prefix: bytes) -> Any:
    """The JSON a plain script assigns after `prefix`."""
    assert content.startswith(prefix) and content.endswith(b";\n")
    return json.loads(content[len(prefix) : -2])


def offline_data(files: Mapping[str, bytes]) -> dict[str, Any]:
    """The offline index as the search page joins it: search-data.js, then its parts' documents and blocks, the
    blocks numbered across the corpus."""
    head = script_value(files["search-data.js"], OFFLINE_HEAD)
    docs: list[dict[str, Any]] = []
    blocks: list[list[Any]] = []
    for path in head["parts"]:
        part = script_value(files[path], offline_part_prefix(path))
        blocks += [[len(docs) + number, lang, text] for number, lang, text in part["blocks"]]
        docs += part["docs"]
    return {**head, "docs": docs, "blocks": blocks}


def offline_files_in(out: Path) -> dict[str, bytes]:
    """search-data.js and its parts in the site in `out`."""
    paths = [out / "search-data.js", *sorted((out / "search-data").glob("*.js"))]
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in paths}


def offline_index(out: Path) -> dict[str, Any]:
    return offline_data(offline_files_in(out))
