"""Shared pytest configuration. Skip helpers live in tests/facilities.py (re-exported here
for tests that import them as ``tests.conftest``)."""

from facilities import need_root, need_tools  # noqa: F401
from hypothesis import settings

# No per-example deadline: CI machines are shared and a slow example is not a failure;
# the property, not the timing, is what these tests check (timings live in benchmarks/).
settings.register_profile("ros-init", deadline=None)
settings.load_profile("ros-init")
