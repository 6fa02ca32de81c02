"""Character-level language modelling: predict each next character of a text.

The model is an embedding, the recurrent stack and a linear layer to the vocabulary:

    e_t = E[c_t];  (y_t, s_t) = RNN(e_t, s_{t-1});  p(c_{t+1} | c_{<=t}) = softmax(W y_t + b)

It is trained with truncated backpropagation through time: the state at the end of one
batch starts the next (detached), so it carries information across windows while the
gradient stops at the window's start. Metrics: ``loss`` (mean negative log-likelihood
per character, nats), ``bits_per_char`` = loss / ln 2, ``perplexity`` = exp(loss).
"""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from ..config import ModelConfig, RunConfig
from ..data.streams import ResumableBatches, StreamBatches, split_tail
from ..data.text import read_corpus
from ..data.tokenizers import CharTokenizer, tokenizer_from_state
from ..errors import UsageError
from .base import TaskModule, detach_state, recurrent_stack


class CharLM(nn.Module):
    """Embedding -> recurrent stack -> vocabulary logits.

    Shape: ids (batch, time) int64 -> logits (batch, time, vocab_size).
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int):
        super().__init__()
        if cfg.bidirectional:
            raise UsageError("lm: a language model reads left to right; expected bidirectional false, got true")
        self.embed = nn.Embedding(vocab_size, cfg.embedding_size)
        self.rnn = recurrent_stack(cfg, cfg.embedding_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size, vocab_size)

    def forward(self, ids: Tensor, state=None):
        e = self.drop(self.embed(ids))          # (B, T, E)
        y, state = self.rnn(e, state)           # (B, T, H)
        return self.head(self.drop(y)), state   # (B, T, V)


def metrics_from_nll(nll_sum: float, count: int) -> dict:
    loss = nll_sum / max(count, 1)
    return {"loss": loss, "bits_per_char": loss / math.log(2), "perplexity": math.exp(min(loss, 700.0)),
            "characters": int(count)}


class LMTask(TaskModule):
    """The LightningModule of ``rnnkit train lm``."""

    def __init__(self, config: dict, preprocessing: dict):
        super().__init__(config, preprocessing)
        self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
        self.net = CharLM(self.cfg.model, self.tokenizer.vocab_size)
        self._train_state = None
        self._eval_state = None

    def forward(self, ids, state=None):
        return self.net(ids, state)

    def _nll(self, batch, state):
        x, y = batch
        logits, state = self.net(x, state)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1), reduction="sum")
        return nll, y.numel(), state

    # ---- training: the state carried from batch to batch within an epoch ------------
    def on_train_epoch_start(self):
        self._train_state = None

    def on_save_checkpoint(self, checkpoint):
        """Mid-epoch, the carried state of every process goes into the checkpoint, so
        that a resumed run continues exactly (every process writes its own slice)."""
        loop = self.trainer.fit_loop.epoch_loop.batch_progress.current
        if self._train_state is None or loop.processed >= self.trainer.num_training_batches:
            return
        states = self._train_state if isinstance(self._train_state, tuple) else (self._train_state,)
        # (world, layers * D, B, H) each: all processes' states, in rank order
        gathered = [self.all_gather(s).reshape(-1, *s.shape).cpu() for s in states]
        checkpoint["lm_carried_state"] = gathered

    def on_load_checkpoint(self, checkpoint):
        gathered = checkpoint.get("lm_carried_state")
        if gathered is None:
            return
        rank = self.trainer.global_rank if self._trainer is not None else 0
        states = tuple(g[rank].to(self.device) for g in gathered)
        # Resumed mid-epoch, Lightning does not call on_train_epoch_start again.
        self._train_state = states if len(states) == 2 else states[0]

    def training_step(self, batch, batch_idx):
        nll, count, state = self._nll(batch, self._train_state)
        self._train_state = detach_state(state)
        loss = nll / count
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=count,
                 sync_dist=True)
        return loss

    # ---- validation and test: sums reduced over processes ----------------------------
    def on_validation_epoch_start(self):
        self._eval_state = None
        self._sums = torch.zeros(2, dtype=torch.float64, device=self.device)

    def validation_step(self, batch, batch_idx):
        nll, count, self._eval_state = self._nll(batch, self._eval_state)
        self._sums += torch.stack([nll.detach().double(), torch.tensor(float(count), device=self.device,
                                                                        dtype=torch.float64)])

    def on_validation_epoch_end(self):
        sums = self.trainer.strategy.reduce(self._sums, reduce_op="sum")
        m = metrics_from_nll(float(sums[0]), int(sums[1]))
        self.log("val_loss", m["loss"], prog_bar=True)
        self.log("val_bits_per_char", m["bits_per_char"])
        self.log("val_perplexity", m["perplexity"])


# ---- data -------------------------------------------------------------------------------
class LMData(L.LightningDataModule):
    """Text read, tokenizer fitted and the stream split, all in the constructor (so bad
    data fails before anything is written); per-process batches in :meth:`setup`."""

    def __init__(self, cfg: RunConfig, tokenizer_state: dict | None = None):
        super().__init__()
        d = cfg.data
        self.batch_size, self.seq_length = cfg.train.batch_size, d.seq_length
        if d.seq_length < 1:
            raise UsageError(f"seq_length: expected a positive integer, got {d.seq_length}")
        text, self.files = read_corpus(d.data, "--data", d.max_chars)
        if tokenizer_state is None:
            self.tokenizer = CharTokenizer.fit(text)
        else:
            self.tokenizer = tokenizer_from_state(tokenizer_state)
        ids = self.tokenizer.encode(text)
        if d.valid:
            valid_text, self.valid_files = read_corpus(d.valid, "--valid")
            self.train_ids, self.valid_ids = ids, self.tokenizer.encode(valid_text)
        else:
            self.valid_files = []
            self.train_ids, self.valid_ids = split_tail(ids, d.valid_fraction)
        self.test_ids = None
        if d.test:
            test_text, _ = read_corpus(d.test, "--test")
            self.test_ids = self.tokenizer.encode(test_text)
        self.world_size, self.rank = 1, 0
        # Fail now, not in a worker process, if the data cannot fill one batch.
        StreamBatches(self.train_ids, self.batch_size, self.seq_length, what="--data")

    def preprocessing(self) -> dict:
        return {"tokenizer": self.tokenizer.state_dict(), "data": {
            "files": len(self.files), "first_files": self.files[:3], "train_characters": len(self.train_ids),
            "valid_characters": len(self.valid_ids), "vocab_size": self.tokenizer.vocab_size}}

    def setup(self, stage=None):
        if self.trainer is not None:
            self.world_size, self.rank = self.trainer.world_size, self.trainer.global_rank

    def _loader(self, ids, what):
        ds = StreamBatches(ids, self.batch_size, self.seq_length, self.rank, self.world_size, what)
        # One item is a whole batch, in order: no sampler, no shuffling (the state carries).
        return DataLoader(ds, batch_size=None, shuffle=False)

    def train_dataloader(self):
        ds = StreamBatches(self.train_ids, self.batch_size, self.seq_length, self.rank, self.world_size, "--data")
        return ResumableBatches(ds, self._batches_trained)

    def _batches_trained(self) -> int:
        # at a checkpoint written after a batch, "processed" counts that batch
        return self.trainer.fit_loop.epoch_loop.batch_progress.current.processed

    def val_dataloader(self):
        return self._loader(self.valid_ids, "validation data")


@torch.no_grad()
def evaluate_ids(net: CharLM, ids: Tensor, batch_size: int, seq_length: int) -> dict:
    """loss, bits_per_char, perplexity of ``net`` on the stream ``ids``, read in
    ``batch_size`` rows as in training (fewer rows when the stream is short)."""
    net.eval()
    rows = max(1, min(batch_size, (len(ids) - 1) // 2))
    if len(ids) < 3:
        raise UsageError(f"--data: expected at least 3 characters to evaluate, got {len(ids)}")
    ds = StreamBatches(ids, rows, seq_length)
    state, nll, count = None, 0.0, 0
    device = next(net.parameters()).device
    for x, y in ds:
        logits, state = net(x.to(device), state)
        nll += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.to(device).reshape(-1),
                                     reduction="sum"))
        count += y.numel()
    return metrics_from_nll(nll, count)


@torch.no_grad()
def score_text(net: CharLM, tokenizer, text: str) -> dict:
    """Log-likelihood of one text read from its start (first character not scored)."""
    net.eval()
    device = next(net.parameters()).device
    ids = tokenizer.encode(text).to(device)
    if len(ids) < 2:
        return {**metrics_from_nll(0.0, 0), "log_prob": 0.0, "unknown": int((ids == 0).sum())}
    logits, _ = net(ids[None, :-1])
    nll = float(F.cross_entropy(logits[0].float(), ids[1:], reduction="sum"))
    return {**metrics_from_nll(nll, len(ids) - 1), "log_prob": -nll, "unknown": int((ids == 0).sum())}


@torch.no_grad()
def generate(net: CharLM, tokenizer, prime: str = "", length: int = 200, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None) -> str:
    """Sample ``length`` characters after ``prime``; returns the prime plus the sample.

    temperature divides the logits (lower: safer); top_k keeps the k most likely
    characters; top_p keeps the smallest set whose probability reaches p (nucleus
    sampling). The unknown character is never sampled. ``seed`` makes it repeatable.
    """
    if temperature <= 0:
        raise UsageError(f"--temperature: expected a positive number, got {temperature}")
    if top_k is not None and top_k < 1:
        raise UsageError(f"--top-k: expected a positive integer, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise UsageError(f"--top-p: expected a number in (0, 1], got {top_p}")
    if length < 0:
        raise UsageError(f"--length: expected a non-negative integer, got {length}")
    net.eval()
    device = next(net.parameters()).device
    gen = torch.Generator(device="cpu")
    if seed is not None:
        gen.manual_seed(seed)
    else:
        gen.seed()
    start = prime if prime else "\n"
    ids = tokenizer.encode(start).to(device)
    logits, state = net(ids[None], None)
    last = logits[0, -1]
    out = []
    for _ in range(length):
        scores = last.float().cpu() / temperature
        scores[0] = -math.inf                                   # never the unknown character
        if top_k is not None and top_k < scores.numel():
            kth = torch.topk(scores, top_k).values[-1]
            scores[scores < kth] = -math.inf
        probs = torch.softmax(scores, dim=-1)
        if top_p is not None and top_p < 1.0:
            sorted_p, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_p, 0) - sorted_p < top_p  # the first one always kept
            mask = torch.zeros_like(probs, dtype=torch.bool)
            mask[order[keep]] = True
            probs = torch.where(mask, probs, torch.zeros_like(probs))
            probs = probs / probs.sum()
        nxt = int(torch.multinomial(probs, 1, generator=gen))
        out.append(nxt)
        logits, state = net(torch.tensor([[nxt]], device=device), state)
        last = logits[0, -1]
    return prime + tokenizer.decode(out)
