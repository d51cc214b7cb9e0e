"""Fleet simulation: thousands of nodes fetching their config from one server at boot.

    python benchmarks/fleet_sim.py [--nodes 5000] [--seed 1] [--json]

Each node runs the retry loop of ``ros_init.sources.httpfetch.request`` (the real schedule: the
pure ``retry_delay`` with the default ``Backoff``, ``Retry-After`` spread the same way,
each attempt bounded by ``min(timeout, remaining)``, no retry past the deadline) against
one config server modelled as ``workers`` parallel handlers with a fixed service time, an
accept queue of ``queue`` requests (beyond it: an immediate 503, with or without
Retry-After) and, optionally, an outage at the start (connections refused). A request that
waited longer than its client's timeout is still served (the server cannot know): that is
wasted work. Everything is deterministic for a seed.

It reports what the server sees (peak requests per second, total requests, wasted work) and
how the fleet converges (p50/p99/max time to a config, nodes that gave up at the deadline),
for full jitter (``u`` uniform in [0, 1): the shipped client) and no jitter (``u = 1``).
The results and the defaults they support are in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import sys
from collections import Counter, deque
from dataclasses import asdict, dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ros_init.sources.httpfetch import Backoff, backoff_delay, retry_delay  # noqa: E402  (the client's real schedule)

HTTP_TIMEOUT = 10.0  # datasources/http.py: per-request timeout when the settings give none


def settings_deadline() -> float:
    """The image settings' default probe deadline (schemas/settings.v1.json)."""
    from ros_init.config.settings import defaults

    return float(defaults()["deadline"])


@dataclass(frozen=True)
class Scenario:
    name: str
    nodes: int = 5000
    boot_window: float = 10.0  # nodes power on uniformly within this many seconds
    workers: int = 20  # requests served in parallel
    service: float = 0.02  # seconds per request: workers / service = capacity (1000 req/s)
    queue: int = 200  # accept queue; a request beyond it gets an immediate 503
    retry_after: float | None = None  # Retry-After header of those 503s
    outage: float = 0.0  # connections refused until this time
    timeout: float = HTTP_TIMEOUT
    deadline: float = 30.0
    jitter: bool = True
    cap: float = Backoff().cap  # the client's backoff cap (shipped default unless studied)
    exact_retry_after: bool = False  # the former client: wait exactly Retry-After (no spread)


@dataclass
class Result:
    scenario: str
    jitter: bool
    requests: int = 0
    served: int = 0
    wasted: int = 0  # served after the client had given up on that attempt
    rejected_503: int = 0
    refused: int = 0
    timeouts: int = 0
    peak_rps: int = 0
    peak_second: int = 0
    converged: int = 0
    gave_up: int = 0
    p50: float = 0.0
    p99: float = 0.0
    worst: float = 0.0  # longest time from power-on to config of a node that got one
    last: float = 0.0  # when the last node got its config (from the start of the simulation)
    per_second: list[int] = field(default_factory=list, repr=False)


