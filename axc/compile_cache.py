"""Compile once per distinct layer: a cache of back-end results keyed by IR and options.

The back end (`llm-backend`: lowering, tiling, DDR swaps, dependencies, EU assignment) is
the expensive half of a build and depends only on the quantized axh IR and the pipeline
options, never on weight values. Layers imported with relative weight names
(`import_layer(relative_weights=True)`) have identical IR when they are of one kind, so a
24-layer model schedules one program per kind (pulsar2 schedules every layer again).

The key is the sha256 of the axc version, a digest of the compiler's own source (package,
dialects, passes, chip files: an edited pass never reuses a stale schedule), the expanded
pipeline text, the contents of any chip file the pipeline names by path, and the printed
module. Entries live in memory and, with a `directory`, on disk as `<key>.mlir` (written
atomically), so a resumed or repeated build reuses schedules across processes.
`CompileCache.default()` uses `$AXC_COMPILE_CACHE` (`off` disables the disk) or
`~/.cache/axc/compile`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer

from axc import __version__
from axc.atomic import write_atomic


def module_text(module: ModuleOp) -> str:
    """The module's generic-free, deterministic textual form (what the key hashes)."""
    import io

    out = io.StringIO()
    Printer(stream=out).print_op(module)
    return out.getvalue()


class CompileCache:
    """`compile(module, pipeline)` runs `pipeline` on a copy of `module` once per key."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._memory: dict[str, ModuleOp] = {}
        self.hits = 0
        self.misses = 0

    @classmethod
    def default(cls) -> CompileCache:
        """The user's persistent cache (see the module doc)."""
        setting = os.environ.get("AXC_COMPILE_CACHE", "")
        if setting.lower() in ("off", "0", "none"):
            return cls()
        return cls(setting or Path.home() / ".cache" / "axc" / "compile")

    def key(self, module: ModuleOp, pipeline: str) -> str:
        from axc.pipelines import expand_pipeline

        expanded = expand_pipeline(pipeline)
        digest = hashlib.sha256()
        for part in (f"axc {__version__}", source_digest(), expanded, *_chip_files(expanded),
                     module_text(module)):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def compile(self, module: ModuleOp, pipeline: str) -> ModuleOp:
        """The compiled module (a fresh copy the caller may change); `module` is untouched."""
        from axc.frontend.pipeline import run_pipeline

        key = self.key(module, pipeline)
        cached = self._memory.get(key) or self._load(key)
        if cached is not None:
            self.hits += 1
            self._memory[key] = cached
            return cached.clone()
        self.misses += 1
        compiled = run_pipeline(module.clone(), pipeline)
        self._memory[key] = compiled.clone()
        self._store(key, compiled)
        return compiled

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.mlir" if self.directory is not None else None

    def _load(self, key: str) -> ModuleOp | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        from axc.frontend.pipeline import make_context

        try:
            return Parser(make_context(), path.read_text(), str(path)).parse_module()
        except Exception:  # a damaged cache entry is a miss, never an error
            return None

    def _store(self, key: str, module: ModuleOp) -> None:
        path = self._path(key)
        if path is None:
            return
        write_atomic(path, module_text(module))


@functools.cache
def source_digest() -> str:
    """sha256 of the compiler's source files and chip files (read once per process)."""
    import axc
    import axc.dialects
    import axc.passes

    digest = hashlib.sha256()
    roots = {Path(m.__file__).parent for m in (axc, axc.dialects, axc.passes)}
    for root in sorted(roots):
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".chip", ".lark") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _chip_files(pipeline: str) -> list[str]:
    """Contents of chip files named by path in the pipeline (a name like AX650 is versioned
    with axc itself)."""
    out = []
    for name in re.findall(r'chip="([^"]+)"', pipeline):
        if os.sep in name or name.endswith(".chip"):
            path = Path(name)
            out.append(path.read_text() if path.is_file() else f"missing {name}")
    return out
