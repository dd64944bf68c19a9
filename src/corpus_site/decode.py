"""Seed bytes → text: encoding detection, NFC, line ends; binary files are refused."""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

# Characters that have no place in text: C0/C1 controls but tab and newline, and Unicode noncharacters
# (the HTML checker rejects them). Line-end characters are turned into "\n" before this runs.
_BMP_CONTROLS = "\x00-\x08\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff"
_CONTROL = re.compile(
    f"[{_BMP_CONTROLS}"
    + "".join(f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0x10000, 0x110000, 0x10000))
    + "]"
)
# Every character of _CONTROL, and the planes above U+1FFFE in one range: sre tests a class of one range per
# character quickly, but the 32 astral noncharacters one by one (116 µs instead of 10 µs for a 3 KB text).
_MAYBE_CONTROL = re.compile(f"[{_BMP_CONTROLS}\U0001fffe-\U0010ffff]")
_LINE_ENDS = re.compile("\r\n?|[\x0b\x0c\x85\u2028]")
# Bytes that mark binary data: C0 controls but tab, line ends, form feed and escape (ANSI colours).
_BINARY_BYTES = bytes([*range(0, 9), *range(14, 27), *range(28, 32)])
_TEXT_BYTES = bytes(byte for byte in range(256) if byte not in _BINARY_BYTES)
_SAMPLE = 64 * 1024
_BINARY_SHARE = 0.05  # control bytes (or removed control characters) above this share mean binary
_MIN_BINARY = 8  # ... and at least this many: stray control characters in a short note are damage, not binary
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive or office document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", None),  # only with a digit after it: see _magic
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\x7fELF", "executable"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x00asm", "WebAssembly module"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
)
# Encodings a non-UTF-8 seed may be in besides cp1252; charset-normalizer chooses among them.
# EBCDIC, UTF-16/32 without a BOM and the like are left out: on short text they win by accident.
_LEGACY = (
    "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "koi8_r", "koi8_u", "mac_cyrillic", "iso8859_2", "iso8859_5", "iso8859_7", "iso8859_8",
    "cp874", "gb18030", "big5", "cp932", "euc_jp", "cp949", "cp1252",
)  # fmt: skip
_CP1252_UNDEFINED = re.compile(b"[\x81\x8d\x8f\x90\x9d]")
_CARON = re.compile("[šžŠŽ]")
_CP1250_LETTERS_AS_CP1252 = re.compile("[èìòùøïæðþãåÈÌÒÙØÏÆÐÞÃÅ]")
_LONG_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]{3,}")
_ACCENTS_ONLY_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_\x00-\x7f]{3,}(?![^\W\d_])")
# The symbols Windows-1252 has above ASCII, less those at home between two letters in Western text
# (’ ‘ · – — and the soft hyphen): one of them inside a word means the text is in another code page.
_SYMBOL_IN_WORD = re.compile(
    r"(?<=[^\W\d_])[\u00a1-\u00a9\u00ab\u00ac\u00ae-\u00b4\u00b6\u00b8\u00b9\u00bb-\u00bf\u00d7\u00f7"
    r"€‚„…†‡ˆ‰‹“”•˜™›](?=[^\W\d_])"
)
_UTF8_REPLACEMENT = "\ufffd".encode()


class UndecodableError(ValueError):
    """The bytes are not text this tool can read; the message is the reason."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text ready for parsing (NFC, "\\n" line ends), the encoding it was in, and what was repaired."""

    text: str
    encoding: str
    warnings: tuple[tuple[str, int | None], ...] = ()  # (message, 1-based line or None)


def decode(data: bytes) -> Decoded:
    """Decode a seed's bytes or raise UndecodableError saying why they are not text."""
    if not data:
        raise UndecodableError("empty file")
    warnings: list[tuple[str, int | None]] = []
    text, encoding = _decode_raw(data, warnings)
    text = _LINE_ENDS.sub("\n", text.replace("\u2029", "\n\n"))
    text, removed = _remove_controls(text, warnings)
    if not text.strip():
        raise UndecodableError("no text, only control characters" if removed else "no text, only whitespace")
    if removed > max(_MIN_BINARY, len(text) * _BINARY_SHARE):
        raise UndecodableError(f"binary file ({removed} control characters)")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return Decoded(text, encoding, tuple(warnings))


