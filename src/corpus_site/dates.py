"""Date lines a scraper leaves in text ("First seen: 2025-07-07 11:26") → ISO 8601 metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime

MONTHS = {  # month names (and abbreviations) in the languages we read dates in, lower case → 1..12
    name: number
    for number, names in enumerate(
        (
            "january jan janeiro jan janvier janv enero ene januar jän gennaio gen",
            "february feb fevereiro fev février fevrier févr fevr febrero febr februar febbraio",
            "march mar março marco mars marzo märz maerz",
            "april apr abril abr avril avr aprile",
            "may maio mai mayo maggio mag",
            "june jun junho juin junio juni giugno giu",
            "july jul julho juillet juil julio juli luglio lug",
            "august aug agosto ago août aout",
            "september sep sept setembro set septembre septiembre setiembre settembre",
            "october oct outubro out octobre octubre oktober okt ottobre ott",
            "november nov novembro novembre noviembre",
            "december dec dezembro dez décembre decembre déc dic diciembre dezember dicembre",
        ),
        start=1,
    )
    for name in names.split()
}

# Which metadata field a line's leading label fills.
_LABELS = {
    "published": "published",
    "published on": "published",
    "published at": "published",
    "posted": "published",
    "posted on": "published",
    "publicado": "published",
    "publicado em": "published",
    "publicado el": "published",
    "publicado a": "published",
    "publié": "published",
    "publié le": "published",
    "date": "published",
    "data": "published",
    "fecha": "published",
    "datum": "published",
    "first seen": "first_seen",
    "last seen": "last_seen",
    "updated": "updated",
    "updated on": "updated",
    "last updated": "updated",
    "modified": "updated",
    "atualizado em": "updated",
    "mis à jour le": "updated",
    "发布时间": "published",
    "发布于": "published",
}
_LABEL = re.compile(
    r"^\s*(?P<label>"
    + "|".join(sorted(map(re.escape, _LABELS), key=len, reverse=True))
    + r")(?:\s*[:：]\s*|\s+)(?P<rest>\S.*)$",
    re.IGNORECASE,
)
_TIME = r"(?P<H>\d{1,2})[:h](?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?)(?![^\W\d_]))?"
_ISO = re.compile(
    r"(?<!\d)(?P<y>\d{4})([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?!\d)(?:(?:T|\s+|,\s*)"
    + _TIME.replace("[:h]", ":")
    + ")?"
)
_MONTH_FIRST = re.compile(
    r"(?<![^\W\d_])(?P<mon>[^\W\d_]{3,10})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})(?!\d)"
    r"(?:,?\s+(?:at\s+)?" + _TIME + ")?"
)
_DAY_FIRST = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th|er|º|°|\.)?\s+(?:de\s+)?(?P<mon>[^\W\d_]{3,10})\.?,?\s+(?:de\s+)?(?P<y>\d{4})(?!\d)"
    r"(?:,?\s+(?:à\s+|às\s+|a\s+las\s+|at\s+|um\s+)?" + _TIME + ")?"
)
_CJK = re.compile(
    r"(?P<y>\d{4})\s*[年년]\s*(?P<m>\d{1,2})\s*[月월]\s*(?P<d>\d{1,2})\s*[日일]?"
    r"(?:\s*(?P<H>\d{1,2})[:：时時](?P<M>\d{2}))?"
)
_MAX_LINE = 80  # a date line is short; a long line that mentions a date is prose
_TIME_OR_DAY = re.compile(r"\d{1,2}\s*[月월]\s*\d{1,2}\s*[日일]|(?<![\d:])\d{1,2}:\d{2}(?![\d:])")


def parse_date(text: str) -> str | None:
    """The first recognisable date in `text` as ISO 8601 ("2025-07-10" or "2025-07-10T20:06"), or None."""
    found = [
        (match.start(), iso)
        for pattern in (_ISO, _CJK, _MONTH_FIRST, _DAY_FIRST)
        for match, iso in _dates(pattern, text)
    ]
    return min(found)[1] if found else None


def _dates(pattern: re.Pattern[str], text: str) -> Iterator[tuple[re.Match[str], str]]:
    for match in pattern.finditer(text):
        iso = _to_iso(match.groupdict())
        if iso:
            yield match, iso
            return


def date_line(line: str) -> tuple[str, str] | None:
    """(field, ISO date) when `line` is a labelled date line such as "Last seen: …"."""
    if len(line) > _MAX_LINE:
        return None
    match = _LABEL.match(line)
    if not match:
        return None
    iso = parse_date(match["rest"])
    return (_LABELS[match["label"].lower()], iso) if iso else None


def looks_like_dateline(line: str) -> bool:
    """A short line that is mostly a date or time, such as "Site 07月11日 04:12"."""
    stripped = line.strip()
    if not stripped or len(stripped) > _MAX_LINE:
        return False
    return bool(parse_date(stripped) or _TIME_OR_DAY.search(stripped))


def _to_iso(parts: dict[str, str | None]) -> str | None:
    month = parts.get("m")
    if month is None:
        name = (parts.get("mon") or "").lower()
        if name not in MONTHS:
            return None
        month = str(MONTHS[name])
    try:
        day = date(int(parts["y"] or 0), int(month), int(parts["d"] or 0))
    except ValueError:
        return None
    if parts.get("H") is None:
        return day.isoformat()
    hour, minute = int(parts["H"] or 0), int(parts["M"] or 0)
    ampm = (parts.get("ampm") or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    seconds = parts.get("S")
    try:
        moment = datetime(day.year, day.month, day.day, hour, minute, int(seconds or 0))
    except ValueError:
        return day.isoformat()
    return moment.isoformat(timespec="seconds" if seconds else "minutes")
