"""Embedders: the protocol, its backends and the factory that picks one from settings."""
