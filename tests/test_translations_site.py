"""Translations as a reader gets them: "Also in" links, hreflang, parallel pages, the index, and the exports."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from bs4 import BeautifulSoup, Tag

from corpus_site.build import build
from helpers import SEEDS, link_target, load_json, parse, write_files

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# One short history in three languages and two scripts, tied together by an explicit key.
LIGHTHOUSE = {
    "en": (
        "The lighthouse keeper",
        "The lighthouse keeper of Ravenscar, Tomas Berg, lit the lamp for the first time on 3 March 1898. He kept a "
        "logbook in which he wrote down the weather, the ships and the birds he saw every day.\n\n"
        "In the winter of 1903 a storm lasted eleven days. The schooner Margarethe lost her mast near the rocks, and "
        "Berg rowed out twice to bring the seven sailors ashore.\n\n"
        "He left the tower in 1931, after thirty-three years. His logbook, with 12,000 pages, is kept today in the "
        "town museum of Whitby.",
    ),
    "fr": (
        "Le gardien du phare",
        "Le gardien du phare de Ravenscar, Tomas Berg, alluma la lampe pour la première fois le 3 mars 1898. Il "
        "tenait un journal de bord où il notait chaque jour le temps, les navires et les oiseaux qu'il voyait.\n\n"
        "Pendant l'hiver 1903, une tempête dura onze jours. La goélette Margarethe perdit son mât près des rochers, "
        "et Berg sortit deux fois à la rame pour ramener les sept marins à terre.\n\n"
        "Il quitta la tour en 1931, après trente-trois ans. Son journal, de 12 000 pages, est conservé aujourd'hui "
        "au musée municipal de Whitby.",
    ),
    "ru": (
        "Смотритель маяка",
        "Смотритель маяка Рейвенскар, Томас Берг, впервые зажёг лампу 3 марта 1898 года. Он вёл вахтенный журнал, "
        "в который каждый день записывал погоду, корабли и птиц, которых видел.\n\n"
        "Зимой 1903 года шторм длился одиннадцать дней. Шхуна «Маргарета» потеряла мачту у скал, и Берг дважды "
        "выходил на вёслах, чтобы доставить семерых моряков на берег.\n\n"
        "Он покинул башню в 1931 году, через тридцать три года. Его журнал, в 12 000 страниц, сегодня хранится в "
        "городском музее Уитби.",
    ),
}

# Two plain-text versions too short and anchor-poor to be paired by their content: sidecars join them.
SIDECAR_PAIR = {
    "cocina.txt": (
        "La sopa de la abuela\n\nSe cortan las verduras muy finas y se cuecen despacio con un poco de aceite. "
        "Después se añade agua caliente y se deja hervir hasta que todo queda tierno y sabroso.\n"
    ),
    "cucina.txt": (
        "La zuppa della nonna\n\nSi tagliano le verdure molto sottili e si cuociono piano con un filo d'olio. "
        "Poi si aggiunge acqua calda e si lascia bollire finché tutto diventa tenero e saporito.\n"
    ),
}

ARTICLE = (
    "Volunteers counted migrating cranes along the river valley this weekend, the largest survey the county has "
    "organised since the wetlands were restored.\n\n"
    "Teams of two walked fixed stretches of the riverbank at dawn and noted every flock they saw, along with the "
    "time, the direction of flight and the weather. Organisers said the early start mattered because the birds "
    "leave their roosts soon after first light and spread out across the fields to feed.\n\n"
    "Early figures suggest that numbers have doubled since the previous survey, which the organisers put down to "
    "the flooded meadows that now give the cranes safe places to rest on their way south. Farmers in the valley "
    "have agreed to leave some of the stubble in their fields until the end of the month.\n\n"
    "The final report will be published in the spring, together with maps of the resting places and advice for "
    "walkers who want to watch the birds without disturbing them."
)
DUPLICATES = {
    "cranes-daily.txt": (
        "Home | News | Nature | Sport | Subscribe\n\nCranes return to the valley\n\n"
        + ARTICLE
        + "\n\nShare this story. Sign up for our morning newsletter. © Valley Daily, all rights reserved.\n"
    ),
    "cranes-weekly.txt": (
        "Valley Weekly — independent local journalism\n\nMenu Search Log in\n\nCranes return to the valley\n\n"
        + ARTICLE
        + "\n\nRelated: Flood defences finished ahead of winter. Comments are closed for this article.\n"
    ),
}


# --- helpers --------------------------------------------------------------------------------------------------


def groups_of(corpus: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Group id → its group record, as corpus.json gives it on each member."""
    found: dict[str, dict[str, Any]] = {}
    for document in corpus["documents"]:
        if document["group"]:
            found.setdefault(document["group"]["id"], document["group"])
    return found


