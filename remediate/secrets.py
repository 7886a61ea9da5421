"""Secret values (passwords, vault keys) that never print themselves."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "********"


class Secret:
    """A string that shows as a mask in str(), repr(), format() and JSON dumps.

    Call `reveal()` at the single point where the clear value must leave the process
    (an Authorization header, an msbox -set argument).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = str(value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("Secret values cannot be pickled")


SECRET_KEY_SUFFIXES = ("_password", "_pass", ".password", "-password", "_passwd")
SECRET_KEYS = ("ansible_password", "ansible_become_password", "ansible_become_pass")


def is_secret_key(key: str) -> bool:
    """Whether an inventory variable name holds a secret by Ansible's naming."""
    lowered = key.lower()
    return (
        lowered in SECRET_KEYS
        or lowered.endswith(SECRET_KEY_SUFFIXES)
        or lowered in ("password", "passwd")
    )


def mask_value(value: object) -> object:
    """Replace Secret objects anywhere in a JSON-like value by the mask."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    return value


def mask_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping with every Secret inside it replaced by the mask."""
    return {str(k): mask_value(v) for k, v in value.items()}


_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(\b[\w.-]*(?:password|passwd|_pass|secret|token)\b['\"]?(?:\s*[=:]\s*|\s+))\S.*"
)


def mask_assignments(text: str) -> str:
    """Text quoting a user's line, with everything after a secret-named `key=` masked.

    For error messages that echo an inventory line or an -e value back.
    """
    return _SECRET_ASSIGNMENT.sub(lambda m: m.group(1) + MASK, text)
