"""createBackupStorage / updateBackupStorage.

A BackupStorage is written as KubeStash defines it (reference §1.2): ``spec.storage``
with ``provider`` and the provider's section, ``usagePolicy``, ``default`` and
``deletionPolicy``.

Credentials are write-only. Given as values, they go into a Secret
``<storage>-credentials`` beside the storage, under the keys KubeStash's storage
initialiser reads (S3 ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, GCS
``GOOGLE_PROJECT_ID``/``GOOGLE_SERVICE_ACCOUNT_JSON_KEY``, Azure ``AZURE_ACCOUNT_KEY``:
the restic-style names of KubeStash's docs, the facts here we are least sure of), and
``secretName`` names it. ``credentials.secretName`` names an existing Secret instead.
Its existence is not checked here: the gateway does not cache Secrets and never reads
them with its own identity, and the API server does not check the reference either;
KubeStash reports a missing one on the storage (condition ``BackendSecretFound``),
which the read side shows as the storage's phase. S3 and Azure without credentials run
in credential-less mode (empty ``secretName``: the workload's cloud identity); GCS and
local volumes have no such mode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from apis import objects
from apis.resources import BACKUP_STORAGES
from resolvers.writes.admin.common import (
    body,
    check_absent,
    check_default,
    check_name,
    check_place,
    lookup,
    names,
    secret_change,
    unchanged,
    update_body,
)
from resolvers.writes.admin.inputs import (
    CreateBackupStorage,
    StorageCredentials,
    StorageLocation,
    UpdateBackupStorage,
)
from resolvers.writes.admin.usage import usage_policy, usage_text
from resolvers.writes.admin.users import in_use_message, repositories_in
from resolvers.writes.plan import Change, JSONDict, Plan, Store

PROVIDERS = {"S3": "s3", "GCS": "gcs", "AZURE": "azure", "LOCAL": "local"}
DELETION_POLICIES = {"DELETE": "Delete", "WIPE_OUT": "WipeOut"}
_DEFAULTS = {"default": False, "deletionPolicy": "Delete"}

# Location fields each provider takes (input name -> field in the provider's section),
# and the ones it needs.
_LOCATION_FIELDS: dict[str, dict[str, str]] = {
    "s3": {"bucket": "bucket", "prefix": "prefix", "endpoint": "endpoint", "region": "region"},
    "gcs": {"bucket": "bucket", "prefix": "prefix"},
    "azure": {"storage_account": "storageAccount", "bucket": "container", "prefix": "prefix"},
    "local": {"mount_path": "mountPath", "sub_path": "subPath"},
}
_REQUIRED = {
    "s3": ("bucket",),
    "gcs": ("bucket",),
    "azure": ("storage_account", "bucket"),
    "local": ("volume", "mount_path"),
}
_CAMEL = {
    "bucket": "bucket",
    "prefix": "prefix",
    "endpoint": "endpoint",
    "region": "region",
    "storage_account": "storageAccount",
    "volume": "volume",
    "mount_path": "mountPath",
    "sub_path": "subPath",
}

# Credential input fields -> Secret keys, per provider.
_CREDENTIAL_KEYS: dict[str, dict[str, str]] = {
    "s3": {"access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY"},
    "gcs": {
        "project_id": "GOOGLE_PROJECT_ID",
        "service_account_key": "GOOGLE_SERVICE_ACCOUNT_JSON_KEY",
    },
    "azure": {"account_key": "AZURE_ACCOUNT_KEY"},
    "local": {},
}
_CREDENTIAL_CAMEL = {
    "access_key_id": "accessKeyId",
    "secret_access_key": "secretAccessKey",
    "project_id": "projectId",
    "service_account_key": "serviceAccountKey",
    "account_key": "accountKey",
}


def credentials_secret_name(storage: str) -> str:
    return f"{storage}-credentials"


def _location(plan: Plan, provider: str, loc: StorageLocation) -> JSONDict | None:
    """The provider's section without ``secretName``, or None after refusing."""
    fields = _LOCATION_FIELDS[provider]
    given = {k: v for k, v in vars(loc).items() if v is not None}
    ok = True
    for key in given:
        if key not in fields and not (provider == "local" and key == "volume"):
            plan.refuse(
                "INVALID_INPUT",
                f"location.{_CAMEL[key]} does not apply to provider {provider}; leave it out.",
                field=("location", _CAMEL[key]),
            )
            ok = False
    for key in _REQUIRED[provider]:
        if given.get(key) in (None, "", {}):
            plan.refuse(
                "INVALID_INPUT",
                f"Provider {provider} needs location.{_CAMEL[key]}.",
                field=("location", _CAMEL[key]),
            )
            ok = False
    endpoint = given.get("endpoint")
    if endpoint and not str(endpoint).startswith(("https://", "http://")):
        plan.refuse(
            "INVALID_INPUT",
            "location.endpoint must be a URL starting with https:// (or http://).",
            field=("location", "endpoint"),
        )
        ok = False
    section: JSONDict = {fields[k]: v for k, v in given.items() if k in fields}
    if provider == "local":
        ok = _local_volume(plan, given, section) and ok
    return section if ok else None


