"""The per-host state of a simulated Windows machine: mail domains, firewall, files, environment."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator

import attrs

REG_SZ = "REG_SZ"
REG_DWORD = "REG_DWORD"
REG_MULTI_SZ = "REG_MULTI_SZ"

Value = str | int | tuple[str, ...]

TEMPLATE = "MailboxTemplate"


@attrs.frozen
class PropertyType:
    """One msbox property: canonical name, registry type, whether clients may set it."""

    name: str
    reg_type: str
    read_only: bool = False


# KB 10012 plus the names MAILSITE.md adds (Password, LastLogin, LoginDisabled, MinPasswordLength).
_PROPERTIES = [
    PropertyType("ForwardTo", REG_SZ),
    PropertyType("FullName", REG_SZ),
    PropertyType("DontDeliver", REG_DWORD),
    PropertyType("EnableAutoReply", REG_DWORD),
    PropertyType("ReplyOnce", REG_DWORD),
    PropertyType("EchoMessage", REG_DWORD),
    PropertyType("ReplyFrom", REG_SZ),
    PropertyType("NoReplyTo", REG_MULTI_SZ),
    PropertyType("Message", REG_SZ),
    PropertyType("Privilege", REG_DWORD),
    PropertyType("MailboxName", REG_SZ, read_only=True),
    PropertyType("MailboxDomain", REG_SZ, read_only=True),
    PropertyType("Password", REG_SZ),
    PropertyType("LastLogin", REG_SZ, read_only=True),
    PropertyType("LoginDisabled", REG_DWORD),
    PropertyType("MinPasswordLength", REG_DWORD),
]
PROPERTIES: dict[str, PropertyType] = {p.name.lower(): p for p in _PROPERTIES}


def property_type(name: str) -> PropertyType | None:
    """The property called `name` (any case), or None if msbox does not know it."""
    return PROPERTIES.get(name.lower())


def format_value(value: Value) -> str:
    """A value as msbox prints it (REG_MULTI_SZ joined with `;`)."""
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


def json_value(value: Value) -> object:
    """A value for canonical JSON (REG_MULTI_SZ as a list)."""
    return list(value) if isinstance(value, tuple) else value


@attrs.define
class Mailbox:
    """A mailbox (or the MailboxTemplate) and the properties it sets explicitly."""

    name: str
    properties: dict[str, Value] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, object]:
        return {k: json_value(v) for k, v in sorted(self.properties.items())}


@attrs.define
class Domain:
    """A mail domain: its mailboxes by lower-cased name, the MailboxTemplate among them."""

    name: str
    mailboxes: dict[str, Mailbox] = attrs.field(factory=dict)

    def add(self, mailbox: Mailbox) -> Mailbox:
        self.mailboxes[mailbox.name.lower()] = mailbox
        return mailbox

    def find(self, name: str) -> Mailbox | None:
        return self.mailboxes.get(name.lower())

    @property
    def template(self) -> Mailbox:
        found = self.find(TEMPLATE)
        if found is None:
            found = self.add(Mailbox(TEMPLATE))
        return found

    def effective(self, mailbox: Mailbox, prop: str) -> Value | None:
        """The value a mailbox uses: its own, else the template's."""
        if prop in mailbox.properties:
            return mailbox.properties[prop]
        return self.template.properties.get(prop)

    def to_json(self) -> dict[str, object]:
        return {m.name: m.to_json() for m in sorted(self.mailboxes.values(), key=_name_key)}


def _name_key(mailbox: Mailbox) -> tuple[str, str]:
    return (mailbox.name.lower(), mailbox.name)


@attrs.define
class FirewallRule:
    """One Windows Firewall rule as netsh advfirewall shows it."""

    name: str
    direction: str = "Out"  # In | Out
    action: str = "Allow"  # Allow | Block | Bypass
    protocol: str = "Any"  # TCP | UDP | Any | ...
    localport: str = "Any"
    remoteport: str = "Any"
    localip: str = "Any"
    remoteip: str = "Any"
    profiles: str = "Domain,Private,Public"
    enabled: bool = True
    grouping: str = ""

    def to_json(self) -> dict[str, object]:
        return attrs.asdict(self)


