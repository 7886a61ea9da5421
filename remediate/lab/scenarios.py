"""Seeded lab fleets: MailSite servers with every problem of MAILSITE.md, and workstations."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import random
import string
from collections.abc import Iterator

from remediate.lab.host import LabHost, install_windows
from remediate.lab.logs import TIME_FORMAT, Incident, install_logs
from remediate.lab.msbox import MSBOX_DIR
from remediate.lab.state import TEMPLATE, Domain, FirewallRule, HostState, Mailbox, Value

LAB_USER = "labadmin"
EGRESS_RULE = "Block outbound SMTP except mail servers"
ROLE_NAMES = (
    "test",
    "root",
    "admin",
    "administrator",
    "sales",
    "info",
    "support",
    "webmaster",
    "guest",
    "demo",
    "user",
    "office",
    "noreply",
    "abuse",
    "postmaster",
)
# Most hostile first: a small mail001 still gets the worst of them.
HOSTILE_NAMES = (
    "a&b^c%d!e\"f'g(h)",
    "sales & marketing",
    "x%PATH%y",
    "josé.müller",
    "john smith",
    'quote"name',
    "o'brien",
    "caret^name",
    "bang!name!",
    "(paren)name",
    "100%",
    "日本語",
)
COMMON_PASSWORDS = (
    "password",
    "123456",
    "qwerty",
    "letmein",
    "welcome1",
    "Passw0rd",
    "abc123",
    "iloveyou",
    "summer2024",
    "changeme",
)
FIRST = (
    "anna",
    "ben",
    "carla",
    "david",
    "emma",
    "felix",
    "greta",
    "hugo",
    "ida",
    "jonas",
    "karl",
    "lena",
    "mia",
    "noah",
    "olga",
    "paul",
    "rosa",
    "sven",
    "tina",
    "uwe",
)
LAST = (
    "adams",
    "baker",
    "clark",
    "davis",
    "evans",
    "fischer",
    "garcia",
    "hall",
    "ivanov",
    "jones",
    "king",
    "lopez",
    "meyer",
    "nash",
    "ortiz",
    "price",
    "quinn",
    "reed",
)
DOMAIN_SHAPES = ("example{}.com", "example{}.org", "shop.example{}.net")
DORMANT_DAYS = 90


def lab_password(seed: int) -> str:
    """The lab's `labadmin` password for a seed: deterministic and strong."""
    digest = hashlib.sha256(f"remediate-lab:{seed}".encode()).hexdigest()
    return f"Lab-{digest[:8]}-{digest[8:16].upper()}-9x"


def mail_ip(index: int) -> str:
    return f"10.0.{1 + (index - 1) // 250}.{(index - 1) % 250 + 1}"


def workstation_ip(index: int) -> str:
    return f"10.0.{100 + (index - 1) // 250}.{(index - 1) % 250 + 1}"


def lab_now() -> dt.datetime:
    """The lab's "now": the start of the current UTC day, fixed for the whole process.

    Dates are relative to it, so accounts used "10 days ago" stay in use whenever the
    tests run; pass `now=` to build_fleet for a fleet that never changes.
    """
    return _PROCESS_NOW


_PROCESS_NOW = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def build_fleet(
    hosts: int, workstations: int, mailboxes: int, seed: int, now: dt.datetime | None = None
) -> list[LabHost]:
    """MailSite servers mail001.. then workstations ws001.., all deterministic from `seed`."""
    when = now or lab_now()
    fleet = [build_mailsite(i, mailboxes, seed, when) for i in range(1, hosts + 1)]
    mail_ips = [mail_ip(i) for i in range(1, hosts + 1)]
    fleet += [build_workstation(i, mail_ips, seed) for i in range(1, workstations + 1)]
    return fleet


# ---------------------------------------------------------------- MailSite servers

Target = tuple[Domain, Mailbox]


