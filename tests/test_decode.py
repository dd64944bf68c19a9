import codecs
import random
import subprocess
import sys
import unicodedata

import pytest

from corpus_site.decode import UndecodableError, decode

PT = "Histórias de pescadores: a atenção é necessária, não é? Ação e coração em São Paulo."
FR = "L’été dernier, nous sommes allés à la plage ; déjà vu, où est la gare ? « Ça va très bien » — 5 €."
ES = "Señor, ¿dónde está la estación? Mañana será otro día."
DE = "Größe und Übermaß sind schön, sagte der Bäcker."

# Short Western texts: charset-normalizer alone reads several of these as cp1250 ("vocę", "crčme").
SHORT_WESTERN = [
    "Olá, você está bem? Ação e coração.",
    "Café à la crème, déjà vu, où est la gare?",
    "Não sei.",
    "Açaí",
    "Señor, ¿dónde está la estación? Mañana.",
    "Ça va très bien, merci. L’été dernier nous sommes allés à la plage…",
    "Prix : 5 € « net », naïve façade, cœur, Œuvre",
    "café",  # ends in a lone high byte, which is also how a cut UTF-8 character looks
]


def decoded(data: bytes) -> str:
    return decode(data).text


# --- Unicode encodings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [PT, FR, "中文，日本語、한국어 and English 🧵"])
def test_utf8_with_and_without_bom(text):
    assert decode(text.encode("utf-8")) == decode(codecs.BOM_UTF8 + text.encode("utf-8"))
    result = decode(codecs.BOM_UTF8 + text.encode("utf-8"))
    assert result.text == text
    assert result.encoding == "utf-8"
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("bom", "codec", "name"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
    ],
)
def test_utf16_and_utf32_with_bom(bom, codec, name):
    text = FR + "\n中文 🧵\n"
    result = decode(bom + text.encode(codec))
    assert result.text == text
    assert result.encoding == name


def test_utf16_without_bom_is_recognised_by_its_nul_pattern():
    text = "Plain English notes exported by an old Windows tool.\nSecond line."
    assert decoded(text.encode("utf-16-le")) == text
    assert decoded(text.encode("utf-16-be")) == text


@pytest.mark.parametrize(
    ("data", "text", "warning"),
    [
        pytest.param(
            "第一行\n中文文本测试".encode()[:-1],
            "第一行\n中文文本测",
            "middle of a UTF-8 character",
            id="a-cut-off-last-character-is-dropped",
        ),
        pytest.param(
            "Straße, café, naïve — “quoted”\nsecond line ".encode() + "réunion".encode("cp1252"),
            "Straße, café, naïve — “quoted”\nsecond line réunion",
            "not UTF-8",
            id="stray-cp1252-bytes-are-read-as-cp1252",
        ),
    ],
)
def test_damaged_utf8_is_read_as_utf8_with_a_warning_on_its_line(data, text, warning):
    result = decode(data)
    assert result.text == text
    assert result.encoding == "utf-8"
    ((message, line),) = result.warnings
    assert warning in message
    assert line == 2


# --- legacy encodings -------------------------------------------------------------------------------------------


def encodable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        (text, codec)
        for text in (PT, FR, ES, DE, *SHORT_WESTERN)
        for codec in ("cp1252", "latin-1")
        if encodable(text, codec)
    ],
)
def test_western_legacy_text_keeps_its_accents(text, codec):
    result = decode(text.encode(codec))
    assert result.text == text
    assert result.encoding == "cp1252"
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Zażółć gęślą jaźń. Dzień dobry, jak się masz? Wszystko w porządku, dziękuję bardzo.", "cp1250"),
        ("Příliš žluťoučký kůň úpěl ďábelské ódy. Dobrý den, jak se máte?", "cp1250"),
        ("Dobrý den, jak se máte? Děkuji, mám se dobře. Řeka je čistá a život je krásný.", "cp1250"),
        ("Привет, мир! Как у тебя дела сегодня? Всё хорошо, спасибо.", "cp1251"),
        ("Καλημέρα κόσμε, τι κάνεις σήμερα; Όλα καλά, ευχαριστώ.", "cp1253"),
        ("我们今天去公园散步，天气很好。明天我们去图书馆看书。", "gb18030"),
        ("今日はいい天気ですね。公園に行きましょう。明日は図書館に行きます。", "shift_jis"),
    ],
)
def test_other_legacy_encodings_are_detected(text, codec):
    assert decoded(text.encode(codec)) == text


