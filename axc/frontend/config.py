"""One normalised view of a Hugging Face LLM config.

Architectures spell the same fact differently (`hidden_act` vs `hidden_activation`,
`rms_norm_eps` vs `layer_norm_eps`, rope settings flat or per layer type). The rest of the
compiler reads `LLMConfig` only, so those differences are handled here once.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from axc.errors import AxcError

SUPPORTED_ARCHITECTURES = ("qwen2", "llama", "gemma2", "gemma3_text", "phi", "phi3")
# multimodal wrappers whose text_config is a supported decoder (weight names not remapped)
_TEXT_WRAPPERS = ("gemma3",)
# gemma scales embeddings by sqrt(hidden) and stores norms as (1 + w)
_GEMMA_TYPES = ("gemma2", "gemma3_text")
# GGUF `general.architecture` -> transformers model_type, where they differ
_GGUF_MODEL_TYPES = {"gemma3": "gemma3_text"}
GGUF_ARCHITECTURE_OF = {model_type: arch for arch, model_type in _GGUF_MODEL_TYPES.items()}


@dataclass(frozen=True)
class LayerKind:
    """What makes one decoder layer's traced graph differ from another's."""

    attention: str  # "full_attention" | "sliding_attention"
    sliding_window: int | None  # tokens, None for full attention
    rope_theta: float


@dataclass
class LLMConfig:
    """The config fields pulsar2 prints, normalised across architectures."""

    model_name: str
    model_type: str
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    hidden_size: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    rope_theta: float
    rope_scaling: dict[str, Any] | None
    partial_rotary_factor: float
    norm_type: str  # "rms_norm" | "layer_norm"
    norm_eps: float
    hidden_act: str
    # exact sqrt(hidden) for gemma; HF multiplies in the activation dtype (bf16: 25.30 -> 25.25)
    embedding_scale: float
    tie_word_embeddings: bool
    attention_bias: bool
    qk_norm: bool
    sliding_window: int | None
    layer_types: tuple[str, ...]
    local_rope_theta: float | None  # rope base of sliding layers when it differs (gemma3)
    attn_logit_softcapping: float | None
    final_logit_softcapping: float | None
    query_pre_attn_scalar: float | None
    bos_token_id: int | tuple[int, ...] | None
    eos_token_id: int | tuple[int, ...] | None
    max_position_embeddings: int
    hf: Any = field(default=None, repr=False, compare=False)
    """The transformers config this was normalised from (what tracing needs)."""

    @classmethod
    def from_pretrained_dir(cls, path: str | Path) -> LLMConfig:
        """Read `config.json` of a model folder, or the metadata of a `.gguf` file.

        A folder holding no config.json but exactly one .gguf is read as that GGUF file; a path
        to a config.json itself reads that file.
        """
        path = Path(path)
        if path.name == "config.json":
            path = path.parent
        gguf = gguf_file_of(path)
        if gguf is not None:
            return cls.from_gguf(gguf)
        config_file = path / "config.json"
        if not config_file.is_file():
            raise AxcError(f"{config_file}: not found; pass a Hugging Face model folder or a .gguf")
        try:
            raw = json.loads(config_file.read_text())
        except (OSError, ValueError) as err:
            raise AxcError(f"{config_file}: unreadable JSON ({err})") from None
        _check_supported(raw.get("model_type"), config_file)
        from transformers import AutoConfig

        hf_config = AutoConfig.from_pretrained(path)
        return cls.from_hf_config(hf_config, model_name=path.name, source=config_file)

    @classmethod
    def from_gguf(cls, gguf_path: str | Path) -> LLMConfig:
        """Config of a GGUF file, rebuilt from its metadata as transformers would."""
        from transformers import AutoConfig

        gguf_path = Path(gguf_path)
        config_dict = read_gguf_config(gguf_path)
        hf_config = AutoConfig.for_model(**config_dict)
        return cls.from_hf_config(hf_config, source=gguf_path)

    @classmethod
    def from_hf_config(
        cls, cfg: Any, model_name: str | None = None, source: str | Path | None = None
    ) -> LLMConfig:
        """Normalise a transformers `PretrainedConfig` (or a config.json dict)."""
        if isinstance(cfg, dict):
            from transformers import AutoConfig

            _check_supported(cfg.get("model_type"), source or "config")
            cfg = AutoConfig.for_model(**cfg)
        if cfg.model_type in _TEXT_WRAPPERS:
            cfg = cfg.get_text_config()
        _check_supported(cfg.model_type, source or "config")

        heads = cfg.num_attention_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
        layers = cfg.num_hidden_layers
        layer_types = tuple(getattr(cfg, "layer_types", None) or ("full_attention",) * layers)
        rope = _RopeSettings.of(cfg)
        is_gemma = cfg.model_type in _GEMMA_TYPES
        is_phi = cfg.model_type == "phi"
        uses_sliding = "sliding_attention" in layer_types
        return cls(
            model_name=model_name or Path(getattr(cfg, "_name_or_path", "") or "model").name,
            model_type=cfg.model_type,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=getattr(cfg, "num_key_value_heads", None) or heads,
            hidden_size=cfg.hidden_size,
            head_dim=head_dim,
            intermediate_size=cfg.intermediate_size,
            vocab_size=cfg.vocab_size,
            rope_theta=rope.theta,
            rope_scaling=rope.scaling,
            partial_rotary_factor=rope.partial_rotary_factor,
            norm_type="layer_norm" if is_phi else "rms_norm",
            norm_eps=cfg.layer_norm_eps if is_phi else cfg.rms_norm_eps,
            hidden_act=getattr(cfg, "hidden_activation", None) or cfg.hidden_act,
            embedding_scale=math.sqrt(cfg.hidden_size) if is_gemma else 1.0,
            tie_word_embeddings=bool(getattr(cfg, "tie_word_embeddings", False)),
            # qwen2 has q/k/v biases without a flag; phi has biases on every linear
            attention_bias=cfg.model_type in ("qwen2", "phi")
            or bool(getattr(cfg, "attention_bias", False)),
            qk_norm=cfg.model_type == "gemma3_text" or bool(getattr(cfg, "qk_layernorm", False)),
            sliding_window=getattr(cfg, "sliding_window", None) if uses_sliding else None,
            layer_types=layer_types,
            local_rope_theta=rope.local_theta,
            attn_logit_softcapping=getattr(cfg, "attn_logit_softcapping", None),
            final_logit_softcapping=getattr(cfg, "final_logit_softcapping", None),
            query_pre_attn_scalar=getattr(cfg, "query_pre_attn_scalar", None),
            bos_token_id=_token_ids(getattr(cfg, "bos_token_id", None)),
            eos_token_id=_token_ids(getattr(cfg, "eos_token_id", None)),
            max_position_embeddings=cfg.max_position_embeddings,
            hf=cfg,
        )

    def layer_kinds(self) -> list[LayerKind]:
        """Per layer index, the kind to trace; layers of one kind share a traced graph."""
        kinds = []
        for layer_type in self.layer_types:
            sliding = layer_type == "sliding_attention"
            theta = self.local_rope_theta if sliding and self.local_rope_theta else self.rope_theta
            kinds.append(LayerKind(layer_type, self.sliding_window if sliding else None, theta))
        return kinds

    def format_block(self) -> str:
        """The config as pulsar2 logs it: `Config(` then one `name=value,` line per field."""
        lines = [f"    {f.name}={getattr(self, f.name)!r}," for f in fields(self) if f.repr]
        return "Config(\n" + "\n".join(lines) + "\n)"


@dataclass(frozen=True)
class _RopeSettings:
    theta: float
    local_theta: float | None
    scaling: dict[str, Any] | None
    partial_rotary_factor: float

    @classmethod
    def of(cls, cfg: Any) -> _RopeSettings:
        """Read transformers 5 `rope_parameters`, flat or keyed by layer type."""
        params = dict(getattr(cfg, "rope_parameters", None) or {})
        local_theta = None
        if "full_attention" in params or "sliding_attention" in params:
            local = params.get("sliding_attention") or {}
            params = dict(params.get("full_attention") or local)
            local_theta = local.get("rope_theta")
            if local_theta == params.get("rope_theta"):
                local_theta = None
        theta = float(params.pop("rope_theta", getattr(cfg, "rope_theta", 10000.0)))
        partial = float(
            params.pop("partial_rotary_factor", getattr(cfg, "partial_rotary_factor", 1.0))
        )
        rope_type = params.get("rope_type", params.get("type", "default"))
        scaling = params if rope_type != "default" else None
        return cls(theta, float(local_theta) if local_theta else None, scaling, partial)


def _token_ids(value: Any) -> int | tuple[int, ...] | None:
    return tuple(value) if isinstance(value, list) else value


def _check_supported(model_type: str | None, source: str | Path) -> None:
    if model_type in SUPPORTED_ARCHITECTURES or model_type in _TEXT_WRAPPERS:
        return
    raise AxcError(
        f"{source}: unsupported model_type {model_type!r}; "
        f"supported: {', '.join(SUPPORTED_ARCHITECTURES)}"
    )


def _shortest_float32(value: Any) -> Any:
    """GGUF floats are float32: 1e-6 reads back as 9.99999997e-07; restore the written value."""
    return float(str(np.float32(value))) if isinstance(value, float) else value


def gguf_file_of(path: Path) -> Path | None:
    """`path` itself if it is a .gguf file; the only .gguf of a folder with no HF config/weights.

    A pulled model folder holds both, and then the Hugging Face files are what it means.
    """
    if path.is_file():
        return path if path.suffix == ".gguf" else None
    if not path.is_dir() or (path / "config.json").exists():
        return None
    if any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin")):
        return None
    ggufs = sorted(path.glob("*.gguf"))
    return ggufs[0] if len(ggufs) == 1 else None


def read_gguf_config(gguf_path: str | Path) -> dict[str, Any]:
    """The transformers config dict of a GGUF file, without parsing its vocabulary.

    Same keys and values as transformers' `load_gguf_checkpoint(...)["config"]` (its
    GGUF_CONFIG_MAPPING table is reused), which decodes every token string first and takes
    ~10 s on a 262k vocabulary. Token ids are added, as transformers' newer GGUF configs do.
    """
    from transformers.integrations.ggml import GGUF_CONFIG_MAPPING
    from transformers.integrations.gguf import read_gguf_metadata

    try:
        metadata, tensor_names = read_gguf_metadata(str(gguf_path))
    except (OSError, ValueError, IndexError, struct.error) as err:
        raise AxcError(f"{gguf_path}: not a readable GGUF file ({err})") from None
    arch = metadata["general.architecture"]
    model_type = _GGUF_MODEL_TYPES.get(arch, arch)
    table = GGUF_CONFIG_MAPPING.get(arch)
    if table is None or model_type not in SUPPORTED_ARCHITECTURES:
        readable = [
            a for a in GGUF_CONFIG_MAPPING if _GGUF_MODEL_TYPES.get(a, a) in SUPPORTED_ARCHITECTURES
        ]
        raise AxcError(
            f"{gguf_path}: unsupported GGUF architecture {arch!r}; "
            f"supported as GGUF: {', '.join(readable)}"
        )
    config: dict[str, Any] = {"model_type": model_type}
    if "general.name" in metadata:
        config["_name_or_path"] = metadata["general.name"]
    for key, hf_key in table.items():
        if hf_key not in (None, -1) and f"{arch}.{key}" in metadata:
            config[hf_key] = _shortest_float32(metadata[f"{arch}.{key}"])
    config["tie_word_embeddings"] = "output.weight" not in tensor_names
    if "vocab_size" not in config:  # read_gguf_metadata leaves the token list as its length
        if "tokenizer.ggml.tokens" not in metadata:
            raise AxcError(f"{gguf_path}: states neither a vocab size nor a token list")
        config["vocab_size"] = metadata["tokenizer.ggml.tokens"]
    for hf_key, gguf_key in (
        ("bos_token_id", "bos_token_id"),
        ("eos_token_id", "eos_token_id"),
        ("pad_token_id", "padding_token_id"),
    ):
        if f"tokenizer.ggml.{gguf_key}" in metadata:
            config[hf_key] = metadata[f"tokenizer.ggml.{gguf_key}"]
    return config
