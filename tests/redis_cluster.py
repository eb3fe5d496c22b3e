"""A real local Redis Cluster for tests: three masters (and a replica each, for
failover) on free ports, built with ``redis-cli --cluster create``."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(n: int) -> list[int]:
    """``n`` ports free together with their cluster-bus ports (+10000)."""
    found: list[int] = []
    while len(found) < n:
        port = random.randint(20000, 30000)  # noqa: S311
        if port not in found and _free(port) and _free(port + 10000):
            found.append(port)
    return found


@dataclass
class Cluster:
    ports: list[int]
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The limits/redis-py URL (``redis+cluster://`` for the limiter)."""
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.ports[:3])
        return f"redis+cluster://{hosts}"

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", p) for p in self.ports[:3]]

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

    def master_of(self, key: str, timeout: float = 20) -> int:
        """The port of the master that serves ``key``'s slot now.

        Mid-failover a node may briefly report a master's slots as uncovered
        (or be unreachable while it changes role): ask again until the slot
        has a master."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = redis.RedisCluster(
                    startup_nodes=[
                        redis.cluster.ClusterNode(h, p) for h, p in self.startup_nodes
                    ],
                    require_full_coverage=False,
                )
                try:
                    node = client.get_node_from_key(key)
                    if node is not None:
                        return int(node.port)
                finally:
                    client.close()
            except (redis.exceptions.RedisClusterException, redis.RedisError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no master serves {key!r} after {timeout} s")
            time.sleep(0.1)

    def replica_of(self, master_port: int) -> int:
        for port in self.ports:
            info = self.node(port).info("replication")
            if info.get("role") == "slave" and int(info["master_port"]) == master_port:
                return port
        raise AssertionError(f"no replica of the master on {master_port}")

    def failover(self, key: str) -> tuple[int, int]:
        """``CLUSTER FAILOVER`` on the replica of ``key``'s master; returns (old
        master port, new master port) once the new master serves the slot and
        every node agrees."""
        old = self.master_of(key)
        new = self.replica_of(old)
        deadline = time.monotonic() + 60
        # As an operator would: wait until the replica is in sync (one that just
        # changed roles may still be loading), then ask. A manual failover the
        # master did not answer in time is abandoned by Redis: ask again.
        while self.node(new).info("replication").get("master_link_status") != "up":
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica on {new} never caught up")
            time.sleep(0.1)
        asked = 0.0
        while time.monotonic() < deadline:
            if self.node(new).info("replication").get("role") == "master":
                if self.master_of(key) == new:
                    self.wait_ok(max(deadline - time.monotonic(), 1))
                    return old, new
            elif time.monotonic() - asked > 10:
                self.node(old).execute_command("WAIT", 1, 2000)
                self.node(new).execute_command("CLUSTER FAILOVER")
                asked = time.monotonic()
            time.sleep(0.1)
        raise AssertionError("failover did not complete in 60 s")

    def wait_ok(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [self.node(p).cluster("INFO") for p in self.ports]
            if all(s.get("cluster_state") == "ok" for s in states):
                return
            time.sleep(0.2)
        raise AssertionError("cluster did not reach cluster_state:ok")


@contextmanager
def running_cluster(*, masters: int = 3, replicas: int = 1) -> Iterator[Cluster]:
    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if server is None or cli is None:
        raise RuntimeError("redis-server / redis-cli are not installed")
    ports = free_ports(masters * (1 + replicas))
    cluster = Cluster(ports)
    workdir = Path(tempfile.mkdtemp(prefix="cadml-redis-cluster-"))
    try:
        for port in ports:
            cluster.processes[port] = subprocess.Popen(  # noqa: S603
                [
                    server,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    f"nodes-{port}.conf",
                    "--cluster-node-timeout",
                    "2000",
                    "--dir",
                    str(workdir),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],  # fmt: skip
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for port in ports:
            deadline = time.monotonic() + 10
            while True:
                try:
                    cluster.node(port).ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        subprocess.run(  # noqa: S603
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                str(replicas),
                "--cluster-yes",
            ],  # fmt: skip
            check=True,
            capture_output=True,
            timeout=60,
        )
        cluster.wait_ok()
        # Replicas must have synced before a failover test relies on them.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            infos = [cluster.node(p).info("replication") for p in ports]
            if (
                sum(
                    i.get("role") == "slave" and i.get("master_link_status") == "up"
                    for i in infos
                )
                == masters * replicas
            ):
                break
            time.sleep(0.2)
        yield cluster
    finally:
        for process in cluster.processes.values():
            process.terminate()
        for process in cluster.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
