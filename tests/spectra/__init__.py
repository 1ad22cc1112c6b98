"""Tests of conformance.spectra (a package: its module names repeat those of tests/vidicore)."""
