import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

from corpus_site import detect, langtag
from corpus_site.langtag import UNDETERMINED, language_shares, normalise_code, tag_blocks, text_direction
from helpers import ROOT, SEEDS

SENTENCES = {
    "es": "El perro corre por el parque todas las mañanas con su dueño.",
    "de": "Der Hund läuft jeden Morgen mit seinem Besitzer durch den Park.",
    "it": "Il cane corre nel parco ogni mattina con il suo padrone.",
    "nl": "De hond rent elke ochtend met zijn baasje door het park.",
    "ru": "Собака каждое утро бегает по парку вместе со своим хозяином.",
    "bg": "Кучето тича в парка всяка сутрин заедно със своя стопанин.",
    "uk": "Собака щоранку бігає парком разом зі своїм господарем, і це їй дуже подобається.",
    "ar": "يركض الكلب في الحديقة كل صباح مع صاحبه.",
    "fa": "سگ هر روز صبح با صاحبش در پارک می‌دود و خیلی خوشحال است.",
    "ja": "犬は毎朝飼い主と一緒に公園を走ります。",
    "ko": "개는 매일 아침 주인과 함께 공원을 달립니다.",
    "hi": "कुत्ता हर सुबह अपने मालिक के साथ पार्क में दौड़ता है।",
    "mr": "कुत्रा दररोज सकाळी आपल्या मालकासोबत बागेत धावतो.",
    "el": "Ο σκύλος τρέχει στο πάρκο κάθε πρωί με τον ιδιοκτήτη του.",
    "he": "הכלב רץ בפארק כל בוקר עם הבעלים שלו.",
    "zh": "这只狗每天早上和主人一起在公园里跑步。",
    "th": "สุนัขวิ่งในสวนสาธารณะทุกเช้ากับเจ้าของ",
    "pl": "Pies biega po parku każdego ranka ze swoim właścicielem.",
}

EN = "The library opens at nine in the morning and closes late on Fridays."
EN2 = "Visitors can borrow up to ten books at a time with a free card."

# Short phrases (3-6 words) the way they turn up in titles, captions and chat.
PHRASES = {
    "en": ["see you tomorrow morning", "where is the train station", "thank you very much indeed",
           "the weather is nice today", "I forgot my keys again", "please close the door quietly"],
    "pt": ["muito obrigado pela ajuda", "onde fica a estação de trem", "não consigo encontrar minhas chaves",
           "o tempo está ótimo hoje", "vamos jantar juntos amanhã", "ela trabalha numa escola pública"],
    "fr": ["merci beaucoup pour votre aide", "où se trouve la gare", "je ne trouve pas mes clés",
           "il fait très beau aujourd'hui", "nous allons dîner ensemble demain", "elle travaille dans une école"],
    "es": ["muchas gracias por tu ayuda", "dónde está la estación de tren", "no encuentro mis llaves otra vez",
           "hoy hace muy buen tiempo", "vamos a cenar juntos mañana", "ella trabaja en una escuela"],
    "de": ["vielen Dank für deine Hilfe", "wo ist der Bahnhof bitte", "ich finde meine Schlüssel nicht",
           "heute ist das Wetter schön", "wir essen morgen zusammen", "sie arbeitet in einer Schule"],
    "it": ["grazie mille per il tuo aiuto", "dove si trova la stazione", "non trovo più le mie chiavi",
           "oggi il tempo è bellissimo", "domani ceniamo insieme", "lei lavora in una scuola"],
    "nl": ["heel erg bedankt voor je hulp", "waar is het treinstation", "ik kan mijn sleutels niet vinden",
           "het weer is vandaag mooi", "we gaan morgen samen eten", "zij werkt op een school"],
    "ru": ["большое спасибо за помощь", "где находится вокзал", "я не могу найти ключи",
           "сегодня хорошая погода", "завтра мы ужинаем вместе", "она работает в школе"],
    "ar": ["شكرا جزيلا على مساعدتك", "أين محطة القطار", "لا أستطيع العثور على مفاتيحي",
           "الطقس جميل اليوم", "سنتناول العشاء معا غدا", "هي تعمل في مدرسة"],
    "hi": ["आपकी मदद के लिए धन्यवाद", "रेलवे स्टेशन कहाँ है", "मुझे मेरी चाबियाँ नहीं मिल रहीं",
           "आज मौसम बहुत अच्छा है", "कल हम साथ खाना खाएंगे", "वह एक स्कूल में काम करती है"],
    "ja": ["手伝ってくれてありがとう", "駅はどこですか", "鍵が見つかりません",
           "今日はいい天気です", "明日一緒に晩ご飯を食べよう", "彼女は学校で働いています"],
    "zh": ["非常感谢你的帮助", "火车站在哪里", "我找不到我的钥匙",
           "今天天气很好", "明天我们一起吃饭", "她在一所学校工作"],
    "ko": ["도와주셔서 감사합니다", "기차역이 어디에 있어요", "열쇠를 찾을 수 없어요",
           "오늘 날씨가 좋네요", "내일 같이 저녁 먹어요", "그녀는 학교에서 일해요"],
}  # fmt: skip
ACCURACY_FLOOR = 0.9  # measured 98.7 % (77/78) with langdetect 1.0.9; plain seeded langdetect: 96.2 %

