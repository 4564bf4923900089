"""The simulator of the open AX NPU model (DESIGN.md section 7).

Timing mode (`axc.sim.timing`): replay a scheduled axnpu group against a chip file (EU
occupancy, DDR bandwidth shared by the SDMA units) and report cycles per group, with an
optional Chrome/Perfetto trace of the EU timeline.
"""

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
    "EUStats",
    "InstructionTiming",
    "ScheduleError",
    "TimingResult",
    "check_schedule",
    "simulate_program",
    "simulate_timing",
    "write_trace",
]
