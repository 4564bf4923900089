"""Weight quantization algorithms behind the `quantize` pass, and calibration.

Methods (pass option `method`, `axc accuracy --quant_method`):

* `rtn`: round to nearest with the group's absmax scale (pulsar2's behaviour).
* `clip`: per (output channel, group) search of a clip ratio in `CLIP_GRID` that minimises the
  squared reconstruction error, weighted by the mean squared input activation of each input
  feature when calibration statistics are present (an estimate of the output error), plain
  weight MSE otherwise. Fast, needs no calibration.
* `gptq`: GPTQ (Frantar et al. 2022) with the calibration Hessian H = E[x x^T] of the
  linear's input: columns are quantized left to right and each column's rounding error is
  spread over the columns not yet quantized. Groups are formed in natural order (no act
  order: the chip dequantizes contiguous groups), each group's scale is chosen by the
  activation-weighted clip search on the error-updated weights when its first column is
  reached.
* `awq`: AWQ (Lin et al. 2023): per input feature scales s = rms(x)^alpha (alpha searched
  per group of linears reading one input, `awq_scales`) multiply the weight columns before
  RTN; the quantize pass folds 1/s exactly into the op that produces the input (the rms_norm
  weight for q/k/v and gate/up, the up linear's rows for down), so the chip runs the same
  integers, bf16 scales and bf16 norm weights as for any other method. o_proj (its input is
  the attention output) stays RTN.
* `awq-gptq`: the AWQ scaling, then GPTQ (no Hessian shrinkage) on the scaled weights with the
  scaled Hessian diag(1/s) H diag(1/s).
* `asym`: round to nearest with a zero point per (output channel, group): the group's
  [min, max] (widened to hold 0) maps onto all 16 levels, `w = (q - zero) * scale` with
  q a signed 4-bit integer, zero an integer in the same range (stored as bf16) and a bf16
  scale, exactly the dequantisation the runtime
  already runs for GPTQ/AWQ checkpoints (docs/numerics.md rule 5). A symmetric grid wastes
  the part of its range on the group's short side; on Qwen2.5-Coder-0.5B w4a16 g128 `asym`
  brings the perplexity increase from +9.25% (rtn) to +3.2% (docs/accuracy.md), the only
  method here that meets the 8% goal. Needs no calibration.
* `auto` (the default): `asym` for s4 (RTN's +9.25% perplexity misses the 8% goal, asym's
  +3.2% meets it; the cost is one bf16 zero point per group), `rtn` for s8 (its error is
  far below the bf16 hidden state's). pulsar2's symmetric s4 is `rtn`. Every symmetric
  method measured within about a tenth of a point of RTN end to end (the weight-MSE clip
  search clips outlier weights that matter, GPTQ calibrated on ~1k tokens overfits its
  calibration text, AWQ's scaling trades one input's error for another's); they stay
  selectable.

A pass cannot run the model, so calibration runs beforehand in Python: `calibrate(model,
token_ids)` runs the Hugging Face float model on a calibration text (`axc/data/calib.txt`, a
different text from the evaluation text) and returns, per linear weight name, the Hessian of
its input; `attach_calibration(store, stats)` puts them in the weight store as
`<weight>#calib.hessian`, where the quantize pass finds them through `current_store()`.
The Hessians come from the *float* model's activations (not the partly quantized model's, as
sequential GPTQ would use); this is cheaper and documented in docs/numerics.md.

Checkpoints that are already GPTQ/AWQ (`quantization_config` in config.json) are read by
`read_packed_linear`: their own integers, fp16 scales and zeros are kept, only unpacked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from axc.errors import AxcError
from axc.numerics import INT_RANGES, quantize_symmetric, round_bf16

if TYPE_CHECKING:
    import torch

QUANT_METHODS = ("auto", "rtn", "clip", "gptq", "awq", "awq-gptq", "asym")
#: methods whose integers come with a zero point per group (`linear ... zero`)
ZERO_POINT_METHODS = ("asym",)
#: methods that scale input features (AWQ) and need the quantize pass to fold the scales
AWQ_METHODS = ("awq", "awq-gptq")
#: AWQ exponents tried: s = rms(x)^alpha, alpha in 0, 1/AWQ_GRID, ..., 1
AWQ_GRID = 10

#: clip ratios tried per group (1.0 = plain absmax)
CLIP_GRID = tuple(float(c) for c in np.round(np.linspace(1.0, 0.6, 17), 4))
HESSIAN_TAG = "#calib.hessian"
#: GPTQ's Hessian shrinkage toward its diagonal (see gptq_quantize)
GPTQ_SHRINK = 0.95
#: clip ratios GPTQ tries per group (1.0 only: plain absmax scales; clipping measured worse)
GPTQ_CLIP_GRID = (1.0,)


def resolve_method(method: str, weight_type: str, has_hessian: bool) -> str:
    """The concrete method `auto` (or a request) stands for."""
    if method not in QUANT_METHODS:
        raise AxcError(f"quantize: method {method!r} is not one of {', '.join(QUANT_METHODS)}")
    if method == "auto":  # docs/accuracy.md: asym is the s4 that meets the accuracy goal
        return "asym" if weight_type == "s4" else "rtn"
    if method in ("gptq", "awq-gptq") and not has_hessian:
        raise AxcError(f"quantize: method {method!r} needs calibration statistics "
                       "(axc.quant.calibrate + attach_calibration) in the weight store")
    return method


def quantize_asymmetric(
    weight: np.ndarray, weight_type: str, group_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RTN with zero points: (int8 values, bf16-valued scales [N, G], zeros [N, G]: integers
    as float32, exact in the bf16 the IR types them with) with
    `w ~= (q - zero) * scale`, q and zero in the type's range. The range is widened to hold
    0 so that the zero point is an integer in range; the scale is rounded to bf16 before the
    integers are computed (the step the chip uses), so |w - deq| <= scale / 2."""
    lo, hi = INT_RANGES[weight_type]
    n, k = weight.shape
    if group_size <= 0 or k % group_size:
        raise ValueError(f"group size {group_size} does not divide {k} input features")
    w = np.asarray(weight, dtype=np.float32).reshape(n, k // group_size, group_size)
    top = np.maximum(w.max(axis=2), 0)
    bottom = np.minimum(w.min(axis=2), 0)
    scale = round_bf16(np.maximum((top - bottom) / np.float32(hi - lo), np.float32(1e-10)))
    zero = np.clip(np.rint(-bottom / scale) + lo, lo, hi)
    q = np.clip(np.rint(w / scale[:, :, None]) + zero[:, :, None], lo, hi)
    return q.astype(np.int8).reshape(n, k), scale, zero.astype(np.float32)


def quantize_weight(
    weight: np.ndarray,
    weight_type: str,
    group_size: int,
    method: str = "rtn",
    hessian: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """[N, K] float -> (int8 values, bf16-valued scales [N, K/group]) by a symmetric
    `method` (zero-point methods: `quantize_asymmetric`)."""
    method = resolve_method(method, weight_type, hessian is not None)
    if method in ZERO_POINT_METHODS:
        raise ValueError(f"{method} has zero points: use quantize_asymmetric")
    if method == "rtn":
        return quantize_symmetric(weight, weight_type, group_size)
    if method == "awq":  # the AWQ input scaling is already in `weight` (quantize pass)
        return quantize_symmetric(weight, weight_type, group_size)
    if method == "awq-gptq":
        assert hessian is not None
        return gptq_quantize(weight, hessian, weight_type, group_size, shrink=0.0)
    if method == "clip":
        importance = None if hessian is None else np.diag(hessian)
        clip = clip_search(weight, weight_type, group_size, importance)
        return quantize_symmetric(weight, weight_type, group_size, clip)
    assert hessian is not None
    return gptq_quantize(weight, hessian, weight_type, group_size)


# -- clip search ---------------------------------------------------------------------------


def _best_scales(wg: torch.Tensor, importance: torch.Tensor | None, lo: int, hi: int,
                 grid=CLIP_GRID) -> tuple[torch.Tensor, torch.Tensor]:
    """wg [N, G, S] -> (bf16-rounded scales [N, G], chosen clip ratios [N, G])."""
    import torch

    absmax = wg.abs().amax(dim=2)
    best_err = torch.full_like(absmax, float("inf"))
    best_scale = torch.ones_like(absmax)
    best_clip = torch.ones_like(absmax)
    for ratio in grid:
        scale = (absmax * ratio / hi).clamp_min(1e-10).to(torch.bfloat16).float()
        q = torch.clamp(torch.round(wg / scale[..., None]), lo, hi)
        err = (q * scale[..., None] - wg).square_()
        if importance is not None:
            err *= importance
        err = err.sum(dim=2)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_scale = torch.where(better, scale, best_scale)
        best_clip = torch.where(better, torch.full_like(scale, ratio), best_clip)
    return best_scale, best_clip


def clip_search(
    weight: np.ndarray, weight_type: str, group_size: int, importance: np.ndarray | None = None
) -> np.ndarray:
    """Per-group clip ratios [N, G] minimising the (importance-weighted) squared error."""
    import torch

    lo, hi = INT_RANGES[weight_type]
    n, k = weight.shape
    if group_size <= 0 or k % group_size:
        raise ValueError(f"group size {group_size} does not divide {k} input features")
    wg = torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32)).reshape(
        n, k // group_size, group_size)
    imp = None
    if importance is not None:
        imp = torch.from_numpy(np.array(importance, np.float32)).reshape(
            1, k // group_size, group_size)
    return _best_scales(wg, imp, lo, hi)[1].numpy()


# -- AWQ ---------------------------------------------------------------------------------


def awq_scales(
    weights: list[np.ndarray], hessian: np.ndarray, weight_type: str, group_size: int,
    grid: int = AWQ_GRID,
) -> np.ndarray:
    """AWQ (Lin et al. 2023) input-feature scales s [K] (float32) for linears that read one
    input x with calibration Hessian `hessian` = E[x x^T].

    Quantizing W diag(s) and feeding x / s (the pass folds 1/s into the op that produces x)
    gives salient input features (large rms(x)) finer steps. s = rms(x)^alpha normalised to a
    geometric mean of 1 over the used features; alpha is searched over `grid` + 1 values for
    the least output error tr(dW H dW^T) of RTN on W diag(s), summed over the linears (dW the
    weight error after undoing s). alpha = 0 (s = 1: plain RTN) is a candidate, so the
    result is never worse than RTN by this measure. The error is evaluated exactly on H's
    top AWQ_RANK eigen-directions plus a diagonal estimate of the rest (`_error_factor`)."""
    import torch

    h = torch.from_numpy(np.array(hessian, dtype=np.float32))
    k = h.shape[0]
    diag = torch.diag(h)
    live = diag > 0
    rms = torch.where(live, diag.clamp_min(1e-30).sqrt(), torch.ones_like(diag))
    factor, rest = _error_factor(h)
    ws = [torch.from_numpy(np.array(w, dtype=np.float32)) for w in weights]
    lo, hi = INT_RANGES[weight_type]
    best_err, best = float("inf"), torch.ones(k)
    for step in range(grid + 1):
        s = rms.pow(step / grid)
        if bool(live.any()):
            s = s / torch.exp(torch.log(s[live]).mean())
        s = torch.where(live, s, torch.ones_like(s))
        err = 0.0
        for w in ws:
            dw = _rtn_torch(w * s, lo, hi, group_size) / s - w
            err += float((dw @ factor).square().sum() + (dw.square() @ rest).sum())
        if err < best_err:
            best_err, best = err, s
    return best.numpy()


#: eigen-directions of H on which the AWQ search measures the output error exactly
AWQ_RANK = 128


def _error_factor(h):
    """(C [K, r], d [K]) with tr(dW H dW^T) ~= |dW C|^2 + sum(dW^2 d): C spans H's top r
    eigen-directions (scaled by sqrt(eigenvalue)), d is the diagonal H keeps beyond them.
    Exact when rank(H) <= r; for K = 4864 it avoids an N*K^2 product per candidate."""
    import torch

    k = h.shape[0]
    if k <= AWQ_RANK:
        values, vectors = torch.linalg.eigh(h)
    else:  # the top r only: a few subspace iterations (a full eigh of 4864^2 takes seconds)
        values, vectors = _top_eigen(h, AWQ_RANK)
    values = values.clamp_min(0)
    factor = vectors * values.sqrt()
    rest = (torch.diag(h) - (vectors.square() * values).sum(1)).clamp_min(0)
    return factor, rest


def _top_eigen(h, rank: int, iterations: int = 4):
    """Top `rank` eigenpairs of a symmetric PSD h by block subspace iteration (seeded, so
    the result is deterministic)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    basis = torch.randn(h.shape[0], rank + 16, generator=gen, dtype=h.dtype)
    for _ in range(iterations):
        basis, _ = torch.linalg.qr(h @ basis)
    small = basis.T @ h @ basis
    values, vectors = torch.linalg.eigh(small)
    top = torch.argsort(values, descending=True)[:rank]
    return values[top], basis @ vectors[:, top]


def _rtn_torch(w, lo: int, hi: int, group_size: int):
    """quantize_symmetric then dequantize, in torch (same bf16 scale rounding), for searches."""
    import torch

    n, k = w.shape
    wg = w.reshape(n, k // group_size, group_size)
    scale = (wg.abs().amax(2) / hi).clamp_min(1e-10).to(torch.bfloat16).float()[..., None]
    return (torch.clamp(torch.round(wg / scale), lo, hi) * scale).reshape(n, k)


# -- GPTQ ----------------------------------------------------------------------------------


def gptq_quantize(
    weight: np.ndarray,
    hessian: np.ndarray,
    weight_type: str,
    group_size: int,
    damp: float = 0.01,
    block: int = 128,
    shrink: float = GPTQ_SHRINK,
) -> tuple[np.ndarray, np.ndarray]:
    """GPTQ with groups in natural order; returns (int8 values [N, K], scales [N, G]).

    `shrink` blends H with its diagonal, (1 - shrink) H + shrink diag(H): with ~1k
    calibration tokens H has rank <= 1k < K (4864 for down_proj), and plain GPTQ overfits
    the calibration text (measured: 50x lower error on it, 1.5x *higher* than RTN on held-out
    text); at 0.95 it beats RTN on held-out text for most linears."""
    import torch

    lo, hi = INT_RANGES[weight_type]
    n, k = weight.shape
    if group_size <= 0 or k % group_size:
        raise ValueError(f"group size {group_size} does not divide {k} input features")
    w = torch.from_numpy(np.array(weight, dtype=np.float32))
    hinv, importance, dead = _inverse_hessian_factor(hessian, damp, shrink)
    w[:, dead] = 0
    groups = k // group_size
    scales = torch.zeros(n, groups)
    if group_size == k:  # per channel: one scale from the whole row, chosen up front
        scales[:, 0] = _best_scales(w[:, None, :], importance[None, None, :], lo, hi,
                                    GPTQ_CLIP_GRID)[0][:, 0]
    else:
        block = max(block // group_size, 1) * group_size
    q_all = torch.zeros(n, k, dtype=torch.int8)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # the column loop is many tiny ops: threads only add sync
        _gptq_columns(w, hinv, importance, scales, q_all, group_size, block, lo, hi)
    finally:
        torch.set_num_threads(threads)
    return q_all.numpy(), scales.numpy()


_HINV_CACHE: dict[tuple, tuple] = {}


def _inverse_hessian_factor(hessian: np.ndarray, damp: float, shrink: float = 0.0):
    """Upper Cholesky factor of the damped H^-1 (float32), with H's diagonal and dead
    inputs; cached per Hessian array, so q/k/v and gate/up (one shared array) pay once."""
    import torch

    key = (id(hessian), damp, shrink)
    hit = _HINV_CACHE.get(key)
    if hit is not None and hit[0] is hessian:  # the entry holds the array: ids stay unique
        return hit[1:]
    h = torch.from_numpy(np.array(hessian, dtype=np.float32))
    k = h.shape[0]
    if shrink:
        h = (1 - shrink) * h + shrink * torch.diag(torch.diag(h))
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    h += damp * torch.mean(torch.diag(h)) * torch.eye(k)
    # The upper factor U of H^-1 = U^T U without forming H^-1: with J the reversal and
    # J H J = L L^T, U = J L^-1 J (one Cholesky and one triangular solve; the textbook
    # cholesky -> cholesky_inverse -> cholesky is ~5x slower on CPU for K = 4864).
    lower = torch.linalg.cholesky(h.flip(0, 1))
    hinv = torch.linalg.solve_triangular(lower, torch.eye(k), upper=False).flip(0, 1)
    result = (hinv, torch.diag(h).clone(), dead)
    _HINV_CACHE.clear()  # one layer's worth at a time: bounded memory
    _HINV_CACHE[key] = (hessian, *result)
    return result


def _gptq_columns(w, hinv, importance, scales, q_all, group_size, block, lo, hi) -> None:
    """GPTQ's lazy-batch column loop (in place on w, scales, q_all)."""
    import torch

    n, k = w.shape
    for i1 in range(0, k, block):
        i2 = min(i1 + block, k)
        w1 = w[:, i1:i2].clone()
        err1 = torch.zeros_like(w1)
        hinv1 = hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = i1 + i
            g = col // group_size
            if group_size != k and col % group_size == 0:
                span = w1[:, i:i + group_size]
                imp = importance[col:col + group_size]
                scales[:, g] = _best_scales(span[:, None, :], imp[None, None, :], lo, hi,
                                            GPTQ_CLIP_GRID)[0][:, 0]
            s = scales[:, g]
            col_w = w1[:, i]
            q = torch.clamp(torch.round(col_w / s), lo, hi)
            q_all[:, col] = q.to(torch.int8)
            err = (col_w - q * s) / hinv1[i, i]
            w1[:, i:] -= err[:, None] * hinv1[i, i:][None, :]
            err1[:, i] = err
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]


# -- calibration ---------------------------------------------------------------------------


def calibrate(model, token_ids, chunk: int = 512) -> dict[str, np.ndarray]:
    """Per decoder-linear weight name, the input Hessian E[x x^T] [K, K] (float32) over
    `token_ids` run through the Hugging Face float `model` (chunks of `chunk` tokens, each
    on its own: no cache, so memory stays bounded). Linears that read the same tensor
    (q/k/v, gate/up) share one array."""
    import torch

    ids = torch.as_tensor(np.asarray(token_ids, dtype=np.int64)).reshape(-1)
    sums: dict[str, torch.Tensor] = {}
    owner: dict[str, str] = {}
    counts: dict[str, int] = {}
    seen: dict[tuple, str] = {}
    hooks = []
    lm_head = model.get_output_embeddings()

    def hook(name):
        def run(module, args):
            x = args[0]
            key = (x.data_ptr(), tuple(x.shape))
            if key in seen:  # a sibling already accumulated this very tensor
                owner[name] = seen[key]
                return
            seen[key] = name
            owner[name] = name
            rows = x.reshape(-1, x.shape[-1]).float()
            sums[name] = sums.get(name, 0) + rows.T @ rows
            counts[name] = counts.get(name, 0) + rows.shape[0]
        return run

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and module is not lm_head:
            hooks.append(module.register_forward_pre_hook(hook(f"{name}.weight")))
    try:
        with torch.no_grad():
            for start in range(0, len(ids), chunk):
                seen.clear()
                model(ids[start:start + chunk][None], use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    arrays = {name: (total / counts[name]).numpy() for name, total in sums.items()}
    return {name: arrays[src] for name, src in owner.items()}


def attach_calibration(store, stats: dict[str, np.ndarray]) -> None:
    """Put calibration Hessians into `store` as `<weight>#calib.hessian` (shared arrays)."""
    for name, hessian in stats.items():
        store.put(name + HESSIAN_TAG, hessian)


def hessian_of(store, name: str) -> np.ndarray | None:
    """The calibration Hessian of weight `name`, if one was attached."""
    key = name + HESSIAN_TAG
    return store.get(key) if store is not None and key in store else None


# -- GPTQ / AWQ checkpoints ----------------------------------------------------------------

#: AWQ's GEMM packing puts output column `order[i]` of each 8 into nibble i
_AWQ_ORDER = np.array([0, 2, 4, 6, 1, 3, 5, 7])


def checkpoint_quantization(reader) -> dict | None:
    """The `quantization_config` of the checkpoint behind `reader` (None: a float model)."""
    path = getattr(reader, "path", None)
    if path is None:
        return None
    folder = Path(path)
    config = (folder if folder.is_dir() else folder.parent) / "config.json"
    if not config.is_file():
        return None
    qcfg = json.loads(config.read_text()).get("quantization_config")
    if not qcfg:
        return None
    method = str(qcfg.get("quant_method", "")).lower()
    if method not in ("gptq", "awq"):
        raise AxcError(f"{config}: quantization_config.quant_method {method!r} is not supported "
                       "(only gptq and awq checkpoints are read as they are)")
    return qcfg


def read_raw(reader, name: str) -> np.ndarray:
    """A tensor in its stored integer type (CheckpointReader.get converts to float32, which
    would corrupt packed int32 words)."""
    import torch

    name = reader.resolve(name) if hasattr(reader, "resolve") else name  # a LayerReader
    file = Path(reader.file_of(name))
    if file.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(file), framework="np") as handle:
            return handle.get_tensor(name)
    state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    return state[name].numpy()


def _unpack_nibbles(words: np.ndarray, bits: int, axis: int) -> np.ndarray:
    """int32 words -> unsigned `bits`-wide values, word i holding values i*per..i*per+per-1
    along `axis`, lowest bits first (GPTQ's order)."""
    per = 32 // bits
    u = words.astype(np.int64) & 0xFFFFFFFF
    shifts = np.arange(per, dtype=np.int64) * bits
    vals = (np.expand_dims(u, -1) >> shifts) & ((1 << bits) - 1)  # [..., per]
    vals = np.moveaxis(vals, -1, axis + 1)
    shape = list(words.shape)
    shape[axis] *= per
    return vals.reshape(shape)


def read_packed_linear(
    reader, prefix: str, qcfg: dict, n: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """A GPTQ/AWQ linear `<prefix>.qweight/.scales/.qzeros(/.g_idx)` as
    (signed int8 values [N, K], fp16 scales as float32 [N, G], signed zeros [N, G] or None
    for symmetric checkpoints, bits). Signed = unsigned - 2^(bits-1), so (q - z) is unchanged."""
    method = str(qcfg.get("quant_method")).lower()
    bits = int(qcfg.get("bits", qcfg.get("w_bit", 4)))
    if bits not in (4, 8):
        raise AxcError(f"{prefix}: {method} with {bits}-bit weights is not supported (4 or 8)")
    qweight = read_raw(reader, f"{prefix}.qweight")
    scales = read_raw(reader, f"{prefix}.scales").astype(np.float32)  # [G, N]
    qzeros = read_raw(reader, f"{prefix}.qzeros")
    half = 1 << (bits - 1)
    if method == "awq":
        if bits != 4:
            raise AxcError(f"{prefix}: only 4-bit AWQ checkpoints are supported")
        q = _unpack_nibbles(qweight, 4, axis=1)  # [K, N] in AWQ order
        z = _unpack_nibbles(qzeros, 4, axis=1)
        inverse = np.argsort(_AWQ_ORDER)
        q = q.reshape(k, n // 8, 8)[..., inverse].reshape(k, n)
        z = z.reshape(-1, n // 8, 8)[..., inverse].reshape(-1, n)
    else:
        q = _unpack_nibbles(qweight, bits, axis=0)  # [K, N]
        z = _unpack_nibbles(qzeros, bits, axis=1)  # [G, N]
        if str(qcfg.get("checkpoint_format", "gptq")).lower() != "gptq_v2":
            z = z + 1  # GPTQ v1 stores zero - 1
        g_idx_name = f"{prefix}.g_idx"
        if g_idx_name in reader:
            g_idx = read_raw(reader, g_idx_name).astype(np.int64)
            group = k // scales.shape[0]
            if not np.array_equal(g_idx, np.arange(k) // group):
                raise AxcError(f"{prefix}: act-order GPTQ (a permuted g_idx) is not supported; "
                               "re-quantize with desc_act=false or static_groups=true")
    if q.shape != (k, n) or scales.shape[1] != n:
        raise AxcError(f"{prefix}: packed shapes {qweight.shape}/{scales.shape} do not match "
                       f"the linear's [{n}, {k}]")
    values = (q.T - half).astype(np.int8)
    zeros = (z.T - half).astype(np.int64)
    sym = not np.any(zeros)  # symmetric GPTQ: every zero point is the midpoint
    if not sym and (zeros.min() < -half or zeros.max() > half - 1):
        raise AxcError(f"{prefix}: zero points out of the {bits}-bit range (GPTQ v1 overflow)")
    return values, np.ascontiguousarray(scales.T), None if sym else zeros.astype(np.int8), bits
