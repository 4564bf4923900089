"""Lazy, one-tensor-at-a-time reading of a checkpoint's weights under Hugging Face names.

Host memory must stay bounded by a few layers, not by the model, so every format is opened
memory-mapped and a tensor is only materialised (as float32) when `get` asks for it.

Formats: `*.safetensors` (single, or shards listed by `model.safetensors.index.json`),
`pytorch_model.bin` (single, or shards listed by `pytorch_model.bin.index.json`), and one
`.gguf` file. GGUF tensors are dequantised with the `gguf` package and renamed/fixed exactly as
transformers' own GGUF loader does (its name map and tensor processors are reused: llama Q/K
un-permutation, gemma norms stored as `1 + w`).
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from axc.errors import AxcError
from axc.frontend.config import GGUF_ARCHITECTURE_OF, gguf_file_of, read_gguf_config

_LAYER_RE = re.compile(r"(?:^|\.)layers\.(\d+)\.")


class _Backend(Protocol):
    def names(self) -> list[str]: ...
    def file_of(self, name: str) -> Path: ...
    def shape(self, name: str) -> tuple[int, ...]: ...
    def dtype(self, name: str) -> str: ...
    def read(self, name: str) -> np.ndarray: ...


class CheckpointReader:
    """Read a model folder's (or a .gguf file's) tensors by Hugging Face name."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise AxcError(f"{self.path}: no such file or folder")
        self._backend = _open_backend(self.path)
        self._names = self._backend.names()
        self._known = set(self._names)

    def names(self) -> list[str]:
        """All tensor names, in file order."""
        return list(self._names)

    def __contains__(self, name: str) -> bool:
        return name in self._known

    def shape(self, name: str) -> tuple[int, ...]:
        self._check(name)
        return self._backend.shape(name)

    def dtype(self, name: str) -> str:
        """Storage type: 'bfloat16', 'float32', ... or a GGML type such as 'q4_k'."""
        self._check(name)
        return self._backend.dtype(name)

    def file_of(self, name: str) -> Path:
        """The file that holds `name` (for messages and provenance)."""
        self._check(name)
        return self._backend.file_of(name)

    def get(self, name: str, expected_shape: tuple[int, ...] | None = None) -> np.ndarray:
        """One tensor as a fresh float32 array, checked against `expected_shape` if given."""
        self._check(name)
        shape = self._backend.shape(name)
        if expected_shape is not None and tuple(expected_shape) != shape:
            raise AxcError(
                f"{self._backend.file_of(name)}: tensor {name} has shape {list(shape)}, the config "
                f"implies {list(expected_shape)}; the weights do not match config.json"
            )
        try:
            return self._backend.read(name)
        except AxcError:
            raise
        except Exception as err:  # any decoder failure means a damaged file
            raise AxcError(
                f"{self._backend.file_of(name)}: cannot read tensor {name} ({err}); "
                "the file is damaged, download it again"
            ) from None

    def layer_names(self, layer: int) -> list[str]:
        """Names of decoder layer `layer`'s tensors, in file order."""
        return [n for n in self._names if (m := _LAYER_RE.search(n)) and int(m[1]) == layer]

    def _check(self, name: str) -> None:
        if name not in self._known:
            raise AxcError(
                f"{self.path}: no tensor {name} among its {len(self._names)} tensors; "
                "the checkpoint does not match its config or is incomplete"
            )


def _open_backend(path: Path) -> _Backend:
    gguf = gguf_file_of(path)
    if gguf is not None:
        return _GgufBackend(gguf)
    if path.is_file():
        raise AxcError(f"{path}: pass the model folder (or a .gguf file), not a single file")
    if (index := path / "model.safetensors.index.json").is_file():
        return _SafetensorsBackend(_index_weight_map(index))
    safetensors = sorted(path.glob("*.safetensors"))
    if safetensors:
        return _SafetensorsBackend(_scan(safetensors))
    if (index := path / "pytorch_model.bin.index.json").is_file():
        return _TorchBinBackend(_index_weight_map(index))
    if (single := path / "pytorch_model.bin").is_file():
        return _TorchBinBackend(single)
    raise AxcError(
        f"{path}: no weights found (expected *.safetensors, pytorch_model.bin or one .gguf)"
    )


