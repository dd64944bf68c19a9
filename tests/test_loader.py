import codecs
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from corpus_site import loader
from corpus_site.loader import MAX_BYTES, count_words, discover, load_corpus
from corpus_site.markup import MARKDOWN_BUDGET, is_safe_link, text_blocks
from helpers import SEEDS

SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PT = "Histórias de pescadores contam que a atenção é necessária quando o mar está bravo e o vento sopra forte."


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def documents(corpus):
    return {document.source: document for document in corpus.documents}


def skipped(corpus):
    return {item.source: item.reason for item in corpus.skipped}


def warnings_for(corpus, source):
    return [problem for problem in corpus.warnings if problem.source == source]


def assert_accounted(corpus, sources):
    """Every seed-type file is exactly one document or one skipped entry."""
    found = sorted([document.source for document in corpus.documents] + [item.source for item in corpus.skipped])
    assert found == sorted(sources)


# --- discovery --------------------------------------------------------------------------------------------------


def test_seed_types_in_any_case_recursively_in_a_stable_order(tmp_path):
    names = ["z.txt", "B.TXT", "c.Md", "d.markdown", "sub/e.txt", "sub/deeper/f.MARKDOWN", "a b.MD"]
    others = ["notes.rst", "image.png", "sub/data.json", "README", "x.txt.bak"]
    for name in reversed(names + others):
        write(tmp_path, name, f"Some text in {name}.")
    found, ignored, problems = discover(tmp_path)
    assert [seed.source for seed in found] == sorted(names)
    assert {seed.source: seed.format for seed in found}["c.Md"] == "markdown"
    assert {seed.source: seed.format for seed in found}["B.TXT"] == "text"
    assert ignored == sorted(others)
    assert problems == []
    assert [seed.source for seed in discover(tmp_path)[0]] == sorted(names)


def test_a_discovery_taken_again_in_the_same_process_follows_every_change_to_the_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "_FOLDER_SETTLED_NS", 50_000_000)  # settled after 50 ms, not 2 s, to keep this quick
    scanned: list[str] = []
    scandir = os.scandir
    monkeypatch.setattr(loader.os, "scandir", lambda folder: scanned.append(os.fspath(folder)) or scandir(folder))
    seeds = tmp_path / "seeds"
    for name in ["a.txt", "sub/b.md", "sub/b.yaml", "notes.csv"]:
        write(seeds, name, PT)

    def discovered(settle: bool = True) -> tuple[tuple[object, ...], list[str]]:
        """discover's answer and the folders it read, the answer checked against one made afresh (without the
        last one in memory)."""
        if settle:
            time.sleep(0.1)
        scanned.clear()
        answer, read = discover(seeds), list(scanned)
        loader._LAST_DISCOVERY.clear()
        assert answer == discover(seeds)
        return answer, read

    first, _ = discovered()
    assert [seed.source for seed in first[0]] == ["a.txt", "sub/b.md"] and first[1] == ["notes.csv"]
    assert discovered() == (first, [])  # taken again, no folder read: every folder as it was
    changes = [  # each change, and the folders read again for it: only those it changed
        (lambda: write(seeds, "sub/c.txt", PT), ["sub"]),  # a new seed
        (lambda: (seeds / "a.txt").unlink(), ["."]),  # one gone
        (lambda: (seeds / "sub" / "b.md").rename(seeds / "sub" / "d.md"), ["sub"]),  # its sidecar is left alone
        (lambda: write(seeds, "sub/deeper/e.md", PT), ["sub", "sub/deeper"]),  # in a new folder
        (lambda: write(seeds, "sub/deeper/f.md", PT), ["sub/deeper"]),  # in that folder, straight after (unsettled)
        # Nothing to discover, though a folder changed; sub/deeper had not settled when it was last read.
        (lambda: write(seeds, ".hidden/g.md", PT), [".", "sub/deeper"]),
    ]
    for number, (change, changed) in enumerate(changes):
        before = discover(seeds)
        change()
        after, read = discovered(settle=number != 4)
        assert [os.path.relpath(folder, seeds) for folder in read] == changed
        assert after != before or number == 5
    assert [seed.source for seed in after[0]] == ["sub/c.txt", "sub/d.md", "sub/deeper/e.md", "sub/deeper/f.md"]
    assert after[1] == ["notes.csv", "sub/b.yaml"]
    assert discovered() == (after, [])
    (seeds / "link.md").symlink_to(seeds / "sub" / "c.txt")  # a link's target can change unseen: never taken again
    linked, _ = discovered()
    again, read = discovered()
    assert again == linked and read


