"""RBAC of the sandbox's people, the same in every sandbox cluster.

- admin: cluster-admin (group system:masters in the token file).
- alice: creates and edits KubeDB and KubeStash objects, Secrets and Services, in
  ``team-a`` only (Services as an editor of a namespace has them: she can stop traffic
  to her own database and make or delete its maintenance Service).
- bob: gets, lists and watches KubeDB and KubeStash objects and Services in ``team-b``
  only.
- the gateway user: bound to the ClusterRole and the records Role that deploy/ gives
  the gateway in a real cluster, so the sandbox tests exactly the permissions production
  has.
"""

from __future__ import annotations

from typing import Any

GATEWAY_USER = "stashql-gateway"
GATEWAY_NAMESPACE = "stashql-system"
ADMIN_NAMESPACE = "kubedb"
TEAM_NAMESPACES = ("team-a", "team-b")

DATA_GROUPS = [
    "kubedb.com",
    "archiver.kubedb.com",
    "storage.kubestash.com",
    "core.kubestash.com",
]
READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "update", "patch", "delete"]


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }


def _role_binding(namespace: str, role: str, user: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{role}:{user}", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }


def sandbox_rbac_objects() -> list[dict[str, Any]]:
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        for ns in (ADMIN_NAMESPACE, *TEAM_NAMESPACES)
    ]
    editor = _cluster_role(
        "stashql-sandbox:database-editor",
        [
            {"apiGroups": DATA_GROUPS, "resources": ["*"], "verbs": WRITE},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": WRITE},
            {"apiGroups": [""], "resources": ["services"], "verbs": WRITE},
        ],
    )
    viewer = _cluster_role(
        "stashql-sandbox:database-viewer",
        [
            {"apiGroups": DATA_GROUPS, "resources": ["*"], "verbs": READ},
            {"apiGroups": [""], "resources": ["services"], "verbs": READ},
        ],
    )
    gateway = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "stashql-gateway:sandbox-user"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "stashql-gateway",
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": GATEWAY_USER}
        ],
    }
    # deploy/ binds the records Role to the gateway's ServiceAccount; here it is a user.
    records = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": "stashql-gateway-records:sandbox-user",
            "namespace": GATEWAY_NAMESPACE,
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "stashql-gateway-records",
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": GATEWAY_USER}
        ],
    }
    return [
        *namespaces,
        editor,
        viewer,
        _role_binding("team-a", "stashql-sandbox:database-editor", "alice"),
        _role_binding("team-b", "stashql-sandbox:database-viewer", "bob"),
        gateway,
        records,
    ]
