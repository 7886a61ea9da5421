"""`remediate lab up/down/state/exec/fault` as a user runs them, against a detached lab process."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import winrm
import yaml

from remediate.cli import main
from remediate.processes import pid_alive

pytestmark = pytest.mark.lab


@attrs.frozen
class Ran:
    returncode: int
    stdout: str
    stderr: str


def lab(*args: str) -> Ran:
    """Run `remediate lab ARGS` through the real entry point, in this process (fast)."""
    out, err = io.BytesIO(), io.BytesIO()
    text_out = io.TextIOWrapper(out, encoding="utf-8", newline="")
    text_err = io.TextIOWrapper(err, encoding="utf-8", newline="")
    with contextlib.redirect_stdout(text_out), contextlib.redirect_stderr(text_err):
        try:
            code = main(["lab", *args])
        except SystemExit as exc:
            code = int(exc.code or 0)
        text_out.flush()
        text_err.flush()
    return Ran(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("cli-lab")
    started = lab("up", "--dir", str(directory), "--hosts", "2", "--mailboxes", "4", "--detach")
    assert started.returncode == 0, started.stderr
    assert f"inventory: {directory / 'inventory.yml'}" in started.stdout
    try:
        yield directory
    finally:
        lab("down", "--dir", str(directory))


def _inventory(directory: Path) -> dict[str, dict[str, dict[str, object]]]:
    data = yaml.safe_load((directory / "inventory.yml").read_text())
    return {group: body["hosts"] for group, body in data["all"]["children"].items()}


def test_up_writes_an_ansible_inventory_alternating_protocols(lab_dir: Path) -> None:
    groups = _inventory(lab_dir)
    assert list(groups["mailsite"]) == ["mail001", "mail002"]
    assert list(groups["workstations"]) == ["ws001"]  # hosts/4, at least one
    mail001, mail002 = groups["mailsite"]["mail001"], groups["mailsite"]["mail002"]
    assert mail001["ansible_connection"] == "winrm"
    assert mail001["ansible_port"] == mail001["lab_winrm_port"]
    assert mail001["ansible_winrm_scheme"] == "https"
    assert mail001["ansible_winrm_transport"] == "basic"
    assert mail001["ansible_winrm_ca_trust_path"] == str(lab_dir / "ca.pem")
    assert mail001["ansible_winrm_server_cert_validation"] == "validate"
    assert mail002["ansible_connection"] == "ssh"
    assert mail002["ansible_shell_type"] == "cmd"
    assert mail002["ansible_port"] == mail002["lab_ssh_port"]
    assert mail002["remediate_known_hosts"] == str(lab_dir / "known_hosts")
    assert mail001["ansible_host"] == mail002["ansible_host"] == "127.0.0.1"
    assert mail001["ansible_user"] == "labadmin"
    assert (lab_dir / "control.token").stat().st_mode & 0o777 == 0o600


def test_inventory_values_reach_the_host_with_pywinrm(lab_dir: Path) -> None:
    host = _inventory(lab_dir)["mailsite"]["mail001"]
    session = winrm.Session(
        f"https://{host['ansible_host']}:{host['ansible_port']}/wsman",
        auth=(str(host["ansible_user"]), str(host["ansible_password"])),
        transport="ssl",
        ca_trust_path=str(host["ansible_winrm_ca_trust_path"]),
        proxy=None,
    )
    before = json.loads(lab("state", "--dir", str(lab_dir), "mail001").stdout)["counters"]
    assert session.run_cmd("hostname").std_out == b"mail001\r\n"
    state = lab("state", "--dir", str(lab_dir), "mail001")
    assert state.returncode == 0
    after = json.loads(state.stdout)["counters"]
    assert after["requests"] - before["requests"] == 5
    assert after["round_trips"] - before["round_trips"] == 1


def test_exec_prints_output_and_exits_with_the_rc(lab_dir: Path) -> None:
    ok = lab("exec", "--dir", str(lab_dir), "ws001", "--", "hostname")
    assert (ok.returncode, ok.stdout) == (0, "ws001\r\n")
    failed = lab("exec", "--dir", str(lab_dir), "ws001", "--", "type", "C:\\missing.txt")
    assert failed.returncode == 1
    assert "cannot find" in failed.stderr


def test_console_exec_is_not_client_traffic(lab_dir: Path) -> None:
    before = json.loads(lab("state", "--dir", str(lab_dir), "mail002").stdout)["counters"]
    lab("exec", "--dir", str(lab_dir), "mail002", "--", "hostname")
    after = json.loads(lab("state", "--dir", str(lab_dir), "mail002").stdout)["counters"]
    assert after == before


def test_fault_refuse_and_clear_seen_by_a_client(lab_dir: Path) -> None:
    port = int(_inventory(lab_dir)["mailsite"]["mail002"]["lab_ssh_port"])  # type: ignore[arg-type]
    assert lab("fault", "--dir", str(lab_dir), "mail002", "refuse").returncode == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    cleared = lab("fault", "--dir", str(lab_dir), "mail002", "clear")
    assert cleared.returncode == 0
    assert "refuse=False" in cleared.stdout
    socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("state", "mail999"), "unknown lab host 'mail999'"),
        (("fault", "mail001", "explode"), "bad fault spec 'explode'"),
        (("exec", "mail001"), "lab exec: give the command after `--`"),
    ],
)
def test_errors_are_one_line_and_exit_5(lab_dir: Path, args: tuple[str, ...], message: str) -> None:
    result = lab(args[0], "--dir", str(lab_dir), *args[1:])
    assert result.returncode == 5
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_second_up_in_the_same_dir_is_refused(lab_dir: Path) -> None:
    result = lab("up", "--dir", str(lab_dir), "--detach")
    assert result.returncode == 5
    assert "a lab is already running in" in result.stderr


def test_control_endpoint_needs_the_token(lab_dir: Path) -> None:
    port = json.loads((lab_dir / "control.json").read_text())["port"]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/down", data=b"{}", method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(request, timeout=10)
    assert refused.value.code == 403
    assert lab("state", "--dir", str(lab_dir), "ws001").returncode == 0  # still running


def test_bad_sizes_are_refused_before_anything_starts(tmp_path: Path) -> None:
    result = lab("up", "--dir", str(tmp_path), "--hosts", "0", "--detach")
    assert result.returncode == 5
    assert result.stderr.strip() == "the lab needs at least one host, and no negative counts"
    assert not (tmp_path / "lab.log").exists()


def test_no_lab_in_dir(tmp_path: Path) -> None:
    result = lab("state", "--dir", str(tmp_path), "mail001")
    assert result.returncode == 5
    assert result.stderr.strip().startswith(f"no lab in {tmp_path}")


def test_down_then_commands_say_the_lab_is_not_running(tmp_path: Path) -> None:
    assert lab("up", "--dir", str(tmp_path), "--hosts", "1", "--detach").returncode == 0
    pid = json.loads((tmp_path / "control.json").read_text())["pid"]
    down = lab("down", "--dir", str(tmp_path))
    assert down.returncode == 0
    assert not pid_alive(pid)
    result = lab("state", "--dir", str(tmp_path), "mail001")
    assert result.returncode == 5
    assert "is not running" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ctrl_c_stops_a_foreground_lab(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "remediate", "lab", "up", "--dir", str(tmp_path), "--hosts", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "ready").exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert lab("exec", "--dir", str(tmp_path), "mail001", "--", "hostname").returncode == 0
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "lab: stopped" in err
    assert not (tmp_path / "control.json").exists()


def test_ansible_reads_the_inventory(lab_dir: Path) -> None:
    tool = Path(sys.executable).with_name("ansible-inventory")
    if not tool.exists():
        pytest.skip("ansible-core is not installed")
    listed = subprocess.run(
        [str(tool), "-i", str(lab_dir / "inventory.yml"), "--list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["mailsite"]["hosts"] == ["mail001", "mail002"]
    assert data["workstations"]["hosts"] == ["ws001"]
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["mail002"]["ansible_connection"] == "ssh"
    assert hostvars["mail001"]["ansible_winrm_transport"] == "basic"


def test_exec_quotes_several_words_as_one_argv(lab_dir: Path) -> None:
    ran = lab(
        "exec",
        "--dir",
        str(lab_dir),
        "mail001",
        "--",
        "msbox",
        "-get",
        "sales & marketing@example.com",
    )
    # one msbox command whose argument is the whole name, no second command `marketing@...`
    assert (ran.returncode, ran.stdout, ran.stderr) == (1, "Mailbox not found\r\n", "")
    echoed = lab("exec", "--dir", str(lab_dir), "mail001", "--", "echo", 'a "b" & c')
    assert echoed.stdout == '"a \\"b\\" & c"\r\n'  # echo shows the MSVCRT-quoted argument
    assert "is not recognized" not in echoed.stderr


def test_exec_single_word_is_a_raw_command_line(lab_dir: Path) -> None:
    ran = lab("exec", "--dir", str(lab_dir), "mail001", "--", "echo a& echo b")
    assert ran.stdout == "a\r\nb\r\n"


def test_exec_exit_code_above_255_is_reported_not_truncated(lab_dir: Path) -> None:
    missing = lab("exec", "--dir", str(lab_dir), "mail001", "--", "nosuchprogram")
    assert missing.returncode == 1
    assert "remediate lab exec: exit code 9009" in missing.stderr
    big = lab("exec", "--dir", str(lab_dir), "mail001", "--", "exit 300")
    assert (big.returncode, big.stderr.strip()) == (1, "remediate lab exec: exit code 300")
    small = lab("exec", "--dir", str(lab_dir), "mail001", "--", "exit 7")
    assert small.returncode == 7


def test_exec_argv_with_a_quoted_program_path(lab_dir: Path) -> None:
    msbox = "C:\\Program Files\\Rockliffe\\MailSite\\msbox.exe"
    by_path = lab("exec", "--dir", str(lab_dir), "mail001", "--", msbox, "-domains")
    by_name = lab("exec", "--dir", str(lab_dir), "mail001", "--", "msbox", "-domains")
    assert by_path.returncode == by_name.returncode == 0, by_path.stderr
    assert by_path.stdout == by_name.stdout != ""
