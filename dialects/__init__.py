"""xDSL dialects of axc: `axh` (hardware-independent tensors) and `axnpu` (NPU instructions)."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Dialect


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    """Dialect name -> factory, imported lazily (the xDSL registry convention)."""

    def axh() -> Dialect:
        from axc.dialects.axh import AXH

        return AXH

    def axnpu() -> Dialect:
        from axc.dialects.axnpu import AXNPU

        return AXNPU

    return {"axh": axh, "axnpu": axnpu}
