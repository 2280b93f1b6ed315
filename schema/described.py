"""The Node and Resource fields with the write contract's short descriptions.

The write contract words the metadata fields of the types it adds more briefly than the
Resource interface does ("Its cluster." rather than "Name of the cluster the object
lives in."); an object type may describe an interface field its own way. ``Described``
is never referenced by a field, so it is not part of the schema itself.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from apis import objects
from schema.interfaces import Node, Resource
from schema.scalars import JSON, json_object


@strawberry.type
class Described(Node, Resource):
    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.global_ref().encode())

    @strawberry.field(description="Its cluster.")
    def cluster(self) -> str:
        return self.cluster_name

    @strawberry.field(description="Its namespace.")
    def namespace(self) -> str | None:
        return objects.namespace_of(self.raw)

    @strawberry.field(description="Its name.")
    def name(self) -> str:
        return objects.name_of(self.raw)

    @strawberry.field(description="Kubernetes UID.")
    def uid(self) -> str:
        return objects.uid_of(self.raw)

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime | None:
        return objects.created_at(self.raw)

    @strawberry.field(description="Labels.")
    def labels(self) -> JSON:
        return json_object(objects.labels_of(self.raw))

    @strawberry.field(description="Annotations.")
    def annotations(self) -> JSON:
        return json_object(objects.annotations_of(self.raw))
