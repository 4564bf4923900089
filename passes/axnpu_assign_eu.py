"""axnpu-assign-eu: map instructions onto the chip's execution units and order them
(pulsar2's "assign eu heuristic / onepass / greedy").

Postcondition, for every `axnpu.group` (which must have ids and deps, from
`axnpu-calc-deps`):
- every instruction but a barrier has an `eu` of its kind (`dma_*` -> sdma, `matmul` -> conv,
  vector ops -> teng) on a core of the program's npu_mode, and `cycles` = its standalone cost
  (`axc.cost.instruction_cycles`);
- the instructions are reordered into the schedule order: every dep points to an earlier
  instruction, and instructions on one EU run in list order, so `axc.sim.timing.check_schedule`
  passes; ids and deps are unchanged, so the memory semantics are those of the input;
- the module state is `axnpu-scheduled`.

Strategies (`strategy=`):
- `heuristic`: program order, each kind's units taken round-robin (cores first). O(n).
- `onepass`: one list-scheduling pass: earliest start time first, ties by priority (the
  longest standalone-cost path from the instruction's completion to the end of the group),
  then program order; each instruction goes to the unit of its kind that frees first. DMA
  streams are serialised on one DDR channel, which is how the timing model's shared
  bandwidth behaves in aggregate. O((n + e) log n).
- `greedy`: local search from the best of onepass, heuristic and a program-order list
  schedule: replay the schedule with the timing model's rules (event-driven DDR sharing),
  walk its critical chain back from the last instruction to finish, and try moving a chain
  instruction to another unit of its kind or ahead of the instruction it queued behind;
  keep the first move that shortens the makespan and repeat. Never worse than onepass.
  `iterations=` bounds the replays (deterministic: no randomness, no wall-clock limit).
  O(iterations x (n + e) log n).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from axc.chip import Chip, load_chip
from axc.cost import InstructionCost, instruction_cost
from axc.diagnostics import OpError
from axc.dialects.axnpu import EU, BufferOp, GroupOp, InstructionOp, ProgramOp
from axc.errors import AxcError
from axc.progress import stage
from axc.state import require_state, set_state

STRATEGIES = ("heuristic", "onepass", "greedy")


@dataclass
class DepGraph:
    """A group's instructions as arrays: kinds, positions of deps and successors, costs."""

    ops: list[InstructionOp]
    kinds: list[str | None]
    deps: list[list[int]]
    succs: list[list[int]]
    costs: list[InstructionCost]

    @property
    def n(self) -> int:
        return len(self.ops)


@dataclass
class Schedule:
    """An order of the instructions (positions in the input) and a unit per instruction.

    `unit[i]` indexes `units[kind]` of `EuSet` (-1 for barriers)."""

    order: list[int]
    unit: list[int]


@dataclass(frozen=True)
class EuSet:
    """The units of each kind, ordered so that round-robin spreads over cores first."""

    units: dict[str, list[tuple[int, int]]]

    @staticmethod
    def of(cores: int, per_core: dict[str, int]) -> EuSet:
        units = {kind: [(core, unit) for unit in range(count) for core in range(cores)]
                 for kind, count in per_core.items()}
        return EuSet(units)

    def names(self) -> list[tuple[str, int]]:
        return [(kind, i) for kind, lst in self.units.items() for i in range(len(lst))]


def build_graph(group: GroupOp, chip: Chip) -> DepGraph:
    """Arrays of `group`'s instructions; fails unless axnpu-calc-deps has run."""
    ops = group.instructions()
    position: dict[int, int] = {}
    for pos, op in enumerate(ops):
        ident = op.get_id()
        if ident is None:
            raise OpError(op, "instruction has no id; run axnpu-calc-deps before axnpu-assign-eu")
        position[ident] = pos
    deps: list[list[int]] = []
    succs: list[list[int]] = [[] for _ in ops]
    for pos, op in enumerate(ops):
        mine = []
        for d in op.get_deps():
            if d not in position or position[d] >= pos:
                raise OpError(op, f"dep {d} does not name an earlier instruction")
            mine.append(position[d])
            succs[position[d]].append(pos)
        deps.append(mine)
    costs = []
    for op in ops:
        try:
            costs.append(instruction_cost(op, chip))
        except (AxcError, KeyError) as err:
            raise OpError(op, f"the cost model (axc.cost) has no cost for '{op.name}': "
                              f"{err}") from err
    return DepGraph(ops, [op.eu_kind() for op in ops], deps, succs, costs)