def test_hidden_files_and_folders_are_passed_over(tmp_path):
    for name in [".hidden.txt", ".git/config.txt", "sub/.cache/x.md", ".DS_Store", "sub/.x.yaml"]:
        write(tmp_path, name, "hidden")
    write(tmp_path, "sub/visible.txt", "Visible text.")
    corpus = load_corpus(tmp_path)
    assert list(documents(corpus)) == ["sub/visible.txt"]
    assert corpus.ignored == ()
    assert corpus.skipped == ()


def test_sidecar_metadata_is_read_and_the_files_own_front_matter_wins(tmp_path):
    write(tmp_path, "a.txt", PT)
    write(tmp_path, "a.yaml", "title: From the sidecar\nauthor: Ana\ntags: [mar, vento]\nlang: pt\n")
    write(tmp_path, "b.md", "---\ntitle: From front matter\n---\nBody of b.\n")
    write(tmp_path, "b.yml", "title: Sidecar loses\nauthor: Bruno\n")
    write(tmp_path, "notes/c.txt", "Body of c.")
    write(tmp_path, "notes/c.txt.yaml", "source_url: https://example.org/c\n")
    write(tmp_path, "orphan.yaml", "title: nobody reads me\n")
    corpus = load_corpus(tmp_path)
    docs = documents(corpus)
    assert docs["a.txt"].title == "From the sidecar"
    assert docs["a.txt"].metadata.author == "Ana"
    assert docs["a.txt"].metadata.tags == ("mar", "vento")
    assert docs["a.txt"].primary_lang == "pt"
    assert docs["b.md"].title == "From front matter"
    assert docs["b.md"].metadata.author == "Bruno"
    assert docs["notes/c.txt"].metadata.source_url == "https://example.org/c"
    assert corpus.ignored == ("orphan.yaml",)
    assert corpus.warnings == ()


def test_a_broken_sidecar_is_a_warning_naming_it_and_its_line(tmp_path):
    write(tmp_path, "sub/a.txt", "Body text.")
    write(tmp_path, "sub/a.yaml", "title: ok\nauthor: Ana: Silva\n")
    corpus = load_corpus(tmp_path)
    assert documents(corpus)["sub/a.txt"].title == "Body text"
    (problem,) = corpus.warnings
    assert (problem.source, problem.line) == ("sub/a.yaml", 2)
    assert corpus.ignored == ()


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    write(folder, "secret.txt", "SECRET outside the seeds folder")
    return folder


def test_symbolic_links_leaving_seeds_or_looping_are_reported_not_followed(tmp_path, outside):
    seeds = tmp_path / "seeds"
    write(seeds, "real.txt", "Real text inside.")
    links = {
        "out.txt": outside / "secret.txt",
        "loop1.txt": seeds / "loop2.txt",
        "loop2.txt": seeds / "loop1.txt",
        "self.md": seeds / "self.md",
        "broken.txt": seeds / "missing.txt",
        "inside.txt": seeds / "real.txt",
        "outdir": outside,
        "loopdir": seeds,
        "other.png": outside / "secret.txt",
    }
    for name, target in links.items():
        (seeds / name).symlink_to(target)
    write(seeds, "real.yaml", "title: fine\n")
    (seeds / "evil.yaml").symlink_to(outside / "secret.txt")
    write(seeds, "evil.txt", "Evil has a sidecar that leaves the seeds folder.")
    corpus = load_corpus(seeds)
    assert set(documents(corpus)) == {"real.txt", "inside.txt", "evil.txt"}
    reasons = skipped(corpus)
    assert "leaving the seeds folder" in reasons["out.txt"]
    assert "loops" in reasons["loop1.txt"] and "loops" in reasons["loop2.txt"] and "loops" in reasons["self.md"]
    assert "broken" in reasons["broken.txt"]
    warned = {problem.source: problem.message for problem in corpus.warnings}
    assert "not followed" in warned["outdir"]
    assert "not followed" in warned["loopdir"]
    assert "leaving the seeds folder" in warned["other.png"]
    assert "leaving the seeds folder" in warned["evil.yaml"]
    assert documents(corpus)["evil.txt"].metadata.as_dict() == {}
    everything = json.dumps([document.text for document in corpus.documents])
    assert "SECRET" not in everything
    assert_accounted(
        corpus, ["real.txt", "inside.txt", "evil.txt", "out.txt", "loop1.txt", "loop2.txt", "self.md", "broken.txt"]
    )