def _decode_raw(data: bytes, warnings: list[tuple[str, int | None]]) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_unicode(data[len(bom) :], encoding, warnings), encoding
    sample = data[:_SAMPLE]
    controls = len(sample.translate(None, _TEXT_BYTES))
    kind = _magic(data, controls > 0)
    if kind:
        raise UndecodableError(f"binary file ({kind})")
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return _decode_unicode(data, utf16, warnings), utf16
    nuls = sample.count(0)  # text almost never holds NUL: two of them in a short file are enough
    if controls > max(_MIN_BINARY, len(sample) * _BINARY_SHARE) or nuls > max(1, len(sample) * _BINARY_SHARE):
        raise UndecodableError("binary file (it contains NUL or other control bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        first_error = error
    repaired = _mostly_utf8(data, first_error, warnings)
    if repaired is not None:
        return repaired, "utf-8"
    return _decode_legacy(data)


def _magic(data: bytes, has_controls: bool) -> str | None:
    """The kind of a well-known binary file. A signature in plain letters ("GIF89a", "%PDF-") only
    counts when control bytes follow: a note may well begin with those words."""
    for signature, kind in _MAGIC:
        if data.startswith(signature) and (has_controls or any(byte < 32 or byte > 126 for byte in signature)):
            if kind is None:  # bzip2: "BZh" then the block size digit then the block magic
                return "bzip2 archive" if data[3:4].isdigit() and data[4:10] == b"1AY&SY" else None
            return kind
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 of mostly-ASCII text shows as a NUL in every other byte."""
    if len(sample) < 4:
        return None
    sample = sample[: len(sample) // 2 * 2]
    half = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= half * 0.9 and even <= half * 0.02:
        return "utf-16-le"
    if even >= half * 0.9 and odd <= half * 0.02:
        return "utf-16-be"
    return None


def _decode_unicode(data: bytes, encoding: str, warnings: list[tuple[str, int | None]]) -> str:
    """A Unicode encoding we are sure of: a cut-off last character or a few bad units are repaired."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        if error.reason in ("truncated data", "unexpected end of data") and error.end == len(data):
            text = data[: error.start].decode(encoding, "replace")
            warnings.append(
                (
                    "the file ends in the middle of a character (cut short?); the partial character was dropped",
                    text.count("\n") + 1,
                )
            )
            return text
        text = data.decode(encoding, "replace")
        bad = text.count("\ufffd")
        if bad > max(_MIN_BINARY, len(text) * _BINARY_SHARE):
            raise UndecodableError(
                f"not valid {encoding} although it starts with a {encoding} byte-order mark"
            ) from None
        line = data[: error.start].decode(encoding, "replace").count("\n") + 1
        warnings.append((f"{bad} invalid {encoding} sequence(s) replaced with U+FFFD", line))
        return text


def _mostly_utf8(data: bytes, error: UnicodeDecodeError, warnings: list[tuple[str, int | None]]) -> str | None:
    """UTF-8 with damage: a cut-off last character, or a few stray 8-bit bytes among many UTF-8 characters."""
    if error.reason == "unexpected end of data" and error.end == len(data):
        text = data[: error.start].decode("utf-8")  # valid: this is the first error
        if not text.isascii():  # UTF-8 characters before the cut; a lone high byte after ASCII is cp1252
            warnings.append(
                (
                    "the file ends in the middle of a UTF-8 character (cut short?); the partial character was dropped",
                    text.count("\n") + 1,
                )
            )
            return text
    lenient = data.decode("utf-8", "replace")
    bad = lenient.count("\ufffd") - data.count(_UTF8_REPLACEMENT)
    multibyte = len(lenient) - len(lenient.encode("ascii", "ignore")) - lenient.count("\ufffd")
    if multibyte < 3 * bad:
        return None  # mostly 8-bit: a legacy encoding
    # The stray bytes are most likely Windows-1252 pasted into UTF-8 text: read them as such.
    text = data.decode("utf-8", "corpus-site-cp1252")
    line = data[: error.start].count(b"\n") + 1
    warnings.append((f"{bad} byte(s) that are not UTF-8 read as Windows-1252 (the file mixes encodings)", line))
    return text


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """Error handler: undecodable bytes read one by one as Windows-1252 (undefined ones as Latin-1)."""
    assert isinstance(error, UnicodeDecodeError)
    chunk = error.object[error.start : error.end]
    return "".join(_cp1252_char(byte) for byte in chunk), error.end


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: C1 controls, removed later like any other


codecs.register_error("corpus-site-cp1252", _cp1252_bytes)


def _decode_legacy(data: bytes) -> tuple[str, str]:
    """An 8-bit or legacy multi-byte encoding: Windows-1252 when the text reads as Western, else detected."""
    western = data.decode("cp1252", "corpus-site-cp1252")
    if not _CP1252_UNDEFINED.search(data) and _reads_as_western(western):
        return western, "cp1252"
    from charset_normalizer import from_bytes  # imported late: only legacy files pay for it

    best = from_bytes(data[:1_000_000], cp_isolation=list(_LEGACY)).best()
    if best is not None and best.encoding:
        try:
            return data.decode(best.encoding), codecs.lookup(best.encoding).name
        except (UnicodeDecodeError, LookupError):
            pass
    return western, "cp1252"


def _reads_as_western(text: str) -> bool:
    """Windows-1252 fits when words mix accents with plain letters, as in Western languages, and no
    symbol sits inside a word: Russian read as cp1252 gives words of accents only ("Êàê òåáÿ"),
    Polish gives "Za¿ó³æ", Chinese "ÎÒÃÇ½ñÌì"."""
    words = _LONG_WORD.subn("", text)[1]
    foreign = _ACCENTS_ONLY_WORD.subn("", text)[1]
    if foreign > words * 0.1 or _SYMBOL_IN_WORD.search(text):
        return False
    # Czech, Slovak, Slovenian, Croatian in cp1250 keep š and ž but turn ř, ě, č, ů… into ø, ì, è, ù…
    return not (_CARON.search(text) and _CP1250_LETTERS_AS_CP1252.search(text))


def _remove_controls(text: str, warnings: list[tuple[str, int | None]]) -> tuple[str, int]:
    first = _CONTROL.search(text) if _MAYBE_CONTROL.search(text) else None
    if first is None:
        return text, 0
    line = text.count("\n", 0, first.start()) + 1
    cleaned, removed = _CONTROL.subn("", text)
    names = {"\x00": "NUL"}
    example = names.get(first.group(), f"U+{ord(first.group()):04X}")
    warnings.append((f"{removed} control character(s) removed (the first, {example}, on this line)", line))
    return cleaned, removed
