"""The example production inventory loads and resolves the connection each host group needs."""

from __future__ import annotations

from pathlib import Path

from remediate.inventory import Inventory

PRODUCTION = Path(__file__).parents[2] / "inventories" / "production.ini"


def test_groups_and_hosts() -> None:
    inv = Inventory.load([str(PRODUCTION)])
    assert [h.name for h in inv.select("mailsite")] == [
        "mail01.example.com",
        "mail02.example.com",
        "mail03.example.com",
    ]
    assert len(inv.select("workstations")) == 40
    assert [h.name for h in inv.select("gateways")] == ["gw01.example.com", "gw02.example.com"]
    assert len(inv.select("windows:!mailsite")) == 40


def test_connections_per_group() -> None:
    inv = Inventory.load([str(PRODUCTION)])
    mail = inv.get_host("mail01.example.com").connection
    assert (mail.connection, mail.winrm_scheme, mail.port, mail.winrm_transport) == (
        "winrm",
        "https",
        5986,
        "ntlm",
    )
    assert mail.winrm_cert_validation and mail.address == "192.0.2.10"
    assert mail.user == "EXAMPLE\\remediate-svc" and mail.shell_type == "cmd"
    workstation = inv.get_host("ws007.office.example.com").connection
    assert workstation.connection == "winrm" and workstation.port == 5986
    gateway = inv.get_host("gw02.example.com").connection
    assert (gateway.connection, gateway.port, gateway.user) == ("ssh", 22, "remediate")
    assert gateway.host_key_policy == "reject" and gateway.shell_type == "sh"


def test_no_password_is_shipped_and_a_second_source_supplies_it(tmp_path: Path) -> None:
    inv = Inventory.load([str(PRODUCTION)])
    assert all(host.connection.password is None for host in inv.hosts.values())
    secrets = tmp_path / "secrets.ini"
    secrets.write_text("[mailsite:vars]\nansible_password=Corr3ct-Horse\n")
    merged = Inventory.load([str(PRODUCTION), str(secrets)])
    password = merged.get_host("mail02.example.com").connection.password
    assert password is not None and password.reveal() == "Corr3ct-Horse"
    assert "Corr3ct-Horse" not in str(merged.list_json())
