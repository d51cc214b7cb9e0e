"""The HTTP client: every fault ends in time with a clear outcome."""

from __future__ import annotations

import hashlib
import logging
import time

import pytest
from ds_servers import closed_port
from hypothesis import given
from hypothesis import strategies as st

from ros_init.sources.httpfetch import (
    Backoff,
    FetchError,
    backoff_delay,
    check_pin,
    request,
    retry_after,
    safe_url,
)


@given(st.integers(0, 60), st.floats(0, 1, exclude_max=True), st.floats(0.01, 2), st.floats(0.1, 30))
def test_backoff_delay_stays_within_the_exponential_envelope(attempt, u, base, cap):
    policy = Backoff(base=base, cap=cap)
    d = backoff_delay(attempt, policy, u)
    assert 0 <= d <= min(cap, base * 2 ** attempt) + 1e-9


def test_backoff_schedule_grows_then_caps_for_the_top_draw():
    sched = [backoff_delay(i, Backoff(base=0.25, cap=4.0), 0.999999) for i in range(8)]
    assert [round(x, 2) for x in sched] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert [backoff_delay(i, Backoff(), 0.0) for i in range(3)] == [0.0, 0.0, 0.0]


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after("3", 0) == 3.0
    assert retry_after(None, 0) is None
    assert retry_after("soon", 0) is None
    assert retry_after("Thu, 01 Jan 1970 00:00:10 GMT", 4.0) == pytest.approx(6.0)


def test_safe_url_drops_query_and_credentials():
    assert safe_url("https://user:pw@example.com:8443/a/b?token=s3cret#x") == "https://example.com:8443/a/b"


def test_pin_checks_sha256_and_sha512_and_rejects_bad_pins():
    body = b"#cloud-config\n"
    assert check_pin(body, "sha256-" + hashlib.sha256(body).hexdigest())
    assert check_pin(body, "sha512-" + hashlib.sha512(body).hexdigest())
    assert not check_pin(body, "sha256-" + "0" * 64)
    with pytest.raises(FetchError):
        check_pin(body, "md5-abc")


def _get(url, seconds=3.0, **kw):
    return request(url, time.monotonic() + seconds, what="test config", **kw)


def test_ok_body_and_404_is_returned_to_the_caller(config_server):
    config_server.state.files["/c.yaml"] = b"#cloud-config\nhostname: a\n"
    assert _get(config_server.url + "/c.yaml").body == b"#cloud-config\nhostname: a\n"
    assert _get(config_server.url + "/nothing").status == 404


def test_500_is_retried_then_succeeds(config_server):
    config_server.state.files["/c"] = b"ok"
    config_server.state.fail_first["/c"] = [(500, {}), (502, {})]
    resp = _get(config_server.url + "/c", backoff=Backoff(base=0.05, cap=0.1))
    assert resp.body == b"ok" and config_server.state.hits["/c"] == 3


def test_persistent_500_ends_at_the_deadline_with_the_last_error(config_server, timed):
    config_server.state.fail_first["/c"] = [(500, {})] * 1000
    with pytest.raises(FetchError) as err:
        timed(lambda: _get(config_server.url + "/c", seconds=1.0, backoff=Backoff(base=0.05, cap=0.2)))
    assert err.value.kind == "http" and err.value.status == 500


def test_bounded_retries_stop_early(config_server, timed):
    config_server.state.fail_first["/c"] = [(503, {})] * 10
    t0 = time.monotonic()
    with pytest.raises(FetchError):
        _get(config_server.url + "/c", seconds=10, retries=2, backoff=Backoff(base=0.01, cap=0.02))
    assert time.monotonic() - t0 < 2 and config_server.state.hits["/c"] == 3


def test_503_retry_after_is_honoured(config_server):
    config_server.state.files["/c"] = b"ok"
    config_server.state.fail_first["/c"] = [(503, {"Retry-After": "1"})]
    t0 = time.monotonic()
    assert _get(config_server.url + "/c", seconds=5).body == b"ok"
    assert time.monotonic() - t0 >= 0.95


