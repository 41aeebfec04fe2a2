"""Answering questions: refusal, prompting, grounding, extractive fallback, sanitising."""
