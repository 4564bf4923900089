"""axnpu-tile's per-KV-head prefill attention (`GroupTiler.streamed_attention`) on tiny real
layers: the layout is applied where it should be (prefill, not decode), and the functional
simulator runs the tiled program bit for bit to the interpreter's results, through the whole
back end, with and without the streamed layout (docs/numerics.md: every rounding point is the
reference's; only o_proj's fp32 summation is blocked by head, as the streamed MLP blocks
down_proj's)."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import make_tiny_model

from axc.dialects import axnpu as npu
from axc.frontend.pipeline import run_pipeline
from axc.lowering_layout import pack_weights
from axc.sim.functional import run_group
from axc.weight_store import use_store

#: (group, new tokens, cached rows, position of the first new token)
GROUPS = [("decode", 1, 12, 200), ("prefill", 16, 0, 0)]
BACKEND = "axnpu-build-ops,axnpu-insert-ddr-swap,axnpu-calc-deps,axnpu-assign-eu{strategy=onepass}"


def _program(module) -> npu.ProgramOp:
    return next(op for op in module.walk() if isinstance(op, npu.ProgramOp))


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    """Tiny qwen2 layer 0 (GQA 4 query / 2 KV heads of 16, q/k/v biases), quantized s8, its
    weights and per-group inputs and interpreter outputs; `compile(tile_options, ocm)`
    lowers a copy through the whole back end."""
    from test_functional_sim import quantized_tiny_layer

    folder = make_tiny_model("qwen2", tmp_path_factory.mktemp("qwen2") / "qwen2")
    module, store, inputs, refs = quantized_tiny_layer(folder, GROUPS, "s8", 5)

    def compile_(tile: str = "", ocm: int | None = None) -> npu.ProgramOp:
        m = module.clone()
        with use_store(store):
            run_pipeline(m, "convert-axh-to-axnpu")
            if ocm is not None:
                _program(m).ocm_bytes = npu._i64(ocm)  # noqa: SLF001
            run_pipeline(m, f"axnpu-tile{tile},{BACKEND}")
        return _program(m)

    return compile_, store, inputs, refs


def _check(program: npu.ProgramOp, store, inputs, refs) -> None:
    """Bit-exact against the interpreter, as tests/test_lowering.py holds the streamed MLP:
    every value rounds where the reference rounds, and on this layer the head-blocked fp32
    sum of o_proj happens not to move any bf16 result (docs/numerics.md would allow one
    step)."""
    weights = pack_weights(program, store)
    for group, ref in refs.items():
        got = run_group(program, group, inputs[group], weights)
        for name, want in ref.items():
            assert np.array_equal(got[name], want), (group, name)


def test_prefill_attention_is_streamed_per_kv_head(layer):
    compile_, store, inputs, refs = layer
    program = compile_()
    prefill, decode = program.group("prefill"), program.group("decode")
    ropes = [i for i in prefill.instructions() if isinstance(i, npu.RopeOp)]
    # one rope on q and one on k per KV head, each on that head's columns only
    assert sorted(r.x.get_shape()[-1] for r in ropes) == [16, 16, 32, 32]
    stores = [i for i in prefill.instructions() if isinstance(i, npu.DmaStoreOp)
              and i.dst.space.data == "ddr" and i.rows is not None]
    assert len(stores) == 4 and {s.row_bytes.value.data for s in stores} == {32}
    assert any(isinstance(i, npu.MatmulOp) and i.accumulate and i.x.get_shape() == (16, 32)
               for i in prefill.instructions())  # o_proj's second K tile (head 1)
    # decode reads its K/V from the cache: untouched (whole-width rope)
    assert {i.x.get_shape()[-1] for i in decode.instructions()
            if isinstance(i, npu.RopeOp)} == {64, 32}
    _check(program, store, inputs, refs)


def test_streamed_and_whole_layouts_agree_at_a_small_ocm(layer):
    """At 12 KiB of OCM the whole-activation layout spills; the streamed one does not
    spill its attention, and both run to the reference."""
    compile_, store, inputs, refs = layer
    swaps = {}
    for tile in ("", "{stream_attention=false}"):
        program = compile_(tile, ocm=12288)
        prefill = program.group("prefill")
        swaps[tile] = sum(i.src.size_bytes.data for i in prefill.instructions()
                          if isinstance(i, npu.DmaStoreOp) and i.rows is None
                          and any(b.kind.data == "scratch" and
                                  b.view.offset.data <= i.dst.offset.data
                                  < b.view.offset.data + b.view.numel
                                  for b in prefill.buffers()))
        _check(program, store, inputs, refs)
    assert swaps["{stream_attention=false}"] > swaps[""]
