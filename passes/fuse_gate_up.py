"""fuse-gate-up: the gate and up projections of a gated MLP become one linear and slices.

    %g = axh.linear %x, %wg ...         %gu = axh.linear %x, %w ...   (w = [wg; wu])
    %u = axh.linear %x, %wu ...    ->   %g = axh.slice %gu {0..I}, %u = axh.slice %gu {I..2I}
    %a = axh.swiglu %g, %u              %a = axh.swiglu %g, %u

for `axh.swiglu` and `axh.geglu` whose two operands are linears of one input with matching
weights (see `fuse-qkv` for the naming, e.g. `model.layers.0.mlp.gate+up_proj.weight#s4g128`,
and for why the pass may run before or after `quantize`).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from axc.dialects import axh
from axc.passes.fuse_qkv import _signature, fuse_linears
from axc.weight_store import current_store


@dataclass(frozen=True)
class FuseGateUpPass(ModulePass):
    """Fuse the gate/up linears of each swiglu/geglu (see the module docstring)."""

    name = "fuse-gate-up"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        store = current_store()
        for fn in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            for glu in [o for o in fn.walk() if isinstance(o, (axh.SwiGLUOp, axh.GeGLUOp))]:
                gate, up = (v.owner for v in glu.operands)
                if not (isinstance(gate, axh.LinearOp) and isinstance(up, axh.LinearOp)):
                    continue
                if gate is up or not (gate.result.has_one_use() and up.result.has_one_use()):
                    continue
                sig = _signature(gate)
                if sig is None or sig != _signature(up):
                    continue
                fuse_linears([gate, up], store)
