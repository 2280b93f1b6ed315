"""The contract's interfaces, and the behaviour shared by every Kubernetes-backed type.

Each type that stands for a Kubernetes object is built from the raw dict the informer
stores plus the name of its cluster: ``Snapshot(raw=obj, cluster_name="prod")``. Its
fields read that dict synchronously, with no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Self

import strawberry

from apis import objects
from apis.resources import ResourceType
from core.ids import GlobalRef
from resolvers.reads.graph import Item
from schema.common import ObjectRef
from schema.scalars import JSON, json_object


class KubeObject:
    """Helpers for types that wrap a raw Kubernetes object.

    Subclasses set ``API_GROUP`` and ``KIND``; a type whose kind varies (Database)
    leaves ``KIND`` empty and the kind is read from the object's own ``kind``.
    """

    API_GROUP: ClassVar[str] = ""
    KIND: ClassVar[str] = ""

    raw: dict[str, Any]
    cluster_name: str

    def object_kind(self) -> str:
        return self.KIND or objects.kind_of(self.raw) or ""

    def global_ref(self) -> GlobalRef:
        return GlobalRef(
            cluster=self.cluster_name,
            api_group=self.API_GROUP,
            kind=self.object_kind(),
            namespace=objects.namespace_of(self.raw),
            name=objects.name_of(self.raw),
        )

    def item(self) -> Item:
        """This object as the resolvers see it (for joins through the cache's indexes)."""
        resource = ResourceType(
            group=self.API_GROUP, version="", plural="", kind=self.object_kind()
        )
        return Item(self.cluster_name, self.raw, resource)

    def object_ref(self) -> ObjectRef:
        return ObjectRef.from_global(self.global_ref())


@strawberry.interface(
    description=(
        "An object with a global, opaque ID. IDs encode the cluster, so `Query.node(id:)` "
        "refetches any object across clusters."
    )
)
class Node(KubeObject):
    raw: strawberry.Private[dict[str, Any]]
    cluster_name: strawberry.Private[str]

    @classmethod
    def from_item(cls, item: Item) -> Self:
        """The GraphQL object for a cached item of this type."""
        return cls(raw=item.raw, cluster_name=item.cluster)

    @classmethod
    def maybe(cls, item: Item | None) -> Self | None:
        """``from_item``, or None when a join found nothing."""
        return cls.from_item(item) if item is not None else None

    @strawberry.field(description="Opaque global ID; pass it to `Query.node` to refetch.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.global_ref().encode())


@strawberry.interface(description="A Kubernetes object: where it lives and its metadata.")
class Resource(KubeObject):
    raw: strawberry.Private[dict[str, Any]]
    cluster_name: strawberry.Private[str]

    @strawberry.field(description="Opaque global ID; pass it to `Query.node` to refetch.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.global_ref().encode())

    @strawberry.field(description="Name of the cluster the object lives in.")
    def cluster(self) -> str:
        return self.cluster_name

    @strawberry.field(description="Namespace; null for cluster-scoped objects.")
    def namespace(self) -> str | None:
        return objects.namespace_of(self.raw)

    @strawberry.field(description="Object name (`metadata.name`).")
    def name(self) -> str:
        return objects.name_of(self.raw)

    @strawberry.field(description="Kubernetes UID (`metadata.uid`).")
    def uid(self) -> str:
        return objects.uid_of(self.raw)

    @strawberry.field(description="When the object was created (`metadata.creationTimestamp`).")
    def created_at(self) -> datetime | None:
        return objects.created_at(self.raw)

    @strawberry.field(description="Labels, as a JSON object of strings.")
    def labels(self) -> JSON:
        return json_object(objects.labels_of(self.raw))

    @strawberry.field(
        description=(
            "Annotations, as a JSON object of strings "
            "(kubectl's last-applied-configuration is left out)."
        )
    )
    def annotations(self) -> JSON:
        return json_object(objects.annotations_of(self.raw))