def build_mailsite(index: int, mailboxes: int, seed: int, now: dt.datetime) -> LabHost:
    name = f"mail{index:03d}"
    planter = Planter(random.Random(f"{seed}:{name}"), now, everything=index == 1)
    state = HostState(name, "mailsite", mail_ip(index), LAB_USER)
    install_windows(state)
    state.firewall += [
        FirewallRule("MailSite SMTP (TCP-In)", "In", "Allow", "TCP", localport="25"),
        FirewallRule("MailSite IMAP (TCP-In)", "In", "Allow", "TCP", localport="143,993"),
        FirewallRule("MailSite POP3 (TCP-In)", "In", "Allow", "TCP", localport="110,995"),
        FirewallRule(
            "Windows Remote Management (HTTP-In)",
            "In",
            "Allow",
            "TCP",
            localport="5985",
            grouping="Windows Remote Management",
        ),
    ]
    domains = planter.domains(state, index)
    planter.populate(domains, mailboxes, index)
    planter.plant_problems(domains)
    incident = planter.incident(domains, f"{seed}:{name}")
    planter.truth["incident"] = incident.to_json()
    planter.truth["now"] = now.strftime(TIME_FORMAT)
    users = [
        f"{m.name}@{d.name}"
        for d in domains
        for m in d.mailboxes.values()
        if "LastLogin" in m.properties
    ][:60]
    install_logs(state, MSBOX_DIR, users, incident, f"{seed}:{name}", now)
    state.truth = {
        k: (sorted(v) if isinstance(v, list) else v) for k, v in sorted(planter.truth.items())
    }
    return LabHost(state)


