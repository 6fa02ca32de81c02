"""``lm``: character-level language model (see :mod:`rnnkit.tasks.lm`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..data.text import read_corpus, read_text, resolve_paths
from ..training.checkpoint_io import atomic_write_text
from .lm import LMData, LMTask, evaluate_ids, score_text
from .spec import TaskSpec


class LMSpec(TaskSpec):
    name = "lm"
    module = LMTask
    curves = [("loss", ["train_loss_step", "train_loss_epoch", "val_loss"]),
              ("bits_per_char", ["val_bits_per_char"])]

    def data(self, cfg, preprocessing=None):
        return LMData(cfg, None if preprocessing is None else preprocessing["tokenizer"])

    def final_metrics(self, module, data) -> dict:
        # The global batch: the rows every process read together, as in training.
        bs, L = data.batch_size * data.world_size, module.cfg.data.seq_length
        # train: the final weights on the start of the training text, as many
        # characters as validation has (at least 100,000 when there are), so the two
        # figures are measured alike.
        n = min(len(data.train_ids), max(len(data.valid_ids), 100_000))
        out = {"train": evaluate_ids(module.net, data.train_ids[:n], bs, L),
               "validation": evaluate_ids(module.net, data.valid_ids, bs, L)}
        if data.test_ids is not None:
            out["test"] = evaluate_ids(module.net, data.test_ids, bs, L)
        return out

    def evaluate(self, module, paths) -> dict:
        text, _ = read_corpus(paths, "--data")
        ids = module.tokenizer.encode(text)
        m = evaluate_ids(module.net, ids, module.cfg.train.batch_size, module.cfg.data.seq_length)
        m["unknown_characters"] = int((ids == 0).sum())
        return m

    def predict(self, module, paths, out: Path) -> int:
        """One row per file: how likely the model finds it (log-probability in nats,
        bits per character, perplexity) and how many characters it had never seen."""
        files = resolve_paths(paths, "--data")
        texts = [(str(p), read_text(p, "--data")) for p in files]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["file", "characters", "log_prob", "bits_per_char", "perplexity", "unknown_characters"])
        for name, text in texts:
            m = score_text(module.net, module.tokenizer, text)
            w.writerow([name, len(text), f"{m['log_prob']:.6f}", f"{m['bits_per_char']:.6f}",
                        f"{m['perplexity']:.6f}", m["unknown"]])
        atomic_write_text(out, buf.getvalue())
        return len(texts)

    def describe(self, module) -> list[str]:
        tok = module.tokenizer
        return [f"input: characters, vocabulary of {tok.vocab_size} (id 0 = unknown character)",
                "output: the next character's distribution"]


LM = LMSpec()