def test_a_named_pipe_is_skipped_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    corpus = load_corpus(tmp_path)
    assert "not a regular file" in skipped(corpus)["pipe.txt"]


def test_a_missing_seeds_folder_gives_an_empty_corpus(tmp_path):
    corpus = load_corpus(tmp_path / "nothing")
    assert corpus.documents == corpus.skipped == corpus.warnings == corpus.ignored == ()


# --- decoding through the loader --------------------------------------------------------------------------------


def test_encodings_are_decoded_and_reported(tmp_path):
    fr = "L’été dernier, nous sommes allés à la plage ; déjà vu, où est la gare ? Ça va très bien."
    write(tmp_path, "cp1252.txt", PT.encode("cp1252"))
    write(tmp_path, "latin1.txt", fr.replace("’", "'").encode("latin-1"))
    write(tmp_path, "bom.txt", codecs.BOM_UTF8 + PT.encode())
    write(tmp_path, "utf16.txt", codecs.BOM_UTF16_LE + fr.encode("utf-16-le"))
    write(tmp_path, "utf16be.md", codecs.BOM_UTF16_BE + f"---\ntitle: Été\n---\n{fr}\n".encode("utf-16-be"))
    docs = documents(load_corpus(tmp_path))
    assert docs["cp1252.txt"].text == PT and docs["cp1252.txt"].encoding == "cp1252"
    assert docs["latin1.txt"].text == fr.replace("’", "'")
    assert docs["bom.txt"].text == PT and docs["bom.txt"].encoding == "utf-8"
    assert docs["utf16.txt"].text == fr and docs["utf16.txt"].encoding == "utf-16-le"
    assert docs["utf16be.md"].title == "Été"
    assert docs["cp1252.txt"].sha256 == hashlib.sha256(PT.encode("cp1252")).hexdigest()
    assert {document.primary_lang for name, document in docs.items() if name != "utf16be.md"} >= {"pt", "fr"}


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_files_that_are_not_text_are_skipped_with_their_reason(tmp_path):
    write(tmp_path, "image.txt", PNG)
    write(tmp_path, "random.md", os.urandom(0) + bytes(range(256)) * 16)
    write(tmp_path, "empty.txt", b"")
    write(tmp_path, "blank.md", b" \n\r\n\t  \n")
    write(tmp_path, "controls.txt", b"\x01\x02\x03\x04\x05\x1b\x7f")
    write(tmp_path, "only-front-matter.md", "---\ntitle: Nothing else\n---\n\n")
    write(tmp_path, "only-definitions.md", "[a]: https://example.org\n")
    reasons = skipped(load_corpus(tmp_path))
    assert "PNG image" in reasons["image.txt"]
    assert "binary" in reasons["random.md"]
    assert reasons["empty.txt"] == "empty file"
    assert "only whitespace" in reasons["blank.md"]
    assert "only control characters" in reasons["controls.txt"]
    assert "no text besides its front matter" in reasons["only-front-matter.md"]
    assert "no text" in reasons["only-definitions.md"]


def test_a_nul_in_the_middle_of_text_is_removed_with_a_warning(tmp_path):
    write(tmp_path, "nul.txt", b"First line of text.\nSecond\x00 line of text.\n")
    corpus = load_corpus(tmp_path)
    assert documents(corpus)["nul.txt"].text == "First line of text.\nSecond line of text.\n"
    (problem,) = corpus.warnings
    assert (problem.source, problem.line) == ("nul.txt", 2)
    assert "NUL" in problem.message


def test_mixed_line_endings_give_the_right_paragraphs(tmp_path):
    write(tmp_path, "mixed.txt", b"One first.\r\nOne second.\r\n\r\nTwo first.\rTwo second.\r\rThree.\n\nFour.")
    document = documents(load_corpus(tmp_path))["mixed.txt"]
    assert "\r" not in document.text
    assert [block.text for block in document.blocks] == [
        "One first.\nOne second.",
        "Two first.\nTwo second.",
        "Three.",
        "Four.",
    ]


# --- front matter -----------------------------------------------------------------------------------------------


