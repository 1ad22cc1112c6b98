"""VidiCore (Vidispine) notifications: settings, client, documents, triggers and cases (NOTES §1).

This module holds only the protocol's descriptor (data): importing it imports none of the protocol's code.
"""

from conformance.descriptor import Protocol

PROTOCOL = Protocol(
    name="vidicore",
    package="conformance.vidicore",
    settings="conformance.vidicore.settings",
    sweeper="conformance.vidicore.sweeper",
    readiness="conformance.vidicore.readiness",
    reference_app="conformance.reference.vidicore:VidiCoreApp",
    environment="CONFORMANCE_VIDICORE_<ROLE>_USER/_PASSWORD",
    url_example="http://vs.example.com:8080/API",
    # --conformance-sample: the resources that stand for all 21 (whole and single-entity forms, the one with no
    # single form, the placeholder with its own roles, and a name with "-" in its role names).
    sample=frozenset({"item", "item-entity", "storage-file", "placeholder", "deletion-lock-entity"}),
    sample_parameter="form",
)
