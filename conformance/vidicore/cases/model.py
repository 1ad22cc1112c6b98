"""The stateful model of the VidiCore notification resources (NOTES §1.1, §1.2, §1.4) that `test_generated_model`
runs: Hypothesis chains create, retrieve, list, change and delete across entities, single-entity forms and the
placeholder, and after every step the server must agree with an in-memory model of what this run made there.

A change step judges its answer: 200 and the document it stored (VC-CHANGE), whatever changes came before.
After every step that created, changed or deleted a notification (an invariant), and in a retrieve step of its own:
a retrieve equals the model's document (VC-RETRIEVE, VC-CHANGE-PERSISTS after a change), a deleted id answers 404
(VC-DELETED-GONE); and the list names every live id of the run on that resource once and no id the run deleted
(VC-LIST, VC-DELETE-ONE). Others' notifications on the resource are never judged or touched.

`Model` is a module-level class over a `Context`, what its case gives it (the case's `check`, the VidiCore client,
its generation and the notification resources the target names); the case runs it bound to its own context
(`conformance.generation.bound`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from conformance.check import Check
from conformance.generation import Generation, from_context, rule_body
from conformance.vidicore import documents
from conformance.vidicore import strategies as gen
from conformance.vidicore.cases.support import check_exception, read
from conformance.vidicore.client import JSON, XML, Bound, VidiCoreClient

MEDIA = {"xml": XML, "json": JSON}


@dataclass(frozen=True)
class Context:
    """What one case gives its model: its check, the VidiCore client (cleaning up after itself), its generation,
    and the notification resources of the target the suite can use (`forms`, at least one)."""

    check: Check
    vc: VidiCoreClient
    generation: Generation
    forms: tuple[Bound, ...]


class Model(RuleBasedStateMachine):
    """The model's rules and invariant over `context` (set by `conformance.generation.bound` for one case)."""

    context: ClassVar[Context]
    notifications = Bundle("notifications")

    def __init__(self) -> None:
        super().__init__()
        self.check, self.vc = self.context.check, self.context.vc
        self.generation = self.context.generation  # (`rule_body` raises each failure through it)
        self.generation.begin_example()
        self.live: dict[str, tuple[Bound, dict[str, Any], str]] = {}  # id -> (bound, document, requirement)
        self.deleted: dict[str, Bound] = {}  # id -> bound
        self.touched: str | None = None  # the id the last step created, changed or deleted
        self.forms = list(self.context.forms[:1])

    @initialize(chosen=from_context(lambda context: st.lists(st.sampled_from(context.forms), min_size=1,
                                                             max_size=1)))
    def resources(self, chosen) -> None:
        """One run works on one resource (drawn per run), so its steps meet each other's notifications."""
        self.forms = chosen
        self.generation.step("on " + ", ".join(bound.path() for bound in chosen))

    @rule(target=notifications, data=st.data())
    @rule_body
    def create(self, data):
        check, vc = self.check, self.vc
        bound = data.draw(st.sampled_from(self.forms), label="resource")
        encoded = data.draw(gen.encoded_documents(vc.names.name("g")), label="document")
        self.generation.step(f"create {encoded.describe()} on {bound.path()}")
        response = vc.create_raw(bound, encoded.body(), encoded.media_type)
        requirement_id = "VC-BODY-FORMATS" if encoded.fmt == "json" else "VC-CREATE-STATUS"
        check(requirement_id, 200 <= response.status < 300, f"a valid {encoded.describe()} document was "
                                                            f"answered {response.status}")
        ids = vc.ids_in(response)
        check.precondition(len(ids) == 1, f"no id in the create answer on {bound.path()}")
        self.live[ids[0]] = (bound, encoded.tree, "VC-RETRIEVE")
        self.touched = ids[0]
        return ids[0]

    @rule(notification_id=notifications, fmt=st.sampled_from(("xml", "json")))
    @rule_body
    def retrieve(self, notification_id, fmt):
        self.generation.step(f"retrieve {'' if notification_id in self.live else 'deleted '}{notification_id} as "
                             f"{fmt.upper()}")
        self.agrees(notification_id, fmt)

    def agrees(self, notification_id: str, fmt: str = "xml") -> None:
        """A retrieve of `notification_id` equals the model's document, or answers 404 if the run deleted it."""
        check, vc = self.check, self.vc
        if notification_id in self.live:
            bound, tree, requirement_id = self.live[notification_id]
            response = vc.get(bound, notification_id, accept=MEDIA[fmt])
            check(requirement_id, response.status == 200, f"retrieve answered {response.status}")
            diffs = documents.differences(tree, read(check, response, "NotificationDocument"))
            check(requirement_id, not diffs, "read back differs from the model: " + "; ".join(diffs)[:1500])
        else:
            check_exception(check, vc.get(self.deleted[notification_id], notification_id), "VC-DELETED-GONE",
                            "notFound", 404)

    @rule(notification_id=notifications, data=st.data())
    @rule_body
    def change(self, notification_id, data):
        if notification_id not in self.live:
            return
        check, vc = self.check, self.vc
        bound, _, _ = self.live[notification_id]
        encoded = data.draw(gen.encoded_documents(vc.names.name("g")), label="change")
        self.generation.step(f"change {notification_id} to a {encoded.describe()} document")
        response = vc.put_raw(bound, notification_id, encoded.body(), encoded.media_type)
        self.touched = notification_id
        check("VC-BODY-FORMATS" if encoded.fmt == "json" else "VC-CHANGE", 200 <= response.status < 300,
              f"a valid {encoded.describe()} change was answered {response.status}")
        check("VC-CHANGE", response.status == 200, f"the change answered {response.status}, expected 200")
        self.live[notification_id] = (bound, encoded.tree, "VC-CHANGE-PERSISTS")
        diffs = documents.differences(encoded.tree, read(check, response, "NotificationDocument"))
        check("VC-CHANGE", not diffs, "the PUT answer is not the document it stored: " + "; ".join(diffs)[:1500])

    @rule(notification_id=notifications)
    @rule_body
    def delete(self, notification_id):
        if notification_id not in self.live:
            return
        bound, _, _ = self.live.pop(notification_id)
        self.generation.step(f"delete {notification_id}")
        response = self.vc.delete(bound, notification_id)
        self.touched = notification_id
        self.check("VC-DELETE-ONE", response.status == 200, f"delete answered {response.status}, expected 200")
        self.vc.forget(bound, notification_id)
        self.deleted[notification_id] = bound

    @invariant()
    @rule_body
    def server_agrees(self):
        """After every step that created, changed or deleted a notification (not a step itself): a retrieve of
        it equals the model's document (or answers 404, deleted), and the list of the run's resource names every
        live id of the run there once and no id the run deleted."""
        check, vc = self.check, self.vc
        touched, self.touched = self.touched, None
        if touched is None:
            return
        self.agrees(touched)
        for bound in self.forms:
            response = vc.list(bound)
            check("VC-LIST", response.status == 200, f"list answered {response.status}")
            listed = documents.uri_ids(read(check, response, "URIListDocument"))
            for notification_id, (where, _, _) in self.live.items():
                if where == bound:
                    check("VC-LIST", listed.count(notification_id) == 1,
                          f"after the last step the list of {bound.path()} names {notification_id} "
                          f"{listed.count(notification_id)} times, expected once")
            gone = [i for i, where in self.deleted.items() if where == bound and i in listed]
            check("VC-DELETE-ONE", not gone, f"after the last step the list of {bound.path()} still names "
                                             f"deleted {gone}")

    def teardown(self) -> None:
        self.vc.cleanup()
