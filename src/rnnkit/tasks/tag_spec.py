"""``tag``: a tag per token (see :mod:`rnnkit.tasks.tag`). Metrics: token
``accuracy``, and for BIO / BIOES tags the exact-match entity spans' ``precision``,
``recall`` and ``f1`` (micro-averaged, as conlleval computes them)."""

from __future__ import annotations

import io
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data.conll import read_conll, tag_scheme
from ..errors import UsageError
from ..metrics import span_f1, token_accuracy
from ..training.checkpoint_io import atomic_write_text
from .spec import TaskSpec
from .tag import TagData, TagTask


def scores(module: TagTask, tokens: list[list[str]], tags: list[list[str]], what: str) -> dict:
    """loss (mean negative log-likelihood per token), accuracy, and span precision,
    recall and f1 when the tags are BIO or BIOES."""
    index = {t: i for i, t in enumerate(module.tags)}
    for seq in tags:
        for t in seq:
            if t not in index:
                raise UsageError(f"{what}: tag {t!r} is not one of the model's tags ({', '.join(module.tags[:12])})")
    logits = module.tag_logits(tokens)
    flat = torch.cat(logits) if logits else torch.zeros(0, len(module.tags))
    target = torch.tensor([index[t] for seq in tags for t in seq], dtype=torch.int64)
    pred = [[module.tags[int(i)] for i in lg.argmax(-1)] for lg in logits]
    out = {"loss": float(F.cross_entropy(flat, target)) if len(target) else 0.0,
           "accuracy": token_accuracy(tags, pred)}
    if tag_scheme(module.tags) != "plain":
        s = span_f1(tags, pred)
        out.update(precision=s["precision"], recall=s["recall"], f1=s["f1"])
    out.update(sentences=len(tokens), tokens=int(len(target)))
    return out


class TagSpec(TaskSpec):
    name = "tag"
    module = TagTask
    curves = [("loss", ["train_loss_step", "train_loss_epoch", "val_loss"]), ("accuracy", ["val_accuracy"])]

    def data(self, cfg, preprocessing=None):
        return TagData(cfg, preprocessing)

    def final_metrics(self, module, data) -> dict:
        splits = {"train": data.train_sents, "validation": data.valid_sents}
        if data.test_sents is not None:
            splits["test"] = data.test_sents
        return {name: scores(module, s.tokens, s.tags, name) for name, s in splits.items()}

    def evaluate(self, module, paths) -> dict:
        data = read_conll(paths, "--data")
        return scores(module, data.tokens, data.tags, "--data")

    def predict(self, module, paths, out: Path) -> int:
        """The input's tokens, one per line with the predicted tag after a tab (and the
        given tag before it when the input has tags); a blank line after each sentence."""
        data = read_conll(paths, "--data", tags_required=False)
        pred = module.predict_tags(data.tokens)
        buf = io.StringIO()
        for i, (tokens, tags) in enumerate(zip(data.tokens, pred)):
            given = data.tags[i] if data.tags is not None else None
            for j, (token, tag) in enumerate(zip(tokens, tags)):
                buf.write(f"{token}\t{given[j]}\t{tag}\n" if given is not None else f"{token}\t{tag}\n")
            buf.write("\n")
        atomic_write_text(out, buf.getvalue())
        return sum(len(t) for t in data.tokens)

    def describe(self, module) -> list[str]:
        tok = module.tokenizer
        shown = ", ".join(module.tags[:10]) + (", ..." if len(module.tags) > 10 else "")
        return [f"input: word tokens, vocabulary of {tok.vocab_size} (id 0 = unknown)",
                f"output: one of {len(module.tags)} tags per token ({shown}); scheme {tag_scheme(module.tags)}"]


TAG = TagSpec()
