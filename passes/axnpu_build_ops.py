"""axnpu-build-ops ("build op"): fix each tile's operands, layouts and encodings.

Postcondition (state `axnpu`):
- every weight buffer has a `layout` attribute. `"row_major"`: the logical array, row-major
  (a tile of whole rows is already one contiguous read). `"tiles"` with `tile_shape =
  array<i64: tn, tk>`: the [N, K] array (leading dims flattened) is stored tile by tile,
  n-major then k-minor, each tile row-major, edge tiles smaller; every DMA that loads a tile
  then reads one contiguous range. A weight gets the same layout and offset in every group
  (all groups' loads are considered together); when its loads do not form one regular grid it
  stays row-major and its loads stay 2-D strided (still correct, slower). s4 weights pack two
  elements per byte, low nibble first (docs/axnpu.md); `axc.lowering_layout.pack_weights`
  produces the bytes of every weight buffer from the weight store;
- every instruction carries `cycles` from the chip's cost model (axc.cost).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, StringAttr, i64
from xdsl.passes import ModulePass

from axc.chip import Chip, load_chip
from axc.cost import instruction_cycles
from axc.dialects import axnpu as npu
from axc.lowering_layout import DATA_ATTR, LAYOUT_ATTR, TILE_ATTR, tile_offset
from axc.passes.convert_axh_to_axnpu import NPU_MODE_ATTR
from axc.progress import stage
from axc.state import get_chip, require_state


@dataclass
class _TileLoad:
    group: npu.GroupOp
    op: npu.DmaLoadOp
    n0: int
    c0: int
    rows: int
    cols: int


def _shape2d(view: npu.ViewAttr) -> tuple[int, int]:
    shape = view.get_shape()
    return (view.rows, shape[-1])


def _as_tile(buf: npu.BufferOp, load: npu.DmaLoadOp) -> tuple[int, int, int, int] | None:
    """(n0, c0, rows, cols) of the [N, C] rectangle a load reads from buf, or None."""
    n, c = _shape2d(buf.view)
    bits = npu.DTYPE_BITS[buf.view.dtype.data]
    full = c * bits // 8
    rel = load.src.offset.data - buf.view.offset.data
    n0, rem = divmod(rel, full)
    if (rem * 8) % bits:
        return None
    c0 = rem * 8 // bits
    rows, row_bytes, src_stride, _ = load.pattern()
    if rows == 1:
        size = row_bytes
        if c0 == 0 and size % full == 0:
            return n0, 0, size // full, c
        if c0 * bits // 8 + size <= full:
            return n0, c0, 1, size * 8 // bits
        return None
    if src_stride != full:
        return None
    return n0, c0, rows, row_bytes * 8 // bits


def relayout_weights(program: npu.ProgramOp) -> dict[str, str]:
    """Store weights tile-contiguous where their loads form a regular grid; name -> layout."""
    loads: dict[str, list[_TileLoad]] = defaultdict(list)
    buffers: dict[str, list[npu.BufferOp]] = defaultdict(list)
    blocked: set[str] = set()
    for group in program.groups():
        spans = []
        for buf in group.buffers():
            if buf.kind.data == "weight":
                buffers[buf.sym_name.data].append(buf)
                acc = buf.view.access()
                spans.append((acc.offset, acc.end, buf))
        for ins in group.instructions():
            for acc in ins.reads():
                if acc.space != "ddr":
                    continue
                for start, end, buf in spans:
                    if not (acc.offset < end and start < acc.end):
                        continue
                    name = buf.sym_name.data
                    tile = _as_tile(buf, ins) if isinstance(ins, npu.DmaLoadOp) else None
                    if tile is None or not acc.within(start, end):
                        blocked.add(name)
                    else:
                        loads[name].append(_TileLoad(group, ins, *tile))
    layouts: dict[str, str] = {}
    for name, bufs in buffers.items():
        found = loads.get(name, [])
        layout = "row_major"
        n, c = _shape2d(bufs[0].view)
        if name not in blocked and found and any(t.cols != c for t in found):
            tn = max(t.rows for t in found)
            tk = max(t.cols for t in found)
            regular = all(
                t.n0 % tn == 0 and t.c0 % tk == 0 and t.rows == min(tn, n - t.n0)
                and t.cols == min(tk, c - t.c0) for t in found
            )
            if regular:
                layout = "tiles"
                bits = npu.DTYPE_BITS[bufs[0].view.dtype.data]
                for t in found:
                    base = bufs[0].view.offset.data + tile_offset(n, c, tn, tk, t.n0, t.c0, bits)
                    size = t.rows * t.cols * bits // 8
                    new = npu.DmaLoadOp(npu.Region("ddr", base, size),
                                        npu.Region(t.op.dst.space, t.op.dst.offset, size))
                    new.properties.update({k: v for k, v in t.op.properties.items()
                                           if k in ("id", "deps", "eu", "cycles")})
                    t.op.parent_block().insert_op_before(new, t.op)  # type: ignore[union-attr]
                    t.op.detach()
                    t.op.erase(safe_erase=False)
                for buf in bufs:
                    buf.attributes[TILE_ATTR] = DenseArrayBase.from_list(i64, [tn, tk])
        for buf in bufs:
            if DATA_ATTR not in buf.attributes:
                buf.attributes[LAYOUT_ATTR] = StringAttr(layout)
        layouts[name] = layout
    return layouts


def module_chip(module: ModuleOp) -> Chip:
    mode = module.attributes.get(NPU_MODE_ATTR)
    return load_chip(get_chip(module), mode.data if isinstance(mode, StringAttr) else None)


@dataclass(frozen=True)
class AxnpuBuildOpsPass(ModulePass):
    """Weight layouts and encodings, per-instruction cycles (see the module docstring)."""

    name = "axnpu-build-ops"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_state(op, self.name, "axnpu")
        chip = module_chip(op)
        for program in op.body.block.ops:
            if not isinstance(program, npu.ProgramOp):
                continue
            total = sum(len(group.instructions()) for group in program.groups())
            with stage("build op", total + 1) as bar:
                relayout_weights(program)  # replaces tile DMAs: collect instructions after
                bar.advance()
                for ins in (i for group in program.groups() for i in group.instructions()):
                    ins.set_cycles(instruction_cycles(ins, chip))
                    bar.advance()