def test_front_matter_fields(tmp_path):
    write(
        tmp_path,
        "doc.md",
        "---\n"
        "Title: '  A  Title  '\n"
        "date: 2025-07-10\n"
        "lang: PT-br\n"
        "author: [Ana, Bruno]\n"
        "tags: mar, vento, mar\n"
        "Source URL: https://example.org/original\n"
        "translation-key: fishermen\n"
        "translation_of: fishermen.en.md\n"
        "unknown: ignored\n"
        "---\n"
        f"{PT}\n",
    )
    corpus = load_corpus(tmp_path)
    document = documents(corpus)["doc.md"]
    assert document.title == "A Title"
    assert document.metadata.as_dict() == {
        "date": "2025-07-10",
        "author": "Ana, Bruno",
        "tags": ["mar", "vento"],
        "source_url": "https://example.org/original",
        "lang": "pt-BR",
        "translation_key": "fishermen",
        "translation_of": "fishermen.en.md",
    }
    assert document.primary_lang == "pt-BR"
    assert document.text.startswith("---\n")  # the text as written
    assert [block.text for block in document.blocks] == [PT]
    assert corpus.warnings == ()


def test_front_matter_dates_in_other_forms(tmp_path):
    write(tmp_path, "a.md", "---\ndate: 2025-07-10 20:06:00\n---\nA.\n")
    write(tmp_path, "b.md", "---\ndate: July 10, 2025\n---\nB.\n")
    write(tmp_path, "c.md", "---\ndate: 2025-07-10 20:06\n---\nC.\n")
    write(tmp_path, "d.md", "---\ndate: 2025-07-10T20:06:00+02:00\n---\nD.\n")
    docs = documents(load_corpus(tmp_path))
    assert docs["a.md"].metadata.date == "2025-07-10T20:06"
    assert docs["b.md"].metadata.date == "2025-07-10"
    assert docs["c.md"].metadata.date == "2025-07-10T20:06"
    assert docs["d.md"].metadata.date == "2025-07-10T20:06+02:00"


def test_broken_yaml_warns_with_file_and_line_and_the_body_still_loads(tmp_path):
    write(tmp_path, "broken.md", "---\ntitle: Fine\ndate: 2025-07-10\nauthor: Ana: Silva\n---\nThe body still loads.\n")
    corpus = load_corpus(tmp_path)
    document = documents(corpus)["broken.md"]
    assert [block.text for block in document.blocks] == ["The body still loads."]
    (problem,) = corpus.warnings
    assert problem.source == "broken.md"
    assert problem.line == 4
    assert str(problem).startswith("broken.md:4: front matter ignored")


@pytest.mark.parametrize(
    ("front", "line"),
    [
        ("title: ok\n\tauthor: tab\n", 3),
        ("title: ok\ntags: [a, b\n", 4),
        ('title: "never closed\n', 3),
        ("title: ok\ntitle2: &a x\nthird: *b\n", 4),
    ],
)
def test_yaml_errors_point_at_their_line(tmp_path, front, line):
    write(tmp_path, "x.md", f"---\n{front}---\nBody.\n")
    corpus = load_corpus(tmp_path)
    assert [block.text for block in documents(corpus)["x.md"].blocks] == ["Body."]
    (problem,) = corpus.warnings
    assert problem.line == line, problem


def test_python_tags_are_refused_safely(tmp_path):
    marker = tmp_path / "PWNED"
    write(
        tmp_path,
        "seeds/evil.md",
        "---\n"
        "title: Still safe\n"
        f"evil: !!python/object/apply:os.system ['touch {marker}']\n"
        "also: !!python/name:os.system\n"
        "---\n"
        "Body.\n",
    )
    write(tmp_path, "seeds/whole.md", f"--- \n!!python/object/apply:os.system ['touch {marker}']\n---\nBody two.\n")
    corpus = load_corpus(tmp_path / "seeds")
    assert not marker.exists()
    assert documents(corpus)["evil.md"].title == "Still safe"
    lines = sorted((problem.source, problem.line) for problem in corpus.warnings)
    assert lines == [("evil.md", 3), ("evil.md", 4), ("whole.md", 2)]


