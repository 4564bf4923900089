"""Trace Hugging Face decoder layers with ``torch.export`` under the ax-llm runtime contract.

Each distinct layer kind is exported once per static shape (decode: 1 token against a cache of
``kv_len`` rows; prefill: ``prefill_len`` tokens against ``kv_len`` earlier rows, 0 for the first
chunk) by running the model's OWN decoder layer inside :class:`LayerWrapper`, so a new
architecture needs no hand-written graph (DESIGN.md 3.1). The graph's interface is section 5's:

    inputs   input [1, T, hidden] f32, indices [1, T] uint32, mask [1, T, kv_len + T] f32,
             K_cache, V_cache [1, kv_len, kv_heads * head_dim] f32
    outputs  output [1, T, hidden], K_cache_out, V_cache_out [1, T, kv_heads * head_dim]

Decisions the importer and the runtime rely on:

* ``indices`` stays uint32 in the graph (as the runtime feeds it); it is cast to int64 once.
* ``mask`` is additive (0 visible, ``MASK_VALUE`` hidden) and is the only causal/visibility
  input: HF's own mask builders are not traced.
* Sliding-window layers (gemma2/gemma3 local layers, phi3/mistral-style windows) HONOUR the
  window inside the graph: the runtime builds one plain causal mask for all layers, so the
  wrapper additionally hides keys at distance >= window, taking cache row ``r`` to hold
  position ``r`` (the ax-llm layout; the new rows sit at ``indices``). The HF layer's
  ``sliding_window`` attribute only steers flash/flex kernels and is inert under sdpa/eager.
* ``K_cache_out``/``V_cache_out`` are the new rows only: keys after RoPE (and after gemma3's
  k_norm), exactly what HF stores in its cache.
* Weights never enter the graph as data: every parameter/buffer placeholder is mapped to its
  Hugging Face state-dict name; values of non-persistent buffers (rotary ``inv_freq``, gemma's
  ``embed_scale``), which checkpoints do not hold, travel in :attr:`TracedLayer.buffers`.
* The program is decomposed to the core ATen set, except that
  ``aten.scaled_dot_product_attention`` is kept whole (gemma2 has no sdpa path in HF because of
  its attention soft-capping, so its graph carries the eager matmul/tanh/softmax form).
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn
from transformers import AutoModelForCausalLM, DynamicCache, PretrainedConfig, PreTrainedModel
from transformers.cache_utils import Cache
from transformers.masking_utils import create_causal_mask, create_sliding_window_causal_mask

from axc.errors import AxcError
from axc.runtime.engine import MASK_VALUE  # the runtime contract owns the constant

INDEX_DTYPE = torch.uint32
TOKEN_DTYPE = torch.int32
LAYER_INPUTS = ("input", "indices", "mask", "K_cache", "V_cache")
LAYER_OUTPUTS = ("output", "K_cache_out", "V_cache_out")
_TRACEABLE_ATTENTION = ("sdpa", "eager")
_FINAL_NORM_NAMES = ("norm", "final_layernorm")


def layer_kind_key(config: PretrainedConfig, layer_idx: int) -> str:
    """Name of the layer's kind: layers of one kind share one traced graph (up to weight names).

    Follows HF's own rule (``cache_utils.get_layer_types_and_kwargs``): ``config.layer_types``
    when present, else a global ``sliding_window`` makes every layer a sliding one.
    """
    types = getattr(config, "layer_types", None)
    if types is not None:
        return types[layer_idx]
    return "sliding_attention" if getattr(config, "sliding_window", None) else "full_attention"


def layer_sliding_window(config: PretrainedConfig, layer_idx: int) -> int | None:
    """The attention window of a layer in tokens, or None for full attention."""
    if layer_kind_key(config, layer_idx) != "sliding_attention":
        return None
    return getattr(config, "sliding_window", None)


class _RowCache(Cache):
    """A one-layer cache that shows the layer the runtime's history and keeps the rows it adds.

    HF layers only call ``update``, which must return history + new rows; the new rows are
    what the runtime writes back into its own cache.
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        super().__init__(layers=[])
        self.history = (keys, values)
        self.new_rows: tuple[torch.Tensor, torch.Tensor] | None = None

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        self.new_rows = (key_states, value_states)
        keys, values = self.history
        return torch.cat([keys, key_states], dim=2), torch.cat([values, value_states], dim=2)


