#!/usr/bin/env python3
"""Regenerate the configuration table in README.md from the settings model."""

from pathlib import Path

from postfinder.config_doc import replace_table

README = Path(__file__).resolve().parent.parent / "README.md"

if __name__ == "__main__":
    README.write_text(replace_table(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {README}")
