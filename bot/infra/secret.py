"""A wrapper that keeps secret values out of reprs, logs and tracebacks."""

from __future__ import annotations

from typing import NoReturn


class Secret:
    """Holds a secret string; ``str``/``repr`` are masked.

    Call :meth:`reveal` only where the plain value is really needed
    (encryption, the Paddle call, the Slack client).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def hint(self) -> str:
        """The last four characters, the only part ever shown to people."""
        return self._value[-4:]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # never pickled into caches or task queues by accident
        raise TypeError("Secret values cannot be pickled")