def test_a_bad_value_costs_only_its_own_field(tmp_path):
    write(
        tmp_path,
        "x.md",
        "---\ntitle: Kept\ndate: 2025-13-45\ncount: "
        + "1" * 5000
        + "\nlang: not a language\nauthor: Kept too\n---\nBody.\n",
    )
    corpus = load_corpus(tmp_path)
    document = documents(corpus)["x.md"]
    assert document.title == "Kept"
    assert document.metadata.author == "Kept too"
    assert document.metadata.date is None
    assert sorted(problem.line for problem in corpus.warnings) == [3, 4, 5]


def test_front_matter_that_is_not_a_mapping_is_a_warning(tmp_path):
    write(tmp_path, "list.md", "---\n- a\n- b\n---\nBody.\n")
    write(tmp_path, "scalar.md", "---\njust a sentence\n---\nBody.\n")
    write(tmp_path, "empty.md", "---\n---\nBody.\n")
    corpus = load_corpus(tmp_path)
    assert len(corpus.documents) == 3
    assert sorted((problem.source, problem.line) for problem in corpus.warnings) == [("list.md", 2), ("scalar.md", 2)]
    assert all("mapping" in problem.message for problem in corpus.warnings)


def test_unclosed_front_matter_is_read_as_text_with_a_warning(tmp_path):
    write(tmp_path, "open.md", "---\ntitle: never closed\n\nBody text.\n")
    corpus = load_corpus(tmp_path)
    assert "Body text." in [block.text for block in documents(corpus)["open.md"].blocks]
    ((source, line),) = [(problem.source, problem.line) for problem in corpus.warnings]
    assert (source, line) == ("open.md", 1)


def test_yaml_alias_bombs_and_deep_nesting_load_quickly(tmp_path):
    bomb = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    for index in range(1, 10):
        bomb += f"{chr(97 + index)}: &{chr(97 + index)} [{','.join(['*' + chr(96 + index)] * 9)}]\n"
    write(tmp_path, "bomb.md", f"---\n{bomb}title: *j\ntags: *j\nauthor: *i\n---\nBody.\n")
    write(tmp_path, "deep.md", "---\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\nBody.\n")
    corpus = load_corpus(tmp_path)
    assert len(corpus.documents) == 2
    assert documents(corpus)["bomb.md"].title == "Body"


# --- text and Markdown ------------------------------------------------------------------------------------------


def test_hostile_text_and_markdown_are_inert(tmp_path):
    write(
        tmp_path,
        "x.txt",
        "Hi <script>alert(1)</script> see https://example.org/a?b=1&c=2. <img src=x onerror=alert(1)>",
    )
    write(
        tmp_path, "y.md", "# T\n\n<script>alert(1)</script>\n\n[a](javascript:alert(1)) [b](JaVaScRiPt&#x3A;alert(1))\n"
    )
    for document in load_corpus(tmp_path).documents:
        page = BeautifulSoup("".join(block.html for block in document.blocks), "html.parser")
        assert not page.find_all(["script", "img"])
        assert all(is_safe_link(a["href"]) for a in page.find_all("a"))
        assert "<script>alert(1)</script>" in page.get_text()
    links = BeautifulSoup(documents(load_corpus(tmp_path))["x.txt"].blocks[0].html, "html.parser").find_all("a")
    assert [a["href"] for a in links] == ["https://example.org/a?b=1&c=2"]


def test_markdown_too_dense_to_format_in_bounded_time_is_shown_as_text(tmp_path):
    write(tmp_path, "dense.md", "Opening words. " + "![" * MARKDOWN_BUDGET)
    corpus = load_corpus(tmp_path)
    (document,) = corpus.documents
    assert document.blocks[0].text.startswith("Opening words. ![![")
    (problem,) = corpus.warnings
    assert "plain text" in problem.message


def test_word_counts():
    assert count_words("Hello, world! It's 2025 and 3.5 models are here.") == 9
    assert count_words("我们今天去公园") == 7
    assert count_words("今日は晴れ") == 5
    assert count_words("안녕하세요 세계") == 2
    assert count_words("") == 0


# --- titles -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_corpus():
    return load_corpus(SEEDS)


def test_seed_titles(seed_corpus):
    docs = {source[:3]: document for source, document in documents(seed_corpus).items()}
    assert docs["002"].title == "what makes Claude 3 Opus misaligned"
    assert docs["003"].title == "Como uma grande mudança no treinamento LLMS levou a uma explosão de capacidade"
    for key in ("000", "001", "004"):
        title = docs[key].title
        assert title.endswith("…"), title
        opening = title[:-1]
        first_line = docs[key].text.split("\n", 1)[0]
        assert first_line.startswith(opening)
        assert first_line[len(opening)] == " ", f"{title!r} is not cut at a word boundary"
        assert 30 <= len(title) <= 73


