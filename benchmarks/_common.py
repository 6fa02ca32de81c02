"""What the benchmark scripts share: the git state recorded with each result, and
writing the JSON results atomically."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from rnnkit.training.checkpoint_io import atomic_write_text

HERE = Path(__file__).resolve().parent


def git_state() -> dict:
    """The commit and whether src/ has uncommitted changes (others edit it meanwhile)."""
    def git(*cmd):
        return subprocess.run(["git", *cmd], check=False, cwd=HERE, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD") or None,
                "src_dirty": bool(git("status", "--porcelain", "--", "../src"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "src_dirty": None}


def write_json(path: Path, data: dict) -> None:
    """Write atomically (temp file, then rename), as the run directory's files are."""
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
