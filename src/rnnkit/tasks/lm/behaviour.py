"""``lm``: language model on characters, words or BPE subwords (see :mod:`rnnkit.tasks.lm`)."""

from __future__ import annotations

from pathlib import Path

from ...data.text import read_corpus, read_text, resolve_paths
from ...errors import UsageError
from ...io.predictions import write_prediction_table
from .module import LMData, evaluate_ids, metrics_from_nll, score_text
from ..spec import TaskSpec

BASELINE = "baseline.npz"      # the n-gram baseline next to the run's checkpoints
#: the n-gram baseline's order: characters 7, words and subwords 3. Characters: test
#: bits/char of interpolated Kneser-Ney at orders 3-9 on the held-out text of
#: benchmarks/_quality_lm.py, stdlib 2.451 / 1.922 / 1.754 / 1.687 / 1.650 / 1.633 /
#: 1.615, fortunes 3.125 / 2.606 / 2.301 / 2.179 / 2.140 / 2.127 / 2.118: 7 has most of
#: the gain at half the counting of 9. Words and subwords: the trigram, the classical
#: word-level baseline (Chen and Goodman 1998); not measured here.
NGRAM_ORDER = {"char": 7, "word": 3, "bpe": 3}


def _ngram_ids(ids):
    return ids.cpu().numpy() if hasattr(ids, "cpu") else ids


def _ngram_scores(lm, ids, per_char: bool) -> dict:
    """The baseline's figures on a stream, as evaluate_ids reports the model's: every
    token after the first, nats per token."""
    lp = lm.log_prob(_ngram_ids(ids))
    return metrics_from_nll(float(-lp.sum()), len(lp), per_char)


def _train_head(data) -> int:
    """How many of the first training tokens the train figures score: as many as
    validation has, at least 100,000 when there are, so the two are measured alike."""
    return min(len(data.train_ids), max(len(data.valid_ids), 100_000))


