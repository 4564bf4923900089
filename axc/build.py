"""`axc llm_build` as a library: pulsar2's build of a Hugging Face checkpoint into a folder
of per-layer `.axmodel` files, a post model, the bf16 embedding table and the runtime's
config files (docs/llm_build.md).

Order of work, each step only after the previous one succeeded:

1. validate every flag and the input (one-line `AxcError`, before any work);
2. trace + import + raise each distinct layer kind once (relative weight names, so every
   layer of a kind has the same IR), schedule it once through `llm-backend` (the compile
   cache), and predict its timing;
3. per layer: a clone of its kind's module, its own weight store -> `llm-layer-quantize` ->
   the cached schedule -> packed weights -> `write_axmodel` (atomic). `--parallel N` runs
   this step in N forked worker processes. A layer whose file already carries this build's
   fingerprint is skipped (resume);
4. the post model, the embedding file, tokenizer files, config.json and post_config.json.

The fingerprint of a layer is the sha256 of the axc version, the digest of the compiler's
source and chip files, the build flags that change files, the model's config.json and the
layer's own tensors, so a rerun with the same inputs and compiler skips it and any change
rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from axc import __version__
from axc.atomic import atomic_output, write_atomic
from axc.errors import AxcError

WEIGHT_TYPES = ("fp16", "bf16", "fp32", "s8", "s4")
HIDDEN_TYPES = ("fp16", "bf16", "fp32")
POST_WEIGHT_TYPES = ("bf16", "s8")
CHIPS = ("AX620E", "AX650")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json",
                   "merges.txt", "special_tokens_map.json", "added_tokens.json",
                   "chat_template.jinja", "chat_template.json", "generation_config.json")


@dataclass
class BuildOptions:
    """pulsar2 llm_build's flags, with its names and defaults (plus axc's `strategy`)."""

    input_path: str = ""
    output_path: str = "."
    prefill_len: int = 0
    parallel: int = 1
    model_config: str = ""
    kv_cache_len: int = 127
    post_topk: int = 0
    post_weight_type: str = "bf16"
    hidden_state_type: str = "bf16"
    weight_type: str = "s8"
    check_level: int = 0
    chip: str = "AX650"
    prompt: str | None = None
    last_kv_cache_len: list[int] = field(default_factory=list)
    npu_mode: str | None = None
    group_size: int = 128
    quant_method: str = "auto"
    """weight quantization method (axc's own flag): auto (asym for s4, rtn for s8), rtn
    (pulsar2's symmetric grid), clip, or asym (a zero point per group; the most accurate s4
    without calibration)."""
    strategy: str = "onepass"
    max_new_tokens: int = 64
    """check level 2's token limit (base models may never emit EOS)."""
    show_stages: bool = True
    """show the back end's stage bars (tiling op, calc input dependencies, ...)."""

    def file_flags(self) -> dict:
        """The flags that change what is written (part of every fingerprint)."""
        keys = ("prefill_len", "kv_cache_len", "post_topk", "post_weight_type",
                "hidden_state_type", "weight_type", "chip", "last_kv_cache_len", "npu_mode",
                "group_size", "quant_method", "strategy")
        data = asdict(self)
        return {k: data[k] for k in keys}


@dataclass
class BuildResult:
    output_path: Path
    layers_built: int = 0
    layers_skipped: int = 0
    kinds_compiled: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    config: dict = field(default_factory=dict)


# -- validation ----------------------------------------------------------------------------


BUILD_QUANT_METHODS = ("auto", "rtn", "clip", "asym")
"""Methods a build can run from the checkpoint alone (no calibration pass)."""


def validate(options: BuildOptions):
    """Check every flag and the input; return the LLMConfig. Raises one-line AxcErrors."""
    from axc.frontend.config import LLMConfig

    o = options
    if not o.input_path:
        raise AxcError("--input_path is required: a Hugging Face model folder (or a .gguf)")
    src = Path(o.input_path)
    if not src.exists():
        raise AxcError(f"--input_path {src}: no such file or folder")
    if o.weight_type not in WEIGHT_TYPES:
        raise AxcError(f"-w/--weight_type {o.weight_type!r}: choose one of {WEIGHT_TYPES}")
    if o.hidden_state_type not in HIDDEN_TYPES:
        raise AxcError(f"-t/--hidden_state_type {o.hidden_state_type!r}: choose one of "
                       f"{HIDDEN_TYPES}")
    if o.post_weight_type not in POST_WEIGHT_TYPES:
        raise AxcError(f"--post_weight_type {o.post_weight_type!r}: choose one of "
                       f"{POST_WEIGHT_TYPES}")
    if o.check_level not in (0, 1, 2):
        raise AxcError(f"-c/--check_level {o.check_level}: choose 0, 1 or 2")
    if o.kv_cache_len < 1:
        raise AxcError(f"--kv_cache_len {o.kv_cache_len}: must be >= 1")
    if o.prefill_len < 0:
        raise AxcError(f"--prefill_len {o.prefill_len}: must be >= 0 (0: decode only)")
    if o.prefill_len > o.kv_cache_len:
        raise AxcError(f"--prefill_len {o.prefill_len} exceeds --kv_cache_len {o.kv_cache_len}: "
                       "the prefill must fit in the KV cache")
    if o.last_kv_cache_len and o.prefill_len == 0:
        raise AxcError("--last_kv_cache_len needs --prefill_len > 0 (it adds prefill groups)")
    seen = set()
    for n in o.last_kv_cache_len:
        if n <= 0:
            raise AxcError(f"--last_kv_cache_len {n}: must be > 0")
        if n + o.prefill_len > o.kv_cache_len:
            raise AxcError(f"--last_kv_cache_len {n} + --prefill_len {o.prefill_len} exceeds "
                           f"--kv_cache_len {o.kv_cache_len}: that chunk would not fit")
        if n in seen:
            raise AxcError(f"--last_kv_cache_len {n} given twice")
        seen.add(n)
    if o.parallel < 1:
        raise AxcError(f"--parallel {o.parallel}: must be >= 1")
    if o.post_topk < 0:
        raise AxcError(f"--post_topk {o.post_topk}: must be >= 0 (0: full logits)")
    if o.quant_method not in BUILD_QUANT_METHODS:
        raise AxcError(f"--quant_method {o.quant_method!r}: llm_build offers "
                       f"{', '.join(BUILD_QUANT_METHODS)} (gptq and awq need a calibration run: "
                       "measure them with axc accuracy)")
    if o.group_size < 0 or (o.group_size == 0 and o.weight_type == "s4"):
        raise AxcError(f"--group_size {o.group_size}: must be >= 1 for -w s4, >= 0 for -w s8 "
                       "(0: one scale per output channel)")
    if o.max_new_tokens < 1:
        raise AxcError(f"max_new_tokens {o.max_new_tokens}: must be >= 1")
    if o.strategy not in ("heuristic", "onepass", "greedy"):
        raise AxcError(f"strategy {o.strategy!r}: choose heuristic, onepass or greedy")
    from axc.chip import load_chip

    load_chip(o.chip, o.npu_mode)  # unknown chip / npu_mode: its own one-line error
    out = Path(o.output_path)
    if out.exists() and not out.is_dir():
        raise AxcError(f"--output_path {out}: exists and is not a folder")
    if o.model_config and not Path(o.model_config).is_file():
        raise AxcError(f"--model_config {o.model_config}: no such file")
    llm = LLMConfig.from_pretrained_dir(o.model_config or src)
    if o.post_topk > llm.vocab_size:
        raise AxcError(f"--post_topk {o.post_topk} exceeds the vocabulary ({llm.vocab_size})")
    if o.weight_type == "s4":
        for what, dim in _linear_inputs(llm).items():
            if dim % o.group_size:
                raise AxcError(f"-w s4: --group_size {o.group_size} does not divide {what} "
                               f"{dim}; choose a group size that divides it (e.g. 32, 64)")
    from axc.frontend.weights import CheckpointReader

    reader = CheckpointReader(src)
    if not reader.layer_names(0):
        raise AxcError(f"--input_path {src}: no tensors of decoder layer 0; not a complete "
                       "checkpoint of this model")
    return llm, reader


# -- small helpers -------------------------------------------------------------------------


def _linear_inputs(llm) -> dict[str, int]:
    """The input widths (K) of a decoder layer's linears, by what they are."""
    return {"hidden_size": llm.hidden_size, "intermediate_size": llm.intermediate_size,
            "heads x head_dim": llm.num_attention_heads * llm.head_dim}


def s8_group_note(options: BuildOptions, llm) -> str | None:
    """A note when `--group_size` leaves some s8 linears at one scale per output channel
    (the quantize pass groups s8 only where the group divides K)."""
    if options.weight_type != "s8" or options.group_size <= 0:
        return None
    left = [f"{what} {dim}" for what, dim in _linear_inputs(llm).items()
            if dim % options.group_size]
    if not left:
        return None
    return (f"note: --group_size {options.group_size} does not divide {', '.join(left)}; "
            "those s8 linears keep one scale per output channel")


def layer_file(model_type: str, prefill_len: int, i: int | str) -> str:
    """ax-llm's layer file name (`%d` for the template)."""
    if prefill_len > 0:
        return f"{model_type}_p{prefill_len}_l{i}_together.axmodel"
    return f"{model_type}_l{i}.axmodel"


def post_file(model_type: str) -> str:
    return f"{model_type}_post.axmodel"


def groups_of(options: BuildOptions):
    """Shape groups: 0 decode, 1 prefill (kv 0), then one per --last_kv_cache_len."""
    from axc.frontend.pipeline import ShapeGroup, shape_groups

    if options.prefill_len == 0:
        return [ShapeGroup("decode", 1, options.kv_cache_len)]
    return shape_groups(options.prefill_len, options.kv_cache_len, options.last_kv_cache_len)


def write_json(path: Path, doc: dict) -> None:
    write_atomic(path, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())


def stored_fingerprint(path: Path) -> str | None:
    """The build fingerprint recorded in an axmodel, or None (missing, damaged, foreign)."""
    doc = stored_metadata(path)
    return doc.get("fingerprint") if doc else None


def stored_metadata(path: Path) -> dict | None:
    """The `axc.metadata` document of an intact axmodel (checksum verified, program not
    decoded), or None."""
    import onnx

    from axc.axmodel import verify_bytes

    try:
        data = path.read_bytes()
        verify_bytes(data, path)
        model = onnx.ModelProto()
        model.ParseFromString(data)
        props = {p.key: p.value for p in model.metadata_props}
        return json.loads(props["axc.metadata"])
    except Exception:  # anything unreadable is simply rebuilt
        return None


def _hash_arrays(digest, store, names) -> None:
    for name in names:
        array = np.ascontiguousarray(store.get(name))
        digest.update(name.encode())
        digest.update(str(array.dtype).encode() + str(array.shape).encode())
        digest.update(array.tobytes())


# -- the build -----------------------------------------------------------------------------


@dataclass
class _Kind:
    """One distinct layer kind: its raised module, trace buffers and schedule facts."""

    key: str
    module: object
    buffers: dict
    layer_prefix: str
    predicted_ms: dict = field(default_factory=dict)


class _Builder:
    def __init__(self, options: BuildOptions, llm, reader, console) -> None:
        from axc.compile_cache import CompileCache

        self.o, self.llm, self.reader, self.console = options, llm, reader, console
        self.out = Path(options.output_path)
        self.groups = groups_of(options)
        self.cache = CompileCache.default()
        self.kinds: dict[str, _Kind] = {}
        o = options
        self.quantize_text = layer_quantize_pipeline(o)
        self.post_quantize_text = (
            f"llm-post-quantize{{post-weight-type={o.post_weight_type} post-topk={o.post_topk} "
            f"group-size={max(o.group_size, 1)} hidden-type={o.hidden_state_type}}}")
        mode = f' npu-mode="{o.npu_mode}"' if o.npu_mode else ""
        self.backend_text = f'llm-backend{{chip="{o.chip}"{mode} strategy={o.strategy}}}'
        digest = hashlib.sha256()
        config_file = Path(o.model_config) if o.model_config else Path(o.input_path)
        if config_file.is_dir():
            config_file = config_file / "config.json"
        from axc.compile_cache import source_digest

        # the compiler's own source too: a rebuild after an upgrade (same version string,
        # e.g. a new default method) must not keep layers written by the old code
        for part in (f"axc {__version__}", source_digest(),
                     json.dumps(o.file_flags(), sort_keys=True),
                     config_file.read_bytes() if config_file.is_file() else b""):
            digest.update(part if isinstance(part, bytes) else part.encode())
            digest.update(b"\0")
        self.build_digest = digest.hexdigest()
        self.layer_kinds = [self._kind_key(i) for i in range(llm.num_hidden_layers)]

    def _kind_key(self, i: int) -> str:
        from axc.frontend.trace import layer_kind_key

        kind = self.llm.layer_kinds()[i]
        return f"{layer_kind_key(self.llm.hf, i)}|{kind.sliding_window}|{kind.rope_theta}"

    # kinds: trace, import, raise; schedule once; predict

    def prepare_kind(self, i: int) -> _Kind:
        from axc.frontend.importer import import_module
        from axc.frontend.pipeline import run_pipeline
        from axc.frontend.trace import layer_kind_key, trace_layer

        key = self.layer_kinds[i]
        if key in self.kinds:
            return self.kinds[key]
        traced = [trace_layer(self.llm.hf, i, g.seq_len, g.kv_len, device="meta")
                  for g in self.groups]
        module = import_module([(t, g.name, t.relative_weights())
                                for t, g in zip(traced, self.groups, strict=True)],
                               {"axc.layer_kind": layer_kind_key(self.llm.hf, i)})
        run_pipeline(module, "axh-raise")
        buffers = {k: v.numpy() for t in traced for k, v in t.buffers.items()}
        kind = _Kind(key, module, buffers, traced[0].layer_prefix)
        self.kinds[key] = kind
        return kind

    def layer_store(self, i: int):
        from axc.weight_store import WeightStore

        kind = self.kinds[self.layer_kinds[i]]
        return WeightStore(self.reader, kind.buffers, prefix=f"{kind.layer_prefix}.{i}.")

    def layer_fingerprint(self, i: int, store) -> str:
        digest = hashlib.sha256(self.build_digest.encode())
        digest.update(f"layer {i} {self.layer_kinds[i]}".encode())
        prefix = f"{self.kinds[self.layer_kinds[i]].layer_prefix}.{i}."
        _hash_arrays(digest, store, [n.removeprefix(prefix) for n in self.reader.layer_names(i)])
        return digest.hexdigest()

    def compile_layer(self, i: int, store):
        """Quantize layer i with its store and schedule it (cached per kind)."""
        from axc.frontend.pipeline import run_pipeline
        from axc.weight_store import use_store

        module = self.kinds[self.layer_kinds[i]].module.clone()
        with use_store(store):
            run_pipeline(module, self.quantize_text)
        compiled = self.cache.compile(module, self.backend_text)
        return next(iter(compiled.ops))

    def build_layer(self, i: int) -> tuple[int, bool, float]:
        """Build (or skip) layer i; returns (i, skipped, seconds)."""
        from axc.axmodel import write_axmodel
        from axc.lowering_layout import pack_weights

        t0 = time.perf_counter()
        path = self.out / layer_file(self.llm.model_type, self.o.prefill_len, i)
        store = self.layer_store(i)
        fingerprint = self.layer_fingerprint(i, store)
        if path.is_file() and stored_fingerprint(path) == fingerprint:
            return i, True, time.perf_counter() - t0
        program = self.compile_layer(i, store)
        weights = pack_weights(program, store)
        meta = {"model_type": self.llm.model_type, "layer": i, "fingerprint": fingerprint,
                "layer_kind": self.layer_kinds[i], "build_flags": self.o.file_flags(),
                "axc_version": __version__}
        write_axmodel(path, program, weights, metadata=meta)
        return i, False, time.perf_counter() - t0

    def predict_kind(self, kind: _Kind, program) -> None:
        from axc.chip import load_chip
        from axc.sim.timing import simulate_program

        chip = load_chip(self.o.chip, self.o.npu_mode)
        timing = simulate_program(program, chip)
        by_name = {g.sym_name.data: g.index.value.data for g in program.groups()}
        kind.predicted_ms = {by_name[name]: t.time_ms for name, t in timing.items()}

    def build_post(self) -> tuple[bool, float, dict]:
        from axc.axmodel import write_axmodel
        from axc.chip import load_chip
        from axc.frontend.importer import import_module
        from axc.frontend.pipeline import run_pipeline
        from axc.frontend.trace import trace_post
        from axc.lowering_layout import pack_weights
        from axc.sim.timing import simulate_program
        from axc.weight_store import WeightStore, use_store

        t0 = time.perf_counter()
        path = self.out / post_file(self.llm.model_type)
        traced = trace_post(self.llm.hf, device="meta")
        store = WeightStore(self.reader, {k: v.numpy() for k, v in traced.buffers.items()})
        digest = hashlib.sha256(self.build_digest.encode())
        digest.update(b"post")
        _hash_arrays(digest, store, sorted(set(traced.weights.values())))
        fingerprint = digest.hexdigest()
        doc = stored_metadata(path) if path.is_file() else None
        if doc and doc.get("fingerprint") == fingerprint:
            timing = (doc["groups"][0].get("timing") or {}).get("time_ms") or 0.0
            return True, time.perf_counter() - t0, {"post": timing}
        module = import_module([(traced, "post", None)])
        run_pipeline(module, "axh-raise")
        with use_store(store):
            run_pipeline(module, self.post_quantize_text)
        compiled = self.cache.compile(module, self.backend_text)
        program = next(iter(compiled.ops))
        weights = pack_weights(program, store)
        del store  # the float lm_head (and its rounded copy) before serializing: peak memory
        meta = {"model_type": self.llm.model_type, "layer": "post", "fingerprint": fingerprint,
                "build_flags": self.o.file_flags(), "axc_version": __version__}
        write_axmodel(path, program, weights, metadata=meta)
        timing = simulate_program(program, load_chip(self.o.chip, self.o.npu_mode))
        return False, time.perf_counter() - t0, {"post": next(iter(timing.values())).time_ms}


_WORKER: _Builder | None = None


def _worker_job(job: int | str):
    """Entry point of a forked worker: layer `job` or the post model. The builder (with its
    kinds and compile cache in memory) is inherited from the parent."""
    assert _WORKER is not None
    return _WORKER.build_post() if job == "post" else _WORKER.build_layer(int(job))


def build(options: BuildOptions, console=None) -> BuildResult:
    """Run the whole build (and the check level asked for); return what was done."""
    from rich.console import Console

    console = console or Console(stderr=True)
    t_start = time.perf_counter()
    llm, reader = validate(options)
    console.print(llm.format_block())
    note = s8_group_note(options, llm)
    if note:
        console.print(note)
    out = Path(options.output_path)
    out.mkdir(parents=True, exist_ok=True)
    builder = _Builder(options, llm, reader, console)
    result = BuildResult(out)
    seconds = result.seconds

    progress = _progress(console)
    with progress:
        kinds = sorted(set(builder.layer_kinds), key=builder.layer_kinds.index)
        task = progress.add_task("tracing llm layer kinds", total=len(kinds))
        t0 = time.perf_counter()
        for key in kinds:
            builder.prepare_kind(builder.layer_kinds.index(key))
            progress.advance(task)
        seconds["trace"] = time.perf_counter() - t0

        # schedule every kind once, on its first layer's quantized IR
        task = progress.add_task("scheduling llm layer kinds", total=len(kinds))
        t0 = time.perf_counter()
        from axc.progress import show_progress

        for key in kinds:
            first = builder.layer_kinds.index(key)
            with show_progress(options.show_stages):
                program = builder.compile_layer(first, builder.layer_store(first))
            builder.predict_kind(builder.kinds[key], program)
            progress.advance(task)
        seconds["schedule"] = time.perf_counter() - t0
        result.kinds_compiled = builder.cache.misses

        n = llm.num_hidden_layers
        layer_task = progress.add_task("building llm decode layers", total=n)
        post_task = progress.add_task("building llm post layer", total=1)
        t0 = time.perf_counter()
        post_ms: dict = {}
        for job, done in _run_jobs(builder, options.parallel):
            if job == "post":
                _, seconds["post"], post_ms = done
                progress.advance(post_task)
            else:
                result.layers_skipped += done[1]
                result.layers_built += not done[1]
                progress.advance(layer_task)
        seconds["layers+post"] = time.perf_counter() - t0

        task = progress.add_task("writing embedding and configs", total=1)
        t0 = time.perf_counter()
        from axc.embedding import EMBEDDING_FILE, write_embedding

        if not _embedding_current(out / EMBEDDING_FILE, builder):
            write_embedding(reader, out, llm)
            write_json(out / ".embedding.fingerprint.json",
                       {"fingerprint": _embedding_fingerprint(builder)})
        copied = copy_tokenizer_files(Path(options.input_path), out)
        config = folder_config(options, llm, builder, post_ms, copied)
        write_json(out / "config.json", config)
        write_json(out / "post_config.json", post_config(Path(options.input_path)))
        seconds["files"] = time.perf_counter() - t0
        progress.advance(task)
    result.config = config
    seconds["total"] = time.perf_counter() - t_start
    console.print(f"[green]SUCCESS[/] built {result.layers_built} layer(s), skipped "
                  f"{result.layers_skipped} already built, {result.kinds_compiled} layer "
                  f"kind(s) scheduled, in {seconds['total']:.1f} s")
    console.print(f"[green]SUCCESS[/] output: {out}")
    if options.check_level:
        import gc

        from axc.checks import check_level_1, check_level_2

        del builder, progress  # the traced kinds and compiled programs: the check needs room
        gc.collect()

        if options.check_level == 1:
            check_level_1(options, out, console)
        else:
            check_level_2(options, out, console)
    return result


def _run_jobs(builder: _Builder, parallel: int):
    """Yield ("layer" | "post", result) as the layers and the post model are built: in this
    process, or with `parallel` > 1 in forked workers (the post model, the longest job,
    first)."""
    n = builder.llm.num_hidden_layers
    if parallel <= 1:
        for i in range(n):
            yield "layer", builder.build_layer(i)
        yield "post", builder.build_post()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    global _WORKER
    _WORKER = builder
    try:
        with ProcessPoolExecutor(min(parallel, n + 1),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {pool.submit(_worker_job, "post"): "post"}
            futures.update({pool.submit(_worker_job, i): "layer" for i in range(n)})
            for future in as_completed(futures):
                yield futures[future], future.result()
    finally:
        _WORKER = None


def _progress(console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _embedding_fingerprint(builder: _Builder) -> str:
    from axc.embedding import embedding_name

    digest = hashlib.sha256(f"embedding {__version__}".encode())
    _hash_arrays(digest, builder.reader, [embedding_name(builder.reader)])
    digest.update(repr(builder.llm.embedding_scale).encode())
    return digest.hexdigest()


def _embedding_current(path: Path, builder: _Builder) -> bool:
    stamp = path.parent / ".embedding.fingerprint.json"
    if not path.is_file() or not stamp.is_file():
        return False
    try:
        return json.loads(stamp.read_text()).get("fingerprint") == _embedding_fingerprint(builder)
    except ValueError:
        return False


def copy_tokenizer_files(src: Path, out: Path) -> list[str]:
    """Copy the tokenizer and chat template files next to the axmodels (atomically)."""
    folder = src if src.is_dir() else src.parent
    copied = []
    for name in TOKENIZER_FILES:
        path = folder / name
        if path.is_file():
            with atomic_output(out / name) as handle, open(path, "rb") as source:
                shutil.copyfileobj(source, handle)
            copied.append(name)
    return copied


def _ids(value) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def eos_ids(src: Path, llm) -> list[int]:
    """EOS ids from config.json and generation_config.json (instruct models add theirs)."""
    ids = _ids(llm.eos_token_id)
    gen = src / "generation_config.json" if src.is_dir() else None
    if gen is not None and gen.is_file():
        try:
            ids += _ids(json.loads(gen.read_text()).get("eos_token_id"))
        except ValueError:
            pass
    return sorted(set(ids))


def folder_config(options: BuildOptions, llm, builder: _Builder, post_ms: dict,
                  copied: list[str]) -> dict:
    """config.json: the fields ax-llm's runtime reads, then axc's own."""
    from axc.embedding import EMBEDDING_FILE

    o = options
    src = Path(o.input_path)
    groups = [{"index": k, "name": g.name, "seq_len": g.seq_len, "kv_len": g.kv_len}
              for k, g in enumerate(builder.groups)]
    per_group: dict[str, float] = {}
    for i in range(llm.num_hidden_layers):
        for index, ms in builder.kinds[builder.layer_kinds[i]].predicted_ms.items():
            per_group[str(index)] = per_group.get(str(index), 0.0) + ms
    bos = _ids(llm.bos_token_id)
    tokenizer_type = {"qwen2": "Qwen2", "llama": "Llama3", "gemma2": "Gemma2",
                      "gemma3_text": "Gemma3", "phi": "Phi", "phi3": "Phi3"}.get(llm.model_type,
                                                                            llm.model_type)
    return {
        # ax-llm's runtime fields
        "template_filename_axmodel": layer_file(llm.model_type, o.prefill_len, "%d"),
        "axmodel_num": llm.num_hidden_layers,
        "filename_post_axmodel": post_file(llm.model_type),
        "filename_tokens_embed": EMBEDDING_FILE,
        "tokens_embed_num": llm.vocab_size,
        "tokens_embed_size": llm.hidden_size,
        "use_mmap_load_embed": True,
        "url_tokenizer_model": "tokenizer.json" if "tokenizer.json" in copied else "",
        "tokenizer_type": tokenizer_type,
        "post_config_path": "post_config.json",
        "prefill_token_num": o.prefill_len,
        "max_token_len": o.kv_cache_len,
        # axc's own
        "model_type": llm.model_type,
        "bos_token_id": bos[0] if bos else None,
        "eos_token_id": eos_ids(src, llm),
        "kv_cache_len": o.kv_cache_len,
        "prefill_len": o.prefill_len,
        "decode_group": 0,
        "prefill_groups": [g for g in groups if g["seq_len"] > 1],
        "groups": groups,
        "kv_dim": llm.num_key_value_heads * llm.head_dim,
        "hidden_state_type": o.hidden_state_type,
        "weight_type": o.weight_type,
        "post_weight_type": o.post_weight_type,
        "post_topk": o.post_topk,
        "chip": o.chip,
        "npu_mode": o.npu_mode,
        "group_size": o.group_size,
        "tokenizer_files": copied,
        "predicted_ms": {"groups": per_group, "post": post_ms["post"]},
        "axc_version": __version__,
    }


def layer_quantize_pipeline(o: BuildOptions) -> str:
    """The weight half of a decoder layer's pipeline for these options (`--group_size` is
    the s4 group and the s8 group, 0 = one s8 scale per output channel)."""
    return (f"llm-layer-quantize{{weight-type={o.weight_type} group-size={max(o.group_size, 1)} "
            f"s8-group-size={o.group_size} hidden-type={o.hidden_state_type} "
            f"quant-method={o.quant_method}}}")


def post_config(src: Path) -> dict:
    """ax-llm's sampling settings: values from generation_config.json, every switch off, so
    the default run is greedy (deterministic); flip `enable_*` to sample."""
    gen = {}
    path = (src if src.is_dir() else src.parent) / "generation_config.json"
    if path.is_file():
        try:
            gen = json.loads(path.read_text())
        except ValueError:
            gen = {}
    return {
        "enable_temperature": False,
        "temperature": float(gen.get("temperature", 0.9) or 0.9),
        "enable_repetition_penalty": False,
        "repetition_penalty": float(gen.get("repetition_penalty", 1.1) or 1.1),
        "penalty_window": 20,
        "enable_top_p_sampling": False,
        "top_p": float(gen.get("top_p", 0.8) or 0.8),
        "enable_top_k_sampling": False,
        "top_k": int(gen.get("top_k", 10) or 10),
    }
