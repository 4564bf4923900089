"""Accuracy of a quantized build against the Hugging Face float32 model (`axc accuracy`).

Everything quantized runs through the axh reference interpreter, i.e. the build's own
layer functions after `quantize` (and `fuse-qkv`, `fuse-gate-up`) with the build's rounding
rules; nothing is emulated in torch:

(a) per-layer cosine: each layer's input is captured from the HF float32 model on a prompt
    (forward hooks); the quantized layer is interpreted on that very input (prefill: the
    first P-1 tokens; decode: token P-1 against HF's K/V cache of the first P-1 tokens) and
    its output compared with the HF layer's output;
(b) whole model: the evaluation text is embedded from the bf16 embedding file contents
    (`axc.embedding.embed_tokens`), run layer by layer through the interpreted quantized
    layers in prefill chunks with the runtime's KV cache and mask (one static group: `chunk`
    tokens against `tokens - chunk` cache rows, unused rows masked, as the runtime's
    `last_kv_cache_len` groups do), then through the post function (final norm + lm_head in
    `post_weight_type`, traced for `chunk` rows at once instead of one: the same ops);
    teacher-forced top-1 agreement with the float32 logits and perplexity follow.

Layers are traced once per layer kind (on the meta device) and cloned per layer with the
layer's weight names, so 24 layers cost one trace plus quantization. The loop is layer-major
(all chunks through layer i, then layer i+1), so each layer is quantized once and dropped.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from axc.errors import AxcError

EVAL_TEXT = "eval_code_py.txt"
CALIB_TEXT = "calib.txt"
PROMPTS = "prompts.json"
#: methods that read calibration statistics (axc.quant.calibrate on CALIB_TEXT)
CALIBRATED_METHODS = ("gptq", "clip", "awq", "awq-gptq")


def data_text(name: str) -> str:
    """A file shipped in axc/data."""
    return resources.files("axc").joinpath("data", name).read_text(encoding="utf-8")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


@dataclass
class AccuracyOptions:
    weight_type: str = "s8"
    group_size: int = 128
    quant_method: str = "auto"
    post_weight_type: str = "bf16"
    hidden_type: str = "bf16"
    tokens: int = 1024
    chunk: int = 256
    prompt_tokens: int = 32
    layers: list[int] | None = None
    fuse: bool = True
    calib_tokens: int = 1024


@dataclass
class AccuracyReport:
    model: str
    options: dict
    layers: list[dict] = field(default_factory=list)
    top1_agreement: float = 0.0
    ppl_float32: float = 0.0
    ppl_quantized: float = 0.0
    tokens: int = 0
    seconds: dict = field(default_factory=dict)

    @property
    def min_cosine(self) -> float:
        return min((min(r["decode"], r["prefill"]) for r in self.layers), default=float("nan"))

    def to_json(self) -> dict:
        out = asdict(self)
        out["min_cosine"] = self.min_cosine
        out["ppl_ratio"] = self.ppl_quantized / self.ppl_float32 if self.ppl_float32 else None
        return out


# -- building the quantized functions -------------------------------------------------------


def _rename_layer(module, src: int, dst: int) -> None:
    """Point a cloned layer module's weights at layer `dst` instead of `src`."""
    from xdsl.dialects.builtin import StringAttr

    from axc.dialects import axh

    pattern = re.compile(rf"(^|\.)layers\.{src}\.")
    for op in module.walk():
        if isinstance(op, axh.WeightOp):
            new = pattern.sub(rf"\g<1>layers.{dst}.", op.weight_name.data, count=1)
            op.properties["weight_name"] = StringAttr(new)