class Planter:
    """Builds one MailSite host's domains and mailboxes and plants its problems.

    `everything` (mail001) plants every kind of problem; other hosts get a random share.
    `truth` records what was planted: the answers the tasks and the audit must find.
    """

    def __init__(self, rng: random.Random, now: dt.datetime, everything: bool) -> None:
        self.rng = rng
        self.now = now
        self.everything = everything
        self.chance = 1.0 if everything else 0.5
        self.truth: dict[str, object] = {
            "weak_passwords": {},
            "templates_without_reply_once": [],
            "reply_once_off": [],
            "reply_once_explicit_on": [],
            "dormant_role_accounts": [],
            "already_login_disabled": [],
            "hostile_mailboxes": [],
        }

    def note(self, key: str, item: str, reason: str = "") -> None:
        bucket = self.truth[key]
        if isinstance(bucket, dict):
            bucket[item] = reason
        elif isinstance(bucket, list) and item not in bucket:
            bucket.append(item)

    def login(self, days_ago: int) -> str:
        when = self.now - dt.timedelta(days=days_ago, seconds=self.rng.randrange(1, 86400))
        return when.strftime(TIME_FORMAT)

    def pick(self, items: list[Target]) -> Target | None:
        return self.rng.choice(items) if items else None

    # -- domains and mailboxes
    def domains(self, state: HostState, index: int) -> list[Domain]:
        rng = self.rng
        count = 3 if index == 1 else rng.choice((2, 3))
        tag = "" if index == 1 else str(index)
        domains = []
        for k, shape in enumerate(DOMAIN_SHAPES[:count]):
            domain = state.add_domain(shape.format(tag))
            template = domain.template.properties
            template["EnableAutoReply"] = 0
            # Mixed fleet: the first domain of mail001 already has ReplyOnce, the others not.
            if (k == 0) if index == 1 else rng.random() < 0.4:
                template["ReplyOnce"] = 1
            else:
                self.note("templates_without_reply_once", domain.name)
            if (k != 1) if index == 1 else rng.random() < 0.5:
                template["MinPasswordLength"] = 8
            domains.append(domain)
        return domains

    def populate(self, domains: list[Domain], total: int, index: int) -> None:
        """abuse and postmaster everywhere, some role accounts and persons, hostile names."""
        rng = self.rng
        names: list[tuple[Domain, str]] = []
        for domain in domains:
            names += [(domain, "abuse"), (domain, "postmaster")]
        roles = [r for r in ROLE_NAMES if r not in ("abuse", "postmaster")]
        first = ["test", "sales", "admin", "info"] if index == 1 else rng.sample(roles, 4)
        names += [(rng.choice(domains), r) for r in first]
        persons = _persons(rng)
        names += [(rng.choice(domains), next(persons)) for _ in range(5)]
        hostile = HOSTILE_NAMES if index == 1 else rng.sample(HOSTILE_NAMES, 2)
        names += [(rng.choice(domains), n) for n in hostile]
        extra = [r for r in roles if r not in first]
        names += [(rng.choice(domains), r) for r in rng.sample(extra, 3)]
        while len(names) < total:
            names.append((rng.choice(domains), next(persons)))
        for domain, mailbox_name in names[:total]:
            if domain.find(mailbox_name) is None:
                domain.add(self.mailbox(mailbox_name))

    def mailbox(self, name: str) -> Mailbox:
        rng = self.rng
        props: dict[str, Value] = {
            "Password": _strong_password(rng),
            "FullName": name.replace(".", " ").title(),
            "LastLogin": self.login(rng.randrange(0, 30)),
        }
        if rng.random() < 0.15:
            props["EnableAutoReply"] = 1
            props["Message"] = "I am out of the office."
            props["NoReplyTo"] = ("mailer-daemon@*", "noreply@*")
        if rng.random() < 0.05:
            props["ForwardTo"] = f"{name.split(' ')[0]}@partner.example"
        return Mailbox(name, props)

    # -- problems
    def plant_problems(self, domains: list[Domain]) -> None:
        """Weak passwords, reply-once overrides, dormant role accounts."""
        boxes = [(d, m) for d in domains for m in d.mailboxes.values() if m.name != TEMPLATE]
        persons = [(d, m) for d, m in boxes if "." in m.name and m.name not in HOSTILE_NAMES]
        hostile = [(d, m) for d, m in boxes if m.name in HOSTILE_NAMES]
        for target in hostile:
            self.note("hostile_mailboxes", _address(*target))
        self.weak_passwords(boxes, persons, hostile)
        self.overrides(persons, hostile)
        self.dormant(boxes)
        for domain, mailbox in persons:
            if self.rng.random() < 0.04:  # scales with M
                self.weaken((domain, mailbox), "common", self.rng.choice(COMMON_PASSWORDS))

    def weak_passwords(
        self, boxes: list[Target], persons: list[Target], hostile: list[Target]
    ) -> None:
        by_name = {m.name: (d, m) for d, m in boxes}
        plans = [
            ("empty", by_name.get("test") or self.pick(persons), ""),
            (
                "common",
                by_name.get("sales") or self.pick(persons),
                self.rng.choice(COMMON_PASSWORDS),
            ),
            ("name", self.pick(persons), None),
            ("common", by_name.get("sales & marketing") or self.pick(hostile), "letmein"),
        ]
        for reason, target, password in plans:
            if target is not None and self.rng.random() < self.chance:
                self.weaken(target, reason, password)
        short = [(d, m) for d, m in persons if d.template.properties.get("MinPasswordLength")]
        if short and self.rng.random() < self.chance:
            self.weaken(self.pick(short), "short", "abc12")

    def weaken(self, target: Target | None, reason: str, password: str | None) -> None:
        if target is None:
            return
        domain, mailbox = target
        mailbox.properties["Password"] = mailbox.name if password is None else password
        self.note("weak_passwords", _address(domain, mailbox), reason)

    def overrides(self, persons: list[Target], hostile: list[Target]) -> None:
        for target in (self.pick(persons), self.pick(hostile)):
            if target is not None and self.rng.random() < self.chance:
                target[1].properties.update(
                    EnableAutoReply=1, ReplyOnce=0, Message="Back on Monday."
                )
                self.note("reply_once_off", _address(*target))
        on = self.pick([p for p in persons if p[1].properties.get("ReplyOnce") is None])
        if on is not None and self.rng.random() < self.chance:
            on[1].properties.update(EnableAutoReply=1, ReplyOnce=1)
            self.note("reply_once_explicit_on", _address(*on))

    def dormant(self, boxes: list[Target]) -> None:
        rng = self.rng
        for domain, mailbox in boxes:
            # `info` stays in use on mail001: a role account that is not dormant.
            if (
                mailbox.name not in ROLE_NAMES
                or rng.random() >= self.chance
                or (self.everything and mailbox.name == "info")
            ):
                continue
            if rng.random() < 0.3:
                mailbox.properties.pop("LastLogin", None)  # never logged in
            else:
                mailbox.properties["LastLogin"] = self.login(rng.randrange(DORMANT_DAYS + 1, 900))
            self.note("dormant_role_accounts", _address(domain, mailbox))
            # Now and then someone already disabled it (the task must see nothing to do).
            if not self.everything and rng.random() < 0.2:
                mailbox.properties["LoginDisabled"] = 1
                self.note("already_login_disabled", _address(domain, mailbox))

    # -- hijack evidence
    def incident(self, domains: list[Domain], seed: str) -> Incident:
        rng = self.rng
        if not self.everything and rng.random() >= 0.3:
            return Incident()
        persons = [
            f"{m.name}@{d.name}"
            for d in domains
            for m in d.mailboxes.values()
            if "." in m.name and m.name not in HOSTILE_NAMES
        ]
        targets = [
            f"{m.name}@{d.name}"
            for d in domains
            for m in d.mailboxes.values()
            if m.name in ("admin", "administrator", "root", "info")
        ]
        if not persons:
            return Incident()
        digest = hashlib.sha256(f"{seed}:trace".encode()).hexdigest()
        return Incident(
            hijacked=rng.choice(persons),
            hijack_ips=rng.randrange(12, 25),
            spam_messages=rng.randrange(400, 900),
            storm_target=rng.choice(targets or persons),
            storm_failures=rng.randrange(300, 600),
            spool_messages=rng.randrange(500, 900),
            trace_ip=f"198.51.100.{int(digest[:2], 16) % 250 + 1}",
            trace_message_id=f"{digest[2:14]}@lab",
        )


