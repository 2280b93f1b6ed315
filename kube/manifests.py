"""Apply arbitrary manifests (dicts) by asking discovery where each kind lives."""

from __future__ import annotations

from dataclasses import dataclass

from apis.resources import resource_path
from kube.client import ApiError, JSONDict, KubeClient


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    plural: str
    namespaced: bool

    def path(self, *, namespace: str | None = None, name: str | None = None) -> str:
        return resource_path(
            group=self.group,
            version=self.version,
            plural=self.plural,
            namespace=namespace if self.namespaced else None,
            name=name,
        )


class Discovery:
    """Caches ``/api[s]/<group>/<version>`` answers for one client."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._cache: dict[str, dict[str, ResourceInfo]] = {}

    async def resource(self, api_version: str, kind: str, *, refresh: bool = False) -> ResourceInfo:
        group, _, version = api_version.rpartition("/")
        if refresh or api_version not in self._cache:
            path = f"/apis/{api_version}" if group else f"/api/{version}"
            doc = await self._client.get(path)
            self._cache[api_version] = {
                r["kind"]: ResourceInfo(
                    group=group, version=version, plural=r["name"], namespaced=r["namespaced"]
                )
                for r in doc.get("resources", [])
                if "/" not in r["name"]
            }
        try:
            return self._cache[api_version][kind]
        except KeyError:
            if not refresh:
                return await self.resource(api_version, kind, refresh=True)
            raise LookupError(f"the API server does not serve {kind} in {api_version}") from None


async def apply_manifest(
    client: KubeClient,
    discovery: Discovery,
    obj: JSONDict,
    *,
    field_manager: str,
    namespace: str | None = None,
    with_status: bool = False,
) -> JSONDict:
    """Server-side apply ``obj``; with ``with_status`` also apply its status subresource."""
    info = await discovery.resource(obj["apiVersion"], obj["kind"])
    meta = obj.setdefault("metadata", {})
    ns = meta.get("namespace") or namespace
    if info.namespaced:
        if not ns:
            raise ValueError(f"{obj['kind']} {meta.get('name')} needs a namespace")
        meta["namespace"] = ns
    path = info.path(namespace=ns, name=meta["name"])
    status = obj.get("status")
    body = {k: v for k, v in obj.items() if k != "status"}
    result = await client.apply(path, body, field_manager=field_manager)
    if with_status and status is not None:
        try:
            result = await client.apply(
                path + "/status",
                {
                    "apiVersion": obj["apiVersion"],
                    "kind": obj["kind"],
                    "metadata": {
                        "name": meta["name"],
                        **({"namespace": ns} if info.namespaced else {}),
                    },
                    "status": status,
                },
                field_manager=field_manager,
            )
        except ApiError as exc:
            if exc.status != 404:
                raise
            # No status subresource: status is part of the object itself.
            result = await client.apply(path, obj, field_manager=field_manager)
    return result
