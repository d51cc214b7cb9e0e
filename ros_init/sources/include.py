"""``#include`` / ``#include-once`` URLs, fetched through the one HTTP client.

Same deadline as the datasource that found the user-data, the http source's settings
(timeout, size limit, CA), URLs logged and reported without query or credentials
(``safe_url``). Only http:// and https:// are fetched: ``file:`` would read the host's
files on behalf of whoever wrote the user-data, and other schemes are not HTTP.
"""

from __future__ import annotations

from collections.abc import Callable

from ros_init.sources.host import Host

Fetch = Callable[[str, str], bytes]


class IncludeError(Exception):
    """An include that could not be fetched; the message holds the URL without secrets."""


def http_fetcher(host: Host, deadline: float) -> Fetch:
    """A fetch function for ``ros_init.sources.userdata.decode`` bound to ``deadline``."""

    def fetch(url: str, what: str) -> bytes:
        from ros_init.config.parts import check_url
        from ros_init.sources.httpfetch import DEFAULT_MAX_SIZE, FetchError, request, safe_url

        why = check_url(url)
        if why:
            raise IncludeError(f"{what}: {safe_url(url) if '://' in url else '<not shown>'}: {why}")
        cfg = host.source_settings("http")
        ca = cfg.get("ca")
        try:
            resp = request(url, deadline, what=what, timeout=float(cfg.get("timeout") or 10.0),
                           retries=cfg.get("retries"), max_size=int(cfg.get("max_size") or DEFAULT_MAX_SIZE),
                           ca=host.root.resolve(ca) if ca else None, logger=host.logger, clock=host.clock)
        except FetchError as exc:
            raise IncludeError(str(exc)) from None
        if resp.status != 200:
            raise IncludeError(f"{what}: {safe_url(url)} answered HTTP {resp.status}")
        return resp.body

    return fetch
