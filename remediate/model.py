"""Value types shared across the flow: hosts, connection settings, changes, findings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from remediate.secrets import Secret

CONNECTION_TYPES = ("winrm", "ssh", "local")
SHELL_TYPES = ("cmd", "powershell", "sh")
WINRM_TRANSPORTS = ("ntlm", "basic", "plaintext", "ssl", "certificate", "kerberos", "credssp")


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


def _as_secret(value: object) -> Secret | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Secret) else Secret(str(value))


@attrs.frozen
class ConnectionSettings:
    """How to reach one host, resolved from its Ansible connection variables."""

    name: str
    address: str
    connection: str = attrs.field(validator=attrs.validators.in_(CONNECTION_TYPES))
    port: int
    user: str | None = None
    password: Secret | None = attrs.field(default=None, converter=_as_secret)
    shell_type: str = attrs.field(default="sh", validator=attrs.validators.in_(SHELL_TYPES))
    # WinRM
    winrm_transport: str = "ntlm"
    winrm_scheme: str = "https"
    winrm_cert_validation: bool = True
    winrm_ca_trust_path: str | None = None
    allow_insecure_winrm: bool = False
    winrm_cert_pem: str | None = None
    winrm_cert_key_pem: str | None = None
    # SSH
    private_key_file: str | None = None
    known_hosts: str | None = None
    host_key_policy: str = attrs.field(
        default="reject", validator=attrs.validators.in_(("reject", "accept-new"))
    )
    # Timeouts and bounds (seconds)
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    operation_timeout: float = 20.0
    command_timeout: float = 120.0
    retries: int = 3
    retry_deadline: float = 60.0

    @classmethod
    def from_vars(cls, name: str, hostvars: Mapping[str, Any]) -> ConnectionSettings:
        """Resolve settings from a host's merged variables (Ansible's names and aliases).

        A bad value is an InputError naming the host and the variable, never a crash.
        """
        v = _Vars(name, hostvars)
        connection = v.text("ansible_connection", "ssh")
        connection = "ssh" if connection == "paramiko" else connection
        if connection not in CONNECTION_TYPES:
            raise v.bad(
                "ansible_connection",
                f"must be one of {', '.join(CONNECTION_TYPES)} (paramiko means ssh)",
            )
        port_var = v.first("ansible_port", "ansible_ssh_port")
        port = v.integer(port_var, 0) if port_var else None
        scheme_default = "http" if connection == "winrm" and port == 5985 else "https"
        scheme = v.text("ansible_winrm_scheme", scheme_default)
        if port is None:
            port = {"winrm": 5986 if scheme == "https" else 5985, "ssh": 22}.get(connection, 0)
        shell = v.text("ansible_shell_type", "cmd" if connection == "winrm" else "sh")
        if shell not in SHELL_TYPES:
            raise v.bad("ansible_shell_type", f"must be one of {', '.join(SHELL_TYPES)}")
        transport = v.text("ansible_winrm_transport", "ntlm").lower()
        if connection == "winrm" and transport not in WINRM_TRANSPORTS:
            raise v.bad("ansible_winrm_transport", f"must be one of {', '.join(WINRM_TRANSPORTS)}")
        if scheme.lower() not in ("http", "https"):
            raise v.bad("ansible_winrm_scheme", "must be http or https")
        policy = v.text("remediate_ssh_host_key_policy", "reject")
        if policy not in ("reject", "accept-new"):
            raise v.bad("remediate_ssh_host_key_policy", "must be reject or accept-new")
        user_var = v.first("ansible_user", "ansible_ssh_user")
        password_var = v.first(
            "ansible_password",
            "ansible_ssh_pass",
            "ansible_ssh_password",
            "ansible_winrm_pass",
            "ansible_winrm_password",
        )
        key_var = v.first("ansible_ssh_private_key_file", "ansible_private_key_file")
        host_var = v.first("ansible_host", "ansible_ssh_host")
        return cls(
            name=name,
            address=v.text(host_var, name) if host_var else name,
            connection=connection,
            port=port,
            user=v.optional(user_var),
            password=hostvars.get(password_var) if password_var else None,
            shell_type=shell,
            winrm_transport=transport,
            winrm_scheme=scheme,
            winrm_cert_validation=v.text("ansible_winrm_server_cert_validation", "validate")
            != "ignore",
            winrm_ca_trust_path=v.optional("ansible_winrm_ca_trust_path"),
            allow_insecure_winrm=_as_bool(hostvars.get("remediate_allow_insecure_winrm", False)),
            winrm_cert_pem=v.optional("ansible_winrm_cert_pem"),
            winrm_cert_key_pem=v.optional("ansible_winrm_cert_key_pem"),
            private_key_file=_expand(v.optional(key_var)),
            known_hosts=v.optional("remediate_known_hosts"),
            host_key_policy=policy,
            connect_timeout=v.number("remediate_connect_timeout", 10.0),
            read_timeout=v.number("remediate_read_timeout", 30.0),
            operation_timeout=v.number("remediate_operation_timeout", 20.0),
            command_timeout=v.number("remediate_command_timeout", 120.0),
            retries=v.integer("remediate_retries", 3),
            retry_deadline=v.number("remediate_retry_deadline", 60.0),
        )


class _Vars:
    """Typed reads of connection variables, each failure an InputError naming the variable."""

    def __init__(self, host: str, hostvars: Mapping[str, Any]) -> None:
        self.host = host
        self.vars = hostvars

    def bad(self, key: str, why: str) -> Exception:
        from remediate.errors import InputError

        shown = self.vars.get(key)
        value = "a secret" if isinstance(shown, Secret) else repr(shown)
        return InputError(f"host {self.host}: {key}={value} {why}")

    def first(self, *keys: str) -> str | None:
        return next((k for k in keys if self.vars.get(k) not in (None, "")), None)

    def text(self, key: str, default: str) -> str:
        value = self.vars.get(key)
        return default if value is None or value == "" else str(value)

    def optional(self, key: str | None) -> str | None:
        return None if key is None else _opt_str(self.vars.get(key))

    def integer(self, key: str, default: int) -> int:
        value = self.vars.get(key, default)
        try:
            number = int(str(value), 10) if not isinstance(value, int) else value
        except ValueError:
            raise self.bad(key, "must be a whole number") from None
        if isinstance(value, bool) or number < 0 or number > 65535:
            raise self.bad(key, "must be a whole number from 0 to 65535")
        return number

    def number(self, key: str, default: float) -> float:
        value = self.vars.get(key, default)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.bad(key, "must be a number of seconds") from None
        if number < 0 or number != number:
            raise self.bad(key, "must be a positive number of seconds")
        return number


def _expand(path: str | None) -> str | None:
    return None if path is None else os.path.expanduser(path)


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


@attrs.frozen
class Host:
    """One inventory host with its merged variables (Ansible precedence applied)."""

    name: str
    vars: Mapping[str, Any] = attrs.field(factory=dict)
    groups: tuple[str, ...] = ()

    @property
    def connection(self) -> ConnectionSettings:
        return ConnectionSettings.from_vars(self.name, self.vars)


ACTIONS = ("create", "update", "delete")


@attrs.frozen
class Change:
    """One planned change on one host, as a reviewer reads it.

    `before`/`after` are JSON values and never hold a secret. `data` carries what
    the task needs to apply and revert it (JSON, no secret either).
    """

    address: str
    action: str = attrs.field(validator=attrs.validators.in_(ACTIONS))
    before: Any
    after: Any
    reason: str
    reversible: bool = True
    fingerprint: str = ""
    task: str = ""
    data: Mapping[str, Any] = attrs.field(factory=dict)
    task_index: int = -1  # which task of the play planned it (set by the engine)


@attrs.frozen
class Finding:
    """Something a reviewer should know that the task will not (or may not) change."""

    address: str
    message: str
    severity: str = "warning"  # "info" | "warning" | "critical"
    task: str = ""
    evidence: tuple[str, ...] = ()


# Statuses a host ends a run with, worst last for the recap.
STATUSES = ("ok", "changed", "skipped", "stale", "unreachable", "failed")


@attrs.frozen
class TaskRef:
    """Which task of which play a plan entry came from, with its rendered arguments."""

    play: int
    index: int
    type_name: str
    name: str
    args: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class HostPlan:
    """What the plan says for one host of one play."""

    host: str
    play: int
    status: str = "planned"  # "planned" | "unreachable" | "failed"
    error: str | None = None
    changes: tuple[Change, ...] = ()
    findings: tuple[Finding, ...] = ()
    tasks: tuple[TaskRef, ...] = ()
    round_trips: int = 0
    views: Mapping[int, Any] = attrs.field(factory=dict)  # task index -> its facts view

    @property
    def failed(self) -> bool:
        return self.status != "planned"

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@attrs.frozen
class Plan:
    """A reviewable plan: every host's changes, the digests of what produced it."""

    hosts: tuple[HostPlan, ...]
    playbook: str
    inventory: tuple[str, ...]
    playbook_digest: str
    inventory_digest: str
    created: str
    limit: str | None = None
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    extra_vars: Mapping[str, Any] = attrs.field(factory=dict)
    plays: tuple[Mapping[str, Any], ...] = ()  # each play's name and run policy

    @property
    def changes(self) -> list[Change]:
        return [c for hp in self.hosts for c in hp.changes]

    @property
    def changed(self) -> bool:
        return any(hp.changes for hp in self.hosts)

    @property
    def failed(self) -> bool:
        return any(hp.failed for hp in self.hosts)

    def raise_on_error(self) -> Plan:
        """Raise HostFailed naming every host that could not be planned."""
        from remediate.errors import HostFailed

        bad = [f"{hp.host}: {hp.status} ({hp.error})" for hp in self.hosts if hp.failed]
        if bad:
            raise HostFailed("plan incomplete: " + "; ".join(bad))
        return self


