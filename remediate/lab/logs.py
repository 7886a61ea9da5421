"""Protocol logs (SMTP, POP3, IMAP) and the spool of a lab MailSite host, generated lazily."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import attrs

from remediate.lab.state import HostState

LOG_DAYS = 3
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
Emit = Callable[[int, str, list[str]], None]


@attrs.frozen
class Incident:
    """Hijack evidence planted in a host's logs (the ground truth the audit must find)."""

    hijacked: str | None = None  # account authenticating from many IPs and spamming
    hijack_ips: int = 0
    spam_messages: int = 0
    storm_target: str | None = None  # account under a failed-auth storm
    storm_ip: str = "203.0.113.66"
    storm_failures: int = 0
    spool_messages: int = 0
    trace_ip: str = ""  # the first spam session: what a blacklist report shows
    trace_message_id: str = ""

    def to_json(self) -> dict[str, object]:
        return attrs.asdict(self)


@attrs.frozen
class LogPlan:
    """What a host's logs contain: the normal users, the incident, the seed."""

    seed: str
    users: tuple[str, ...]
    incident: Incident
    day: dt.date


def install_logs(
    state: HostState,
    mailsite_dir: str,
    users: list[str],
    incident: Incident,
    seed: str,
    now: dt.datetime,
) -> None:
    """Register the logs of the LOG_DAYS days before `now` and the spool of `state`.

    The incident happens on the last day; log contents are built on first read.
    """
    for back in range(1, LOG_DAYS + 1):
        day = (now - dt.timedelta(days=back)).date()
        plan = LogPlan(f"{seed}:{day}", tuple(users), incident if back == 1 else Incident(), day)
        for service in ("SMTP", "POP3", "IMAP"):
            path = f"{mailsite_dir}\\Logs\\{service}-{day:%Y%m%d}.log"
            state.fs.write(path, _lazy(plan, service))
    rng = random.Random(f"{seed}:spool")
    for n in range(3 + incident.spool_messages):
        name = f"{mailsite_dir}\\Spool\\{rng.getrandbits(32):08X}{n:04d}.msg"
        spam = n >= 3 and incident.hijacked
        sender = incident.hijacked if spam else "newsletter@lab.example"
        victim = f"victim{rng.randrange(10**6)}@mailbox{n % 40}.example"
        to = victim if spam else "list@partner.example"
        state.fs.write(name, f"From: <{sender}>\r\nTo: <{to}>\r\n\r\n".encode())


def _lazy(plan: LogPlan, service: str) -> Callable[[], bytes]:
    def build() -> bytes:
        return render(plan, service).encode("utf-8")

    return build


def render(plan: LogPlan, service: str) -> str:
    """One day's log of one service: normal sessions plus the incident's, sorted by time."""
    rng = random.Random(f"{plan.seed}:{service}")
    events: list[tuple[int, str]] = []
    session = [rng.randrange(1000, 9000)]
    start = dt.datetime.combine(plan.day, dt.time(0, 0), tzinfo=dt.timezone.utc)

    def emit(second: int, ip: str, lines: list[str]) -> None:
        session[0] += 1
        for k, line in enumerate(lines):
            stamp = start + dt.timedelta(seconds=min(second + k, 86399))
            events.append(
                (second + k, f"{stamp:%Y-%m-%d %H:%M:%S} {service} {session[0]} {ip} {line}")
            )

    for user in plan.users:
        for _ in range(rng.randrange(1, 4)):
            emit(rng.randrange(0, 86000), _office_ip(rng), _normal(rng, service, user))
    _incident(plan.incident, rng, service, emit)
    events.sort(key=lambda e: e[0])
    return "".join(line + "\r\n" for _, line in events)


def _normal(rng: random.Random, service: str, user: str) -> list[str]:
    lines = ["CONNECT", f"AUTH-OK {user}"]
    if service == "SMTP":
        lines += [
            f"MAIL-FROM <{user}>",
            f"RCPT-TO <{_recipient(rng)}>",
            f"QUEUED <{rng.getrandbits(48):012x}@lab>",
        ]
    return lines + ["DISCONNECT"]


def _recipient(rng: random.Random) -> str:
    return f"contact{rng.randrange(100)}@partner{rng.randrange(20)}.example"


def _office_ip(rng: random.Random) -> str:
    return f"10.0.{rng.randrange(100, 110)}.{rng.randrange(1, 250)}"


def _incident(inc: Incident, rng: random.Random, service: str, emit: Emit) -> None:
    if inc.hijacked and service in ("SMTP", "IMAP"):
        for n in range(inc.hijack_ips):
            ip = f"{_public_prefix(n)}.{rng.randrange(1, 255)}"
            lines = ["CONNECT", f"AUTH-OK {inc.hijacked}"]
            if n == 0 and inc.trace_ip:
                ip = inc.trace_ip
            if service == "SMTP":
                per = max(1, inc.spam_messages // max(inc.hijack_ips, 1))
                for k in range(per):
                    message_id = f"{rng.getrandbits(48):012x}@lab"
                    if n == 0 and k == 0 and inc.trace_message_id:
                        message_id = inc.trace_message_id
                    lines += [
                        f"MAIL-FROM <{inc.hijacked}>",
                        f"RCPT-TO <victim{rng.randrange(10**6)}@mailbox{n}.example>",
                        f"QUEUED <{message_id}>",
                    ]
            emit(rng.randrange(40000, 80000), ip, lines + ["DISCONNECT"])
    if inc.storm_target and service in ("SMTP", "POP3"):
        for _ in range(inc.storm_failures // 2):
            emit(
                rng.randrange(3600, 7200),
                inc.storm_ip,
                ["CONNECT", f"AUTH-FAIL {inc.storm_target}", "DISCONNECT"],
            )


def _public_prefix(n: int) -> str:
    prefixes = (
        "198.51.100",
        "203.0.113",
        "192.0.2",
        "185.220.101",
        "45.155.205",
        "91.240.118",
        "103.75.201",
        "177.54.144",
        "41.216.186",
        "5.188.206",
    )
    return prefixes[n % len(prefixes)]