def test_charset_normalizer_is_only_imported_for_non_western_legacy_files():
    script = (
        "import sys\n"
        "from corpus_site.decode import decode\n"
        f"decode({PT!r}.encode('utf-8')); decode({FR!r}.encode('cp1252'))\n"
        "print('charset_normalizer' in sys.modules)\n"
        "decode('Привет, мир! Как у тебя дела сегодня?'.encode('cp1251'))\n"
        "print('charset_normalizer' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


# --- normalisation ----------------------------------------------------------------------------------------------


def test_text_is_nfc():
    text = decoded("cafe\u0301 a\u0303o".encode())
    assert text == "café ão"
    assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(
    "data",
    [
        b"one\r\ntwo\r\nthree",
        b"one\rtwo\rthree",
        b"one\r\ntwo\rthree",
        b"one\ntwo\r\nthree",
        "one\u2028two\x85three".encode(),
    ],
)
def test_line_ends_become_newlines(data):
    assert decoded(data) == "one\ntwo\nthree"


def test_a_nul_in_the_middle_of_text_is_removed_with_a_warning_naming_its_line():
    result = decode(b"first line\nsecond \x00line\nthird line")
    assert result.text == "first line\nsecond line\nthird line"
    ((message, line),) = result.warnings
    assert "NUL" in message
    assert line == 2


def test_a_nul_in_a_short_note_is_damage_not_binary():
    assert decoded(b"hi\x00 there") == "hi there"


def test_noncharacters_are_removed():
    assert decoded("a\ufffeb\uffffc\U0010ffffd".encode("utf-8", "surrogatepass")) == "abcd"


def test_the_quick_look_for_control_characters_misses_none_the_removal_removes():
    from corpus_site.decode import _CONTROL, _MAYBE_CONTROL

    removed = [chr(point) for point in range(0x110000) if _CONTROL.match(chr(point))]
    assert len(removed) == 9 + 18 + 33 + 32 + 2 * 17  # C0, C1 but line ends and tab; U+FDD0-FDEF; two per plane
    assert all(_MAYBE_CONTROL.match(char) for char in removed)
    # Emoji (planes 1 below U+1FFFE) do not send a text the slow way.
    assert not _MAYBE_CONTROL.search("🙂🎉\U0001f9ff")


# --- refusals ---------------------------------------------------------------------------------------------------

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\t \r\n  ", "only whitespace"),
        (codecs.BOM_UTF8, "only whitespace"),
        (codecs.BOM_UTF8 + b" \n", "only whitespace"),
        (b"\x01\x02\x03\x04\x1b\x7f", "only control characters"),
        (b"\x00\x01\x02\xff\xfe\x00binary", "binary"),  # short, but two NULs: not text
        (bytes(range(1, 9)) * 50, "binary"),
        (PNG, "PNG image"),
        (random.Random(6).randbytes(4096), "binary"),
        (b"\x7fELF\x02\x01\x01" + bytes(100), "executable"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<\x00\x01>>", "PDF"),
    ],
)
def test_not_text_is_refused_with_a_reason(data, reason):
    with pytest.raises(UndecodableError, match=reason):
        decode(data)


def test_text_that_begins_like_a_file_signature_is_still_text():
    assert decoded(b"GIF89a is the animated GIF format.") == "GIF89a is the animated GIF format."
    assert decoded(b"%PDF-1.7 came out in 2008.") == "%PDF-1.7 came out in 2008."


def test_a_file_of_mostly_control_characters_is_binary():
    with pytest.raises(UndecodableError, match="binary"):
        decode(b"ok " + b"\x01\x02\x03\x04\x05\x06\x07\x08" * 20)