# -- strategies ------------------------------------------------------------------------------


def heuristic(g: DepGraph, eus: EuSet) -> Schedule:
    """Program order; the units of each kind in turn."""
    nxt = dict.fromkeys(eus.units, 0)
    unit = []
    for kind in g.kinds:
        if kind is None:
            unit.append(-1)
            continue
        unit.append(nxt[kind] % len(eus.units[kind]))
        nxt[kind] += 1
    return Schedule(list(range(g.n)), unit)


def bottom_levels(g: DepGraph) -> list[float]:
    """Longest standalone-cost path from each instruction to the end of the group."""
    level = [0.0] * g.n
    for pos in range(g.n - 1, -1, -1):
        tail = max((level[s] for s in g.succs[pos]), default=0.0)
        level[pos] = g.costs[pos].cycles + tail
    return level


def list_schedule(g: DepGraph, eus: EuSet, prio: list[float], bytes_per_cycle: float
                  ) -> Schedule:
    """Earliest-start-first list scheduling; ties by higher `prio`, then program order.

    Each kind keeps the ready instructions that could start on its first free unit (by
    priority) and those whose deps finish later (by that time), so a step is O(log n)."""
    n = g.n
    waiting = [len(d) for d in g.deps]
    ready_at = [0.0] * n
    free = {kind: [0.0] * len(units) for kind, units in eus.units.items()}
    pending: dict[str, list[tuple[float, float, int]]] = {k: [] for k in eus.units}
    avail: dict[str, list[tuple[float, int]]] = {k: [] for k in eus.units}
    order: list[int] = []
    unit = [-1] * n
    ddr_free = 0.0
    barriers: deque[int] = deque()

    def release(pos: int, end: float) -> None:
        for s in g.succs[pos]:
            waiting[s] -= 1
            if end > ready_at[s]:
                ready_at[s] = end
            if waiting[s] == 0:
                if g.kinds[s] is None:
                    barriers.append(s)
                else:
                    heapq.heappush(pending[g.kinds[s]], (ready_at[s], -prio[s], s))

    for pos in range(n):
        if waiting[pos] == 0:
            if g.kinds[pos] is None:
                barriers.append(pos)
            else:
                heapq.heappush(pending[g.kinds[pos]], (0.0, -prio[pos], pos))
    while len(order) < n:
        while barriers:
            b = barriers.popleft()
            order.append(b)
            release(b, ready_at[b])
        if len(order) >= n:
            break
        best: tuple[float, float, int, str] | None = None
        for kind in eus.units:
            first_free = min(free[kind])
            heap = pending[kind]
            while heap and heap[0][0] <= first_free:
                _, neg, pos = heapq.heappop(heap)
                heapq.heappush(avail[kind], (neg, pos))
            if avail[kind]:
                neg, pos = avail[kind][0]
                cand = (first_free, neg, pos, kind)
            elif heap:
                t, neg, pos = heap[0]
                cand = (t, neg, pos, kind)
            else:
                continue
            if best is None or cand < best:
                best = cand
        assert best is not None, "list scheduling found no ready instruction (a dep cycle?)"
        start_min, _, pos, kind = best
        if avail[kind] and avail[kind][0][1] == pos:
            heapq.heappop(avail[kind])
        else:
            heapq.heappop(pending[kind])
        frees = free[kind]
        u = min(range(len(frees)), key=frees.__getitem__)
        start = max(ready_at[pos], frees[u])
        cost = g.costs[pos]
        if cost.ddr_transfer_bytes:
            stream = max(start + cost.fixed_cycles, ddr_free)
            end = stream + cost.ddr_transfer_bytes / bytes_per_cycle
            ddr_free = end
        else:
            end = start + cost.cycles
        frees[u] = end
        unit[pos] = u
        order.append(pos)
        release(pos, end)
    return Schedule(order, unit)


