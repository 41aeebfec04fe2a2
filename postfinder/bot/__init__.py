"""The Telegram bot: answers in discussion chats, indexes live posts, collects feedback."""
