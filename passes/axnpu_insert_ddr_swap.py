"""axnpu-insert-ddr-swap: allocate on-chip memory, spilling to DDR where it runs out
(pulsar2's "add ddr swap").

Input: groups whose temporaries live in the virtual on-chip space `vocm` (unbounded, every
temporary its own range), as `axnpu-build-ops` leaves them. A **temporary** is a maximal set
of vocm bytes connected by overlapping accesses (the union of the bounding ranges of every
vocm access, merged where they overlap), so strided tiles of one matrix stay one temporary.

Postcondition, for every group:
- no instruction touches `vocm`; every OCM access lies inside `ocm_bytes` (the program's, or
  the `ocm-bytes` option, which is then recorded on the program);
- each temporary occupies one contiguous OCM range (64-byte aligned) from its first use to
  its last use in program order; ranges of temporaries live at the same time are disjoint,
  and freed ranges are reused, next fit (OCM as a ring, so reuse comes as late as possible
  and loads can be prefetched far ahead of the instructions that free their range);
- where the temporaries an instruction needs do not fit beside the live ones, live
  temporaries are evicted, furthest next use first (Belady). One whose value is needed
  later is either an unmodified copy of read-only DDR (then dropped, and its load repeated
  before the next use) or stored (`axnpu.dma_store`, when changed since its last store) to
  its own `scratch` buffer (`@ddr_swap<N>`, placed after every buffer of the program) and
  loaded back (`axnpu.dma_load`, possibly at another OCM offset) right before its next use;
  the first time a request does not fit, temporaries whose next use is at least `far-use`
  instructions ahead are evicted too (furthest first) until `headroom` of the OCM is free,
  so that the ring survives a full OCM (see `_keep_headroom`);
- program order computes what it computed before (the swaps copy bytes exactly and happen
  between the last write and the next read of a temporary).

The pass fails with a located error only when one instruction alone needs more than
`ocm_bytes` at once (the tiling must split it). Cost: O(n log n) to find temporaries plus
O(live temporaries) per allocation or eviction.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute
from xdsl.passes import ModulePass

from axc.diagnostics import OpError
from axc.dialects.axnpu import (
    BufferOp,
    DmaLoadOp,
    DmaStoreOp,
    GroupOp,
    InstructionOp,
    ProgramOp,
    Region,
    RegionAttr,
    View,
    ViewAttr,
    _i64,
)
from axc.progress import stage
from axc.state import require_state

ALIGN_BYTES = 64
"""OCM offsets of temporaries and DDR offsets of scratch buffers are multiples of this."""


def _align(x: int) -> int:
    return -(-x // ALIGN_BYTES) * ALIGN_BYTES


@dataclass
class Temp:
    """One temporary: vocm bytes [start, end), its uses and its current home."""

    index: int
    start: int
    end: int
    uses: list[int] = field(default_factory=list)
    """Positions of the instructions touching it, ascending."""
    needs_old: dict[int, bool] = field(default_factory=dict)
    """Per use: whether it needs the previous contents (reads, or writes only part)."""
    written_at: set[int] = field(default_factory=set)
    """Uses that write it."""
    next_use: int = 0
    """Index into `uses` of the next use at or after the current instruction."""
    base: int | None = None
    """OCM offset while resident."""
    defined: bool = False
    dirty: bool = False
    """Resident contents differ from the scratch copy (or there is none)."""
    scratch: int | None = None
    """DDR offset of its scratch buffer, once it has been stored."""
    origin: DmaLoadOp | None = None
    """The load that wrote it from read-only DDR, when that is its only write: an evicted
    copy is dropped and reloaded by repeating that load (no store, no scratch)."""
    origin_rel: int = 0
    """Offset of the origin load's destination inside the temporary."""

    @property
    def size(self) -> int:
        return self.end - self.start

    def upcoming(self) -> float:
        return self.uses[self.next_use] if self.next_use < len(self.uses) else math.inf