class LMSpec(TaskSpec):
    name = "lm"
    verdict_metrics = ("loss",)
    higher_is_better = False

    def data(self, cfg, preprocessing=None, memory=None):
        return LMData(cfg, None if preprocessing is None else preprocessing["tokenizer"], memory)

    def final_metrics(self, module, data) -> dict:
        # The global batch: the rows every process read together, as in training.
        bs, L = data.batch_size * data.world_size, module.cfg.data.seq_length
        # train: the final weights on the start of the training text (_train_head)
        n = _train_head(data)
        per_char = module.per_char
        out = {"train": evaluate_ids(module.net, data.train_ids[:n], bs, L, per_char),
               "validation": evaluate_ids(module.net, data.valid_ids, bs, L, per_char)}
        if data.test_ids is not None:
            out["test"] = evaluate_ids(module.net, data.test_ids, bs, L, per_char)
        return out

    def reports(self, module, data, metrics, run) -> None:
        """The n-gram baseline (:class:`~rnnkit.baselines.NGramLM`, interpolated
        Kneser-Ney) fitted on the training tokens, saved as ``RUN/baseline.npz`` and
        scored on the same splits as the model (train: the same first tokens)."""
        import time

        from ...baselines.ngram import NGramLM

        start = time.perf_counter()
        tok, per_char = module.tokenizer, module.per_char
        lm = NGramLM(NGRAM_ORDER.get(tok.kind, 3)).fit(_ngram_ids(data.train_ids), tok.vocab_size)
        lm.save(run / BASELINE)
        figures = {"train": _ngram_scores(lm, data.train_ids[:_train_head(data)], per_char),
                   "validation": _ngram_scores(lm, data.valid_ids, per_char)}
        if data.test_ids is not None:
            figures["test"] = _ngram_scores(lm, data.test_ids, per_char)
        metrics["baseline"] = {"model": "ngram", "about": f"interpolated Kneser-Ney {lm.order}-gram",
                               "order": lm.order, "seconds": round(time.perf_counter() - start, 3), **figures}

    def baseline_suggestions(self, cfg, kind):
        # the recipe of the 5-minute character-LM study (README "Time to quality of a
        # character LM"): 0.468 / 0.150 bits per character better than the defaults
        return {"model.cell": "gru", "train.lr": 0.004}

    def evaluate(self, module, paths, baseline: bool = False) -> dict:
        text, _ = read_corpus(paths, "data.data")
        ids = module.tokenizer.encode(text)
        m = evaluate_ids(module.net, ids, module.cfg.train.batch_size, module.cfg.data.seq_length,
                         module.per_char)
        m["unknown_tokens"] = int((ids == 0).sum())
        if baseline:
            from ...baselines.ngram import NGramLM

            path = Path(module.run_dir) / BASELINE
            if not path.is_file():
                raise UsageError(f"--baseline: run directory {str(module.run_dir)!r} has no baseline "
                                 f"(expected {str(path)!r})")
            lm = NGramLM.load(path)
            m["baseline"] = {"model": "ngram", "order": lm.order, **_ngram_scores(lm, ids, module.per_char)}
        return m

    def predict(self, module, paths, out: Path) -> int:
        """One row per file: its length in characters and in tokens, how likely the
        model finds it (log-probability in nats, bits per character for a character
        model, perplexity per token) and how many of its tokens are unknown."""
        files = resolve_paths(paths, "data.data")
        texts = [(str(p), read_text(p, "data.data")) for p in files]
        per_char = module.per_char
        header = ["file", "characters", "tokens", "log_prob", *(["bits_per_char"] if per_char else []),
                  "perplexity", "unknown_tokens"]
        rows = []
        for name, text in texts:                   # every file scored before the file is opened
            m = score_text(module.net, module.tokenizer, text)
            rows.append([name, len(text), m["text_tokens"],
                         f"{m['log_prob']:.6f}", *([f"{m['bits_per_char']:.6f}"] if per_char else []),
                         f"{m['perplexity']:.6f}", m["unknown"]])
        return write_prediction_table(out, header, rows)

    def describe(self, module) -> list[str]:
        tok, cfg = module.tokenizer, module.cfg
        if tok.kind == "char":
            lines = [f"input: characters, vocabulary of {tok.vocab_size} (id 0 = unknown character)",
                     "output: the next character's distribution"]
        elif tok.kind == "word":
            limits = [f"seen at least {cfg.data.min_freq} times" if cfg.data.min_freq > 1 else "",
                      f"at most {cfg.data.max_vocab:,}" if cfg.data.max_vocab else ""]
            limits = ", ".join(x for x in limits if x)
            lines = [f"input: words and punctuation marks{', lowercased' if tok.lowercase else ''}, vocabulary of "
                     f"{tok.vocab_size:,}{f' ({limits})' if limits else ''} (id 0 = <unk>, every other word)",
                     "output: the next word's distribution"]
        else:
            lines = [f"input: byte-level BPE subwords{', lowercased' if tok.lowercase else ''}, vocabulary of "
                     f"{tok.vocab_size:,} (id 0 = <unk>, never needed: every byte has an id)",
                     "output: the next subword's distribution"]
        m = cfg.model
        if m.tie_embeddings:
            proj = (f" after a projection {m.hidden_size} -> {m.embedding_size}"
                    if m.hidden_size != m.embedding_size else "")
            lines.append(f"output layer tied to the input embedding (the same weights){proj}")
        return lines

    def generate(self, module, prime: str, length: int, temperature: float = 1.0, top_k=None, top_p=None,
                 seed=None) -> str:
        from .module import generate

        return generate(module.net, module.tokenizer, prime, length, temperature, top_k, top_p, seed)

    # ---- streaming: text or ids -> logits (n, vocab) of the token after each step ----
    def stream_output(self, module, y, n: int):
        return y[:n].float().cpu()                                              # (n, vocab) logits

    def stream_empty(self, module):
        import torch

        return torch.zeros(0, module.tokenizer.vocab_size)

    # ---- export: ids, lengths, h[, c] -> logits, h_out[, c_out] -----------------------
    def graph(self, module):
        import torch

        from ...export.graphs import GraphSpec, LMGraph, example_inputs

        ex = example_inputs(module)
        ids = torch.zeros(ex.B, ex.T, dtype=torch.int64)
        return GraphSpec(LMGraph(module.net), (ids, ex.lengths, *ex.states), ["ids", "lengths", *ex.state_names],
                         ["logits", *ex.out_state_names], [{0: "batch", 1: "time"}, {0: "batch"}, *ex.dyn_state],
                         True)

    def export_json(self, module, cfg, tokenizer_file):
        from ...export.describe import tokenizer_json

        return {"tokenizer": tokenizer_json(module.tokenizer, tokenizer_file),
                "vocab_size": module.tokenizer.vocab_size,
                "output": "logits[b, t] are the unnormalised log-probabilities of the token after step t"}


LM = LMSpec()
