"""A lab fleet in one process: every host's WinRM and SSH servers on one selector and two pools."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import paramiko

from remediate.errors import InputError
from remediate.lab import certs, http11, sshd, wsman
from remediate.lab.faults import FaultSpec, HostKnobs
from remediate.lab.host import LabHost
from remediate.lab.inventory_file import LabAccess, LabEntry, write_inventory, write_known_hosts
from remediate.lab.reactor import Callback, Reactor
from remediate.lab.scenarios import LAB_USER, build_fleet, lab_password

TRANSPORTS = ("winrm", "ssh", "both")


def _raise_fd_limit() -> None:
    """Hundreds of hosts need more descriptors than the usual soft limit of 1024."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = hard if hard != resource.RLIM_INFINITY else 65536
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@attrs.define
class _HostServers:
    """The servers of one host: its knobs, ports and listening sockets."""

    knobs: HostKnobs
    connection: str
    winrm_port: int | None = None
    ssh_port: int | None = None
    service: wsman.WSManService | None = None
    tls: ssl.SSLContext | None = None
    host_key: paramiko.PKey | None = None
    listeners: list[socket.socket] = attrs.field(factory=list)


def _build_hosts(
    hosts: int, workstations: int, mailboxes: int, seed: int
) -> tuple[list[LabHost], str]:
    return build_fleet(hosts, workstations, mailboxes, seed), lab_password(seed)


def check_args(
    hosts: int, workstations: int, mailboxes: int, transport: str, latency_ms: float
) -> None:
    """Refuse lab sizes and settings the lab cannot serve (InputError, exit 5)."""
    if transport not in TRANSPORTS:
        raise InputError(f"unknown lab transport {transport!r}: expected winrm, ssh or both")
    if hosts < 1 or workstations < 0 or mailboxes < 0:
        raise InputError("the lab needs at least one host, and no negative counts")
    if hosts + workstations > 2000:
        raise InputError("the lab serves at most 2000 hosts")
    if not 0 <= latency_ms <= 10_000:
        raise InputError("latency must be between 0 and 10000 ms")