class QuantizedModel:
    """The build's layer and post functions, quantized, evaluated by the interpreter."""

    def __init__(self, model, store, options: AccuracyOptions, seq_groups: list[tuple]):
        from axc.frontend.importer import import_module
        from axc.frontend.pipeline import run_pipeline
        from axc.frontend.trace import layer_kind_key, trace_layer

        self.config = getattr(model, "config", model)  # a HF model or its config
        self.store = store
        self.options = options
        self._templates: dict[str, tuple[int, object]] = {}
        for i in range(self.config.num_hidden_layers):
            kind = layer_kind_key(self.config, i)
            if kind in self._templates:
                continue
            traced = [(trace_layer(self.config, i, t, kv, device="meta"), name, None)
                      for name, t, kv in seq_groups]
            module = run_pipeline(import_module(traced), "axh-raise")
            self._templates[kind] = (i, module)
        self._kind = layer_kind_key

    def _pipeline(self, weight_type: str) -> str:
        o = self.options
        passes = [f"quantize{{weight-type={weight_type} group-size={max(o.group_size, 1)} "
                  f"s8-group-size={o.group_size} hidden-type={o.hidden_type} "
                  f"method={o.quant_method}}}"]
        if o.fuse:
            passes += ["fuse-qkv", "fuse-gate-up"]
        return ",".join(passes)

    def layer(self, i: int) -> dict:
        """Layer i's functions by group name, quantized (weights registered in the store)."""
        from axc.frontend.pipeline import run_pipeline
        from axc.weight_store import use_store

        src, template = self._templates[self._kind(self.config, i)]
        module = template.clone()
        if src != i:
            _rename_layer(module, src, i)
        with use_store(self.store):
            run_pipeline(module, self._pipeline(self.options.weight_type))
        return {fn.sym_name.data: fn for fn in module.ops}

    def post(self, rows: int):
        from axc.frontend.importer import import_module
        from axc.frontend.pipeline import run_pipeline
        from axc.weight_store import use_store

        traced = trace_post_rows(self.config, rows)
        module = run_pipeline(import_module([(traced, "post", None)]), "axh-raise")
        o = self.options
        with use_store(self.store):
            run_pipeline(module, f"quantize{{weight-type={o.post_weight_type} "
                         f"group-size={max(o.group_size, 1)} hidden-type={o.hidden_type} "
                         "method=rtn}")
        return next(iter(module.ops))


def trace_post_rows(config, rows: int):
    """The post model traced for `rows` tokens at once (the runtime's post takes one)."""
    import torch

    from axc.frontend import trace as tr

    model = tr._as_model(config, "meta")  # noqa: SLF001 - same wrapper as trace_post
    hidden = torch.zeros(1, rows, config.hidden_size, device="meta")
    return tr._export(model, tr._PostWrapper(model), (hidden,), "post",  # noqa: SLF001
                      ("input",), ("output",))


# -- the reference ---------------------------------------------------------------------------


def capture_layers(model, ids):
    """HF float32 run on `ids`: per layer (input, output) hidden states and the K/V cache."""
    import torch
    from transformers import DynamicCache

    from axc.frontend.trace import _base_model

    base = _base_model(model)
    inputs, outputs = {}, {}
    hooks = []
    for i, layer in enumerate(base.layers):
        def pre(module, args, kwargs, i=i):
            inputs[i] = (args[0] if args else kwargs["hidden_states"]).detach().clone()

        def post(module, args, kwargs, out, i=i):
            outputs[i] = (out[0] if isinstance(out, tuple) else out).detach().clone()

        hooks.append(layer.register_forward_pre_hook(pre, with_kwargs=True))
        hooks.append(layer.register_forward_hook(post, with_kwargs=True))
    cache = DynamicCache(config=model.config)
    try:
        with torch.no_grad():
            model(torch.as_tensor(ids)[None], cache=cache, use_cache=True)
    finally:
        for h in hooks:
            h.remove()
    kv = [(_pad_rows(cache.layers[i].keys, len(ids)), _pad_rows(cache.layers[i].values, len(ids)))
          for i in range(len(base.layers))]
    return inputs, outputs, kv


def _pad_rows(heads, total: int):
    """HF's sliding-window caches keep only the last rows: put them at their positions (rows
    outside the window are hidden by the layer's own window mask, so zeros do)."""
    import torch

    missing = total - heads.shape[2]
    if missing <= 0:
        return heads
    pad = torch.zeros(*heads.shape[:2], missing, heads.shape[3], dtype=heads.dtype)
    return torch.cat([pad, heads], dim=2)


def _rows(heads) -> np.ndarray:
    """[1, kv_heads, S, D] torch -> [1, S, kv_heads*D] numpy (runtime layout)."""
    b, h, s, d = heads.shape
    return heads.transpose(1, 2).reshape(b, s, h * d).float().numpy()


