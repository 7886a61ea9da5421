"""The msbox dialect: every msbox command line, output format and property name the driver assumes.

Everything MAILSITE.md marks ASSUMED lives here, so an administrator adapts it per
host through inventory variables (`mailsite_msbox`, `mailsite_prop_*`) without
touching the tasks. Tasks speak in mailboxes and properties, never command lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

import attrs

from remediate.errors import HostFailed, InputError
from remediate.model import Host
from remediate.secrets import Secret
from remediate.transport.base import CommandResult, Connection

DEFAULT_MSBOX = r"C:\Program Files\Rockliffe\MailSite\msbox.exe"
TEMPLATE = "MailboxTemplate"
MSBOX_VARIABLE = "mailsite_msbox"
DWORD, TEXT, SECRET = "dword", "text", "secret"


@attrs.frozen
class PropertySpec:
    """One mailbox property: its default name, the variable renaming it, its value kind."""

    default: str
    variable: str
    kind: str = TEXT


# Logical name -> property. KB 10012 names, plus the ASSUMED Password/LastLogin/LoginDisabled.
PROPERTIES: Mapping[str, PropertySpec] = {
    "reply_once": PropertySpec("ReplyOnce", "mailsite_prop_reply_once", DWORD),
    "enable_auto_reply": PropertySpec("EnableAutoReply", "mailsite_prop_enable_auto_reply", DWORD),
    "password": PropertySpec("Password", "mailsite_prop_password", SECRET),
    "last_login": PropertySpec("LastLogin", "mailsite_prop_last_login", TEXT),
    "login_disabled": PropertySpec("LoginDisabled", "mailsite_prop_login_disabled", DWORD),
    "min_password_length": PropertySpec(
        "MinPasswordLength", "mailsite_prop_min_password_length", DWORD
    ),
}

# Other KB 10012 names, only so that output is normalised to their documented spelling.
KNOWN_NAMES = (
    "ForwardTo", "FullName", "DontDeliver", "EchoMessage", "ReplyFrom", "NoReplyTo",
    "Message", "Privilege", "MailboxName", "MailboxDomain",
)  # fmt: skip

_PROPERTY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
# Letters of any script: IDN domains stored in their Unicode form (U-labels) are domains too.
_DOMAIN_NAME = re.compile(r"^\w(?:[\w.-]{0,252})$")
# cmd would expand or end on these inside the loop's quoted msbox path.
_CMD_OPERATORS = set("^&|<>()")
_PATH_REFUSED = set("\"%!'")


def unsafe_name_reason(name: str) -> str | None:
    """Why a mailbox name cannot be used in a command line, or None when it can."""
    if not name.strip():
        return "blank name"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        return "control character in name"
    return None


def is_plain_domain(name: str) -> bool:
    """Whether a domain is a DNS-style name the gather loop handles without refetching."""
    return bool(_DOMAIN_NAME.match(name)) and ".." not in name


def loop_safe_mailbox(name: str) -> bool:
    """Whether the gather loop's `-get "%M@%D"` reaches this mailbox as itself.

    cmd substitutes a for-variable after parsing, so operators in the name are
    inert; only a double quote changes how msbox splits its argv.
    """
    return '"' not in name


@attrs.frozen
class Dialect:
    """The msbox dialect of one host: msbox path and property names."""

    msbox: str = DEFAULT_MSBOX
    names: Mapping[str, str] = attrs.field(
        factory=lambda: {key: spec.default for key, spec in PROPERTIES.items()}
    )
    template: str = TEMPLATE

    @classmethod
    def for_host(cls, host: Host) -> Dialect:
        """The dialect with the host's inventory overrides; InputError for a bad value."""
        _require_cmd(host)
        msbox = _variable(host, MSBOX_VARIABLE, DEFAULT_MSBOX)
        reason = _path_refused(msbox)
        if reason:
            raise InputError(f"host {host.name}: {MSBOX_VARIABLE}: {reason}")
        names = {}
        for key, spec in PROPERTIES.items():
            value = _variable(host, spec.variable, spec.default)
            if not _PROPERTY_NAME.match(value):
                raise InputError(f"host {host.name}: {spec.variable}: not a property name")
            names[key] = value
        return cls(msbox=msbox, names=names)

    def prop(self, key: str) -> str:
        """The property name on this host for a logical name (`reply_once`)."""
        return self.names[key]

    def canonical(self, name: str) -> str:
        """A property name as msbox printed it, in its configured or documented spelling."""
        lowered = name.lower()
        for known in (*self.names.values(), *KNOWN_NAMES):
            if known.lower() == lowered:
                return known
        return name

    def is_secret(self, name: str) -> bool:
        return name.lower() == self.prop("password").lower()

    def is_template(self, mailbox: str) -> bool:
        return mailbox.lower() == self.template.lower()

    # -- commands -------------------------------------------------------------

    def domains_command(self) -> str:
        return f'"{self.msbox}" -domains'

    def gather_loop(self, marker: str) -> str:
        """One cmd line listing and reading every mailbox of every domain, between markers.

        Per domain: `MK D domain`, the raw `-list` output (`MK LF` if it failed),
        `MK L`; then per mailbox `MK M name`, the `-get` output (`MK GF` if it
        failed), `MK E`. `for /f` skips names starting with `;` and a quote in a
        name derails msbox's argv: the parser notices and `refine` refetches.
        """
        exe = f'"{self.msbox}"'
        get = f'(echo {marker} M %M& ({exe} -get "%M@%D" || echo {marker} GF)& echo {marker} E)'
        listing = self._in_clause('-list "%D"')
        mailboxes = f'for /f "delims=" %M in ({listing}) do @{get}'
        domain = (
            f'(echo {marker} D %D& ({exe} -list "%D" || echo {marker} LF)& '
            f"echo {marker} L& {mailboxes})"
        )
        return f'for /f "delims=" %D in ({self._in_clause("-domains")}) do @{domain}'

    def _in_clause(self, args: str) -> str:
        """A `for /f` command set running msbox: `('""MSBOX" ARGS"')`.

        The nested `cmd /c` strips the outer quotes, leaving msbox's path quoted.
        For the loop's own parse the path sits between `""` and `"`, outside
        quotes, so its operators (`Program Files (x86)`) are caret-escaped.
        """
        path = "".join("^" + ch if ch in _CMD_OPERATORS else ch for ch in self.msbox)
        return f'\'""{path}" {args}"\''

    def get_command(self, mailbox: str, domain: str) -> str:
        return self._quoted(["-get", f"{mailbox}@{domain}"])

    def set_command(self, address: str, prop: str, value: str | Secret) -> str:
        shown = value.reveal() if isinstance(value, Secret) else value
        return self._quoted(["-set", address, prop, shown])

    def clear_command(self, address: str, prop: str) -> str:
        return self._quoted(["-clear", address, prop])

    def _quoted(self, args: Sequence[str]) -> str:
        from remediate.transport.quoting import quote_argv

        for arg in args:
            reason = unsafe_name_reason(arg)
            if reason:
                raise InputError(f"msbox argument refused: {reason}")
        return quote_argv("cmd", [self.msbox, *args])

    # -- parsing --------------------------------------------------------------

    def parse_properties(self, lines: Sequence[str]) -> dict[str, str | Secret] | None:
        """`Name=Value` lines of `-get` as {canonical name: value}; None if a line is not one."""
        properties: dict[str, str | Secret] = {}
        for line in lines:
            name, equals, value = line.partition("=")
            if not equals or not _PROPERTY_NAME.match(name.strip()):
                return None
            name = self.canonical(name.strip())
            properties[name] = Secret(value) if self.is_secret(name) else value
        return properties


