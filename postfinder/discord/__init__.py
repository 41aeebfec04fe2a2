"""The Discord front end (DiscordChatExporter exports are read by postfinder.ingest)."""