def _to_heads(rows: torch.Tensor, kv_heads: int, head_dim: int) -> torch.Tensor:
    """[1, S, kv_heads*head_dim] (runtime layout) -> [1, kv_heads, S, head_dim] (HF layout)."""
    return rows.view(rows.shape[0], rows.shape[1], kv_heads, head_dim).transpose(1, 2)


def _to_rows(heads: torch.Tensor) -> torch.Tensor:
    """[1, kv_heads, S, head_dim] (HF layout) -> [1, S, kv_heads*head_dim] (runtime layout)."""
    batch, kv_heads, seq, head_dim = heads.shape
    return heads.transpose(1, 2).reshape(batch, seq, kv_heads * head_dim)


def _kv_geometry(layer: nn.Module, config: PretrainedConfig) -> tuple[int, int]:
    """(kv_heads, head_dim) as the layer's attention module computes them."""
    attn = layer.self_attn
    return config.num_attention_heads // attn.num_key_value_groups, attn.head_dim


def _rope_args(rotary: nn.Module, config: PretrainedConfig, layer_idx: int) -> tuple:
    """Extra rotary arguments: gemma3's rotary module takes the layer type (local/global base)."""
    if "layer_type" in inspect.signature(rotary.forward).parameters:
        return (config.layer_types[layer_idx],)
    return ()


def _static_rope_limit(rotary: nn.Module, rope_args: tuple) -> int | None:
    """For length-dependent RoPE (dynamic NTK, longrope), the longest sequence that keeps the
    initial frequencies; None for static RoPE.

    HF recomputes such frequencies from ``max(position_ids)`` at run time (a data-dependent
    branch or an in-place buffer update, neither exportable); below this limit they equal the
    initial ones, so the wrapper uses them and ``trace_layer`` refuses longer shapes.
    """
    rope_type = rotary.rope_type[rope_args[0]] if rope_args else rotary.rope_type
    if rope_type == "longrope":
        params = rotary.config.rope_parameters
        params = params[rope_args[0]] if rope_args else params
        return params["original_max_position_embeddings"]
    if "dynamic" in rope_type:
        return rotary.original_max_seq_len
    return None


def _base_model(model: PreTrainedModel) -> nn.Module:
    """The decoder stack (``model.model`` for *ForCausalLM)."""
    base = model.get_decoder() if hasattr(model, "get_decoder") else model
    if not hasattr(base, "layers") or not hasattr(base, "rotary_emb"):
        raise AxcError(
            f"{type(model).__name__}: no decoder stack with `layers` and `rotary_emb`; "
            "this architecture is not supported by the tracer"
        )
    return base


class LayerWrapper(nn.Module):
    """One HF decoder layer behind the runtime interface (see module docstring).

    The rotary module is held too so that cos/sin are computed from ``indices`` inside the
    graph; phi's partial rotary and gemma3's per-layer-type base come from HF's own modules.
    """

    def __init__(self, model: PreTrainedModel, layer_idx: int):
        super().__init__()
        base = _base_model(model)
        config = model.config
        self.layer = base.layers[layer_idx]
        self.rotary = base.rotary_emb
        self.rope_args = _rope_args(self.rotary, config, layer_idx)
        self.rope_limit = _static_rope_limit(self.rotary, self.rope_args)
        rope_forward = type(self.rotary).forward
        if self.rope_limit is not None:
            rope_forward = rope_forward.__wrapped__  # skip dynamic_rope_update (see above)
        self._rope_forward = rope_forward
        self.kv_heads, self.head_dim = _kv_geometry(self.layer, config)
        self.sliding_window = layer_sliding_window(config, layer_idx)

    def forward(self, input, indices, mask, K_cache, V_cache):
        kv_len = K_cache.shape[1]
        positions = indices.to(torch.int64)
        cache = _RowCache(
            _to_heads(K_cache, self.kv_heads, self.head_dim),
            _to_heads(V_cache, self.kv_heads, self.head_dim),
        )
        attn_mask = mask.unsqueeze(1)  # HF attention wants [B, 1, T, S]
        if self.sliding_window is not None:
            attn_mask = self._hide_outside_window(attn_mask, positions, kv_len)
        output = self.layer(
            hidden_states=input,
            attention_mask=attn_mask,
            position_ids=positions,
            cache=cache,
            position_embeddings=self._rope_forward(self.rotary, input, positions, *self.rope_args),
        )
        if isinstance(output, tuple):
            output = output[0]
        new_keys, new_values = cache.new_rows
        return output, _to_rows(new_keys), _to_rows(new_values)

    def _hide_outside_window(self, attn_mask, positions, kv_len):
        """Mask keys whose distance to the query is >= window (HF's sliding_window_overlay)."""
        history = torch.arange(kv_len, dtype=positions.dtype, device=positions.device)
        key_positions = torch.cat([history.unsqueeze(0), positions], dim=1)
        distance = positions.unsqueeze(2) - key_positions.unsqueeze(1)
        return attn_mask.masked_fill((distance >= self.sliding_window).unsqueeze(1), MASK_VALUE)