def _index_weight_map(index: Path) -> dict[str, Path]:
    """`{tensor name: shard path}` from a HF index file, with every shard checked to exist."""
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AxcError(f"{index}: not a valid shard index ({err})") from None
    shards = {leaf: index.parent / leaf for leaf in set(weight_map.values())}
    missing = sorted(leaf for leaf, shard in shards.items() if not shard.is_file())
    if missing:
        raise AxcError(f"{index}: lists shard {missing[0]}, which is missing; download it again")
    return {name: shards[leaf] for name, leaf in weight_map.items()}


def _scan(files: list[Path]) -> dict[str, Path]:
    """`{tensor name: file}` for safetensors files without an index."""
    owner: dict[str, Path] = {}
    for file in files:
        for name in _safe_open(file).keys():
            owner[name] = file
    return owner


def _safe_open(file: Path) -> Any:
    from safetensors import safe_open

    try:
        return safe_open(str(file), framework="pt")
    except Exception as err:  # safetensors raises its own error types for bad headers
        raise AxcError(
            f"{file}: not a readable safetensors file ({err}); download it again"
        ) from None


class _SafetensorsBackend:
    def __init__(self, owner: dict[str, Path]):
        self._owner = owner
        self._handles: dict[Path, Any] = {}

    def _handle(self, name: str) -> Any:
        file = self._owner[name]
        if file not in self._handles:
            self._handles[file] = _safe_open(file)
        return self._handles[file]

    def names(self) -> list[str]:
        return list(self._owner)

    def file_of(self, name: str) -> Path:
        return self._owner[name]

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._slice(name).get_shape())

    def dtype(self, name: str) -> str:
        stored = self._slice(name).get_dtype()
        return _SAFETENSORS_DTYPES.get(stored, stored.lower())

    def read(self, name: str) -> np.ndarray:
        return self._handle(name).get_tensor(name).float().numpy()

    def _slice(self, name: str) -> Any:
        try:
            return self._handle(name).get_slice(name)
        except Exception:  # the index names a tensor its shard does not hold
            file = self._owner[name]
            raise AxcError(f"{file}: has no tensor {name}, but the index says it does") from None


_SAFETENSORS_DTYPES = {
    "BF16": "bfloat16",
    "F16": "float16",
    "F32": "float32",
    "F64": "float64",
    "I8": "int8",
    "U8": "uint8",
    "I32": "int32",
    "I64": "int64",
    "BOOL": "bool",
}


class _TorchBinBackend:
    """pytorch_model.bin shards, loaded with mmap so only touched pages are read."""

    def __init__(self, owner: dict[str, Path] | Path):
        """`owner` maps names to shards, or is the one unindexed file (whose keys need a load)."""
        self._shards: dict[Path, dict[str, Any]] = {}
        if isinstance(owner, Path):
            owner = dict.fromkeys(self._load(owner), owner)
        self._owner = owner

    def _load(self, file: Path) -> dict[str, Any]:
        if file not in self._shards:
            import torch

            try:
                state = torch.load(file, mmap=True, weights_only=True, map_location="cpu")
            except Exception as err:  # torch raises RuntimeError/UnpicklingError/EOFError...
                raise AxcError(
                    f"{file}: not a readable PyTorch checkpoint ({err}); download it again"
                ) from None
            if not isinstance(state, dict):
                raise AxcError(f"{file}: holds a {type(state).__name__}, not a state dict")
            self._shards[file] = state
        return self._shards[file]

    def _tensor(self, name: str) -> Any:
        state = self._load(self._owner[name])
        if name not in state:
            raise AxcError(f"{self._owner[name]}: has no tensor {name}, but the index says it does")
        return state[name]

    def names(self) -> list[str]:
        return list(self._owner)

    def file_of(self, name: str) -> Path:
        return self._owner[name]

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._tensor(name).shape)

    def dtype(self, name: str) -> str:
        return str(self._tensor(name).dtype).removeprefix("torch.")

    def read(self, name: str) -> np.ndarray:
        return self._tensor(name).float().numpy().copy()


