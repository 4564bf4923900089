"""`axc llm_build` on tiny random models: folder layout and config, byte-identical rebuilds,
resume after an interrupted build, a changed flag rebuilding, errors before any work, and
check level 1's cosines."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from tiny_models import make_tiny_model

from axc.build import BuildOptions, build
from axc.cli import main as axc_main

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 (kept for the module's life)
FLAGS = dict(prefill_len=16, kv_cache_len=64, last_kv_cache_len=[16, 32], show_stages=False)


@pytest.fixture(scope="module")
def qwen(tmp_path_factory) -> Path:
    return make_tiny_model("qwen2", tmp_path_factory.mktemp("qwen2") / "model")


@pytest.fixture(scope="module")
def built(qwen, tmp_path_factory):
    """A w8a16 build (prefill 16, kv 64, extra prefill groups at 16 and 32)."""
    out = tmp_path_factory.mktemp("built") / "out"
    result = build(BuildOptions(input_path=str(qwen), output_path=str(out), **FLAGS), QUIET)
    return out, result


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_folder_layout_and_config(qwen, built):
    out, result = built
    names = set(_files(out))
    expected = {"qwen2_p16_l0_together.axmodel", "qwen2_p16_l1_together.axmodel",
                "qwen2_post.axmodel", "model.embed_tokens.weight.bfloat16.bin", "config.json",
                "post_config.json", "tokenizer.json", "tokenizer_config.json"}
    assert expected <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert result.layers_built == 2 and result.kinds_compiled == 1  # one schedule, two layers
    config = json.loads((out / "config.json").read_text())
    assert config["template_filename_axmodel"] % 1 == "qwen2_p16_l1_together.axmodel"
    assert config["axmodel_num"] == 2
    assert config["filename_post_axmodel"] == "qwen2_post.axmodel"
    assert (config["tokens_embed_num"], config["tokens_embed_size"]) == (128, 64)
    assert (config["bos_token_id"], config["eos_token_id"]) == (1, [2])
    assert (config["kv_cache_len"], config["prefill_len"]) == (64, 16)
    assert [(g["index"], g["kv_len"]) for g in config["prefill_groups"]] == [
        (1, 0), (2, 16), (3, 32)]
    assert config["groups"][0] == {"index": 0, "name": "decode", "seq_len": 1, "kv_len": 64}
    assert config["predicted_ms"]["post"] > 0 and config["predicted_ms"]["groups"]["0"] > 0
    post = json.loads((out / "post_config.json").read_text())
    assert set(post) == {"enable_temperature", "temperature", "enable_repetition_penalty",
                         "repetition_penalty", "penalty_window", "enable_top_p_sampling",
                         "top_p", "enable_top_k_sampling", "top_k"}
    assert not any(v for k, v in post.items() if k.startswith("enable_"))  # greedy default
    # the embedding file is the checkpoint's table in bf16 (round to nearest even)
    from safetensors.numpy import load_file

    from axc.numerics import bf16_bits

    table = load_file(str(qwen / "model.safetensors"))["model.embed_tokens.weight"]
    raw = np.fromfile(out / "model.embed_tokens.weight.bfloat16.bin", dtype="<u2")
    assert np.array_equal(raw.reshape(128, 64), bf16_bits(table.astype(np.float32)))
    # each layer axmodel carries its build fingerprint and groups in the runtime order
    from axc.axmodel import read_axmodel

    model = read_axmodel(out / "qwen2_p16_l1_together.axmodel")
    assert model.metadata["layer"] == 1 and len(model.metadata["fingerprint"]) == 64
    assert [g.name for g in model.groups] == ["decode", "prefill", "prefill_kv16",
                                              "prefill_kv32"]


def test_interrupted_build_resumes_and_is_byte_identical(qwen, built, tmp_path, monkeypatch):
    reference, _ = built
    out = tmp_path / "out"
    import axc.build as build_module

    original = build_module._Builder.build_layer

    def dies_on_layer_1(self, i):
        if i == 1:
            raise KeyboardInterrupt  # the user pressed Ctrl+C while layer 1 was being built
        return original(self, i)

    monkeypatch.setattr(build_module._Builder, "build_layer", dies_on_layer_1)
    with pytest.raises(KeyboardInterrupt):
        build(BuildOptions(input_path=str(qwen), output_path=str(out), **FLAGS), QUIET)
    monkeypatch.setattr(build_module._Builder, "build_layer", original)
    left = {p.name for p in out.iterdir()}
    assert "qwen2_p16_l0_together.axmodel" in left
    assert "qwen2_p16_l1_together.axmodel" not in left
    assert not [n for n in left if n.endswith(".tmp")]  # nothing half-written

    resumed = build(BuildOptions(input_path=str(qwen), output_path=str(out), **FLAGS), QUIET)
    assert (resumed.layers_skipped, resumed.layers_built) == (1, 1)
    assert _files(out) == _files(reference)  # same inputs, same bytes

    again = build(BuildOptions(input_path=str(qwen), output_path=str(out), **FLAGS), QUIET)
    assert (again.layers_skipped, again.layers_built) == (2, 0)

    # another compiler (same version string, different source: e.g. a changed default)
    import axc.compile_cache

    monkeypatch.setattr(axc.compile_cache, "source_digest", lambda: "another compiler")
    upgraded = build(BuildOptions(input_path=str(qwen), output_path=str(out), **FLAGS), QUIET)
    assert (upgraded.layers_skipped, upgraded.layers_built) == (0, 2)
    monkeypatch.undo()

    changed = build(BuildOptions(input_path=str(qwen), output_path=str(out),
                                 hidden_state_type="fp16", **FLAGS), QUIET)
    assert (changed.layers_skipped, changed.layers_built) == (0, 2)
    assert _files(out)["qwen2_p16_l0_together.axmodel"] != _files(reference)[
        "qwen2_p16_l0_together.axmodel"]


def test_parallel_build_equals_serial(qwen, built, tmp_path):
    reference, _ = built
    out = tmp_path / "out"
    result = build(BuildOptions(input_path=str(qwen), output_path=str(out), parallel=2, **FLAGS),
                   QUIET)
    assert result.layers_built == 2
    assert _files(out) == _files(reference)


def _unsupported(tmp_path: Path) -> Path:
    folder = tmp_path / "mamba"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "mamba"}))
    return folder


@pytest.mark.parametrize("args, message", [
    (["--input_path", "{missing}"], "no such file or folder"),
    (["--input_path", "{mamba}"], "unsupported model_type 'mamba'"),
    (["--input_path", "{qwen}", "--prefill_len", "128", "--kv_cache_len", "64"],
     "--prefill_len 128 exceeds --kv_cache_len 64"),
    (["--input_path", "{qwen}", "--prefill_len", "16", "--kv_cache_len", "64",
      "--last_kv_cache_len", "16", "--last_kv_cache_len", "56"],
     "--last_kv_cache_len 56 + --prefill_len 16 exceeds --kv_cache_len 64"),
    (["--input_path", "{qwen}", "-w", "s4", "--group_size", "48"],
     "--group_size 48 does not divide hidden_size 64"),
    (["--input_path", "{qwen}", "-w", "s4", "--group_size", "0"],
     "--group_size 0: must be >= 1 for -w s4"),
    (["--input_path", "{qwen}", "--post_topk", "1000"], "--post_topk 1000 exceeds the vocabulary"),
    (["--input_path", "{qwen}", "--npu_mode", "NPU9"], "NPU9"),
])
def test_errors_before_any_work(qwen, tmp_path, capsys, args, message):
    paths = {"missing": str(tmp_path / "nope"), "mamba": str(_unsupported(tmp_path)),
             "qwen": str(qwen)}
    out = tmp_path / "out"
    argv = ["llm_build", *(a.format(**paths) for a in args), "--output_path", str(out)]
    assert axc_main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("axc: error: ") and message in err[0]
    assert not out.exists()  # failed before any work


def test_check_level_1_cosines(qwen, built):
    from axc.checks import layer0_cosines

    out, _ = built
    cos = layer0_cosines(qwen, out)
    assert set(cos) == {"decode", "prefill"}
    for group in cos.values():
        assert min(group.values()) > 0.999, cos


def test_check_level_2_runs_the_whole_model(qwen, built, tmp_path):
    """-c 2 through the CLI path: per-step candidates, a stop line and the text."""
    from axc.checks import check_level_2

    out, _ = built
    log = tmp_path / "log.txt"
    with open(log, "w") as handle:
        console = Console(file=handle, width=200)
        summary = check_level_2(BuildOptions(input_path=str(qwen), prompt="1+1="), out, console,
                                max_new_tokens=5)
    text = log.read_text()
    assert summary["prompt_ids"] == [ord(c) - 32 + 4 for c in "1+1="]  # char-level tokenizer
    assert "step 0: top-10 [" in text
    assert summary["stop_reason"] in ("eos", "max_new_tokens")
    assert ("hit eos" in text) == (summary["stop_reason"] == "eos")
    assert len(summary["tokens"]) <= 5


def test_decode_only_build_names_layers_as_ax_llm(qwen, tmp_path):
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    build(BuildOptions(input_path=str(qwen), output_path=str(out), prefill_len=0,
                       kv_cache_len=32, show_stages=False), QUIET)
    config = json.loads((out / "config.json").read_text())
    assert config["template_filename_axmodel"] == "qwen2_l%d.axmodel"
    assert config["prefill_groups"] == []
    assert (out / "qwen2_l1.axmodel").is_file()


def test_s4_asym_build_keeps_zero_points_and_layer0_matches(qwen, tmp_path):
    """--quant_method asym reaches the packed file: a zero-point blob per linear, and layer 0
    simulated from the file still tracks the float layer."""
    from axc.axmodel import read_axmodel
    from axc.build import validate
    from axc.checks import build_weights_of_layer0, layer0_cosines

    out = tmp_path / "out"
    build(BuildOptions(input_path=str(qwen), output_path=str(out), weight_type="s4",
                       group_size=32, quant_method="asym", **FLAGS), QUIET)
    model = read_axmodel(out / "qwen2_p16_l0_together.axmodel")
    assert any(name.endswith(".zero") or "zero" in name for name in model.weights), \
        sorted(model.weights)
    cos = layer0_cosines(qwen, out)
    assert min(min(group.values()) for group in cos.values()) > 0.99, cos
    # -c 1's second reference: the float32 layer holding the build's s4 weights dequantized
    # leaves only compilation and the bf16 hidden state; the 4-bit rounding is the rest
    options = BuildOptions(input_path=str(qwen), output_path=str(out), weight_type="s4",
                           group_size=32, quant_method="asym", **FLAGS)
    weights = build_weights_of_layer0(options)
    assert sorted(weights) == sorted(f"{p}.weight" for p in (
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"))
    both = layer0_cosines(qwen, out, build_weights=weights)
    for group, values in both.items():
        assert values["output"] == cos[group]["output"]
        assert values["output (build weights)"] >= 0.9999, both
        assert values["output (build weights)"] > values["output"], both
    with pytest.raises(Exception, match="llm_build offers"):
        validate(BuildOptions(input_path=str(qwen), output_path=str(tmp_path / "x"),
                              quant_method="gptq"))


def test_s8_groups_reach_the_file_and_track_the_float_layer(qwen, built, tmp_path):
    """-w s8 --group_size 32: the layer files hold one bf16 scale per 32 inputs (`#s8g32`
    blobs, 2 bytes per 32 weights more than per channel) and layer 0 simulated from the file
    tracks the float layer at least as well as the per-channel build; --group_size 0 is
    pulsar2's per-channel format (the tiny model's 64 inputs: 128 does not divide them)."""
    from axc.axmodel import read_axmodel
    from axc.checks import layer0_cosines

    out = tmp_path / "out"
    build(BuildOptions(input_path=str(qwen), output_path=str(out), group_size=32, **FLAGS),
          QUIET)
    grouped = read_axmodel(out / "qwen2_p16_l0_together.axmodel").weights
    plain = read_axmodel(built[0] / "qwen2_p16_l0_together.axmodel").weights
    assert any("#s8g32" in n for n in grouped) and not any("#s8g" in n for n in plain)
    extra = sum(len(bytes(v)) for v in grouped.values()) - sum(len(bytes(v))
                                                               for v in plain.values())
    int8_bytes = sum(len(bytes(v)) for n, v in grouped.items() if n.endswith("#s8g32"))
    plain_scales = sum(len(bytes(v)) for n, v in plain.items() if n.endswith("#s8.scale"))
    assert int8_bytes and extra == 2 * int8_bytes // 32 - plain_scales
    cos_grouped, cos_plain = layer0_cosines(qwen, out), layer0_cosines(qwen, built[0])
    for group in cos_grouped:
        assert min(cos_grouped[group].values()) >= 0.999, cos_grouped
        assert cos_grouped[group]["output"] >= cos_plain[group]["output"] - 1e-5


def test_check_level_1_prints_both_references(qwen, tmp_path, capsys):
    """`-c 1` prints pulsar2's line per group, with the cosine against the float32 layer and
    against the float32 layer holding the build's dequantized weights."""
    out = tmp_path / "out"
    argv = ["llm_build", "--input_path", str(qwen), "--output_path", str(out),
            "--prefill_len", "16", "--kv_cache_len", "64", "-w", "s4", "--group_size", "32",
            "-c", "1"]
    assert axc_main(argv) == 0
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())  # (rich wraps long lines)
    for group in ("prefill", "decode"):
        line = re.search(rf"layer 0 {group} cosine similarity: ([\d.]+) \(float32 weights\); "
                         r"([\d.]+) \(the build's s4 weights dequantized: compilation alone\)",
                         text)
        assert line, text
        assert 0.99 < float(line[1]) < float(line[2]) <= 1.0


def test_s8_group_that_divides_nothing_is_noted(qwen):
    """The tiny model's linears read 64 or 128 inputs: --group_size 48 groups none of them
    (each keeps one scale per channel) and the build says so; 32 divides all: no note."""
    from axc.build import s8_group_note, validate

    for group, expected in ((48, "does not divide hidden_size 64"), (32, None), (0, None)):
        options = BuildOptions(input_path=str(qwen), output_path="unused", group_size=group)
        note = s8_group_note(options, validate(options)[0])
        assert (note is None) if expected is None else (expected in note), note
