"""Timing mode of the simulator: replay a scheduled axnpu group against a chip file.

Contract (docs/axnpu.md, "Schedule fields"): every instruction has an `id`, its `deps` and
(except barriers) an `eu`; instructions on one EU run in program order. An instruction
starts when its EU is free and all its deps have finished, and then takes the cycles of the
cost model (`axc.cost`). DMA loads and stores of all cores share the DDR bandwidth with an
event-driven fluid model: a DMA first spends its fixed cycles (issue + DDR latency), then
streams its bytes; while k DMAs stream at once each progresses at bandwidth / k. A group run
also pays the chip's `group_launch_us` once. `write_trace` writes the EU timeline as a
Chrome / Perfetto `trace.json`.
"""

from __future__ import annotations

import heapq
import json
import math
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from axc.chip import Chip
from axc.cost import InstructionCost, instruction_cost
from axc.dialects.axnpu import GroupOp, InstructionOp, ProgramOp
from axc.errors import AxcError

# -- schedule check --------------------------------------------------------------------------


class ScheduleError(AxcError):
    """A group whose schedule cannot run as written; `op` is the offending instruction."""

    def __init__(self, op: InstructionOp, message: str) -> None:
        super().__init__(message)
        self.op = op


def _describe(op: InstructionOp, pos: int) -> str:
    ident = op.get_id()
    where = f", id {ident}" if ident is not None else ""
    loc = op.location
    line = getattr(getattr(loc, "line", None), "data", None)
    return f"instruction {pos} ('{op.name}'{where}{f', line {line}' if line else ''})"


def eu_name(kind: str, core: int, unit: int) -> str:
    """Track name of an EU: `c<core>.<kind><unit>`, e.g. `c0.conv1`."""
    return f"c{core}.{kind}{unit}"


@dataclass(frozen=True)
class _Scheduled:
    ops: list[InstructionOp]
    eus: list[str | None]  # None for barriers
    deps: list[list[int]]  # positions of each instruction's deps


def _scheduled(group: GroupOp, chip: Chip) -> _Scheduled:
    ops = group.instructions()
    position: dict[int, int] = {}
    eus: list[str | None] = []
    for pos, op in enumerate(ops):
        ident = op.get_id()
        if ident is None:
            raise ScheduleError(op, f"{_describe(op, pos)} has no id; run axnpu-calc-deps")
        if ident in position:
            first = ops[position[ident]]
            raise ScheduleError(op, f"{_describe(op, pos)} reuses the id of "
                                    f"{_describe(first, position[ident])}")
        position[ident] = pos
        eus.append(_check_eu(op, pos, chip))
    deps: list[list[int]] = []
    for pos, op in enumerate(ops):
        mine: list[int] = []
        for dep in op.get_deps():
            if dep not in position:
                raise ScheduleError(op, f"{_describe(op, pos)} depends on id {dep}, which no "
                                        f"instruction of group @{group.sym_name.data} has")
            target = position[dep]
            if target >= pos:
                # EUs run in program order, so a dep on a later (or the same) instruction
                # either deadlocks its EU or breaks the rule that program order is a valid
                # sequential order
                what = "itself" if target == pos else f"{_describe(ops[target], target)}"
                raise ScheduleError(op, f"{_describe(op, pos)} depends on {what}, which does "
                                        "not come earlier in program order; the schedule "
                                        "cannot respect that dependency")
            mine.append(target)
        deps.append(mine)
    return _Scheduled(ops, eus, deps)


def _check_eu(op: InstructionOp, pos: int, chip: Chip) -> str | None:
    kind = op.eu_kind()
    eu = op.eu
    if kind is None:
        if eu is not None:
            raise ScheduleError(op, f"{_describe(op, pos)} runs on no EU but has one")
        return None
    if eu is None:
        raise ScheduleError(op, f"{_describe(op, pos)} has no eu; run axnpu-assign-eu")
    got, core, unit = eu.kind.data, eu.core.data, eu.unit.data
    if got != kind:
        raise ScheduleError(op, f"{_describe(op, pos)} is a {kind} instruction on a {got} EU")
    if core >= chip.cores:
        raise ScheduleError(op, f"{_describe(op, pos)} runs on core {core}, but {chip.name} "
                                f"in {chip.npu_mode} has {chip.cores} core(s)")
    if unit >= chip.eu_count(kind):
        raise ScheduleError(op, f"{_describe(op, pos)} runs on {kind} unit {unit}, but each "
                                f"{chip.name} core has {chip.eu_count(kind)}")
    return eu_name(kind, core, unit)


def check_schedule(group_op: GroupOp, chip: Chip) -> None:
    """Raise `ScheduleError` naming the first instruction whose schedule cannot run.

    Checks: ids present and unique; every dep names an instruction that comes earlier in
    program order (EUs run in program order, so this also rules out cycles and EU-order
    deadlocks); every instruction but a barrier has an EU of its kind that exists on `chip`
    in its npu_mode.
    """
    _scheduled(group_op, chip)


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstructionTiming:
    """When one instruction ran (cycles from the start of the group's instructions)."""

    position: int
    id: int
    name: str
    eu: str | None
    deps: tuple[int, ...]
    start_cycles: float
    end_cycles: float
    standalone_cycles: int
    ddr_bytes: int


