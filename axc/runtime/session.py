"""`InferenceSession`: pyaxengine's API over one `.axmodel`, backed by the functional simulator.

    sess = InferenceSession("qwen2_p128_l0_together.axmodel")
    [i.name for i in sess.get_inputs(shape_group=1)]
    out, k, v = sess.run(None, {"input": x, "indices": pos, ...}, shape_group=0)

The session keeps one `FunctionalSimulator` alive across runs (compiled groups, lazily copied
weights, the dequantised-weight cache), so repeated decode steps cost only the arithmetic.
Sessions over files with identical instruction streams (the layers of one model) share one
simulator: its groups are compiled once and each layer's weight blobs are told apart by
identity.

dtypes. `NodeArg.dtype` is the numpy dtype `run` returns and accepts natively: float32 for
`bf16`/`f16`/`f32` tensors (rounded to the tensor's type on input; bf16 values are exact in
float32 on output), `uint32`/`int32`/`int8` for integers. A bf16 input may also be fed as its
raw bits (`uint16`) or as `ml_dtypes.bfloat16`. `NodeArg.axdtype` is the axnpu dtype.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from axc.axmodel import AxModel, GroupInfo, read_axmodel
from axc.errors import AxcError
from axc.sim.functional import FunctionalSimulator

__all__ = ["InferenceSession", "NodeArg"]

_NUMPY = {"f32": np.float32, "bf16": np.float32, "f16": np.float32, "s8": np.int8,
          "i32": np.int32, "u32": np.uint32, "s4": np.int8}

_SHARED: OrderedDict[tuple[str, ...], FunctionalSimulator] = OrderedDict()
_MAX_SHARED = 8


@dataclass(frozen=True)
class NodeArg:
    """A graph input or output of one shape group (pyaxengine's NodeArg)."""

    name: str
    shape: list[int]
    dtype: np.dtype
    axdtype: str


def _program_key(model: AxModel) -> tuple[str, ...]:
    """The sha256 of the program header and every group stream: equal keys, equal IR."""
    blobs = model.metadata["blobs"]
    return tuple(sorted(d for n, d in blobs.items() if n.startswith("axc.")))


def _shared_simulator(model: AxModel) -> FunctionalSimulator:
    key = _program_key(model)
    sim = _SHARED.get(key)
    if sim is None:
        sim = _SHARED[key] = FunctionalSimulator(model.program)
        while len(_SHARED) > _MAX_SHARED:
            _SHARED.popitem(last=False)
    _SHARED.move_to_end(key)
    return sim


class InferenceSession:
    """Run the groups of one axmodel on the functional simulator.

    `path_or_model`: an `.axmodel` path or an `AxModel` already read. `shuffle_seed` runs
    every group in a random dependence-respecting order (same results; for testing)."""

    def __init__(self, path_or_model: str | os.PathLike[str] | AxModel, *,
                 shuffle_seed: int | None = None, share_program: bool = True) -> None:
        self.model = (path_or_model if isinstance(path_or_model, AxModel)
                      else read_axmodel(path_or_model))
        self.shuffle_seed = shuffle_seed
        self._sim = (_shared_simulator(self.model) if share_program
                     else FunctionalSimulator(self.model.program))
        self._groups = {g.index: g for g in self.model.groups}
        self._compiled: dict[str, Any] = {}

    @property
    def path(self) -> Any:
        return self.model.path

    @property
    def shape_groups(self) -> int:
        """How many groups (shape groups) the model has."""
        return len(self._groups)

    def _group(self, shape_group: int) -> GroupInfo:
        group = self._groups.get(shape_group)
        if group is None:
            raise AxcError(f"{self.path}: no shape_group {shape_group}; it has "
                           f"{', '.join(f'{g.index} ({g.name})' for g in self._groups.values())}")
        return group

    def get_inputs(self, shape_group: int = 0) -> list[NodeArg]:
        return [NodeArg(t.name, list(t.shape), np.dtype(_NUMPY[t.dtype]), t.dtype)
                for t in self._group(shape_group).inputs]

    def get_outputs(self, shape_group: int = 0) -> list[NodeArg]:
        return [NodeArg(t.name, list(t.shape), np.dtype(_NUMPY[t.dtype]), t.dtype)
                for t in self._group(shape_group).outputs]

    def predicted_ms(self, shape_group: int = 0) -> float | None:
        """The chip time of one run of the group, from the timing model (metadata)."""
        return self._group(shape_group).predicted_ms

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, Any],
            shape_group: int = 0) -> list[np.ndarray]:
        """Run group `shape_group` on `input_feed` (name -> array); return the outputs named
        in `output_names` (all, in graph order, when None)."""
        group = self._group(shape_group)
        known = [t.name for t in group.outputs]
        names = known if output_names is None else list(output_names)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise AxcError(f"{self.path}: group {group.name} has no outputs {unknown}; "
                           f"outputs: {known}")
        feeds = {}
        types = {t.name: t.dtype for t in group.inputs}
        for name, value in input_feed.items():
            feeds[name] = _feed(value, types.get(name))
        compiled = self._compiled.get(group.name)
        if compiled is None:  # the decoded program is never edited: compile once, no re-checks
            compiled = self._compiled[group.name] = self._sim.compiled(group.name)
        try:
            got = compiled.run(feeds, self.model.weights, self.shuffle_seed)
        except AxcError as err:
            raise AxcError(f"{self.path}: {err}") from err
        return [got[n] for n in names]


def _feed(value: Any, dtype: str | None) -> np.ndarray:
    """An input as the simulator takes it (ml_dtypes.bfloat16 -> its uint16 bits)."""
    arr = np.asarray(value)
    if arr.dtype.name == "bfloat16":  # ml_dtypes: its bits are the bf16 storage
        return arr.view(np.uint16)
    return arr  # (the simulator takes a bf16 buffer's uint16 feed as raw bits)
