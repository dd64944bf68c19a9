"""Property-based attacks on the loader: whatever the folder holds, loading never raises, never hangs,
and every seed-type file is accounted for as exactly one document or one skipped entry.

A longer campaign: FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py -q
"""

import os
import re
import shutil
import tempfile
import unicodedata
from collections import Counter
from html import unescape
from pathlib import Path

import yaml
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_site.decode import Decoded, UndecodableError, decode
from corpus_site.langtag import _NOISE, _NOISE_HINT
from corpus_site.loader import load_corpus
from corpus_site.markup import is_safe_link, linkify, markdown_blocks, text_blocks

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXAMPLES or 150,
    deadline=None,  # no timed assertions: a hang shows as a test that never ends
    database=None,
    # The everyday run (CI) tries the same examples every time; a campaign (FUZZ_EXAMPLES=N) explores anew.
    derandomize=not EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
QUICK = settings(FUZZ, max_examples=EXAMPLES or 400)
SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SEED_SUFFIXES = (".txt", ".md", ".markdown")
ELEMENTS = {"main", "p", "br", "a", "em", "strong", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
            "blockquote", "hr", "table", "thead", "tbody", "tr", "th", "td", "s", "span"}  # fmt: skip
ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "cp1252",
    "latin-1",
    "cp1251",
    "gb18030",
    "shift_jis",
]
WORDS = [
    "ação",
    "coração",
    "você",
    "não",
    "está",
    "história",
    "família",
    "também",
    "já",
    "até",
    "São",
    "Paulo",
    "café",
    "crème",
    "déjà",
    "où",
    "été",
    "garçon",
    "leçon",
    "naïve",
    "élève",
    "façade",
    "señor",
    "mañana",
    "niño",
    "año",
    "the",
    "and",
    "of",
    "fishermen",
    "porto",
    "mar",
    "vento",
]

name_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00")
file_names = st.builds(
    lambda stem, suffix: stem + suffix,
    st.text(name_chars, min_size=1, max_size=30),
    st.sampled_from([".txt", ".md", ".markdown", ".TXT", ".Md", ".MARKDOWN", ".yaml", ".png", ".html", ""]),
).filter(lambda name: name not in (".", "..") and len(name.encode()) <= 200)
folders = st.sampled_from(["", "", "sub/", "sub/deeper/", "Sub/", ".hidden/", "a b/", "ü/"])

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.dates(),
    st.datetimes(),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["title", "date", "lang", "language", "author", "tags", "source_url", "Source URL", "translation_key",
          "translation_of", "first_seen", "updated"]  # fmt: skip
field_names = st.sampled_from(FIELDS) | st.text(max_size=10)
front_matters = st.dictionaries(field_names, yaml_values, max_size=6)


def encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "replace")