class _GgufTensor(NamedTuple):
    name: str  # GGUF name
    shape: tuple[int, ...]  # numpy order (ggml lists dimensions fastest first)
    ggml_type: int
    offset: int  # bytes from the start of the data section
    nbytes: int


class _GgufBackend:
    """A GGUF file under Hugging Face names, dequantised per tensor on demand."""

    def __init__(self, file: Path):
        self._file = file
        self._blob = np.memmap(file, mode="r", dtype=np.uint8)
        try:
            tensors, self._data_start = _read_gguf_tensor_table(self._blob)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError) as err:
            raise AxcError(f"{file}: not a readable GGUF file ({err})") from None
        end_bytes = max((t.offset + t.nbytes for t in tensors), default=0)
        if self._data_start + end_bytes > self._blob.size:
            raise AxcError(
                f"{file}: truncated ({self._blob.size} bytes, its tensors need "
                f"{self._data_start + end_bytes}); download it again"
            )
        config = read_gguf_config(file)
        hf_names, self._processor = _gguf_name_map(config)
        self._infos = {hf_names[t.name]: t for t in tensors if t.name in hf_names}
        # tensors transformers drops too, e.g. llama3's precomputed rope_freqs
        self.unmapped = [t.name for t in tensors if t.name not in hf_names]

    def names(self) -> list[str]:
        return list(self._infos)

    def file_of(self, name: str) -> Path:
        return self._file

    def shape(self, name: str) -> tuple[int, ...]:
        return self._infos[name].shape

    def dtype(self, name: str) -> str:
        from gguf import GGMLQuantizationType

        return GGMLQuantizationType(self._infos[name].ggml_type).name.lower()

    def read(self, name: str) -> np.ndarray:
        from gguf import GGMLQuantizationType
        from gguf.quants import dequantize

        info = self._infos[name]
        start = self._data_start + info.offset
        raw = self._blob[start : start + info.nbytes]
        rows = int(np.prod(info.shape[:-1]))
        values = dequantize(raw.reshape(rows, -1), GGMLQuantizationType(info.ggml_type))
        values = self._processor.process(weights=values.reshape(info.shape), name=info.name).weights
        # a float32 tensor is a view of the read-only map; hand out an owned copy
        return np.array(values, dtype=np.float32, copy=np.may_share_memory(values, raw))


# GGUF metadata value types of fixed width (8 = string and 9 = array are variable)
_GGUF_SCALAR_BYTES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _read_gguf_tensor_table(blob: np.ndarray) -> tuple[list[_GgufTensor], int]:
    """The tensor table and data offset of a GGUF v2/v3 file, skipping the metadata values.

    gguf.GGUFReader decodes every vocabulary string into numpy objects (~10 s for 262k tokens);
    walking past them is enough here.
    """
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    if bytes(blob[:4]) != b"GGUF":
        raise ValueError("no GGUF magic number")
    version, tensor_count, kv_count = struct.unpack_from("<IQQ", blob, 4)
    if version not in (2, 3):
        raise ValueError(f"GGUF version {version}, expected 2 or 3")
    pos, alignment = 24, 32
    for _ in range(kv_count):
        key, pos = _gguf_string(blob, pos)
        (value_type,) = struct.unpack_from("<I", blob, pos)
        if key == "general.alignment":
            (alignment,) = struct.unpack_from("<I", blob, pos + 4)
        pos = _skip_gguf_value(blob, pos + 4, value_type)
    tensors = []
    for _ in range(tensor_count):
        name, pos = _gguf_string(blob, pos)
        (ndim,) = struct.unpack_from("<I", blob, pos)
        dims = struct.unpack_from(f"<{ndim}Q", blob, pos + 4)
        ggml_type, offset = struct.unpack_from("<IQ", blob, pos + 4 + 8 * ndim)
        pos += 4 + 8 * ndim + 12
        if ggml_type not in GGML_QUANT_SIZES:
            raise ValueError(f"tensor {name} has unknown ggml type {ggml_type}")
        block_elements, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
        nbytes = int(np.prod(dims, dtype=np.int64)) // block_elements * block_bytes
        tensors.append(_GgufTensor(name, tuple(reversed(dims)), ggml_type, offset, nbytes))
    return tensors, (pos + alignment - 1) // alignment * alignment


