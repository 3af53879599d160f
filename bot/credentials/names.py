"""What makes two credential names the same: Unicode's confusable skeleton (UTS #39), case-insensitively.

``Аlpha`` (Cyrillic А), ``A1pha`` and ``alpha`` are one name to a reader, so they are one name here: a name's
key is the skeleton of its NFKC case fold, folded again. The mapping is Unicode's own ``confusables.txt``
(``data/``, with its licence); characters that draw nothing (Default_Ignorable_Code_Point, taken from the
``regex`` module's Unicode tables) are refused before a name gets this far.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib.resources import files

import regex

DEFAULT_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
CONFUSABLES_FILE = "confusables.txt"


@cache
def prototypes() -> dict[str, str]:
    """Unicode's confusables: each character to the prototype it is confusable with."""
    table: dict[str, str] = {}
    text = files("bot.credentials").joinpath("data", CONFUSABLES_FILE).read_text(encoding="utf-8-sig")
    for line in text.splitlines():
        source, sep, rest = line.partition(";")
        if not sep or line.startswith("#"):
            continue
        target = rest.split(";", 1)[0]
        table[chr(int(source.strip(), 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, drop default-ignorables, map each character to its prototype, NFD again."""
    table = prototypes()
    decomposed = unicodedata.normalize("NFD", DEFAULT_IGNORABLE.sub("", text))
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in decomposed))


def name_key(name: str) -> str:
    """The key two names collide on: NFKC case fold, confusable skeleton, case fold again."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return unicodedata.normalize("NFKC", skeleton(folded)).casefold()
