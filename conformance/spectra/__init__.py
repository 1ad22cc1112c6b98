"""Spectra S3 (BlackPearl) job-completed notification registrations: settings, signer, naming, client,
documents, triggers and cases (NOTES §2).

This module holds only the protocol's descriptor (data): importing it imports none of the protocol's code.
"""

from conformance.descriptor import Protocol

PROTOCOL = Protocol(
    name="spectra",
    package="conformance.spectra",
    settings="conformance.spectra.settings",
    sweeper="conformance.spectra.sweeper",
    readiness="conformance.spectra.readiness",
    reference_app="conformance.reference.spectra:SpectraApp",
    environment="CONFORMANCE_SPECTRA_<ROLE>_ACCESS_ID/_SECRET_KEY",
    url_example="http://blackpearl:80",
)
