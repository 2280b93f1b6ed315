"""applyManifests: a bundle of KubeDB and KubeStash objects (and the Namespaces and
Secrets they need), given in any order, applied in the order of their references.

- ``documents.py``: which documents are applied, and what of them is;
- ``references.py``: what each kind refers to, and the tiers of the order;
- ``planner.py``: one round's plan and the result of every document (pure);
- ``apply.py``: the rounds: plan, apply through the write engine, wait.
"""

from resolvers.writes.manifests.apply import ApplyRound, ManifestOutcome, apply_manifests
from resolvers.writes.manifests.documents import ObjectKey
from resolvers.writes.manifests.planner import (
    ManifestPlan,
    ManifestResult,
    ManifestSettings,
    ManifestState,
    check_bounds,
    plan_manifests,
)

__all__ = [
    "ApplyRound",
    "ManifestOutcome",
    "ManifestPlan",
    "ManifestResult",
    "ManifestSettings",
    "ManifestState",
    "ObjectKey",
    "apply_manifests",
    "check_bounds",
    "plan_manifests",
]