class _EmbeddingWrapper(nn.Module):
    """The model's own input embedding (a gather; gemma also scales by sqrt(hidden))."""

    def __init__(self, model: PreTrainedModel):
        super().__init__()
        self.embed = model.get_input_embeddings()

    def forward(self, input_ids):
        return self.embed(input_ids)


class _PostWrapper(nn.Module):
    """Final norm + lm_head (+ gemma's final logit soft-capping), as *ForCausalLM.forward does."""

    def __init__(self, model: PreTrainedModel):
        super().__init__()
        base = _base_model(model)
        norm_name = next((n for n in _FINAL_NORM_NAMES if hasattr(base, n)), None)
        if norm_name is None:
            raise AxcError(f"{type(model).__name__}: cannot find the final norm of the decoder")
        self.norm = getattr(base, norm_name)
        self.lm_head = model.get_output_embeddings()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)

    def forward(self, input):
        logits = self.lm_head(self.norm(input))
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits


@dataclass
class TracedLayer:
    """An exported program with its runtime names and its weights referred to by HF name.

    ``input_names``/``output_names`` are the runtime's names in the order of the graph's user
    inputs/outputs (torch.export lower-cases placeholder names, e.g. ``k_cache``).
    ``weights`` maps each parameter/buffer placeholder to its Hugging Face state-dict name
    (tied lm_head -> ``model.embed_tokens.weight``); ``buffers`` holds the values of the
    non-persistent buffers among them, which no checkpoint contains. A program traced on the
    meta device is for import and estimates only: its constants live on meta.
    """

    program: torch.export.ExportedProgram
    kind: str
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    weights: dict[str, str]
    buffers: dict[str, torch.Tensor] = field(default_factory=dict)
    layer_idx: int | None = None
    layer_prefix: str | None = None
    seq_len: int = 1
    kv_len: int = 0

    @property
    def ops(self) -> list[str]:
        """Distinct ATen ops of the graph: what the axh importer must cover."""
        graph = self.program.graph
        return sorted({str(n.target) for n in graph.nodes if n.op == "call_function"})

    @property
    def node_count(self) -> int:
        return len(self.program.graph.nodes)

    @property
    def layer_weight_prefix(self) -> str:
        """The state-dict prefix of this layer's own weights, e.g. ``model.layers.3.``."""
        if self.layer_idx is None:
            raise ValueError("only decoder-layer traces have a layer prefix")
        return f"{self.layer_prefix}.{self.layer_idx}."

    def relative_weights(self) -> dict[str, str]:
        """Weight names without the layer prefix (``self_attn.q_proj.weight``), so every layer
        of one kind imports to identical IR; a prefixed `WeightStore` resolves them."""
        old = self.layer_weight_prefix
        return {ph: name[len(old):] if name.startswith(old) else name
                for ph, name in self.weights.items()}

    def weights_for_layer(self, layer_idx: int) -> dict[str, str]:
        """The weight names for another layer of the same kind, so one trace serves them all."""
        if self.layer_idx is None:
            raise ValueError("weights_for_layer only applies to decoder-layer traces")
        old, new = f"{self.layer_prefix}.{self.layer_idx}.", f"{self.layer_prefix}.{layer_idx}."
        return {
            ph: new + name[len(old) :] if name.startswith(old) else name
            for ph, name in self.weights.items()
        }


def build_model(config: PretrainedConfig, device: str = "cpu") -> PreTrainedModel:
    """A float32 *ForCausalLM from a config; on ``meta`` it costs no memory (shapes only)."""
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    return model.eval()


def _as_model(model_or_config, device: str) -> PreTrainedModel:
    if isinstance(model_or_config, PretrainedConfig):
        return build_model(model_or_config, device)
    impl = model_or_config.config._attn_implementation
    if impl not in _TRACEABLE_ATTENTION:
        raise AxcError(f"attention implementation {impl!r} cannot be traced; load with 'sdpa'")
    return model_or_config