def replay(g: DepGraph, eus: EuSet, sched: Schedule, bytes_per_cycle: float,
           times: list[tuple[float, float]] | None = None) -> float:
    """Makespan of `sched` under the timing model's rules (the event-driven replay of
    `axc.sim.timing.simulate_timing`: in-order units, DDR shared fluidly by streaming DMAs).
    With `times`, fills it with (start, end) of every instruction (by input position)."""
    n = g.n
    rank = [0] * n
    for r, pos in enumerate(sched.order):
        rank[pos] = r
    queues: dict[tuple[str, int], deque[int]] = {}
    for pos in sched.order:
        kind = g.kinds[pos]
        if kind is not None:
            queues.setdefault((kind, sched.unit[pos]), deque()).append(pos)
    busy: dict[tuple[str, int], bool] = dict.fromkeys(queues, False)
    waiting = [len(d) for d in g.deps]
    timed: list[tuple[float, int, int]] = []
    streaming: dict[int, float] = {}
    now, done, makespan = 0.0, 0, 0.0
    eps = 1e-9
    start = [0.0] * n
    end = [0.0] * n

    def finish(pos: int) -> None:
        nonlocal done, makespan
        done += 1
        end[pos] = now
        makespan = max(makespan, now)
        kind = g.kinds[pos]
        if kind is not None:
            busy[(kind, sched.unit[pos])] = False
        for s in g.succs[pos]:
            waiting[s] -= 1
            if waiting[s] == 0 and g.kinds[s] is None:
                finish(s)

    for pos in sched.order:
        if g.kinds[pos] is None and waiting[pos] == 0:
            finish(pos)
    while done < n:
        for key, queue in queues.items():
            if not busy[key] and queue and waiting[queue[0]] == 0:
                pos = queue.popleft()
                busy[key] = True
                start[pos] = now
                heapq.heappush(timed, (now + g.costs[pos].fixed_cycles, rank[pos], pos))
        share = bytes_per_cycle / len(streaming) if streaming else 0.0
        t_timed = timed[0][0] if timed else math.inf
        t_stream = now + min(streaming.values()) / share if streaming else math.inf
        t_next = min(t_timed, t_stream)
        if t_next == math.inf:
            raise ValueError("schedule deadlocks")
        for pos in streaming:
            streaming[pos] -= (t_next - now) * share
        now = t_next
        finished: list[int] = []
        while timed and timed[0][0] <= now + eps:
            _, _, pos = heapq.heappop(timed)
            if g.costs[pos].ddr_transfer_bytes > 0:
                streaming[pos] = float(g.costs[pos].ddr_transfer_bytes)
            else:
                finished.append(pos)
        for pos, left in list(streaming.items()):
            if left <= eps * max(1.0, g.costs[pos].ddr_transfer_bytes):
                del streaming[pos]
                finished.append(pos)
        for pos in sorted(finished, key=rank.__getitem__):
            finish(pos)
    if times is not None:
        times[:] = list(zip(start, end, strict=True))
    return makespan


def priorities(g: DepGraph) -> list[float]:
    """Longest standalone-cost path from an instruction's completion to the end of the group.

    Excluding the instruction's own cost makes the inputs of one consumer (a weight tile and
    its scales) rank equal, so ties fall back to program order instead of deferring the
    short DMAs behind every long one."""
    level = bottom_levels(g)
    return [max((level[s] for s in g.succs[pos]), default=0.0) for pos in range(g.n)]


def onepass(g: DepGraph, eus: EuSet, chip: Chip) -> Schedule:
    return list_schedule(g, eus, priorities(g), chip.ddr_bytes_per_cycle)


