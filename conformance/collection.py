"""What collection knows of a conformance case, computed once: `CaseFacts`.

When pytest collects an item, the plugin reads its markers once (`facts_of`) and stashes the result on the item
(`FACTS_KEY`); every feature plugin (selection, shards, time limits, the server lock, the record) reads the facts
from there instead of reading markers and the catalogue again.

- `requirements`: the catalogue ids its `requirement` markers declare (an item without any is no conformance case:
  its facts are None);
- `protocol`: the protocol of those requirements (a case of several protocols is a usage error);
- `areas`: what its module declares with `pytestmark = pytest.mark.area("crud", ...)`: the first is the area the
  shards are dealt by, every one is a selection marker (`-m crud`); the names and their descriptions are
  `AREAS`;
- `levels`: the levels of its requirements (MUST, SHOULD);
- `exclusive`: it must run alone on a server (`@pytest.mark.exclusive`); `generated`: Hypothesis draws its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance import catalogue

FACTS_KEY = pytest.StashKey["CaseFacts | None"]()
AREA_MARKER = "area"
EXCLUSIVE_MARKER = "exclusive"
GENERATED_MARKER = "generated"

# Area name -> what it holds. A case module declares its areas (`pytestmark = pytest.mark.area("crud")`): the first is
# its concern, the one the shards are dealt by; `delivery` is also given to every module whose cases wait for a
# delivery (`-m "not delivery"` needs no receiver the target can reach). Names are selection markers (`-m`), so they
# hold no `-`.
AREAS: dict[str, str] = {
    "crud": "create, retrieve, change, delete and list (VidiCore paths with and without a trailing slash too)",
    "not_found": "unknown ids and entities: 404",
    "invalid": "refused input: invalid documents and requests answer 400 (404 for an unknown job) and store nothing",
    "negotiation": "formats and media types: JSON bodies, text/plain answers, Content-Type of XML answers",
    "roles": "authentication and who may do what",
    "delivery": "every case that waits for a delivery from the server to the suite's receiver",
    "naming": "the Spectra payload in every naming convention, format and method",
    "bookkeeping": "the delivery bookkeeping of Spectra registrations",
    "generated": "cases whose inputs Hypothesis generates (-m 'not generated' leaves them out)",
}


class CollectionError(ValueError):
    """A case that cannot be collected as a conformance case; str() is one line naming it."""


@dataclass(frozen=True)
class CaseFacts:
    requirements: tuple[str, ...]
    protocol: str
    areas: tuple[str, ...]
    levels: frozenset[str]
    exclusive: bool
    generated: bool

    @property
    def area(self) -> str:
        """The area the case is dealt to a shard by: its module's first."""
        return self.areas[0]


def facts_of(item: pytest.Item) -> CaseFacts | None:
    """The facts of a collected item (None: it declares no requirement, so it is no conformance case)."""
    declared = tuple(dict.fromkeys(r for marker in item.iter_markers("requirement") for r in marker.args))
    if not declared:
        return None
    requirements = catalogue.load_all()
    unknown = [r for r in declared if r not in requirements]
    if unknown:
        raise CollectionError(f"{item.nodeid}: unknown requirement {unknown[0]!r}")
    found = {requirements[r].protocol for r in declared}
    if len(found) > 1:
        raise CollectionError(f"{item.nodeid}: checks requirements of several protocols ({sorted(found)})")
    marker = item.get_closest_marker(AREA_MARKER)
    areas = tuple(marker.args) if marker is not None else ()
    if not areas:
        raise CollectionError(f"{item.nodeid}: its module declares no area (pytestmark = pytest.mark.area(NAME); "
                              f"known: {', '.join(AREAS)})")
    strange = [area for area in areas if area not in AREAS]
    if strange:
        raise CollectionError(f"{item.nodeid}: unknown area {strange[0]!r}; known: {', '.join(AREAS)}")
    return CaseFacts(declared, found.pop(), areas, frozenset(requirements[r].level for r in declared),
                     item.get_closest_marker(EXCLUSIVE_MARKER) is not None,
                     item.get_closest_marker(GENERATED_MARKER) is not None)


def facts(item: pytest.Item) -> CaseFacts | None:
    """The facts the plugin stashed on `item` when it was collected (None: no conformance case)."""
    return item.stash.get(FACTS_KEY, None)
