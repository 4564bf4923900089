"""The simulator of the open AX NPU model (DESIGN.md section 7).

Timing mode (`axc.sim.timing`): replay a scheduled axnpu group against a chip file (EU
occupancy, DDR bandwidth shared by the SDMA units) and report cycles per group, with an
optional Chrome/Perfetto trace of the EU timeline.

Functional mode (`axc.sim.functional`): execute a group's instruction stream bit-for-bit on a
model of DDR and OCM (`run_group`, `run_program`; `FunctionalSimulator` keeps the compiled
groups and the dequantised-weight cache of one program; `axc.sim.blas` keeps numpy's OpenBLAS
on one thread while a group runs).
"""

from axc.sim.functional import (
    CompiledGroup,
    FunctionalSimulator,
    SimulationError,
    run_group,
    run_program,
    simulator_for,
)
from axc.sim.timing import (
    EUStats,
    InstructionTiming,
    ScheduleError,
    TimingResult,
    check_schedule,
    simulate_program,
    simulate_timing,
    write_trace,
)

__all__ = [
    "CompiledGroup",
    "EUStats",
    "FunctionalSimulator",
    "InstructionTiming",
    "ScheduleError",
    "SimulationError",
    "TimingResult",
    "check_schedule",
    "run_group",
    "run_program",
    "simulate_program",
    "simulate_timing",
    "simulator_for",
    "write_trace",
]
