"""kill -9 at random moments of index, forget-post, member forget and the live bot.

Each scenario of scripts/kill_harness.py runs on its own: a failure names it, and every
one runs on every CI run. The moment of each kill is random; which second writer the
``concurrent`` scenario starts is not (trial n starts writer n % 4), so its four trials
cover all of them: index, forget-post and repair must get the lock error, an index while
the bot serves must be handed to the bot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRIALS = {"index": 2, "forget": 2, "member": 2, "live": 2, "concurrent": 4}


@pytest.mark.parametrize("scenario", TRIALS)
def test_killed_writers_leave_consistent_stores_after_a_rerun(
    tmp_path: Path, scenario: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTFINDER_")}
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "kill_harness.py"),
            *("--scenarios", scenario),
            *("--trials", str(TRIALS[scenario])),
            *("--posts", "150"),
            *("--seed", "7"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    (summary,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (summary["scenario"], summary["trials"]) == (scenario, TRIALS[scenario])
    if scenario == "concurrent":
        writers = {"index": 1, "forget-post": 1, "repair": 1, "index-while-serve": 1}
        assert summary["second_writer"] == writers
    else:
        assert summary["killed"] >= 1, summary  # at least one run was cut short
    assert (summary["inconsistent"], summary["problems"]) == (0, []), summary
    assert result.returncode == 0, result.stderr[-2000:]
