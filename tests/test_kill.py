"""kill -9 at random moments of index, forget-post, member forget and the live bot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_killed_writers_leave_consistent_stores_after_a_rerun(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTFINDER_")}
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "kill_harness.py"),
            "--trials",
            "2",
            "--posts",
            "150",
            "--seed",
            "7",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summaries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["scenario"] for s in summaries] == ["index", "forget", "member", "live", "concurrent"]
    assert all(s.get("killed", 1) >= 1 for s in summaries), summaries
    assert [s["problems"] for s in summaries] == [[], [], [], [], []]
    assert result.returncode == 0, result.stderr[-2000:]
