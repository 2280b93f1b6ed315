"""Progress of a long wait: live on a terminal (rich), one plain line per change else."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

_MARKS = {"SUCCEEDED": "✓", "FAILED": "✗", "RUNNING": "…", "SKIPPED": "-", "PENDING": " "}

Steps = list[tuple[str, str]]


class Progress:
    """What a wait is at: a status line and, for a restore, its steps and their states."""

    def __init__(self, console: Console, *, title: str, live: bool) -> None:
        self.console = console
        self.title = title
        self.live = live
        self.started = time.monotonic()
        self.status = "starting"
        self.steps: Steps = []
        self._live: Live | None = None
        self._printed: tuple[str, tuple[tuple[str, str], ...]] | None = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self) -> Progress:
        if self.live:
            self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        else:
            self.console.print(f"{self.title}", markup=False, highlight=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)

    def update(self, status: str, steps: Steps | None = None) -> None:
        self.status = status
        if steps is not None:
            self.steps = steps
        if self.live:
            return  # the Live display re-renders itself (see __rich__)
        now = (self.status, tuple(self.steps))
        if now == self._printed:
            return
        self._printed = now
        line = f"[{self.elapsed:6.1f}s] {self.status}"
        if self.steps:
            line += " | " + " ".join(f"{kind}={state}" for kind, state in self.steps)
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def __rich__(self) -> RenderableType:
        head = Table.grid(padding=(0, 1))
        head.add_row(
            Spinner("dots"), Text(self.title, style="bold"), Text(f"{self.elapsed:.0f}s", "dim")
        )
        parts: list[RenderableType] = [head, Text(f"  {self.status}")]
        for kind, state in self.steps:
            style = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "cyan"}.get(state, "dim")
            parts.append(Text(f"  {_MARKS.get(state, '?')} {kind.lower()}: {state.lower()}", style))
        return Group(*parts)
