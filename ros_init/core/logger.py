"""A logger that imports ``logging`` at its first use.

``logging`` (with ``traceback``, ``threading``, ``string``) costs about 5 ms of start-up;
``ros-init validate`` never logs when the config is right, and a boot configures logging
in the engine anyway. Modules that log write ``log = logger("ros_init.x")`` at the top and
``log.warning(...)`` where they log: the same records as ``logging.getLogger("ros_init.x")``
(the name is resolved at each call, so handlers and levels set later apply).
"""

from __future__ import annotations


class LazyLogger:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> object:
        import logging

        return getattr(logging.getLogger(self.name), attr)

    def __repr__(self) -> str:
        return f"LazyLogger({self.name!r})"


def logger(name: str) -> LazyLogger:
    return LazyLogger(name)
