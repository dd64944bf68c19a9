"""Language-tagging accuracy on a labelled multilingual set, for comparing langtag before and after a change.

    python benchmarks/accuracy.py

The set is every labelled text of tests/test_langtag.py and the benchmark corpus's sentence pools
(benchmarks/bench.py): whole sentences in 21 languages, the test suite's short phrases, and every
sentence but the Chinese and Japanese ones cut to its first 6, 4, 3 and 2 space-separated words.
Each text is tagged alone, as one block, so nothing but its own words decides. To compare two versions, run the
script in each checkout (PYTHONPATH=that/src) and compare the lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE)]

from bench import SENTENCES as POOLS  # noqa: E402

from corpus_site.langtag import tag_blocks  # noqa: E402
from test_langtag import MORE_SENTENCES, PHRASES, SENTENCES  # noqa: E402

CUTS = (6, 4, 3, 2)  # words kept from the start of each sentence


def labelled_sets() -> dict[str, list[tuple[str, str]]]:
    """Set name → (language, text) pairs."""
    sentences = [(lang, text) for lang, text in SENTENCES.items()]
    sentences += [(lang, text) for pool in (MORE_SENTENCES, POOLS) for lang, texts in pool.items() for text in texts]
    # Chinese and Japanese are written without spaces: their "first words" would be whole sentences.
    spaced = [(lang, text) for lang, text in sentences if lang not in ("zh", "ja")]
    sets = {
        "sentences": sentences,
        "short phrases": [(lang, phrase) for lang, phrases in PHRASES.items() for phrase in phrases],
    }
    for cut in CUTS:
        sets[f"first {cut} words"] = [(lang, " ".join(text.split()[:cut])) for lang, text in spaced]
    return sets


def main() -> int:
    total = right = 0
    for name, pairs in labelled_sets().items():
        misses = [(lang, text, tag_blocks([text])[0]) for lang, text in pairs if tag_blocks([text]) != (lang,)]
        total += len(pairs)
        right += len(pairs) - len(misses)
        print(f"{name}: {len(pairs) - len(misses)}/{len(pairs)}")
    print(f"all: {right}/{total} ({right / total:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
