"""One writer per data directory.

ChromaDB is thread-safe but not process-safe: two processes writing one data directory
(two `index` runs, or `index` next to a serving bot) corrupt the vector store for good.
Every writer therefore holds an exclusive lock on ``<data dir>/writer.lock``; a second
one is told at once which process holds it. The lock is the kernel's (``flock``), so a
writer killed with SIGKILL leaves nothing to clean up.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType

from postfinder.errors import PostfinderError

LOCK_FILE = "writer.lock"


class DataDirBusyError(PostfinderError):
    """Another process is writing to the data directory.

    Attributes
    ----------
    holder
        What the holding process wrote about itself (``pid``, ``command``, ``since``).
    """

    def __init__(self, message: str, holder: dict[str, object]) -> None:
        super().__init__(message)
        self.holder = holder


class WriterLock:
    """Exclusive write access to a data directory while the ``with`` block runs.

    Parameters
    ----------
    data_dir
        The data directory.
    command
        What this process is doing (shown to a second writer).
    """

    def __init__(self, data_dir: Path, command: str) -> None:
        self.path = data_dir / LOCK_FILE
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        """Take the lock or raise `DataDirBusyError` at once (never wait)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise DataDirBusyError(
                f"Another PostFinder process is writing to {self.path.parent} (pid "
                f"{holder.get('pid', '?')}: postfinder {holder.get('command', '?')}, since "
                f"{holder.get('since', '?')}). Two writers would corrupt the index: wait "
                "for it to finish or stop it, then run this again.",
                holder,
            ) from None
        record = {
            "pid": os.getpid(),
            "command": self.command,
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Let the next writer in."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read(fd: int) -> dict[str, object]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {}
