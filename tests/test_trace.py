"""The layer tracer against Hugging Face's own computation, for every supported architecture.

Tiny random models (hidden 64, 4 heads, 2 kv heads) keep this fast; each exported program is
run and compared with ``reference_layer_outputs`` (HF's layer with a DynamicCache and HF's own
causal / sliding-window mask), never with the wrapper that produced it.
"""

import functools
import time

import pytest
import torch
from transformers import (
    Gemma2Config,
    Gemma3TextConfig,
    LlamaConfig,
    Phi3Config,
    PhiConfig,
    Qwen2Config,
)

from axc.errors import AxcError
from axc.frontend.trace import (
    INDEX_DTYPE,
    LAYER_INPUTS,
    LAYER_OUTPUTS,
    MASK_VALUE,
    LayerWrapper,
    build_model,
    layer_example_inputs,
    layer_kind_key,
    reference_layer_outputs,
    runtime_mask,
    trace_embedding,
    trace_layer,
    trace_post,
)

# torch.export's own pytree deprecation noise
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec:FutureWarning")

COMMON = dict(
    hidden_size=64,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=128,
    intermediate_size=128,
    max_position_embeddings=256,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)
MIXED = ["sliding_attention", "full_attention", "sliding_attention"]
ARCHS = ("qwen2", "llama", "gemma2", "gemma3_text", "phi", "phi3")
# phi3 with a global window (as Phi-3-mini-4k) makes every layer a sliding one
VARIANTS = (*ARCHS, "phi3_sliding")
# (seq_len, kv_len, positions of the first new token). Decode runs against a full cache and
# against one whose last 3 rows are unused (filled with garbage, hidden by the mask).
CASES = {
    "decode": (1, 8, (8, 5)),
    "prefill": (5, 0, (0,)),
    "prefill_history": (5, 6, (6,)),
}


def make_config(arch: str):
    if arch == "qwen2":
        return Qwen2Config(num_hidden_layers=2, **COMMON)
    if arch == "llama":
        return LlamaConfig(num_hidden_layers=2, **COMMON)
    if arch == "gemma2":
        return Gemma2Config(
            num_hidden_layers=3, head_dim=16, sliding_window=4, layer_types=MIXED, **COMMON
        )
    if arch == "gemma3_text":
        return Gemma3TextConfig(
            num_hidden_layers=3, head_dim=16, sliding_window=4, layer_types=MIXED, **COMMON
        )
    if arch == "phi":
        return PhiConfig(num_hidden_layers=2, partial_rotary_factor=0.5, **COMMON)
    if arch == "phi3":
        return Phi3Config(num_hidden_layers=2, **COMMON)
    if arch == "phi3_sliding":
        return Phi3Config(num_hidden_layers=2, sliding_window=4, **COMMON)
    raise ValueError(arch)


@functools.cache
def model(arch: str):
    torch.manual_seed(0)
    return build_model(make_config(arch))


@functools.cache
def traced_layer(arch: str, layer_idx: int, seq_len: int, kv_len: int):
    return trace_layer(model(arch), layer_idx, seq_len, kv_len)


def one_layer_per_kind(config) -> list[int]:
    first: dict[str, int] = {}
    for i in range(config.num_hidden_layers):
        first.setdefault(layer_kind_key(config, i), i)
    return sorted(first.values())


def assert_matches(got, ref, what: str):
    """cosine >= 0.99999 and max |got-ref| <= 1e-4 * max |ref|."""
    assert got.shape == ref.shape, what
    a, b = got.double().flatten(), ref.double().flatten()
    if b.numel() == 0:
        return
    cos = torch.nn.functional.cosine_similarity(a, b, dim=0).item()
    rel = ((a - b).abs().max() / b.abs().max()).item()
    assert cos >= 0.99999 and rel <= 1e-4, f"{what}: cosine {cos:.7f}, max rel err {rel:.2e}"


def run(traced, inputs):
    with torch.no_grad():
        return traced.program.module()(*(inputs[n] for n in LAYER_INPUTS))


