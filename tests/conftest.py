"""Session-wide test settings."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_compile_cache(tmp_path_factory):
    """Builds in tests use a fresh on-disk compile cache, never the user's ~/.cache/axc."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AXC_COMPILE_CACHE", str(tmp_path_factory.mktemp("compile-cache")))
    yield
    mp.undo()