def _core_aten(program: torch.export.ExportedProgram) -> torch.export.ExportedProgram:
    """Core ATen, but with sdpa whole (the importer raises it to axh.attention directly)."""
    table = torch.export.default_decompositions()
    table.pop(torch.ops.aten.scaled_dot_product_attention.default, None)
    program = program.run_decompositions(table)
    graph = program.graph_module.graph
    # `.to()` leaves metadata assertions without users; they carry no computation.
    for node in list(graph.nodes):
        if node.target is torch.ops.aten._assert_tensor_metadata.default:
            graph.erase_node(node)
    program.graph_module.recompile()
    return program


def _buffer_value(model: PreTrainedModel, owner: nn.Module, local: str) -> torch.Tensor:
    """A buffer's value on CPU; on a meta model it is recomputed with HF's own initialiser."""
    value = owner._buffers[local]
    if value.device.type != "meta":
        return value.detach().to("cpu", copy=True)
    saved = dict(owner._buffers)
    try:
        for name, buf in saved.items():
            if buf is not None and buf.device.type == "meta":
                owner._buffers[name] = torch.empty(buf.shape, dtype=buf.dtype, device="cpu")
        model._init_weights(owner)
        return owner._buffers[local].detach().clone()
    finally:
        owner._buffers.update(saved)


def _export(
    model: PreTrainedModel,
    wrapper: nn.Module,
    args: tuple,
    kind: str,
    input_names: tuple[str, ...],
    output_names: tuple[str, ...],
) -> TracedLayer:
    """Export ``wrapper`` and name its placeholders after the HF state dict."""
    with torch.no_grad(), warnings.catch_warnings():
        # torch 2.13's own pytree code trips its LeafSpec deprecation warning on every export.
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        program = _core_aten(torch.export.export(wrapper, args, strict=False))
    module_names = {id(m): n for n, m in model.named_modules()}
    owners = {name: module_names.get(id(child)) for name, child in wrapper.named_modules()}
    tied = getattr(model, "all_tied_weights_keys", None) or {}
    weights, buffers = {}, {}
    signature = program.graph_signature
    targets = {**signature.inputs_to_parameters, **signature.inputs_to_buffers}
    for placeholder, target in targets.items():
        owner_path, _, local = target.rpartition(".")
        hf_name = f"{owners[owner_path]}.{local}"
        hf_name = tied.get(hf_name, hf_name)
        weights[placeholder] = hf_name
        owner = wrapper.get_submodule(owner_path)
        if local in owner._non_persistent_buffers_set:
            buffers[hf_name] = _buffer_value(model, owner, local)
    if signature.inputs_to_lifted_tensor_constants:
        raise AxcError(f"{kind}: the traced graph captured tensor constants; cannot name them")
    return TracedLayer(program, kind, input_names, output_names, weights, buffers)


def layer_example_inputs(
    config: PretrainedConfig,
    seq_len: int,
    kv_len: int,
    start: int | None = None,
    generator: torch.Generator | None = None,
    device: str = "cpu",
) -> dict[str, torch.Tensor]:
    """Runtime-shaped inputs: tokens at positions ``start..start+seq_len-1``.

    Cache rows ``>= start`` are unused (random here) and hidden by the mask; ``start``
    defaults to ``kv_len`` (a full history).
    """
    start = kv_len if start is None else start
    hidden = config.hidden_size
    head_dim = getattr(config, "head_dim", None) or hidden // config.num_attention_heads
    kv_dim = config.num_key_value_heads * head_dim
    inputs = {
        "input": torch.randn(1, seq_len, hidden, generator=generator),
        "indices": (torch.arange(seq_len) + start).unsqueeze(0).to(INDEX_DTYPE),
        "mask": runtime_mask(seq_len, kv_len, start),
        "K_cache": torch.randn(1, kv_len, kv_dim, generator=generator),
        "V_cache": torch.randn(1, kv_len, kv_dim, generator=generator),
    }
    return {name: value.to(device) for name, value in inputs.items()}


def runtime_mask(seq_len: int, kv_len: int, start: int) -> torch.Tensor:
    """The ax-llm mask [1, T, kv_len+T] as a tensor (`axc.runtime.engine.runtime_mask`)."""
    from axc.runtime.engine import runtime_mask as runtime_mask_array

    return torch.from_numpy(runtime_mask_array(seq_len, kv_len, start))


