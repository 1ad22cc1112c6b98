"""Every option of a run, declared once: `Option`.

A feature plugin (`conformance.plugin.FEATURES`) declares its options as `Option`s in its module's `OPTIONS` and
adds them to pytest in its own `pytest_addoption` (`add_to`). `conformance run` makes its flags from the same
declarations (`conformance.plugin.option_table()`, `add_to_argparse`) and turns what a user gave back into the pytest
command line it stands for (`Option.argv`). So each help text is written once, both `--help`s show it, and no option
of the command line can be forgotten on its way to the plugin.

An option may live on one side only: a plugin option the command line sets itself (`--conformance-progress`) has no
`cli` flags; a command-line flag that stands for an option of pytest or of another plugin (`-k`, `-n`,
`--alluredir`) has no `pytest` flag, and names what it passes on in `passes`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

STORE, STORE_TRUE, APPEND = "store", "store_true", "append"


@dataclass(frozen=True)
class Option:
    dest: str                          # where pytest (`config.getoption`) and argparse keep its value
    help: str                          # what it does; "(default: ...)" is added for each side
    pytest: str | None = None          # the plugin's flag (`--conformance-results`); None: no plugin option
    cli: tuple[str, ...] = ()          # `conformance run`'s flags (`--results`); (): not on the command line
    passes: str | None = None          # a command-line flag's pytest flag when it is not the plugin's (`-k`)
    metavar: str | None = None
    action: str = STORE                # store | store_true | append
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    default: Any = None                # as a pytest option
    cli_default: Any = None            # as a `conformance run` flag (None: the same as `default`)
    default_text: str | None = None    # the default in words, where its value says little ("every case")

    @property
    def flag(self) -> str:
        """The pytest flag the command line passes it on as."""
        flag = self.pytest or self.passes
        if flag is None:
            raise ValueError(f"option {self.dest} has neither a plugin flag nor a flag it passes on")
        return flag

    def shown_default(self, value: Any) -> str:
        if self.default_text is not None and value in (None, [], False, self.default):
            return self.default_text
        if self.action == STORE_TRUE:
            return "on" if value else "off"
        if value in (None, []):
            return "none"
        return str(value)

    def help_for(self, cli: bool) -> str:
        """Its help text with the default of that side (the command line may write a report by default)."""
        value = self.cli_default if cli and self.cli_default is not None else self.default
        return f"{self.help} (default: {self.shown_default(value)})"

    def argv(self, value: Any) -> list[str]:
        """The pytest arguments a command-line value stands for ([] for none given: the plugin's default)."""
        if self.action == STORE_TRUE:
            return [self.flag] if value else []
        if self.action == APPEND:
            return [part for item in value or () for part in (self.flag, str(item))]
        return [] if value is None or value == "" else [self.flag, str(value)]

    def _keywords(self, cli: bool) -> dict[str, Any]:
        keywords: dict[str, Any] = {"dest": self.dest, "help": self.help_for(cli), "action": self.action}
        default = self.cli_default if cli and self.cli_default is not None else self.default
        if self.action == APPEND:
            keywords["default"] = list(default or [])
        elif self.action == STORE_TRUE:
            keywords["default"] = bool(default)
        else:
            keywords["default"] = default
            keywords["metavar"] = self.metavar
            if self.type is not None:
                keywords["type"] = self.type
            if self.choices is not None:
                keywords["choices"] = self.choices
        if self.action == APPEND:
            keywords["metavar"] = self.metavar
        return keywords


def add_to(parser: Any, options: Iterable[Option], group: str = "conformance") -> None:
    """Add the plugin options among `options` to pytest's parser (in its group `group`)."""
    section = parser.getgroup(group, "notification API conformance")
    for option in options:
        if option.pytest is not None:
            section.addoption(option.pytest, **option._keywords(cli=False))


def add_to_argparse(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    """Add the command-line flags among `options` to an argparse parser."""
    for option in options:
        if option.cli:
            parser.add_argument(*option.cli, **option._keywords(cli=True))


def pytest_argv(options: Sequence[Option], args: argparse.Namespace) -> list[str]:
    """The pytest arguments for every command-line option `args` holds."""
    return [part for option in options if option.cli for part in option.argv(getattr(args, option.dest, None))]
