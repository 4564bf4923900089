"""The embedding file of a build: `model.embed_tokens.weight.bfloat16.bin`.

The ax-llm runtime mmaps this file and looks token rows up; it does nothing else. So:

* the file is the raw bf16 table [vocab, hidden], row-major, little-endian, no header,
  rounded to nearest even from the checkpoint's float values (`axc.numerics.bf16_bits`;
  pulsar2's helper truncates, which biases every value toward zero);
* models that scale the embedding (Gemma: x sqrt(hidden), `LLMConfig.embedding_scale`) have
  the scale FOLDED INTO THE FILE: each row holds bf16(row * scale), computed in fp32 and
  rounded once, which is what Hugging Face's scaled embedding returns before bf16 rounding.
  Our Gemma file therefore differs from the plain table (pulsar2 keeps the plain table and
  scales in the runtime); layer 0's graph takes the scaled hidden state as its input;
* tied embeddings: the table is always read from the checkpoint's `embed_tokens` tensor,
  whether or not `lm_head` shares it;
* rows are converted in chunks, so host memory stays bounded by `rows_per_chunk` rows, and
  the file is written to a temporary name and renamed, so a crash never leaves a partial
  file under the final name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from axc.atomic import atomic_output
from axc.errors import AxcError
from axc.numerics import bf16_bits, bf16_to_f32

EMBEDDING_FILE = "model.embed_tokens.weight.bfloat16.bin"
_CANDIDATES = ("model.embed_tokens.weight", "model.language_model.embed_tokens.weight",
               "transformer.wte.weight", "model.embed_in.weight")


def embedding_name(source) -> str:
    """The checkpoint name of the input embedding table of `source` (reader or store)."""
    for name in _CANDIDATES:
        if name in source:
            return name
    names = source.names() if hasattr(source, "names") else []
    found = [n for n in names if n.endswith("embed_tokens.weight")]
    if found:
        return found[0]
    raise AxcError("the checkpoint has no input embedding table (embed_tokens.weight)")


def _reader_of(source):
    """The CheckpointReader behind a WeightStore (or the reader itself)."""
    return getattr(source, "_reader", None) or source


def read_rows(source, name: str, start: int, stop: int) -> np.ndarray:
    """Rows start..stop-1 of a 2-D checkpoint tensor as float32, reading only those rows
    when the tensor lives in a safetensors file."""
    reader = _reader_of(source)
    file = Path(reader.file_of(name)) if hasattr(reader, "file_of") else None
    if file is not None and file.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(file), framework="pt") as handle:
            return handle.get_slice(name)[start:stop].float().numpy()
    return np.asarray(source.get(name)[start:stop], dtype=np.float32)


def _table_shape(source, name: str) -> tuple[int, int]:
    reader = _reader_of(source)
    if hasattr(reader, "shape"):
        return tuple(reader.shape(name))  # type: ignore[return-value]
    return tuple(source.get(name).shape)  # type: ignore[return-value]


def embedding_scale(config) -> float:
    """The factor the model multiplies embeddings by (LLMConfig or a HF config)."""
    if hasattr(config, "embedding_scale"):
        return float(config.embedding_scale)
    model_type = str(getattr(config, "model_type", ""))
    return float(np.sqrt(config.hidden_size)) if model_type.startswith("gemma") else 1.0


def embedding_bits(rows: np.ndarray, scale: float) -> np.ndarray:
    """fp32 rows -> the bf16 bit patterns the file holds for them (scale folded in)."""
    rows = np.asarray(rows, dtype=np.float32)
    if scale != 1.0:
        rows = rows * np.float32(scale)
    return bf16_bits(rows)


def embed_tokens(source, config, token_ids) -> np.ndarray:
    """The hidden states the runtime feeds layer 0 for `token_ids`: rows of the file, as fp32."""
    name = embedding_name(source)
    ids = np.asarray(token_ids, dtype=np.int64).reshape(-1)
    table = source.get(name)
    return bf16_to_f32(embedding_bits(table[ids], embedding_scale(config)))


def write_embedding(source, out_dir, config, rows_per_chunk: int = 8192) -> Path:
    """Write `model.embed_tokens.weight.bfloat16.bin` into `out_dir` (see the module doc)."""
    name = embedding_name(source)
    vocab, hidden = _table_shape(source, name)
    scale = embedding_scale(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = out / EMBEDDING_FILE
    with atomic_output(final) as handle:
        for start in range(0, vocab, rows_per_chunk):
            rows = read_rows(source, name, start, min(start + rows_per_chunk, vocab))
            if rows.shape[1] != hidden:
                raise AxcError(f"{name}: row width {rows.shape[1]}, expected {hidden}")
            handle.write(embedding_bits(rows, scale).astype("<u2").tobytes())
    return final
