"""The Spectra S3 conformance cases (collected by `pytest --pyargs conformance.spectra`)."""