bodies = st.text(max_size=400)
contents = st.one_of(
    st.binary(max_size=1500),
    st.builds(encoded, bodies, st.sampled_from(ENCODINGS)),
    st.builds(
        lambda front, body: ("---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body).encode(),
        front_matters,
        bodies,
    ),
    st.builds(lambda front, body: f"---\n{front}\n---\n{body}".encode(), st.text(max_size=200), bodies),
    st.builds(
        lambda words: " ".join(words).encode("cp1252"), st.lists(st.sampled_from(WORDS), min_size=1, max_size=30)
    ),
    st.sampled_from(
        [b"", b" \n", b"\x00", b"\x89PNG\r\n\x1a\n\x00\x00", b"---\n", b"---\n---\n", b"\xef\xbb\xbf", b"\xff\xfe"]
    ),
)
corpora = st.lists(st.tuples(folders, file_names, contents), max_size=8)
# Symbolic links: (folder, name, target) where the target is another entry, SEEDS, outside SEEDS, missing or itself.
links = st.lists(
    st.tuples(folders, file_names, st.sampled_from(["first", "root", "outside", "outside-dir", "missing", "self"])),
    max_size=3,
)


def is_seed(relative: str) -> bool:
    parts = relative.split("/")
    return not any(part.startswith(".") for part in parts) and os.path.splitext(parts[-1])[1].lower() in SEED_SUFFIXES


def shown(relative: str) -> str:
    """A path as the loader shows it: control characters escaped."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda match: f"\\x{ord(match.group()):02x}", relative)


def check_html(html: str) -> None:
    page = BeautifulSoup(f"<main>{html}</main>", "html.parser")
    for element in page.find_all(True):
        assert element.name in ELEMENTS, element
        assert not [name for name in element.attrs if name.lower().startswith("on")], element
        if element.name == "a":
            assert is_safe_link(element["href"]), element
        if element.name == "span":  # a line of a paragraph in another language: its lang and dir, nothing else
            assert set(element.attrs) <= {"lang", "dir"} and element.get("lang"), element


@FUZZ
@given(corpora, links)
def test_any_folder_loads_and_every_seed_is_accounted_for(files, symlinks):
    top = Path(tempfile.mkdtemp(prefix="corpus-site-fuzz-"))
    folder = top / "seeds"
    outside = top / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text("outside")
    try:
        written: dict[str, bytes | None] = {}
        for subfolder, name, content in files:
            relative = subfolder + name
            if relative.lower() in {key.lower() for key in written}:
                continue  # keep the test portable to case-insensitive file systems
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written[relative] = content
        folder.mkdir(exist_ok=True)
        for subfolder, name, kind in symlinks:
            relative = subfolder + name
            if relative.lower() in {key.lower() for key in written}:
                continue
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            targets = {"root": folder, "outside": outside / "secret.txt", "outside-dir": outside / "dir",
                       "missing": folder / "missing", "self": path}  # fmt: skip
            first = next(iter(written), None)
            path.symlink_to(folder / first if kind == "first" and first else targets.get(kind, path))
            written[relative] = None
        corpus = load_corpus(folder)
        expected = sorted(shown(relative) for relative in written if is_seed(relative))
        accounted = Counter(
            [document.source for document in corpus.documents] + [item.source for item in corpus.skipped]
        )
        assert sorted(accounted) == expected
        assert set(accounted.values()) <= {1}
        assert not [item for item in corpus.skipped if "internal error" in item.reason]
        assert not [item for item in corpus.skipped if re.search(r"[\x00-\x1f\x7f-\x9f]", item.source)]
        ids = [document.id for document in corpus.documents]
        assert len(set(ids)) == len(ids)
        for document in corpus.documents:
            assert SAFE_ID.match(document.id) and len(document.id) <= 100, document.id
            assert document.title.strip()
            assert not re.search(r"[\x00-\x1f\x7f-\x9f]", document.title + document.source)
            assert "\r" not in document.text and unicodedata.is_normalized("NFC", document.text)
            assert document.blocks
            for block in document.blocks:
                check_html(block.html)
    finally:
        shutil.rmtree(top)


@QUICK
@given(st.binary(max_size=3000))
def test_decode_returns_clean_text_or_a_reason(data):
    try:
        result = decode(data)
    except UndecodableError as error:
        assert str(error)
        return
    assert isinstance(result, Decoded)
    assert result.text.strip()
    assert "\r" not in result.text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]", result.text)
    assert unicodedata.is_normalized("NFC", result.text)


plain_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co", "Zl", "Zp")) | st.just("\n"), max_size=300
)


@QUICK
@given(plain_text, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]))
def test_unicode_text_comes_back_as_written(text, encoding):
    data = text.encode(encoding)
    if not text.strip():
        return
    assert decode(data).text == unicodedata.normalize("NFC", text)


@QUICK
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=40), st.sampled_from([" ", ", ", ". ", "\n", "\n\n"]))
def test_western_words_in_cp1252_keep_their_accents(words, separator):
    text = separator.join(words)
    result = decode(text.encode("cp1252"))
    assert result.text == text
    assert result.encoding == ("utf-8" if text.isascii() else "cp1252")


# Text as decode() leaves it: no carriage returns (an HTML parser turns them into newlines) or other controls.
decoded_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t"), max_size=300)


@QUICK
@given(decoded_text)
def test_linkify_only_adds_safe_links_and_keeps_the_text(text):
    html = linkify(text)
    check_html(html)
    # Every "<" in the text is escaped, so stripping the tags leaves exactly the escaped text.
    assert unescape(re.sub(r"<[^>]*>", "", html)) == text


@QUICK
@given(st.text(st.sampled_from(list("[]()<>!*_`&#;:/\\\"' \nabcjvsrpt=1%")) | st.characters(), max_size=300))
def test_markdown_and_text_blocks_are_inert(text):
    for block in markdown_blocks(text) + text_blocks(text):
        check_html(block.html)


PIECES = st.sampled_from([*"ab.-_@#:/wxZé9 \n", "www.", "http://", ".com", "é.fr", "x.y", "Ü."])


@QUICK
@given(st.lists(PIECES, max_size=30).map("".join))
def test_langtag_skips_its_noise_pattern_only_where_it_cannot_match(text: str) -> None:
    # langtag runs _NOISE only on text _NOISE_HINT finds something in: every match must hold a hint.
    assert _NOISE.search(text) is None or _NOISE_HINT.search(text) is not None