def find_temps(ops: list[InstructionOp]) -> tuple[list[Temp], list[int]]:
    """The temporaries of a group (sorted by vocm start) and the sorted start offsets."""
    spans = sorted((a.offset, a.end) for op in ops for a in op.reads() + op.writes()
                   if a.space == "vocm")
    temps: list[Temp] = []
    for start, end in spans:
        if temps and start < temps[-1].end:
            temps[-1].end = max(temps[-1].end, end)
        else:
            temps.append(Temp(len(temps), start, end))
    starts = [t.start for t in temps]
    for pos, op in enumerate(ops):
        reads, writes = op.reads(), op.writes()
        touched: dict[int, bool] = {}
        for acc in reads + writes:
            if acc.space != "vocm":
                continue
            t = temps[bisect.bisect_right(starts, acc.offset) - 1]
            touched.setdefault(t.index, False)
        for acc in reads:
            if acc.space == "vocm":
                touched[temps[bisect.bisect_right(starts, acc.offset) - 1].index] = True
        for index, reads_it in touched.items():
            t = temps[index]
            whole = any(a.space == "vocm" and a.rows == 1 and a.offset <= t.start
                        and a.end >= t.end for a in writes)
            t.uses.append(pos)
            t.needs_old[pos] = reads_it or not whole
        for acc in writes:
            if acc.space == "vocm":
                temps[bisect.bisect_right(starts, acc.offset) - 1].written_at.add(pos)
    ddr_written = [a for op in ops for a in op.writes() if a.space == "ddr"]
    for t in temps:
        if len(t.written_at) != 1:
            continue
        op = ops[min(t.written_at)]
        if not isinstance(op, DmaLoadOp) or t.needs_old[min(t.written_at)]:
            continue
        src = op.reads()[0]
        if not any(src.overlaps(w) for w in ddr_written):
            t.origin, t.origin_rel = op, op.dst.offset.data - t.start
    return temps, starts


class _Ocm:
    """Resident temporaries by OCM offset; next-fit allocation in [low, limit).

    Next fit (the search starts where the previous allocation ended and wraps around) turns
    OCM into a ring: a freed range is reused as late as possible, so a weight tile's load
    waits on the matmul that read the range before it only after a whole ring of other
    tiles, which leaves the scheduler room to prefetch (first fit would reuse at once and
    chain every load to the previous tile's consumer)."""

    def __init__(self, low: int, limit: int) -> None:
        self.low, self.limit = low, limit
        self.spans: list[tuple[int, int, int]] = []  # (start, end, temp index), sorted
        self.cursor = low

    def _first_fit(self, size: int, start: int, stop: int) -> int | None:
        cursor = start
        for lo, hi, _ in self.spans:
            if hi <= cursor:
                continue
            if lo >= stop:
                break
            if lo - cursor >= size:
                return cursor
            cursor = max(cursor, _align(hi))
        return cursor if stop - cursor >= size else None

    def fit(self, size: int) -> int | None:
        found = self._first_fit(size, self.cursor, self.limit)
        if found is None:
            found = self._first_fit(size, self.low, self.limit)
        return found

    def place(self, t: Temp, offset: int) -> None:
        bisect.insort(self.spans, (offset, offset + t.size, t.index))
        t.base = offset
        self.cursor = _align(offset + t.size)

    def remove(self, t: Temp) -> None:
        assert t.base is not None
        self.spans.remove((t.base, t.base + t.size, t.index))
        t.base = None

    def residents(self) -> list[int]:
        return [i for _, _, i in self.spans]


@dataclass
class _Swapper:
    """Allocates one group; collects the swap instructions to insert before each one."""

    group: GroupOp
    ocm_limit: int
    scratch_base: int
    ddr_limit: int
    temps: list[Temp] = field(default_factory=list)
    scratch_end: int = 0
    buffers: list[BufferOp] = field(default_factory=list)
    stores: int = 0
    loads: int = 0
    headroom: float = 0.25
    far_use: int = 256

    def scratch_for(self, t: Temp) -> int:
        if t.scratch is None:
            t.scratch = _align(self.scratch_end or self.scratch_base)
            self.scratch_end = t.scratch + t.size
            if self.scratch_end > self.ddr_limit:
                raise OpError(self.group, f"DDR swap needs ddr [{self.scratch_base}, "
                                          f"{self.scratch_end}), past ddr_bytes {self.ddr_limit}")
            name = f"ddr_swap{len(self.buffers)}"
            self.buffers.append(BufferOp(name, View("ddr", t.scratch, [t.size], "s8"), "scratch"))
        return t.scratch

    def evict(self, t: Temp, ocm: _Ocm, pre: list[InstructionOp]) -> None:
        """Free `t`'s OCM, storing it first when its value is still needed."""
        assert t.base is not None
        later = t.upcoming()
        still_needed = later != math.inf and t.needs_old[int(later)]
        if t.defined and t.dirty and still_needed and t.origin is None:
            ddr = self.scratch_for(t)
            pre.append(DmaStoreOp(Region("ocm", t.base, t.size), Region("ddr", ddr, t.size)))
            self.stores += 1
            t.dirty = False
        if not still_needed:
            t.defined = False  # its value will be overwritten before it is read again
        ocm.remove(t)

    def bring(self, t: Temp, offset: int, pos: int, ocm: _Ocm, pre: list[InstructionOp]) -> None:
        ocm.place(t, offset)
        if t.defined and t.needs_old[pos] and t.origin is not None:
            again = t.origin.clone()
            for attr in ("id", "deps", "eu", "cycles"):
                again.properties.pop(attr, None)
            again.properties["dst"] = Region("ocm", offset + t.origin_rel,
                                             t.origin.dst.size_bytes.data)
            pre.append(again)
            self.loads += 1
        elif t.defined and t.needs_old[pos]:
            assert t.scratch is not None
            pre.append(DmaLoadOp(Region("ddr", t.scratch, t.size), Region("ocm", offset, t.size)))
            self.loads += 1
            t.dirty = False