def versions_line(page: BeautifulSoup) -> Tag | None:
    """The paragraph naming the document's other versions ("Also in: …")."""
    main = page.find("main")
    assert isinstance(main, Tag)
    found = [tag for tag in main.find_all("p") if tag.get_text(" ", strip=True).startswith("Also in")]
    assert len(found) <= 1
    return found[0] if found else None


def language_names(page: BeautifulSoup) -> dict[str, str]:
    """Language code → the name the site's navigation shows for it."""
    return {str(link["lang"]): link.get_text(strip=True) for link in page.select("header .langs a[lang]")}


def alternates(out: Path, page_path: Path) -> set[tuple[str, Path]]:
    page = parse(page_path)
    links = page.select('head link[rel="alternate"][hreflang]')
    found = set()
    for link in links:
        resolved = link_target(out, page_path, str(link["href"]))
        assert resolved is not None and resolved.is_file(), link
        found.add((str(link["hreflang"]), resolved))
    assert len(found) == len(links), "an hreflang alternate is repeated"
    return found


def parallel_page_of(out: Path, doc_page: Path) -> Path:
    """The side-by-side page the document's "Also in" line links to."""
    line = versions_line(parse(doc_page))
    assert line is not None
    links = [link for link in line.find_all("a", href=True) if "side by side" in link.get_text()]
    assert len(links) == 1, line
    found = link_target(out, doc_page, str(links[0]["href"]))
    assert found is not None and found.is_file()
    return found


def pair_on(out: Path, parallel: Path) -> tuple[Path, Path]:
    """The two documents a parallel page shows, from the links at the top of its columns."""
    page = parse(parallel)
    heads = page.select(".parallel-head a[href]")
    assert len(heads) == 2, heads
    found = [link_target(out, parallel, str(link["href"])) for link in heads]
    assert all(path is not None and path.is_file() for path in found)
    return found[0], found[1]  # type: ignore[return-value]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- the seeds ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(seed_site: Path) -> dict[str, Any]:
    return load_json(seed_site)


def test_seeds_form_the_two_expected_pairs_and_002_stands_alone(corpus: dict[str, Any]) -> None:
    groups = groups_of(corpus)
    prefix = {document["id"]: document["source"][:3] for document in corpus["documents"]}
    assert {frozenset(prefix[member] for member in group["members"]) for group in groups.values()} == {
        frozenset({"000", "001"}),
        frozenset({"003", "004"}),
    }
    alone = [document for document in corpus["documents"] if document["source"].startswith("002")]
    assert len(alone) == 1 and alone[0]["group"] is None


def test_corpus_json_carries_group_and_duplicates_on_every_document(corpus: dict[str, Any]) -> None:
    for document in corpus["documents"]:
        assert "group" in document and "duplicates" in document
        assert document["duplicates"] == []  # the seeds hold no copy of one article
        group = document["group"]
        if group is None:
            continue
        assert set(group) >= {"id", "score", "explicit", "members"}
        assert document["id"] in group["members"] and len(group["members"]) == len(set(group["members"])) >= 2
        assert group["explicit"] is False  # nothing in the seeds says so: their content does
        assert isinstance(group["score"], float) and 0 < group["score"] <= 1
        assert re.fullmatch(r"[A-Za-z0-9._~-]+", group["id"]), "a group id must be safe in a file name"
    for group in groups_of(corpus).values():
        for member in group["members"]:  # every member tells the same story
            entry = next(document for document in corpus["documents"] if document["id"] == member)
            assert entry["group"] == group


def test_every_version_names_the_others_in_also_in_with_working_links(seed_site: Path, corpus: dict[str, Any]) -> None:
    by_id = {document["id"]: document for document in corpus["documents"]}
    for group in groups_of(corpus).values():
        for member in group["members"]:
            page_path = seed_site / by_id[member]["url"]
            page = parse(page_path)
            names = language_names(page)
            line = versions_line(page)
            assert line is not None, f"{page_path.name} does not name its other versions"
            links = [link for link in line.find_all("a", href=True) if "side by side" not in link.get_text()]
            opened = {link_target(seed_site, page_path, str(link["href"])) for link in links}
            others = [by_id[other] for other in group["members"] if other != member]
            assert opened == {seed_site / other["url"] for other in others}
            assert all(path is not None and path.is_file() for path in opened)
            for link in links:
                other = next(
                    o for o in others if seed_site / o["url"] == link_target(seed_site, page_path, link["href"])
                )
                assert link.get_text(strip=True) == names[other["lang"]], "the link names the version's language"
                assert link.get("hreflang") == other["lang"]
                assert link.find(lang=other["lang"]) or link.get("lang") == other["lang"] or other["lang"] == "en"


