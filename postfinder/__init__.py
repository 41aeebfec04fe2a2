"""PostFinder: answer questions in a Telegram channel's chat from the channel's own posts."""

__version__ = "0.1.0"