def _path_refused(path: str) -> str | None:
    """Why cmd could not run this msbox path inside the gather loop, or None."""
    bad = sorted(set(path) & _PATH_REFUSED)
    if bad:
        return f"character {bad[0]!r} refused in the msbox path"
    if unsafe_name_reason(path):
        return "control character refused in the msbox path"
    if path.endswith("\\"):
        return "the msbox path ends with a backslash"
    return None


def _variable(host: Host, name: str, default: str) -> str:
    value = host.vars.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"host {host.name}: {name}: expected a non-empty string")
    return value.strip()


def output_lines(text: str) -> list[str]:
    """Output text as lines (CRLF or LF), without the trailing empty line."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def first_line(result: CommandResult, limit: int = 200) -> str:
    """The first non-empty line msbox printed (stderr first), for an error message."""
    for line in output_lines(result.stderr) + output_lines(result.stdout):
        if line.strip():
            return line.strip()[:limit]
    return "no message"


def dword(value: object) -> int | None:
    """A REG_DWORD value as msbox prints it (decimal or 0x hex), None if it is not one."""
    if isinstance(value, bool) or value is None or isinstance(value, Secret):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        return None


def run_msbox(conn: Connection, host: Host, command: str, what: str) -> CommandResult:
    """Run one msbox write; HostFailed with msbox's message (never the command) on failure."""
    result = conn.run(command)
    check_msbox(host, result, what)
    return result


def check_msbox(host: Host, result: CommandResult, what: str) -> None:
    """HostFailed with msbox's message (never the command line) when a write failed."""
    if result.rc != 0:
        raise HostFailed(
            f"{host.name}: msbox {what} failed (exit {result.rc}): {first_line(result)}"
        )


def _require_cmd(host: Host) -> None:
    """msbox commands are cmd.exe lines: a MailSite host reached over SSH must say its shell
    is cmd (Windows OpenSSH's default), or every command would go to a POSIX sh."""
    connection = host.vars.get("ansible_connection")
    shell = host.vars.get("ansible_shell_type", "sh")
    if connection in ("ssh", "paramiko") and shell == "sh":
        raise InputError(
            f"host {host.name}: MailSite runs on Windows; for Windows OpenSSH set "
            "ansible_shell_type: cmd (its default shell)"
        )


def set_property(
    conn: Connection, host: Host, dialect: Dialect, address: str, prop: str, value: str | Secret
) -> None:
    """Ensure `prop` is explicitly `value` on the mailbox `address` (name@domain)."""
    command = dialect.set_command(address, prop, value)
    shown = "(secret)" if isinstance(value, Secret) else value
    try:
        run_msbox(conn, host, command, f"-set {address} {prop} {shown}")
    except HostFailed as error:
        if isinstance(value, Secret) and value.reveal() and value.reveal() in str(error):
            raise HostFailed(f"{host.name}: msbox -set {address} {prop} failed") from None
        raise


def clear_property(conn: Connection, host: Host, dialect: Dialect, address: str, prop: str) -> None:
    """Ensure `prop` is not set on the mailbox `address`, so it inherits the template."""
    run_msbox(conn, host, dialect.clear_command(address, prop), f"-clear {address} {prop}")
