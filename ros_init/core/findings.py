"""Locations and findings: what validation reports.

Plain named tuples rather than dataclasses on purpose: ``ros-init validate`` and every boot
import this module, and ``dataclasses`` pulls in ``inspect`` and ``ast``, which cost more
at start-up than validating a typical config (measured with ``python -X importtime``).
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")


class Location(namedtuple("Location", "file line column")):
    """A position in a source file; line and column count from 1."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Finding(namedtuple("Finding", "severity code path message location", defaults=(None,))):
    """One problem found in a config, located and phrased for the person who fixes it.

    ``severity`` is "error" or "warning"; ``path`` names the element (``users[0].lock_passwd``);
    ``code`` is a stable identifier for tools (``unknown-key``, ``type``, ``yaml-syntax`` ...).
    A finding never holds the value of a secret field.
    """

    __slots__ = ()

    def render(self) -> str:
        from ros_init.core.printable import printable

        where = str(self.location) if self.location else "<config>"
        path = f"{self.path}: " if self.path else ""
        return printable(f"{where}: {self.severity}: {path}{self.message}")

    def as_dict(self) -> dict:
        loc = self.location
        return {
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "severity": self.severity,
            "code": self.code,
            "path": self.path,
            "message": self.message,
        }


class SpecError(ValueError):
    """A value a stage's ``parse`` refuses: ``path`` names the element (``users[0].gecos``),
    the message says why and never holds a secret value. ``validate`` and ``run`` turn it
    into a located ``Finding`` through the document positions."""

    def __init__(self, message: str, path: str = "") -> None:
        if not path and ": " in message:  # "users[1].gecos: ..." names its own path
            head, rest = message.split(": ", 1)
            if head and " " not in head:
                path, message = head, rest
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class SpecErrors(SpecError):
    """Every refusal of one ``parse``, in config order (``errors``): ``validate`` lists them
    all, located, rather than the first one only. Its own text is the first refusal's."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = tuple(errors)
        super().__init__(self.errors[0].message, self.errors[0].path)


class Refusals:
    """Collects the refusals of a ``parse`` item after item, so that one bad item does not
    hide the next: ``attempt`` runs one check and records what it refuses, ``check`` raises
    them all at the end (one refusal is raised as it was, several as ``SpecErrors``).

    ``also``: exception types of a domain parser that are refusals too (their text starts
    with the config path, ``"disks[0].layout: ..."``)."""

    def __init__(self, *also: type[Exception]) -> None:
        self.errors: list[SpecError] = []
        self._raised: list[Exception] = []
        self._catches = (ValueError, *also)

    def attempt(self, check: Callable[..., T], *args: Any, default: Any = None, **kwargs: Any) -> T | Any:
        """``check(*args, **kwargs)``, or ``default`` when it refuses (the refusal is recorded). A
        domain parser's ValueError ("path: why") is read as a SpecError."""
        try:
            return check(*args, **kwargs)
        except self._catches as exc:
            self.add(exc)
        return default

    def accepted(self, items: list[Any], path: str, problem: Callable[[Any], str | None],
                 error: type[SpecError] = SpecError) -> list[tuple[int, Any]]:
        """The (index, item) pairs of ``items`` in which ``problem`` finds nothing wrong; each
        other item is recorded as a refusal at ``path[index]`` with what ``problem`` says."""
        out = []
        for i, item in enumerate(items):
            why = problem(item)
            if why:
                self.add(error(why, f"{path}[{i}]"))
            else:
                out.append((i, item))
        return out

    def add(self, exc: Exception) -> None:
        self._raised.append(exc)
        if isinstance(exc, SpecErrors):
            self.errors.extend(exc.errors)
        else:
            self.errors.append(exc if isinstance(exc, SpecError) else SpecError(str(exc)))

    def check(self) -> None:
        if len(self.errors) == 1:
            raise self._raised[0]
        if self.errors:
            raise SpecErrors(self.errors)
