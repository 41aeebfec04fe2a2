"""Lexical search: tokenisation with Snowball stemming and a BM25 index."""
