"""Tiny random checkpoints of every supported architecture, built from transformers' configs.

They exercise loading, tracing and lowering without any pretrained download: hidden 64, 4 heads
over 2 KV heads, vocab 128, 2-3 layers (gemma with sliding and full attention layers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

ARCHITECTURES = ("qwen2", "llama", "gemma2", "gemma3_text", "phi", "phi3")
FORMATS = ("safetensors", "bin", "sharded-safetensors", "sharded-bin")
SHARD_BYTES = 24_000  # forces several shards: the embedding alone is 128 * 64 * 4 bytes
VOCAB_SIZE = 128
_SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")

_COMMON = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=VOCAB_SIZE,
    max_position_embeddings=256,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)


def tiny_config(arch: str):
    """The transformers config of the tiny model of `arch`."""
    import transformers as tf

    if arch == "qwen2":
        return tf.Qwen2Config(**_COMMON, rope_theta=1e6, tie_word_embeddings=True)
    if arch == "llama":
        return tf.LlamaConfig(**_COMMON, rope_theta=5e5, head_dim=16)
    if arch == "gemma2":
        return tf.Gemma2Config(**_COMMON, head_dim=16, sliding_window=8, query_pre_attn_scalar=16)
    if arch == "gemma3_text":
        return tf.Gemma3TextConfig(
            **{**_COMMON, "num_hidden_layers": 3},
            head_dim=16,
            sliding_window=8,
            query_pre_attn_scalar=16,
            layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        )
    if arch == "phi":
        return tf.PhiConfig(**_COMMON, partial_rotary_factor=0.5)
    if arch == "phi3":
        return tf.Phi3Config(**_COMMON)
    raise ValueError(f"no tiny model for {arch}")


def tiny_model(arch: str, seed: int = 0) -> torch.nn.Module:
    """A tiny model whose every parameter, norms included, is random (so offsets show)."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(arch), dtype=torch.float32)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 0.2)
    return model.eval()


def make_tiny_model(
    arch: str, out_dir: str | Path, fmt: str = "safetensors", seed: int = 0
) -> Path:
    """Save a tiny `arch` model as a Hugging Face folder in `fmt`; return the folder.

    transformers 5 only writes safetensors, so the `.bin` formats are written here with the
    same tensor names and the layout of older transformers (`pytorch_model-0000i-of-0000n.bin`).
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}")
    out_dir = Path(out_dir)
    model = tiny_model(arch, seed)
    sharded = fmt.startswith("sharded")
    model.save_pretrained(out_dir, max_shard_size=SHARD_BYTES if sharded else "1GB")
    if fmt.endswith("bin"):
        _safetensors_to_bin(model, out_dir, sharded)
    _write_tiny_tokenizer(out_dir)
    return out_dir


def _safetensors_to_bin(model: torch.nn.Module, out_dir: Path, sharded: bool) -> None:
    """Replace the safetensors files by pytorch_model*.bin holding the same tensors."""
    from safetensors import safe_open

    files = sorted(out_dir.glob("*.safetensors"))
    saved_names = []
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            saved_names.append(list(handle.keys()))
        file.unlink()
    (out_dir / "model.safetensors.index.json").unlink(missing_ok=True)
    state = model.state_dict()
    if not sharded:
        names = [n for group in saved_names for n in group]
        torch.save({n: state[n].clone() for n in names}, out_dir / "pytorch_model.bin")
        return
    weight_map = {}
    for index, names in enumerate(saved_names, start=1):
        leaf = f"pytorch_model-{index:05d}-of-{len(saved_names):05d}.bin"
        torch.save({n: state[n].clone() for n in names}, out_dir / leaf)
        weight_map.update(dict.fromkeys(names, leaf))
    total_bytes = sum(state[n].numel() * state[n].element_size() for n in weight_map)
    index_json = {"metadata": {"total_size": total_bytes}, "weight_map": weight_map}
    (out_dir / "pytorch_model.bin.index.json").write_text(json.dumps(index_json, indent=2))


def tiny_vocab() -> list[str]:
    """Special tokens, printable ASCII, then fillers up to VOCAB_SIZE."""
    tokens = list(_SPECIAL_TOKENS) + [chr(c) for c in range(32, 127)]
    return tokens + [f"<extra_{i}>" for i in range(VOCAB_SIZE - len(tokens))]


def _write_tiny_tokenizer(out_dir: Path) -> None:
    """A character-level tokenizer over printable ASCII, with a minimal chat template."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(tiny_vocab())}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        chat_template="{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
    )
    tokenizer.save_pretrained(out_dir, save_jinja_files=False)