def _gguf_string(blob: np.ndarray, pos: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("<Q", blob, pos)
    return bytes(blob[pos + 8 : pos + 8 + length]).decode("utf-8"), pos + 8 + length


def _skip_gguf_value(blob: np.ndarray, pos: int, value_type: int) -> int:
    if value_type in _GGUF_SCALAR_BYTES:
        return pos + _GGUF_SCALAR_BYTES[value_type]
    if value_type == _GGUF_STRING:
        return pos + 8 + struct.unpack_from("<Q", blob, pos)[0]
    if value_type != _GGUF_ARRAY:
        raise ValueError(f"unknown GGUF metadata type {value_type}")
    element_type, count = struct.unpack_from("<IQ", blob, pos)
    pos += 12
    if element_type in _GGUF_SCALAR_BYTES:
        return pos + count * _GGUF_SCALAR_BYTES[element_type]
    for _ in range(count):
        pos = _skip_gguf_value(blob, pos, element_type)
    return pos


def _gguf_name_map(config: dict[str, Any]) -> tuple[dict[str, str], Any]:
    """`{gguf name: hf name}` and transformers' value processor for this architecture.

    Same method as transformers' `get_gguf_hf_weights_map`: look up every state-dict name of
    the model class (built on the meta device, so nothing is allocated) in gguf's llama.cpp
    tensor-name table. transformers repeats the lookup for every submodule, which only matters
    for models converted from a bare backbone and costs seconds, so it is done once here.
    """
    import torch
    from gguf import MODEL_ARCH_NAMES, get_tensor_name_map
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import TENSOR_PROCESSORS, TensorProcessor

    architecture = GGUF_ARCHITECTURE_OF.get(config["model_type"], config["model_type"])
    hf_config = AutoConfig.for_model(**config)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(hf_config)
    arch_id = next(key for key, value in MODEL_ARCH_NAMES.items() if value == architecture)
    table = get_tensor_name_map(arch_id, hf_config.num_hidden_layers)
    mapping = {}
    for hf_name in model.state_dict():
        base, suffix = hf_name, ""
        if hf_name.endswith((".weight", ".bias")):
            base, suffix = hf_name.rsplit(".", 1)
            suffix = "." + suffix
        if (gguf_name := table.get_name(base)) is not None:
            mapping[gguf_name + suffix] = hf_name
    processor = TENSOR_PROCESSORS.get(architecture, TensorProcessor)(config=config)
    return mapping, processor


class LayerReader:
    """A reader for one decoder layer whose IR names weights relative to the layer.

    `import_layer(..., relative_weights=True)` names a layer's weights `self_attn.q_proj.weight`
    (no `model.layers.{i}.`), so every layer of a kind has the same IR and one compile serves
    them all; this view answers those names from the checkpoint by prefixing them. Names the
    checkpoint holds as they are (shared tensors, e.g. a tied embedding) pass through.
    """

    def __init__(self, reader: CheckpointReader, prefix: str):
        self.reader, self.prefix = reader, prefix
        self.path = reader.path

    def resolve(self, name: str) -> str:
        return name if name in self.reader else self.prefix + name

    def __contains__(self, name: str) -> bool:
        return self.resolve(name) in self.reader

    def names(self) -> list[str]:
        return self.reader.names()

    def shape(self, name: str) -> tuple[int, ...]:
        return self.reader.shape(self.resolve(name))

    def dtype(self, name: str) -> str:
        return self.reader.dtype(self.resolve(name))

    def file_of(self, name: str) -> Path:
        return self.reader.file_of(self.resolve(name))

    def get(self, name: str, expected_shape: tuple[int, ...] | None = None) -> np.ndarray:
        return self.reader.get(self.resolve(name), expected_shape)

    def __getattr__(self, attr: str):  # anything else a reader offers (backend helpers)
        return getattr(self.reader, attr)
