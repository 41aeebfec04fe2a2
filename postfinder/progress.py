"""Progress of a long step: a bar in a terminal, a few plain lines in a log.

A bar redrawn on every tick fills `docker logs` and CI logs with thousands of
``Indexing: 11%|█▏ |...`` fragments. Outside a terminal a step prints at most one line
every `interval` seconds while it runs, and one line when it ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from tqdm import tqdm


class Progress:
    """One step's progress: ``set(done, total)`` or ``update(n)``, then `close`.

    Parameters
    ----------
    desc
        The step's name, as the user reads it ("Indexing").
    total
        Units of work, when known at the start.
    unit
        What is counted ("post").
    disable
        Show nothing at all.
    stream
        Where to write; standard error by default.
    interval
        Seconds between plain lines outside a terminal.
    clock
        Monotonic seconds (a parameter so that tests need not sleep).
    """

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        unit: str = "it",
        disable: bool = False,
        stream: TextIO | None = None,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.desc, self.total, self.unit, self.done = desc, total, unit, 0
        self._stream = stream if stream is not None else sys.stderr
        self._disabled, self._interval, self._clock = disable, interval, clock
        self._started = self._last = clock()
        self._closed = False
        self._bar: Any = None
        if not disable and _is_terminal(self._stream):
            self._bar = tqdm(desc=desc, total=total, unit=unit, file=self._stream)

    def set(self, done: int, total: int | None = None) -> None:
        """Record that ``done`` units of ``total`` are finished."""
        if total is not None:
            self.total = total
        self.done = done
        if self._bar is not None:
            self._bar.total, self._bar.n = self.total, done
            self._bar.refresh()
        elif not self._disabled and self._clock() - self._last >= self._interval:
            self._last = self._clock()
            self._write(self._count() + self._share())

    def update(self, count: int = 1) -> None:
        """Record ``count`` more finished units."""
        self.set(self.done + count)

    def close(self) -> None:
        """End the step: close the bar, or print its one closing line."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif not self._disabled:
            self._write(f"{self._count()} in {self._clock() - self._started:.1f} s")

    def _count(self) -> str:
        counted = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        return f"{counted} {self.unit}"

    def _share(self) -> str:
        return f" ({100 * self.done / self.total:.0f}%)" if self.total else ""

    def _write(self, text: str) -> None:
        self._stream.write(f"{self.desc}: {text}\n")
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