# Four everyday sentences per language, 19 languages: the labelled set for accuracy before and after a change.
MORE_SENTENCES = {
    "en": ["The committee will publish its final report on the new railway line next spring.",
           "She spent most of the afternoon repairing the old bicycle in her garage.",
           "Prices for fresh vegetables rose sharply after the long dry summer.",
           "Our neighbours invited us to a small dinner party on Saturday evening."],
    "pt": ["O governo anunciou ontem um novo plano para melhorar o transporte público nas grandes cidades.",
           "A minha avó costumava fazer bolo de laranja todos os domingos de manhã.",
           "Os alunos da escola visitaram o museu e aprenderam muito sobre a história do país.",
           "Depois da chuva, as ruas ficaram cheias de água e o trânsito parou."],
    "fr": ["Le conseil municipal a voté hier soir la rénovation complète de la bibliothèque.",
           "Nous avons passé nos vacances dans un petit village au bord de la mer.",
           "Les enfants jouaient dans le jardin pendant que leurs parents préparaient le repas.",
           "Il faut réserver sa place plusieurs semaines à l'avance pour ce spectacle."],
    "es": ["El ayuntamiento aprobó ayer un presupuesto mayor para las escuelas del barrio.",
           "Mi hermano vive en una ciudad pequeña cerca de las montañas desde hace años.",
           "Los científicos descubrieron una nueva especie de rana en la selva tropical.",
           "Después de cenar salimos a pasear por la playa hasta muy tarde."],
    "de": ["Die Stadtverwaltung hat gestern neue Regeln für das Parken in der Innenstadt beschlossen.",
           "Meine Großmutter erzählt uns oft Geschichten aus ihrer Kindheit auf dem Land.",
           "Nach dem langen Winter freuen sich alle auf die ersten warmen Tage im Frühling.",
           "Der Zug hatte wegen eines technischen Problems fast eine Stunde Verspätung."],
    "it": ["Il comune ha deciso di chiudere al traffico il centro storico durante il fine settimana.",
           "Mia nonna preparava sempre la pasta fatta in casa per tutta la famiglia.",
           "Gli studenti hanno organizzato una festa per celebrare la fine degli esami.",
           "Dopo la pioggia il cielo è diventato limpido e si vedevano le montagne."],
    "nl": ["De gemeente heeft besloten om het oude zwembad volgend jaar te renoveren.",
           "Mijn zus woont al jaren in een klein dorp vlakbij de Duitse grens.",
           "Na het eten gingen we nog een lange wandeling maken langs de rivier.",
           "De trein naar Amsterdam vertrok vanochtend met een uur vertraging."],
    "pl": ["Rada miasta zdecydowała wczoraj o budowie nowej linii tramwajowej.",
           "Moja babcia zawsze piekła szarlotkę na niedzielny obiad dla całej rodziny.",
           "Po długiej zimie wszyscy czekają na pierwsze ciepłe dni wiosny.",
           "Pociąg do Krakowa spóźnił się prawie godzinę z powodu awarii."],
    "ru": ["Городской совет вчера утвердил план строительства новой линии метро.",
           "Моя бабушка всегда пекла пироги с капустой по воскресеньям.",
           "После долгой зимы все с нетерпением ждут первых тёплых дней весны.",
           "Поезд в Москву опоздал почти на час из-за технической неисправности."],
    "uk": ["Міська рада вчора затвердила план будівництва нової лінії метро.",
           "Моя бабуся завжди пекла пиріжки з капустою щонеділі для всієї родини.",
           "Після довгої зими всі з нетерпінням чекають перших теплих днів весни.",
           "Потяг до Києва запізнився майже на годину через технічну несправність."],
    "bg": ["Общинският съвет одобри вчера плана за изграждане на нова линия на метрото.",
           "Баба ми винаги правеше баница за неделния обяд на цялото семейство.",
           "След дългата зима всички очакват с нетърпение първите топли пролетни дни.",
           "Влакът за София закъсня почти с един час поради техническа повреда."],
    "ar": ["وافق المجلس البلدي أمس على خطة لبناء خط جديد للمترو في المدينة.",
           "كانت جدتي تعد الخبز في البيت كل صباح يوم الجمعة لجميع أفراد الأسرة.",
           "بعد شتاء طويل ينتظر الجميع بفارغ الصبر أول أيام الربيع الدافئة.",
           "تأخر القطار المتجه إلى القاهرة نحو ساعة بسبب عطل فني."],
    "fa": ["شورای شهر دیروز طرح ساخت یک خط جدید مترو را تصویب کرد.",
           "مادربزرگم همیشه روزهای جمعه برای همه خانواده نان تازه می‌پخت.",
           "بعد از زمستانی طولانی همه منتظر نخستین روزهای گرم بهار هستند.",
           "قطار تهران به خاطر یک مشکل فنی نزدیک یک ساعت تأخیر داشت."],
    "hi": ["नगर परिषद ने कल नई मेट्रो लाइन बनाने की योजना को मंजूरी दे दी।",
           "मेरी दादी हर रविवार पूरे परिवार के लिए स्वादिष्ट खाना बनाती थीं।",
           "लंबी सर्दी के बाद सभी लोग वसंत के पहले गर्म दिनों का इंतजार कर रहे हैं।",
           "तकनीकी खराबी के कारण दिल्ली जाने वाली ट्रेन लगभग एक घंटा देर से पहुँची।"],
    "el": ["Το δημοτικό συμβούλιο ενέκρινε χθες το σχέδιο για μια νέα γραμμή του μετρό.",
           "Η γιαγιά μου έφτιαχνε πάντα πίτα για το κυριακάτικο τραπέζι της οικογένειας.",
           "Μετά από έναν μακρύ χειμώνα όλοι περιμένουν τις πρώτες ζεστές μέρες της άνοιξης.",
           "Το τρένο για τη Θεσσαλονίκη είχε σχεδόν μία ώρα καθυστέρηση."],
    "he": ["מועצת העיר אישרה אתמול את התוכנית לבניית קו רכבת קלה חדש.",
           "סבתא שלי תמיד אפתה עוגה לארוחת השבת של כל המשפחה.",
           "אחרי חורף ארוך כולם מחכים בקוצר רוח לימים החמים הראשונים של האביב.",
           "הרכבת לירושלים איחרה כמעט שעה בגלל תקלה טכנית."],
    "zh": ["市议会昨天批准了修建一条新地铁线路的计划。",
           "我奶奶每个星期天都会给全家人包饺子。",
           "经过漫长的冬天，大家都盼望着春天第一个温暖的日子。",
           "开往北京的火车因为技术故障晚点了将近一个小时。"],
    "ja": ["市議会は昨日、新しい地下鉄路線の建設計画を承認しました。",
           "祖母は毎週日曜日に家族みんなのためにおにぎりを作ってくれました。",
           "長い冬が終わって、みんな春の暖かい日を楽しみにしています。",
           "東京行きの電車は技術的な問題でほぼ一時間遅れました。"],
    "ko": ["시의회는 어제 새로운 지하철 노선 건설 계획을 승인했습니다.",
           "할머니는 일요일마다 온 가족을 위해 만두를 빚어 주셨어요.",
           "긴 겨울이 지나고 모두가 봄의 첫 따뜻한 날을 기다리고 있습니다.",
           "서울행 기차가 기술적인 문제로 거의 한 시간 늦게 도착했습니다."],
}  # fmt: skip


