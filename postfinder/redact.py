"""Keep a front end's secret (its bot token) out of every log line."""

from __future__ import annotations

import logging
from collections.abc import Iterable


class RedactToken(logging.Filter):
    """Remove the bot token from every log record (HTTP libraries log request URLs)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the token in the message, its arguments and its traceback text."""
        if record.exc_info and not record.exc_text:
            # Exception texts carry request URLs too (a 502 or 400 names the path).
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = text.replace(self.token, "<token>")
        if self.token in str(record.msg):
            record.msg = str(record.msg).replace(self.token, "<token>")
        if record.args:
            record.args = tuple(
                str(a).replace(self.token, "<token>") if self.token in str(a) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        return True


def redact_everywhere(token: str, loggers: Iterable[str]) -> None:
    """Add a `RedactToken` filter to every root handler and to the named loggers."""
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    for name in loggers:
        logging.getLogger(name).addFilter(redact)
