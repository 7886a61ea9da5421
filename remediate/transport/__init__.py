"""Connections to hosts: `connect(settings)` opens a WinRM, SSH or local one, eagerly."""

from __future__ import annotations

from remediate.model import ConnectionSettings
from remediate.transport.base import CommandResult, Connection
from remediate.transport.local import LocalConnection
from remediate.transport.retry import RetryPolicy
from remediate.transport.session import ShellConnection, UnknownBatchOutcome
from remediate.transport.ssh import SSHConnection
from remediate.transport.winrm import InsecureTransportRefused, WinRMConnection

__all__ = [
    "CommandResult",
    "Connection",
    "InsecureTransportRefused",
    "LocalConnection",
    "RetryPolicy",
    "SSHConnection",
    "UnknownBatchOutcome",
    "WinRMConnection",
    "connect",
    "make_connection",
]


def make_connection(
    settings: ConnectionSettings, policy: RetryPolicy | None = None
) -> ShellConnection:
    """The connection object for `settings`, not yet connected."""
    if settings.connection == "winrm":
        return WinRMConnection(settings, policy)
    if settings.connection == "ssh":
        return SSHConnection(settings, policy)
    return LocalConnection(settings, policy)


def connect(settings: ConnectionSettings, policy: RetryPolicy | None = None) -> Connection:
    """Open a connection now (retrying transient failures); raises ConnectionFailed."""
    connection = make_connection(settings, policy)
    connection.open()
    return connection