def test_seed_dates_and_accounting(seed_corpus):
    docs = {source[:3]: document for source, document in documents(seed_corpus).items()}
    assert docs["002"].metadata.published == "2025-07-10T20:06"
    assert docs["004"].metadata.first_seen == "2025-07-07T11:26"
    assert docs["004"].metadata.last_seen == "2025-07-08T17:31"
    assert docs["004"].metadata.date == "2025-07-07T11:26"
    assert len(seed_corpus.documents) == 5
    assert seed_corpus.skipped == seed_corpus.warnings == ()


def titles(tmp_path, files):
    for name, content in files.items():
        write(tmp_path, name, content)
    return {source: document.title for source, document in documents(load_corpus(tmp_path)).items()}


def test_title_sources_in_order_of_preference(tmp_path):
    found = titles(
        tmp_path,
        {
            "front.md": "---\ntitle: Given\n---\n# Heading\n\nText.\n",
            "heading.md": "Intro line of the text that is long enough to be a sentence, surely.\n\n# Heading\n",
            "md-heading.md": "## The heading\n\nThen the text.\n",
            "dated.txt": "Published on July 10, 2025 8:06 PM GMT\nA Short Heading\n\nBody text.\n",
            "dated-sentence.txt": "First seen: 2025-07-07 11:26\nThis first sentence is the title source. Then more.\n",
            "sentence.txt": "Short sentence. Then another one follows it.",
            "punctuated.txt": "This line ends with a period.\nSecond line.",
            "url.txt": "https://example.org/a/b\nThen the text.",
        },
    )
    assert found == {
        "front.md": "Given",
        "heading.md": "Intro line of the text that is long enough to be a sentence, surely",
        "md-heading.md": "The heading",
        "dated.txt": "A Short Heading",
        "dated-sentence.txt": "This first sentence is the title source",
        "sentence.txt": "Short sentence",
        "punctuated.txt": "This line ends with a period",
        "url.txt": "https://example.org/a/b",
    }


