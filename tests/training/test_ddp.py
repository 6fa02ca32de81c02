"""Scale-out: two CPU processes (DDP over gloo) train the same model as one process
with the same global batch."""

import json
import subprocess
import sys

import pytest
import torch

from rnnkit.cli import main
from tests.conftest import TINY


def _flags(batch):
    flags = list(TINY)
    flags[flags.index("--batch-size") + 1] = str(batch)
    return flags + ["--dropout", "0", "--cell", "gru"]


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, corpus):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["train", "lm", "--data", str(corpus), "--out", str(one), *_flags(8)]) == 0
    proc = subprocess.run([sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(corpus), "--out", str(two),
                           *_flags(4), "--devices", "2", "--strategy", "ddp"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m1, m2 = (json.loads((run / "metrics.json").read_text()) for run in (one, two))
    assert m2["steps"] == m1["steps"] and m2["epochs"] == m1["epochs"]
    for split in ("train", "validation"):
        for key in ("loss", "bits_per_char", "perplexity"):
            assert m2[split][key] == pytest.approx(m1[split][key], rel=1e-5), (split, key)
    assert m2["validation"]["tokens"] == m1["validation"]["tokens"]
    w1, w2 = (torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"] for run in (one, two))
    assert w1.keys() == w2.keys()
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-4, atol=1e-5)