def _rewrite(op: InstructionOp, temps: list[Temp], starts: list[int]) -> None:
    """Point every vocm operand of `op` at its temporary's OCM home."""
    for name, attr in list(op.properties.items()):
        new: Attribute | None = None
        if isinstance(attr, ViewAttr) and attr.space.data == "vocm":
            t = temps[bisect.bisect_right(starts, attr.offset.data) - 1]
            assert t.base is not None
            new = View("ocm", t.base + attr.offset.data - t.start, attr.get_shape(),
                       attr.dtype.data, attr.row_stride_bytes.data)
        elif isinstance(attr, RegionAttr) and attr.space.data == "vocm":
            t = temps[bisect.bisect_right(starts, attr.offset.data) - 1]
            assert t.base is not None
            new = Region("ocm", t.base + attr.offset.data - t.start, attr.size_bytes.data)
        if new is not None:
            op.properties[name] = new


def swap_group(group: GroupOp, ocm_bytes: int, scratch_base: int, ddr_bytes: int,
               headroom: float = 0.25, far_use: int = 256) -> tuple[int, int, int]:
    """Allocate `group` in place; returns (temporaries, stores, loads) inserted."""
    ops = group.instructions()
    temps, starts = find_temps(ops)
    fixed_end = max((a.end for op in ops for a in op.reads() + op.writes()
                     if a.space == "ocm"), default=0)
    ocm = _Ocm(_align(fixed_end), ocm_bytes)  # OCM already allocated by hand stays reserved
    sw = _Swapper(group, ocm_bytes, scratch_base, ddr_bytes, temps, headroom=headroom,
                  far_use=far_use)
    by_pos: dict[int, list[Temp]] = {}
    for t in temps:
        for pos in t.uses:
            by_pos.setdefault(pos, []).append(t)
    block = group.body.block
    with stage("add ddr swap", len(ops)) as bar:
        for pos, op in enumerate(ops):
            need = by_pos.get(pos, [])
            pre: list[InstructionOp] = []
            if need:
                _make_room(sw, ocm, need, pos, op, pre)
                _rewrite(op, temps, starts)
                for t in need:
                    t.next_use += 1
                    if pos in t.written_at:
                        t.defined, t.dirty = True, True
                    if t.next_use >= len(t.uses):
                        ocm.remove(t)  # last use: its range is free for the next ones
            for new in pre:
                block.insert_op_before(new, op)
            bar.advance()
    if sw.buffers:
        anchor = next((b for b in reversed(group.buffers())), None)
        for buf in sw.buffers:
            if anchor is None and block.first_op is not None:
                block.insert_op_before(buf, block.first_op)
            elif anchor is None:
                block.add_op(buf)
            else:
                block.insert_op_after(buf, anchor)
            anchor = buf
    return len(temps), sw.stores, sw.loads


