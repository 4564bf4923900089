"""The rounding rules shared by the axh reference interpreter and the simulator.

Implemented once, here (see docs/numerics.md): the hidden state is stored in the hidden type
(bf16 by default); matmuls accumulate in fp32; s8/s4 weights are dequantised with bf16
scales; vector (TENG) ops compute in fp32 and round their result to the hidden type.
bf16 rounding is round-to-nearest-even on the fp32 bit pattern.
"""

from __future__ import annotations

import numpy as np

HIDDEN_TYPES = ("bf16", "fp16", "fp32")


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """fp32 -> bf16 bit patterns (uint16), round to nearest even; NaN stays NaN."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    bits = x.view(np.uint32)
    rounded = bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))
    out = (rounded >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        out[nan] = np.uint16(0x7FC0)
    return out


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    """bf16 bit patterns (uint16) -> the fp32 values they denote (exact)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


def round_bf16(x: np.ndarray) -> np.ndarray:
    """fp32 values rounded to the nearest bf16 value, kept as fp32."""
    return bf16_to_f32(bf16_bits(x))


def round_fp16(x: np.ndarray) -> np.ndarray:
    """fp32 values rounded to the nearest fp16 value (IEEE RNE, saturating to inf), as fp32."""
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


def round_hidden(x: np.ndarray, hidden_type: str) -> np.ndarray:
    """Round an activation to the hidden type (fp32 leaves it untouched)."""
    if hidden_type == "bf16":
        return round_bf16(x)
    if hidden_type == "fp16":
        return round_fp16(x)
    if hidden_type == "fp32":
        return np.asarray(x, dtype=np.float32)
    raise ValueError(f"unknown hidden type {hidden_type!r}; expected one of {HIDDEN_TYPES}")
