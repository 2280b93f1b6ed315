"""What the admin planners share: name rules, references, defaults, addons, bodies.

Everything here reads the cluster only through ``plan.Store`` and reports what is
wrong by adding a typed user error to the plan (returning False), so a planner can
collect every problem of an input in one answer instead of stopping at the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from apis import objects
from apis.resources import (
    ADDONS_KIND,
    BACKUP_BLUEPRINTS,
    KUBEDB,
    NAMESPACES,
    RETENTION_POLICIES,
    SECRETS,
    ResourceType,
    catalog_version,
    database_kind,
)
from core import cron
from core.errors import InvalidInput
from core.selectors import selector_from_label_selector
from resolvers.writes.admin.inputs import Encryption, ObjectRef
from resolvers.writes.plan import Change, JSONDict, Plan, Store

MANAGED_BY = {"app.kubernetes.io/managed-by": "stashql"}

# Kubernetes object names (DNS-1123 subdomain) and namespaces (DNS-1123 label).
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def dns_problem(value: str, *, label: bool) -> str | None:
    """Why ``value`` is not a DNS-1123 label (or subdomain), or None if it is one."""
    limit = 63 if label else 253
    if not value:
        return "it is empty"
    if len(value) > limit:
        return f"it is {len(value)} characters long; the limit is {limit}"
    if not (_LABEL if label else _SUBDOMAIN).match(value):
        allowed = "'-'" if label else "'-' and '.'"
        return (
            f"{value!r} may hold only lowercase letters, digits and {allowed}, "
            "and must start and end with a letter or digit"
        )
    return None


def check_name(plan: Plan, value: str, *, field: Sequence[str], label: bool = False) -> bool:
    problem = dns_problem(value, label=label)
    if problem is None:
        return True
    rule = "DNS-1123 label" if label else "DNS-1123 subdomain"
    plan.refuse(
        "INVALID_INPUT",
        f"{'.'.join(field)} is not a valid Kubernetes name ({rule}): {problem}.",
        field=field,
    )
    return False


# The longest suffix the gateway appends to an object's name for the objects it makes
# beside it (an ArchiverPolicy's "<name>-archiver-encryption" Secret).
DERIVED_SUFFIX = len("-archiver-encryption")


def check_place(plan: Plan, namespace: str, name: str, *, label_name: bool = False) -> bool:
    """The namespace and name of an object the mutation creates."""
    ok = check_name(plan, namespace, field=("namespace",), label=True)
    if not check_name(plan, name, field=("name",), label=label_name):
        return False
    if not label_name and len(name) > 253 - DERIVED_SUFFIX:
        plan.refuse(
            "INVALID_INPUT",
            f"name is {len(name)} characters long; at most {253 - DERIVED_SUFFIX} leave room "
            "for the names of the objects made beside it (its Secrets).",
            field=("name",),
        )
        return False
    return ok


def check_schedule(plan: Plan, schedule: str, *, field: Sequence[str]) -> bool:
    try:
        cron.parse(schedule)
    except InvalidInput as exc:
        plan.refuse(
            "INVALID_SCHEDULE",
            f"{'.'.join(field)}: {exc.message}. Give a 5-field cron expression, "
            "for example '0 2 * * *' for 02:00 every day.",
            field=field,
        )
        return False
    return True


def check_label_selector(plan: Plan, value: Any, *, field: Sequence[str]) -> bool:
    """A structured LabelSelector (matchLabels / matchExpressions)."""
    if isinstance(value, Mapping) and not selector_from_label_selector(value).matches_nothing:
        return True
    plan.refuse(
        "INVALID_INPUT",
        f"{'.'.join(field)} is not a valid label selector: give an object with matchLabels "
        "and/or matchExpressions ({key, operator: In|NotIn|Exists|DoesNotExist, values}).",
        field=field,
    )
    return False


def ref_text(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def names(items: Iterable[str], *, limit: int = 5) -> str:
    """``a, b and c``; past ``limit`` items ``a, b, c, d, e and 3 more``."""
    every = sorted(dict.fromkeys(items))
    shown, rest = every[:limit], len(every) - limit
    if rest > 0:
        return f"{', '.join(shown)} and {rest} more"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def check_ref(
    plan: Plan,
    ref: ObjectRef,
    *,
    cluster: str,
    kinds: Sequence[str],
    field: Sequence[str],
) -> bool:
    """A reference to an object of one of ``kinds`` in the mutation's cluster."""
    ok = True
    if ref.cluster is not None and ref.cluster != cluster:
        plan.refuse(
            "INVALID_INPUT",
            f"{'.'.join(field)} names cluster {ref.cluster}, but the object must be in "
            f"cluster {cluster}, where this change is made.",
            field=(*field, "cluster"),
        )
        ok = False
    if ref.kind is not None and ref.kind not in kinds:
        plan.refuse(
            "INVALID_INPUT",
            f"{'.'.join(field)} must name a {' or '.join(kinds)}, not a {ref.kind}; "
            "leave kind out or correct it.",
            field=(*field, "kind"),
        )
        ok = False
    ok = check_name(plan, ref.namespace, field=(*field, "namespace"), label=True) and ok
    return check_name(plan, ref.name, field=(*field, "name")) and ok


