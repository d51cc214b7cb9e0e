"""``## template: jinja`` user-data, rendered as cloud-init renders it.

The variables are cloud-init's instance data (``v1.instance_id``, ``v1.local_hostname``,
``v1.region``, ``v1.cloud_name``, ``v1.platform``, ``ds.meta_data`` ...: see
``ros_init.sources.instancedata``). The environment is Jinja's sandbox (no attribute access
to Python internals, no file system loader) and undefined variables are errors located
on the template's line: a typo must not silently render as an empty hostname. Jinja is
imported only when a template is present.
"""

from __future__ import annotations

import re
from typing import Any

HEADER = re.compile(rb"^\s*##\s*template:\s*jinja[ \t]*\r?\n", re.IGNORECASE)
MAX_OUTPUT = 16 * 1024 * 1024
# What a variable renders as in ``validate`` (no instance data there): a plain YAML scalar that is
# also a valid host and user name, so that the rendered document parses; findings at values
# holding it are about the placeholder, not the config, and are dropped.
PLACEHOLDER = "ros-init-template-value"
# The v1 names a template may use here (``ros_init.sources.instancedata`` gives them; the ones
# a datasource does not know are left out). ``validate`` warns about any other ``v1.x``.
V1_NAMES = ("availability_zone", "cloud_id", "cloud_name", "distro", "instance_id", "kernel_release", "local_hostname",
            "machine", "platform", "public_ssh_keys", "python_version", "region", "subplatform", "variant")


def unknown_v1_names(text: str) -> list[tuple[int, int, str]]:
    """(line, column, name) of each ``v1.name`` in a template that is not one of V1_NAMES."""
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        for m in re.finditer(r"\bv1\.([A-Za-z_][A-Za-z0-9_-]*)", line):
            if m.group(1) not in V1_NAMES:
                out.append((n, m.start() + 1, m.group(1)))
    return out


class TemplateError(Exception):
    """A template that cannot be rendered; ``line`` is 1-based in the user-data (header included)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def split_header(data: bytes) -> tuple[bytes, int] | None:
    """(template body, lines taken by the header) when ``data`` is a Jinja template."""
    m = HEADER.match(data)
    if not m:
        return None
    return data[m.end():], data[: m.end()].count(b"\n")


def _template_line(tb: Any) -> int | None:
    """The template's own line number in a Jinja traceback (Jinja rewrites frames to it)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render(body: bytes, variables: dict[str, Any], *, header_lines: int = 1, placeholders: bool = False) -> bytes:
    """The rendered template. Raises TemplateError with the user-data line of the problem.

    ``placeholders`` (for ``validate``, where no instance data exists): an undefined variable
    renders as ``PLACEHOLDER`` instead of being an error.
    """
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    class Placeholder(jinja2.ChainableUndefined):
        def __str__(self) -> str:
            return PLACEHOLDER

    text = body.decode("utf-8", errors="replace")
    env = SandboxedEnvironment(undefined=Placeholder if placeholders else jinja2.StrictUndefined, autoescape=False,
                               keep_trailing_newline=True)
    try:
        template = env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno + header_lines if exc.lineno else None
        raise TemplateError(f"Jinja syntax error: {exc.message}", line) from None
    try:
        out = template.render(**variables)
    except jinja2.UndefinedError as exc:
        tline = _template_line(exc.__traceback__)
        expr = ""
        lines = text.split("\n")
        if tline is not None and tline <= len(lines):
            m = re.search(r"\{\{.*?\}\}|\{%.*?%\}", lines[tline - 1])
            expr = f" in `{m.group(0)}`" if m else ""
        known = ", ".join(f"v1.{k}" for k in sorted(variables.get("v1", {})))
        raise TemplateError(f"undefined template variable{expr}: {exc.message}"
                            f" (instance data here: {known or 'none'}; ds.meta_data holds the raw metadata)",
                            tline + header_lines if tline is not None else None) from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"refused by the template sandbox: {exc}", None) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}", _template_line(exc.__traceback__)) from None
    data = out.encode("utf-8")
    if len(data) > MAX_OUTPUT:
        raise TemplateError(f"the rendered template is over {MAX_OUTPUT} bytes", None)
    return data