def inputs_for(config, seq_len, kv_len, start, seed):
    inputs = layer_example_inputs(
        config, seq_len, kv_len, start, generator=torch.Generator().manual_seed(seed)
    )
    for name in ("K_cache", "V_cache"):  # unused rows hold garbage the mask must hide
        inputs[name][:, start:] *= 10.0
    return inputs


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("arch", VARIANTS)
def test_layer_matches_hf(arch, case):
    seq_len, kv_len, starts = CASES[case]
    hf = model(arch)
    for layer_idx in one_layer_per_kind(hf.config):
        traced = traced_layer(arch, layer_idx, seq_len, kv_len)
        assert traced.kind == layer_kind_key(hf.config, layer_idx)
        assert traced.input_names == LAYER_INPUTS and traced.output_names == LAYER_OUTPUTS
        for start in starts:
            inputs = inputs_for(hf.config, seq_len, kv_len, start, seed=layer_idx + start)
            got = run(traced, inputs)
            ref = reference_layer_outputs(hf, layer_idx, inputs)
            for name, g, r in zip(LAYER_OUTPUTS, got, ref, strict=True):
                assert_matches(g, r, f"{arch} layer {layer_idx} {case} start={start} {name}")


def test_graph_interface_and_ops():
    traced = trace_layer(model("qwen2"), 1, 1, 8)
    user_inputs = [
        n
        for n in traced.program.graph.nodes
        if n.op == "placeholder" and n.name in traced.program.graph_signature.user_inputs
    ]
    shapes = [tuple(n.meta["val"].shape) for n in user_inputs]
    assert shapes == [(1, 1, 64), (1, 1), (1, 1, 9), (1, 8, 32), (1, 8, 32)]
    assert user_inputs[1].meta["val"].dtype == INDEX_DTYPE
    assert "aten.scaled_dot_product_attention.default" in traced.ops
    assert "aten._assert_tensor_metadata.default" not in traced.ops
    print(f"\nqwen2 decode layer: {traced.node_count} nodes, ops: {traced.ops}")


def test_weights_are_named_after_the_state_dict():
    hf = model("gemma3_text")
    traced = trace_layer(hf, 2, 1, 8)
    state = hf.state_dict()
    signature = traced.program.graph_signature
    assert set(traced.weights) == {*signature.inputs_to_parameters, *signature.inputs_to_buffers}
    for name in traced.weights.values():
        assert name in state or name in traced.buffers, name
    assert "model.layers.2.self_attn.k_norm.weight" in traced.weights.values()
    torch.testing.assert_close(
        traced.buffers["model.rotary_emb.sliding_attention_inv_freq"],
        hf.model.rotary_emb.sliding_attention_inv_freq,
    )
    # one trace serves every layer of its kind
    layer0 = traced.weights_for_layer(0)
    assert "model.layers.0.self_attn.k_norm.weight" in layer0.values()
    assert all(name in state or name in traced.buffers for name in layer0.values())


def test_layer_kinds():
    assert [layer_kind_key(make_config("gemma3_text"), i) for i in range(3)] == MIXED
    assert {layer_kind_key(make_config("qwen2"), i) for i in range(2)} == {"full_attention"}
    assert layer_kind_key(make_config("phi3_sliding"), 1) == "sliding_attention"


def test_sliding_window_is_honoured_in_graph():
    """The runtime's plain causal mask is not enough for a sliding layer past its window."""
    hf = model("gemma3_text")
    inputs = inputs_for(hf.config, 1, 8, 8, seed=3)
    got = run(traced_layer("gemma3_text", 0, 1, 8), inputs)[0]
    unwindowed = LayerWrapper(hf, 0)
    unwindowed.sliding_window = None
    with torch.no_grad():
        plain = unwindowed(*(inputs[n] for n in LAYER_INPUTS))[0]
    assert_matches(got, reference_layer_outputs(hf, 0, inputs)[0], "windowed")
    assert (got - plain).abs().max() > 1e-3


@pytest.mark.parametrize("arch", ARCHS)
def test_meta_trace_from_config(arch):
    config = make_config(arch)
    start = time.perf_counter()
    traced = trace_layer(config, 0, 1, 8, device="meta")
    seconds = time.perf_counter() - start
    print(
        f"\n{arch} layer 0 ({traced.kind}) from config on meta: {seconds:.2f}s, "
        f"{traced.node_count} nodes"
    )
    cpu = traced_layer(arch, 0, 1, 8)
    assert traced.weights == cpu.weights and traced.ops == cpu.ops
    assert traced.buffers.keys() == cpu.buffers.keys()
    for name, value in traced.buffers.items():
        torch.testing.assert_close(value, cpu.buffers[name])
    outputs = traced.program.graph.output_node().args[0]
    # 2 kv heads of 16 dims in every test config
    assert [tuple(o.meta["val"].shape) for o in outputs] == [(1, 1, 64), (1, 1, 32), (1, 1, 32)]


