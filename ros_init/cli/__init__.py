"""Command-line entry point. Parses arguments and hands over to one module per command.

Only argparse and the standard library are imported here; each command imports what it
needs when it runs, so ``ros-init validate`` does not pay for ``requests`` or ``pyudev``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ros_init import __version__

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

# command -> (module, one-line help). The module exposes cli_main(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("ros_init.cli.validate", "check config files against the schema and every stage's rules: every problem, located"),
    "schema": ("ros_init.cli.schema", "print the JSON Schema of the config (or of the image settings)"),
    "fetch": ("ros_init.cli.fetch", "probe the datasources and print the merged config (secrets redacted)"),
    "run": ("ros_init.cli.run", "apply the config to the target root for one phase"),
    "plan": ("ros_init.cli.run", "print the changes 'run' would make, making none"),
    "status": ("ros_init.cli.status", "show the outcome of the last run (exit 0 ok, 1 failed, 2 never ran)"),
    "demo": ("ros_init.cli.demo", "run a demo first boot of the bundled example config into a scratch root"),
}


def _formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter, told the width so that it does not import shutil (and its
    compression modules) on every start-up just to ask the terminal size."""
    try:
        width = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(sys.stderr.fileno()).columns
    except (ValueError, OSError):
        width = 80
    return argparse.HelpFormatter(prog, width=max(width - 2, 40))


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # usage errors exit 2 with one clear line
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _Unbuilt:
    """Stands in for the sub-parser of a command that is not being run: building a real
    one costs argparse's gettext look-ups, several per parser, at every start-up."""

    def add_argument(self, *args: object, **kwargs: object) -> None:
        return None

    def add_mutually_exclusive_group(self, **kwargs: object) -> _Unbuilt:
        return self


def _add_root(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default="/", metavar="DIR", help="target root (default /; /sysroot in the initramfs)")


def _add_sources(p: argparse.ArgumentParser) -> None:
    p.add_argument("--settings", metavar="FILE", help="image settings (default ROOT/etc/ros-init/ros-init.yaml)")
    p.add_argument("--cmdline", metavar="FILE", help="kernel command line to read (default: the target root's /proc/cmdline)")


class _OneCommand:
    """Builds the parser of the one command being run, on its own (``ros-init validate ...``
    parses ``...`` with it): argparse's gettext look-ups cost start-up time per parser, and the
    top-level parser and the others are only needed for ``--help``, ``--version`` and a typo."""

    def __init__(self, only: str) -> None:
        self.only, self.parser = only, None

    def add_parser(self, name: str, **kw: object) -> argparse.ArgumentParser:
        if name != self.only:
            return _Unbuilt()  # type: ignore[return-value]
        kw.pop("help", None)  # the line in the top-level listing
        self.parser = _Parser(prog=f"ros-init {name}", **kw)
        self.parser.set_defaults(command=name)
        return self.parser


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that command's parser, which parses the arguments after
    the command's name (start-up time)."""
    sub: Any  # argparse's sub-parsers action, or the one command's builder
    if only is None:
        parser = _Parser(prog="ros-init", description="First-boot configurator of RancherOS v2.")
        parser.add_argument("--version", action="version", version=f"ros-init {__version__}")
        sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
        sub.required = True
    else:
        sub = _OneCommand(only)

    p = sub.add_parser("validate", help=COMMANDS["validate"][1], description=COMMANDS["validate"][1])
    p.add_argument("files", nargs="+", metavar="FILE", help="config files, or - for standard input")
    p.add_argument("--strict", action="store_true", help="warnings make the config invalid too")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--settings-file", action="store_true", dest="as_settings",
                   help="validate image settings files instead of configs")

    p = sub.add_parser("schema", help=COMMANDS["schema"][1], description=COMMANDS["schema"][1])
    p.add_argument("--settings", action="store_true", help="the schema of the image settings")
    variant = p.add_mutually_exclusive_group()
    variant.add_argument("--editor", action="store_true",
                         help="the variant for editors (yaml-language-server): messages, hover text, completion hints")
    variant.add_argument("--portable", action="store_true",
                         help="the variant for strict validators (Ajv): no x-* keywords, no custom format")

    p = sub.add_parser("fetch", help=COMMANDS["fetch"][1], description=COMMANDS["fetch"][1])
    _add_root(p)
    _add_sources(p)
    p.add_argument("--format", choices=("yaml", "json"), default="yaml")

    for name in ("run", "plan"):
        p = sub.add_parser(name, help=COMMANDS[name][1], description=COMMANDS[name][1])
        _add_root(p)
        _add_sources(p)
        p.add_argument("--phase", choices=("initramfs", "boot", "network"), required=True,
                       help="network: the network sources added, then the stages of both phases")
        p.add_argument("--config", action="append", metavar="FILE",
                       help="use these config files instead of the datasources (repeatable)")
        if name == "run":
            p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("status", help=COMMANDS["status"][1], description=COMMANDS["status"][1])
    _add_root(p)
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("demo", help=COMMANDS["demo"][1], description=COMMANDS["demo"][1])
    p.add_argument("--root", default="demo-root", metavar="DIR", help="scratch root to configure (default ./demo-root)")
    p.add_argument("--config", metavar="FILE", help="config to use instead of the bundled example")
    return parser if only is None else sub.parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    only = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(only).parse_args(argv[1:] if only else argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.cli_main(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the last line of defence: a one-line error, never a traceback
        if os.environ.get("ROS_INIT_DEBUG"):
            raise
        print(f"ros-init {args.command}: internal error: {type(exc).__name__}: {exc}"
              " (set ROS_INIT_DEBUG=1 for a traceback)", file=sys.stderr)
        return EXIT_INTERNAL
