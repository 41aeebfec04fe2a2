"""Share one model between concurrent callers with a bounded wait queue and timeouts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence

from postfinder.errors import BusyError, GenerationTimeoutError
from postfinder.generation.base import ChatMessage, Generator

_DONE = object()


class GenerationService:
    """Runs one generation at a time on a worker thread; callers stream the pieces.

    A caller that would be the ``max_waiting + 1``-th in line gets `BusyError` at once
    instead of waiting; a generation that waits or runs past ``timeout_s`` raises
    `GenerationTimeoutError` and the model is freed for the next caller.

    Parameters
    ----------
    generator
        The model, loaded once.
    max_waiting
        Callers allowed to wait while another generates.
    timeout_s
        Limit for waiting plus generating, per request.
    """

    def __init__(self, generator: Generator, max_waiting: int = 8, timeout_s: float = 120.0):
        self.generator = generator
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Callers currently waiting for the model."""
        return self._waiting

    async def stream(self, messages: Sequence[ChatMessage], max_tokens: int) -> AsyncIterator[str]:
        """Yield the reply's pieces as the model produces them.

        Raises
        ------
        BusyError
            If too many callers are already waiting.
        GenerationTimeoutError
            If waiting plus generating takes longer than ``timeout_s``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        if not self._lock.locked():
            await self._lock.acquire()  # free: taken at once, no suspension
        else:
            if self._waiting >= self.max_waiting:
                raise BusyError(
                    "The bot is busy answering other questions; please ask again in a minute."
                )
            self._waiting += 1
            try:
                await asyncio.wait_for(self._lock.acquire(), timeout=self.timeout_s)
            except TimeoutError as exc:
                raise GenerationTimeoutError(
                    "Timed out waiting for the model; please ask again."
                ) from exc
            finally:
                self._waiting -= 1
        try:
            async for piece in self._run(messages, max_tokens, deadline):
                yield piece
        finally:
            self._lock.release()

    async def _run(
        self, messages: Sequence[ChatMessage], max_tokens: int, deadline: float
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[object] = asyncio.Queue()
        cancel = threading.Event()

        def work() -> None:
            try:
                for piece in self.generator.stream(messages, max_tokens):
                    if cancel.is_set():
                        break
                    loop.call_soon_threadsafe(pieces.put_nowait, piece)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                loop.call_soon_threadsafe(pieces.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(pieces.put_nowait, _DONE)

        worker = loop.run_in_executor(None, work)
        try:
            while True:
                remaining = deadline - loop.time()
                try:
                    item = await asyncio.wait_for(pieces.get(), timeout=max(remaining, 0.001))
                except TimeoutError as exc:
                    raise GenerationTimeoutError(
                        "The model took too long to answer; please ask again."
                    ) from exc
                if item is _DONE:
                    break
                if isinstance(item, Exception):
                    raise item
                yield str(item)
        finally:
            cancel.set()
            # The worker stops at the next piece; wait so the model is free for the next caller.
            await asyncio.shield(worker)