def _local_volume(plan: Plan, given: Mapping[str, Any], section: JSONDict) -> bool:
    volume = given.get("volume")
    if volume is None:
        return False  # already refused as missing
    mount = str(given.get("mount_path") or "")
    if mount and not mount.startswith("/"):
        plan.refuse(
            "INVALID_INPUT",
            "location.mountPath must be an absolute path, for example /safe/data.",
            field=("location", "mountPath"),
        )
        return False
    # KubeStash inlines the volume source next to mountPath/subPath (reference §1.2).
    if (
        not isinstance(volume, Mapping)
        or len(volume) != 1
        or not isinstance(next(iter(volume.values())), Mapping)
        or set(volume) & {"mountPath", "subPath", "maxConnections"}
    ):
        plan.refuse(
            "INVALID_INPUT",
            "location.volume must be one Kubernetes volume source, for example "
            '{"persistentVolumeClaim": {"claimName": "backups"}}.',
            field=("location", "volume"),
        )
        return False
    section.update(volume)
    return True


def _credentials(
    plan: Plan, provider: str, creds: StorageCredentials | None
) -> tuple[dict[str, str] | None, str | None, bool]:
    """(Secret data to write, existing Secret to name, ok)."""
    if creds is None:
        if provider == "gcs":
            plan.refuse(
                "INVALID_INPUT",
                "Provider gcs needs credentials: projectId and serviceAccountKey, or the "
                "secretName of an existing Secret.",
                field=("credentials",),
            )
            return None, None, False
        return None, None, True
    keys = _CREDENTIAL_KEYS[provider]
    values = {k: v for k, v in vars(creds).items() if v is not None and k != "secret_name"}
    ok = True
    for key in values:
        if key not in keys:
            plan.refuse(
                "INVALID_INPUT",
                f"credentials.{_CREDENTIAL_CAMEL[key]} does not apply to provider {provider}; "
                "leave it out.",
                field=("credentials", _CREDENTIAL_CAMEL[key]),
            )
            ok = False
    if creds.secret_name is not None:
        if provider == "local":
            plan.refuse(
                "INVALID_INPUT",
                "A local volume takes no credentials; leave credentials out.",
                field=("credentials",),
            )
            return None, None, False
        if values:
            plan.refuse(
                "INVALID_INPUT",
                "Give either credential values or credentials.secretName, not both.",
                field=("credentials", "secretName"),
            )
            return None, None, False
        ok = check_name(plan, creds.secret_name, field=("credentials", "secretName")) and ok
        return None, creds.secret_name, ok
    if not ok:
        return None, None, False
    if provider == "local":
        return None, None, True  # no values: each would have been refused above
    missing = [k for k in keys if not values.get(k)]
    if missing and (values or provider == "gcs"):
        wanted = " and ".join(f"credentials.{_CREDENTIAL_CAMEL[k]}" for k in keys)
        plan.refuse(
            "INVALID_INPUT",
            f"Provider {provider} needs {wanted} together (or credentials.secretName).",
            field=("credentials", _CREDENTIAL_CAMEL[missing[0]]),
        )
        return None, None, False
    if not values:
        return None, None, True  # S3/Azure credential-less mode
    if "service_account_key" in values:
        try:
            parsed = json.loads(values["service_account_key"])
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            # Never echo the key: it is a credential.
            plan.refuse(
                "INVALID_INPUT",
                "credentials.serviceAccountKey must be the service account's JSON key file "
                "as text (a JSON object).",
                field=("credentials", "serviceAccountKey"),
            )
            return None, None, False
    return {keys[k]: str(v) for k, v in values.items()}, None, True


