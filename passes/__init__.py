"""The pass registry: every axc pass by name, imported lazily.

xDSL's own `canonicalize`, `cse` and `dce` are used as they are: axh ops declare their
canonicalization patterns (see `canonicalize_axh.py`), so `-p canonicalize` folds them.

Adding a pass is one module in this folder and one line in `_PASSES` (name -> module,
class). `axc-opt`, `xdsl-opt` (through `axc.universe`) and the build all read this table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.passes import ModulePass

#: pass name -> (module under axc.passes, class name)
_PASSES: dict[str, tuple[str, str]] = {
    # axh raising (frontend): literal ATen shapes -> the ops a transformer is made of
    "fuse-linear": ("fuse_linear", "FuseLinearPass"),
    "fuse-rms-norm": ("fuse_rms_norm", "FuseRMSNormPass"),
    "fuse-rope": ("fuse_rope", "FuseRopePass"),
    "fuse-attention": ("fuse_attention", "FuseAttentionPass"),
    "fuse-swiglu": ("fuse_swiglu", "FuseSwiGLUPass"),
    # axh constant folding (the worked example of docs/writing-a-pass.md)
    "fold-constant-casts": ("fold_constant_casts", "FoldConstantCastsPass"),
    # axh quantization and weight fusion
    "quantize": ("quantize", "QuantizePass"),
    "fuse-qkv": ("fuse_qkv", "FuseQKVPass"),
    "fuse-gate-up": ("fuse_gate_up", "FuseGateUpPass"),
    "post-topk": ("post_topk", "PostTopKPass"),
    # axnpu back end, in pipeline order (pulsar2's build stages)
    "convert-axh-to-axnpu": ("convert_axh_to_axnpu", "ConvertAxhToAxnpuPass"),
    "axnpu-tile": ("axnpu_tile", "AxnpuTilePass"),
    "axnpu-build-ops": ("axnpu_build_ops", "AxnpuBuildOpsPass"),
    "axnpu-insert-ddr-swap": ("axnpu_insert_ddr_swap", "AxnpuInsertDdrSwapPass"),
    "axnpu-calc-deps": ("axnpu_calc_deps", "AxnpuCalcDepsPass"),
    "axnpu-assign-eu": ("axnpu_assign_eu", "AxnpuAssignEuPass"),
}


def _factory(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        return getattr(importlib.import_module(f"axc.passes.{module}"), cls)

    return load


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name -> factory returning the pass class (the xDSL registry convention)."""
    return {name: _factory(module, cls) for name, (module, cls) in _PASSES.items()}
