"""From a checkpoint folder (or its config alone) to raised axh modules, in memory.

This is the frontend half of the build: trace each distinct layer kind once per shape
group, import it into axh, run the `axh-raise` pipeline. `axc import` prints the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PretrainedConfig
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline

from axc.frontend.importer import import_module
from axc.frontend.trace import layer_kind_key, trace_layer, trace_post


@dataclass(frozen=True)
class ShapeGroup:
    """One static shape a layer is compiled for: `seq_len` new tokens after `kv_len` rows."""

    name: str
    seq_len: int
    kv_len: int


def shape_groups(prefill_len: int, kv_cache_len: int, last_kv_cache_lens=()) -> list[ShapeGroup]:
    """Group 0 decodes one token against the cache; the rest prefill `prefill_len` tokens."""
    groups = [ShapeGroup("decode", 1, kv_cache_len), ShapeGroup("prefill", prefill_len, 0)]
    groups += [ShapeGroup(f"prefill_kv{n}", prefill_len, n) for n in last_kv_cache_lens]
    return groups


def make_context() -> Context:
    """A context that knows func, arith, builtin and axc's dialects."""
    from xdsl.universe import Universe

    ctx = Context()
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    return ctx


def run_pipeline(module: ModuleOp, pipeline: str, ctx: Context | None = None) -> ModuleOp:
    """Run a (named) pipeline text on `module` in place, as axc-opt would."""
    from xdsl.universe import Universe

    from axc.pipelines import expand_pipeline

    passes = Universe.get_multiverse().all_passes
    PassPipeline.parse_spec(passes, expand_pipeline(pipeline)).apply(ctx or make_context(), module)
    return module


def import_layer(
    model_or_config, layer_idx: int, groups: list[ShapeGroup], raise_ops: bool = True,
    device: str = "meta", relative_weights: bool = False,
    buffers: dict | None = None,
) -> ModuleOp:
    """One decoder layer as a module with a function per shape group.

    With `relative_weights` the layer's own weights are named without their
    `model.layers.{i}.` prefix: every layer of one kind then imports to the same IR (one
    compile serves them all, see `axc.compile_cache`) and a `WeightStore(prefix=...)` per
    layer resolves the names. `buffers`, if given, receives the non-persistent buffer
    values (rotary `inv_freq`, ...) as numpy arrays: no checkpoint holds them, so a weight
    store needs them as arrays."""
    config = model_or_config if isinstance(model_or_config, PretrainedConfig) else (
        model_or_config.config)
    traced = []
    for g in groups:
        t = trace_layer(model_or_config, layer_idx, g.seq_len, g.kv_len, device=device)
        traced.append((t, g.name, t.relative_weights() if relative_weights else None))
        if buffers is not None:
            buffers.update({k: v.detach().cpu().numpy() for k, v in t.buffers.items()})
    module = import_module(traced, {"axc.layer_kind": layer_kind_key(config, layer_idx)})
    return run_pipeline(module, "axh-raise") if raise_ops else module


def import_post(model_or_config, raise_ops: bool = True, device: str = "meta") -> ModuleOp:
    module = import_module([(trace_post(model_or_config, device=device), "post", None)])
    return run_pipeline(module, "axh-raise") if raise_ops else module
