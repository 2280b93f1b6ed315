"""Finds or builds the kube-apiserver and etcd binaries the sandbox runs.

Order: ``KUBEBUILDER_ASSETS`` (the envtest convention: a folder with both binaries), then
the per-version cache folder, then a build from Go modules into that cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Pinned together: etcd 3.6.8 is the version k8s.io/apiserver v0.36.3 is tested with.
KUBERNETES_VERSION = "1.36.3"
ETCD_VERSION = "3.6.8"

BUILD_SCRIPT = Path(__file__).with_name("build-binaries.sh")


class BuildError(RuntimeError):
    """The control-plane binaries could not be found or built."""


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "stashql" / f"k8s-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}"


def _found(folder: Path) -> Binaries | None:
    api, etcd = folder / "kube-apiserver", folder / "etcd"
    if os.access(api, os.X_OK) and os.access(etcd, os.X_OK):
        return Binaries(kube_apiserver=api, etcd=etcd)
    return None


def ensure_binaries(*, quiet: bool = False) -> Binaries:
    """Return usable binaries, building them into the cache the first time."""
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        found = _found(Path(assets))
        if not found:
            raise BuildError(
                f"KUBEBUILDER_ASSETS={assets} does not hold executable kube-apiserver and etcd; "
                "unset it to let StashQL build them"
            )
        return found
    folder = cache_dir()
    found = _found(folder)
    if found:
        return found
    if shutil.which("go") is None:
        raise BuildError(
            "Go is needed once to build kube-apiserver and etcd "
            f"(into {folder}); install Go >= 1.26 or set KUBEBUILDER_ASSETS"
        )
    if not quiet:
        print(
            f"[build] building kube-apiserver v{KUBERNETES_VERSION} and etcd v{ETCD_VERSION} "
            f"into {folder} (once; about 10 minutes on 2 cores)",
            file=sys.stderr,
            flush=True,
        )
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), str(folder), KUBERNETES_VERSION, ETCD_VERSION],
        stdout=sys.stderr,
        stderr=sys.stderr,
        check=False,
    )
    found = _found(folder)
    if result.returncode != 0 or not found:
        raise BuildError(
            f"building the control plane failed (exit {result.returncode}); the output above "
            "names the failing step. Check that the Go module proxy is reachable and that "
            f"{folder.parent} is writable, then run `stashql sandbox build` again"
        )
    return found
