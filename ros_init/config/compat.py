"""cloud-init's own reading rules, where ros-init must agree with it.

Pure functions used by the validator and by the user-data decoder: the header rule
(cloud-init matches a case-insensitive prefix after leading whitespace), unrendered
template placeholders (a document cloud-init accepts must not become an error here
because a value still holds ``${hostname}``), and the RancherOS v1 / CoreOS sections that
people carry over and that RancherOS v2 does not read.
"""

from __future__ import annotations

import re

# cloud-init's user-data type prefixes (cloudinit/user_data.py and handlers), longest first so
# that `#cloud-config-archive` is not read as `#cloud-config`.
HEADERS = (
    ("#cloud-config-archive", "cloud-config-archive"),
    ("#cloud-config-jsonp", "cloud-config-jsonp"),
    ("#cloud-boothook", "cloud-boothook"),
    ("#part-handler", "part-handler"),
    ("#include-once", "include-once"),
    ("#cloud-config", "cloud-config"),
    ("#include", "include"),
    ("## template: jinja", "jinja"),
    ("#!", "script"),
)


def header_kind(text: str | bytes) -> str | None:
    """The user-data kind its start names, as cloud-init reads it; None when no header.

    cloud-init lower-cases the payload, strips leading whitespace and tests prefixes, so
    `#Cloud-Config`, `  #cloud-config` and `#cloud-config (1)` are all cloud-config,
    while `# cloud-config` is not.
    """
    if isinstance(text, bytes):
        text = text[:64].decode("utf-8", "replace")
    head = text[:64].lstrip().lower()
    for prefix, kind in HEADERS:
        if head.startswith(prefix):
            return kind
    return None


# `${var}` (shell, Terraform), `{{ v1.x }}` (Jinja, Go), `{% ... %}`, `%{ ... }` (Terraform
# directives), `<%= ... %>` (ERB), `$(var)` is left out: it is also a valid shell command.
PLACEHOLDER = r"\$\{[^}\n]{1,80}\}|\{\{[^}\n]{0,80}\}\}|\{%[^%\n]{0,80}%\}|%\{[^}\n]{1,80}\}|<%=?[^%\n]{0,80}%>"


def template_placeholder(value: object) -> str | None:
    """The first unrendered template placeholder in a string value, or None."""
    if not isinstance(value, str) or not any(c in value for c in "{%<"):
        return None
    m = re.search(PLACEHOLDER, value)  # compiled on first use (re caches it): nothing at import
    return m.group(0) if m else None


# Top-level sections of other dialects that people paste into a #cloud-config.
FOREIGN_SECTIONS = {
    "rancher": "`rancher:` is RancherOS v1 configuration (`ros config`); RancherOS v2 does not read it:"
               " use `rancherd:` for the cluster, `rancheros:` for installation, and `users`, `write_files`,"
               " `runcmd`, `network` for the node",
    "coreos": "`coreos:` is CoreOS / RancherOS v1 cloud-config (units, etcd, fleet); RancherOS v2 does not"
              " read it: write systemd units with `write_files` and start them with `runcmd`",
}