def paragraphs(text: str) -> list[str]:
    """The seed's blocks: paragraphs split on blank lines, or its non-empty lines when it has none."""
    parts = re.split(r"\n\s*\n", text) if re.search(r"\n\s*\n", text) else text.split("\n")
    return [part for part in parts if part.strip()]


def seed(prefix: str) -> list[str]:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return paragraphs(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("prefix", "lang"), [("000", "pt"), ("001", "fr"), ("003", "pt"), ("004", "en")])
def test_seed_in_one_language(prefix: str, lang: str) -> None:
    blocks = seed(prefix)
    assert set(tag_blocks(blocks)) == {lang}
    assert language_shares(blocks, tag_blocks(blocks)) == ((lang, 1.0),)


def test_seed_english_with_chinese_summary() -> None:
    blocks = seed("002")
    tags = tag_blocks(blocks)
    assert set(tags) == {"en", "zh"}
    for block, tag in zip(blocks, tags, strict=True):
        han = len(re.findall(r"[\u4e00-\u9fff]", block))
        if han > 20:  # the summary paragraphs, even with "Claude 3 Opus(C3O)" and "AI" inside
            assert tag == "zh", block
        elif han == 0 and len(block) > 200:
            assert tag == "en", block[:60]
    assert language_shares(blocks, tags)[0][0] == "en"


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_one_sentence_per_language(lang: str) -> None:
    assert tag_blocks([SENTENCES[lang]]) == (lang,)


