"""The Node and Resource fields with the write contract's short descriptions.

The write contract words the metadata fields of the types it adds more briefly than the
Resource interface does ("Its cluster." rather than "Name of the cluster the object
lives in."); an object type may describe an interface field its own way. ``Described``
is never referenced by a field, so it is not part of the schema itself. As in the
interfaces, the metadata fields but ``createdAt`` are plain attributes set when the object
is built.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from apis import objects
from schema.interfaces import Node, Resource, computed
from schema.scalars import JSON, json_object


@strawberry.type
class Described(Node, Resource):
    id: strawberry.ID = computed(description="Opaque global ID.")
    cluster: str = computed(description="Its cluster.")
    namespace: str | None = computed(description="Its namespace.")
    name: str = computed(description="Its name.")
    uid: str = computed(description="Kubernetes UID.")

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime | None:
        return objects.created_at(self.raw)

    @strawberry.field(description="Labels.")
    def labels(self) -> JSON:
        return json_object(objects.labels_of(self.raw))

    @strawberry.field(description="Annotations.")
    def annotations(self) -> JSON:
        return json_object(objects.annotations_of(self.raw))
