"""Reading settings from the environment: one helper per type, each naming the variable when its value is wrong.

A bare `int(os.environ[...])` fails with "invalid literal for int() with base 10: '5O'" and a traceback into
settings.py; an operator who mistyped one of thirty variables then has to guess which. These raise
ImproperlyConfigured with the variable's name and the value found, and treat an unset or empty variable as unset.
"""

import os
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _parse(name: str, default, kind: type, description: str):
    value = _raw(name)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not {description}; fix or unset {name}.") from None


def env_int(name: str, default: int) -> int:
    return _parse(name, default, int, "a whole number")


def env_float(name: str, default: float) -> float:
    return _parse(name, default, float, "a number")


def env_money(name: str, default: str) -> Decimal:
    """An amount of money (e.g. 40 or 40.00): a Decimal with two places, never negative."""
    value = _raw(name)
    text = default if value is None else value
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise ImproperlyConfigured(f"{name}={value!r} is not an amount of money (e.g. 40.00); fix or unset {name}.")
    return amount.quantize(Decimal("0.01"))


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a yes/no value; use one of {', '.join(sorted(TRUE_WORDS | FALSE_WORDS))}."
    )


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]
