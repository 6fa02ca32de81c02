"""Language modelling: predict each next token of a text, the tokens being characters,
words or byte-level BPE subwords (``data.tokenizer``: char, the default, word or bpe).

The model is an embedding, the recurrent stack and a linear layer to the vocabulary:

    e_t = E[x_t];  (y_t, s_t) = RNN(e_t, s_{t-1});  p(x_{t+1} | x_{<=t}) = softmax(W y_t + b)

optionally with the output layer tied to the embedding (W = E, see :class:`LanguageModel`).
It is trained with truncated backpropagation through time: the state at the end of one
batch starts the next (detached), so it carries information across windows while the
gradient stops at the window's start. Metrics: ``loss`` (mean negative log-likelihood
per token, nats), ``perplexity`` = exp(loss), ``tokens`` (how many were scored) and,
for characters only, ``bits_per_char`` = loss / ln 2.
"""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from ...config import DEFAULT_VALID_FRACTION, ModelConfig, RunConfig
from ...data.splits import split_tail
from ...data.streams import ResumableBatches, StreamBatches
from ...data.text import read_corpus
from ...data.tokenizers import fit_tokenizer, tokenizer_from_state
from ...errors import UsageError
from ..base import StackDropout, TaskModule, detach_state, recurrent_stack, settled
from ..registry import with_task_defaults


