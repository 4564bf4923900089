"""Atomic file output: a temporary file in the target's folder, then `os.replace`.

An interrupted build never leaves a half-written file under the final name, and readers see
either the old file or the new one. The file gets the permissions a plain `open()` would
(0666 less the umask), not `mkstemp`'s private 0600: output folders are meant to be shared.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """`with atomic_output(p) as f: f.write(...)`: `p` appears only if the block succeeds."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write `data` (bytes, or text as UTF-8) to `path` atomically."""
    with atomic_output(path, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    return Path(path)
