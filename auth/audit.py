"""The audit log: one JSON line for every mutation and every refused request.

Who (the viewer, or what was presented), what (operation, field, object), where
(cluster), and the result. Written to its own logger so operators can route it to a
file or collector apart from the application log. Never contains tokens or Secret data.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

LOGGER = "stashql.audit"


class AuditLog:
    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger(LOGGER)

    def record(
        self,
        *,
        event: str,
        result: str,
        user: str | None,
        groups: tuple[str, ...] | list[str] = (),
        request_id: str = "",
        cluster: str | None = None,
        operation: str | None = None,
        detail: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "event": event,
            "result": result,
            "user": user,
            "groups": list(groups),
            "requestId": request_id,
        }
        for key, value in (
            ("cluster", cluster),
            ("operation", operation),
            ("detail", detail),
            *extra.items(),
        ):
            if value is not None:
                entry[key] = value
        self._log.info(json.dumps(entry, sort_keys=True))
        return entry
