"""Task arguments render per host with Ansible's precedence; errors name the argument's place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from remediate.errors import InputError
from remediate.model import Host
from remediate.playbook import Play, Playbook, TaskCall, render_args, render_hosts, render_task
from remediate.secrets import Secret
from remediate.tasks.base import TaskRegistry
from remediate.tasks.diagnostic import Ping

CANARY = "canary-Pw-41d9"


def load_play(tmp_path: Path, registry: TaskRegistry, text: str) -> Play:
    path = tmp_path / "site.yml"
    path.write_text(text, encoding="utf-8")
    return Playbook.load(path, registry).plays[0]


def one_task(tmp_path: Path, registry: TaskRegistry, args: str, vars_: str = "{}") -> Play:
    text = f"- hosts: all\n  vars: {vars_}\n  tasks:\n    - mailsite.reply_once: {args}\n"
    return load_play(tmp_path, registry, text)


def render_error(call: TaskCall, play: Play, host: Host, registry: TaskRegistry, **kw: Any) -> str:
    with pytest.raises(InputError) as caught:
        render_task(call, play, host, registry, **kw)
    return caught.value.location_line()


MAIL01 = Host("mail01.example.com", {"domain": "inventory.test", "who": "inv"}, ("mailservers",))


def test_precedence_inventory_then_play_then_extra(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(tmp_path, registry, '{mailbox: "{{ who }}@{{ domain }}"}', "{who: play}")
    call = play.tasks[0]
    task = render_task(call, play, MAIL01, registry)
    assert isinstance(task, registry.get("mailsite.reply_once"))  # type: ignore[arg-type]
    assert task.mailbox == "play@inventory.test"  # type: ignore[attr-defined]
    task = render_task(call, play, MAIL01, registry, extra_vars={"domain": "extra.test"})
    assert task.mailbox == "play@extra.test"  # type: ignore[attr-defined]


def test_magic_variables(tmp_path: Path, registry: TaskRegistry) -> None:
    args = (
        '{mailbox: "{{ inventory_hostname_short }}@x.test", '
        'options: ["{{ inventory_hostname }}", "{{ group_names }}", "{{ groups.mailservers }}"]}'
    )
    play = one_task(tmp_path, registry, args)
    host = Host("mail01.example.com", {}, ("all", "mailservers", "eu"))
    groups = {"all": ["mail01.example.com", "gw1"], "mailservers": ["mail01.example.com"]}
    rendered = render_args(play.tasks[0], play, host, groups=groups)
    assert rendered["mailbox"] == "mail01@x.test"
    assert rendered["options"] == [
        "mail01.example.com",
        ["eu", "mailservers"],
        ["mail01.example.com"],
    ]


def test_play_vars_may_use_other_vars(tmp_path: Path, registry: TaskRegistry) -> None:
    vars_ = '{box: "{{ user }}@{{ domain }}", user: abuse}'
    play = one_task(tmp_path, registry, '{mailbox: "{{ box }}"}', vars_)
    assert render_args(play.tasks[0], play, MAIL01)["mailbox"] == "abuse@inventory.test"


def test_single_expression_keeps_its_type(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(
        tmp_path,
        registry,
        '{mailbox: a@b.c, message: "{{ n * 2 }}", options: "{{ opts }}"}',
        "{n: 21, opts: {x: [1, 2]}}",
    )
    rendered = render_args(play.tasks[0], play, MAIL01)
    assert rendered["message"] == 42
    assert rendered["options"] == {"x": [1, 2]}


def test_undefined_variable_named_at_argument(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(tmp_path, registry, '{mailbox: "sales@{{ mail_domain }}"}')
    error = render_error(play.tasks[0], play, MAIL01, registry)
    assert error == (
        f"{tmp_path / 'site.yml'}:4:38: mail01.example.com: argument 'mailbox': "
        "undefined variable: 'mail_domain' is undefined"
    )


def test_undefined_inside_a_list_points_at_the_item(tmp_path: Path, registry: TaskRegistry) -> None:
    text = (
        "- hosts: all\n  tasks:\n    - mailsite.reply_once:\n        mailbox: a@b.c\n"
        '        options:\n          - fine\n          - "{{ nope }}"\n'
    )
    play = load_play(tmp_path, registry, text)
    assert render_error(play.tasks[0], play, MAIL01, registry).startswith(
        f"{tmp_path / 'site.yml'}:7:13: mail01.example.com: argument 'options': undefined variable"
    )


def test_argument_error_points_at_the_key(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(tmp_path, registry, '{mailbox: "{{ who }}"}')
    assert render_error(play.tasks[0], play, MAIL01, registry) == (
        f"{tmp_path / 'site.yml'}:4:38: mail01.example.com: mailsite.reply_once: "
        "'mailbox' must be name@domain, got 'inv'"
    )


def test_template_syntax_error(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(tmp_path, registry, '{mailbox: "{{ who "}')
    assert "template syntax error" in render_error(play.tasks[0], play, MAIL01, registry)


def test_secret_passes_through_whole(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(tmp_path, registry, '{mailbox: a@b.c, message: "{{ ansible_password }}"}')
    host = Host("mail01", {"ansible_password": Secret(CANARY)})
    rendered = render_args(play.tasks[0], play, host)
    assert isinstance(rendered["message"], Secret)
    assert rendered["message"].reveal() == CANARY


@pytest.mark.parametrize(
    "template",
    [
        "pw={{ ansible_password }}",
        "{{ ansible_password ~ '' }}",
        "{{ ansible_password | upper }}",
        "{{ ansible_password == 'x' }}",
        "{{ ansible_password.reveal() }}",
        "{{ ansible_password | list }}",
    ],
)
def test_secret_in_text_is_refused_without_leaking(
    tmp_path: Path, registry: TaskRegistry, template: str
) -> None:
    play = one_task(tmp_path, registry, f'{{mailbox: a@b.c, message: "{template}"}}')
    host = Host("mail01", {"ansible_password": Secret(CANARY)})
    error = render_error(play.tasks[0], play, host, registry)
    assert "secret variable 'ansible_password' cannot be interpolated into text" in error
    assert CANARY not in error


def test_secret_through_a_play_var_stays_opaque(tmp_path: Path, registry: TaskRegistry) -> None:
    vars_ = '{pw: "{{ ansible_password }}"}'
    whole = one_task(tmp_path, registry, '{mailbox: a@b.c, message: "{{ pw }}"}', vars_)
    host = Host("mail01", {"ansible_password": Secret(CANARY)})
    assert render_args(whole.tasks[0], whole, host)["message"] == Secret(CANARY)
    text = one_task(tmp_path, registry, '{mailbox: a@b.c, message: "pw={{ pw }}"}', vars_)
    error = render_error(text.tasks[0], text, host, registry)
    assert "secret variable 'pw' cannot be interpolated into text" in error
    assert CANARY not in error and "********" not in error


def test_self_referencing_vars_are_an_error(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(tmp_path, registry, '{mailbox: "{{ a }}"}', '{a: "{{ b }}", b: "{{ a }}"}')
    assert "refers to itself" in render_error(play.tasks[0], play, MAIL01, registry)


def test_sandbox_refuses_internals(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(tmp_path, registry, """{mailbox: "{{ ''.__class__.__mro__ }}"}""")
    assert "unsafe" in render_error(play.tasks[0], play, MAIL01, registry)


def test_huge_repetition_is_refused(tmp_path: Path, registry: TaskRegistry) -> None:
    play = one_task(tmp_path, registry, """{mailbox: "{{ 'a' * 100000000 }}"}""")
    assert "repetition too large" in render_error(play.tasks[0], play, MAIL01, registry)


def test_ping_argument_rendered_and_checked(tmp_path: Path, registry: TaskRegistry) -> None:
    text = '- hosts: all\n  tasks:\n    - diagnostic.ping:\n        data: "{{ word }}"\n'
    play = load_play(tmp_path, registry, text)
    call = play.tasks[0]
    ok = render_task(call, play, MAIL01, registry, extra_vars={"word": "hello-1"})
    assert ok == Ping(data="hello-1")
    bad = render_error(call, play, MAIL01, registry, extra_vars={"word": "x & whoami"})
    assert bad.startswith(f"{tmp_path / 'site.yml'}:4:15: mail01.example.com: diagnostic.ping: ")
    assert "argument 'data' must be" in bad


def test_hosts_pattern_renders_from_extra_vars(tmp_path: Path, registry: TaskRegistry) -> None:
    play = load_play(tmp_path, registry, "- hosts: \"{{ target | default('all') }}\"\n")
    assert render_hosts(play) == "all"
    assert render_hosts(play, {"target": "mail0*"}) == "mail0*"
