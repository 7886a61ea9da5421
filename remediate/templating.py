"""Jinja2 rendering of task arguments the way Ansible users expect, secrets kept opaque."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateRuntimeError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from remediate.secrets import Secret

MAX_REPEAT = 1_000_000  # longest string or list `*` and `**` may build in a template
_MARKERS = ("{{", "{%", "{#")


class TemplateProblem(Exception):
    """A value could not be rendered. `path` says where inside it ("", ".key", "[0]")."""

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(message)


class SecretInterpolation(TemplateRuntimeError):
    """A template tried to read or convert a secret instead of passing it through whole."""


class _SecretRef(jinja2.StrictUndefined):
    """What a template sees in place of a Secret: every use except passing it on fails.

    The clear value never enters Jinja, so no error message or output can contain it.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: Secret, name: str) -> None:
        super().__init__(
            hint=f"secret variable '{name}' cannot be interpolated into text",
            name=name,
            exc=SecretInterpolation,
        )
        self._secret = secret


class _Environment(SandboxedEnvironment):
    """A sandbox that also bounds `*` and `**`, so one template cannot eat the machine."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int) and abs(right) > 1000 and not isinstance(left, float):
                raise SecurityError("exponent too large")
            return left**right
        for seq, count in ((left, right), (right, left)):
            sized = isinstance(seq, (str, list, tuple)) and isinstance(count, int)
            if sized and len(seq) * count > MAX_REPEAT:
                raise SecurityError("repetition too large")
        return left * right


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    if isinstance(value, _SecretRef):
        return value
    if isinstance(value, jinja2.Undefined) or (boolean and not value):
        return default_value
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


def _ternary(value: Any, true_value: Any, false_value: Any, none_value: Any = None) -> Any:
    if value is None and none_value is not None:
        return none_value
    return true_value if value else false_value


def _regex_replace(
    value: Any, pattern: str, replacement: str = "", ignorecase: bool = False
) -> str:
    flags = re.IGNORECASE if ignorecase else 0
    return re.sub(pattern, replacement, str(value), flags=flags)


def _mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, jinja2.Undefined) and not isinstance(value, _SecretRef):
        name = value._undefined_name
        raise jinja2.UndefinedError(msg or f"mandatory variable {name!r} is undefined")
    return value


def _build_environment() -> _Environment:
    env = _Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters.update(
        {
            "default": _default,
            "d": _default,
            "bool": _to_bool,
            "ternary": _ternary,
            "to_json": lambda value, **kw: json.dumps(value, **kw),
            "to_nice_json": lambda value: json.dumps(value, indent=4, sort_keys=True),
            "regex_replace": _regex_replace,
            "mandatory": _mandatory,
        }
    )
    env.tests["defined"] = lambda value: (
        not isinstance(value, jinja2.Undefined) or isinstance(value, _SecretRef)
    )
    env.tests["undefined"] = lambda value: (
        isinstance(value, jinja2.Undefined) and not isinstance(value, _SecretRef)
    )
    return env


ENVIRONMENT = _build_environment()


def has_template(text: str) -> bool:
    return any(marker in text for marker in _MARKERS)


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> tuple[jinja2.Template, bool]:
    """The compiled template, and whether it is one `{{ expression }}` (a native value)."""
    tree = ENVIRONMENT.parse(source)
    body = tree.body
    single = (
        len(body) == 1
        and isinstance(body[0], nodes.Output)
        and len(body[0].nodes) == 1
        and not isinstance(body[0].nodes[0], nodes.TemplateData)
        and source.startswith("{{")
        and source.endswith("}}")
    )
    if single:
        expression = body[0].nodes[0]  # type: ignore[attr-defined]
        tree = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression)])
        tree.set_environment(ENVIRONMENT)
    return ENVIRONMENT.from_string(tree), single


class Variables(Mapping[str, Any]):
    """Variables as a template sees them: rendered lazily (so vars may use vars), secrets opaque."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw
        self._resolved: dict[str, Any] = {}
        self._resolving: list[str] = []

    def __getitem__(self, name: str) -> Any:
        if name in self._resolved:
            return self._resolved[name]
        if name not in self._raw:
            if name in ENVIRONMENT.globals:
                return ENVIRONMENT.globals[name]
            raise KeyError(name)
        if name in self._resolving:
            chain = " -> ".join([*self._resolving[self._resolving.index(name) :], name])
            raise TemplateProblem(f"variable '{name}' refers to itself ({chain})")
        self._resolving.append(name)
        try:
            value = self._to_template(self._raw[name], name)
        except TemplateProblem as exc:
            raise TemplateProblem(f"in variable '{name}': {exc.message}") from None
        finally:
            self._resolving.pop()
        self._resolved[name] = value
        return value

    def __contains__(self, name: object) -> bool:
        return name in self._raw or name in ENVIRONMENT.globals

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def _to_template(self, value: Any, name: str) -> Any:
        if isinstance(value, Secret):
            return _SecretRef(value, name)
        if isinstance(value, str):
            if not has_template(value):
                return value
            # A var may render to a secret ("{{ ansible_password }}"): keep it opaque.
            return _opaque(_render_string(value, self), name)
        if isinstance(value, Mapping):
            return {key: self._to_template(item, f"{name}.{key}") for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._to_template(item, f"{name}[{i}]") for i, item in enumerate(value)]
        return value


def _opaque(value: Any, name: str) -> Any:
    """A rendered value as templates may see it again: every Secret inside it opaque."""
    if isinstance(value, Secret):
        return _SecretRef(value, name)
    if isinstance(value, Mapping):
        return {key: _opaque(item, f"{name}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_opaque(item, f"{name}[{i}]") for i, item in enumerate(value)]
    return value


def render(value: Any, variables: Variables) -> Any:
    """Render every string inside `value` (dicts and lists recursively); raise TemplateProblem."""
    if isinstance(value, str):
        return _render_string(value, variables) if has_template(value) else value
    if isinstance(value, Mapping):
        return {key: _nested(item, variables, f".{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nested(item, variables, f"[{i}]") for i, item in enumerate(value)]
    return value


def _nested(value: Any, variables: Variables, step: str) -> Any:
    try:
        return render(value, variables)
    except TemplateProblem as exc:
        raise TemplateProblem(exc.message, step + exc.path) from None


def _render_string(source: str, variables: Variables) -> Any:
    try:
        template, single = _compile(source)
        context = template.new_context(variables, shared=True)  # type: ignore[arg-type]
        if not single:
            return "".join(template.root_render_func(context))
        for _ in template.root_render_func(context):
            pass
        return _from_template(context.vars["result"])
    except TemplateProblem:
        raise
    except SecretInterpolation as exc:
        raise TemplateProblem(exc.message or "secret cannot be interpolated") from None
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(f"undefined variable: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(f"template error: {exc.message}") from None
    except RecursionError:
        raise TemplateProblem("template nested too deeply") from None
    except Exception as exc:  # filters and operators raise anything (1/0, int('x'), ...)
        raise TemplateProblem(f"template error: {type(exc).__name__}: {exc}") from None


def _from_template(value: Any) -> Any:
    """A native template result as plain data: secrets back, generators as lists."""
    if isinstance(value, _SecretRef):
        return value._secret
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, Mapping):
        return {key: _from_template(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_from_template(item) for item in value]
    if isinstance(value, (Iterator, range)):
        return [_from_template(item) for item in value]
    return value
