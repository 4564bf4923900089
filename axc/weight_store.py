"""The weight store: every array the IR names, outside the IR.

IR refers to weights by name (`axh.weight "model.layers.0.mlp.up_proj.weight"`). The store
answers those names: checkpoint tensors are read lazily through `CheckpointReader`, the
non-persistent buffers a trace carries (rotary `inv_freq`) are added as they are, and passes
add derived arrays (quantized integers, their scales, fused q/k/v) under new names, so the
original float tensor stays available for accuracy reports.

Passes reach the store of the build in progress through `current_store()`; a pass run
without one (an `axc-opt` lit test) rewrites only the IR. Derived names follow one scheme,
`<source name>#<tag>`, e.g. `...up_proj.weight#s8` and `...up_proj.weight#s8.scale`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar

import numpy as np

from axc.errors import AxcError


class WeightStore:
    """Name -> numpy array, lazily backed by a checkpoint, with derived arrays on top."""

    def __init__(
        self,
        reader: object | None = None,
        arrays: Mapping[str, np.ndarray] | None = None,
        max_cached: int = 64,
        prefix: str = "",
    ):
        """`prefix` (e.g. ``model.layers.3.``) serves a layer imported with relative weight
        names (`import_layer(relative_weights=True)`) through a `LayerReader`."""
        if prefix and reader is not None:
            from axc.frontend.weights import LayerReader

            reader = LayerReader(reader, prefix)  # type: ignore[arg-type]
        self.prefix = prefix
        self._reader = reader
        self._derived: dict[str, np.ndarray] = dict(arrays or {})
        self._cache: dict[str, np.ndarray] = {}
        self._max_cached = max_cached
        self._producers: dict[str, Callable[[], np.ndarray]] = {}

    def __contains__(self, name: str) -> bool:
        return (
            name in self._derived
            or name in self._producers
            or (self._reader is not None and name in self._reader)  # type: ignore[operator]
        )

    def get(self, name: str) -> np.ndarray:
        """The array named `name` (checkpoint tensors as float32)."""
        if name in self._derived:
            return self._derived[name]
        if name in self._cache:
            return self._cache[name]
        if name in self._producers:
            value = self._producers.pop(name)()
            self._derived[name] = value
            return value
        if self._reader is None or name not in self._reader:  # type: ignore[operator]
            raise AxcError(f"weight {name!r} is neither in the checkpoint nor derived by a pass")
        value = self._reader.get(name)  # type: ignore[attr-defined]
        if len(self._cache) >= self._max_cached:
            self._cache.pop(next(iter(self._cache)))
        self._cache[name] = value
        return value

    __getitem__ = get

    def put(self, name: str, value: np.ndarray) -> None:
        """Add (or replace) a derived array."""
        self._derived[name] = value
        self._producers.pop(name, None)

    def put_lazy(self, name: str, produce: Callable[[], np.ndarray]) -> None:
        """Add a derived array computed on first use (quantize a layer only when needed)."""
        self._producers[name] = produce

    def derived_names(self) -> list[str]:
        return sorted({*self._derived, *self._producers})

    def drop(self, prefix: str) -> None:
        """Forget derived and cached arrays whose names start with `prefix` (a finished layer)."""
        for table in (self._derived, self._cache, self._producers):
            for name in [n for n in table if n.startswith(prefix)]:
                del table[name]


_CURRENT: ContextVar[WeightStore | None] = ContextVar("axc_weight_store", default=None)


def current_store() -> WeightStore | None:
    """The store of the build in progress, or None (IR-only pass runs)."""
    return _CURRENT.get()


@contextlib.contextmanager
def use_store(store: WeightStore) -> Iterator[WeightStore]:
    """Make `store` the one passes see while the block runs."""
    token = _CURRENT.set(store)
    try:
        yield store
    finally:
        _CURRENT.reset(token)
