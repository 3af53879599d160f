"""How the commands print: tab-separated tables for people, one JSON document for programs."""

from __future__ import annotations

import json
import sys
from datetime import datetime, UTC
from collections.abc import Iterable, Sequence


def print_json(document: object) -> None:
    """One JSON document on stdout: an array for lists (``[]`` when empty), an object for one item."""
    json.dump(document, sys.stdout, ensure_ascii=False, indent=None)
    sys.stdout.write("\n")


def print_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    print("\t".join(header))
    for row in rows:
        print("\t".join(row))


def one_line(text: str | None) -> str:
    """A free-text field on one table cell: whitespace (tabs, newlines) folded, ``-`` when empty."""
    return " ".join((text or "").split()) or "-"


def utc(moment: datetime | None, seconds: bool = False) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