def _make_room(sw: _Swapper, ocm: _Ocm, need: list[Temp], pos: int, op: InstructionOp,
               pre: list[InstructionOp]) -> None:
    """Make every temporary of `need` resident for instruction `pos`."""
    total = sum(_align(t.size) for t in need)
    if total > ocm.limit - ocm.low:
        temps = ", ".join(f"[{t.start}, {t.end})" for t in need)
        raise OpError(op, f"{op.name} in group {sw.group.sym_name.data!r} needs {total} bytes "
                          f"of on-chip memory at once, more than the {ocm.limit - ocm.low} "
                          f"bytes of ocm available (vocm temporaries {temps}); tile it smaller")
    needed = {t.index for t in need}
    missing = sorted((t for t in need if t.base is None), key=lambda t: (-t.size, t.index))
    for t in missing:
        offset = ocm.fit(t.size)
        if offset is None:
            _keep_headroom(sw, ocm, needed, pos, pre)
            offset = ocm.fit(t.size)
        while offset is None:
            victims = [sw.temps[i] for i in ocm.residents() if i not in needed]
            if not victims:
                break
            victim = max(victims, key=lambda v: (v.upcoming(), v.size, v.index))
            sw.evict(victim, ocm, pre)
            offset = ocm.fit(t.size)
        if offset is None:
            # fragmentation among the temporaries this instruction needs: move them all
            for r in [sw.temps[i] for i in ocm.residents()]:
                sw.evict(r, ocm, pre)
            ocm.cursor = ocm.low  # pack them from the bottom
            for m in sorted(need, key=lambda m: (-m.size, m.index)):
                spot = ocm.fit(m.size)
                assert spot is not None
                sw.bring(m, spot, pos, ocm, pre)
            return
        sw.bring(t, offset, pos, ocm, pre)


def _keep_headroom(sw: _Swapper, ocm: _Ocm, needed: set[int], pos: int,
                   pre: list[InstructionOp]) -> None:
    """When the OCM is full, evict temporaries whose next use is far (furthest first) until
    `headroom` of it is free, not only the bytes of this request. Each of them costs one store
    and one reload whenever it goes, but evicted one request at a time, the freed range is
    reused by the very next temporary of the same size: every weight tile of a streamed MLP
    then lands on the previous tile's range and waits for its matmuls (MiniCPM 2.4B / 8B
    prefill: x and the residual stay resident, the OCM ring shrinks to one tile and the
    CONV units idle). With headroom the ring is back and loads run ahead."""
    residents = [sw.temps[i] for i in ocm.residents() if i not in needed]
    free = ocm.limit - ocm.low - sum(_align(sw.temps[i].size) for i in ocm.residents())
    goal = (ocm.limit - ocm.low) * sw.headroom
    for victim in sorted(residents, key=lambda v: (-v.upcoming(), -v.size, v.index)):
        if free >= goal or victim.upcoming() - pos < sw.far_use:
            break
        sw.evict(victim, ocm, pre)
        free += _align(victim.size)


def _scratch_base(program: ProgramOp) -> int:
    ends = [b.view.access().end for g in program.groups() for b in g.buffers()]
    return _align(max(ends, default=0))


@dataclass(frozen=True)
class AxnpuInsertDdrSwapPass(ModulePass):
    """Allocate vocm temporaries into OCM, with DDR swaps (see the module docstring)."""

    name = "axnpu-insert-ddr-swap"

    ocm_bytes: int = 0
    """OCM to allocate in (0: the program's `ocm_bytes`); recorded on the program."""
    headroom: float = 0.25
    """Fraction of OCM freed (temporaries with far next uses) once the OCM is full."""
    far_use: int = 256
    """Instructions ahead beyond which a next use is far enough for a headroom eviction."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_state(op, self.name, "axnpu")
        for program in op.walk():
            if not isinstance(program, ProgramOp):
                continue
            if self.ocm_bytes > 0:
                program.properties["ocm_bytes"] = _i64(self.ocm_bytes)
            ocm_bytes = program.limit_bytes("ocm")
            ddr_bytes = program.limit_bytes("ddr")
            base = _scratch_base(program)
            for group in program.groups():
                swap_group(group, ocm_bytes, base, ddr_bytes, self.headroom, self.far_use)
                _check(group, ocm_bytes)


def _check(group: GroupOp, ocm_bytes: int) -> None:
    for op in group.instructions():
        for acc in op.reads() + op.writes():
            if acc.space == "vocm" or (acc.space == "ocm" and acc.end > ocm_bytes):
                raise OpError(op, f"after allocation still touches {acc} (ocm_bytes "
                                  f"{ocm_bytes}); this is a bug in axnpu-insert-ddr-swap")


__all__ = ["ALIGN_BYTES", "AxnpuInsertDdrSwapPass", "Temp", "find_temps", "swap_group"]
