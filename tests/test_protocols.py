"""Tests for conformance.protocols and conformance.descriptor: the one list of protocols, and that each
descriptor names things that exist."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from conformance import catalogue, protocols, tables
from conformance.descriptor import Protocol, resolve
from conformance.reference.faults import FAULTS

PROTOCOL_NAMES = [protocol.name for protocol in protocols.PROTOCOLS]


def test_the_list_has_each_protocol_once():
    assert protocols.NAMES == ("vidicore", "spectra")
    assert len(set(PROTOCOL_NAMES)) == len(PROTOCOL_NAMES)
    assert all(isinstance(p, Protocol) for p in protocols.PROTOCOLS)
    with pytest.raises(ValueError, match="unknown protocol 'nope'; known: vidicore, spectra"):
        protocols.get("nope")


@pytest.mark.parametrize("name", PROTOCOL_NAMES)
def test_a_descriptor_names_things_that_exist(name):
    protocol = protocols.get(name)
    package = importlib.import_module(protocol.package)
    assert package.PROTOCOL is protocol  # each package's own descriptor
    cases = importlib.import_module(f"{protocol.package}.cases")
    modules = [info.name for info in pkgutil.iter_modules(cases.__path__)]
    assert any(module.startswith("test_") for module in modules), "no case module"
    settings = protocol.settings_module()
    assert callable(settings.read_table) and callable(settings.from_environment)
    assert callable(protocol.app_factory())
    assert catalogue.load(name).requirements, "no catalogue"
    assert any(fault.protocol == name for fault in FAULTS.values())
    assert protocol.url_option == f"--{name}-url"


def test_the_vidicore_sample_names_real_resources():
    from conformance.vidicore.client import ALL_FORMS

    assert protocols.get("vidicore").sample <= {str(form) for form in ALL_FORMS}


@pytest.mark.parametrize("name", PROTOCOL_NAMES)
def test_a_protocol_table_reader_refuses_what_it_does_not_know(name):
    read_table = protocols.get(name).settings_module().read_table
    with pytest.raises(tables.Invalid, match=rf"\[{name}\] colour: unknown key"):
        read_table({"colour": "blue"}, tables.Context({}, "."))


def test_resolve_reads_a_dotted_path():
    assert resolve("conformance.protocols:get") is protocols.get
    assert resolve("conformance.protocols") is protocols


def test_importing_a_protocol_package_imports_none_of_its_code():
    """The descriptor is data: the reference server (and the catalogue) can read the list cheaply."""
    import subprocess
    import sys

    code = ("import sys, conformance.protocols; "
            "print(sorted(m for m in sys.modules if m.startswith('conformance')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "conformance.vidicore.client" not in loaded and "conformance.spectra.signing" not in loaded
    assert "conformance.plugin" not in loaded
