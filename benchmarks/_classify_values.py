"""The study behind the series-classification defaults: rnnkit.Classifier on the UCR/UEA
sets of bench_quality, one configuration per call, a time budget per set, test accuracy
printed per set and on average.

    python benchmarks/_classify_values.py 40 patch64                     # the defaults
    python benchmarks/_classify_values.py 40 every-step patch=1          # every step read
    python benchmarks/_classify_values.py 40 gru cell='"gru"'            # any Classifier parameter (JSON)
    python benchmarks/_classify_values.py 40 p32 steps=32 sets=GunPoint,ACSF1   # patch ceil(median / 32)
    python benchmarks/_classify_values.py 40 no-stem-seed1 stem=0 seed=1          # another seed (default 0)

Results go to benchmarks/results/classify_values_40s/NAME.json (``--out`` another
folder). The figures and what they chose: benchmarks/README.md, "Series classification
defaults".
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SETS = ("ArrowHead", "BasicMotions", "Covid3Month_disc", "GunPoint", "ItalyPowerDemand", "JapaneseVowels",
        "OSULeaf", "PickupGestureWiimoteZ", "ACSF1")


def load(name: str, folder: Path):
    """(train sequences, train labels, test sequences, test labels), sequences (T, C)
    float32 with trailing missing steps cut."""
    from aeon.datasets import load_from_ts_file

    from rnnkit.datasets import export

    export(name, folder / name, overwrite=True)
    out = []
    for split in ("TRAIN", "TEST"):
        X, y = load_from_ts_file(str(folder / name / f"{name}_{split}.ts"))
        xs = [np.asarray(x, np.float32).T for x in X]                        # (T, C) each
        out += [[x[~np.isnan(x).any(1)] for x in xs], np.asarray(y)]
    return out


def run(seconds: float, params: dict, sets, steps: int | None, folder: Path) -> list[dict]:
    import rnnkit

    rows = []
    for name in sets:
        X, y, Xt, yt = load(name, folder)
        p = dict(params)
        if steps:
            p["patch"] = max(1, math.ceil(float(np.median([len(x) for x in X])) / steps))
        start = time.perf_counter()
        p.setdefault("seed", 0)
        clf = rnnkit.Classifier(max_time=seconds, progress_bar=False, **p).fit(X, y)
        acc = float((clf.predict(Xt) == yt).mean())
        m = clf.metrics_
        rows.append({"dataset": name, "accuracy": round(acc, 4), "patch": clf.module_.cfg.model.patch,
                     "steps": m.get("steps"), "train_seconds": m.get("seconds"),
                     "valid_accuracy": m.get("validation", {}).get("accuracy"),
                     "seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seconds", type=float, help="training time per set")
    ap.add_argument("name", help="the configuration's name (the JSON file's)")
    ap.add_argument("params", nargs="*", help="KEY=VALUE: Classifier parameters (JSON values), steps=N, sets=A,B")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "classify_values_40s")
    ap.add_argument("--data", type=Path, default=Path("/tmp/rnnkit-classify-values"))
    a = ap.parse_args(argv)
    params = {}
    for item in a.params:
        key, _, value = item.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    sets = str(params.pop("sets", ",".join(SETS))).split(",")
    steps = params.pop("steps", None)
    rows = run(a.seconds, params, sets, steps, a.data)
    mean = float(np.mean([r["accuracy"] for r in rows]))
    print(f"{a.name}: mean test accuracy {mean:.3f} over {len(rows)} sets")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / f"{a.name}.json").write_text(json.dumps({"seconds": a.seconds, "params": a.params, "rows": rows,
                                                      "mean": round(mean, 4)}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