def test_hreflang_alternates_are_reciprocal_and_include_the_page_itself(
    seed_site: Path, corpus: dict[str, Any]
) -> None:
    by_id = {document["id"]: document for document in corpus["documents"]}
    for group in groups_of(corpus).values():
        expected = {(by_id[member]["lang"], seed_site / by_id[member]["url"]) for member in group["members"]}
        for member in group["members"]:
            assert alternates(seed_site, seed_site / by_id[member]["url"]) == expected
    for document in corpus["documents"]:
        if document["group"] is None:
            page_path = seed_site / document["url"]
            assert alternates(seed_site, page_path) == set()
            assert versions_line(parse(page_path)) is None


def test_parallel_pages_link_both_versions_and_pair_every_segment(seed_site: Path, corpus: dict[str, Any]) -> None:
    by_id = {document["id"]: document for document in corpus["documents"]}
    for group in groups_of(corpus).values():
        members = group["members"]
        parallel = parallel_page_of(seed_site, seed_site / by_id[members[0]]["url"])
        assert parallel.parent.name == "parallel"
        for member in members[1:]:  # every version points at the same side-by-side page
            assert parallel_page_of(seed_site, seed_site / by_id[member]["url"]) == parallel
        assert set(pair_on(seed_site, parallel)) == {seed_site / by_id[member]["url"] for member in members}
        page = parse(parallel)
        langs = {by_id[member]["lang"] for member in members}
        beads = page.select("[data-parallel] .bead")
        assert beads, f"{parallel.name} shows no aligned segments"
        segments = page.select("[data-parallel] .seg")
        ids = {str(seg["id"]): seg for seg in segments}
        with_counterpart = 0
        for bead in beads:
            sides = bead.select(".side")
            assert len(sides) == 2
            assert bead.select(".seg"), "a bead with nothing in it"
            for side in sides:
                assert side.select(".seg") or side.select(".none"), "an empty side says there is no counterpart"
            assert re.search(r"\d+\s*%", bead.select_one(".conf").get_text()), "each pair shows its confidence"
        for seg in segments:
            assert seg.get("lang") in langs, f"segment without its language: {seg}"
            side = seg.find_parent(class_="side")
            counterparts = str(seg.get("data-counterpart", "")).split()
            for other_id in counterparts:
                other = ids.get(other_id)
                assert other is not None, f"{seg['id']} names a counterpart that is not on the page"
                assert other.find_parent(class_="side") is not side
                assert other.find_parent(class_="bead") is seg.find_parent(class_="bead")
                assert seg["id"] in str(other.get("data-counterpart", "")).split(), "counterparts are mutual"
                assert other.get("lang") != seg.get("lang")
            with_counterpart += bool(counterparts)
        assert with_counterpart >= 0.6 * len(segments), f"{parallel.name}: most segments should have a counterpart"


def test_the_index_shows_one_row_per_text_and_every_title(seed_site: Path, corpus: dict[str, Any]) -> None:
    page = parse(seed_site / "index.html")
    rows = page.select("main table tbody tr")
    groups = groups_of(corpus)
    alone = [document for document in corpus["documents"] if document["group"] is None]
    assert len(rows) == len(groups) + len(alone) == 3
    for document in corpus["documents"]:
        holding = [row for row in rows if row.find("a", href=document["url"])]
        assert len(holding) == 1, f"{document['source']} should sit in exactly one row"
        titles = [link.get_text(strip=True) for link in holding[0].find_all("a", href=document["url"])]
        assert document["title"] in titles
        badges = {badge.get_text(strip=True) for badge in holding[0].select(".badge")}
        assert document["lang"] in badges
    by_id = {document["id"]: document for document in corpus["documents"]}
    for group in groups.values():
        row = next(row for row in rows if row.find("a", href=by_id[group["members"][0]]["url"]))
        assert all(row.find("a", href=by_id[member]["url"]) for member in group["members"])
        assert row.find("a", href=re.compile(r"^parallel/")), "a grouped row links to its side-by-side reading"


