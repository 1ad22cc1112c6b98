"""The VidiCore conformance cases, one module per concern; run with `pytest --pyargs conformance.vidicore`."""