def test_long_titles_are_cut_cleanly(tmp_path):
    long_latin = "Palavras " * 40
    cjk = (
        "本文探讨了模型在对齐方面的独特之处以及其与新一代人工智能在工作方式上的差异作者认为在某些方面表现出非凡的对齐。"
    )
    family = "\U0001f469\u200d\U0001f469\u200d\U0001f467"
    found = titles(
        tmp_path, {"latin.txt": long_latin, "cjk.txt": cjk, "emoji.txt": family * 60, "accents.txt": "e\u0301" * 200}
    )
    assert found["latin.txt"].endswith("Palavras…")
    assert len(found["latin.txt"]) <= 73
    assert found["cjk.txt"].endswith("…") and cjk.startswith(found["cjk.txt"][:-1])
    assert 30 <= len(found["cjk.txt"]) <= 37  # two columns per character
    emoji_title = found["emoji.txt"][:-1]
    assert emoji_title and emoji_title == family * (len(emoji_title) // len(family))
    assert unicodedata.is_normalized("NFC", found["accents.txt"])


def test_title_and_metadata_on_a_five_megabyte_line_without_spaces():
    # The title and date steps on their own: language tagging has its own bounds (see langtag).
    for line in ("a" * 5_000_000, "汉字测试" * 1_250_000, "Published " * 500_000):
        raw = text_blocks(line)
        seed = loader.SeedFile(Path("x.txt"), "x.txt", "x", "text")
        assert loader._title({}, raw, seed).endswith("…")
        metadata, problems = loader._metadata(loader._Fields(), line, "x.txt")
        assert metadata.date is None and problems == []


def test_a_five_megabyte_line_of_prose_loads(tmp_path):
    line = (
        "Os pescadores voltaram ao porto depois de uma longa noite no mar, https://example.org/x cansados. " * 52_000
    )[:5_000_000]
    write(tmp_path, "long.txt", line)
    (document,) = load_corpus(tmp_path).documents
    assert len(document.blocks) == 1
    assert document.title == "Os pescadores voltaram ao porto depois de uma longa noite no mar…"
    assert document.words > 800_000


# --- ids --------------------------------------------------------------------------------------------------------

ODD_NAMES = [
    "notes.txt", "notes.md", "notes.markdown", "a/readme.txt", "b/readme.txt", "a-readme.txt",
    "my notes é ü.txt", "emoji 🧵🎉.txt", "🧵.txt", "文章.txt", "Case.txt", "case.txt", "CASE.md",
    "dots..twice...txt", "--dash.txt", "-x.md", "con.txt", "a" * 200 + ".txt", "a" * 199 + "b.txt",
    "x" * 90 + " one.txt", "x" * 90 + " two.txt", "space .txt", " space.txt",
    "quote\"'<>.txt", "percent%20.txt", "question?.md", "back\\slash.txt",
]  # fmt: skip


def test_ids_are_stable_url_safe_unique_and_readable(tmp_path):
    for name in ODD_NAMES:
        write(tmp_path, name, f"Text of {name}.")
    found, _, _ = discover(tmp_path)
    ids = {seed.source: seed.id for seed in found}
    assert sorted(ids) == sorted(ODD_NAMES)
    assert len(set(ids.values())) == len(ids)
    assert len({value.lower() for value in ids.values()}) == len(ids)
    for value in ids.values():
        assert SAFE_ID.match(value), value
        assert len(value) <= 100
        assert value not in {"con", "nul", "aux", "prn"}
    assert ids["my notes é ü.txt"] == "my-notes-e-u"
    assert ids["--dash.txt"] == "dash"
    assert ids["notes.txt"] != ids["notes.md"]
    assert ids["Case.txt"] != ids["case.txt"]
    assert ids == {seed.source: seed.id for seed in discover(tmp_path)[0]}
    write(tmp_path, "unrelated.txt", "New.")
    assert {
        source: seed_id for source, seed_id in ((s.source, s.id) for s in discover(tmp_path)[0]) if source in ids
    } == ids


def test_names_spelled_outside_ascii_keep_what_slugs_they_can_plus_a_hash(tmp_path):
    for name in ("日本/ノート 1.md", "Привет.txt", "café.txt"):
        write(tmp_path, name, "Text.")
    ids = {seed.source: seed.id for seed in discover(tmp_path)[0]}
    assert re.fullmatch(r"1-[0-9a-f]{8}", ids["日本/ノート 1.md"])
    assert re.fullmatch(r"doc-[0-9a-f]{8}", ids["Привет.txt"])
    assert ids["café.txt"] == "cafe"  # accents fold to ASCII letters: nothing is lost, so no hash


def test_ids_distinct_even_against_names_that_look_like_hashed_ids(tmp_path):
    write(tmp_path, "a.txt", "A.")
    write(tmp_path, "a.md", "A.")
    first = {seed.source: seed.id for seed in discover(tmp_path)[0]}
    write(tmp_path, f"{first['a.txt']}.txt", "Impostor.")
    again = {seed.source: seed.id for seed in discover(tmp_path)[0]}
    assert len(set(again.values())) == 3


def test_control_characters_in_names_are_shown_escaped(tmp_path):
    write(tmp_path, "tab\tname.txt", "Tab.")
    write(tmp_path, "line\nbreak\r.md", "---\n")
    corpus = load_corpus(tmp_path)
    assert {document.source: document.title for document in corpus.documents} == {
        "line\\x0abreak\\x0d.md": "line\\x0abreak\\x0d",
        "tab\\x09name.txt": "Tab",
    }


def test_file_names_that_are_not_utf8_get_text_sources_and_safe_ids(tmp_path):
    os.close(os.open(os.fsencode(tmp_path) + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY, 0o644))
    write(tmp_path, "café.txt", "Café in UTF-8.")
    Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.txt")).write_text("Latin-1 name.")
    corpus = load_corpus(tmp_path)
    docs = documents(corpus)
    assert set(docs) == {"caf\\xe9.txt", "café.txt"}
    assert all(SAFE_ID.match(document.id) for document in corpus.documents)
    json.dumps([document.source for document in corpus.documents]).encode()


# --- large and odd files ----------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_skipped_unread(tmp_path):
    with open(tmp_path / "huge.txt", "wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    with open(tmp_path / "just-over.md", "wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    reasons = skipped(load_corpus(tmp_path))
    assert reasons["huge.txt"].startswith("too large to read (200.0 MB")
    assert reasons["just-over.md"].startswith("too large")


def test_reading_stops_at_the_limit(tmp_path):
    path = write(tmp_path, "x.txt", b"x" * 1000)
    assert loader._read(path, 1000) == b"x" * 1000
    assert "too large" in loader._read(path, 999)


def _as_nobody(function):
    """Run `function` in a child process without root's power to read anything; return its JSON result."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        status = 0
        try:
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, json.dumps(function()).encode())
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the child process failed"
    return json.loads(output)


def test_unreadable_files_and_folders_are_reported():
    # Root reads files whatever their permissions, so as root the loading runs in a child process
    # that has dropped to 'nobody'; its folder must be reachable by nobody, hence not tmp_path.
    folder = Path(tempfile.mkdtemp(prefix="corpus-site-perm-"))
    try:
        folder.chmod(0o755)
        write(folder, "locked.txt", "You cannot read me.")
        write(folder, "closed/inside.txt", "Nor me.")
        write(folder, "open.txt", "")
        (folder / "locked.txt").chmod(0o000)
        (folder / "closed").chmod(0o000)

        def run():
            corpus = load_corpus(folder)
            return {"skipped": skipped(corpus), "warnings": [[p.source, p.message] for p in corpus.warnings]}

        result = _as_nobody(run) if os.geteuid() == 0 else run()
        assert "permission denied" in result["skipped"]["locked.txt"]
        assert result["skipped"]["open.txt"] == "empty file"
        assert [source for source, message in result["warnings"] if "cannot be read" in message] == ["closed"]
    finally:
        (folder / "closed").chmod(0o755)
        shutil.rmtree(folder)


def test_an_odd_folder_is_fully_accounted_for(tmp_path):
    files = {
        "good.txt": PT,
        "png.txt": PNG,
        "empty.md": b"",
        "nul.txt": b"a\x00b text here",
        "controls.markdown": b"\x01\x02",
        "cp1252.txt": PT.encode("cp1252"),
        "sub/UPPER.TXT": "Upper.",
        "weird name ü 🧵.md": "# Title\n\nText.",
        "truncated.txt": "中文文本测试".encode()[:-1],
    }
    for name, content in files.items():
        write(tmp_path, name, content)
    write(tmp_path, "ignored.bin", b"\x00")
    corpus = load_corpus(tmp_path)
    assert_accounted(corpus, list(files))
    assert corpus.ignored == ("ignored.bin",)
    assert len({document.id for document in corpus.documents}) == len(corpus.documents)


def test_a_plain_text_paragraph_mixing_scripts_gets_a_lang_per_line(tmp_path):
    write(
        tmp_path,
        "mixed.txt",
        "新闻网站 七月十一日 更新\nwhat makes a good translation of a long text\n\n" + "English body text. " * 8,
    )
    write(
        tmp_path,
        "arabic.txt",
        "هذه فقرة عربية طويلة بما يكفي لمعرفة لغتها بوضوح تام\nThis line is English, inside an Arabic paragraph.\n\n"
        + "فقرة ثانية باللغة العربية.",
    )
    documents = {document.source: document for document in load_corpus(tmp_path).documents}
    first = BeautifulSoup(documents["mixed.txt"].blocks[0].html, "html.parser")
    assert [span["lang"] for span in first.find_all("span")] == ["zh"]
    assert first.find("span").get_text() == "新闻网站 七月十一日 更新"
    assert first.get_text().endswith("what makes a good translation of a long text")  # nothing lost or reworded
    arabic = documents["arabic.txt"].blocks[0]
    assert arabic.lang == "ar"
    span = BeautifulSoup(arabic.html, "html.parser").find("span")
    assert (span["lang"], span["dir"]) == ("en", "ltr")


def test_reading_to_the_end_takes_a_file_that_grew_and_stops_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "seed.txt"
    path.write_bytes(b"x" * 5000)
    with path.open("rb") as handle:  # as stat said
        assert loader.read_to_end(handle, 5000, 10_000) == b"x" * 5000
    with path.open("rb") as handle:  # it grew after stat: all of it still
        assert loader.read_to_end(handle, 100, 10_000) == b"x" * 5000
    with path.open("rb") as handle:  # it shrank
        assert loader.read_to_end(handle, 9000, 10_000) == b"x" * 5000
    with path.open("rb") as handle:  # past the limit: one byte more than the limit, and no more
        assert len(loader.read_to_end(handle, 100, 1000)) == 1001
    with path.open("rb") as handle:
        assert len(loader.read_to_end(handle, 5000, 1000)) == 1001
