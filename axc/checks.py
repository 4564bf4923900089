"""Check levels of `axc llm_build -c` (DESIGN.md section 8), run on the files just written.

Level 1: layer 0's decode and prefill groups, read back from the written axmodel and run in
the functional simulator, against the Hugging Face float32 layer on the same inputs. The
inputs are real: the token embeddings of a fixed English text (positions 0..T-1) for the
prefill group, and for the decode group the next token after a history whose K/V rows are
the float32 layer's own for that text. Printed as a cosine per output, as pulsar2 does.
For quantized (and bf16/fp16) weights it also prints the cosine against the float32 layer
holding the build's own weights dequantized: the part of the difference that is compilation
and hidden-state rounding, apart from what the weight quantization itself costs.

Level 2: the whole model through `LLMEngine` (every layer's axmodel, the post model, the
bf16 embedding file) on `--prompt`, greedy, printing each step's top-10 candidates with
their probabilities and the final text; it stops at EOS ("hit eos") or at the token limit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from axc.errors import AxcError

CHECK_TEXT = ("The quick brown fox jumps over the lazy dog. Compilers translate programs "
              "written in one language into another, and a good compiler keeps the meaning "
              "while making the program faster. Neural networks are programs too: their "
              "layers multiply activations by weights, normalise them and apply attention "
              "over the tokens seen so far, one layer after another, until the last layer "
              "predicts the next token of the text. ")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom else float(np.array_equal(a, b))


def _tokenizer(folder: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder)
    except Exception as err:  # missing or unreadable tokenizer files
        raise AxcError(f"{folder}: no usable tokenizer ({type(err).__name__}); the check needs "
                       "the tokenizer files of the input model") from None


def _text_ids(folder: Path, n: int, vocab: int) -> list[int]:
    """n token ids of CHECK_TEXT (repeated as needed); ids of a character-level fallback when
    the folder has no tokenizer."""
    try:
        tok = _tokenizer(folder)
        ids = tok(CHECK_TEXT, add_special_tokens=False)["input_ids"]
    except AxcError:
        ids = [ord(c) % vocab for c in CHECK_TEXT]
    ids = [i for i in ids if i < vocab] or [0]
    while len(ids) < n:
        ids = ids + ids
    return ids[:n]


def build_weights_of_layer0(options) -> dict[str, np.ndarray]:
    """Layer 0's linear weights as `options` quantize them, dequantized to float32, by
    parameter name within the layer (`self_attn.q_proj.weight`); {} for fp32 weights."""
    from axc.build import layer_quantize_pipeline
    from axc.frontend.config import LLMConfig
    from axc.frontend.pipeline import ShapeGroup, import_layer, run_pipeline
    from axc.frontend.weights import CheckpointReader
    from axc.weight_store import WeightStore, use_store

    if options.weight_type == "fp32":
        return {}
    llm = LLMConfig.from_pretrained_dir(options.model_config or options.input_path)
    buffers: dict = {}
    module = import_layer(llm.hf, 0, [ShapeGroup("decode", 1, 1)], relative_weights=True,
                          buffers=buffers)
    store = WeightStore(CheckpointReader(options.input_path), buffers,
                        prefix="model.layers.0.")
    with use_store(store):
        run_pipeline(module, layer_quantize_pipeline(options))
    return dequantized_linears(store)


def dequantized_linears(store) -> dict[str, np.ndarray]:
    """The linear weight matrices the quantize pass derived in `store`, dequantized to
    float32 (rounded float copies as they are), by their original weight names."""
    from axc.numerics import dequantize_weight

    derived = set(store.derived_names())
    weights = {}
    for name in sorted(derived):
        base, _, tag = name.partition("#")
        if not tag or "." in tag or not base.endswith(".weight"):
            continue  # scales, zeros, biases, norm weights: only the linears' matrices
        values = store.get(name)
        if f"{name}.scale" in derived:
            zero = f"{name}.zero"
            values = dequantize_weight(values, store.get(f"{name}.scale"),
                                       store.get(zero) if zero in derived else None)
        if np.ndim(values) == 2:
            weights[base] = np.asarray(values, dtype=np.float32)
    return weights


def layer0_cosines(input_path: str | Path, folder: str | Path, model=None,
                   build_weights: dict[str, np.ndarray] | None = None) -> dict:
    """{group name: {output name: cosine}} of layer 0's written axmodel vs Hugging Face's
    float32 layer; with `build_weights` (build_weights_of_layer0) also `<output> (build
    weights)` entries: vs the float32 layer holding those weights."""
    import torch
    from transformers import AutoModelForCausalLM

    from axc.frontend.trace import INDEX_DTYPE, reference_layer_outputs
    from axc.runtime.engine import LAYER_OUTPUTS, load_folder_config, runtime_mask
    from axc.runtime.session import InferenceSession

    folder = Path(folder)
    config = load_folder_config(folder)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the check's own table is the output
    if model is None:
        model = AutoModelForCausalLM.from_pretrained(input_path, dtype=torch.float32).eval()
    session = InferenceSession(folder / (config["template_filename_axmodel"] % 0))
    kv_dim = int(config["kv_dim"])
    embed = model.get_input_embeddings()
    results: dict[str, dict[str, float]] = {}

    def run(name: str, group: int, ids: list[int], start: int, kv_len: int, k_hist, v_hist):
        seq = len(ids)
        with torch.no_grad():
            hidden = embed(torch.tensor([ids])).float()
        k_cache = torch.zeros(1, kv_len, kv_dim)
        v_cache = torch.zeros(1, kv_len, kv_dim)
        if start:
            k_cache[0, :start], v_cache[0, :start] = k_hist, v_hist
        inputs = {"input": hidden,
                  "indices": (torch.arange(seq) + start).unsqueeze(0).to(INDEX_DTYPE),
                  "mask": torch.from_numpy(runtime_mask(seq, kv_len, start)),
                  "K_cache": k_cache, "V_cache": v_cache}
        ref = [r.detach().float().numpy() for r in reference_layer_outputs(model, 0, inputs)]
        feed = {k: v.numpy() for k, v in inputs.items()}
        got = session.run(LAYER_OUTPUTS, feed, shape_group=group)
        results[name] = {n: cosine(g, r) for n, g, r in zip(LAYER_OUTPUTS, got, ref,
                                                            strict=True)}
        if build_weights:
            with layer_weights(model.model.layers[0], build_weights):
                same = [r.detach().float().numpy()
                        for r in reference_layer_outputs(model, 0, inputs)]
            results[name].update({f"{n} (build weights)": cosine(g, r)
                                  for n, g, r in zip(LAYER_OUTPUTS, got, same, strict=True)})
        return ref

    kv_cache_len = int(config["kv_cache_len"])
    prefill_len = int(config["prefill_len"])
    start = min(64, kv_cache_len - 1)
    ids = _text_ids(folder, max(prefill_len, start + 1), int(config["tokens_embed_num"]))
    if prefill_len:
        prefill_group = next(g for g in config["prefill_groups"] if g["kv_len"] == 0)
        run("prefill", prefill_group["index"], ids[:prefill_len], 0, 0, None, None)
    # decode: the float32 layer's own K/V rows for the history, then one more token
    history = {}
    with torch.no_grad():
        hidden = embed(torch.tensor([ids[:start]])).float()
        inputs = {"input": hidden, "indices": torch.arange(start).unsqueeze(0).to(INDEX_DTYPE),
                  "mask": torch.from_numpy(runtime_mask(start, 0, 0)),
                  "K_cache": torch.zeros(1, 0, kv_dim), "V_cache": torch.zeros(1, 0, kv_dim)}
        _, history["k"], history["v"] = reference_layer_outputs(model, 0, inputs)
    run("decode", int(config.get("decode_group", 0)), ids[start:start + 1], start, kv_cache_len,
        history["k"][0], history["v"][0])
    return results


class layer_weights:
    """Context: `layer`'s parameters replaced by `weights` (name -> array), then restored."""

    def __init__(self, layer, weights: dict[str, np.ndarray]) -> None:
        self.layer, self.weights, self.saved = layer, weights, {}

    def __enter__(self):
        import torch

        for name, value in self.weights.items():
            param = self.layer.get_parameter(name)
            self.saved[name] = param.data
            param.data = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
        return self

    def __exit__(self, *exc) -> None:
        for name, value in self.saved.items():
            self.layer.get_parameter(name).data = value