@dataclass(frozen=True)
class EUStats:
    name: str
    instructions: int
    busy_cycles: float
    utilisation: float
    """busy / makespan (launch excluded)."""


@dataclass(frozen=True)
class TimingResult:
    """Predicted timing of one group run on one chip."""

    group: str
    chip: str
    npu_mode: str
    clock_mhz: float
    makespan_cycles: int
    """From the first instruction's start to the last one's end."""
    launch_cycles: int
    """The chip's fixed cost of starting a group (`group_launch_us`)."""
    eus: dict[str, EUStats]
    ddr_bytes: int
    instructions: tuple[InstructionTiming, ...]

    @property
    def total_cycles(self) -> int:
        return self.makespan_cycles + self.launch_cycles

    @property
    def time_ms(self) -> float:
        return self.total_cycles / (self.clock_mhz * 1e3)

    @property
    def ddr_gbps(self) -> float:
        """DDR bytes moved per second over the makespan."""
        seconds = self.makespan_cycles / (self.clock_mhz * 1e6)
        return self.ddr_bytes / seconds / 1e9 if seconds else 0.0

    def summary(self) -> str:
        """A few lines for logs: totals and the busy EUs."""
        lines = [
            f"group @{self.group} on {self.chip} {self.npu_mode}: {self.total_cycles} cycles "
            f"({self.time_ms:.4f} ms; makespan {self.makespan_cycles} + launch "
            f"{self.launch_cycles}), DDR {self.ddr_bytes} bytes at {self.ddr_gbps:.2f} GB/s",
        ]
        for stats in self.eus.values():
            if stats.instructions:
                lines.append(f"  {stats.name:<10} {stats.instructions:>6} instr  "
                             f"busy {stats.busy_cycles:>12.0f} cycles  "
                             f"{100 * stats.utilisation:5.1f}%")
        return "\n".join(lines)


# -- the replay ------------------------------------------------------------------------------

_EPS = 1e-9


def simulate_timing(group_op: GroupOp, chip: Chip) -> TimingResult:
    """Replay a scheduled group on `chip` (in its npu_mode) and predict its timing.

    Raises `ScheduleError` (see `check_schedule`) when the schedule cannot run.
    """
    sched = _scheduled(group_op, chip)
    ops, n = sched.ops, len(sched.ops)
    costs: list[InstructionCost] = [instruction_cost(op, chip) for op in ops]
    waiting = [len(d) for d in sched.deps]
    dependents: list[list[int]] = [[] for _ in range(n)]
    for pos, deps in enumerate(sched.deps):
        for dep in deps:
            dependents[dep].append(pos)
    queues: dict[str, deque[int]] = {}
    for pos, eu in enumerate(sched.eus):
        if eu is not None:
            queues.setdefault(eu, deque()).append(pos)
    busy: dict[str, int | None] = dict.fromkeys(queues)
    start = [math.nan] * n
    end = [math.nan] * n
    timed: list[tuple[float, int, int]] = []  # (end time, position, phase) of fixed phases
    streaming: dict[int, float] = {}  # position -> DDR bytes left to stream
    bytes_per_cycle = chip.ddr_bytes_per_cycle
    now, done = 0.0, 0

    def finish(pos: int) -> None:
        nonlocal done
        end[pos] = now
        done += 1
        eu = sched.eus[pos]
        if eu is not None:
            busy[eu] = None
        for nxt in dependents[pos]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0 and sched.eus[nxt] is None:  # a barrier completes at once
                start[nxt] = now
                finish(nxt)

    for pos in range(n):  # barriers without deps
        if sched.eus[pos] is None and waiting[pos] == 0 and math.isnan(end[pos]):
            start[pos] = now
            finish(pos)

    while done < n:
        for eu, queue in queues.items():  # start every instruction that can start now
            if busy[eu] is None and queue and waiting[queue[0]] == 0:
                pos = queue.popleft()
                busy[eu] = pos
                start[pos] = now
                cost = costs[pos]
                heapq.heappush(timed, (now + cost.fixed_cycles, pos, 0))
        share = bytes_per_cycle / len(streaming) if streaming else 0.0
        t_timed = timed[0][0] if timed else math.inf
        t_stream = now + min(streaming.values()) / share if streaming else math.inf
        t_next = min(t_timed, t_stream)
        if t_next == math.inf:
            stuck = next(p for p in range(n) if math.isnan(end[p]))
            raise ScheduleError(ops[stuck], f"{_describe(ops[stuck], stuck)} can never start")
        for pos in streaming:
            streaming[pos] -= (t_next - now) * share
        now = t_next
        finished: list[int] = []
        while timed and timed[0][0] <= now + _EPS:
            _, pos, _ = heapq.heappop(timed)
            if costs[pos].ddr_transfer_bytes > 0:
                streaming[pos] = float(costs[pos].ddr_transfer_bytes)
            else:
                finished.append(pos)
        for pos, left in list(streaming.items()):
            # also done when its remaining time is below the resolution of `now` (late in a
            # long group, e.g. a Llama-3-8B prefill at 2e8 cycles): otherwise now + dt == now
            # and the loop never advances
            if (left <= _EPS * max(1.0, costs[pos].ddr_transfer_bytes)
                    or (share > 0 and now + left / share <= now)):
                del streaming[pos]
                finished.append(pos)
        for pos in sorted(finished):
            finish(pos)

    return _result(group_op, chip, sched, costs, start, end)