def simulate(sc: Scenario, seed: int = 1) -> Result:
    """Run one scenario; pure apart from the seeded random draws."""
    rng = random.Random(seed)
    policy = Backoff(cap=sc.cap)
    res = Result(sc.name, sc.jitter)
    events: list[tuple[float, int, str, int, int]] = []  # (time, seq, kind, node, attempt)
    seq = 0

    def push(t: float, kind: str, node: int, attempt: int = 0) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, node, attempt))

    boot = [rng.uniform(0.0, sc.boot_window) for _ in range(sc.nodes)]
    deadline = [b + sc.deadline for b in boot]
    attempt = [0] * sc.nodes  # attempts made so far
    pending: dict[int, tuple[int, float]] = {}  # node -> (attempt id, time sent) while in flight
    done_at: list[float | None] = [None] * sc.nodes
    busy = 0
    waiting: deque[tuple[int, int, float]] = deque()  # (node, attempt, sent)
    arrivals: Counter[int] = Counter()
    for n, b in enumerate(boot):
        push(b, "send", n)

    def fail(node: int, now: float, hint: float | None) -> None:
        """The client's reaction to a failed attempt: httpfetch.request's retry step."""
        pending.pop(node, None)
        u = rng.random() if sc.jitter else 1.0
        if sc.exact_retry_after:
            delay = backoff_delay(attempt[node] - 1, policy, u)
            delay = delay if hint is None else max(delay, hint)
        else:
            delay = retry_delay(attempt[node] - 1, policy, u, hint, deadline[node] - now)
        if delay >= deadline[node] - now:
            res.gave_up += 1
            return
        push(now + delay, "send", node)

    def start(node: int, att: int, sent: float, now: float) -> None:
        nonlocal busy
        busy += 1
        push(now + sc.service, "served", node, att)

    while events:
        now, _, kind, node, att = heapq.heappop(events)
        if kind == "send":
            if now >= deadline[node]:
                res.gave_up += 1
                continue
            attempt[node] += 1
            att = attempt[node]
            res.requests += 1
            arrivals[int(now)] += 1
            if now < sc.outage:
                res.refused += 1
                fail(node, now, None)
                continue
            pending[node] = (att, now)
            push(now + min(sc.timeout, deadline[node] - now), "timeout", node, att)
            if busy < sc.workers:
                start(node, att, now, now)
            elif len(waiting) < sc.queue:
                waiting.append((node, att, now))
            else:
                res.rejected_503 += 1
                fail(node, now, sc.retry_after)
        elif kind == "served":
            busy -= 1
            res.served += 1
            if pending.get(node, (None,))[0] == att:
                pending.pop(node)
                done_at[node] = now
            else:
                res.wasted += 1
            if waiting:
                start(*waiting.popleft(), now)
        elif kind == "timeout" and pending.get(node, (None,))[0] == att:
            res.timeouts += 1
            fail(node, now, None)
    times = sorted(d - b for d, b in zip(done_at, boot, strict=True) if d is not None)
    res.converged = len(times)
    if times:
        res.p50 = round(times[len(times) // 2], 2)
        res.p99 = round(times[min(len(times) - 1, int(len(times) * 0.99))], 2)
        res.worst = round(times[-1], 2)
        res.last = round(max(d for d in done_at if d is not None), 2)
    if arrivals:
        res.peak_second, res.peak_rps = max(arrivals.items(), key=lambda kv: (kv[1], -kv[0]))
        res.per_second = [arrivals.get(s, 0) for s in range(max(arrivals) + 1)]
    return res


def scenarios(nodes: int, deadline: float) -> list[Scenario]:
    """The cases of docs/reliability.md: a rack powering on, a server outage at boot, an
    overloaded server that sends Retry-After."""
    base = dict(nodes=nodes, deadline=deadline)
    return [
        Scenario("power-on, 10 s window, 1000 req/s server", boot_window=10.0, **base),
        Scenario("power-on, all at once, 1000 req/s server", boot_window=0.0, **base),
        Scenario("server down for the first 20 s", boot_window=10.0, outage=20.0, **base),
        Scenario("overloaded 250 req/s server, 503 + Retry-After: 2", boot_window=10.0, workers=5,
                 retry_after=2.0, **base),
    ]


def run_all(nodes: int, seed: int, deadline: float | None = None) -> list[Result]:
    out = []
    for sc in scenarios(nodes, deadline if deadline is not None else settings_deadline()):
        for jitter in (True, False):
            out.append(simulate(Scenario(**{**asdict(sc), "jitter": jitter}), seed))
    return out


def studies(nodes: int, seed: int, deadline: float | None = None) -> list[Result]:
    """Alternatives to the shipped policy (full jitter, cap 4 s, Retry-After as given)."""
    d = deadline if deadline is not None else settings_deadline()
    out = []
    for cap in (2.0, 4.0, 8.0):
        for sc in scenarios(nodes, d)[1:3]:
            out.append(simulate(Scenario(**{**asdict(sc), "cap": cap, "name": f"{sc.name} [cap {cap:g} s]"}), seed))
    sc = scenarios(nodes, d)[3]
    out.append(simulate(Scenario(**{**asdict(sc), "exact_retry_after": True,
                                    "name": f"{sc.name} [Retry-After exactly]"}), seed))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deadline", type=float, default=None, help="probe deadline (default: the settings default)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = run_all(args.nodes, args.seed, args.deadline)
    extra = studies(args.nodes, args.seed, args.deadline)
    if args.json:
        print(json.dumps([{k: v for k, v in asdict(r).items() if k != "per_second"} for r in results + extra],
                         indent=1))
        return 0
    print(f"{args.nodes} nodes, seed {args.seed}, backoff {Backoff()}, http timeout {HTTP_TIMEOUT:g}s, "
          f"deadline {args.deadline if args.deadline is not None else settings_deadline():g}s")
    for title, rows in (("shipped policy, with and without jitter", results), ("alternatives (full jitter)", extra)):
        print(f"\n{title}")
        print(f"{'scenario':<70} {'jitter':<6} {'requests':>8} {'peak/s':>7} {'503':>6} {'wasted':>6} "
              f"{'p50 s':>6} {'p99 s':>6} {'max s':>6} {'last s':>6} {'gave up':>7}")
        for r in rows:
            print(f"{r.scenario:<70} {'full' if r.jitter else 'none':<6} {r.requests:>8} {r.peak_rps:>7} "
                  f"{r.rejected_503:>6} {r.wasted:>6} {r.p50:>6} {r.p99:>6} {r.worst:>6} {r.last:>6} {r.gave_up:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