def check_level_1(options, folder: Path, console) -> dict:
    """Print layer 0's cosines (decode and prefill) as pulsar2 does; return them. Beside the
    float32 layer, the float32 layer holding the build's weights (integer or rounded float
    weight types), which separates quantization loss from compilation error."""
    from rich.table import Table

    weights = build_weights_of_layer0(options)
    results = layer0_cosines(options.input_path, folder, build_weights=weights)
    table = Table(title="check level 1: layer 0 (simulated axmodel) vs Hugging Face float32")
    table.add_column("group")
    names = ["output", "K_cache_out", "V_cache_out"]
    for name in names:
        table.add_column(f"cosine {name}", justify="right")
    if weights:
        names.append("output (build weights)")
        table.add_column(f"cosine output vs the {options.weight_type} weights", justify="right")
    for group, cos in results.items():
        table.add_row(group, *(f"{cos[n]:.6f}" for n in names))
    console.print(table)
    for group, cos in results.items():
        line = f"layer 0 {group} cosine similarity: {cos['output']:.6f}"
        if weights:
            line += (f" (float32 weights); {cos['output (build weights)']:.6f} (the build's "
                     f"{options.weight_type} weights dequantized: compilation alone)")
        console.print(line)
    return results


def default_prompt(tokenizer) -> tuple[str, bool]:
    """The chat-templated "1+1=?" when the tokenizer has a chat template, else "1+1=".
    Returns (prompt, templated)."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template([{"role": "user", "content": "1+1=?"}],
                                             add_generation_prompt=True, tokenize=False)
        return text, True
    return "1+1=", False


def prompt_ids(tokenizer, prompt: str | None) -> tuple[str, list[int]]:
    """The prompt's text and ids. A literal backslash-n in a user prompt is a newline (shell
    double quotes keep it literal); special tokens written as text are recognised."""
    if prompt is None:
        text, templated = default_prompt(tokenizer)
    else:
        text, templated = prompt.replace("\\n", "\n"), False
    bos = getattr(tokenizer, "bos_token", None)
    add_special = not templated and not (bos and text.startswith(bos))
    return text, list(tokenizer(text, add_special_tokens=add_special)["input_ids"])


def check_level_2(options, folder: Path, console, max_new_tokens: int | None = None) -> dict:
    """Simulate the whole model on the prompt (greedy); print steps and text; return a summary."""
    from axc.runtime.engine import LLMEngine
    from axc.runtime.sampling import SamplingConfig, softmax

    folder = Path(folder)
    tokenizer = _tokenizer(folder)
    text, ids = prompt_ids(tokenizer, options.prompt)
    limit = max_new_tokens or getattr(options, "max_new_tokens", 64)
    engine = LLMEngine(folder, console=console)
    console.print(f"check level 2: prompt {text!r} ({len(ids)} tokens), greedy, at most "
                  f"{limit} new tokens")

    def show(step: int, chosen: int | None) -> None:
        if engine.last_candidates is not None:
            cand_ids, probs = engine.last_candidates
            pairs = list(zip(cand_ids.tolist(), probs.tolist(), strict=True))[:10]
        else:
            probs = softmax(engine.last_logits)
            order = np.argsort(-probs, kind="stable")[:10]
            pairs = [(int(i), float(probs[i])) for i in order]
        cands = ", ".join(f"{tokenizer.decode([i])!r}:{p:.4f}" for i, p in pairs)
        pick = "EOS" if chosen is None else repr(tokenizer.decode([chosen]))
        console.print(f"step {step}: top-10 [{cands}] -> {pick}", highlight=False,
                      markup=False)

    tokens: list[int] = []
    for step, token in enumerate(engine.generate(ids, max_new_tokens=limit,
                                                 sampling=SamplingConfig())):
        show(step, token)
        tokens.append(token)
    if engine.stop_reason == "eos":
        show(len(tokens), None)
        console.print("hit eos")
    elif engine.stop_reason == "kv_cache_full":
        console.print(f"stopped: the KV cache ({engine.kv_cache_len} tokens) is full")
    else:
        console.print(f"stopped: token limit ({limit}) reached")
    answer = tokenizer.decode(tokens, skip_special_tokens=True)
    console.print(f"text: {answer!r}", highlight=False, markup=False)
    console.print(engine.stats.line(), highlight=False)
    return {"prompt": text, "prompt_ids": ids, "tokens": tokens, "text": answer,
            "stop_reason": engine.stop_reason, "stats": engine.stats}