def lookup(
    plan: Plan,
    store: Store,
    ref: ObjectRef,
    *,
    cluster: str,
    resource: ResourceType,
    field: Sequence[str],
) -> JSONDict | None:
    """The referenced object from the cache; NOT_FOUND (or INVALID_INPUT) if not there."""
    if not check_ref(plan, ref, cluster=cluster, kinds=(resource.kind,), field=field):
        return None
    found = store.get(cluster, resource, ref.namespace, ref.name)
    if found is None:
        plan.refuse(
            "NOT_FOUND",
            f"{resource.kind} {ref_text(ref.namespace, ref.name)} does not exist in cluster "
            f"{cluster}; create it first or name another one.",
            field=field,
        )
    return found


def check_absent(
    plan: Plan, store: Store, *, cluster: str, resource: ResourceType, namespace: str, name: str
) -> bool:
    if store.get(cluster, resource, namespace, name) is None:
        return True
    plan.refuse(
        "TARGET_EXISTS",
        f"{resource.kind} {ref_text(namespace, name)} already exists; choose another name "
        f"or change the existing one with update{resource.kind}.",
        field=("name",),
    )
    return False


def namespace_default(
    store: Store, *, cluster: str, resource: ResourceType, namespace: str, other_than: str = ""
) -> JSONDict | None:
    """The object of ``resource`` marked ``spec.default: true`` in the namespace."""
    for raw in store.list(cluster, resource, namespace):
        if objects.bool_at(raw, "spec", "default") and objects.name_of(raw) != other_than:
            return raw
    return None


def check_default(
    plan: Plan,
    store: Store,
    *,
    cluster: str,
    resource: ResourceType,
    namespace: str,
    name: str,
    field: Sequence[str],
) -> bool:
    other = namespace_default(
        store, cluster=cluster, resource=resource, namespace=namespace, other_than=name
    )
    if other is None:
        return True
    plan.refuse(
        "DEFAULT_ALREADY_SET",
        f"{resource.kind} {ref_text(namespace, objects.name_of(other))} is already the default "
        f"of namespace {namespace}; unset it there first (isDefault: false) or leave this "
        "one non-default.",
        field=field,
    )
    return False


def metadata(
    namespace: str | None, name: str, *, labels: Mapping[str, str] | None = None
) -> JSONDict:
    meta: JSONDict = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def body(resource: ResourceType, namespace: str | None, name: str, spec: JSONDict) -> JSONDict:
    """A new object the gateway makes, marked as the gateway's."""
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": metadata(namespace, name, labels=MANAGED_BY),
        "spec": spec,
    }


def update_body(resource: ResourceType, current: JSONDict, spec: JSONDict) -> JSONDict:
    """A server-side apply body for an existing object.

    It holds every spec field the gateway manages, the unchanged ones with their current
    values: an apply that left out a field this field manager set before would remove
    it. The managed-by label is carried over when the object has it, for the same reason.
    """
    labels = {k: v for k, v in objects.labels_of(current).items() if k in MANAGED_BY}
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": metadata(
            objects.namespace_of(current), objects.name_of(current), labels=labels
        ),
        "spec": spec,
    }


def unchanged(current: JSONDict, spec: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """Whether applying ``spec`` would leave the object's spec as it is."""
    now = objects.mapping_at(current, "spec")
    return all(now.get(key, defaults.get(key)) == value for key, value in spec.items())


def secret_change(
    *, action: str, cluster: str, namespace: str, name: str, data: Mapping[str, str], purpose: str
) -> Change:
    """A Secret the gateway writes. Its values are only in the body the engine sends;
    the summary names the keys, never a value."""
    secret: JSONDict = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(namespace, name, labels=MANAGED_BY),
        "type": "Opaque",
        "stringData": dict(data),
    }
    verb = "Create" if action == "CREATE" else "Replace the values of"
    return Change(
        action="CREATE" if action == "CREATE" else "PATCH",
        cluster=cluster,
        resource=SECRETS,
        namespace=namespace,
        name=name,
        summary=f"{verb} Secret {namespace}/{name} holding {purpose} "
        f"(key{'s' if len(data) > 1 else ''} {', '.join(sorted(data))})",
        body=secret,
    )