@attrs.frozen
class ChangeResult:
    """What became of one change when applied or reverted."""

    change: Change
    # "applied" | "reverted" | "pending" (check mode: would be made) | "failed" | "skipped"
    # | "irreversible" | "not-applied" | "conflict" (moved since; left alone)
    status: str
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "conflict")

    @property
    def changed(self) -> bool:
        """Made, or in check mode would be made (as Ansible's `changed` in check mode)."""
        return self.status in ("applied", "reverted", "pending")


@attrs.frozen
class HostResult:
    """How one host ended a run."""

    host: str
    status: str = attrs.field(validator=attrs.validators.in_(STATUSES))
    changes: tuple[ChangeResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    message: str | None = None
    round_trips: int = 0
    play: int = 0

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "unreachable", "stale")

    @property
    def changed(self) -> bool:
        return any(c.changed for c in self.changes)


@attrs.frozen
class RunResult:
    """A whole run: every host's result, aggregated."""

    run_id: str | None
    hosts: tuple[HostResult, ...]
    aborted: bool = False
    kind: str = "apply"  # "apply" | "rollback" | "check"
    irreversible: tuple[Change, ...] = ()
    abort_reason: str | None = None
    plan: Plan | None = None  # the plan a check run or a run made

    @property
    def failed(self) -> bool:
        return self.aborted or any(h.failed for h in self.hosts)

    @property
    def changed(self) -> bool:
        return any(h.changed for h in self.hosts)

    @property
    def exit_code(self) -> int:
        from remediate import errors

        statuses = {h.status for h in self.hosts}
        if self.aborted:
            return errors.EXIT_ABORTED
        if "failed" in statuses:
            return errors.EXIT_HOST_FAILED
        if "stale" in statuses:
            return errors.EXIT_STALE
        if "unreachable" in statuses:
            return errors.EXIT_UNREACHABLE
        return errors.EXIT_OK

    def raise_on_error(self) -> RunResult:
        from remediate.errors import HostFailed

        bad = [h for h in self.hosts if h.failed]
        if self.aborted or bad:
            detail = "; ".join(f"{h.host}: {h.status} ({h.message})" for h in bad)
            raise HostFailed(f"run {'aborted: ' if self.aborted else ''}{detail}".strip())
        return self
