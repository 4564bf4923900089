"""Stage progress bars, named as pulsar2 names its build stages ("calc input dependencies").

Passes report progress through `stage(name, total)`. Bars are off by default, so `axc-opt`
and lit tests print nothing extra; the build turns them on around its pipeline with
`with show_progress(): ...` (or a pass option). Bars go to stderr and vanish when done.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ENABLED: ContextVar[bool] = ContextVar("axc_progress", default=False)


@contextmanager
def show_progress(enabled: bool = True) -> Iterator[None]:
    """Show stage progress bars of the passes run inside the block (stderr)."""
    token = _ENABLED.set(enabled)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def progress_enabled() -> bool:
    return _ENABLED.get()


class Stage:
    """A counter with `advance(n)`; a rich bar when enabled, nothing otherwise."""

    def __init__(self, progress: object | None, task: object | None) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)  # type: ignore[attr-defined]


@contextmanager
def stage(name: str, total: int, enabled: bool | None = None) -> Iterator[Stage]:
    """A progress bar `name` over `total` steps, when progress is enabled."""
    if not (progress_enabled() if enabled is None else enabled):
        yield Stage(None, None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=Console(file=sys.stderr), transient=False)
    with progress:
        task = progress.add_task(name, total=max(total, 1))
        yield Stage(progress, task)
        progress.update(task, completed=max(total, 1))
