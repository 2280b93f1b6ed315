"""Who is calling: the identity the API server's TokenReview (or a trusted proxy) named."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller."""

    username: str
    groups: tuple[str, ...] = ()
    uid: str | None = None
