"""The flow of a question, below every front end (Telegram today, others tomorrow)."""
