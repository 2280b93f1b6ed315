"""The applyManifests payload as a pipeline reads it: one result per document, the
missing object named, user errors pointing at the document."""

from __future__ import annotations

from resolvers.writes.manifests import ManifestOutcome, ManifestResult, ObjectKey
from resolvers.writes.plan import Plan
from schema.mutations.manifests import ManifestState, apply_manifests_payload

BC = ObjectKey("c1", "core.kubestash.com", "BackupConfiguration", "ci", "app-db-backup")
STORAGE = ObjectKey("c1", "storage.kubestash.com", "BackupStorage", "ci", "s3")
NS = ObjectKey("c1", "", "Namespace", None, "ci")


def test_results_name_the_object_and_what_it_waits_for() -> None:
    plan = Plan()
    plan.warn("WAITING_FOR_DEPENDENCY", "BackupConfiguration ci/app-db-backup: needs s3")
    outcome = ManifestOutcome(
        plan,
        [
            ManifestResult(0, NS, "APPLIED"),
            ManifestResult(1, BC, "WAITING", STORAGE, "It needs BackupStorage ci/s3."),
        ],
    )
    got = apply_manifests_payload(outcome)
    assert [r.state for r in got.results] == [ManifestState.APPLIED, ManifestState.WAITING]
    assert got.results[0].object is not None
    assert got.results[0].object.api_group is None  # the core group
    waiting = got.results[1].waiting_for
    assert waiting is not None
    assert (waiting.api_group, waiting.kind, waiting.namespace, waiting.name) == (
        "storage.kubestash.com",
        "BackupStorage",
        "ci",
        "s3",
    )
    assert [w.message for w in got.warnings] == [plan.warnings[0].message]
    assert got.user_errors == []


def test_a_failed_document_is_a_user_error_at_its_index() -> None:
    plan = Plan().refuse("INVALID_INPUT", "Document 2: not ours.", field=["documents", "2"])
    got = apply_manifests_payload(ManifestOutcome(plan, [ManifestResult(2, None, "FAILED")]))
    assert [e.field for e in got.user_errors] == [["documents", "2"]]
    assert got.results[0].object is None
