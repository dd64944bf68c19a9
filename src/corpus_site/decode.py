"""Seed bytes → text: encoding detection, NFC, line ends; binary files are refused."""

from __future__ import annotations

import codecs
import re
import unicodedata

# Control characters that have no place in text (everything in C0/C1 but tab and newline).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Share of control bytes above which a file without a BOM is taken for binary.
_BINARY_CONTROL_SHARE = 0.05


class UndecodableError(ValueError):
    """The bytes are not text this tool can read; the message is the reason."""


def decode(data: bytes) -> tuple[str, str, int]:
    """Return (text, encoding, control characters removed) or raise UndecodableError."""
    text, encoding = _decode_raw(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, removed = _CONTROL.subn("", text)
    if removed and removed > max(8, len(text) * _BINARY_CONTROL_SHARE):
        raise UndecodableError("binary file (too many control characters)")
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise UndecodableError("empty file" if not data else "only whitespace")
    return text, encoding, removed


def _decode_raw(data: bytes) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding.replace("-sig", "")
            except UnicodeDecodeError as error:
                raise UndecodableError(f"invalid {encoding} after its byte-order mark") from error
    if _looks_binary(data):
        raise UndecodableError("binary file (contains NUL or control bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _decode_legacy(data)


def _looks_binary(data: bytes) -> bool:
    sample = data[:65536]
    if not sample:
        return False
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32 and byte != 27)
    return sample.count(0) > len(sample) // 100 or controls > len(sample) * _BINARY_CONTROL_SHARE


def _decode_legacy(data: bytes) -> tuple[str, str]:
    """An 8-bit legacy encoding: charset-normalizer's best guess, else cp1252."""
    from charset_normalizer import from_bytes  # imported late: only legacy files pay for it

    best = from_bytes(data[:1_000_000]).best()
    encoding = best.encoding if best is not None else None
    for candidate in (encoding, "cp1252"):
        if candidate and not candidate.startswith("utf_16") and not candidate.startswith("utf_32"):
            try:
                return data.decode(candidate), codecs.lookup(candidate).name
            except (UnicodeDecodeError, LookupError):
                continue
    raise UndecodableError("not valid UTF-8 and no 8-bit encoding fits")