def critical_chain(g: DepGraph, sched: Schedule, times: list[tuple[float, float]]
                   ) -> list[tuple[int, int | None]]:
    """The chain that ends last, walking back from the last instruction to finish: each
    step is (instruction, the instruction on its unit it queued behind, or None)."""
    prev_on_unit: dict[int, int] = {}
    last: dict[tuple[str, int], int] = {}
    for pos in sched.order:
        kind = g.kinds[pos]
        if kind is None:
            continue
        key = (kind, sched.unit[pos])
        if key in last:
            prev_on_unit[pos] = last[key]
        last[key] = pos
    pos: int | None = max(range(g.n), key=lambda p: (times[p][1], -p)) if g.n else None
    chain: list[tuple[int, int | None]] = []
    while pos is not None and len(chain) < g.n:
        start = times[pos][0]
        before = prev_on_unit.get(pos)
        dep = max(g.deps[pos], key=lambda d: times[d][1], default=None)
        dep_end = times[dep][1] if dep is not None else 0.0
        queued = before is not None and times[before][1] >= dep_end - 1e-6
        chain.append((pos, before if queued else None))
        if start <= 1e-6:
            break
        pos = before if queued else dep
    return chain


def _moves(g: DepGraph, eus: EuSet, sched: Schedule, pos: int, before: int | None
           ) -> list[Schedule]:
    """Local changes that might start `pos` earlier: another unit of its kind, or ahead of
    the instruction it queued behind (when no dep is in the way)."""
    kind = g.kinds[pos]
    if kind is None:
        return []
    out: list[Schedule] = []
    if before is not None:
        where = {p: i for i, p in enumerate(sched.order)}
        i, j = where[before], where[pos]
        if all(where[d] < i for d in g.deps[pos]):
            order = sched.order[:i] + [pos] + sched.order[i:j] + sched.order[j + 1:]
            out.append(Schedule(order, sched.unit))
    for u in range(len(eus.units[kind])):
        if u != sched.unit[pos]:
            unit = list(sched.unit)
            unit[pos] = u
            out.append(Schedule(sched.order, unit))
    return out


def greedy(g: DepGraph, eus: EuSet, chip: Chip, iterations: int,
           progress: object | None = None) -> Schedule:
    """Local search from the best of onepass, heuristic and a program-order list schedule:
    repeatedly take the critical chain of the replayed best schedule and try, from its end,
    moving a chain instruction to another unit or ahead of the instruction it queued behind;
    keep the first move that shortens the replayed makespan. `iterations` bounds the number
    of replays; the result is never worse than any seed."""
    bpc = chip.ddr_bytes_per_cycle
    seeds = [
        onepass(g, eus, chip),
        heuristic(g, eus),
        list_schedule(g, eus, [float(g.n - p) for p in range(g.n)], bpc),
    ]
    best, best_span = seeds[0], math.inf
    for cand in seeds:
        span = replay(g, eus, cand, bpc)
        if span < best_span - 1e-6:
            best, best_span = cand, span
    budget = iterations
    times: list[tuple[float, float]] = []
    replay(g, eus, best, bpc, times)
    tried: set[tuple[int, int | None, float]] = set()
    while budget > 0:
        improved = False
        for pos, before in critical_chain(g, best, times):
            key = (pos, before, best_span)
            if key in tried:
                continue
            tried.add(key)
            for cand in _moves(g, eus, best, pos, before):
                budget -= 1
                if progress is not None:
                    progress.advance()  # type: ignore[attr-defined]
                cand_times: list[tuple[float, float]] = []
                span = replay(g, eus, cand, bpc, cand_times)
                if span < best_span - 1e-6:
                    best, best_span, times = cand, span, cand_times
                    improved = True
                    break
                if budget <= 0:
                    break
            if improved or budget <= 0:
                break
        if not improved:
            break
    return best


# -- applying a schedule to the IR -----------------------------------------------------------