# --- GGUF, written the way llama.cpp's convert_hf_to_gguf.py does --------------------------

# HF leaf -> GGUF leaf, spelled out (not taken from gguf's table) so the reader is checked
# against an independent statement of llama.cpp's naming.
_GGUF_LAYER_NAMES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm",
}
_GGUF_NORMS = {
    "llama": {"post_attention_layernorm": "ffn_norm"},
    "qwen2": {"post_attention_layernorm": "ffn_norm"},
    "gemma3_text": {
        "post_attention_layernorm": "post_attention_norm",
        "pre_feedforward_layernorm": "ffn_norm",
        "post_feedforward_layernorm": "post_ffw_norm",
    },
}
GGUF_ARCHITECTURES = tuple(_GGUF_NORMS)


def hf_to_gguf_name(arch: str, hf_name: str) -> str:
    """llama.cpp's name for a Hugging Face tensor name of `arch`."""
    top = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"}
    base, suffix = hf_name.rsplit(".", 1)
    if base in top:
        return f"{top[base]}.{suffix}"
    _, _, layer, leaf = base.split(".", 3)
    leaf = {**_GGUF_LAYER_NAMES, **_GGUF_NORMS[arch]}[leaf]
    return f"blk.{layer}.{leaf}.{suffix}"


def _llama_cpp_permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's Q/K row order for llama (interleaved rotary pairs)."""
    return (
        weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def make_tiny_gguf(
    arch: str, out_path: str | Path, qtype: str = "F32", seed: int = 0
) -> tuple[Path, dict[str, np.ndarray]]:
    """Write the tiny `arch` model as a GGUF file; return it and the HF state dict it encodes.

    2-D weights are stored as `qtype` ("F32" or "Q8_0"), 1-D ones as F32, as llama.cpp does.
    """
    import gguf

    out_path = Path(out_path)
    model = tiny_model(arch, seed)
    config = model.config
    state = {n: t.detach().numpy().copy() for n, t in model.state_dict().items()}
    if config.tie_word_embeddings:
        state.pop("lm_head.weight")
    gguf_arch = "gemma3" if arch == "gemma3_text" else arch
    writer = gguf.GGUFWriter(str(out_path), gguf_arch)
    writer.add_name(f"tiny {arch}")
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(config.rope_parameters.get("rope_theta", 1e6))
    writer.add_vocab_size(config.vocab_size)
    if arch == "gemma3_text":
        writer.add_key_length(config.head_dim)
        writer.add_value_length(config.head_dim)
        writer.add_sliding_window(config.sliding_window)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tiny_vocab())
    writer.add_token_scores([0.0] * config.vocab_size)  # no merges: a character-level BPE
    writer.add_bos_token_id(config.bos_token_id)
    writer.add_eos_token_id(config.eos_token_id)
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    for hf_name, values in state.items():
        if arch == "llama" and ".q_proj." in hf_name:
            values = _llama_cpp_permute(values, heads)
        elif arch == "llama" and ".k_proj." in hf_name:
            values = _llama_cpp_permute(values, kv_heads)
        if arch == "gemma3_text" and hf_name.endswith("norm.weight"):
            values = values + 1.0  # gemma computes x * (1 + w); llama.cpp stores 1 + w
        name = hf_to_gguf_name(arch, hf_name)
        if qtype == "Q8_0" and values.ndim == 2:
            quant = gguf.GGMLQuantizationType.Q8_0
            writer.add_tensor(name, gguf.quants.quantize(values, quant), raw_dtype=quant)
        else:
            writer.add_tensor(name, values.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_path, state
