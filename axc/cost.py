"""The instruction cost model: standalone cycles of every axnpu instruction on a chip.

`instruction_cycles(op, chip)` is a pure function of the instruction and the chip file: the
cycles the instruction takes when it runs alone. Contention is not modelled here: when
several DMAs overlap, the timing model (`axc.sim.timing`) shares the DDR bandwidth between
them, using the split that `instruction_cost` exposes (fixed cycles + bytes that compete for
DDR). The formulas (docs/chip-model.md):

- DMA load/store: overhead + DDR latency + DDR bytes / achievable DDR bytes per cycle, where
  each row of the DDR side moves whole bursts;
- DMA copy (OCM -> OCM): overhead + bytes / OCM copy bytes per cycle;
- matmul: overhead + (M rounded up to the MAC array's row block) x K x N / MACs per cycle for
  the activation and weight dtypes;
- TENG ops: overhead + elements x cost factor of the kind / elements per cycle (a gather
  from a DDR table also pays the DDR latency and its bytes);
- barrier: 0.

The primitives (`dma_cycles`, `matmul_cycles`, `teng_cycles`) are public so that analytical
models (bench/calibrate.py) use exactly the per-instruction formulas and parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from axc.chip import Chip
from axc.dialects.axnpu import (
    BarrierOp,
    DmaCopyOp,
    DmaLoadOp,
    DmaStoreOp,
    EltwiseOp,
    GatherOp,
    InstructionOp,
    LayerNormOp,
    MatmulOp,
    ReduceOp,
    RmsNormOp,
    RopeOp,
    SoftmaxOp,
    TopKOp,
    TransposeOp,
)
from axc.errors import AxcError


@dataclass(frozen=True)
class InstructionCost:
    """The cost of one instruction, split the way the timing model needs it.

    `fixed_cycles` do not depend on other instructions; `ddr_transfer_bytes` (burst-padded)
    then stream through the DDR bandwidth that concurrent DMAs share. Standalone,
    `cycles = fixed_cycles + ceil(ddr_transfer_bytes / chip.ddr_bytes_per_cycle)`.
    """

    cycles: int
    fixed_cycles: int
    ddr_transfer_bytes: int = 0
    """Bytes that compete for DDR bandwidth (DMA load/store only)."""
    ddr_bytes: int = 0
    """Payload bytes read from or written to DDR (for reporting)."""


# -- primitives ------------------------------------------------------------------------------


def ddr_burst_bytes(rows: int, row_bytes: int, stride_bytes: int, chip: Chip) -> int:
    """DDR bytes actually transferred for `rows` runs of `row_bytes`: whole bursts per run.

    Contiguous rows (stride == row_bytes) are one run.
    """
    burst = chip.ddr_burst_bytes
    if rows == 1 or stride_bytes == row_bytes:
        return math.ceil(rows * row_bytes / burst) * burst
    return rows * math.ceil(row_bytes / burst) * burst


def dma_fixed_cycles(chip: Chip) -> int:
    """Issue overhead plus DDR latency of one DDR DMA instruction."""
    return chip.dma_overhead_cycles + chip.ddr_latency_cycles


def dma_cycles(nbytes: int, chip: Chip, rows: int = 1, row_bytes: int | None = None,
               stride_bytes: int | None = None) -> int:
    """Standalone cycles of a DDR <-> OCM DMA of `nbytes` (optionally a 2-D pattern)."""
    row_bytes = nbytes // rows if row_bytes is None else row_bytes
    stride_bytes = row_bytes if stride_bytes is None else stride_bytes
    transfer = ddr_burst_bytes(rows, row_bytes, stride_bytes, chip)
    return dma_fixed_cycles(chip) + math.ceil(transfer / chip.ddr_bytes_per_cycle)


def ocm_copy_cycles(nbytes: int, chip: Chip) -> int:
    """Cycles of an OCM -> OCM copy on one SDMA unit."""
    return chip.dma_overhead_cycles + math.ceil(nbytes / chip.ocm_copy_bytes_per_cycle)


def matmul_macs(m: int, k: int, n: int, chip: Chip) -> int:
    """MACs the array spends on an [M, K] x [K, N] tile: M rounds up to its row block."""
    granule = chip.conv_m_granule_rows
    return math.ceil(m / granule) * granule * k * n


def matmul_cycles(m: int, k: int, n: int, act_dtype: str, weight_dtype: str, chip: Chip) -> int:
    """Cycles of one matmul tile on one CONV unit."""
    rate = chip.matmul_macs_per_cycle(act_dtype, weight_dtype)
    return chip.conv_overhead_cycles + math.ceil(matmul_macs(m, k, n, chip) / rate)


def teng_cycles(kind: str, elements: int, chip: Chip) -> int:
    """Cycles of one vector instruction of `kind` (eltwise kind or op name) on one TENG."""
    work = elements * chip.teng_cost_factor(kind)
    return chip.teng_overhead_cycles + math.ceil(work / chip.teng_elements_per_cycle)


# -- per instruction -------------------------------------------------------------------------


def _dma_cost(op: DmaLoadOp | DmaStoreOp | DmaCopyOp, chip: Chip) -> InstructionCost:
    rows, row_bytes, src_stride, dst_stride = op.pattern()
    payload = rows * row_bytes
    if isinstance(op, DmaCopyOp):
        return InstructionCost(ocm_copy_cycles(payload, chip), ocm_copy_cycles(payload, chip))
    stride = src_stride if isinstance(op, DmaLoadOp) else dst_stride
    # a 0-stride (broadcast) source re-reads its row from DDR each time
    transfer = ddr_burst_bytes(rows, row_bytes, stride, chip)
    fixed = dma_fixed_cycles(chip)
    cycles = fixed + math.ceil(transfer / chip.ddr_bytes_per_cycle)
    return InstructionCost(cycles, fixed, transfer, payload)


def _teng_cost(op: InstructionOp, chip: Chip) -> InstructionCost:
    if isinstance(op, EltwiseOp):
        kind, elements = op.get_kind().value, op.out.numel
    elif isinstance(op, GatherOp):
        kind, elements = "gather", op.out.numel
    else:
        kind = _TENG_KINDS[type(op)]
        elements = op.x.numel
    cycles = teng_cycles(kind, elements, chip)
    ddr = 0
    if isinstance(op, GatherOp) and op.table.space.data == "ddr":
        # rows of a DDR table are fetched at run-time addresses: latency plus their bytes;
        # they do not take part in DMA bandwidth sharing (docs/chip-model.md)
        rows, row_bytes = op.indices.numel, op.table.row_bytes
        ddr = rows * row_bytes
        transfer = rows * math.ceil(row_bytes / chip.ddr_burst_bytes) * chip.ddr_burst_bytes
        cycles += chip.ddr_latency_cycles + math.ceil(transfer / chip.ddr_bytes_per_cycle)
    return InstructionCost(cycles, cycles, 0, ddr)


_TENG_KINDS: dict[type, str] = {
    RmsNormOp: "rms_norm", LayerNormOp: "layer_norm", RopeOp: "rope", SoftmaxOp: "softmax",
    ReduceOp: "reduce", TransposeOp: "transpose", TopKOp: "topk",
}


def instruction_cost(op: InstructionOp, chip: Chip) -> InstructionCost:
    """The cost of `op` on `chip`, split into fixed cycles and DDR-bandwidth-bound bytes."""
    if isinstance(op, BarrierOp):
        return InstructionCost(0, 0)
    if isinstance(op, DmaLoadOp | DmaStoreOp | DmaCopyOp):
        return _dma_cost(op, chip)
    if isinstance(op, MatmulOp):
        m, k, n = op.mkn()
        cycles = matmul_cycles(m, k, n, op.x.dtype.data, op.w.dtype.data, chip)
        return InstructionCost(cycles, cycles)
    if op.eu_kind() == "teng":
        return _teng_cost(op, chip)
    raise AxcError(f"the cost model has no formula for '{op.name}'")


def instruction_cycles(op: InstructionOp, chip: Chip) -> int:
    """Standalone cycles of `op` on `chip` (no contention)."""
    return instruction_cost(op, chip).cycles
