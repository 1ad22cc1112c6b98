"""Tests for conformance.selection: the markers and areas of the cases, the failures --last-failed reads, and a
rerun command that selects its case and no other."""

from __future__ import annotations

import json
import pkgutil
import shlex
from importlib import import_module

import pytest
from _pytest.mark import KeywordMatcher  # what -k matches against: the test must judge as pytest does
from _pytest.mark.expression import Expression

from conformance import collection, protocols, selection


def _declared_areas(module) -> tuple[str, ...]:
    marks = module.__dict__.get("pytestmark", [])
    marks = marks if isinstance(marks, list) else [marks]
    return next((tuple(mark.args) for mark in marks if mark.name == collection.AREA_MARKER), ())


def test_every_case_module_declares_its_areas_and_every_area_holds_a_module():
    modules = {f"{protocol.name}/{info.name}": import_module(f"{protocol.package}.cases.{info.name}")
               for protocol in protocols.PROTOCOLS
               for info in pkgutil.iter_modules(import_module(f"{protocol.package}.cases").__path__)
               if info.name.startswith("test_")}
    declared = {name: _declared_areas(module) for name, module in modules.items()}
    assert [name for name, areas in declared.items() if not areas] == [], \
        "a case module declares no area: pytestmark = pytest.mark.area(NAME)"
    assert {area for areas in declared.values() for area in areas} == set(collection.AREAS), \
        "an area no module declares, or a module declaring an unknown area"
    assert declared["spectra/test_generated_model"] == ("generated", "delivery")  # the Spectra model delivers
    assert declared["vidicore/test_generated_model"] == ("generated",)


def test_a_case_is_marked_with_its_protocol_areas_and_levels():
    assert selection.markers("spectra", ("naming", "delivery"), {"MUST", "SHOULD"}) == \
        ["spectra", "naming", "delivery", "must", "should"]
    assert selection.markers("vidicore", ("crud",), {"SHOULD"}) == ["vidicore", "crud", "should"]


def test_every_case_id_is_unique_as_the_command_line_collects_them(pytester):
    """`conformance run` collects every protocol's package from the working directory: the case ids are relative to
    each package ("cases/test_x.py::test_y"), so two protocols' cases of one module name must differ in name, or
    the run keeps one record for both (and a waiver or --last-failed names both)."""
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider", "--pyargs",
                                        *(protocol.package for protocol in protocols.PROTOCOLS))
    ids = [item.nodeid for item in items]
    assert len(items) > 800 and sorted(i for i in set(ids) if ids.count(i) > 1) == []


def test_every_rerun_command_selects_its_case_and_no_other(pytester):
    """Over the whole collection: the -k expression of each case's rerun command, judged by pytest's own keyword
    matching, selects that case alone among the cases of its protocol (-k matches substrings: test_defaults is
    part of test_defaults_for_omitted_fields)."""
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider", "--pyargs", "conformance")
    by_protocol: dict[str, list] = {}
    for item in items:
        protocol = next(name for name in protocols.NAMES if item.get_closest_marker(name))
        by_protocol.setdefault(protocol, []).append(item)
    names = items[0].config.stash[selection.KEY].names
    assert names == {item.name for item in items} and len(items) > 800
    for protocol, mine in by_protocol.items():
        matchers = [(item, KeywordMatcher.from_item(item)) for item in mine]
        for item in mine:
            words = shlex.split(selection.rerun_command(protocol, item.name, names))
            assert words[:3] == ["conformance", "run", protocol]
            expression = Expression.compile(words[words.index("-k") + 1])
            chosen = [other for other, matcher in matchers if expression.evaluate(matcher)]
            assert chosen == [item], f"{words}: selects {[other.nodeid for other in chosen]}"


def test_a_rerun_command_names_the_server_faults_profile_and_seed():
    assert selection.rerun_command("spectra", "test_x[a]", target="my target.toml", faults=["f1"], profile="dev",
                                   seed=7) == ("conformance run spectra --target 'my target.toml' --fault f1 "
                                               "-k 'test_x[a]' --profile dev --seed 7")
    assert selection.rerun_command("vidicore", "test_y", ["test_y", "test_y_more[a]", "test_y_more[b]"],
                                   base_url="http://vs:8080/API") == \
        "conformance run vidicore --base-url http://vs:8080/API -k 'test_y and not test_y_more'"
    assert selection.rerun_command("vidicore", "test_z[a b]") == "conformance run vidicore -k 'test_z and a and b'"


def _results(tmp_path, cases: list[dict], verdict: str = "VERDICT: NOT CONFORMANT — ...") -> str:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"verdict": {"line": verdict}, "cases": cases, "digests": []}))
    return str(path)


def _case(name: str, outcome: str, *events: str, protocol: str = "vidicore") -> dict:
    return {"case": name, "protocol": protocol, "outcome": outcome,
            "events": [{"requirement": "VC-LIST", "outcome": event} for event in events]}


def test_last_failed_reads_the_failed_and_the_blocked_cases(tmp_path):
    path = _results(tmp_path, [
        _case("failed", "failed", "pass", "fail"),
        _case("errored", "failed"),  # an error no check judged (no answer at all)
        _case("blocked", "skipped", "blocked"),
        _case("not-applicable", "skipped", "n/a"),
        _case("warned", "passed", "warn"),
        _case("failed", "failed", "fail", protocol="spectra"),
    ])
    assert selection.last_failed(path) == {("vidicore", "failed"), ("vidicore", "errored"), ("vidicore", "blocked"),
                                           ("spectra", "failed")}


@pytest.mark.parametrize("content, message", [
    (None, "missing.json: file not found (run the suite first"),
    ("{not json", "missing.json: not JSON"),
    ('{"meta": {}}', "not a results file of this suite"),
    ("[]", "not a results file of this suite"),
    ("passed", "no case failed or was blocked in the last run (VERDICT: CONFORMANT"),
])
def test_last_failed_without_failures_to_read_is_one_line(tmp_path, content, message):
    if content == "passed":
        path = _results(tmp_path, [_case("warned", "passed", "warn")], "VERDICT: CONFORMANT — all good")
    else:
        path = str(tmp_path / "missing.json")
        if content is not None:
            (tmp_path / "missing.json").write_text(content)
    with pytest.raises(selection.SelectionError) as error:
        selection.last_failed(path)
    assert message in str(error.value) and "\n" not in str(error.value)