def test_mixed_document_is_tagged_per_block() -> None:
    blocks = [SENTENCES["ar"], EN, SENTENCES["ja"]]
    assert tag_blocks(blocks) == ("ar", "en", "ja")


@pytest.mark.parametrize("noise", ["@jdoe_92", "https://example.com/a/b?c=1", "x.com/jdoe/status/1", "12,345.67",
                                   "🎉🎉👍", "2025-07-07 11:26", "jdoe@example.org", "", "α = 0.5"])  # fmt: skip
def test_lines_without_prose_take_their_neighbours(noise: str) -> None:
    assert tag_blocks([SENTENCES["es"], noise, SENTENCES["es"]]) == ("es", "es", "es")
    assert tag_blocks([noise, SENTENCES["de"], EN]) == ("de", "de", "en")  # none before: the one after
    assert tag_blocks([noise]) == (UNDETERMINED,)


def test_short_blocks_lean_on_the_nearest_judged_block() -> None:
    assert tag_blocks([EN, "Publicidade", SENTENCES["de"]]) == ("en", "en", "de")
    # a short block of another script does not take a Latin neighbour's language
    assert tag_blocks([EN, "Привет", EN2]) == ("en", "ru", "en")
    assert tag_blocks(["Hola", "gracias"]) == ("es", "es")  # nothing judgeable: the whole text decides


def test_short_unsure_latin_block_leans_on_the_document() -> None:
    phrase = "muito obrigado pela ajuda"  # alone, langdetect's trials say es (p = 0.65) with pt behind it
    assert tag_blocks([phrase]) == ("es",)
    assert tag_blocks(["Combinamos de sair com os amigos da faculdade no sábado à noite.", phrase]) == ("pt", "pt")


def test_han_is_never_korean() -> None:
    assert tag_blocks(["明天我们一起吃饭"]) == ("zh",)  # plain langdetect: ko


