"""Segment alignment of two versions, its exports (JSON Lines, TMX) and the parallel page, real browser included."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from corpus_site.align import Alignment, Pair, align, align_group, alignment, alignments_jsonl, join, segments, tmx
from corpus_site.groups import find_groups
from corpus_site.loader import load_corpus
from corpus_site.records import Document
from corpus_site.render import UI_LANG, environment, every_page
from corpus_site.site import build_site
from helpers import ROOT, SEEDS, write_files

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# A short text and its Japanese translation: paragraph for paragraph, but with different sentence counts
# (the translator split one English sentence in two and joined none).
EN = (
    "The river flooded the old town on 3 March 2021. Water stood 1.8 metres deep in the market square.\n"
    "\n"
    "Volunteers from 14 villages filled 20,000 sandbags in two days. The mayor, Ana Ribeiro, thanked them on "
    "Radio Norte.\n"
    "\n"
    "Repairs to the Ponte Velha bridge will cost 4.5 million euros. Work starts in May 2022 and should end by "
    "2024.\n"
    "\n"
    "Since then the town has built a 2 km wall along the river. Nobody expects the next flood to be smaller.\n"
)

JA = (
    "2021年3月3日、川が氾濫して旧市街が浸水した。市場広場では水深が1.8メートルに達した。\n"
    "\n"
    "14の村から集まったボランティアが、2日間で20,000個の土のうを詰めた。Ana Ribeiro市長はRadio "
    "Norteで彼らに感謝した。\n"
    "\n"
    "Ponte Velha橋の修復には450万ユーロがかかる。工事は2022年5月に始まる。完了は2024年の予定だ。\n"
    "\n"
    "それ以来、町は川沿いに2 kmの壁を築いた。次の洪水が小さくなると考える人はいない。\n"
)


def write(folder: Path, files: dict[str, str]) -> dict[str, Document]:
    documents = load_corpus(write_files(folder, files)).documents
    return {document.source.rsplit(".", 1)[0]: document for document in documents}


def seeds() -> dict[str, Document]:
    return {document.id[:3]: document for document in load_corpus(SEEDS).documents}


def assert_complete(pairs: tuple[Pair, ...], left: Document, right: Document, level: str) -> None:
    """Every segment of both sides appears exactly once, in order, and each bead is one of the six shapes."""
    assert [text for pair in pairs for text in pair.left] == [s.text for s in segments(left, level)]
    assert [text for pair in pairs for text in pair.right] == [s.text for s in segments(right, level)]
    shapes = {(len(pair.left), len(pair.right)) for pair in pairs}
    assert shapes <= {(1, 1), (1, 0), (0, 1), (2, 1), (1, 2), (2, 2)}
    assert all(0.0 <= pair.confidence <= 1.0 for pair in pairs)


def test_seed_thread_aligns_paragraph_by_paragraph() -> None:
    docs = seeds()
    result = alignment(docs["000"], docs["001"])
    assert result.level == "paragraph"
    assert_complete(result.pairs, docs["000"], docs["001"], "paragraph")
    one_to_one = [pair for pair in result.pairs if len(pair.left) == len(pair.right) == 1]
    assert len(one_to_one) >= 0.8 * len(result.pairs)
    assert sum(pair.confidence >= 0.9 for pair in one_to_one) >= 0.8 * len(result.pairs)
    assert all(pair.left_lang == "pt" and pair.right_lang == "fr" for pair in result.pairs)
    # Line k of the thread is line k of its translation: the handles that open and close it say so.
    assert "@AmandaAskell" in result.pairs[1].left[0] and "@AmandaAskell" in result.pairs[1].right[0]
    assert "@sprice354_" in result.pairs[-1].left[0] and "@sprice354_" in result.pairs[-1].right[0]


def test_seed_article_aligns_sentence_by_sentence() -> None:
    # 003 has a line per paragraph, 004 is one long paragraph: the aligner goes down to sentences.
    docs = seeds()
    result = alignment(docs["003"], docs["004"])
    assert result.level == "sentence"
    assert_complete(result.pairs, docs["003"], docs["004"], "sentence")
    matched = [pair for pair in result.pairs if pair.left and pair.right]
    one_to_one = [pair for pair in matched if len(pair.left) == len(pair.right) == 1 and pair.confidence >= 0.8]
    assert len(one_to_one) >= 0.6 * len(result.pairs)
    by_right = {pair.right[0]: pair for pair in matched if len(pair.right) == 1}
    assert by_right["So what happened to Opus?"].left == ("Então, o que aconteceu com o Opus?",)
    assert any("junho de 2024" in text for text in by_right[next(t for t in by_right if "June 2024" in t)].left)


def test_align_is_the_pairs_of_alignment() -> None:
    docs = seeds()
    assert align(docs["000"], docs["001"]) == alignment(docs["000"], docs["001"]).pairs


def test_equal_paragraphing_pairs_paragraphs(tmp_path: Path) -> None:
    docs = write(tmp_path, {"en.txt": EN, "ja.txt": JA})
    result = alignment(docs["en"], docs["ja"])
    assert result.level == "paragraph"
    assert_complete(result.pairs, docs["en"], docs["ja"], "paragraph")
    assert [(len(p.left), len(p.right)) for p in result.pairs] == [(1, 1)] * 4
    assert all(pair.confidence >= 0.9 for pair in result.pairs)
    assert {(pair.left_lang, pair.right_lang) for pair in result.pairs} == {("en", "ja")}


def test_different_paragraphing_pairs_sentences(tmp_path: Path) -> None:
    # The English as one paragraph against the Japanese in four: sentences, 1-1 and one 1-2.
    docs = write(tmp_path, {"en.txt": " ".join(EN.split()), "ja.txt": JA})
    result = alignment(docs["en"], docs["ja"])
    assert result.level == "sentence"
    assert_complete(result.pairs, docs["en"], docs["ja"], "sentence")
    shapes = [(len(p.left), len(p.right)) for p in result.pairs]
    assert shapes.count((1, 1)) >= 6 and (1, 2) in shapes
    for needle_en, needle_ja in [("1.8 metres", "1.8メートル"), ("20,000", "20,000個"), ("2 km", "2 km")]:
        (pair,) = [p for p in result.pairs if any(needle_en in text for text in p.left)]
        assert any(needle_ja in text for text in pair.right)
    (split,) = [p for p in result.pairs if len(p.right) == 2]
    assert split.left[0] == "Work starts in May 2022 and should end by 2024."


def test_single_paragraphs_align_by_sentence(tmp_path: Path) -> None:
    docs = write(tmp_path, {"en.txt": " ".join(EN.split()), "ja.txt": "".join(JA.split())})
    result = alignment(docs["en"], docs["ja"])
    assert result.level == "sentence" and len(result.pairs) >= 7
    assert_complete(result.pairs, docs["en"], docs["ja"], "sentence")


def test_untranslated_boilerplate_displaces_nothing(tmp_path: Path) -> None:
    boilerplate = "Subscribe to our newsletter!\n\n" + EN + "\nShare this article\n"
    docs = write(tmp_path, {"en.txt": boilerplate, "ja.txt": JA})
    result = alignment(docs["en"], docs["ja"])
    assert_complete(result.pairs, docs["en"], docs["ja"], result.level)
    # The boilerplate may stand alone or lean on its neighbour, but every sentence keeps its translation.
    needles = [("3 March 2021", "2021年3月3日"), ("1.8 metres", "1.8メートル"), ("Radio Norte", "Radio Norte")]
    for needle_en, needle_ja in [*needles, ("2 km", "2 km"), ("Nobody expects", "次の洪水")]:
        (pair,) = [p for p in result.pairs if any(needle_en in text for text in p.left)]
        assert any(needle_ja in text for text in pair.right), (needle_en, pair)
    for pair in result.pairs:
        if "Subscribe to our newsletter!" in pair.left or "Share this article" in pair.left:
            assert pair.right == () or len(pair.left) == 2


def test_code_and_rules_are_left_out(tmp_path: Path) -> None:
    code = "```\npip install thing==2.0\n```\n\n"
    md = "# Install\n\nRun the installer on 3 machines.\n\n" + code + "---\n\nThen reboot twice.\n"
    ja = "# インストール\n\n3台のマシンでインストーラーを実行する。\n\n" + code + "その後、2回再起動する。\n"
    docs = write(tmp_path, {"en.md": md, "ja.md": ja})
    pairs = align(docs["en"], docs["ja"])
    texts = [text for pair in pairs for text in pair.left + pair.right]
    assert not any("pip install" in text for text in texts)
    assert [(p.left, p.right) for p in pairs][0] == (("Install",), ("インストール",))


def test_empty_side() -> None:
    docs = seeds()
    empty = replace(docs["000"], blocks=())
    pairs = align(docs["000"], empty)
    assert all(pair.right == () and len(pair.left) == 1 for pair in pairs)


def test_group_alignments_cover_every_pair_of_members(tmp_path: Path) -> None:
    docs = write(tmp_path, {"en.txt": EN, "ja.txt": JA, "fr.txt": FR})
    (group,) = find_groups(list(docs.values()))
    alignments = align_group(group, {d.id: d for d in docs.values()})
    assert [(a.left, a.right) for a in alignments] == [(group.members[0], group.members[1]),
                                                        (group.members[0], group.members[2]),
                                                        (group.members[1], group.members[2])]  # fmt: skip
    assert all(a.group == group.id for a in alignments)


FR = (
    "Le fleuve a inondé la vieille ville le 3 mars 2021. L'eau atteignait 1,8 mètre sur la place du marché.\n"
    "\n"
    "Des bénévoles venus de 14 villages ont rempli 20 000 sacs de sable en deux jours. La maire, Ana Ribeiro, "
    "les a remerciés sur Radio Norte.\n"
    "\n"
    "La réparation du pont Ponte Velha coûtera 4,5 millions d'euros. Les travaux commencent en mai 2022 et "
    "devraient finir en 2024.\n"
    "\n"
    "Depuis, la ville a construit un mur de 2 km le long du fleuve. Personne ne pense que la prochaine crue sera "
    "plus petite.\n"
)


def test_jsonl_export(tmp_path: Path) -> None:
    docs = write(tmp_path, {"en.txt": EN, "ja.txt": JA})
    result = alignment(docs["en"], docs["ja"], group="flood")
    lines = alignments_jsonl([result]).decode().splitlines()
    assert len(lines) == len(result.pairs)
    records = [json.loads(line) for line in lines]
    assert [r["index"] for r in records] == list(range(len(records)))
    first = records[0]
    assert first["group"] == "flood" and first["level"] == "paragraph"
    assert first["left"] == {"doc": "en", "lang": "en", "segments": list(result.pairs[0].left)}
    assert first["right"]["lang"] == "ja" and first["confidence"] == result.pairs[0].confidence
    assert alignments_jsonl([]) == b""


def test_tmx_export_is_valid_tmx_1_4(tmp_path: Path) -> None:
    docs = write(tmp_path, {"en.txt": EN, "ja.txt": JA})
    result = alignment(docs["en"], docs["ja"], group="flood")
    data = tmx([result])
    root = ET.fromstring(data)
    assert root.tag == "tmx" and root.get("version") == "1.4"
    header = root.find("header")
    assert header is not None and header.get("srclang") == "en" and header.get("segtype") == result.level
    assert header.get("creationtool") == "corpus-site" and header.get("datatype") == "plaintext"
    units = root.findall("body/tu")
    both = [pair for pair in result.pairs if pair.left and pair.right]
    assert len(units) == len(both)
    for unit, pair in zip(units, both, strict=True):
        variants = unit.findall("tuv")
        assert [v.get(XML_LANG) for v in variants] == ["en", "ja"]
        assert [v.findtext("seg") for v in variants] == [join(pair.left), join(pair.right)]


def test_tmx_escapes_markup_and_skips_lone_segments() -> None:
    pairs = (
        Pair(("R&D <team> \x0b!",), ("研究開発 & <チーム>",), 0.9, "en", "ja"),
        Pair(("Alone",), (), 0.4, "en", "ja"),
    )
    data = tmx(
        [Alignment("g", "a", "b", "en", "ja", "sentence", pairs), Alignment("h", "c", "d", "fr", "de", "paragraph", ())]
    )
    root = ET.fromstring(data)
    assert root.find("header").get("srclang") == "*all*"  # type: ignore[union-attr]
    (unit,) = root.findall("body/tu")
    assert [v.findtext("seg") for v in unit.findall("tuv")] == ["R&D <team> !", "研究開発 & <チーム>"]
    assert unit.get("tuid") == "g/a/b/0" and unit.findtext("prop") == "0.90"


def test_join_keeps_cjk_sentences_together() -> None:
    assert join(("一つ目。", "二つ目。")) == "一つ目。二つ目。"
    assert join(("One.", "Two.")) == "One. Two."


# ---------------------------------------------------------------------------------------------------------------
# The page.


def render_parallel(
    documents: list[Document], pair: tuple[Document, Document], pair_links: list[tuple[str, str]]
) -> str:
    site = build_site(load_corpus_from(documents))
    (group,) = [g for g in find_groups(documents) if pair[0].id in g.members]
    env = environment([ROOT / "templates"])
    return env.get_template("parallel.html").render(
        **every_page(site, None), root="../", page_lang=UI_LANG,
        page_path="parallel/group.html",
        group=group, left=pair[0], right=pair[1], pairs=align(*pair), pair_links=pair_links,
    )  # fmt: skip


def load_corpus_from(documents: list[Document]):  # type: ignore[no-untyped-def]
    from corpus_site.records import Corpus

    return Corpus(documents=tuple(documents), skipped=(), warnings=(), ignored=())


def test_parallel_page_markup() -> None:
    docs = seeds()
    html = render_parallel(list(docs.values()), (docs["003"], docs["004"]), [("English · Português", "x.html")])
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one('link[href="../static/parallel.css"]') and soup.select_one(
        'script[src="../static/parallel.js"]'
    )
    assert not soup.select("[onclick], [onmouseover], [onfocus], style")
    beads = soup.select("ol.beads > li.bead")
    assert len(beads) == len(align(docs["003"], docs["004"]))
    segments_ = soup.select(".seg")
    ids = {seg["id"] for seg in segments_}
    assert len(ids) == len(segments_)
    for seg in segments_:
        assert seg["tabindex"] == "0" and seg["lang"] in ("pt", "en") and seg["dir"] == "ltr"
        for other in seg["data-counterpart"].split():
            assert other in ids and other[0] != seg["id"][0]
            assert seg["id"] in soup.find(id=other)["data-counterpart"].split()  # counterparts point back
    assert soup.select_one(".side-l .seg")["lang"] == "pt" and soup.select_one(".side-r .seg")["lang"] == "en"
    confidences = [bead.select_one(".conf").get_text(" ", strip=True) for bead in beads]
    assert all("%" in text for text in confidences)
    assert [a["href"] for a in soup.select(".pair-links a")] == ["x.html"]
    assert "score 0." in soup.select_one(".group-facts").get_text()
    heads = [a["href"] for a in soup.select(".parallel-head a")]
    assert heads == [f"../docs/{docs['003'].id}.html", f"../docs/{docs['004'].id}.html"]


def test_parallel_page_right_to_left(tmp_path: Path) -> None:
    ar = "فاض النهر على البلدة القديمة في 3 مارس 2021. بلغ عمق المياه 1.8 متر في ساحة السوق.\n\n" + (
        "ملأ متطوعون من 14 قرية 20,000 كيس رمل في يومين. وشكرتهم العمدة Ana Ribeiro على إذاعة Radio Norte.\n"
    )
    en = "\n\n".join(EN.split("\n\n")[:2])
    docs = write(
        tmp_path,
        {"ar.txt": ar, "en.txt": en, "en.yaml": "translation_key: flood\n", "ar.yaml": "translation_key: flood\n"},
    )
    html = render_parallel(list(docs.values()), (docs["en"], docs["ar"]), [])
    soup = BeautifulSoup(html, "html.parser")
    assert {seg["dir"] for seg in soup.select(".side-r .seg")} == {"rtl"}
    assert "linked in their metadata" in soup.select_one(".group-facts").get_text()
    assert soup.select_one(".pair-links") is None


@pytest.mark.browser
def test_parallel_page_in_a_browser(tmp_path: Path, browser, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    docs = seeds()
    out = tmp_path / "site"
    (out / "parallel").mkdir(parents=True)
    shutil.copytree(ROOT / "static", out / "static")
    page_file = out / "parallel" / "group.html"
    page_file.write_text(render_parallel(list(docs.values()), (docs["003"], docs["004"]), []), encoding="utf-8")
    errors: list[str] = []
    for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 375, "height": 800})):
        context = browser.new_context(viewport=viewport, color_scheme="light", reduced_motion="reduce")
        try:
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_file.as_uri())
            target = page.locator(".side-r .seg").nth(3)
            counterpart_ids = target.get_attribute("data-counterpart").split()
            target.focus()
            for other in counterpart_ids:
                assert "counterpart" in (page.locator(f"#{other}").get_attribute("class") or "")
            assert "active" in (target.get_attribute("class") or "")
            # Hover another segment: the highlight follows it.
            hovered = page.locator(".side-l .seg").nth(6)
            hovered.hover()
            for other in hovered.get_attribute("data-counterpart").split():
                assert "counterpart" in (page.locator(f"#{other}").get_attribute("class") or "")
            assert page.locator(".seg.counterpart").count() == len(hovered.get_attribute("data-counterpart").split())
            # Enter on a segment moves focus to its counterpart.
            target.focus()
            page.keyboard.press("Enter")
            assert page.evaluate("document.activeElement.id") == counterpart_ids[0]
            left_box = page.locator(f"#{counterpart_ids[0]}").bounding_box()
            right_box = target.bounding_box()
            assert left_box and right_box
            if name == "desktop":  # side by side, level with each other
                assert left_box["x"] + left_box["width"] <= right_box["x"] and abs(left_box["y"] - right_box["y"]) < 40
            else:  # interleaved: the left version's segment, then the right's, in one column
                assert left_box["y"] + left_box["height"] <= right_box["y"]
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert errors == []
            page.screenshot(path=str(artifacts / f"parallel-{name}.png"), full_page=False)
        finally:
            context.close()
