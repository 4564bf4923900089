"""The shared rounding rules agree with torch's own bf16/fp16 conversions."""

import numpy as np
import pytest
import torch

from axc.numerics import bf16_bits, bf16_to_f32, round_bf16, round_fp16, round_hidden


def _values(n: int = 200_000) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * np.exp(rng.uniform(-20, 20, n))).astype(np.float32)
    x[:6] = [np.inf, -np.inf, 0.0, -0.0, 3.3895314e38, 1e-45]
    return x


def test_bf16_bits_match_torch_round_to_nearest_even():
    x = _values()
    ours = bf16_bits(x)
    ref = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(ours, ref)


def test_bf16_ties_round_to_even():
    # 1 + 2^-8 lies exactly between two bf16 neighbours (1 and 1 + 2^-7): ties go to even (1).
    tie = np.array([1 + 2**-8, 1 + 3 * 2**-8], dtype=np.float32)
    np.testing.assert_array_equal(round_bf16(tie), np.array([1.0, 1 + 2**-6], dtype=np.float32))


def test_bf16_nan_stays_nan_and_round_trip_is_exact():
    assert np.isnan(round_bf16(np.array([np.nan], dtype=np.float32)))[0]
    bits = np.arange(0, 2**16, dtype=np.uint32).astype(np.uint16)
    vals = bf16_to_f32(bits)
    finite = np.isfinite(vals)
    np.testing.assert_array_equal(bf16_bits(vals[finite]), bits[finite])


def test_fp16_matches_torch():
    x = _values()
    ref = torch.from_numpy(x).to(torch.float16).float().numpy()
    np.testing.assert_array_equal(round_fp16(x), ref)


def test_round_hidden_dispatch():
    x = _values(1000)
    np.testing.assert_array_equal(round_hidden(x, "fp32"), x)
    np.testing.assert_array_equal(round_hidden(x, "bf16"), round_bf16(x))
    with pytest.raises(ValueError, match="unknown hidden type"):
        round_hidden(x, "int8")
