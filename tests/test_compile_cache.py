"""The per-layer compile cache: identical layers are scheduled once, and the cached program
with each layer's own weights computes exactly what a from-scratch compile of that layer does.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import make_tiny_model

from axc.compile_cache import CompileCache, module_text
from axc.frontend.pipeline import import_layer, run_pipeline, shape_groups
from axc.frontend.trace import layer_example_inputs
from axc.frontend.weights import CheckpointReader
from axc.lowering_layout import pack_weights
from axc.sim.functional import run_group
from axc.weight_store import WeightStore, use_store

OPTIONS = 'weight-type=s8 hidden-type=bf16 chip="AX650"'
GROUPS = shape_groups(8, 31)


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory):
    folder = make_tiny_model("qwen2", tmp_path_factory.mktemp("qwen"))
    return folder, CheckpointReader(folder)


def _config(folder):
    from axc.frontend.config import LLMConfig

    return LLMConfig.from_pretrained_dir(folder).hf


def _quantized(folder, reader, layer, relative):
    buffers: dict = {}
    module = import_layer(_config(folder), layer, GROUPS, relative_weights=relative,
                          buffers=buffers)
    prefix = f"model.layers.{layer}." if relative else ""
    store = WeightStore(reader, buffers, prefix=prefix)
    with use_store(store):
        run_pipeline(module, f"llm-layer-quantize{{{OPTIONS}}}")
    return module, store


def test_layers_of_one_kind_import_to_identical_ir(tiny_qwen):
    folder, _ = tiny_qwen
    relative = [module_text(import_layer(_config(folder), i, GROUPS, relative_weights=True))
                for i in (0, 1)]
    absolute = [module_text(import_layer(_config(folder), i, GROUPS)) for i in (0, 1)]
    assert relative[0] == relative[1]
    assert absolute[0] != absolute[1]  # the names differ without relative naming
    assert '"self_attn.q_proj.weight"' in relative[0]
    assert "model.layers.0.self_attn" in absolute[0]


def test_cached_program_with_each_layers_weights_matches_a_fresh_compile(tiny_qwen, tmp_path):
    folder, reader = tiny_qwen
    cache = CompileCache(tmp_path / "cache")
    backend = 'llm-backend{chip="AX650"}'
    inputs = {k: v.numpy() for k, v in layer_example_inputs(
        _config(folder), 1, 31, start=5, generator=torch.Generator().manual_seed(1)).items()}
    outputs = []
    for layer in (0, 1):
        module, store = _quantized(folder, reader, layer, relative=True)
        program = next(iter(cache.compile(module, backend).ops))
        got = run_group(program, "decode", inputs, pack_weights(program, store))

        fresh, fresh_store = _quantized(folder, reader, layer, relative=False)
        run_pipeline(fresh, backend)
        fresh_program = next(iter(fresh.ops))
        expect = run_group(fresh_program, "decode", inputs,
                           pack_weights(fresh_program, fresh_store))
        for name in expect:
            np.testing.assert_array_equal(got[name], expect[name])
        outputs.append(got["output"])
    assert (cache.hits, cache.misses) == (1, 1)
    assert not np.array_equal(outputs[0], outputs[1])  # each layer really used its weights

    # a second cache on the same directory (a resumed build) reuses the schedule from disk
    again = CompileCache(tmp_path / "cache")
    module, _ = _quantized(folder, reader, 1, relative=True)
    compiled = again.compile(module, backend)
    assert (again.hits, again.misses) == (1, 0)
    assert module_text(compiled) == module_text(cache.compile(module, backend))


def test_key_changes_with_options_and_ir(tiny_qwen):
    folder, reader = tiny_qwen
    cache = CompileCache()
    module, _ = _quantized(folder, reader, 0, relative=True)
    base = cache.key(module, 'llm-backend{chip="AX650"}')
    assert base == cache.key(module, 'llm-backend{chip="AX650"}')
    assert base != cache.key(module, 'llm-backend{chip="AX650" strategy=onepass}')
    assert base != cache.key(module, 'llm-backend{chip="AX620E"}')
    other, _ = _quantized(folder, reader, 0, relative=False)
    assert base != cache.key(other, 'llm-backend{chip="AX650"}')


def test_damaged_disk_entry_is_a_miss(tiny_qwen, tmp_path):
    folder, reader = tiny_qwen
    module, _ = _quantized(folder, reader, 0, relative=True)
    backend = 'llm-backend{chip="AX650"}'
    first = CompileCache(tmp_path)
    first.compile(module, backend)
    (entry,) = tmp_path.glob("*.mlir")
    entry.write_text("axnpu.program garbage {")
    second = CompileCache(tmp_path)
    second.compile(module, backend)
    assert (second.hits, second.misses) == (0, 1)


def test_gptq_checkpoint_layer_with_relative_names_keeps_its_integers(tmp_path):
    """A prefixed store reads a packed checkpoint's raw words under the layer's real names."""
    from test_quant import _make_packed_checkpoint

    folder, ints, _ = _make_packed_checkpoint(tmp_path, "gptq")
    buffers: dict = {}
    module = import_layer(_config(folder), 1, GROUPS[:1], relative_weights=True,
                          buffers=buffers)
    store = WeightStore(CheckpointReader(folder), buffers, prefix="model.layers.1.")
    with use_store(store):
        run_pipeline(module, "llm-layer-quantize{weight-type=s8 hidden-type=bf16}")
    assert '"self_attn.q_proj.weight#gptq"' in module_text(module)
    for prefix, values in ints.items():
        if prefix.startswith("model.layers.1."):
            relative = prefix.removeprefix("model.layers.1.")
            assert np.array_equal(store.get(f"{relative}.weight#gptq"), values)


def test_backend_pipeline_with_a_chip_file_path(tiny_qwen):
    """`llm-backend{chip="<path>"}` reaches every pass that needs the chip (EU assignment
    looked the chip up by its name and failed on a user's chip file)."""
    from pathlib import Path

    folder, reader = tiny_qwen
    chip = Path(__file__).parents[1] / "lit_tests" / "Inputs" / "tiny-ocm.chip"
    module, _ = _quantized(folder, reader, 0, relative=True)
    compiled = CompileCache().compile(module, f'llm-backend{{chip="{chip}"}}')
    text = module_text(compiled)
    assert 'kind = "scratch"' in text  # the tiny OCM forces DDR swaps
    assert "cycles" in text  # scheduled


def test_key_covers_the_compiler_source_and_default_location(tiny_qwen, monkeypatch, tmp_path):
    """An edited pass must not reuse a schedule from before the edit."""
    import axc.compile_cache as cc

    folder, reader = tiny_qwen
    module, _ = _quantized(folder, reader, 0, relative=True)
    before = CompileCache().key(module, 'llm-backend{chip="AX650"}')
    monkeypatch.setattr(cc, "source_digest", lambda: "edited")
    assert CompileCache().key(module, 'llm-backend{chip="AX650"}') != before
    monkeypatch.setenv("AXC_COMPILE_CACHE", str(tmp_path / "c"))
    assert CompileCache.default().directory == tmp_path / "c"
    monkeypatch.setenv("AXC_COMPILE_CACHE", "off")
    assert CompileCache.default().directory is None


def test_fresh_and_disk_cached_schedules_write_identical_axmodels(tiny_qwen, tmp_path):
    """A schedule read back from the disk cache has its properties in print order, a fresh
    one in the order the passes set them; the axmodel bytes must not depend on that (a
    resumed build was not byte-identical to a clean one)."""
    from axc.axmodel import write_axmodel

    folder, reader = tiny_qwen
    backend = 'llm-backend{chip="AX650"}'
    files = []
    for name in ("fresh", "cached"):
        module, store = _quantized(folder, reader, 0, relative=True)
        cache = CompileCache(tmp_path / "cache")
        program = next(iter(cache.compile(module, backend).ops))
        assert (cache.hits, cache.misses) == ((0, 1) if name == "fresh" else (1, 0))
        files.append(write_axmodel(tmp_path / f"{name}.axmodel", program,
                                   pack_weights(program, store)).read_bytes())
    assert files[0] == files[1]