def trace_layer(
    model_or_config, layer_idx: int, seq_len: int, kv_len: int, device: str = "cpu"
) -> TracedLayer:
    """Export decoder layer ``layer_idx`` for ``seq_len`` new tokens against ``kv_len`` rows.

    A config is built into a model on ``device`` first (``"meta"`` traces from a config alone).
    """
    model = _as_model(model_or_config, device)
    wrapper = LayerWrapper(model, layer_idx)
    if wrapper.rope_limit is not None and kv_len + seq_len > wrapper.rope_limit:
        raise AxcError(
            f"layer {layer_idx}: RoPE type {wrapper.rotary.rope_type!r} changes its frequencies "
            f"beyond {wrapper.rope_limit} positions; kv_len + seq_len = {kv_len + seq_len} "
            "cannot be traced as one static graph"
        )
    dev = next(model.parameters()).device.type
    example = layer_example_inputs(model.config, seq_len, kv_len, device=dev)
    traced = _export(
        model,
        wrapper,
        tuple(example[n] for n in LAYER_INPUTS),
        layer_kind_key(model.config, layer_idx),
        LAYER_INPUTS,
        LAYER_OUTPUTS,
    )
    traced.layer_idx, traced.seq_len, traced.kv_len = layer_idx, seq_len, kv_len
    layer_path = next(n for n, m in model.named_modules() if m is wrapper.layer)
    traced.layer_prefix = layer_path.rpartition(".")[0]
    return traced


def trace_embedding(model_or_config, seq_len: int = 1, device: str = "cpu") -> TracedLayer:
    """Export the token embedding: ``input_ids`` [1, T] int32 -> ``output`` [1, T, hidden]."""
    model = _as_model(model_or_config, device)
    dev = next(model.parameters()).device.type
    ids = torch.zeros(1, seq_len, dtype=TOKEN_DTYPE, device=dev)
    traced = _export(
        model, _EmbeddingWrapper(model), (ids,), "embedding", ("input_ids",), ("output",)
    )
    traced.seq_len = seq_len
    return traced


def trace_post(model_or_config, device: str = "cpu") -> TracedLayer:
    """Export the post model: ``input`` [1, 1, hidden] -> ``output`` logits [1, 1, vocab]."""
    model = _as_model(model_or_config, device)
    dev = next(model.parameters()).device.type
    hidden = torch.zeros(1, 1, model.config.hidden_size, device=dev)
    return _export(model, _PostWrapper(model), (hidden,), "post", ("input",), ("output",))


class _RecordingCache(DynamicCache):
    """HF's DynamicCache, also remembering the rows of the last update (sliding layers drop
    old rows from storage, so the new rows cannot be read back afterwards)."""

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        self.new_rows = (key_states, value_states)
        return super().update(key_states, value_states, layer_idx, *args, **kwargs)


@torch.no_grad()
def reference_layer_outputs(
    model: PreTrainedModel, layer_idx: int, inputs: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, ...]:
    """What Hugging Face computes for runtime-shaped ``inputs``, the conventional way.

    The history is cache rows ``0..indices[0,0]-1`` (row r = position r) put into a
    ``DynamicCache`` built from the config (sliding layers keep only their window, as in HF);
    the mask is HF's own causal / sliding-window mask for that cache, and the runtime
    ``mask`` is ignored. Returns (output, K_cache_out, V_cache_out) in runtime layout.
    """
    config = model.config
    base = _base_model(model)
    layer = base.layers[layer_idx]
    kv_heads, head_dim = _kv_geometry(layer, config)
    hidden = inputs["input"]
    positions = inputs["indices"].to(torch.int64)
    start = int(positions[0, 0])

    cache = _RecordingCache(config=config)
    if start:
        cache.update(
            _to_heads(inputs["K_cache"][:, :start], kv_heads, head_dim),
            _to_heads(inputs["V_cache"][:, :start], kv_heads, head_dim),
            layer_idx,
        )
    make_mask = (
        create_sliding_window_causal_mask
        if layer_sliding_window(config, layer_idx)
        else create_causal_mask
    )
    mask = make_mask(
        config=config,
        inputs_embeds=hidden,
        attention_mask=None,
        cache=cache,
        position_ids=positions,
        layer_idx=layer_idx,
    )
    rotary = base.rotary_emb
    output = layer(
        hidden_states=hidden,
        attention_mask=mask,
        position_ids=positions,
        cache=cache,
        position_embeddings=rotary(hidden, positions, *_rope_args(rotary, config, layer_idx)),
    )
    if isinstance(output, tuple):
        output = output[0]
    new_keys, new_values = cache.new_rows
    return output, _to_rows(new_keys), _to_rows(new_values)
