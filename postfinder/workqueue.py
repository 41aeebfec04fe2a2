"""Share the models between concurrent async callers: one job at a time, a bounded line,
and a per-job time limit after which the job is asked to stop.

Answering (embedding and generation), indexing and calibration all go through one
queue, so it lives here rather than in `postfinder.generation`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WorkQueue:
    """Runs blocking jobs (answering, indexing, calibration) one at a time on worker threads.

    Callers reserve a place first: when one job runs and ``max_waiting`` wait, a new
    caller is told at once that the queue is full instead of waiting forever. A job that
    runs longer than ``timeout_s`` gets its cancel event set and is expected to return
    promptly with what it has (the answer pipeline then falls back to an extract).

    Parameters
    ----------
    max_waiting
        Jobs allowed to wait while another runs.
    timeout_s
        Time a job may run before it is asked to stop.
    """

    def __init__(self, max_waiting: int, timeout_s: float) -> None:
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._waiting = 0

    @property
    def in_flight(self) -> int:
        """Jobs running or waiting."""
        return self._waiting + (1 if self._lock.locked() else 0)

    def try_reserve(self) -> bool:
        """Take a place in line; False when the line is full (tell the caller "busy")."""
        if self.in_flight > self.max_waiting:
            return False
        self._waiting += 1
        return True

    def release(self) -> None:
        """Give back a reservation that will not be used."""
        self._waiting -= 1

    async def run(
        self,
        job: Callable[[threading.Event], T],
        reserved: bool = False,
        on_tick: Callable[[], Awaitable[None]] | None = None,
        tick_s: float = 1.0,
    ) -> T:
        """Wait for the model, run ``job(cancel_event)`` in a thread, and return its result.

        Parameters
        ----------
        job
            Blocking function; it should return soon after its event is set.
        reserved
            The caller already holds a place from `try_reserve`.
        on_tick
            Awaited every ``tick_s`` seconds while the job runs (progress displays).
        tick_s
            Interval between ticks.

        Returns
        -------
        T
            What ``job`` returned.
        """
        if not reserved:
            self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        cancel = threading.Event()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        try:
            work = asyncio.ensure_future(asyncio.to_thread(job, cancel))
            while not work.done():
                timeout = min(tick_s, max(deadline - loop.time(), 0.0))
                await asyncio.wait({work}, timeout=timeout if not cancel.is_set() else None)
                if work.done():
                    break
                if loop.time() >= deadline:
                    cancel.set()
                elif on_tick is not None:
                    await on_tick()
            return await work
        finally:
            self._lock.release()
