"""Reading posts from Telegram Desktop exports."""
