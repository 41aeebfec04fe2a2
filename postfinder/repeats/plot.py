"""The weekly chart of questions, repeats and answered share (matplotlib, optional)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from postfinder.errors import ConfigError


def plot_weeks(weeks: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Draw the repeats report's weeks into a PNG file.

    Bars: questions per week, and of them the repeats; lines (right axis): the share
    answered and the share with more 👍 than 👎 ("positive feedback").

    Raises
    ------
    ConfigError
        If matplotlib is not installed, there are no weeks to draw, or ``path`` cannot
        be written.
    """
    if not weeks:
        raise ConfigError("No questions in the period: there is nothing to draw yet.")
    if path.suffix.lower() != ".png":
        raise ConfigError(f"{path} should end in .png: the chart is a PNG image.")
    if not path.parent.is_dir():
        raise ConfigError(f"Folder {path.parent} does not exist; create it or choose another.")
    try:
        # The object API, not pyplot: no global figure state, no display needed.
        from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise ConfigError(
            "The chart needs matplotlib: pip install 'postfinder[plot]' (or matplotlib)."
        ) from exc
    labels = [w["week"][5:] for w in weeks]  # "11-23": the Monday of each week
    x = list(range(len(weeks)))
    figure = Figure(figsize=(max(6.0, 0.6 * len(weeks) + 3), 4.0), dpi=120)
    axes = figure.add_subplot()
    axes.bar(x, [w["questions"] for w in weeks], color="#9ecae1", label="questions")
    axes.bar(x, [w["repeats"] for w in weeks], color="#3182bd", label="repeats of earlier ones")
    axes.set_ylabel("questions per week")
    axes.set_xticks(x, labels, rotation=45 if len(weeks) > 8 else 0)
    shares = axes.twinx()
    shares.plot(
        x, [100 * w["answered_share"] for w in weeks], "o-", color="#e6550d", label="answered, %"
    )
    shares.plot(
        x,
        [100 * w["positive_share"] for w in weeks],
        "s--",
        color="#31a354",
        label="positive feedback, %",
    )
    shares.set_ylim(0, 105)
    shares.set_ylabel("% of the week's questions")
    handles = axes.get_legend_handles_labels()[0] + shares.get_legend_handles_labels()[0]
    figure.legend(handles=handles, loc="upper center", ncol=4, fontsize="small", frameon=False)
    axes.set_title(title or "What members ask, week by week (week of Monday)", pad=24)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as exc:
        raise ConfigError(f"Cannot write the chart to {path}: {exc}") from exc
