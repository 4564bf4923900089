"""Test-wide settings."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    """Module- and session-scoped fixtures build without a disk compile cache (a shared one
    would hand them schedules an earlier test compiled)."""
    os.environ["AXC_COMPILE_CACHE"] = "off"


@pytest.fixture(autouse=True)
def _private_compile_cache(tmp_path_factory, monkeypatch):
    """Every test builds with its own, empty on-disk compile cache: never the user's
    ~/.cache/axc, and no test sees schedules another test compiled (tests count them)."""
    monkeypatch.setenv("AXC_COMPILE_CACHE", str(tmp_path_factory.mktemp("compile-cache")))
