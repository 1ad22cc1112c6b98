"""Tests for conformance.options: one declaration makes a pytest option and a `conformance run` flag with the same
help, and a command-line value becomes the pytest arguments it stands for."""

from __future__ import annotations

import argparse

import pytest

from conformance import plugin
from conformance.options import APPEND, STORE_TRUE, Option, add_to, add_to_argparse, pytest_argv

RESULTS = Option("results_file", "write results", pytest="--x-results", cli=("--results",), metavar="FILE",
                 cli_default="reports/results.json")
FAULT = Option("fault", "a fault", pytest="--x-fault", cli=("--fault",), action=APPEND, metavar="NAME")
STRICT = Option("strict", "be strict", pytest="--x-strict", cli=("--strict",), action=STORE_TRUE)
KEYWORD = Option("keyword", "cases matching", cli=("-k",), passes="-k", metavar="EXPR", default_text="every case")
SEED = Option("seed", "a seed", pytest="--x-seed", cli=("--seed",), type=int, metavar="N")


@pytest.mark.parametrize("option, value, argv", [
    (RESULTS, "r.json", ["--x-results", "r.json"]),
    (RESULTS, "", []),                  # '' for none
    (RESULTS, None, []),
    (FAULT, ["a", "b"], ["--x-fault", "a", "--x-fault", "b"]),
    (STRICT, True, ["--x-strict"]),
    (STRICT, False, []),
    (KEYWORD, "VC-LIST", ["-k", "VC-LIST"]),
    (SEED, 0, ["--x-seed", "0"]),       # a seed of 0 is a seed
])
def test_a_command_line_value_is_the_pytest_arguments_it_stands_for(option, value, argv):
    assert option.argv(value) == argv


def test_help_says_the_default_of_each_side():
    assert RESULTS.help_for(cli=True) == "write results (default: reports/results.json)"
    assert RESULTS.help_for(cli=False) == "write results (default: none)"
    assert STRICT.help_for(cli=True) == "be strict (default: off)"
    assert KEYWORD.help_for(cli=True) == "cases matching (default: every case)"


def test_both_parsers_are_made_from_the_declarations():
    parser = argparse.ArgumentParser()
    add_to_argparse(parser, (RESULTS, FAULT, STRICT, KEYWORD, SEED))
    args = parser.parse_args(["--fault", "f1", "--strict", "-k", "x", "--seed", "3"])
    assert pytest_argv((RESULTS, FAULT, STRICT, KEYWORD, SEED), args) == [
        "--x-results", "reports/results.json", "--x-fault", "f1", "--x-strict", "-k", "x", "--x-seed", "3"]


def test_every_option_of_the_run_is_declared_once_and_both_helps_show_its_text(pytestconfig):
    """The table `conformance run` is made of: no flag or destination twice; each plugin option is an option of
    this pytest (the plugin is loaded) with the same help but for the default."""
    table = plugin.option_table()
    for attribute in ("dest", "pytest"):
        values = [getattr(option, attribute) for option in table if getattr(option, attribute)]
        assert len(values) == len(set(values)), attribute
    flags = [flag for option in table for flag in option.cli]
    assert len(flags) == len(set(flags))
    parser = pytestconfig._parser  # what `pytest --help` shows
    shown = {name: option for group in parser._groups for option in group.options for name in option.names()}
    for option in table:
        if option.pytest is None:
            assert option.passes, f"{option.dest}: neither a plugin option nor passed on"
            continue
        assert shown[option.pytest].attrs()["help"] == option.help_for(cli=False)
        if option.cli:
            assert option.help_for(cli=True).startswith(option.help + " (default: ")


def test_a_pytest_group_gets_the_plugin_options_only():
    added: list[str] = []

    class Group:
        def addoption(self, *names: str, **keywords: object) -> None:
            added.extend(names)

    class Parser:
        def getgroup(self, name: str, description: str = "") -> Group:
            return Group()

    add_to(Parser(), (RESULTS, KEYWORD))
    assert added == ["--x-results"]
