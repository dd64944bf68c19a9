"""Date lines a scraper leaves in text ("First seen: 2025-07-07 11:26") → ISO 8601 metadata."""

from __future__ import annotations

import re
from datetime import date, datetime

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "january jan janeiro janvier enero januar gennaio",
            "february feb fevereiro février fevrier febrero februar febbraio",
            "march mar março marco mars marzo märz",
            "april apr abril avril aprile",
            "may maio mai mayo maggio",
            "june jun junho juin junio juni giugno",
            "july jul julho juillet julio juli luglio",
            "august aug agosto août aout",
            "september sep sept setembro septembre septiembre settembre",
            "october oct outubro octobre octubre oktober ottobre",
            "november nov novembro novembre noviembre",
            "december dec dezembro décembre decembre diciembre dezember dicembre",
        ),
        start=1,
    )
    for name in names.split()
}

# Which metadata field a line's leading label fills.
_LABELS = {
    "published": "published",
    "published on": "published",
    "posted": "published",
    "posted on": "published",
    "publicado": "published",
    "publicado em": "published",
    "publicado el": "published",
    "publié le": "published",
    "date": "published",
    "first seen": "first_seen",
    "last seen": "last_seen",
    "updated": "updated",
    "last updated": "updated",
    "modified": "updated",
}
_LABEL = re.compile(
    r"^\s*(?P<label>" + "|".join(sorted(map(re.escape, _LABELS), key=len, reverse=True)) + r")\s*:?\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?")
_MONTH_FIRST = re.compile(
    r"(?P<mon>[^\W\d_]+)\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"
    r"(?:,?\s+(?:at\s+)?(?P<H>\d{1,2}):(?P<M>\d{2})\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
)
_DAY_FIRST = re.compile(
    r"(?P<d>\d{1,2})\.?\s+(?:de\s+)?(?P<mon>[^\W\d_]+)\.?\s+(?:de\s+)?(?P<y>\d{4})"
    r"(?:,?\s+(?:à\s+|às\s+|at\s+)?(?P<H>\d{1,2})[:h](?P<M>\d{2}))?"
)
_CJK = re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日(?:\s*(?P<H>\d{1,2}):(?P<M>\d{2}))?")
_MAX_LINE = 80  # a date line is short; a long line that mentions a date is prose


def parse_date(text: str) -> str | None:
    """The first recognisable date in `text` as ISO 8601, or None."""
    for pattern in (_ISO, _CJK, _MONTH_FIRST, _DAY_FIRST):
        match = pattern.search(text)
        if match and (iso := _to_iso(match.groupdict())):
            return iso
    return None


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
    if date_line(stripped) or parse_date(stripped):
        return True
    return bool(re.search(r"\d{1,2}月\d{1,2}日|\b\d{1,2}:\d{2}\b", stripped))


def _to_iso(parts: dict[str, str | None]) -> str | None:
    month = parts.get("m")
    if month is None:
        name = (parts.get("mon") or "").lower()
        if name not in _MONTHS:
            return None
        month = str(_MONTHS[name])
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
    try:
        moment = datetime(day.year, day.month, day.day, hour, minute, int(parts.get("S") or 0))
    except ValueError:
        return day.isoformat()
    return moment.isoformat(timespec="minutes" if not parts.get("S") else "seconds")
