"""axnpu-calc-deps: memory-hazard edges between instructions (pulsar2's "calc input
dependencies" / "calc output dependencies").

Postcondition, for every `axnpu.group` of every `axnpu.program`:
- every instruction has `id` = its position in program order (0, 1, ...);
- `deps` holds ids of earlier instructions only, each once, such that the transitive closure
  of `deps` contains every memory hazard over exact bytes (`Access.overlaps`, OCM and DDR):
  read-after-write (an input reads bytes an earlier instruction wrote), write-after-read and
  write-after-write (an output overwrites bytes an earlier instruction read or wrote);
- deps given before the pass (e.g. on barriers) are kept, renumbered to the new ids;
- the edge set is reduced: an earlier access whose bytes a later write covers completely is
  retired (the later write stands for it), and a dep that is already a dep of another dep is
  dropped. So any order that runs each instruction after its deps computes what program
  order computes (docs/axnpu.md, "Ordering contract").

Two sweeps over the group: "calc input dependencies" (RAW, against live writes) and "calc
output dependencies" (WAR and WAW, against live reads and writes). Live accesses sit in a
per-space index bucketed by the 1 KiB address blocks their rows touch, so a query inspects
only accesses that share a block with it; exact byte overlap then decides. With retirement the
live set stays small, so a group costs about O(n log n) rather than O(n^2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from axc.dialects.axnpu import Access, GroupOp, InstructionOp, ProgramOp
from axc.progress import stage
from axc.state import require_state

_BLOCK_BITS = 10
"""Bucket size of the interval index: 1 KiB address blocks."""


def _blocks(acc: Access) -> Iterable[int]:
    """The blocks that bytes of `acc` fall in (a superset when its rows are dense)."""
    first, last = acc.offset >> _BLOCK_BITS, (acc.end - 1) >> _BLOCK_BITS
    if acc.rows == 1 or last - first + 1 <= 2 * acc.rows:
        return range(first, last + 1)
    # rows sparser than blocks (column tiles of a wide matrix, strided cache rows): only the
    # blocks a row touches, so disjoint interleaved tiles rarely meet as candidates
    found: set[int] = set()
    for start, end in acc.byte_ranges():
        found.update(range(start >> _BLOCK_BITS, ((end - 1) >> _BLOCK_BITS) + 1))
    return sorted(found)


def covers(outer: Access, inner: Access) -> bool:
    """Whether every byte of `inner` is a byte of `outer` (exact for the common shapes,
    conservative False otherwise)."""
    if outer.space != inner.space or inner.offset < outer.offset or inner.end > outer.end:
        return False
    if outer.rows == 1:
        return True
    s = outer.stride_bytes
    rel = inner.offset - outer.offset
    row, col = divmod(rel, s)
    if inner.rows == 1:
        return col + inner.row_bytes <= outer.row_bytes and row < outer.rows
    if inner.stride_bytes % s:
        return False
    last_row = row + (inner.rows - 1) * (inner.stride_bytes // s)
    return col + inner.row_bytes <= outer.row_bytes and last_row < outer.rows


@dataclass
class _Rec:
    """One live access of instruction `pos`."""

    pos: int
    acc: Access
    alive: bool = True


class _IntervalIndex:
    """Live accesses per memory space, bucketed by the 1 KiB blocks their rows touch."""

    def __init__(self) -> None:
        self._blocks: dict[tuple[str, int], list[_Rec]] = {}

    def add(self, rec: _Rec) -> None:
        space = rec.acc.space
        for b in _blocks(rec.acc):
            self._blocks.setdefault((space, b), []).append(rec)

    def overlapping(self, acc: Access) -> list[_Rec]:
        """Live records whose bytes overlap `acc` (each once)."""
        seen: set[int] = set()
        found: list[_Rec] = []
        space = acc.space
        for b in _blocks(acc):
            for rec in self._blocks.get((space, b), ()):
                if rec.alive and id(rec) not in seen:
                    seen.add(id(rec))
                    if rec.acc.overlaps(acc):
                        found.append(rec)
        return found

    def overwrite(self, acc: Access) -> None:
        """`acc` is being written: forget what these bytes held before.

        Records `acc` covers entirely are retired. Buckets of blocks that `acc` covers
        entirely are emptied even of records that extend beyond them: every byte of such a
        block is now written by `acc` (or later), which waits for the dropped records, so a
        later access to the block depends on them through `acc`."""
        self._retire_covered(acc)
        size = 1 << _BLOCK_BITS
        if acc.row_bytes < size:
            return
        space = acc.space
        for start, end in acc.byte_ranges():
            for b in range((start + size - 1) >> _BLOCK_BITS, end >> _BLOCK_BITS):
                self._blocks.pop((space, b), None)

    def _retire_covered(self, acc: Access) -> None:
        retired = False
        space, lo, hi = acc.space, acc.offset, acc.end
        seen: set[int] = set()
        for b in _blocks(acc):
            for rec in self._blocks.get((space, b), ()):
                other = rec.acc
                # the bounding-range test first: wide strided records never qualify
                if (rec.alive and lo <= other.offset and other.end <= hi
                        and id(rec) not in seen):
                    seen.add(id(rec))
                    if covers(acc, other):
                        rec.alive = False
                        retired = True
        if not retired:
            return
        for b in _blocks(acc):
            recs = self._blocks.get((space, b))
            if recs is not None:
                live = [r for r in recs if r.alive]
                if live:
                    self._blocks[(space, b)] = live
                else:
                    del self._blocks[(space, b)]

    def retire_covered(self, acc: Access) -> None:
        """Retire the live records whose bytes `acc` covers."""
        self._retire_covered(acc)


def input_dependencies(ops: list[InstructionOp], progress: object | None = None) -> list[set[int]]:
    """RAW: for each instruction, positions of the live writers of the bytes it reads."""
    writes = _IntervalIndex()
    deps: list[set[int]] = []
    for pos, op in enumerate(ops):
        mine: set[int] = set()
        for acc in op.reads():
            mine.update(rec.pos for rec in writes.overlapping(acc))
        mine.discard(pos)
        deps.append(mine)
        for acc in op.writes():
            writes.overwrite(acc)
            writes.add(_Rec(pos, acc))
        if progress is not None:
            progress.advance()  # type: ignore[attr-defined]
    return deps


def output_dependencies(ops: list[InstructionOp],
                        progress: object | None = None) -> list[set[int]]:
    """WAR and WAW: for each instruction, positions of the live readers and writers of the
    bytes it writes."""
    reads, writes = _IntervalIndex(), _IntervalIndex()
    deps: list[set[int]] = []
    for pos, op in enumerate(ops):
        mine: set[int] = set()
        outs = op.writes()
        for acc in outs:
            mine.update(rec.pos for rec in writes.overlapping(acc))
            mine.update(rec.pos for rec in reads.overlapping(acc))
        mine.discard(pos)
        deps.append(mine)
        for acc in op.reads():
            reads.add(_Rec(pos, acc))
            # a write whose bytes this read covers: a later write to them conflicts with
            # this read (WAR), which depends on that write (RAW), so it need not stay live
            writes.retire_covered(acc)
        for acc in outs:
            # a later access to these bytes conflicts with this write, which waits for the
            # covered readers and writers: they are implied and need not stay live
            reads.overwrite(acc)
            writes.overwrite(acc)
            writes.add(_Rec(pos, acc))
        if progress is not None:
            progress.advance()  # type: ignore[attr-defined]
    return deps


def reduce_deps(deps: list[set[int]]) -> list[list[int]]:
    """Drop a dep that is also a dep of another dep (one level of transitive reduction)."""
    reduced: list[list[int]] = []
    for mine in deps:
        implied: set[int] = set()
        for d in mine:
            implied.update(reduced[d])
        reduced.append(sorted(mine - implied))
    return reduced


def calc_group_deps(group: GroupOp) -> None:
    """Number the instructions of `group` and set their reduced hazard deps."""
    ops = group.instructions()
    old_pos = {op.get_id(): pos for pos, op in enumerate(ops) if op.get_id() is not None}
    with stage("calc input dependencies", len(ops)) as bar:
        raw = input_dependencies(ops, bar)
    with stage("calc output dependencies", len(ops)) as bar:
        waw = output_dependencies(ops, bar)
    merged: list[set[int]] = []
    for pos, op in enumerate(ops):
        given = {old_pos[d] for d in op.get_deps() if d in old_pos and old_pos[d] < pos}
        merged.append(raw[pos] | waw[pos] | given)
    for pos, (op, deps) in enumerate(zip(ops, reduce_deps(merged), strict=True)):
        op.set_id(pos)
        op.set_deps(deps if deps else None)


@dataclass(frozen=True)
class AxnpuCalcDepsPass(ModulePass):
    """Give every instruction an id and its memory-hazard deps (see the module docstring)."""

    name = "axnpu-calc-deps"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_state(op, self.name, "axnpu", "axnpu-scheduled")
        for program in op.walk():
            if isinstance(program, ProgramOp):
                for group in program.groups():
                    calc_group_deps(group)


__all__ = ["AxnpuCalcDepsPass", "calc_group_deps", "covers", "input_dependencies",
           "output_dependencies", "reduce_deps"]
