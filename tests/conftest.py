"""Test-wide settings."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config):
    """Module- and session-scoped fixtures build with a private compile cache too."""
    os.environ["AXC_COMPILE_CACHE"] = tempfile.mkdtemp(prefix="axc-test-compile-cache-")


@pytest.fixture(autouse=True)
def _private_compile_cache(tmp_path_factory, monkeypatch):
    """Every test builds with its own, empty on-disk compile cache: never the user's
    ~/.cache/axc, and no test sees schedules another test compiled (tests count them)."""
    monkeypatch.setenv("AXC_COMPILE_CACHE", str(tmp_path_factory.mktemp("compile-cache")))
