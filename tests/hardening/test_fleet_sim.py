"""The fleet simulation (benchmarks/fleet_sim.py) on a small fleet: deterministic for a seed,
built on the client's real backoff, and showing what docs/reliability.md says about jitter."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import fleet_sim  # noqa: E402

from ros_init.sources.httpfetch import Backoff, backoff_delay, retry_delay  # noqa: E402

SMALL = fleet_sim.Scenario("500 nodes at once, 100 req/s", nodes=500, boot_window=0.0, workers=2, queue=20)


def test_the_schedule_is_the_clients() -> None:
    assert fleet_sim.backoff_delay is backoff_delay and fleet_sim.retry_delay is retry_delay
    assert [backoff_delay(i, Backoff(), 1.0) for i in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]


def test_retry_after_is_honoured_spread_and_inside_the_deadline() -> None:
    assert retry_delay(0, Backoff(), 0.0, 2.0) == 2.0  # never less than the server asked
    assert retry_delay(0, Backoff(), 0.5, 2.0) == 3.0  # spread over [hint, 2 * hint)
    assert retry_delay(3, Backoff(), 0.5, None) == backoff_delay(3, Backoff(), 0.5)
    assert 2.0 <= retry_delay(0, Backoff(), 0.99, 2.0, remaining=2.5) < 2.5  # kept inside the deadline
    assert retry_delay(0, Backoff(), 0.5, 10.0, remaining=5.0) == 15.0  # past it anyway: the caller gives up


def test_deterministic_for_a_seed() -> None:
    a, b = fleet_sim.simulate(SMALL, seed=3), fleet_sim.simulate(SMALL, seed=3)
    assert asdict(a) == asdict(b)
    assert asdict(fleet_sim.simulate(SMALL, seed=4)) != asdict(a)


def test_jitter_lets_a_fleet_that_starts_together_converge() -> None:
    jitter = fleet_sim.simulate(SMALL, seed=1)
    lockstep = fleet_sim.simulate(fleet_sim.Scenario(**{**asdict(SMALL), "jitter": False}), seed=1)
    assert jitter.gave_up == 0 and jitter.converged == 500
    assert lockstep.gave_up > 0 and lockstep.requests > jitter.requests
    assert jitter.p99 < lockstep.p99


def test_every_node_is_accounted_for_and_no_node_waits_past_its_deadline() -> None:
    for sc in fleet_sim.scenarios(300, 30.0):
        r = fleet_sim.simulate(fleet_sim.Scenario(**{**asdict(sc), "workers": max(1, sc.workers // 10)}), seed=2)
        assert r.converged + r.gave_up == 300
        assert r.last <= sc.boot_window + sc.deadline
        assert sum(r.per_second) == r.requests
