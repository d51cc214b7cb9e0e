"""Fixtures for the datasource tests: the servers of ds_servers.py, started and stopped."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ds_servers import (
    ConfigHandler,
    ConfigState,
    GceHandler,
    GceState,
    ImdsHandler,
    ImdsState,
    Running,
    TestPki,
    _serve,
    _shutdown,
    ec2_tree,
    gce_instance,
)
from platform_servers import platform_server  # noqa: F401 - the cloud platforms' fixture


@pytest.fixture
def imds() -> Iterator[Running]:
    r = _serve(ImdsHandler, ImdsState(ec2_tree()))
    yield r
    _shutdown(r)

@pytest.fixture
def gce_server() -> Iterator[Running]:
    r = _serve(GceHandler, GceState(gce_instance(), {}))
    yield r
    _shutdown(r)

@pytest.fixture
def config_server() -> Iterator[Running]:
    r = _serve(ConfigHandler, ConfigState())
    yield r
    _shutdown(r)

@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl (in .ci/apt-packages.txt)")
    d = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=ros-init test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    return TestPki(str(d / "ca.pem"), str(d / "srv.pem"), str(d / "srv.key"))



@pytest.fixture
def tls_server(pki: TestPki) -> Iterator[Running]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.cert, pki.key)
    r = _serve(ConfigHandler, ConfigState(), tls=ctx)
    yield r
    _shutdown(r)

@pytest.fixture
def timed() -> Callable[[Callable[[], Any]], tuple[Any, float]]:
    def run(fn: Callable[[], Any]) -> tuple[Any, float]:
        t0 = time.monotonic()
        out = fn()
        return out, time.monotonic() - t0
    return run



@pytest.fixture
def loop() -> Iterator[Callable[[Path], str]]:
    """Attach images as read-only loop devices (root only); detached at the end."""
    from facilities import need_root, need_tools

    attached: list[str] = []

    def attach(image: Path) -> str:
        need_root()
        need_tools("losetup")
        dev = subprocess.run(["losetup", "--find", "--show", "--read-only", str(image)], check=True,
                             capture_output=True, text=True).stdout.strip()
        attached.append(dev)
        return dev

    yield attach
    for dev in attached:
        subprocess.run(["losetup", "-d", dev], check=False, capture_output=True)
