"""Errors that PostFinder raises for conditions a user can fix.

Every message says what went wrong and what to do about it; the CLI and the bot
print the message without a traceback.
"""


class PostfinderError(Exception):
    """Base class for errors whose message is meant for the user."""


class ConfigError(PostfinderError):
    """The settings are invalid or point at something that does not exist."""


class ExportError(PostfinderError):
    """A Telegram export is missing, malformed or ambiguous."""


class ChannelNotFoundError(PostfinderError):
    """The requested channel is not indexed."""


class EmbedderMismatchError(PostfinderError):
    """An index was built with another embedder than the one configured."""


class ModelError(PostfinderError):
    """A model file or package is missing, corrupt or unusable."""


class StoreError(PostfinderError):
    """The vector store or the document store cannot be opened or written."""
