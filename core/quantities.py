"""Sizes: Kubernetes quantities and the byte sizes restic and KubeStash print. Pure."""

from __future__ import annotations

import math
import re

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}

# Kubernetes quantity suffixes are case-sensitive ("m" is milli, "M" mega).
_QUANTITY_SUFFIXES: dict[str, float] = {"": 1, "m": 1e-3, **_BINARY, **_DECIMAL}

# Human byte units as restic and KubeStash print them ("1.559 KiB", "512 B"); matched
# case-insensitively because they always end in B.
_BYTE_UNITS: dict[str, float] = {
    "b": 1,
    "byte": 1,
    "bytes": 1,
    **{f"{k.lower()}b": v for k, v in _BINARY.items()},
    **{f"{k.lower()}b": v for k, v in _DECIMAL.items()},
}

_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d{1,4}))?\s*([A-Za-z]*)")


def parse_size(value: str) -> float | None:
    """Bytes in a size string, or None if it is not one.

    Understands KubeStash/restic sizes ("1.559 KiB", "10 MiB", "512 B") and Kubernetes
    quantities ("10Gi", "500M", "1e3").
    """
    if not isinstance(value, str):
        return None
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        return None
    number, exponent, suffix = match.groups()
    multiplier = _QUANTITY_SUFFIXES.get(suffix)
    if multiplier is None:
        multiplier = _BYTE_UNITS.get(suffix.lower())
    if multiplier is None or (exponent is not None and suffix):
        return None
    # float() of the decimal text, not 10**exponent: huge exponents become inf, not
    # enormous integers.
    size = float(f"{number}e{exponent or 0}") * multiplier
    return size if math.isfinite(size) else None