def test_retry_after_past_the_deadline_fails_at_once(config_server):
    config_server.state.fail_first["/c"] = [(503, {"Retry-After": "120"})]
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="Retry-After"):
        _get(config_server.url + "/c", seconds=3)
    assert time.monotonic() - t0 < 1


def test_hanging_server_is_abandoned_at_the_deadline(config_server):
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        _get(config_server.url + "/hang", seconds=1.0, timeout=0.4)
    assert err.value.kind == "timeout"
    assert time.monotonic() - t0 < 1.6


def test_slow_body_is_cut_at_the_deadline(config_server):
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        _get(config_server.url + "/slow", seconds=1.0, timeout=5)
    assert err.value.kind == "timeout"
    assert time.monotonic() - t0 < 1.6


def test_headers_dripping_past_the_deadline_do_not_hold_the_caller(config_server):
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        _get(config_server.url + "/slow-headers", seconds=1.0, timeout=5)
    assert err.value.kind == "timeout"
    assert time.monotonic() - t0 < 1.6


def test_connection_reset_is_retried_then_reported(config_server):
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        _get(config_server.url + "/reset", seconds=1.0, backoff=Backoff(base=0.05, cap=0.1))
    assert err.value.kind == "reset"
    assert config_server.state.hits["/reset"] >= 2
    assert time.monotonic() - t0 < 1.6


def test_truncated_body_is_never_returned(config_server):
    with pytest.raises(FetchError) as err:
        _get(config_server.url + "/truncated", seconds=1.0, backoff=Backoff(base=0.05, cap=0.1))
    assert err.value.kind == "truncated"


def test_oversized_body_stops_reading_at_the_limit(config_server):
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        _get(config_server.url + "/huge", max_size=100_000)
    assert err.value.kind == "too-large"
    assert time.monotonic() - t0 < 1
    assert config_server.state.hits["/huge"] == 1  # never retried


def test_declared_oversized_body_is_refused_before_reading(config_server):
    config_server.state.files["/big"] = b"x" * 5000
    with pytest.raises(FetchError) as err:
        _get(config_server.url + "/big", max_size=1000)
    assert err.value.kind == "too-large"


def test_refused_connection_is_final_when_asked(timed):
    url = f"http://127.0.0.1:{closed_port()}/x"
    with pytest.raises(FetchError) as err:
        _get(url, seconds=5, retry_refused=False)
    assert err.value.kind == "refused"
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        _get(url, seconds=0.8, backoff=Backoff(base=0.05, cap=0.1))
    assert err.value.kind == "refused" and 0.6 < time.monotonic() - t0 < 1.5


def test_hash_pin_mismatch_is_an_error(config_server):
    config_server.state.files["/c"] = b"#cloud-config\n"
    good = "sha512-" + hashlib.sha512(b"#cloud-config\n").hexdigest()
    assert _get(config_server.url + "/c", pin=good).status == 200
    with pytest.raises(FetchError) as err:
        _get(config_server.url + "/c", pin="sha256-" + "1" * 64)
    assert err.value.kind == "hash"


def test_tls_with_the_test_ca(tls_server, pki):
    tls_server.state.files["/c"] = b"#cloud-config\n"
    assert _get(tls_server.url + "/c", ca=pki.ca_pem).body == b"#cloud-config\n"


def test_tls_without_the_ca_fails_at_once(tls_server):
    tls_server.state.files["/c"] = b"#cloud-config\n"
    t0 = time.monotonic()
    with pytest.raises(FetchError) as err:
        _get(tls_server.url + "/c", seconds=5)
    assert err.value.kind == "tls" and time.monotonic() - t0 < 2


def test_every_wait_is_logged_without_the_query(config_server, caplog):
    config_server.state.files["/c"] = b"ok"
    config_server.state.fail_first["/c"] = [(500, {})]
    with caplog.at_level(logging.INFO, logger="ros_init.http"):
        _get(config_server.url + "/c?token=s3cret", backoff=Backoff(base=0.01, cap=0.02))
    text = caplog.text
    assert "waiting up to" in text and "waiting" in text and "before retrying test config" in text
    assert "s3cret" not in text
