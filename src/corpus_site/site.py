"""Document records → the site's structure: URLs, per-language lists, reading order."""

from __future__ import annotations

from dataclasses import dataclass

from corpus_site.langtag import UNDETERMINED, text_direction
from corpus_site.records import Corpus, Document

# Each language's own name, so a reader finds theirs without knowing English.
LANGUAGE_NAMES = {
    "af": "Afrikaans", "am": "አማርኛ", "ar": "العربية", "az": "Azərbaycanca", "be": "Беларуская",
    "bg": "Български", "bn": "বাংলা", "bs": "Bosanski", "ca": "Català", "cs": "Čeština",
    "cy": "Cymraeg", "da": "Dansk", "de": "Deutsch", "el": "Ελληνικά", "en": "English",
    "eo": "Esperanto", "es": "Español", "et": "Eesti", "eu": "Euskara", "fa": "فارسی",
    "fi": "Suomi", "fr": "Français", "ga": "Gaeilge", "gl": "Galego", "gu": "ગુજરાતી",
    "he": "עברית", "hi": "हिन्दी", "hr": "Hrvatski", "hu": "Magyar", "hy": "Հայերեն",
    "id": "Bahasa Indonesia", "is": "Íslenska", "it": "Italiano", "ja": "日本語", "ka": "ქართული",
    "kk": "Қазақ", "km": "ខ្មែរ", "kn": "ಕನ್ನಡ", "ko": "한국어", "lt": "Lietuvių", "lv": "Latviešu",
    "mk": "Македонски", "ml": "മലയാളം", "mr": "मराठी", "ms": "Bahasa Melayu", "nb": "Norsk bokmål",
    "ne": "नेपाली", "nl": "Nederlands", "no": "Norsk", "pa": "ਪੰਜਾਬੀ", "pl": "Polski",
    "pt": "Português", "ro": "Română", "ru": "Русский", "sk": "Slovenčina", "sl": "Slovenščina",
    "so": "Soomaali", "sq": "Shqip", "sr": "Српски", "sv": "Svenska", "sw": "Kiswahili",
    "ta": "தமிழ்", "te": "తెలుగు", "th": "ไทย", "tl": "Tagalog", "tr": "Türkçe", "uk": "Українська",
    "ur": "اردو", "vi": "Tiếng Việt", "zh": "中文", "zh-Hans": "中文（简体）", "zh-Hant": "中文（繁體）",
    UNDETERMINED: "Undetermined",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Language:
    """One language of the corpus and the documents written (mostly or partly) in it."""

    code: str
    name: str
    dir: str
    primary: tuple[str, ...]  # ids of documents whose primary language this is
    partial: tuple[str, ...]  # ids of documents with some blocks in it
    words: int


@dataclass(frozen=True, slots=True)
class Site:
    """The site's structure; every URL is relative to the output folder."""

    documents: tuple[Document, ...]
    languages: tuple[Language, ...]
    corpus: Corpus

    def by_id(self) -> dict[str, Document]:
        return {document.id: document for document in self.documents}


def language_name(code: str) -> str:
    """A language's own name, falling back to its base language's, then the code."""
    return LANGUAGE_NAMES.get(code) or LANGUAGE_NAMES.get(code.split("-")[0]) or code


def doc_url(document_id: str) -> str:
    return f"docs/{document_id}.html"


def lang_url(code: str) -> str:
    return f"lang/{code}.html"


def build_site(corpus: Corpus) -> Site:
    """Order the documents and gather them by language."""
    documents = tuple(sorted(corpus.documents, key=lambda document: document.source))
    return Site(documents=documents, languages=_languages(documents), corpus=corpus)


def _languages(documents: tuple[Document, ...]) -> tuple[Language, ...]:
    primary: dict[str, list[str]] = {}
    partial: dict[str, list[str]] = {}
    words: dict[str, float] = {}
    for document in documents:
        primary.setdefault(document.primary_lang, []).append(document.id)
        for code, share in document.language_shares:
            words[code] = words.get(code, 0) + share * document.words
            if code != document.primary_lang:
                partial.setdefault(code, []).append(document.id)
    codes = sorted(set(primary) | set(partial), key=lambda code: (-len(primary.get(code, ())), code))
    return tuple(
        Language(
            code=code,
            name=language_name(code),
            dir=text_direction(code),
            primary=tuple(primary.get(code, ())),
            partial=tuple(partial.get(code, ())),
            words=round(words.get(code, 0)),
        )
        for code in codes
    )
