"""Time to quality of a character language model: every cell, plain and regularised,
trained by ``rnnkit train lm`` for the same wall time on the same text, scored on
held-out text in bits per character.

    python benchmarks/_quality_lm.py                                  # 300 s per configuration
    python benchmarks/_quality_lm.py --max-time 60 --corpora stdlib --configs lstm,lstm+awd,gru
    python benchmarks/_quality_lm.py --cells lstm,gru --json /tmp/q.json
    python benchmarks/_quality_lm.py --ngram-orders 3,4,5,6,7,8,9     # the n-gram baseline alone, per order

Corpora (each split into training, validation and test text by whole files or whole
fortunes, deterministically):

* ``stdlib``: the ``.py`` files of the running interpreter's standard library (test
  suites, ``idlelib``, ``lib2to3`` and ``site-packages`` left out), sorted by path;
  file i goes to validation when i % 20 == 7, to test when i % 20 == 13, else to
  training; at most ``--train-chars`` / ``--held-out-chars`` characters of each;
* ``fortunes``: Debian's fortune cookies (``/usr/share/games/fortunes``, package
  ``fortunes``), split the same way fortune by fortune; skipped, with a note, when
  that folder is missing.

Configurations, for each cell of ``rnnkit.nn.registry.CELL_NAMES`` (``--cells``):

* ``lstm``: today's default model (``rnnkit train lm`` with no model flags);
* ``lstm+awd``: the AWD-LSTM regularisers at AWD-LSTM's character-level settings
  (Merity et al. 2018, salesforce/awd-lstm-lm README, Penn Treebank characters:
  ``--wdrop 0.5 --dropouti 0.1 --dropouth 0.25 --dropout 0.1 --dropoute 0``), i.e.
  ``--weight-drop 0.5 --input-dropout 0.1 --hidden-dropout 0.25 --output-dropout 0.1
  --embedding-dropout 0 --dropout 0``;
* ``CELL`` and ``CELL+locked`` for every other cell: plain, and with locked dropout on
  the stack's input and output and embedding dropout (``--input-dropout 0.1
  --output-dropout 0.1 --embedding-dropout 0.1 --dropout 0``: AWD's output rate, and its
  word-level embedding rate, its default ``dropoute``).

Every run: ``--max-time S --early-stopping-patience null --seed 0`` and the defaults
otherwise (2 layers of 256, sequences of 128, batches of 32, Adam 2e-3, cosine). Bits
per character are those ``rnnkit evaluate`` reports (``metrics.json``'s validation and
test figures, :func:`rnnkit.tasks.lm.evaluate_ids`: mean negative log-likelihood of
every character after the first, nats / ln 2), the same code for every configuration;
training characters per second = steps x batch x sequence length / training seconds
(validations included: the time every configuration had).

Prints a Markdown table and writes JSON (``--json``). ``run_quality(args)`` and
``quality_table(results)`` are what ``bench_recurrences.py --only quality`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

FORTUNES = Path("/usr/share/games/fortunes")
SKIP_PARTS = {"test", "tests", "idlelib", "lib2to3", "site-packages", "__pycache__"}
# AWD-LSTM, Penn Treebank characters (Merity et al. 2018; salesforce/awd-lstm-lm README)
AWD = ["--weight-drop", "0.5", "--input-dropout", "0.1", "--hidden-dropout", "0.25", "--output-dropout", "0.1",
       "--embedding-dropout", "0", "--dropout", "0"]
# locked and embedding dropout, for every cell (they live outside the layer)
LOCKED = ["--input-dropout", "0.1", "--output-dropout", "0.1", "--embedding-dropout", "0.1", "--dropout", "0"]


# ---- corpora ------------------------------------------------------------------------------
def _split(pieces: list[str], train_chars: int, held_chars: int, sep: str) -> dict[str, str]:
    """Piece i to validation when i % 20 == 7, to test when i % 20 == 13, else to
    training; each part cut to its size in whole pieces."""
    parts = {"train": [], "valid": [], "test": []}
    sizes = {"train": 0, "valid": 0, "test": 0}
    limit = {"train": train_chars, "valid": held_chars, "test": held_chars}
    for i, text in enumerate(pieces):
        part = "valid" if i % 20 == 7 else "test" if i % 20 == 13 else "train"
        if sizes[part] + len(text) <= limit[part] or not parts[part]:
            parts[part].append(text)
            sizes[part] += len(text) + len(sep)
    return {k: sep.join(v) for k, v in parts.items()}


def stdlib_pieces() -> list[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_PARTS]       # site-packages is never walked
        paths += [Path(folder) / f for f in files if f.endswith(".py") and not f.startswith("test_")]
    out = []
    for path in sorted(paths, key=lambda p: p.relative_to(root).parts):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if text.strip() and "\x00" not in text:
            out.append(text)
    return out


def fortune_pieces(folder: Path | None = None) -> list[str] | None:
    """Every fortune of the folder's text files (not the .dat / .u8 indexes; default
    :data:`FORTUNES`), or None when the folder is missing."""
    folder = FORTUNES if folder is None else folder
    if not folder.is_dir():
        return None
    out = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix in (".dat", ".u8") or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        out += [f.strip("\n") + "\n" for f in text.split("\n%\n") if f.strip()]
    return out or None


def write_corpus(name: str, folder: Path, train_chars: int, held_chars: int) -> dict | None:
    """train.txt, valid.txt, test.txt of corpus ``name`` under ``folder``; their sizes,
    or None when the corpus is not on this machine."""
    if name == "stdlib":
        pieces, sep = stdlib_pieces(), "\n"
    elif name == "fortunes":
        pieces, sep = fortune_pieces(), "%\n"
        if pieces is None:
            return None
    else:
        raise ValueError(f"--corpora: expected stdlib or fortunes, got {name!r}")
    parts = _split(pieces, train_chars, held_chars, sep)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for part, text in parts.items():
        (folder / f"{part}.txt").write_text(text, encoding="utf-8")
        sizes[f"{part}_chars"] = len(text)
    sizes["pieces"] = len(pieces)
    return sizes


# ---- configurations -----------------------------------------------------------------------
def configurations(cells) -> list[tuple[str, list[str]]]:
    """(name, flags) of every configuration, in table order."""
    out = []
    for cell in cells:
        if cell == "lstm":
            out += [("lstm", []), ("lstm+awd", AWD)]
        else:
            out += [(cell, ["--cell", cell]), (f"{cell}+locked", ["--cell", cell, *LOCKED])]
    return out


def train_one(corpus: Path, run: Path, flags: list[str], max_time: float, threads: int | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    argv = [sys.executable, "-m", "rnnkit", "train", "lm", "--data", str(corpus / "train.txt"),
            "--valid", str(corpus / "valid.txt"), "--test", str(corpus / "test.txt"), "--out", str(run),
            "--max-time", str(max_time), "--early-stopping-patience", "null", "--seed", "0",
            "--no-progress-bar", "--accelerator", "cpu", *flags]
    start = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=max_time * 3 + 600)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"
        return {"error": last, "wall_seconds": round(wall, 1)}
    m = json.loads((run / "metrics.json").read_text())
    import yaml

    cfg = yaml.safe_load((run / "config.yaml").read_text())
    chars = m["steps"] * cfg["train"]["batch_size"] * cfg["data"]["seq_length"]
    return {"valid_bpc": round(m["validation"]["bits_per_char"], 4),
            "test_bpc": round(m["test"]["bits_per_char"], 4),
            "train_bpc": round(m["train"]["bits_per_char"], 4),
            "steps": m["steps"], "train_seconds": m["seconds"],
            "chars_per_second": round(chars / max(m["seconds"], 1e-9), 1),
            "wall_seconds": round(wall, 1),
            **({"ngram_test_bpc": round(m["baseline"]["test"]["bits_per_char"], 4)} if "baseline" in m else {})}


def ngram_orders(args) -> dict:
    """Test and validation bits per character of the n-gram baseline
    (:class:`rnnkit.baselines.NGramLM`) at each order of ``--ngram-orders``, on the
    corpora's splits and a character tokenizer fitted on the training text, as a run's."""
    import numpy as np

    from rnnkit.baselines import NGramLM
    from rnnkit.data.tokenizers import CharTokenizer

    orders = [int(v) for v in args.ngram_orders.split(",") if v]
    work = Path(args.runs) if args.runs else Path(tempfile.mkdtemp(prefix="quality_lm_"))
    out = {}
    for corpus in [c for c in args.corpora.split(",") if c]:
        folder = work / corpus / "text"
        if write_corpus(corpus, folder, args.train_chars, args.held_out_chars) is None:
            continue
        text = {part: (folder / f"{part}.txt").read_text(encoding="utf-8") for part in ("train", "valid", "test")}
        tok = CharTokenizer.fit(text["train"])
        ids = {part: tok.encode(t).numpy() for part, t in text.items()}
        rows = {}
        for n in orders:
            start = time.perf_counter()
            lm = NGramLM(n).fit(ids["train"], tok.vocab_size)
            bpc = {part: float(-lm.log_prob(ids[part]).mean() / np.log(2)) for part in ("valid", "test")}
            rows[n] = {"order": lm.order, "valid_bpc": round(bpc["valid"], 4), "test_bpc": round(bpc["test"], 4),
                       "seconds": round(time.perf_counter() - start, 2)}
            print(f"  {corpus} n={n}: {rows[n]}", file=sys.stderr, flush=True)
        out[corpus] = rows
    return out


def run_quality(args) -> dict:
    """Train and score every configuration on every corpus; the results as a dict."""
    from rnnkit.nn.registry import CELL_NAMES

    cells = [c for c in (args.cells.split(",") if args.cells else CELL_NAMES) if c]
    unknown = [c for c in cells if c not in CELL_NAMES]
    if unknown:
        raise SystemExit(f"--cells: expected names from {', '.join(CELL_NAMES)}, got {', '.join(unknown)}")
    configs = configurations(cells)
    if args.configs:
        wanted = [c for c in args.configs.split(",") if c]
        names = [n for n, _ in configs]
        missing = [c for c in wanted if c not in names]
        if missing:
            raise SystemExit(f"--configs: expected names from {', '.join(names)}, got {', '.join(missing)}")
        configs = [(n, f) for n, f in configs if n in wanted]
    results = {"max_time": args.max_time, "python": sys.version.split()[0], "corpora": {}, "notes": []}
    work = Path(args.runs) if args.runs else Path(tempfile.mkdtemp(prefix="quality_lm_"))
    for corpus in [c for c in args.corpora.split(",") if c]:
        folder = work / corpus
        sizes = write_corpus(corpus, folder / "text", args.train_chars, args.held_out_chars)
        if sizes is None:
            note = (f"{corpus}: skipped, {FORTUNES} is missing (Debian/Ubuntu: apt-get install fortunes)")
            print(note, file=sys.stderr)
            results["notes"].append(note)
            continue
        print(f"{corpus}: {sizes}", file=sys.stderr)
        rows = {}
        for name, flags in configs:
            print(f"  {name} ({args.max_time:g} s) ...", file=sys.stderr, flush=True)
            rows[name] = {"flags": " ".join(flags), **train_one(folder / "text", folder / name, flags,
                                                                 args.max_time, args.threads)}
            print(f"  {name}: {rows[name]}", file=sys.stderr, flush=True)
        results["corpora"][corpus] = {"sizes": sizes, "runs": rows}
    return results


def quality_table(results: dict) -> str:
    """A Markdown table per corpus: bits per character (validation, test) and training
    characters per second, and each configuration's test gain over the default LSTM."""
    lines = [f"Character LM, {results['max_time']:g} s of training per configuration "
             f"(Python {results.get('python', '?')} stdlib / fortunes held-out text):", ""]
    for corpus, block in results["corpora"].items():
        runs = block["runs"]
        base = runs.get("lstm", {}).get("test_bpc")
        s = block["sizes"]
        ngram = next((r["ngram_test_bpc"] for r in runs.values() if "ngram_test_bpc" in r), None)
        lines += [f"**{corpus}** (train {s['train_chars']:,} / valid {s['valid_chars']:,} / test {s['test_chars']:,} chars"
                  + (f"; the runs' n-gram baseline: test {ngram:.3f} bpc" if ngram is not None else "") + ")",
                  "", "| configuration | valid bpc | test bpc | vs default LSTM (test) | train chars/s | steps |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, r in runs.items():
            if "error" in r:
                lines.append(f"| {name} | error: {r['error']} | | | | |")
                continue
            gain = f"{base - r['test_bpc']:+.3f}" if base is not None else "n/a"
            lines.append(f"| {name} | {r['valid_bpc']:.3f} | {r['test_bpc']:.3f} | {gain} | "
                         f"{r['chars_per_second']:,.0f} | {r['steps']} |")
        lines.append("")
    lines += results.get("notes", [])
    return "\n".join(lines).rstrip() + "\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-time", type=float, default=300.0, help="seconds of training per configuration (300)")
    p.add_argument("--cells", default=None, help="comma-separated cells (default: every cell of the registry)")
    p.add_argument("--configs", default=None, help="only these configurations, e.g. lstm,lstm+awd,gru")
    p.add_argument("--corpora", default="stdlib,fortunes", help="stdlib, fortunes or both (default)")
    p.add_argument("--train-chars", type=int, default=3_000_000, help="training characters at most (3,000,000)")
    p.add_argument("--held-out-chars", type=int, default=100_000,
                   help="validation and test characters at most, each (100,000)")
    p.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of the runs (default: inherited)")
    p.add_argument("--runs", default=None, help="folder for the corpora and run directories (default: a temporary one)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--ngram-orders", default=None,
                   help="instead of training: the n-gram baseline at these orders, e.g. 3,4,5,6,7,8,9")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.max_time <= 0:
        raise SystemExit(f"--max-time: expected a positive number of seconds, got {args.max_time:g}")
    if args.ngram_orders:
        table = ngram_orders(args)
        orders = sorted({n for rows in table.values() for n in rows})
        print("| corpus | " + " | ".join(f"n={n}" for n in orders) + " |")
        print("|---|" + "---:|" * len(orders))
        for corpus, rows in table.items():
            print(f"| {corpus} test bpc | " + " | ".join(f"{rows[n]['test_bpc']:.3f}" for n in orders) + " |")
            print(f"| {corpus} seconds | " + " | ".join(f"{rows[n]['seconds']:.1f}" for n in orders) + " |")
        results = {"ngram_orders": table}
    else:
        results = run_quality(args)
        print(quality_table(results))
    if args.json:
        sys.path.insert(0, str(HERE))
        from _common import git_state, write_json

        write_json(Path(args.json), {**results, **git_state()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