FileContent = bytes | Callable[[], bytes]


@attrs.define
class FileSystem:
    """A flat, case-insensitive file store keyed by full Windows path.

    Generated files (protocol logs) are built on first read; until a client writes one,
    the JSON dump names it "generated" instead of forcing the work to measure it.
    """

    files: dict[str, tuple[str, FileContent, bool]] = attrs.field(factory=dict)

    def write(self, path: str, content: FileContent) -> None:
        self.files[path.lower()] = (path, content, callable(content))

    def read(self, path: str) -> bytes | None:
        entry = self.files.get(path.lower())
        if entry is None:
            return None
        original, content, generated = entry
        if callable(content):
            content = content()
            self.files[path.lower()] = (original, content, generated)
        return content

    def exists(self, path: str) -> bool:
        return path.lower() in self.files or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        prefix = path.rstrip("\\").lower() + "\\"
        return any(k.startswith(prefix) for k in self.files)

    def listdir(self, directory: str, pattern: str = "*") -> list[str]:
        """Names (files and subdirectories) directly inside `directory` matching `pattern`."""
        prefix = directory.rstrip("\\").lower() + "\\"
        names: dict[str, str] = {}
        low_pattern = pattern.lower()
        for key, (original, _, _) in self.files.items():
            if key.startswith(prefix):
                child = original[len(prefix) :].split("\\", 1)[0]
                if fnmatch.fnmatchcase(child.lower(), low_pattern):
                    names.setdefault(child.lower(), child)
        return sorted(names.values(), key=str.lower)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(entry[0] for entry in self.files.values()))

    def describe(self, path: str) -> int | str:
        """The file's size, or "generated" for a file the lab builds on demand."""
        entry = self.files.get(path.lower())
        if entry is None:
            return 0
        if entry[2]:
            return "generated"
        content = entry[1]
        return len(content) if isinstance(content, bytes) else 0


@attrs.define
class HostState:
    """Everything a lab host knows: mail domains, firewall rules, files and environment."""

    hostname: str
    kind: str  # "mailsite" | "workstation"
    ip: str
    user: str = "labadmin"
    domains: dict[str, Domain] = attrs.field(factory=dict)
    firewall: list[FirewallRule] = attrs.field(factory=list)
    env: dict[str, str] = attrs.field(factory=dict)
    fs: FileSystem = attrs.field(factory=FileSystem)
    cwd: str = ""
    truth: dict[str, object] = attrs.field(factory=dict)

    def domain(self, name: str) -> Domain | None:
        return self.domains.get(name.lower())

    def add_domain(self, name: str) -> Domain:
        return self.domains.setdefault(name.lower(), Domain(name))

    def getenv(self, name: str) -> str | None:
        """An environment variable by case-insensitive name."""
        return self.env.get(name.upper())

    def setenv(self, name: str, value: str | None) -> None:
        if value is None:
            self.env.pop(name.upper(), None)
        else:
            self.env[name.upper()] = value

    def to_json(self) -> dict[str, object]:
        files = {path: self.fs.describe(path) for path in self.fs}
        return {
            "hostname": self.hostname,
            "kind": self.kind,
            "ip": self.ip,
            "user": self.user,
            "domains": {
                d.name: d.to_json() for d in sorted(self.domains.values(), key=lambda d: d.name)
            },
            "firewall": [r.to_json() for r in self.firewall],
            "env": dict(sorted(self.env.items())),
            "files": files,
            "truth": self.truth,
        }


@attrs.frozen
class ProgramResult:
    """What a simulated program printed and returned."""

    rc: int
    stdout: str = ""
    stderr: str = ""


def lines(*text: str) -> str:
    """Lines joined and terminated with CRLF, as Windows programs print them."""
    return "".join(t + "\r\n" for t in text)
