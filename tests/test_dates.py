import pytest

from corpus_site.dates import date_line, looks_like_dateline, parse_date


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Published on July 10, 2025 8:06 PM GMT", ("published", "2025-07-10T20:06")),
        ("Published on July 10, 2025 at 8:06 am", ("published", "2025-07-10T08:06")),
        ("Published on July 10, 2025 12:30 AM", ("published", "2025-07-10T00:30")),
        ("First seen: 2025-07-07 11:26", ("first_seen", "2025-07-07T11:26")),
        ("Last seen: 2025-07-08 17:31", ("last_seen", "2025-07-08T17:31")),
        ("last seen 2025-07-08", ("last_seen", "2025-07-08")),
        ("Date: 2025-07-10T20:06:33Z", ("published", "2025-07-10T20:06:33")),
        ("Date:2025/07/10", ("published", "2025-07-10")),
        ("Posted on Thursday, July 10, 2025", ("published", "2025-07-10")),
        ("Updated: Sept. 3, 2024, 12:15 a.m.", ("updated", "2024-09-03T00:15")),
        ("Published: 10 July 2025", ("published", "2025-07-10")),
        ("Publicado em 10 de julho de 2025", ("published", "2025-07-10")),
        ("Publicado em 3 de março de 2025 às 14:05", ("published", "2025-03-03T14:05")),
        ("Publié le 1er juillet 2025 à 20h06", ("published", "2025-07-01T20:06")),
        ("Publié le 12 février 2024", ("published", "2024-02-12")),
        ("Mis à jour le 3 août 2024", ("updated", "2024-08-03")),
        ("Publicado el 3 de septiembre de 2024", ("published", "2024-09-03")),
        ("Fecha: 25 diciembre 2023", ("published", "2023-12-25")),
        ("Datum: 3. März 2025", ("published", "2025-03-03")),
        ("发布时间：2025年7月10日 20:06", ("published", "2025-07-10T20:06")),
    ],
)
def test_labelled_date_lines(line, expected):
    assert date_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Published on a whim",
        "Date: 2025-02-30",  # no such day
        "Date: 2025-13-01",
        "date: tomorrow",
        "Opus 4, 2025",
        "Last seen: somewhere in July",
        "First seen: " + "2025-07-07 " * 20,  # too long for a date line: that is prose
        "12025-07-07",
        "",
    ],
)
def test_lines_that_are_not_date_lines(line):
    assert date_line(line) is None


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2025-07-10", "2025-07-10"),
        ("2025.07.10 08:15", "2025-07-10T08:15"),
        ("10 July 2025", "2025-07-10"),
        ("July 10th, 2025", "2025-07-10"),
        ("2025年7月10日", "2025-07-10"),
        ("2025년 7월 10일", "2025-07-10"),
        ("10 de julho de 2025", "2025-07-10"),
        ("10 juillet 2025", "2025-07-10"),
        ("10 de julio de 2025", "2025-07-10"),
        ("le 2 décembre 2024", "2024-12-02"),
        ("Thursday, July 10, 2025 and then 2026-01-01", "2025-07-10"),  # the first date in the text
        ("Opus 4, 2025 came before July 10, 2025", "2025-07-10"),  # a word that is not a month is passed over
    ],
)
def test_parse_date_forms(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("少点错误 07月11日 04:12", True),
        ("Published on July 10, 2025 8:06 PM GMT", True),
        ("10 July 2025", True),
        ("what makes Claude 3 Opus misaligned", False),
        ("Claude 3.5 Sonnet", False),
        ("Chapter 4: 2025 edition of the report, with many words that go on and on past eighty columns 12:30", False),
    ],
)
def test_looks_like_dateline(line, expected):
    assert looks_like_dateline(line) is expected


def test_a_five_megabyte_line_is_not_a_date_line():
    line = "Published on July 10, 2025 " + "x" * 5_000_000
    assert date_line(line) is None
    assert looks_like_dateline(line) is False
