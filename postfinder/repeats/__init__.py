"""Repeated questions: the answer cache, and what members keep asking."""