def test_short_han_takes_a_japanese_neighbour_and_otherwise_is_chinese() -> None:
    assert tag_blocks([SENTENCES["ja"], "概要"]) == ("ja", "ja")
    assert tag_blocks([EN, "相关文章"]) == ("en", "zh")


def test_declared_language_wins_within_its_script() -> None:
    blocks = [EN, "@jdoe_92", SENTENCES["es"], SENTENCES["zh"]]
    assert tag_blocks(blocks, "fr") == ("fr", "fr", "fr", "zh")
    assert tag_blocks(blocks, "pt_br") == ("pt-BR", "pt-BR", "pt-BR", "zh")
    assert tag_blocks([SENTENCES["zh"], EN], "ja") == ("ja", "en")
    assert tag_blocks([EN], "not a tag") == ("en",)


def test_deterministic_within_and_across_processes() -> None:
    # Unseeded, langdetect gave a different answer for some of these in 4 of 6 processes.
    pairs = ["ok thanks", "ciao bella", "ja nee", "bon voyage", "no problem", "casa blanca", "vamos jantar"]
    texts = [phrase for phrases in PHRASES.values() for phrase in phrases] + pairs
    assert tag_blocks(texts) == tag_blocks(texts)
    script = "import sys\nfrom corpus_site.langtag import tag_blocks\nprint([tag_blocks([t]) for t in sys.argv[1:]])"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONHASHSEED": "random"}
    runs = {subprocess.run([sys.executable, "-c", script, *texts], capture_output=True, text=True, env=env,
                           check=True).stdout for _ in range(2)}  # fmt: skip
    assert len(runs) == 1
    assert runs.pop().count("('en',)") >= 5


