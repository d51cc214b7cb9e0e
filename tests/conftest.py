"""Shared pytest configuration. Skip helpers live in tests/facilities.py (re-exported here
for tests that import them as ``tests.conftest``)."""

from facilities import need_root, need_tools  # noqa: F401