def _result(group: GroupOp, chip: Chip, sched: _Scheduled, costs: list[InstructionCost],
            start: list[float], end: list[float]) -> TimingResult:
    makespan = math.ceil(max(end, default=0.0) - 1e-6) if end else 0
    makespan = max(makespan, 0)
    rows = tuple(
        InstructionTiming(pos, op.get_id() or 0, op.name, sched.eus[pos],
                          tuple(op.get_deps()), start[pos], end[pos], costs[pos].cycles,
                          costs[pos].ddr_bytes)
        for pos, op in enumerate(sched.ops)
    )
    eus: dict[str, EUStats] = {}
    for kind, core, unit in chip.eus():
        name = eu_name(kind, core, unit)
        mine = [r for r in rows if r.eu == name]
        busy = sum(r.end_cycles - r.start_cycles for r in mine)
        eus[name] = EUStats(name, len(mine), busy, busy / makespan if makespan else 0.0)
    return TimingResult(
        group=group.sym_name.data, chip=chip.name, npu_mode=chip.npu_mode,
        clock_mhz=chip.clock_mhz, makespan_cycles=makespan,
        launch_cycles=chip.group_launch_cycles, eus=eus,
        ddr_bytes=sum(c.ddr_bytes for c in costs), instructions=rows,
    )


def simulate_program(program: ProgramOp, chip: Chip) -> dict[str, TimingResult]:
    """`simulate_timing` of every group of a program, by group name."""
    return {g.sym_name.data: simulate_timing(g, chip) for g in program.groups()}


# -- trace -----------------------------------------------------------------------------------


def trace_events(result: TimingResult) -> list[dict[str, object]]:
    """Chrome trace events: a process per core, a thread (track) per EU, one complete ("X")
    event per instruction named `<op> #<id>`; barriers go on their own track."""
    us_per_cycle = 1.0 / result.clock_mhz
    cores = sorted({int(name[1:].split(".")[0]) for name in result.eus})
    barrier_pid = len(cores)
    tracks = {name: (int(name[1:].split(".")[0]), i) for i, name in enumerate(result.eus)}
    events: list[dict[str, object]] = []
    for core in cores:
        events.append({"ph": "M", "name": "process_name", "pid": core,
                       "args": {"name": f"{result.chip} core {core}"}})
    events.append({"ph": "M", "name": "process_name", "pid": barrier_pid,
                   "args": {"name": "barriers"}})
    for name, (pid, tid) in tracks.items():
        events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                       "args": {"name": name}})
        events.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                       "args": {"sort_index": tid}})
    for row in result.instructions:
        pid, tid = tracks[row.eu] if row.eu is not None else (barrier_pid, 0)
        events.append({
            "ph": "X", "name": f"{row.name} #{row.id}", "cat": row.name.split(".")[-1],
            "pid": pid, "tid": tid,
            "ts": row.start_cycles * us_per_cycle,
            "dur": (row.end_cycles - row.start_cycles) * us_per_cycle,
            "args": {"id": row.id, "deps": list(row.deps), "position": row.position,
                     "start_cycles": row.start_cycles, "end_cycles": row.end_cycles,
                     "standalone_cycles": row.standalone_cycles,
                     "ddr_bytes": row.ddr_bytes},
        })
    return events


def write_trace(result: TimingResult, path: str | os.PathLike[str]) -> Path:
    """Write `result` as a Chrome / Perfetto trace.json (open in ui.perfetto.dev)."""
    doc = {
        "traceEvents": trace_events(result),
        "displayTimeUnit": "ns",
        "otherData": {
            "group": result.group, "chip": result.chip, "npu_mode": result.npu_mode,
            "clock_mhz": result.clock_mhz, "makespan_cycles": result.makespan_cycles,
            "launch_cycles": result.launch_cycles, "total_cycles": result.total_cycles,
            "time_ms": result.time_ms, "ddr_bytes": result.ddr_bytes,
            "ddr_gbps": result.ddr_gbps,
        },
    }
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


__all__ = [
    "EUStats", "InstructionTiming", "ScheduleError", "TimingResult", "check_schedule",
    "eu_name", "simulate_program", "simulate_timing", "trace_events", "write_trace",
]