def _persons(rng: random.Random) -> Iterator[str]:
    serial = 0
    while True:
        serial += 1
        yield f"{rng.choice(FIRST)}.{rng.choice(LAST)}{serial}"


def _strong_password(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.+"
    return "".join(rng.choice(alphabet) for _ in range(18)) + "aZ7"


def _address(domain: Domain, mailbox: Mailbox) -> str:
    return f"{mailbox.name}@{domain.name}"


# ---------------------------------------------------------------- workstations


def build_workstation(index: int, mail_ips: list[str], seed: int) -> LabHost:
    name = f"ws{index:03d}"
    rng = random.Random(f"{seed}:{name}")
    state = HostState(name, "workstation", workstation_ip(index), LAB_USER)
    install_windows(state)
    state.firewall += [
        FirewallRule(
            "Core Networking - DNS (UDP-Out)",
            "Out",
            "Allow",
            "UDP",
            remoteport="53",
            grouping="Core Networking",
        ),
        FirewallRule(
            "Remote Desktop - User Mode (TCP-In)",
            "In",
            "Allow",
            "TCP",
            localport="3389",
            grouping="Remote Desktop",
        ),
        FirewallRule(
            "Windows Remote Management (HTTP-In)",
            "In",
            "Allow",
            "TCP",
            localport="5985",
            grouping="Windows Remote Management",
        ),
    ]
    has_rule = index % 3 == 0 and rng.random() < 0.9
    if has_rule and mail_ips:
        state.firewall.append(
            FirewallRule(
                EGRESS_RULE,
                "Out",
                "Block",
                "TCP",
                remoteport="25",
                remoteip=complement(mail_ips),
                profiles="Domain,Private,Public",
            )
        )
    state.truth = {"egress_block_rule": has_rule and bool(mail_ips)}
    return LabHost(state)


def complement(addresses: list[str]) -> str:
    """Every IPv4 and IPv6 address except `addresses`, as netsh ranges."""
    ips = sorted({int(ipaddress.IPv4Address(a)) for a in addresses})
    ranges, low = [], 0
    for ip in ips:
        if ip > low:
            ranges.append(f"{ipaddress.IPv4Address(low)}-{ipaddress.IPv4Address(ip - 1)}")
        low = ip + 1
    if low <= 0xFFFFFFFF:
        ranges.append(f"{ipaddress.IPv4Address(low)}-255.255.255.255")
    ranges.append("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
    return ",".join(ranges)