class Fleet:
    """Lab hosts with their servers running in this process (see DESIGN.md section 8).

    Use `Fleet.start(...)` (or `with Fleet.start(...) as fleet:`); `stop()` closes everything.
    `hosts` maps names to LabHost; `ports[name]` gives {"winrm": port, "ssh": port}. A WinRM
    port speaks HTTPS (certificate from the lab CA in `ca_path`) and plain HTTP alike: the
    server looks at the first byte the client sends. With transport "both" every host serves
    both protocols; the inventory points workstations (Windows clients) at WinRM and alternates
    the MailSite servers: mail001, mail003, ... WinRM, mail002, mail004, ... SSH.
    Latency is paid once per request (HTTP request or SSH exec), not on handshakes.
    """

    def __init__(
        self,
        directory: Path,
        password: str,
        latency: float,
        receive_wait_cap: float,
        io_workers: int,
        exec_workers: int,
    ) -> None:
        self.directory = directory
        self.user = LAB_USER
        self.password = password
        self.latency = latency
        self.receive_wait_cap = receive_wait_cap
        self.hosts: dict[str, LabHost] = {}
        self.inventory_path = directory / "inventory.yml"
        self.ca_path = directory / "ca.pem"
        self.known_hosts_path = directory / "known_hosts"
        self.client_key_path = directory / "id_lab"
        self._servers: dict[str, _HostServers] = {}
        self._reactor = Reactor(io_workers)
        self._exec = ThreadPoolExecutor(exec_workers, thread_name_prefix="lab-exec")
        self._ssh_live: set[paramiko.Transport] = set()
        self._ssh_lock = threading.Lock()
        self._stopped = False

    @classmethod
    def start(
        cls,
        directory: Path,
        hosts: int = 3,
        workstations: int | None = None,
        mailboxes: int = 20,
        seed: int = 1,
        transport: str = "both",
        latency_ms: float = 0.0,
        receive_wait_cap: float = 5.0,
        io_workers: int = 48,
        exec_workers: int = 32,
    ) -> Fleet:
        """Build the seeded hosts, start their servers, write inventory.yml, ca.pem, known_hosts."""
        workstations = max(1, hosts // 4) if workstations is None else workstations
        check_args(hosts, workstations, mailboxes, transport, latency_ms)
        _raise_fd_limit()
        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        lab_hosts, password = _build_hosts(hosts, workstations, mailboxes, seed)
        fleet = cls(
            directory, password, latency_ms / 1000.0, receive_wait_cap, io_workers, exec_workers
        )
        try:
            fleet._serve_all(lab_hosts, transport)
            fleet._reactor.sync()
            fleet._write_files()
        except BaseException:
            fleet.stop()
            raise
        return fleet

    def _serve_all(self, lab_hosts: list[LabHost], transport: str) -> None:
        previous = self._previous_ports()
        ca = certs.LabCA.load_or_create(self.directory)  # ca.pem is written whatever the transport
        client_key, _ = certs.client_key(self.directory)
        for index, host in enumerate(lab_hosts):
            connection = transport
            if transport == "both":
                connection = "winrm" if host.kind != "mailsite" else ("winrm", "ssh")[index % 2]
            knobs = HostKnobs(
                host,
                self.user,
                self.password,
                self.latency,
                authorized_keys=(client_key.get_base64(),),
            )
            servers = _HostServers(knobs, connection)
            self.hosts[host.name] = host
            self._servers[host.name] = servers
            old = previous.get(host.name, {})
            if transport != "ssh":
                servers.tls = ca.server_context(host.name)
                servers.winrm_port = self._listen(servers, "winrm", old.get("winrm", 0))
            if transport != "winrm":
                servers.host_key = certs.ssh_host_key(self.directory, host.name)
                servers.ssh_port = self._listen(servers, "ssh", old.get("ssh", 0))

    def _listen(self, servers: _HostServers, protocol: str, port: int) -> int:
        on_accept = self._winrm_accept if protocol == "winrm" else self._ssh_accept
        callback: Callback = lambda sock: on_accept(servers, sock)  # noqa: E731
        try:
            sock = self._reactor.listen(port, callback)
        except OSError:
            if port == 0:
                raise
            sock = self._reactor.listen(0, callback)  # the old port is taken: take another
        servers.listeners.append(sock)
        bound = int(sock.getsockname()[1])
        if protocol == "winrm" and servers.service is None:
            servers.service = wsman.WSManService(
                servers.knobs, self._exec, bound, self.receive_wait_cap
            )
        return bound

    def _winrm_accept(self, servers: _HostServers, sock: socket.socket) -> None:
        # No worker waits on a client that connects and stays silent: peek once it has sent.
        self._reactor.watch(sock, lambda: self._winrm_open(servers, sock))

    def _winrm_open(self, servers: _HostServers, sock: socket.socket) -> None:
        assert servers.service is not None
        conn = http11.open_connection(sock, servers.service.answer, servers.tls)
        if conn is not None:
            self._serve_http(conn)

    def _serve_http(self, conn: http11.HttpConnection) -> None:
        while not self._stopped and conn.serve_one():
            if not conn.has_buffered():
                self._reactor.watch(conn.sock, lambda: self._serve_http(conn))
                return
        if self._stopped:
            conn.close()

    def _ssh_accept(self, servers: _HostServers, sock: socket.socket) -> None:
        assert servers.host_key is not None
        sshd.serve_connection(
            sock, servers.knobs, servers.host_key, self._exec, self._ssh_live, self._ssh_lock
        )

    @property
    def ports(self) -> dict[str, dict[str, int]]:
        """Each host's listening ports by protocol."""
        result: dict[str, dict[str, int]] = {}
        for name, servers in self._servers.items():
            ports = {"winrm": servers.winrm_port, "ssh": servers.ssh_port}
            result[name] = {key: value for key, value in ports.items() if value is not None}
        return result

    def connection_of(self, host: str) -> str:
        """The protocol the inventory points clients at for this host ("winrm" or "ssh")."""
        return self._lookup(host).connection

    def knobs(self, host: str) -> HostKnobs:
        return self._lookup(host).knobs

    def _lookup(self, host: str) -> _HostServers:
        servers = self._servers.get(host)
        if servers is None:
            raise InputError(f"unknown lab host {host!r}")
        return servers

    def state(self, host: str) -> dict[str, object]:
        """The host's canonical JSON state, counters included, plus armed faults and open shells."""
        servers = self._lookup(host)
        data = servers.knobs.host.to_json()
        data["faults"] = servers.knobs.faults.describe()
        if servers.service is not None:
            data["winrm_open_shells"] = servers.service.shell_count()
        return data

    def set_fault(self, host: str, spec: str) -> None:
        """Arm or clear a fault: "drop-after=N", "http500=N", "hang=S", "refuse", "clear"."""
        servers = self._lookup(host)
        parsed = FaultSpec.parse(spec)
        was_refusing = servers.knobs.faults.refuse
        servers.knobs.faults.apply(parsed)
        if parsed.kind == "refuse" and not was_refusing:
            for sock in servers.listeners:
                self._reactor.unlisten(sock)
            servers.listeners.clear()
        elif parsed.kind == "clear" and was_refusing:
            for protocol, port in (("winrm", servers.winrm_port), ("ssh", servers.ssh_port)):
                if port is not None:
                    self._relisten(servers, protocol, port)

    def _relisten(self, servers: _HostServers, protocol: str, port: int) -> None:
        on_accept = self._winrm_accept if protocol == "winrm" else self._ssh_accept
        callback: Callback = lambda sock: on_accept(servers, sock)  # noqa: E731
        servers.listeners.append(self._reactor.listen(port, callback))

    def _previous_ports(self) -> dict[str, dict[str, int]]:
        try:
            data = json.loads((self.directory / "lab.json").read_text(encoding="utf-8"))
            ports = data["ports"]
            return {str(k): {str(p): int(n) for p, n in v.items()} for k, v in ports.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _write_files(self) -> None:
        entries, known = [], []
        for name, servers in self._servers.items():
            group = "mailsite" if servers.knobs.host.kind == "mailsite" else "workstations"
            entries.append(
                LabEntry(name, group, servers.connection, servers.winrm_port, servers.ssh_port)
            )
            if servers.host_key is not None and servers.ssh_port is not None:
                known.append(certs.known_hosts_line(servers.ssh_port, servers.host_key))
        access = LabAccess(
            self.user, self.password, self.ca_path, self.known_hosts_path, self.client_key_path
        )
        write_known_hosts(self.known_hosts_path, known)
        write_inventory(self.inventory_path, entries, access)
        layout = {"ports": self.ports, "user": self.user}
        (self.directory / "lab.json").write_text(json.dumps(layout, indent=1), encoding="utf-8")

    def stop(self) -> None:
        """Close every listener and connection and stop the workers (stalled commands wake up)."""
        if self._stopped:
            return
        self._stopped = True
        for servers in self._servers.values():
            servers.knobs.faults.release()
        self._reactor.stop()
        with self._ssh_lock:
            transports = list(self._ssh_live)
        for transport in transports:
            with contextlib.suppress(Exception):
                transport.close()
        self._exec.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
