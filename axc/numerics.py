"""The rounding rules shared by the axh reference interpreter and the simulator.

Implemented once, here (see docs/numerics.md): the hidden state is stored in the hidden type
(bf16 by default); matmuls accumulate in fp32; s8/s4 weights are dequantised with bf16
scales; vector (TENG) ops compute in fp32 and round their result to the hidden type.
bf16 rounding is round-to-nearest-even on the fp32 bit pattern.
"""

from __future__ import annotations

import numpy as np

HIDDEN_TYPES = ("bf16", "fp16", "fp32")


_BF16_CHUNK = 1 << 20


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """fp32 -> bf16 bit patterns (uint16), round to nearest even; NaN stays NaN.

    Large arrays are converted in chunks of 1M values, so the temporaries stay a few MB
    (an lm_head of 136M values would otherwise need several 545 MB uint32 copies)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    flat = x.reshape(-1)
    out = np.empty(flat.shape, dtype=np.uint16)
    for start in range(0, flat.size, _BF16_CHUNK):
        part = flat[start:start + _BF16_CHUNK]
        bits = part.view(np.uint32)
        rounded = bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))
        chunk = out[start:start + _BF16_CHUNK]
        np.right_shift(rounded, np.uint32(16), out=rounded)
        chunk[...] = rounded
        nan = np.isnan(part)
        if nan.any():
            chunk[nan] = np.uint16(0x7FC0)
    return out.reshape(x.shape)


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


# -- weight quantization -------------------------------------------------------------------
#
# Integer weights are signed (s8: -127..127, s4: -8..7) with one float scale per output
# channel and group of `group_size` input features; scales are bf16 values. Dequantisation
# happens in fp32 right before the matmul, on the chip as in the interpreter.

WEIGHT_TYPES = ("s8", "s4", "bf16", "fp16", "fp32")
INT_RANGES = {"s8": (-127, 127), "s4": (-8, 7)}


def dequantize_weight(
    weight: np.ndarray, scale: np.ndarray, zero: np.ndarray | None = None
) -> np.ndarray:
    """[N, K] integers with [N, G] scales (and zeros) -> [N, K] fp32."""
    n, k = weight.shape
    groups = scale.shape[1]
    w = weight.astype(np.float32).reshape(n, groups, k // groups)
    if zero is not None:
        w = w - zero.astype(np.float32)[:, :, None]
    return (w * scale.astype(np.float32)[:, :, None]).reshape(n, k)


def quantize_symmetric(
    weight: np.ndarray, weight_type: str, group_size: int, clip: np.ndarray | float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Round-to-nearest symmetric quantization: (int8 values, bf16-valued fp32 scales [N, G]).

    `clip` (per group, [N, G], or a scalar) shrinks the range before rounding; 1.0 is plain
    absmax. The scale is rounded to bf16 *before* the integers are computed, so the stored
    integers are the best ones for the scale the chip will actually use.
    """
    lo, hi = INT_RANGES[weight_type]
    n, k = weight.shape
    if group_size <= 0 or k % group_size:
        raise ValueError(f"group size {group_size} does not divide {k} input features")
    w = np.asarray(weight, dtype=np.float32).reshape(n, k // group_size, group_size)
    absmax = np.abs(w).max(axis=2) * np.asarray(clip, dtype=np.float32)
    scale = round_bf16(np.maximum(absmax / hi, np.float32(1e-10)))
    q = np.clip(np.rint(w / scale[:, :, None]), lo, hi).astype(np.int8)
    return q.reshape(n, k), scale


def pack_s4(values: np.ndarray) -> np.ndarray:
    """[N, K] int8 in -8..7 -> [N, K/2] uint8, two per byte, low nibble first."""
    v = np.asarray(values, dtype=np.int8)
    if v.shape[-1] % 2:
        raise ValueError(f"s4 packing needs an even row length, got {v.shape[-1]}")
    nib = (v.astype(np.uint8) & np.uint8(0x0F))
    return nib[..., 0::2] | (nib[..., 1::2] << np.uint8(4))


def unpack_s4(packed: np.ndarray) -> np.ndarray:
    """Inverse of `pack_s4`: [N, K/2] uint8 -> [N, K] int8 (sign-extended nibbles)."""
    p = np.asarray(packed, dtype=np.uint8)
    lo = (p & np.uint8(0x0F)).astype(np.int8)
    hi = (p >> np.uint8(4)).astype(np.int8)
    out = np.empty((*p.shape[:-1], p.shape[-1] * 2), dtype=np.int8)
    out[..., 0::2] = np.where(lo > 7, lo - 16, lo)
    out[..., 1::2] = np.where(hi > 7, hi - 16, hi)
    return out
