"""Scaleway: the instance metadata API at 169.254.42.42.

Detected from DMI (``sys_vendor`` Scaleway), a ``scaleway`` word on the kernel command line or
the file ``/var/run/scaleway`` (left by Scaleway's initrd), or ``scaleway.url``. The API gives
user-data only to requests from a **source port below 1024** (proof that root asks): every
request of this source is sent from one such port (a free one, picked at random; ros-init
runs as root). Reads ``/conf?format=json`` (``id`` is the instance id, ``hostname``,
``ssh_public_keys[].key`` plus tags ``AUTHORIZED_KEY=<key with _ for spaces>``) and
``/user_data/cloud-init``, ``/vendor_data/cloud-init`` (404: none). No network config (DHCP).
"""

from __future__ import annotations

import random
import socket

from ros_init.core.model import Documents
from ros_init.sources import platform_id
from ros_init.sources.host import DatasourceError, Host

TYPE_CHECKING = False  # typing costs start-up time: annotations are strings
if TYPE_CHECKING:
    from typing import Any

NAME = "scaleway"
DETECT_HINT = platform_id.detect_hint(NAME, "no 'scaleway' on the command line", "no /var/run/scaleway")
DEFAULT_URL = "http://169.254.42.42"


def detect(host: Host) -> bool:
    return platform_id.detect(host, NAME, cmdline_word=True, markers=("/var/run/scaleway",))


def keys(conf: dict[str, Any]) -> list[str]:
    """Pure: the account's keys and the ``AUTHORIZED_KEY=`` tags (underscores for spaces)."""
    out = [k.get("key") for k in conf.get("ssh_public_keys") or [] if isinstance(k, dict)]
    out += [t.split("=", 1)[1].replace("_", " ") for t in conf.get("tags") or []
            if isinstance(t, str) and t.startswith("AUTHORIZED_KEY=")]
    return [k.strip() for k in out if k and k.strip()]


def privileged_port(rng: random.Random | None = None) -> int:
    """A source port below 1024 that is free now (binding it needs root)."""
    rng = rng or random.Random()
    ports = list(range(1, 1024))
    rng.shuffle(ports)
    for port in ports[:64]:
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
            return port
        except PermissionError:
            raise DatasourceError("scaleway: user-data needs a source port below 1024 and this is not root") from None
        except OSError:
            continue
        finally:
            s.close()
    raise DatasourceError("scaleway: no free source port below 1024")


def _low_port_adapter() -> Any:
    """A requests adapter whose every request leaves from a fresh free port below 1024 (a
    retry must not reuse the port of a connection the server still holds)."""
    from requests.adapters import HTTPAdapter

    class LowPort(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["source_address"] = ("0.0.0.0", privileged_port())
            super().init_poolmanager(*args, **kwargs)

        def send(self, request: Any, **kwargs: Any) -> Any:
            self.poolmanager.clear()
            self.init_poolmanager(self._pool_connections, self._pool_maxsize, block=self._pool_block)
            return super().send(request, **kwargs)

    return LowPort(max_retries=0)


def fetch(host: Host, deadline: float) -> Documents | None:
    from ros_init.sources import metaservice as ms

    try:
        with ms.Service(host, NAME, DEFAULT_URL, deadline) as svc:
            privileged_port()  # fails early, with a clear message, where this is not root
            svc.session.mount("http://", _low_port_adapter())
            conf = svc.get_json("conf?format=json")
            if conf is None:
                return None
            if not isinstance(conf, dict):
                raise DatasourceError("scaleway: conf is not an object")
            user_data = svc.get("user_data/cloud-init", max_size=ms.DATA_MAX)
            vendor_data = svc.get("vendor_data/cloud-init", max_size=ms.DATA_MAX)
    except ms.Absent:
        return None
    iid = ms.check_instance_id(conf.get("id"), NAME)
    return ms.found(NAME, svc.base, iid, host=host, deadline=deadline,
                    hostname=conf.get("hostname"), keys=keys(conf), user_data=user_data,
                    vendor_data=vendor_data, raw={"conf.json": ms.raw_json(conf)})