def test_alignments_jsonl_covers_every_segment_of_every_pair_in_order(seed_site: Path, corpus: dict[str, Any]) -> None:
    lines = (seed_site / "alignments.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records
    groups = groups_of(corpus)
    by_pair: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        assert set(record) >= {"group", "index", "level", "confidence", "left", "right"}
        assert record["level"] in ("paragraph", "sentence") and 0 <= record["confidence"] <= 1
        assert record["left"]["segments"] or record["right"]["segments"]
        by_pair.setdefault((record["group"], record["left"]["doc"], record["right"]["doc"]), []).append(record)
    expected_pairs = {
        (group_id, *sorted(pair, key=group["members"].index))
        for group_id, group in groups.items()
        for pair in combinations(group["members"], 2)
    }
    assert set(by_pair) == expected_pairs
    for (_, left, right), beads in by_pair.items():
        assert [bead["index"] for bead in beads] == list(range(len(beads)))
        for side, doc_id in (("left", left), ("right", right)):
            text = (seed_site / "docs" / f"{doc_id}.txt").read_text(encoding="utf-8")
            joined = "".join(segment for bead in beads for segment in bead[side]["segments"])
            # Every segment once, in the document's order, and nothing left out.
            assert squeeze(joined) == squeeze(text), f"{doc_id}: aligned segments differ from the text"


def test_alignments_tmx_parses_with_translation_units(seed_site: Path, corpus: dict[str, Any]) -> None:
    root = ET.parse(seed_site / "alignments.tmx").getroot()
    assert root.tag == "tmx" and root.get("version") == "1.4"
    header = root.find("header")
    assert header is not None and header.get("srclang") and header.get("segtype") and header.get("datatype")
    units = root.findall("body/tu")
    records = [json.loads(line) for line in (seed_site / "alignments.jsonl").read_text(encoding="utf-8").splitlines()]
    both_sides = [record for record in records if record["left"]["segments"] and record["right"]["segments"]]
    assert len(units) == len(both_sides) > 0
    langs = {document["lang"] for document in corpus["documents"] if document["group"]}
    for unit in units:
        variants = unit.findall("tuv")
        assert len(variants) == 2
        assert {variant.get(XML_LANG) for variant in variants} <= langs
        assert variants[0].get(XML_LANG) != variants[1].get(XML_LANG)
        for variant in variants:
            segment = variant.find("seg")
            assert segment is not None and (segment.text or "").strip()


# --- corpora the tests write --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, corpus: dict[str, Any]) -> Path:
    """A group of three by key, a pair joined by sidecars, an automatic pair split by one, and two copies."""
    seeds = tmp_path_factory.mktemp("translation-seeds")
    for lang, (title, body) in LIGHTHOUSE.items():
        front = f"---\ntitle: {title}\nlang: {lang}\ntranslation_key: Ravenscar lighthouse\n---\n\n"
        write_files(seeds, {f"lighthouse-{lang}.md": front + body + "\n"})
    write_files(seeds, SIDECAR_PAIR)
    write_files(seeds, {Path(name).stem + ".yaml": "translation_key: grandmother's soup\n" for name in SIDECAR_PAIR})
    # The seeds' first automatic pair, copied; one of them opts out in a sidecar the user writes beside it.
    first = next(group for group in groups_of(corpus).values())
    sources = [next(d["source"] for d in corpus["documents"] if d["id"] == m) for m in first["members"]]
    for source in sources:
        shutil.copy(SEEDS / source, seeds / source)
    write_files(seeds, {Path(sources[0]).stem + ".yaml": "translation_key: none\n"})
    write_files(seeds, DUPLICATES)
    out = tmp_path_factory.mktemp("translation-site") / "site"
    build(seeds, out, cache=False)
    return out


def document_by_source(corpus: dict[str, Any], source: str) -> dict[str, Any]:
    return next(document for document in corpus["documents"] if document["source"] == source)


def test_a_group_of_three_reaches_every_language_pair_by_plain_links(written: Path) -> None:
    data = load_json(written)
    members = [document_by_source(data, f"lighthouse-{lang}.md") for lang in LIGHTHOUSE]
    group = members[0]["group"]
    assert group is not None and group["explicit"] is True and group["score"] == 1.0
    assert sorted(group["members"]) == sorted(member["id"] for member in members)
    pages = {written / member["url"]: member for member in members}
    # Follow links only (as without JavaScript) from one document's page, through the parallel pages.
    start = next(iter(pages))
    queue, seen = [parallel_page_of(written, start)], set()
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        for link in parse(current).find_all("a", href=True):
            found = link_target(written, current, str(link["href"]))
            if found is not None and found.parent.name == "parallel" and found not in seen:
                assert found.is_file(), f"{current.name} links to a missing {found.name}"
                queue.append(found)
    shown = {frozenset(pair_on(written, page)) for page in seen}
    assert shown == {frozenset(pair) for pair in combinations(pages, 2)}, "every two of the three, side by side"
    assert len(seen) == 3
    for page_path in seen:
        page = parse(page_path)
        names = language_names(page)
        chooser = page.select("nav.pair-links a[href]")  # the reader chooses the two languages
        assert len(chooser) == 2
        left, right = pair_on(written, page_path)
        for link in chooser:
            label = link.get_text(" ", strip=True)
            assert sum(names[member["lang"]] in label for member in members) == 2, label
        here = f"{names[pages[left]['lang']]} · {names[pages[right]['lang']]}"
        assert here not in [link.get_text(" ", strip=True) for link in chooser], "the pair shown is not offered"
    for page_path, member in pages.items():
        page = parse(page_path)
        line = versions_line(page)
        assert line is not None
        named = {link.get("hreflang") for link in line.find_all("a", hreflang=True)}
        assert named == {other["lang"] for other in members if other is not member}
        assert alternates(written, page_path) == {(other["lang"], written / other["url"]) for other in members}


def test_sidecars_join_two_text_files_and_can_split_an_automatic_pair(written: Path, corpus: dict[str, Any]) -> None:
    data = load_json(written)
    joined = [document_by_source(data, name) for name in SIDECAR_PAIR]
    group = joined[0]["group"]
    assert group is not None and group["explicit"] is True
    assert sorted(group["members"]) == sorted(document["id"] for document in joined)
    for document in joined:
        line = versions_line(parse(written / document["url"]))
        assert line is not None
        other = next(o for o in joined if o is not document)
        assert line.find("a", href=f"{other['id']}.html", hreflang=other["lang"])
    # The seeds' automatic pair is no pair once one of the two says translation_key: none.
    first = next(group for group in groups_of(corpus).values())
    copies = [
        document_by_source(data, next(d["source"] for d in corpus["documents"] if d["id"] == m))
        for m in first["members"]
    ]
    for document in copies:
        assert document["group"] is None, f"{document['source']} should stand alone"
        page_path = written / document["url"]
        assert versions_line(parse(page_path)) is None
        assert alternates(written, page_path) == set()
    index = parse(written / "index.html")
    assert len(index.select("main table tbody tr")) == len(data["documents"]) - 2 - 1  # three in one row, two in one


def test_corpus_json_entries_are_written_as_json_dumps_writes_them(written: Path) -> None:
    # Each entry is joined from parts kept from build to build (render.EncodedEntries): the same bytes all the same.
    lines = (written / "corpus.json").read_text(encoding="utf-8").split("\n")
    entries = [line.removesuffix(",") for line in lines if line.startswith('{"id": ')]
    assert any('"duplicates": ["' in entry for entry in entries) and any('"group": {"id"' in entry for entry in entries)
    for entry in entries:
        assert entry == json.dumps(json.loads(entry), ensure_ascii=False)


def test_near_duplicates_link_each_other_and_are_not_translations(written: Path) -> None:
    data = load_json(written)
    copies = [document_by_source(data, name) for name in DUPLICATES]
    assert copies[0]["lang"] == copies[1]["lang"] == "en"
    for document, other in (copies, copies[::-1]):
        assert document["duplicates"] == [other["id"]]
        assert document["group"] is None
        page_path = written / document["url"]
        page = parse(page_path)
        assert versions_line(page) is None, "a copy is not another language version"
        assert alternates(written, page_path) == set()
        links = [
            link
            for link in page.select("main a[href]")
            if link_target(written, page_path, str(link["href"])) == written / other["url"]
            and not link.find_parent("nav")
        ]
        assert links, f"{document['source']} does not link its near-duplicate"
        assert other["source"] in links[0].get_text()
        holder = links[0].find_parent("dd")
        assert holder is not None and "duplicate" in holder.find_previous_sibling("dt").get_text().lower()
    # The rest of the corpus has no duplicates; each copy keeps its own row in the index.
    assert Counter(bool(document["duplicates"]) for document in data["documents"])[True] == 2
    rows = parse(written / "index.html").select("main table tbody tr")
    for document in copies:
        assert sum(bool(row.find("a", href=document["url"])) for row in rows) == 1
    assert not any(all(row.find("a", href=document["url"]) for document in copies) for row in rows)
