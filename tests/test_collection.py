"""Tests for conformance.collection: a case's facts, read once from its markers (and refused when they are wrong)."""

from __future__ import annotations

import pytest

from conformance import collection
from conformance.collection import CollectionError, facts_of

MODULE = """
import pytest

pytestmark = pytest.mark.area({areas})


@pytest.mark.requirement({requirements})
{marks}
def test_case():
    pass


def test_plain():
    pass
"""


def items(pytester: pytest.Pytester, requirements: str = '"VC-LIST", "VC-ID-BARE"', areas: str = '"crud"',
          marks: str = "") -> dict[str, pytest.Item]:
    module = pytester.getmodulecol(MODULE.format(requirements=requirements, areas=areas, marks=marks),
                                   configargs=("-p", "no:conformance"))  # the facts are asked here, not by the plugin
    return {item.name: item for item in pytester.genitems([module])}


def test_a_case_s_facts_come_from_its_markers_and_the_catalogue(pytester):
    found = items(pytester, marks="@pytest.mark.exclusive\n@pytest.mark.generated", areas='"naming", "delivery"')
    facts = facts_of(found["test_case"])
    assert facts is not None
    assert facts.requirements == ("VC-LIST", "VC-ID-BARE") and facts.protocol == "vidicore"
    assert facts.areas == ("naming", "delivery") and facts.area == "naming"
    assert facts.levels == {"MUST", "SHOULD"} and facts.exclusive and facts.generated
    assert facts_of(found["test_plain"]) is None  # no requirement: no conformance case


@pytest.mark.parametrize("requirements, areas, message", [
    ('"VC-NOPE"', '"crud"', "unknown requirement 'VC-NOPE'"),
    ('"VC-LIST", "SP-GET"', '"crud"', "checks requirements of several protocols"),
    ('"VC-LIST"', "", "its module declares no area"),
    ('"VC-LIST"', '"cruddy"', "unknown area 'cruddy'"),
])
def test_a_case_that_cannot_be_one_is_one_line_naming_it(pytester, requirements, areas, message):
    found = items(pytester, requirements, areas)
    with pytest.raises(CollectionError) as raised:
        facts_of(found["test_case"])
    assert message in str(raised.value) and "test_case" in str(raised.value) and "\n" not in str(raised.value)


def test_every_area_has_a_marker_name():
    assert all(name.isidentifier() for name in collection.AREAS)  # -m reads them as names