def placeholder_default(value: object) -> str | None:
    """``${name:=default}`` → ``default``; ``${name}`` → None; a literal → itself."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\$\{[^}:]*(?::=([^}]*))?\}", value)
    if match is None:
        return value
    return match.group(1)


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and value.startswith("${")


def encryption_ref(
    plan: Plan, enc: Encryption, *, cluster: str, namespace: str, secret_name: str
) -> tuple[JSONDict | None, Change | None]:
    """(``encryptionSecret`` reference, Secret to create) for an EncryptionInput.

    A named Secret is not checked: Secrets are not cached, and the gateway never reads
    them with its own identity; KubeStash reports a missing one when a backup runs."""
    if (enc.secret is None) == (enc.password is None):
        plan.refuse(
            "INVALID_INPUT",
            "encryption needs exactly one of secret (an existing Secret with key "
            "RESTIC_PASSWORD) or password.",
            field=("encryption",),
        )
        return None, None
    if enc.secret is not None:
        if not check_ref(
            plan, enc.secret, cluster=cluster, kinds=("Secret",), field=("encryption", "secret")
        ):
            return None, None
        return {"namespace": enc.secret.namespace, "name": enc.secret.name}, None
    if not enc.password:
        plan.refuse(
            "INVALID_INPUT",
            "encryption.password is empty; give a long random password.",
            field=("encryption", "password"),
        )
        return None, None
    change = secret_change(
        action="CREATE",
        cluster=cluster,
        namespace=namespace,
        name=secret_name,
        data={"RESTIC_PASSWORD": enc.password},
        purpose="the backup encryption password",
    )
    return {"namespace": namespace, "name": secret_name}, change


def retention_choice(
    plan: Plan, store: Store, ref: ObjectRef | None, *, cluster: str, namespace: str
) -> tuple[str, str] | None:
    """(namespace, name) of the RetentionPolicy a reference names (NOT_FOUND if the cache
    lacks it); without a reference, the namespace's default one at this moment, if any."""
    if ref is None:
        default = namespace_default(
            store, cluster=cluster, resource=RETENTION_POLICIES, namespace=namespace
        )
        return None if default is None else (namespace, objects.name_of(default))
    found = lookup(
        plan, store, ref, cluster=cluster, resource=RETENTION_POLICIES, field=("retentionPolicy",)
    )
    return None if found is None else (ref.namespace, ref.name)


# ------------------------------------------------------------------ KubeDB kinds

# Kinds with a KubeDB archiver (reference §4.1); the createArchiverPolicy contract.
ARCHIVER_KINDS = ("Postgres", "MySQL", "MariaDB", "MongoDB", "MSSQLServer", "ClickHouse")


def database_resource(kind: str) -> ResourceType:
    """The KubeDB resource of a kind. Kinds ``apis.resources`` does not list (MSSQLServer,
    ClickHouse: served at v1alpha2 only, reference §3.2) get their conventional plural;
    the Store matches by group and kind, so the plural is only a label here."""
    known = database_kind(kind)
    if known is not None:
        return known.resource
    return ResourceType(
        group=KUBEDB,
        version="v1alpha2",
        plural=kind.lower() + "s",
        kind=kind,
        status_subresource=True,
    )


# ------------------------------------------------------------------------ addons


def kind_addon_tasks(store: Store, cluster: str, kind: str) -> tuple[list[str], set[str]]:
    """(addon names found, their backup task names) for a KubeDB kind.

    The kind's addons are found as ``resolvers.reads.policies.addons_for_kind`` finds them
    (the kind's catalog versions, blueprints serving the kind, and the ``<kind>-addon``
    convention), here over the planners' Store instead of the read side's graph.
    """
    wanted = {f"{kind.lower()}-addon"}
    for version in store.list(cluster, catalog_version(kind)):
        if name := objects.str_at(version, "spec", "archiver", "addon", "name"):
            wanted.add(name)
    for blueprint in store.list(cluster, BACKUP_BLUEPRINTS):
        subjects = objects.mappings_at(blueprint, "spec", "subjects")
        if any(str(s.get("kind", "")).lower() == kind.lower() for s in subjects):
            sessions = objects.mappings_at(
                blueprint, "spec", "backupConfigurationTemplate", "sessions"
            )
            for session in sessions:
                name = objects.str_at(session, "addon", "name")
                if name and not is_placeholder(name):
                    wanted.add(name)
    found: list[str] = []
    tasks: set[str] = set()
    for addon in store.list(cluster, ADDONS_KIND):
        if objects.name_of(addon) in wanted:
            found.append(objects.name_of(addon))
            tasks |= {
                n
                for t in objects.mappings_at(addon, "spec", "backupTasks")
                if (n := objects.str_at(t, "name"))
            }
    return sorted(found), tasks


# -------------------------------------------------------------------- namespaces


def namespace_admits(
    store: Store, *, cluster: str, allowed: Mapping[str, Any], home: str, namespace: str
) -> bool | None:
    """Whether an ``allowedNamespaces``-shaped rule of an object in ``home`` admits
    ``namespace``; None when it depends on labels of a namespace the cache lacks."""
    scope = allowed.get("from") or "Same"
    if scope == "All":
        return True
    if scope == "Same":
        return namespace == home
    ns = store.get(cluster, NAMESPACES, None, namespace)
    if ns is None:
        return None
    return selector_from_label_selector(allowed.get("selector") or {}).matches(
        objects.labels_of(ns)
    )
