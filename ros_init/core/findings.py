"""Locations and findings: what validation reports.

Plain named tuples rather than dataclasses on purpose: ``ros-init validate`` and every boot
import this module, and ``dataclasses`` pulls in ``inspect`` and ``ast``, which cost more
at start-up than validating a typical config (measured with ``python -X importtime``).
"""

from __future__ import annotations

from collections import namedtuple


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
