"""The fault registry as typed behaviour settings: every fault changes real settings of its protocol's behaviour
dataclass (with values of the field's type), every setting belongs to exactly one fault or conforming behaviour, and
a misspelt setting fails loudly."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import pytest

from conformance.reference import behaviours
from conformance.reference import faults as registry
from conformance.reference.faults import FAULTS, Fault, behaviour, check_settings
from conformance.reference.spectra.behaviour import SpectraBehaviour
from conformance.reference.vidicore.behaviour import VidiCoreBehaviour

KINDS: dict[str, type] = {"vidicore": VidiCoreBehaviour, "spectra": SpectraBehaviour}


def _accepts(hint: Any, value: Any) -> bool:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint) or hint
    if origin is tuple:
        return isinstance(value, tuple) and all(_accepts(typing.get_args(hint)[0], item) for item in value)
    return isinstance(value, origin)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_every_fault_changes_real_settings_of_its_protocol(name: str) -> None:
    fault = FAULTS[name]
    kind = KINDS[fault.protocol]
    fields = {field.name: field for field in dataclasses.fields(kind)}
    hints = typing.get_type_hints(kind)
    assert fault.settings, f"{name} changes nothing"
    for setting, value in fault.settings:
        assert setting in fields, f"{name}: {kind.__name__} has no setting {setting}"
        assert _accepts(hints[setting], value), f"{name}: {setting}={value!r} is not a {hints[setting]}"
        assert value != fields[setting].default, f"{name}: {setting}={value!r} is the conforming default"
    changed = behaviour(kind, fault.protocol, [name])
    assert {setting: getattr(changed, setting) for setting, _ in fault.settings} == fault.changes


@pytest.mark.parametrize("protocol", list(KINDS))
def test_every_setting_belongs_to_exactly_one_fault_or_behaviour(protocol: str) -> None:
    owners: dict[str, list[str]] = {}
    for named in [*registry.for_protocol(protocol), *behaviours.for_protocol(protocol)]:
        for setting, _ in named.settings:
            owners.setdefault(setting, []).append(named.name)
    fields = {field.name for field in dataclasses.fields(KINDS[protocol])}
    assert set(owners) == fields, f"settings nothing changes: {sorted(fields - set(owners))}"
    assert {setting: names for setting, names in owners.items() if len(names) > 1} == {}


@pytest.mark.parametrize("name", sorted(behaviours.BEHAVIOURS))
def test_every_behaviour_changes_real_settings_and_names_no_requirement(name: str) -> None:
    """A behaviour is a conforming way of a real server: it changes settings of its protocol (away from the
    defaults) and, unlike a fault, breaks nothing (the project's tests run the suite against each: CONFORMANT)."""
    item = behaviours.BEHAVIOURS[name]
    kind = KINDS[item.protocol]
    defaults = kind()
    assert item.settings and all(getattr(defaults, setting) != value for setting, value in item.settings)
    assert {s: getattr(behaviour(kind, item.protocol, behaviours=[name]), s) for s, _ in item.settings} == item.changes
    assert not hasattr(item, "requirements")
    with pytest.raises(ValueError, match="unknown behaviour 'nope'"):
        behaviours.resolve("nope")


def test_no_faults_is_the_conforming_behaviour_and_faults_combine() -> None:
    assert behaviour(VidiCoreBehaviour, "vidicore") == VidiCoreBehaviour()
    both = behaviour(VidiCoreBehaviour, "vidicore", "create-201, list-text-lf")
    assert (both.create_status, both.list_text_separator, both.id_prefix) == (201, "\n", "VX")
    with pytest.raises(ValueError, match="belongs to spectra"):
        behaviour(VidiCoreBehaviour, "vidicore", ["sp-create-200"])
    with pytest.raises(ValueError, match="unknown fault"):
        behaviour(SpectraBehaviour, "spectra", ["nope"])


def test_a_misspelt_or_conflicting_setting_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FAULTS, "typo", Fault("typo", "vidicore", ("VC-LIST",), "", (("creat_status", 201),)))
    with pytest.raises(TypeError, match="fault 'typo' changes creat_status: no such setting of VidiCoreBehaviour"):
        check_settings(VidiCoreBehaviour, "vidicore")
    monkeypatch.setitem(FAULTS, "typo", Fault("typo", "vidicore", ("VC-LIST",), "", (("create_status", 202),)))
    with pytest.raises(ValueError, match="'create-201' and 'typo' both change create_status"):
        behaviour(VidiCoreBehaviour, "vidicore", ["create-201", "typo"])


def test_apps_keep_the_fault_names_and_read_the_settings() -> None:
    from conformance.reference.spectra import SpectraApp
    from conformance.reference.vidicore import VidiCoreApp

    app = VidiCoreApp(faults=["id-lowercase"])
    assert app.faults == frozenset({"id-lowercase"}) and app.behaviour.id_prefix == "vx"
    app.close()
    spectra = SpectraApp(faults=())
    assert spectra.faults == frozenset() and spectra.behaviour == SpectraBehaviour()
    spectra.close()
