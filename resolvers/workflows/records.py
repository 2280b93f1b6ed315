"""Reading and writing workflow records (ConfigMaps in the gateway's own namespace).

Written by the gateway's own identity only. Every update is a PUT guarded by the
resourceVersion the workflow was read at: of two writers (two replicas, a mutation and
the controller), the second gets a conflict and reads again, so no step moves twice.
"""

from __future__ import annotations

from dataclasses import replace

from apis.resources import CONFIG_MAPS
from kube.client import ApiError, KubeClient
from resolvers.reads.workflows import PREFIX, Workflow, parse_workflow


class Conflict(Exception):
    """The record changed since it was read (or is gone): read it again."""


class Records:
    def __init__(self, *, client: KubeClient, namespace: str, timeout: float = 5.0) -> None:
        self._client = client
        self._namespace = namespace
        self._timeout = timeout

    @property
    def namespace(self) -> str:
        return self._namespace

    async def get(self, workflow_id: str) -> Workflow | None:
        path = CONFIG_MAPS.path(namespace=self._namespace, name=PREFIX + workflow_id)
        try:
            raw = await self._client.get(path, timeout=self._timeout)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return parse_workflow(raw)

    async def create(self, workflow: Workflow) -> Workflow:
        body = replace(workflow, resource_version="").config_map(namespace=self._namespace)
        raw = await self._client.post(
            CONFIG_MAPS.path(namespace=self._namespace), body, timeout=self._timeout
        )
        return _read_back(raw, workflow)

    async def update(self, workflow: Workflow) -> Workflow:
        """PUT the workflow guarded by its resourceVersion; Conflict if it changed."""
        if not workflow.resource_version:
            raise Conflict(f"workflow {workflow.id} was never read")
        path = CONFIG_MAPS.path(namespace=self._namespace, name=workflow.name)
        try:
            raw = await self._client.put(
                path, workflow.config_map(namespace=self._namespace), timeout=self._timeout
            )
        except ApiError as exc:
            if exc.status in (404, 409):
                raise Conflict(f"workflow {workflow.id} changed or is gone") from exc
            raise
        return _read_back(raw, workflow)

    async def delete(self, workflow: Workflow) -> None:
        path = CONFIG_MAPS.path(namespace=self._namespace, name=workflow.name)
        try:
            await self._client.delete(path, timeout=self._timeout)
        except ApiError as exc:
            if exc.status != 404:
                raise


def _read_back(raw: dict[str, object], workflow: Workflow) -> Workflow:
    parsed = parse_workflow(raw)
    return parsed if parsed is not None else workflow
