"""Document records → the site's structure: URLs, per-language lists, reading order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from corpus_site.align import Alignment, align_group
from corpus_site.groups import Group, find_duplicates, find_groups, members_by_document
from corpus_site.langtag import UNDETERMINED, text_direction
from corpus_site.overview import word_counts
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
class Text:
    """One row of the index: a document with its other versions (translation group), in member order."""

    documents: tuple[Document, ...]
    group: Group | None

    @property
    def id(self) -> str:
        """The first document's id, which names the row (render.parts cuts long tables by it)."""
        return self.documents[0].id

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(document.id for document in self.documents)


@dataclass(frozen=True, slots=True)
class Site:
    """The site's structure; every URL is relative to the output folder."""

    documents: tuple[Document, ...]
    languages: tuple[Language, ...]
    corpus: Corpus
    groups: tuple[Group, ...] = ()
    duplicates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    alignments: tuple[Alignment, ...] = ()
    words: dict[str, Counter[str]] = field(default_factory=dict)  # content words by language, for the overview

    def by_id(self) -> dict[str, Document]:
        return {document.id: document for document in self.documents}

    def group_of(self) -> dict[str, Group]:
        """Each grouped document's translation group."""
        return members_by_document(self.groups)

    def texts(self) -> tuple[Text, ...]:
        """Documents gathered by translation group, in the order of each text's first member."""
        group_of, by_id = self.group_of(), self.by_id()
        seen: set[str] = set()
        texts: list[Text] = []
        for document in self.documents:
            if document.id in seen:
                continue
            group = group_of.get(document.id)
            members = group.members if group else (document.id,)
            seen.update(members)
            texts.append(Text(tuple(by_id[member] for member in members), group))
        return tuple(texts)

    def alternates(self) -> dict[str, list[tuple[str, str]]]:
        """hreflang alternates per grouped document: every member (itself included), one per language."""
        by_id = self.by_id()
        result: dict[str, list[tuple[str, str]]] = {}
        for group in self.groups:
            links: dict[str, str] = {}
            for member in group.members:
                lang = by_id[member].primary_lang
                if lang != UNDETERMINED:
                    links.setdefault(lang, doc_url(member))
            for member in group.members:
                result[member] = sorted(links.items())
        return result

    def parallel_pages(self) -> list[tuple[str, Alignment, list[tuple[str, str]]]]:
        """(path, alignment, links to the group's other pairs) for every aligned pair of every group."""
        pages = []
        by_id = self.by_id()
        for group in self.groups:
            items = [item for item in self.alignments if item.group == group.id]
            urls = [parallel_url(group.id, None if index == 0 else item) for index, item in enumerate(items)]
            labels = [
                f"{language_name(by_id[item.left].primary_lang)} · {language_name(by_id[item.right].primary_lang)}"
                for item in items
            ]
            for index, item in enumerate(items):
                links = [(labels[j], urls[j].removeprefix("parallel/")) for j in range(len(items)) if j != index]
                pages.append((urls[index], item, links))
        return pages


def language_name(code: str) -> str:
    """A language's own name, falling back to its base language's, then the code."""
    return LANGUAGE_NAMES.get(code) or LANGUAGE_NAMES.get(code.split("-")[0]) or code


def doc_url(document_id: str) -> str:
    return f"docs/{document_id}.html"


def lang_url(code: str) -> str:
    return f"lang/{code}.html"


def parallel_url(group_id: str, pair: Alignment | None = None) -> str:
    """A group's first pair at parallel/<group>.html; other pairs add both ids (ids never hold '--')."""
    return f"parallel/{group_id}.html" if pair is None else f"parallel/{group_id}--{pair.left}--{pair.right}.html"


def build_site(corpus: Corpus, *, carry: bool = False) -> Site:
    """Order the documents and gather them by language; `carry`: see find_groups and find_duplicates."""
    documents = tuple(sorted(corpus.documents, key=lambda document: document.source))
    groups = find_groups(documents, carry=carry)
    by_id = {document.id: document for document in documents}
    return Site(
        documents=documents,
        languages=_languages(documents),
        corpus=corpus,
        groups=groups,
        duplicates=find_duplicates(documents, carry=carry),
        alignments=tuple(item for group in groups for item in align_group(group, by_id)),
        words=word_counts(documents, carry=carry),
    )


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