def test_numpy_is_loaded_only_by_a_process_that_detects() -> None:
    # The build's parent and a child whose workers load the seeds import everything but never detect: numpy's
    # 14 MB stays out of them (detect.py is imported at the first detection).
    script = (
        "import sys\nimport corpus_site.cli, corpus_site.build, corpus_site.serve\n"
        "from corpus_site.langtag import tag_blocks\nprint('numpy' in sys.modules)\n"
        "print(tag_blocks([sys.argv[1]]), 'numpy' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    ran = subprocess.run([sys.executable, "-c", script, EN], capture_output=True, text=True, env=env, check=True)
    assert ran.stdout.split("\n")[:2] == ["False", "('en',) True"]


def test_shares_sum_to_one_with_the_majority_first() -> None:
    blocks = [EN, SENTENCES["zh"], EN2, EN, "@jdoe_92"]
    shares = language_shares(blocks, tag_blocks(blocks))
    assert [lang for lang, _ in shares] == ["en", "zh"]
    assert sum(share for _, share in shares) == pytest.approx(1, abs=0.002)
    assert language_shares(["", "@x"], ["und", "und"]) == (("und", 1.0),)
    assert language_shares([], []) == ()


@pytest.mark.parametrize(
    ("given", "expected"),
    [("pt-BR", "pt-BR"), ("zh-cn", "zh"), ("zh-TW", "zh"), ("PT", "pt"), ("en_US", "en-US"), (" de ", "de"),
     ("zh-hans", "zh-Hans"), ("sr-latn-rs", "sr-Latn-RS"), ("es-419", "es-419"), ("iw", "he"), ("und", "und"),
     ("", None), ("english", None), ("e", None), ("en--US", None), ("12", None), ("en-", None), ("x-klingon", None)],
)  # fmt: skip
def test_normalise_code(given: str, expected: str | None) -> None:
    assert normalise_code(given) == expected


@pytest.mark.parametrize(
    ("code", "direction"),
    [("ar", "rtl"), ("he", "rtl"), ("fa-IR", "rtl"), ("ur", "rtl"), ("yi", "rtl"), ("ckb", "rtl"), ("az-Arab", "rtl"),
     ("en", "ltr"), ("zh", "ltr"), ("und", "ltr"), ("ku-Latn", "ltr"), ("nonsense!", "ltr")],
)  # fmt: skip
def test_text_direction(code: str, direction: str) -> None:
    assert text_direction(code) == direction


def test_accuracy_on_short_phrases() -> None:
    labelled = [(lang, phrase) for lang, phrases in PHRASES.items() for phrase in phrases]
    misses = [(lang, phrase, tag_blocks([phrase])[0]) for lang, phrase in labelled if tag_blocks([phrase]) != (lang,)]
    accuracy = 1 - len(misses) / len(labelled)
    print(f"\nshort-phrase accuracy {accuracy:.1%} ({len(labelled) - len(misses)}/{len(labelled)}); misses: {misses}")
    assert accuracy >= ACCURACY_FLOOR


def test_accuracy_on_sentences_and_their_first_words() -> None:
    # Measured with langdetect 1.0.9: sentences 76/76, their first five words 65/68 (zh and ja left out:
    # five "words" there are whole sentences).
    sentences = [(lang, text) for lang, texts in MORE_SENTENCES.items() for text in texts]
    assert [tag_blocks([text])[0] for _, text in sentences] == [lang for lang, _ in sentences]
    starts = [(lang, " ".join(text.split()[:5])) for lang, text in sentences if lang not in ("zh", "ja")]
    misses = [(lang, text) for lang, text in starts if tag_blocks([text]) != (lang,)]
    assert 1 - len(misses) / len(starts) >= 0.9, misses


def test_profile_matrices_are_langdetect_tables_to_the_bit() -> None:
    for langs in langtag._LANGS.values():
        factory = DetectorFactory()
        factory.load_json_profile([(Path(PROFILES_DIRECTORY) / lang).read_text(encoding="utf-8") for lang in langs])
        profiles = detect._Profiles(langs)
        table = factory.word_lang_prob_map
        assert profiles.row == {gram: i for i, gram in enumerate(table) if gram != " "}
        assert profiles.probs.tobytes() == np.array(list(table.values()), dtype=np.float64).tobytes()
        assert profiles.langs == tuple(normalise_code(lang) or lang for lang in factory.langlist)


def test_ngrams_are_the_ones_langdetect_extracts() -> None:
    factory = DetectorFactory()
    latin = langtag._LANGS["Latin"]
    factory.load_json_profile([(Path(PROFILES_DIRECTORY) / lang).read_text(encoding="utf-8") for lang in latin])
    profiles = detect._profiles_of(latin)
    gram_of = {row: gram for gram, row in profiles.row.items()}
    texts = [
        *MORE_SENTENCES["de"],
        *MORE_SENTENCES["pl"],
        "The USA and NATO said OK. Hello WORLD",
        " x  y ",
        "Ça, c'est ÉTÉ!",
    ]
    for text in texts:
        detector = Detector(factory)
        detector.append(text)
        detector.cleaning_text()
        theirs = Counter(detector._extract_ngrams())
        ours = Counter(gram_of[row] for row in detect._known_ngram_rows(detect._langdetect_text(text), profiles))
        assert ours == theirs, text


def test_ngram_rows_found_word_by_word_are_those_of_the_whole_text_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # The trials draw n-grams by position, so the rows' order is part of every result, not just their counts.
    profiles = detect._profiles_of(langtag._LANGS["Latin"])
    # No word in capitals: the test above covers those.
    texts = [*MORE_SENTENCES["de"], *MORE_SENTENCES["pl"], "a b", "ab cd ", "x", " ", "Hello world, hello World"]
    spaced = [detect._langdetect_text(text) for text in texts]

    def whole_text_rows(text: str) -> list[int]:
        pairs = [a + b for a, b in zip(text, text[1:], strict=False)]
        grams = [*text, *pairs, *(pair + c for pair, c in zip(pairs, text[2:], strict=False))]
        return [profiles.row[gram] for gram in grams if gram in profiles.row]

    expected = [whole_text_rows(text) for text in spaced]
    profiles.word_rows.clear()
    first = [detect._known_ngram_rows(text, profiles).tolist() for text in spaced]
    remembered = [detect._known_ngram_rows(text, profiles).tolist() for text in spaced]
    profiles.word_rows.clear()
    monkeypatch.setattr(detect, "_WORD_ROWS_MAX", 3)  # forgotten and looked up again along the way
    forgetting = [detect._known_ngram_rows(text, profiles).tolist() for text in spaced]
    assert first == remembered == forgetting == expected
    assert 0 < len(profiles.word_rows) <= 3


def test_rounds_of_draws_and_batches_give_what_one_text_with_all_draws_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [phrase for phrases in PHRASES.values() for phrase in phrases] + [" ".join(MORE_SENTENCES["de"])]
    texts = [" ".join(text.split()[:n]) for text in texts for n in (2, 3, 50)]
    together = langtag._detect_batch(texts, "Latin")
    monkeypatch.setattr(detect, "_ROUNDS", (detect._MOST_DRAWS,))
    alone = [langtag._detect_batch([text], "Latin")[0] for text in texts]
    assert together == alone
    assert sum(len(found) > 1 for found in alone) >= 5  # unsure texts, whose later rounds matter, are among them


def test_agreeing_first_trials_decide_long_samples_and_short_ones_keep_their_spread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    long = [" ".join(texts) for lang, texts in MORE_SENTENCES.items() if lang in langtag._LANGS["Latin"]]
    short = [phrase for lang, phrases in PHRASES.items() if lang in langtag._LANGS["Latin"] for phrase in phrases]
    assert all(len(text) >= detect._AGREED_FROM for text in long)
    early = langtag._detect_batch(long + short, "Latin")
    monkeypatch.setattr(detect, "_AGREED", detect._TRIALS)  # every sample takes all seven trials
    every = langtag._detect_batch(long + short, "Latin")
    assert [found[0][0] for found in early[: len(long)]] == [found[0][0] for found in every[: len(long)]]
    assert early[len(long) :] == every[len(long) :]  # short samples are not cut short
    assert any(len(found) > 1 for found in early[len(long) :])


@given(st.lists(st.sampled_from([*"ab éЖ中\u0301 \t\n\u00a0\u2003\u3000.,1@_#", "www.", "://"])).map("".join))
@settings(max_examples=300)
def test_a_block_s_voting_characters_are_its_letters_and_marks_between_single_spaces(text: str) -> None:
    voting = "".join(ch if langtag._kind(ch) is not None else " " for ch in langtag._NOISE.sub(" ", text))
    assert langtag._clean.__wrapped__(text) == re.sub(r"\s+", " ", voting).strip()


def test_every_voting_character_up_to_the_last_one_looked_at_for_all_latin_is_a_latin_letter() -> None:
    voting = [chr(point) for point in range(ord(langtag._LATIN_TO) + 1) if langtag._kind(chr(point)) is not None]
    assert voting and all(langtag._kind(ch) == "Latin" for ch in voting)
    assert langtag._kind(chr(ord(langtag._LATIN_TO) + 1)) != "Latin"  # the range ends there


# Words of Latin letters (ASCII and not), of marks and of other scripts, around the sample's length.
_WORDS = st.sampled_from(["ab", "é", "çõ", "x", "Ж", "中", "a\u0301", "ɐ", "ṡ"])


@given(st.lists(_WORDS, min_size=80, max_size=200).map(" ".join))
@settings(max_examples=300)
def test_a_latin_block_s_sample_is_what_translating_it_to_its_script_leaves(cleaned: str) -> None:
    judged = langtag._before_detection.__wrapped__(cleaned)
    if isinstance(judged, langtag._Pending) and judged.script == "Latin":
        head = cleaned[: 4 * langtag._SAMPLE].translate(langtag._OF_SCRIPT["Latin"])
        assert judged.sample == " ".join(head.split())[: langtag._SAMPLE]


def test_a_latin_sample_ending_in_a_space_before_another_script_only_loses_the_space() -> None:
    cleaned = "a" * (langtag._SAMPLE - 1) + " " + "中" * 50
    assert langtag._before_detection.__wrapped__(cleaned).sample == "a" * (langtag._SAMPLE - 1)  # type: ignore[union-attr]
