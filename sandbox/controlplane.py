"""A real local control plane: one etcd and N kube-apiservers, each its own cluster.

Each API server keeps its data under its own etcd prefix (``/<id>/registry``), the way
Kubernetes' own integration tests share one etcd. Every cluster has TLS, a static token
file, RBAC authorization, service-account keys made at start, and the project's CRDs
installed and established, and an audit log of every write (sandbox/audit.py). There is
no controller manager: no namespace deletion, no garbage collection, no workload
controllers (tests use unique names instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from apis.resources import resource_path
from kube.client import ApiError, JSONDict, KubeClient, wait_for
from kube.manifests import Discovery, apply_manifest
from sandbox.audit import audit_args, audit_log_path, read_audit_events, write_audit_policy
from sandbox.binaries import Binaries, ensure_binaries
from sandbox.pki import SandboxPKI, make_pki
from sandbox.rbac import GATEWAY_USER, sandbox_rbac_objects

PACKAGE_DIR = Path(__file__).resolve().parent
CRD_DIR = PACKAGE_DIR / "crds"
DEPLOY_RBAC = PACKAGE_DIR.parent / "deploy" / "gateway-rbac.yaml"
FIELD_MANAGER = "stashql-sandbox"
USERS = ("admin", "alice", "bob")
START_TIMEOUT = 60.0


class SandboxError(RuntimeError):
    """The sandbox could not start; the message names the step and the log to read."""


@dataclass(frozen=True)
class ClusterEndpoint:
    name: str
    server: str
    etcd_prefix: str


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Sandbox:
    """A running sandbox. Use :func:`start_sandbox` or ``async with Sandbox.running(...)``."""

    dir: Path
    clusters: list[ClusterEndpoint]
    ca_file: Path
    tokens: dict[str, str]
    gateway_token: str
    kubeconfig: Path
    admin_kubeconfig: Path
    _procs: list[_Proc] = field(default_factory=list, repr=False)

    def client(
        self, cluster: str | int = 0, *, user: str = "admin", timeout: float = 15.0
    ) -> KubeClient:
        """A raw client for one cluster (by name or index) as one of the sandbox users."""
        endpoint = self.cluster(cluster)
        token = self.gateway_token if user == "gateway" else self.tokens[user]

        async def source() -> str:
            return token

        return KubeClient(
            cluster=endpoint.name,
            server=endpoint.server,
            ssl_context=self.ssl_context(),
            token_source=source,
            timeout=timeout,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the sandbox's CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def cluster(self, which: str | int) -> ClusterEndpoint:
        if isinstance(which, int):
            return self.clusters[which]
        for c in self.clusters:
            if c.name == which:
                return c
        raise KeyError(which)

    def audit_events(self, cluster: str | int = 0) -> list[dict[str, Any]]:
        """The audit events of one cluster's API server so far (JSON lines, oldest first;
        written asynchronously to the response, so poll for a recent one)."""
        return read_audit_events(audit_log_path(self.dir / "logs", self.cluster(cluster).name))

    def pids(self) -> list[int]:
        return [p.popen.pid for p in self._procs]

    def stop(self, *, timeout: float = 15.0) -> None:
        """Stop every process this sandbox started (API servers first, then etcd)."""
        # API servers first: while they shut down gracefully they still need etcd.
        apiservers = [p for p in self._procs if p.name != "etcd"]
        etcd = [p for p in self._procs if p.name == "etcd"]
        for group in (apiservers, etcd):
            _terminate(group, timeout=timeout)
        self._procs.clear()
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "ready").unlink()

    # Restarting one API server is how tests check that watches survive an outage.
    def stop_cluster(self, which: str | int) -> None:
        endpoint = self.cluster(which)
        name = f"kube-apiserver-{endpoint.name}"
        _terminate([p for p in self._procs if p.name == name], timeout=15)

    async def restart_cluster(self, which: str | int) -> None:
        endpoint = self.cluster(which)
        self.stop_cluster(endpoint.name)
        for i, p in enumerate(self._procs):
            if p.name == f"kube-apiserver-{endpoint.name}":
                args = p.popen.args
                assert isinstance(args, list)
                self._procs[i] = _spawn(p.name, [str(a) for a in args], p.log)
        await _wait_ready(self, endpoint)


def _terminate(procs: list[_Proc], *, timeout: float) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL whatever is left."""
    for p in procs:
        if p.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.popen.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                p.popen.kill()
            p.popen.wait(5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _spawn(name: str, args: list[str], log: Path) -> _Proc:
    handle = log.open("ab")
    popen = subprocess.Popen(
        args,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    handle.close()
    return _Proc(name=name, popen=popen, log=log)


def _etcd_args(binaries: Binaries, data: Path, client_port: int, peer_port: int) -> list[str]:
    client = f"http://127.0.0.1:{client_port}"
    peer = f"http://127.0.0.1:{peer_port}"
    return [
        str(binaries.etcd),
        "--name=sandbox",
        f"--data-dir={data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=sandbox={peer}",
        # Throw-away data: durability costs seconds per test run for nothing.
        "--unsafe-no-fsync=true",
        "--logger=zap",
        "--log-level=warn",
        # Room for the 100k-snapshot benchmark on two clusters.
        "--quota-backend-bytes=8589934592",
    ]


def _apiserver_args(
    *,
    binaries: Binaries,
    pki: SandboxPKI,
    etcd_url: str,
    prefix: str,
    port: int,
    token_file: Path,
    audit: list[str],
) -> list[str]:
    return [
        str(binaries.kube_apiserver),
        f"--etcd-servers={etcd_url}",
        f"--etcd-prefix={prefix}",
        "--bind-address=127.0.0.1",
        # Without it the server looks for a default route and fails on machines with none.
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--token-auth-file={token_file}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer=https://127.0.0.1:{port}",
        f"--service-account-key-file={pki.sa_public_key}",
        f"--service-account-signing-key-file={pki.sa_private_key}",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        # No controller manager runs: no default ServiceAccounts, no PVC protection cleanup.
        "--disable-admission-plugins=ServiceAccount,StorageObjectInUseProtection",
        # It would try to publish 127.0.0.1 as the kubernetes Service endpoint and keep failing.
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        "--v=0",
        *audit,
    ]


def _write_token_file(path: Path, tokens: dict[str, str], gateway_token: str) -> None:
    rows = [
        f'{tokens["admin"]},admin,admin-uid,"system:masters"',
        f"{tokens['alice']},alice,alice-uid,team-a-developers",
        f"{tokens['bob']},bob,bob-uid,team-b-viewers",
        f"{gateway_token},{GATEWAY_USER},gateway-uid",
    ]
    path.write_text("\n".join(rows) + "\n")
    path.chmod(0o600)


def _kubeconfig(
    sandbox_dir: Path, clusters: list[ClusterEndpoint], ca: Path, user: str, token: str
) -> str:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": c.name, "cluster": {"server": c.server, "certificate-authority": str(ca)}}
            for c in clusters
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": c.name, "context": {"cluster": c.name, "user": user}} for c in clusters
        ],
        "current-context": clusters[0].name,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def load_yaml_documents(path: Path) -> list[JSONDict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


async def _wait_ready(sandbox: Sandbox, endpoint: ClusterEndpoint) -> None:
    client = sandbox.client(endpoint.name, timeout=5)
    try:

        async def ready() -> bool:
            await client.get("/readyz")
            await client.get("/api/v1/namespaces/default")
            return True

        await wait_for(ready, timeout=START_TIMEOUT, interval=0.2, what=f"{endpoint.name} /readyz")
    finally:
        await client.close()


async def _bootstrap_cluster(sandbox: Sandbox, endpoint: ClusterEndpoint) -> None:
    """Namespaces, the gateway's RBAC from deploy/, the sandbox users' RBAC and the CRDs."""
    client = sandbox.client(endpoint.name, timeout=30)
    discovery = Discovery(client)
    try:
        objects = load_yaml_documents(DEPLOY_RBAC) + sandbox_rbac_objects()
        for obj in objects:
            await apply_manifest(client, discovery, obj, field_manager=FIELD_MANAGER)
        crds = [d for f in sorted(CRD_DIR.glob("*.yaml")) for d in load_yaml_documents(f)]
        for crd in crds:
            await apply_manifest(client, discovery, crd, field_manager=FIELD_MANAGER)
        await _wait_crds_established(client, crds)
    finally:
        await client.close()


async def _wait_crds_established(client: KubeClient, crds: list[JSONDict]) -> None:
    """Established=True and the plural listed in discovery (what envtest waits for)."""

    async def all_ready() -> bool:
        listed = await client.get(
            resource_path(
                group="apiextensions.k8s.io", version="v1", plural="customresourcedefinitions"
            )
        )
        established = {
            item["metadata"]["name"]
            for item in listed.get("items", [])
            if any(
                c.get("type") == "Established" and c.get("status") == "True"
                for c in (item.get("status") or {}).get("conditions") or []
            )
        }
        if not all(c["metadata"]["name"] in established for c in crds):
            return False
        served: dict[str, set[str]] = {}
        for crd in crds:
            group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
            for v in crd["spec"]["versions"]:
                gv = f"{group}/{v['name']}"
                if gv not in served:
                    doc = await client.get(f"/apis/{gv}")
                    served[gv] = {r["name"] for r in doc.get("resources", [])}
                if plural not in served[gv]:
                    return False
        return await _all_listable(client, crds)

    await wait_for(all_ready, timeout=60, interval=0.2, what="the CRDs to be established")


async def _all_listable(client: KubeClient, crds: list[JSONDict]) -> bool:
    """Whether every custom resource can be listed: a fresh API server answers 429
    ("storage is (re)initializing") for a while after a CRD is established, and a test
    that lists first would fail by chance. Waiting here costs a few seconds once per
    sandbox instead of a flaky first test."""

    async def listable(crd: JSONDict) -> bool:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        version = crd["spec"]["versions"][0]["name"]
        path = resource_path(group=group, version=version, plural=plural)
        try:
            await client.get(path, params={"limit": "1"})
        except ApiError as exc:
            if exc.status == 429:
                return False
            raise
        return True

    return all(await asyncio.gather(*(listable(c) for c in crds)))


async def start_sandbox(
    directory: Path, *, clusters: int = 2, binaries: Binaries | None = None
) -> Sandbox:
    """Start etcd and ``clusters`` API servers; return once everything is ready."""
    if clusters < 1 or clusters > 8:
        raise SandboxError("--clusters must be between 1 and 8")
    binaries = binaries or ensure_binaries()
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for stale in ("ready", "kubeconfig", "admin.kubeconfig", "tokens.json"):
        with contextlib.suppress(FileNotFoundError):
            (directory / stale).unlink()
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    # The etcd data is wiped below; an old run's audit events would describe other objects.
    for stale_log in logs.glob("audit-*.log"):
        stale_log.unlink()
    pki = make_pki(directory / "pki")
    tokens = {user: secrets.token_urlsafe(24) for user in USERS}
    gateway_token = secrets.token_urlsafe(24)
    token_file = directory / "pki" / "tokens.csv"
    _write_token_file(token_file, tokens, gateway_token)
    policy = write_audit_policy(directory / "audit-policy.yaml")

    etcd_data = directory / "etcd"
    if etcd_data.exists():
        import shutil

        shutil.rmtree(etcd_data)
    sandbox = Sandbox(
        dir=directory,
        clusters=[],
        ca_file=pki.ca_cert,
        tokens=tokens,
        gateway_token=gateway_token,
        kubeconfig=directory / "kubeconfig",
        admin_kubeconfig=directory / "admin.kubeconfig",
    )
    try:
        client_port, peer_port = _free_port(), _free_port()
        etcd_url = f"http://127.0.0.1:{client_port}"
        sandbox._procs.append(
            _spawn(
                "etcd", _etcd_args(binaries, etcd_data, client_port, peer_port), logs / "etcd.log"
            )
        )
        await _wait_etcd(etcd_url, sandbox._procs[0])
        run_id = uuid.uuid4().hex[:8]
        for i in range(1, clusters + 1):
            port = _free_port()
            endpoint = ClusterEndpoint(
                name=f"sandbox-{i}",
                server=f"https://127.0.0.1:{port}",
                etcd_prefix=f"/{run_id}-sandbox-{i}/registry",
            )
            sandbox.clusters.append(endpoint)
            args = _apiserver_args(
                binaries=binaries,
                pki=pki,
                etcd_url=etcd_url,
                prefix=endpoint.etcd_prefix,
                port=port,
                token_file=token_file,
                audit=audit_args(policy=policy, log=audit_log_path(logs, endpoint.name)),
            )
            sandbox._procs.append(
                _spawn(
                    f"kube-apiserver-{endpoint.name}",
                    args,
                    logs / f"kube-apiserver-{endpoint.name}.log",
                )
            )
        await asyncio.gather(*(_wait_ready_or_explain(sandbox, c) for c in sandbox.clusters))
        await asyncio.gather(*(_bootstrap_cluster(sandbox, c) for c in sandbox.clusters))
        sandbox.kubeconfig.write_text(
            _kubeconfig(directory, sandbox.clusters, pki.ca_cert, GATEWAY_USER, gateway_token)
        )
        sandbox.admin_kubeconfig.write_text(
            _kubeconfig(directory, sandbox.clusters, pki.ca_cert, "admin", tokens["admin"])
        )
        for path in (sandbox.kubeconfig, sandbox.admin_kubeconfig):
            path.chmod(0o600)
        tokens_json = directory / "tokens.json"
        tokens_json.write_text(json.dumps(tokens, indent=2) + "\n")
        tokens_json.chmod(0o600)
        (directory / "pids").write_text("\n".join(str(p) for p in sandbox.pids()) + "\n")
        (directory / "ready").write_text(
            json.dumps({"clusters": [c.server for c in sandbox.clusters], "pid": os.getpid()})
            + "\n"
        )
        return sandbox
    except BaseException:
        sandbox.stop()
        raise


async def _wait_etcd(url: str, proc: _Proc) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:

        async def healthy() -> bool:
            if proc.popen.poll() is not None:
                raise SandboxError(f"etcd exited with {proc.popen.returncode}; see {proc.log}")
            try:
                async with session.get(
                    url + "/health", timeout=aiohttp.ClientTimeout(total=2)
                ) as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        try:
            await wait_for(healthy, timeout=START_TIMEOUT, interval=0.1, what="etcd /health")
        except TimeoutError as exc:
            raise SandboxError(f"{exc}; see {proc.log}") from exc


async def _wait_ready_or_explain(sandbox: Sandbox, endpoint: ClusterEndpoint) -> None:
    proc = next(p for p in sandbox._procs if p.name == f"kube-apiserver-{endpoint.name}")
    waiter = asyncio.create_task(_wait_ready(sandbox, endpoint))
    while not waiter.done():
        if proc.popen.poll() is not None:
            waiter.cancel()
            tail = proc.log.read_text(errors="replace").splitlines()[-5:]
            raise SandboxError(
                f"kube-apiserver for {endpoint.name} exited with {proc.popen.returncode}; "
                f"last lines of {proc.log}:\n" + "\n".join(tail)
            )
        await asyncio.wait({waiter}, timeout=0.2)
    try:
        waiter.result()
    except TimeoutError as exc:
        raise SandboxError(f"{exc}; see {proc.log}") from exc


__all__ = [
    "ClusterEndpoint",
    "Sandbox",
    "SandboxError",
    "start_sandbox",
]
