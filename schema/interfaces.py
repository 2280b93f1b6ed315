"""The contract's interfaces, and the behaviour shared by every Kubernetes-backed type.

Each type that stands for a Kubernetes object is built from the raw dict the informer
stores plus the name of its cluster: ``Snapshot(raw=obj, cluster_name="prod")``. Its
fields read that dict synchronously, with no I/O.

The fields every page asks for (the metadata below but ``createdAt``, and a type's own
hot fields) are plain attributes, read once from the dict when the object is built
(``__post_init__``): a field without a resolver takes strawberry's cheap path (no Info,
no arguments, no extension chain), which is most of the cost of a page of 50 objects.
They are declared with :func:`computed`, so they are not constructor arguments.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any, ClassVar, Self

import strawberry

from apis import objects
from apis.resources import ResourceType
from core.ids import GlobalRef, encode_id
from resolvers.reads.graph import Item
from schema.common import ObjectRef
from schema.scalars import JSON, json_object


def computed(*, description: str) -> Any:
    """A field without a resolver that its type sets in ``__post_init__``.

    GraphQL reads the attribute (strawberry's basic-field path); unlike a plain
    ``strawberry.field()`` it is not a constructor argument (strawberry makes every
    field without a resolver one, and its ``init=False`` is only a hint for type
    checkers), so ``Snapshot(raw=..., cluster_name=...)`` stays the whole constructor.
    """
    field = strawberry.field(description=description)
    field.init = False
    return field


class KubeObject:
    """Helpers for types that wrap a raw Kubernetes object.

    Subclasses set ``API_GROUP`` and ``KIND``; a type whose kind varies (Database)
    leaves ``KIND`` empty and the kind is read from the object's own ``kind``.
    """

    API_GROUP: ClassVar[str] = ""
    KIND: ClassVar[str] = ""

    raw: dict[str, Any]
    cluster_name: str

    # The Node and Resource fields, set once by __post_init__ (declared as fields by
    # the interfaces and by ``schema.described.Described``).
    id: strawberry.ID
    cluster: str
    namespace: str | None
    name: str
    uid: str

    def __post_init__(self) -> None:
        raw = self.raw
        self.cluster = self.cluster_name
        self.namespace = objects.namespace_of(raw)
        self.name = objects.name_of(raw)
        self.uid = objects.uid_of(raw)
        # No cluster, kind or name: no ID can be encoded. It is left unset, so that
        # building the object does not fail but reading `id` does (an internal error on
        # that field, as when it was a resolver).
        with contextlib.suppress(ValueError):
            self.id = strawberry.ID(
                encode_id(
                    cluster=self.cluster_name,
                    api_group=self.API_GROUP,
                    kind=self.object_kind(),
                    namespace=self.namespace,
                    name=self.name,
                )
            )

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

    id: strawberry.ID = computed(
        description="Opaque global ID; pass it to `Query.node` to refetch."
    )


@strawberry.interface(description="A Kubernetes object: where it lives and its metadata.")
class Resource(KubeObject):
    raw: strawberry.Private[dict[str, Any]]
    cluster_name: strawberry.Private[str]

    id: strawberry.ID = computed(
        description="Opaque global ID; pass it to `Query.node` to refetch."
    )
    cluster: str = computed(description="Name of the cluster the object lives in.")
    namespace: str | None = computed(description="Namespace; null for cluster-scoped objects.")
    name: str = computed(description="Object name (`metadata.name`).")
    uid: str = computed(description="Kubernetes UID (`metadata.uid`).")

    # A resolver: parsing the time costs more than the field is asked for. Declared after
    # the attributes above and before the other resolvers, it keeps its place.
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