@pytest.mark.parametrize("arch", ARCHS)
def test_post_matches_hf(arch):
    hf = model(arch)
    seen = []
    norm = getattr(hf.model, "norm", None) or hf.model.final_layernorm
    hook = norm.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    try:
        with torch.no_grad():
            logits = hf(input_ids=torch.tensor([[3, 1, 4, 1, 5]])).logits
    finally:
        hook.remove()
    post = trace_post(hf)
    with torch.no_grad():
        got = post.program.module()(seen[0][:, -1:])
    assert_matches(got, logits[:, -1:], f"{arch} post")
    lm_head = [n for n in post.weights.values() if n.endswith("weight")][-1]
    tied = hf.config.tie_word_embeddings
    assert lm_head == ("model.embed_tokens.weight" if tied else "lm_head.weight")


def test_embedding_is_a_gather():
    hf = model("gemma3_text")
    emb = trace_embedding(hf, seq_len=3)
    ids = torch.tensor([[5, 0, 127]], dtype=torch.int32)
    with torch.no_grad():
        got = emb.program.module()(ids)
    expected = hf.model.embed_tokens.weight[ids.long()] * 64**0.5  # gemma scales by sqrt(hidden)
    assert_matches(got, expected, "embedding")
    assert emb.weights["p_embed_weight"] == "model.embed_tokens.weight"
    assert emb.buffers["model.embed_tokens.embed_scale"].item() == 8.0


def test_runtime_mask_layout():
    mask = runtime_mask(2, 4, 3)
    visible = mask[0] == 0
    assert visible.tolist() == [
        [True, True, True, False, True, False],
        [True, True, True, False, True, True],
    ]
    assert mask.min().item() == MASK_VALUE


def test_chained_programs_match_the_full_model():
    """Prefill 5 tokens, then decode 2 against an 8-row cache, as the runtime does."""
    hf = model("gemma3_text")
    config = hf.config
    tokens = torch.tensor([[7, 3, 9, 1, 4, 8, 2]])
    with torch.no_grad():
        expected = hf(input_ids=tokens).logits
    layers = range(config.num_hidden_layers)
    prefill = {i: traced_layer("gemma3_text", i, 5, 0) for i in layers}
    decode = {i: traced_layer("gemma3_text", i, 1, 8) for i in layers}
    embed = {n: trace_embedding(hf, n).program.module() for n in (5, 1)}
    post = trace_post(hf).program.module()
    kv_dim = config.num_key_value_heads * config.head_dim
    k_cache = {i: torch.zeros(1, 8, kv_dim) for i in layers}
    v_cache = {i: torch.zeros(1, 8, kv_dim) for i in layers}

    def step(programs, ids, start, kv_len):
        seq_len = ids.shape[1]
        hidden = embed[seq_len](ids.to(torch.int32))
        indices = (torch.arange(seq_len) + start).unsqueeze(0).to(INDEX_DTYPE)
        mask = runtime_mask(seq_len, kv_len, start)
        for i in layers:
            empty = torch.zeros(1, 0, kv_dim)
            k_in = k_cache[i] if kv_len else empty
            v_in = v_cache[i] if kv_len else empty
            hidden, k_new, v_new = programs[i].program.module()(hidden, indices, mask, k_in, v_in)
            k_cache[i][:, start : start + seq_len] = k_new
            v_cache[i][:, start : start + seq_len] = v_new
        return post(hidden[:, -1:])

    with torch.no_grad():
        assert_matches(step(prefill, tokens[:, :5], 0, 0), expected[:, 4:5], "prefill logits")
        assert_matches(step(decode, tokens[:, 5:6], 5, 8), expected[:, 5:6], "decode 1 logits")
        assert_matches(step(decode, tokens[:, 6:7], 6, 8), expected[:, 6:7], "decode 2 logits")


def test_length_dependent_rope():
    """phi3 longrope: traced with its short factors, refused beyond original_max_position."""
    rope = {
        "rope_type": "longrope",
        "rope_theta": 10000.0,
        "partial_rotary_factor": 1.0,
        "short_factor": [1.0 + 0.25 * i for i in range(8)],
        "long_factor": [4.0] * 8,
        "original_max_position_embeddings": 64,
    }
    torch.manual_seed(0)
    hf = build_model(
        Phi3Config(
            num_hidden_layers=1, rope_parameters=rope, original_max_position_embeddings=64, **COMMON
        )
    )
    traced = trace_layer(hf, 0, 1, 8)
    inputs = inputs_for(hf.config, 1, 8, 8, seed=0)
    for name, g, r in zip(
        LAYER_OUTPUTS, run(traced, inputs), reference_layer_outputs(hf, 0, inputs), strict=True
    ):
        assert_matches(g, r, f"longrope {name}")
    with pytest.raises(AxcError, match="longrope"):
        trace_layer(hf, 0, 1, 64)
