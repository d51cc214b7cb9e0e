"""A logger that imports ``logging`` at its first use, and the engine's journal sink.

``logging`` (with ``traceback``, ``threading``, ``string``) costs about 5 ms of start-up;
``ros-init validate`` never logs when the config is right. Modules that log write
``log = logger("ros_init.x")`` at the top and ``log.warning(...)`` where they log: the same
records as ``logging.getLogger("ros_init.x")`` (the name is resolved at each call, so
handlers and levels set later apply).

While a phase (or ``ros-init fetch``) runs, the engine sends every ``ros_init`` message to its
journal lines (``engine.logs``) through ``set_sink``, without the ``logging`` machinery: a boot
phase that logs a line per change and per datasource then never imports ``logging`` at all.
Messages of other loggers, and of ours when no sink is set (tests with ``caplog``), go through
``logging`` as before.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Sink = Callable[[int, str, tuple, object], None]

DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50  # logging's levels, without importing it

_sink: Sink | None = None


def set_sink(sink: Sink | None) -> Sink | None:
    """Route the ``ros_init`` loggers' messages to ``sink(level, msg, args, exc_info)`` (None:
    back to ``logging``); returns the sink it replaces."""
    global _sink
    previous, _sink = _sink, sink
    return previous


class LazyLogger:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def _log(self, level: int, msg: object, args: tuple, kwargs: dict) -> None:
        sink = _sink
        if sink is not None and (self.name == "ros_init" or self.name.startswith("ros_init.")):
            sink(level, msg, args, kwargs.get("exc_info"))
            return
        import logging

        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2  # the caller's line, not this one
        logging.getLogger(self.name).log(level, msg, *args, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: object) -> None:
        self._log(DEBUG, msg, args, kwargs)

    def info(self, msg: object, *args: object, **kwargs: object) -> None:
        self._log(INFO, msg, args, kwargs)

    def warning(self, msg: object, *args: object, **kwargs: object) -> None:
        self._log(WARNING, msg, args, kwargs)

    def error(self, msg: object, *args: object, **kwargs: object) -> None:
        self._log(ERROR, msg, args, kwargs)

    def critical(self, msg: object, *args: object, **kwargs: object) -> None:
        self._log(CRITICAL, msg, args, kwargs)

    def exception(self, msg: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("exc_info", True)
        self._log(ERROR, msg, args, kwargs)

    def __getattr__(self, attr: str) -> object:
        import logging

        return getattr(logging.getLogger(self.name), attr)

    def __repr__(self) -> str:
        return f"LazyLogger({self.name!r})"


def logger(name: str) -> LazyLogger:
    return LazyLogger(name)