class LanguageModel(nn.Module):
    """Embedding -> recurrent stack -> vocabulary logits, for any tokenizer.

    With ``cfg.tie_embeddings`` the output layer's weight is the embedding matrix
    itself, W = E (the same Parameter; Press & Wolf 2017, Inan et al. 2017), which saves
    vocab_size x hidden_size parameters. E has ``embedding_size`` columns, so when
    hidden_size != embedding_size a linear projection P (hidden -> embedding, no bias)
    comes before the tied decoder, as AWD-LSTM makes its last layer the embedding's
    size::

        logits_t = E (P y_t) + b

    (P saves hidden_size x embedding_size of the vocab_size x hidden_size.) Untied,
    the parameters and their names are those of a plain embedding, recurrent stack and
    linear head.

    The regularisers of AWD-LSTM (Merity et al. 2018) come from the config: embedding
    dropout on E's rows, locked dropout on the stack's input and output
    (:class:`~rnnkit.tasks.base.StackDropout`), weight drop and locked dropout between
    layers in the layer (:func:`~rnnkit.tasks.base.recurrent_stack`).

    Args:
        cfg: the architecture (cell, sizes, layers, dropout, tie_embeddings, regularisers).
        vocab_size: number of token ids (the tokenizer's).

    Shape: ids (batch, time) int64 -> logits (batch, time, vocab_size), and the final
    recurrent state.

    Example::

        net = LanguageModel(ModelConfig(hidden_size=128, embedding_size=64, tie_embeddings=True), 5000)
        net.head.weight is net.embed.weight      # True
        logits, state = net(torch.randint(5000, (4, 35)))
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int):
        super().__init__()
        cfg = settled(cfg)
        if cfg.bidirectional:
            raise UsageError("lm: a language model reads left to right; expected bidirectional false, got true")
        self.embed = nn.Embedding(vocab_size, cfg.embedding_size)
        self.rnn = recurrent_stack(cfg, cfg.embedding_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.regs = StackDropout(cfg)     # embedding, locked input and output dropout
        if cfg.tie_embeddings:
            self.proj = (nn.Linear(cfg.hidden_size, cfg.embedding_size, bias=False)
                         if cfg.hidden_size != cfg.embedding_size else nn.Identity())
            self.head = nn.Linear(cfg.embedding_size, vocab_size)
            self.head.weight = self.embed.weight      # (vocab, E): one Parameter, two uses
        else:
            self.proj = nn.Identity()
            self.head = nn.Linear(cfg.hidden_size, vocab_size)

    def logits(self, y: Tensor) -> Tensor:
        """Vocabulary logits of recurrent outputs: (..., hidden) -> (..., vocab_size)."""
        return self.head(self.proj(y))

    def forward(self, ids: Tensor, state=None):
        e = self.regs.inputs(self.drop(self.regs.embed(self.embed, ids)))   # (B, T, E)
        y, state = self.rnn(e, state)                 # (B, T, H)
        return self.logits(self.drop(self.regs.outputs(y))), state          # (B, T, V)


CharLM = LanguageModel  # the name of earlier releases (a character model is one use of it)


def metrics_from_nll(nll_sum: float, count: int, bits_per_char: bool = True) -> dict:
    """``loss`` (nats per token), ``perplexity``, ``tokens`` and, when the tokens are
    characters (``bits_per_char``), ``bits_per_char``."""
    loss = nll_sum / max(count, 1)
    out = {"loss": loss}
    if bits_per_char:
        out["bits_per_char"] = loss / math.log(2)
    out.update(perplexity=math.exp(min(loss, 700.0)), tokens=int(count))
    return out


class LMTask(TaskModule):
    """The LightningModule of ``rnnkit train lm``."""

    def __init__(self, config: dict, preprocessing: dict):
        super().__init__(config, preprocessing)
        self.cfg = with_task_defaults(self.cfg, "text")
        self.tokenizer = tokenizer_from_state(preprocessing["tokenizer"])
        self.net = LanguageModel(self.cfg.model, self.tokenizer.vocab_size)
        self.per_char = self.tokenizer.kind == "char"   # bits_per_char only means something then
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
        super().on_save_checkpoint(checkpoint)
        loop = self.trainer.fit_loop.epoch_loop.batch_progress.current
        if self._train_state is None or loop.processed >= self.trainer.num_training_batches:
            return
        states = self._train_state if isinstance(self._train_state, tuple) else (self._train_state,)
        # (world, layers * D, B, H) each: all processes' states, in rank order
        gathered = [self.all_gather(s).reshape(-1, *s.shape).cpu() for s in states]
        checkpoint["lm_carried_state"] = gathered

    def on_load_checkpoint(self, checkpoint):
        super().on_load_checkpoint(checkpoint)
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
        self.log_train_loss(loss, count)
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
        m = metrics_from_nll(float(sums[0]), int(sums[1]), self.per_char)
        self.log("val_loss", m["loss"], prog_bar=True)
        if self.per_char:
            self.log("val_bits_per_char", m["bits_per_char"])
        self.log("val_perplexity", m["perplexity"])


# ---- data -------------------------------------------------------------------------------
class LMData(L.LightningDataModule):
    """Text read, tokenizer fitted and the stream split, all in the constructor (so bad
    data fails before anything is written); per-process batches in :meth:`setup`.

    Without ``data.valid`` the last ``valid_fraction`` of the text is held out. The word and
    BPE tokenizers are fitted on the rest only (the held-out part is cut at a line
    break, so no word is cut in two), so validation meets unseen words as new text
    would; the character tokenizer is fitted on all of ``data.data``, as in earlier
    releases. ``tokenizer_state`` (from a checkpoint) is used instead of fitting.
    ``memory`` (:class:`~rnnkit.data.memory.InMemory` of strings) gives the texts
    instead of the files of ``data``."""

    def __init__(self, cfg: RunConfig, tokenizer_state: dict | None = None, memory=None):
        super().__init__()
        self.cfg = cfg = with_task_defaults(cfg, "text")
        d = cfg.data
        self.batch_size, self.seq_length = cfg.train.batch_size, d.seq_length
        if d.seq_length < 1:
            raise UsageError(f"data.seq_length: expected a positive integer, got {d.seq_length}")
        kind = d.tokenizer or "char"
        if memory is not None:
            text, self.files = memory.train, []
            text = text if d.max_chars is None else text[:d.max_chars]
        else:
            text, self.files = read_corpus(d.data, "data.data", d.max_chars)
        if memory is not None and memory.valid is not None:
            valid_text, self.valid_files, train_text = memory.valid, [], text
        elif memory is None and d.valid:
            valid_text, self.valid_files = read_corpus(d.valid, "data.valid")
            train_text = text
        else:
            self.valid_files = []
            fraction = DEFAULT_VALID_FRACTION if d.valid_fraction is None else d.valid_fraction
            train_text, valid_text = split_tail(text, fraction, at_line=kind != "char")
        if tokenizer_state is not None:
            self.tokenizer = tokenizer_from_state(tokenizer_state)
        else:
            self.tokenizer = fit_tokenizer(kind, text if kind == "char" else train_text, d)
        self.train_ids, self.valid_ids = self.tokenizer.encode(train_text), self.tokenizer.encode(valid_text)
        self.test_ids = None
        test_text = memory.test if memory is not None else (read_corpus(d.test, "data.test")[0] if d.test else None)
        if test_text is not None:
            self.test_ids = self.tokenizer.encode(test_text)
        self.world_size, self.rank = 1, 0
        # Fail now, not in a worker process, if the data cannot fill one batch.
        StreamBatches(self.train_ids, self.batch_size, self.seq_length, what="data.data")
        StreamBatches(self.valid_ids, self.batch_size, self.seq_length, what="validation data")

    def preprocessing(self) -> dict:
        return {"tokenizer": self.tokenizer.state_dict(), "data": {
            "files": len(self.files), "first_files": self.files[:3], "tokenizer": self.tokenizer.kind,
            "train_tokens": len(self.train_ids), "valid_tokens": len(self.valid_ids),
            "vocab_size": self.tokenizer.vocab_size}}

    def setup(self, stage=None):
        if self.trainer is not None:
            self.world_size, self.rank = self.trainer.world_size, self.trainer.global_rank

    def _loader(self, ids, what):
        ds = StreamBatches(ids, self.batch_size, self.seq_length, self.rank, self.world_size, what)
        # One item is a whole batch, in order: no sampler, no shuffling (the state carries).
        return DataLoader(ds, batch_size=None, shuffle=False)

    def train_dataloader(self):
        ds = StreamBatches(self.train_ids, self.batch_size, self.seq_length, self.rank, self.world_size, "data.data")
        return ResumableBatches(ds, self._batches_trained)

    def _batches_trained(self) -> int:
        # at a checkpoint written after a batch, "processed" counts that batch
        return self.trainer.fit_loop.epoch_loop.batch_progress.current.processed

    def val_dataloader(self):
        return self._loader(self.valid_ids, "validation data")


@torch.no_grad()
def evaluate_ids(net: LanguageModel, ids: Tensor, batch_size: int, seq_length: int,
                 bits_per_char: bool = True) -> dict:
    """loss, perplexity, tokens (and bits_per_char, for characters) of ``net`` on the
    stream ``ids``, read in ``batch_size`` rows as in training (fewer rows when the
    stream is short)."""
    net.eval()
    rows = max(1, min(batch_size, (len(ids) - 1) // 2))
    if len(ids) < 3:
        raise UsageError(f"data.data: expected at least 3 tokens to evaluate, got {len(ids)}")
    ds = StreamBatches(ids, rows, seq_length)
    state, nll, count = None, 0.0, 0
    device = next(net.parameters()).device
    for x, y in ds:
        logits, state = net(x.to(device), state)
        nll += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.to(device).reshape(-1),
                                     reduction="sum"))
        count += y.numel()
    return metrics_from_nll(nll, count, bits_per_char)


@torch.no_grad()
def score_text(net: LanguageModel, tokenizer, text: str) -> dict:
    """Log-likelihood of one text read from its start (first token not scored): the
    metrics (``tokens``: the tokens scored), ``log_prob`` (nats), ``unknown`` (unknown
    tokens in the text) and ``text_tokens`` (tokens in the text)."""
    net.eval()
    per_char = tokenizer.kind == "char"
    device = next(net.parameters()).device
    ids = tokenizer.encode(text).to(device)
    if len(ids) < 2:
        nll, count = 0.0, 0
    else:
        logits, _ = net(ids[None, :-1])
        nll, count = float(F.cross_entropy(logits[0].float(), ids[1:], reduction="sum")), len(ids) - 1
    return {**metrics_from_nll(nll, count, per_char), "log_prob": -nll, "unknown": int((ids == 0).sum()),
            "text_tokens": len(ids)}


@torch.no_grad()
def generate(net: LanguageModel, tokenizer, prime: str = "", length: int = 200, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None) -> str:
    """Sample ``length`` tokens (characters, words or subwords) after ``prime``; returns
    the prime plus the sample, decoded by the tokenizer (words joined with spaces).

    temperature divides the logits (lower: safer); top_k keeps the k most likely
    tokens; top_p keeps the smallest set whose probability reaches p (nucleus
    sampling). The unknown token (id 0) is never sampled. ``seed`` makes it repeatable.
    Without a prime the sample starts as after a new line (a full stop for the word
    tokenizer, which keeps no line breaks).
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
    ids = tokenizer.encode(prime) if prime else tokenizer.encode("\n")
    if len(ids) == 0:                   # the word tokenizer has no token for a new line
        ids = tokenizer.encode(".")     # one token: "." or, if never seen, the unknown one
    prime_ids = ids.tolist() if prime else []
    ids = ids.to(device)
    logits, state = net(ids[None], None)
    last = logits[0, -1]
    out = []
    for _ in range(length):
        scores = last.float().cpu() / temperature
        scores[0] = -math.inf                                   # never the unknown token
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
    return prime + _continuation(tokenizer, prime_ids, out)


def _continuation(tokenizer, prime_ids: list[int], ids: list[int]) -> str:
    """The text ``ids`` add after ``prime_ids`` (for words, with the space between)."""
    head = tokenizer.decode(prime_ids)
    whole = tokenizer.decode(prime_ids + ids)
    return whole[len(head):] if whole.startswith(head) else tokenizer.decode(ids)
