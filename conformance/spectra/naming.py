"""Spectra S3 naming conventions: how a registration's `naming_convention` renames a delivered document.

The convention applies to every element, attribute and key NAME of a delivery, never to values
(NOTES §2.4). Names are written in the canonical convention (CamelCase, first letter upper-case) and
converted with BlackPearl's algorithm: split the name into words at each upper-case letter (digits never
split; a name without any lower-case letter is one word), then join the words as the convention says.

    >>> convert("ObjectsNotPersisted", "UNDERSCORED")
    'objects_not_persisted'
"""

from __future__ import annotations

CONVENTIONS = (
    "CONCAT_LOWERCASE",
    "CONSTANT",
    "UNDERSCORED",
    "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE",
    "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE",
)
DEFAULT = "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE"


def words(name: str) -> list[str]:
    """The words of a CamelCase name: a new word starts at each upper-case letter.

    Digits never start a word ("Md5Sum" -> ["Md5", "Sum"]); a name without a lower-case letter is one
    word ("ID" -> ["ID"]).
    """
    if not any(c.islower() for c in name):
        return [name] if name else []
    found: list[str] = []
    for c in name:
        if c.isupper() or not found:
            found.append(c)
        else:
            found[-1] += c
    return found


def convert(name: str, convention: str) -> str:
    """`name` (canonical CamelCase) in `convention` (one of CONVENTIONS; ValueError otherwise)."""
    parts = [w.lower() for w in words(name)]
    if convention == "UNDERSCORED":
        return "_".join(parts)
    if convention == "CONSTANT":
        return "_".join(parts).upper()
    if convention == "CONCAT_LOWERCASE":
        return "".join(parts)
    if convention in ("CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE", "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE"):
        # BlackPearl keeps a mixed-case name as it is and lower-cases an all-capitals one first
        base = name if any(c.islower() for c in name) else name.lower()
        if not base:
            return base
        first = base[0].upper() if convention.endswith("UPPERCASE") else base[0].lower()
        return first + base[1:]
    raise ValueError(f"unknown naming convention {convention!r}; expected one of {', '.join(CONVENTIONS)}")


def slug(convention: str) -> str:
    """The convention in file names: lower-case with '-' for '_' ("CONCAT_LOWERCASE" -> "concat-lowercase")."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown naming convention {convention!r}")
    return convention.lower().replace("_", "-")