def apply_schedule(group: GroupOp, g: DepGraph, eus: EuSet, sched: Schedule) -> None:
    """Set eu and cycles, and reorder the group's instructions into the schedule order."""
    block = group.body.block
    for pos in sched.order:
        op = g.ops[pos]
        kind = g.kinds[pos]
        if kind is not None:
            core, unit = eus.units[kind][sched.unit[pos]]
            op.set_eu(EU(kind, core, unit))
        else:
            op.set_eu(None)
        op.set_cycles(g.costs[pos].cycles)
    for op in g.ops:
        op.detach()
    anchor = next((op for op in reversed(block.ops) if isinstance(op, BufferOp)), None)
    for pos in sched.order:
        op = g.ops[pos]
        if anchor is None:
            if block.first_op is None:
                block.add_op(op)
            else:
                block.insert_op_before(op, block.first_op)
        else:
            block.insert_op_after(op, anchor)
        anchor = op


def chip_for(program: ProgramOp, chip: str = "", npu_mode: str = "") -> Chip:
    """The chip file of the program (or `chip`), in the npu_mode with the program's cores."""
    base = load_chip(chip or program.chip.data)
    if npu_mode:
        return base.with_npu_mode(npu_mode)
    cores = program.cores.value.data
    for mode, count in base.npu_modes:
        if count == cores:
            return base.with_npu_mode(mode)
    raise OpError(program, f"chip {base.name} has no npu_mode with {cores} cores")


def schedule_group(group: GroupOp, chip: Chip, strategy: str, iterations: int = 200,
                   cores: int | None = None, per_core: dict[str, int] | None = None) -> Schedule:
    """Schedule one group in place with `strategy`; returns the schedule."""
    eus = EuSet.of(cores or chip.cores,
                   per_core or {k: chip.eu_count(k) for k in ("conv", "teng", "sdma")})
    g = build_graph(group, chip)
    name = f"assign eu {strategy}"
    if strategy == "heuristic":
        with stage(name, 1) as bar:
            sched = heuristic(g, eus)
            bar.advance()
    elif strategy == "onepass":
        with stage(name, 1) as bar:
            sched = onepass(g, eus, chip)
            bar.advance()
    else:
        with stage(name, iterations) as bar:
            sched = greedy(g, eus, chip, iterations, progress=bar)
    apply_schedule(group, g, eus, sched)
    return sched


@dataclass(frozen=True)
class AxnpuAssignEuPass(ModulePass):
    """Assign EUs and order the instructions of every group (see the module docstring)."""

    name = "axnpu-assign-eu"

    strategy: str = "greedy"
    iterations: int = 200
    """greedy: the most candidate schedules replayed."""
    chip: str = ""
    """Chip name or .chip path for the cost model (default: the program's chip)."""
    npu_mode: str = ""
    """npu_mode of the chip (default: the one with the program's cores)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_state(op, self.name, "axnpu", "axnpu-scheduled")
        if self.strategy not in STRATEGIES:
            raise OpError(op, f"unknown strategy '{self.strategy}'; expected one of "
                              f"{', '.join(STRATEGIES)}")
        for program in op.walk():
            if not isinstance(program, ProgramOp):
                continue
            chip = chip_for(program, self.chip, self.npu_mode)
            cores = program.cores.value.data
            if cores > chip.cores:
                raise OpError(program, f"the program has {cores} cores, but {chip.name} in "
                                       f"{chip.npu_mode} has {chip.cores}")
            per_core = {k: program.eu_count(k) for k in ("conv", "teng", "sdma")}
            for group in program.groups():
                schedule_group(group, chip, self.strategy, self.iterations, cores, per_core)
        set_state(op, "axnpu-scheduled")


__all__ = ["STRATEGIES", "AxnpuAssignEuPass", "DepGraph", "EuSet", "Schedule", "bottom_levels",
           "build_graph", "chip_for", "greedy", "heuristic", "list_schedule", "onepass",
           "replay", "schedule_group"]