def float_logits(model, ids, chunk: int = 512) -> np.ndarray:
    """HF float32 logits [L, V] for `ids` (chunked prefill with HF's cache)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    out = []
    with torch.no_grad():
        for s in range(0, len(ids), chunk):
            piece = torch.as_tensor(ids[s:s + chunk])[None]
            res = model(piece, cache=cache, use_cache=True)
            out.append(res.logits[0].float().numpy())
    return np.concatenate(out)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def perplexity(logits: np.ndarray, ids: np.ndarray, rows: int = 128) -> float:
    """exp(mean NLL) of ids[1:] under logits[:-1] (`rows` at a time: a float64 copy of the
    whole [L, 151936] table would cost GBs)."""
    nll = []
    for s in range(0, len(ids) - 1, rows):
        e = min(s + rows, len(ids) - 1)
        lp = log_softmax(logits[s:e])
        nll.append(-lp[np.arange(e - s), ids[s + 1:e + 1]])
    return float(math.exp(np.concatenate(nll).mean()))


# -- the evaluation -------------------------------------------------------------------------


def load_model(model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return model, tokenizer


def tokenize(tokenizer, text: str, limit: int) -> np.ndarray:
    ids = np.asarray(tokenizer(text)["input_ids"], dtype=np.int64)
    if len(ids) < limit:
        raise AxcError(f"the text has {len(ids)} tokens, fewer than the {limit} asked for")
    return ids[:limit]


def evaluate(model_dir, options: AccuracyOptions, progress=None,
             model=None, tokenizer=None) -> AccuracyReport:
    """Run (a) and (b) of the module doc for one quantization setting."""
    from axc.embedding import embed_tokens
    from axc.frontend.trace import runtime_mask
    from axc.frontend.weights import CheckpointReader
    from axc.interp import run_function
    from axc.quant import attach_calibration, calibrate
    from axc.weight_store import WeightStore

    say = progress or (lambda message: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if model is None:
        model, tokenizer = load_model(model_dir)
    config = model.config
    o = options
    if o.tokens % o.chunk:
        raise AxcError(f"--tokens {o.tokens} must be a multiple of the chunk {o.chunk}")
    n_layers = config.num_hidden_layers
    layer_ids = sorted(set(o.layers)) if o.layers else list(range(n_layers))
    bad = [i for i in layer_ids if not 0 <= i < n_layers]
    if bad:
        raise AxcError(f"--layers {bad} out of range: the model has {n_layers} layers")
    eval_ids = tokenize(tokenizer, data_text(EVAL_TEXT), o.tokens)
    prompt = json.loads(data_text(PROMPTS))["layer_prompt"]
    p_ids = tokenize(tokenizer, prompt, min(o.prompt_tokens, len(tokenizer(prompt)["input_ids"])))
    seconds["load"] = time.perf_counter() - t0

    t = time.perf_counter()
    say("float32 reference")
    ref_logits = float_logits(model, eval_ids)
    ref_top1 = ref_logits.argmax(-1)
    report_ppl_float32 = perplexity(ref_logits, eval_ids)
    del ref_logits
    cap_in, cap_out, cap_kv = capture_layers(model, p_ids)
    seconds["reference"] = time.perf_counter() - t

    reader = CheckpointReader(model_dir)
    store = WeightStore(reader)
    if o.weight_type in ("s4", "s8") and o.quant_method in CALIBRATED_METHODS:
        t = time.perf_counter()
        say("calibration")
        calib_ids = np.asarray(tokenizer(data_text(CALIB_TEXT))["input_ids"])[:o.calib_tokens]
        attach_calibration(store, calibrate(model, calib_ids))
        seconds["calibration"] = time.perf_counter() - t
    _add_missing_buffers(model, store)
    config = model.config
    del model  # the caller's reference (if any) keeps it; ours is no longer needed

    t = time.perf_counter()
    p = len(p_ids)
    groups = [("prefill", p - 1, 0), ("decode", 1, p - 1), ("chunk", o.chunk, o.tokens - o.chunk)]
    qmodel = QuantizedModel(config, store, o, groups)  # a config does: only it is read
    seconds["trace"] = time.perf_counter() - t

    report = AccuracyReport(str(model_dir), asdict(options), tokens=int(o.tokens))
    hidden = embed_tokens(store, config, eval_ids)[None]  # [1, L, H]
    kv_dim = None
    t_layers = time.perf_counter()
    for i in range(n_layers):
        say(f"layer {i}")
        fns = qmodel.layer(i)
        if i in layer_ids:
            x = cap_in[i].float().numpy()
            ref = cap_out[i].float().numpy()
            keys, values = cap_kv[i]
            k_rows, v_rows = _rows(keys), _rows(values)
            pre = run_function(fns["prefill"], {
                "input": x[:, :p - 1], "indices": np.arange(p - 1, dtype=np.uint32)[None],
                "mask": runtime_mask(p - 1, 0, 0).numpy(),
                "K_cache": k_rows[:, :0], "V_cache": v_rows[:, :0]},
                store.get, o.hidden_type)[0]
            dec = run_function(fns["decode"], {
                "input": x[:, p - 1:], "indices": np.array([[p - 1]], dtype=np.uint32),
                "mask": runtime_mask(1, p - 1, p - 1).numpy(),
                "K_cache": k_rows[:, :p - 1], "V_cache": v_rows[:, :p - 1]},
                store.get, o.hidden_type)[0]
            report.layers.append({"layer": i, "prefill": cosine(pre, ref[:, :p - 1]),
                                  "decode": cosine(dec, ref[:, p - 1:])})
        chunk_fn = fns["chunk"]
        if kv_dim is None:
            kv_dim = chunk_fn.body.block.args[3].type.get_shape()[2]
        cache_len = o.tokens - o.chunk
        k_cache = np.zeros((1, cache_len, kv_dim), np.float32)
        v_cache = np.zeros_like(k_cache)
        out = np.empty_like(hidden)
        for start in range(0, o.tokens, o.chunk):
            got, k_new, v_new = run_function(chunk_fn, {
                "input": hidden[:, start:start + o.chunk],
                "indices": np.arange(start, start + o.chunk, dtype=np.uint32)[None],
                "mask": runtime_mask(o.chunk, cache_len, start).numpy(),
                "K_cache": k_cache, "V_cache": v_cache}, store.get, o.hidden_type)
            out[:, start:start + o.chunk] = got
            if start + o.chunk < o.tokens:
                k_cache[:, start:start + o.chunk] = k_new
                v_cache[:, start:start + o.chunk] = v_new
        hidden = out
        store.drop(f"model.layers.{i}.")
    seconds["layers"] = time.perf_counter() - t_layers

    t = time.perf_counter()
    say("post")
    post_fn = qmodel.post(o.chunk)
    logits = np.concatenate([
        run_function(post_fn, [hidden[:, s:s + o.chunk]], store.get, o.hidden_type)[0][0]
        for s in range(0, o.tokens, o.chunk)])
    seconds["post"] = time.perf_counter() - t
    report.top1_agreement = float(np.mean(logits.argmax(-1) == ref_top1))
    report.ppl_float32 = report_ppl_float32
    report.ppl_quantized = perplexity(logits, eval_ids)
    seconds["total"] = time.perf_counter() - t0
    report.seconds = {k: round(v, 1) for k, v in seconds.items()}
    return report


def _add_missing_buffers(model, store) -> None:
    """Non-persistent buffers the traces name (rotary inv_freq of every rotary module)."""
    for name, buf in model.named_buffers():
        if name not in store:
            store.put(name, buf.float().numpy())


def format_rows(report: AccuracyReport) -> list[tuple[str, str]]:
    """Summary lines for the table footer."""
    ratio = report.ppl_quantized / report.ppl_float32 if report.ppl_float32 else float("nan")
    return [
        ("min layer cosine", f"{report.min_cosine:.6f}"),
        ("top-1 agreement", f"{100 * report.top1_agreement:.2f}% over {report.tokens} tokens"),
        ("perplexity float32", f"{report.ppl_float32:.4f}"),
        ("perplexity quantized", f"{report.ppl_quantized:.4f} ({100 * (ratio - 1):+.2f}%)"),
    ]


def save_json(report: AccuracyReport, path: str | Path) -> None:
    """Write atomically: a killed run leaves no half report."""
    from axc.atomic import write_atomic

    write_atomic(path, json.dumps(report.to_json(), indent=2))