def _where(provider: str, section: Mapping[str, Any]) -> str:
    if provider == "local":
        return f"local volume mounted at {section.get('mountPath')}"
    place = section.get("container") if provider == "azure" else section.get("bucket")
    what = "container" if provider == "azure" else "bucket"
    text = f"{provider} {what} {place}"
    if section.get("prefix"):
        text += f" (prefix {section['prefix']})"
    return text


def plan_create_backup_storage(inp: CreateBackupStorage, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ok = check_place(plan, inp.namespace, inp.name)
    provider = PROVIDERS.get(inp.provider)
    if provider is None:
        return plan.refuse(
            "INVALID_INPUT", "provider must be S3, GCS, AZURE or LOCAL.", field=("provider",)
        )
    deletion = DELETION_POLICIES.get(inp.deletion_policy)
    if deletion is None:
        plan.refuse(
            "INVALID_INPUT",
            "deletionPolicy of a BackupStorage must be DELETE or WIPE_OUT.",
            field=("deletionPolicy",),
        )
    section = _location(plan, provider, inp.location)
    data, existing, creds_ok = _credentials(plan, provider, inp.credentials)
    usage = usage_policy(plan, inp.usage) if inp.usage is not None else None
    if ok:
        check_absent(
            plan,
            store,
            cluster=cluster,
            resource=BACKUP_STORAGES,
            namespace=inp.namespace,
            name=inp.name,
        )
    if inp.is_default:
        check_default(
            plan,
            store,
            cluster=cluster,
            resource=BACKUP_STORAGES,
            namespace=inp.namespace,
            name=inp.name,
            field=("isDefault",),
        )
    if plan.refused or section is None or not creds_ok:
        return plan
    secret = credentials_secret_name(inp.name) if data else existing
    if provider != "local":
        section["secretName"] = secret or ""
    spec: JSONDict = {
        "storage": {"provider": provider, provider: section},
        "default": inp.is_default,
        "deletionPolicy": deletion,
    }
    if usage is not None:
        spec["usagePolicy"] = usage
    if data:
        plan.add(
            secret_change(
                action="CREATE",
                cluster=cluster,
                namespace=inp.namespace,
                name=credentials_secret_name(inp.name),
                data=data,
                purpose=f"the credentials of BackupStorage {inp.name}",
            )
        )
    extra = "; the namespace default" if inp.is_default else ""
    plan.add(
        Change(
            action="CREATE",
            cluster=cluster,
            resource=BACKUP_STORAGES,
            namespace=inp.namespace,
            name=inp.name,
            summary=f"Create BackupStorage {inp.namespace}/{inp.name} on "
            f"{_where(provider, section)}, {usage_text(usage)}{extra}",
            body=body(BACKUP_STORAGES, inp.namespace, inp.name, spec),
        )
    )
    return plan


def plan_update_backup_storage(inp: UpdateBackupStorage, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ref = inp.backup_storage
    current = lookup(
        plan, store, ref, cluster=cluster, resource=BACKUP_STORAGES, field=("backupStorage",)
    )
    if current is None:
        return plan
    now = objects.mapping_at(current, "spec")
    provider = str(objects.str_at(current, "spec", "storage", "provider") or "")
    if provider not in _LOCATION_FIELDS:
        return plan.refuse(
            "INVALID_INPUT",
            f"BackupStorage {ref.namespace}/{ref.name} has no provider StashQL knows; "
            "change it with kubectl.",
            field=("backupStorage",),
        )
    old_section = dict(objects.mapping_at(current, "spec", "storage", provider))
    section: JSONDict | None = dict(old_section)
    if inp.location is not None:
        section = _location(plan, provider, inp.location)
        if section is not None:
            # Tuning and the credentials reference are not part of the location.
            for key in ("secretName", "maxConnections", "insecureTLS"):
                if key in old_section:
                    section[key] = old_section[key]
    data: dict[str, str] | None = None
    if inp.credentials is not None:
        data, existing, creds_ok = _credentials(plan, provider, inp.credentials)
        if creds_ok and section is not None and provider != "local":
            section["secretName"] = credentials_secret_name(ref.name) if data else existing or ""
    deletion = None
    if inp.deletion_policy is not None:
        deletion = DELETION_POLICIES.get(inp.deletion_policy)
        if deletion is None:
            plan.refuse(
                "INVALID_INPUT",
                "deletionPolicy of a BackupStorage must be DELETE or WIPE_OUT.",
                field=("deletionPolicy",),
            )
    usage = usage_policy(plan, inp.usage) if inp.usage is not None else None
    if inp.is_default and not objects.bool_at(current, "spec", "default"):
        check_default(
            plan,
            store,
            cluster=cluster,
            resource=BACKUP_STORAGES,
            namespace=ref.namespace,
            name=ref.name,
            field=("isDefault",),
        )
    if plan.refused or section is None:
        return plan
    moved = {k: v for k, v in section.items() if k != "secretName"} != {
        k: v for k, v in old_section.items() if k != "secretName"
    }  # a new secretName alone is a credentials change, not a move
    if moved:
        repos = repositories_in(store, cluster, (ref.namespace, ref.name))
        if repos:
            return plan.refuse(
                "IN_USE",
                in_use_message(
                    f"BackupStorage {ref.namespace}/{ref.name}",
                    repos,
                    then="its location cannot change while repositories keep data there; "
                    "create a new BackupStorage for the new location instead.",
                ),
                field=("location",),
            )
    spec: JSONDict = {"storage": {"provider": provider, provider: section}}
    for key, value in (
        ("usagePolicy", usage if usage is not None else now.get("usagePolicy")),
        ("default", inp.is_default if inp.is_default is not None else now.get("default")),
        ("deletionPolicy", deletion or now.get("deletionPolicy")),
    ):
        if value is not None:
            spec[key] = value
    if data:
        secret = credentials_secret_name(ref.name)
        action = "PATCH" if old_section.get("secretName") == secret else "CREATE"
        plan.add(
            secret_change(
                action=action,
                cluster=cluster,
                namespace=ref.namespace,
                name=secret,
                data=data,
                purpose=f"the new credentials of BackupStorage {ref.name}",
            )
        )
    if unchanged(current, spec, _DEFAULTS):
        plan.add(
            Change(
                action="NONE",
                cluster=cluster,
                resource=BACKUP_STORAGES,
                namespace=ref.namespace,
                name=ref.name,
                summary=f"BackupStorage {ref.namespace}/{ref.name} stays as it is"
                + ("; only its credentials change" if data else ""),
            )
        )
        return plan
    changed = ["location"] if moved else []
    if data or section.get("secretName") != old_section.get("secretName"):
        changed.append("credentials")
    changed += [
        label
        for label, key in (
            ("usage", "usagePolicy"),
            ("default", "default"),
            ("deletion policy", "deletionPolicy"),
        )
        if key in spec and now.get(key, _DEFAULTS.get(key)) != spec[key]
    ]
    plan.add(
        Change(
            action="PATCH",
            cluster=cluster,
            resource=BACKUP_STORAGES,
            namespace=ref.namespace,
            name=ref.name,
            summary=f"Update BackupStorage {ref.namespace}/{ref.name} ({names(changed)}): on "
            f"{_where(provider, section)}, {usage_text(spec.get('usagePolicy'))}",
            body=update_body(BACKUP_STORAGES, current, spec),
        )
    )
    return plan
