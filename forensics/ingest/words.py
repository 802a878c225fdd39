"""Header text reduced to the words that carry its meaning.

Two wordings of the same protocol line ("Число избирателей, внесенных в
список" and "Число избирателей, включенных в списки избирателей на момент
окончания голосования") differ in case, punctuation, ё/е, line numbers,
plural/singular and filler words.  ``stems`` reduces a header to the stems of
its words (Snowball stemmers; Cyrillic words with the Russian one, Latin words
with the English one unless a language is given), so a profile can match a
line by the words that matter (``words``) or by its whole text (``same_text``).
"""
from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

#: words that never carry a line's meaning (prepositions, conjunctions, "number of")
STOP = frozenset("""
в во на по для из от до при с со к ко о об и или а у за
of the a an in on for by to at and or from with
de del la las los el en y o por para da do das dos em e
des du le les et pour par au aux
der die das den dem des und im am zum zur von für mit
w we na do z ze i lub o dla od
""".split())

_LINE_NUMBER = re.compile(r"^\s*(?:(?:строка|стр|line|línea|linha|ligne|zeile|wiersz|рядок|жол)\.?\s*)?"
                          r"\d+(?:\.\d+)*[.)]?\s+(?=\D)|^\s*\d+(?:\.\d+)*[.)](?=\D)", re.I)
_WORD = re.compile(r"[^\W_]+", re.U)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_FLEETING = re.compile(r"([^аеиоуыэюяёaeiouy])[ое]([^аеиоуыэюяёaeiouy])$")
SNOWBALL = {"en": "english", "ru": "russian", "es": "spanish", "pt": "portuguese", "fr": "french",
            "de": "german", "pl": "polish", "uk": "russian", "kk": "russian"}


def plain(text) -> str:
    """Case-folded, ё read as е, single spaces: how header texts are compared exactly."""
    text = str(text).replace("ё", "е").replace("Ё", "Е").replace("\ufeff", "")
    return " ".join(text.split()).casefold()


def strip_line_number(text: str) -> str:
    """'1. Party' -> 'Party'; 'Строка 3 Число ...' -> 'Число ...'."""
    return _LINE_NUMBER.sub("", str(text), count=1)


@lru_cache(maxsize=None)
def _stemmer(name: str):
    return snowballstemmer.stemmer(name)


@lru_cache(maxsize=65536)
def stem(word: str, language: str = "en") -> str:
    """One word's stem; a fleeting о/е before the last consonant is dropped (список/списки)."""
    word = plain(word)
    if _CYRILLIC.search(word):
        out = _stemmer("russian").stemWord(word)
        return _FLEETING.sub(r"\1\2", out) if len(out) >= 5 else out
    return _stemmer(SNOWBALL.get(language, "english")).stemWord(word)


def stems(text, language: str = "en") -> tuple:
    """The meaning-carrying stems of a header, in order, without line numbers or filler words."""
    words = _WORD.findall(plain(strip_line_number(text)))
    return tuple(stem(w, language) for w in words if w not in STOP and not w.isdigit())


def same_text(a, b, language: str = "en") -> bool:
    """Two header texts say the same once case, punctuation, numbers, number and fillers are ignored."""
    return stems(a, language) == stems(b, language)


class WordRule:
    """A line recognised by its words: any one group of ``words`` all present, none of ``without``.

    ``words = ["избиратель список", "участник список"]`` matches a header
    holding both stems of either group, e.g. every wording of 'voters on the
    list' from 2004 to 2024; ``without = ["открепительный"]`` keeps absentee
    lines out.
    """

    def __init__(self, words, without=(), language: str = "en"):
        words = [words] if isinstance(words, str) else list(words)
        self.text = words
        self.groups = [frozenset(stems(w, language)) for w in words]
        self.without = frozenset(s for w in ([without] if isinstance(without, str) else without)
                                 for s in stems(w, language))
        self.language = language

    def matches(self, header) -> bool:
        have = set(stems(header, self.language))
        return not (have & self.without) and any(g and g <= have for g in self.groups)

    def describe(self) -> str:
        text = " or ".join(f"all of '{w}'" for w in self.text)
        return text + (f", none of {sorted(self.without)}" if self.without else "")
