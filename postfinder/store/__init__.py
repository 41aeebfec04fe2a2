"""Persistent state of indexed channels: posts (SQLite) and vectors (ChromaDB)."""
