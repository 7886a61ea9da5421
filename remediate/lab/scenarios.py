"""Seeded lab fleets: MailSite servers with every problem of MAILSITE.md, and workstations."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import random
import string
from collections.abc import Iterator

from remediate.lab.host import LabHost, install_windows
from remediate.lab.logs import LAB_NOW, Incident, install_logs
from remediate.lab.msbox import MSBOX_DIR
from remediate.lab.state import Domain, FirewallRule, HostState, Mailbox

LAB_USER = "labadmin"
EGRESS_RULE = "Block outbound SMTP except mail servers"
ROLE_NAMES = ("test", "root", "admin", "administrator", "sales", "info", "support",
              "webmaster", "guest", "demo", "user", "office", "noreply", "abuse", "postmaster")
# Most hostile first: a small mail001 still gets the worst of them.
HOSTILE_NAMES = (
    "a&b^c%d!e\"f'g(h)", "sales & marketing", "x%PATH%y", "josé.müller", "john smith",
    'quote"name', "o'brien", "caret^name", "bang!name!", "(paren)name", "100%", "日本語",
)
COMMON_PASSWORDS = ("password", "123456", "qwerty", "letmein", "welcome1", "Passw0rd",
                    "abc123", "iloveyou", "summer2024", "changeme")
FIRST = ("anna", "ben", "carla", "david", "emma", "felix", "greta", "hugo", "ida", "jonas",
         "karl", "lena", "mia", "noah", "olga", "paul", "rosa", "sven", "tina", "uwe")
LAST = ("adams", "baker", "clark", "davis", "evans", "fischer", "garcia", "hall", "ivanov",
        "jones", "king", "lopez", "meyer", "nash", "ortiz", "price", "quinn", "reed")
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


def build_fleet(hosts: int, workstations: int, mailboxes: int, seed: int) -> list[LabHost]:
    """MailSite servers mail001.. then workstations ws001.., all deterministic from `seed`."""
    fleet = [build_mailsite(i, mailboxes, seed) for i in range(1, hosts + 1)]
    mail_ips = [mail_ip(i) for i in range(1, hosts + 1)]
    fleet += [build_workstation(i, mail_ips, seed) for i in range(1, workstations + 1)]
    return fleet


# ---------------------------------------------------------------- MailSite servers


def build_mailsite(index: int, mailboxes: int, seed: int) -> LabHost:
    name = f"mail{index:03d}"
    rng = random.Random(f"{seed}:{name}")
    state = HostState(name, "mailsite", mail_ip(index), LAB_USER)
    install_windows(state)
    truth = _new_truth()
    domains = _domains(state, index, rng, truth)
    _populate(domains, mailboxes, index, rng)
    _plant_problems(domains, index == 1, rng, truth)
    _random_weakness(domains, rng, truth)
    incident = _incident(domains, index == 1, rng)
    truth["incident"] = incident.to_json()
    users = [f"{m.name}@{d.name}" for d in domains for m in d.mailboxes.values()
             if "LastLogin" in m.properties][:60]
    install_logs(state, MSBOX_DIR, users, incident, f"{seed}:{name}")
    state.truth = _sorted_truth(truth)
    return LabHost(state)


def _new_truth() -> dict[str, object]:
    return {"weak_passwords": {}, "templates_without_reply_once": [], "reply_once_off": [],
            "reply_once_explicit_on": [], "dormant_role_accounts": [], "hostile_mailboxes": []}


def _sorted_truth(truth: dict[str, object]) -> dict[str, object]:
    return {k: (sorted(v) if isinstance(v, list) else v) for k, v in sorted(truth.items())}


def _domains(state: HostState, index: int, rng: random.Random,
             truth: dict[str, object]) -> list[Domain]:
    count = 3 if index == 1 else rng.choice((2, 3))
    tag = "" if index == 1 else str(index)
    domains = []
    for k, shape in enumerate(DOMAIN_SHAPES[:count]):
        domain = state.add_domain(shape.format(tag))
        template = domain.template.properties
        template["EnableAutoReply"] = 0
        # Mixed fleet: the first domain of mail001 already has ReplyOnce, the second not.
        if (k == 0) if index == 1 else rng.random() < 0.4:
            template["ReplyOnce"] = 1
        else:
            _note(truth, "templates_without_reply_once", domain.name)
        if (k != 1) if index == 1 else rng.random() < 0.5:
            template["MinPasswordLength"] = 8
        domains.append(domain)
    return domains


def _note(truth: dict[str, object], key: str, item: str, reason: str | None = None) -> None:
    bucket = truth[key]
    if isinstance(bucket, dict):
        bucket[item] = reason or ""
    elif isinstance(bucket, list) and item not in bucket:
        bucket.append(item)


def _populate(domains: list[Domain], total: int, index: int, rng: random.Random) -> None:
    """abuse and postmaster everywhere, a few role accounts and persons, then hostile names."""
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
            domain.add(_mailbox(mailbox_name, rng))


def _persons(rng: random.Random) -> Iterator[str]:
    serial = 0
    while True:
        serial += 1
        yield f"{rng.choice(FIRST)}.{rng.choice(LAST)}{serial}"


def _mailbox(name: str, rng: random.Random) -> Mailbox:
    props: dict[str, object] = {
        "Password": _strong_password(rng),
        "FullName": name.replace(".", " ").title(),
        "LastLogin": _login(rng.randrange(0, 30), rng),
    }
    if rng.random() < 0.15:
        props["EnableAutoReply"] = 1
        props["Message"] = "I am out of the office."
        props["NoReplyTo"] = ("mailer-daemon@*", "noreply@*")
    if rng.random() < 0.05:
        props["ForwardTo"] = f"{name.split(' ')[0]}@partner.example"
    return Mailbox(name, props)  # type: ignore[arg-type]


def _strong_password(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.+"
    return "".join(rng.choice(alphabet) for _ in range(18)) + "aZ7"


def _login(days_ago: int, rng: random.Random) -> str:
    when = LAB_NOW - dt.timedelta(days=days_ago, seconds=rng.randrange(86400))
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _address(domain: Domain, mailbox: Mailbox) -> str:
    return f"{mailbox.name}@{domain.name}"


def _plant_problems(domains: list[Domain], everything: bool, rng: random.Random,
                    truth: dict[str, object]) -> None:
    """Weak passwords, reply-once overrides, dormant role accounts (all of them on mail001)."""
    chance = 1.0 if everything else 0.5
    boxes = [(d, m) for d in domains for m in d.mailboxes.values() if m.name != "MailboxTemplate"]
    persons = [(d, m) for d, m in boxes if "." in m.name and m.name not in HOSTILE_NAMES]
    by_name = {m.name: (d, m) for d, m in boxes}
    hostile = [(d, m) for d, m in boxes if m.name in HOSTILE_NAMES]
    for d, m in hostile:
        _note(truth, "hostile_mailboxes", _address(d, m))
    plans = [
        ("empty", by_name.get("test") or _pick(persons, rng), ""),
        ("common", by_name.get("sales") or _pick(persons, rng), rng.choice(COMMON_PASSWORDS)),
        ("name", _pick(persons, rng), None),
        ("common", by_name.get("sales & marketing") or _pick(hostile, rng), "letmein"),
    ]
    for reason, target, password in plans:
        if target is not None and rng.random() < chance:
            _weaken(target, reason, password, truth)
    short = [(d, m) for d, m in persons if d.template.properties.get("MinPasswordLength")]
    if short and rng.random() < chance:
        _weaken(_pick(short, rng), "short", "abc12", truth)
    _plant_overrides(persons, hostile, chance, rng, truth)
    _plant_dormant(boxes, chance, rng, truth)


def _pick(items: list[tuple[Domain, Mailbox]],
          rng: random.Random) -> tuple[Domain, Mailbox] | None:
    return rng.choice(items) if items else None


def _weaken(target: tuple[Domain, Mailbox] | None, reason: str, password: str | None,
            truth: dict[str, object]) -> None:
    if target is None:
        return
    domain, mailbox = target
    mailbox.properties["Password"] = mailbox.name if password is None else password
    _note(truth, "weak_passwords", _address(domain, mailbox), reason)


def _plant_overrides(persons: list[tuple[Domain, Mailbox]], hostile: list[tuple[Domain, Mailbox]],
                     chance: float, rng: random.Random, truth: dict[str, object]) -> None:
    off = [_pick(persons, rng), _pick(hostile, rng)]
    for target in off:
        if target is not None and rng.random() < chance:
            target[1].properties.update(EnableAutoReply=1, ReplyOnce=0,
                                        Message="Back on Monday.")
            _note(truth, "reply_once_off", _address(*target))
    on = _pick([p for p in persons if p[1].properties.get("ReplyOnce") is None], rng)
    if on is not None and rng.random() < chance:
        on[1].properties.update(EnableAutoReply=1, ReplyOnce=1)
        _note(truth, "reply_once_explicit_on", _address(*on))


def _plant_dormant(boxes: list[tuple[Domain, Mailbox]], chance: float, rng: random.Random,
                   truth: dict[str, object]) -> None:
    for domain, mailbox in boxes:
        # `info` stays in use on mail001: a role account that is not dormant.
        if mailbox.name not in ROLE_NAMES or rng.random() >= chance or (
            chance == 1.0 and mailbox.name == "info"
        ):
            continue
        if rng.random() < 0.3:
            mailbox.properties.pop("LastLogin", None)   # never logged in
        else:
            days = rng.randrange(DORMANT_DAYS + 1, 900)
            mailbox.properties["LastLogin"] = _login(days, rng)
        _note(truth, "dormant_role_accounts", _address(domain, mailbox))


def _random_weakness(domains: list[Domain], rng: random.Random,
                     truth: dict[str, object]) -> None:
    """About 4% of ordinary mailboxes with a common password (it scales with M)."""
    for domain in domains:
        for mailbox in domain.mailboxes.values():
            if "." in mailbox.name and mailbox.name not in HOSTILE_NAMES and rng.random() < 0.04:
                _weaken((domain, mailbox), "common", rng.choice(COMMON_PASSWORDS), truth)


def _incident(domains: list[Domain], everything: bool, rng: random.Random) -> Incident:
    if not everything and rng.random() >= 0.3:
        return Incident()
    persons = [f"{m.name}@{d.name}" for d in domains for m in d.mailboxes.values()
               if "." in m.name and m.name not in HOSTILE_NAMES]
    targets = [f"{m.name}@{d.name}" for d in domains for m in d.mailboxes.values()
               if m.name in ("admin", "administrator", "root", "info")]
    if not persons:
        return Incident()
    return Incident(
        hijacked=rng.choice(persons),
        hijack_ips=rng.randrange(12, 25),
        spam_messages=rng.randrange(400, 900),
        storm_target=rng.choice(targets or persons),
        storm_failures=rng.randrange(300, 600),
        spool_messages=rng.randrange(500, 900),
    )


# ---------------------------------------------------------------- workstations


def build_workstation(index: int, mail_ips: list[str], seed: int) -> LabHost:
    name = f"ws{index:03d}"
    rng = random.Random(f"{seed}:{name}")
    state = HostState(name, "workstation", workstation_ip(index), LAB_USER)
    install_windows(state)
    state.firewall += [
        FirewallRule("Core Networking - DNS (UDP-Out)", "Out", "Allow", "UDP",
                     remoteport="53", grouping="Core Networking"),
        FirewallRule("Remote Desktop - User Mode (TCP-In)", "In", "Allow", "TCP",
                     localport="3389", grouping="Remote Desktop"),
        FirewallRule("Windows Remote Management (HTTP-In)", "In", "Allow", "TCP",
                     localport="5985", grouping="Windows Remote Management"),
    ]
    has_rule = index % 3 == 0 and rng.random() < 0.9
    if has_rule and mail_ips:
        state.firewall.append(FirewallRule(
            EGRESS_RULE, "Out", "Block", "TCP", remoteport="25",
            remoteip=complement(mail_ips), profiles="Domain,Private,Public"))
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
