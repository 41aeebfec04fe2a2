"""The configuration reference table, generated from the settings model so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

from postfinder.settings import Settings

BEGIN = "<!-- config-table:begin -->"
END = "<!-- config-table:end -->"


def _rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _rows(annotation, f"{prefix}{name.upper()}__")
            continue
        if name in ("data_dir", "models_dir"):
            default: Any = "user data dir" if name == "data_dir" else "models/ of the checkout"
        else:
            default = field.get_default(call_default_factory=True)
        if isinstance(default, SecretStr) or "token" in name or "secret" in name:
            default = "(secret)" if default else ""
        shown = "" if default is None else str(default).replace("|", "\\|")
        yield f"`{prefix}{name.upper()}`", f"`{shown}`" if shown else "", field.description or ""


def config_table() -> str:
    """Return the Markdown table of every setting: variable, default, meaning."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _rows(Settings, "POSTFINDER_")]
    return "\n".join(lines)


def replace_table(readme: str) -> str:
    """Return ``readme`` with the text between the markers replaced by the current table."""
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{config_table()}\n{END}{tail}"
