"""What every task's LightningModule shares: the recurrent stack built from a
:class:`~rnnkit.config.ModelConfig`, and the optimiser and learning-rate schedule from a
:class:`~rnnkit.config.TrainConfig` (models take architecture only)."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from ..config import ModelConfig, RunConfig
from ..errors import UsageError
from ..nn import init
from ..nn.regularise import embedding_dropout, locked_dropout
from ..nn.registry import CLASSIC, layer_class

# the cells whose layers take weight_drop, zoneout, layer_norm and a locked dropout
# between layers (rnnkit.nn.RNN, LSTM, GRU)
STEP_CELLS = CLASSIC
RATES = ("weight_drop", "input_dropout", "hidden_dropout", "output_dropout", "embedding_dropout",
         "zoneout")


def check_regularisers(cfg: ModelConfig) -> None:
    """Every rate in [0, 1); the step regularisers only on the cells that have them."""
    for key in RATES:
        value = getattr(cfg, key)
        if not 0.0 <= value < 1.0:
            raise UsageError(f"model.{key}: expected a rate in [0, 1), got {value}")
    for key in ("weight_drop", "hidden_dropout", "zoneout", "layer_norm"):
        if getattr(cfg, key) and cfg.cell not in STEP_CELLS:
            raise UsageError(f"model.{key}: expected cell {', '.join(STEP_CELLS)} (the layers that have it), "
                             f"got cell {cfg.cell}")


def settled(cfg: ModelConfig) -> ModelConfig:
    """``cfg`` with the fields left to a task (null, :data:`~rnnkit.tasks.declare.DATA_DEFAULTS`)
    set to the fallbacks: for a net built from a ModelConfig by hand. A run's config has
    them set already, by its task (:func:`rnnkit.tasks.registry.with_task_defaults`)."""
    import dataclasses

    from .declare import DATA_DEFAULTS

    missing = {key.split(".")[1]: value for key, value in DATA_DEFAULTS.items()
               if key.startswith("model.") and getattr(cfg, key.split(".")[1]) is None}
    if cfg.patch is None:           # chosen from the data by classify (values); else every step
        missing["patch"] = 1
    if cfg.stem is None:            # chosen by classify (values); else none
        missing["stem"] = 0
    return dataclasses.replace(cfg, **missing) if missing else cfg


def recurrent_stack(cfg: ModelConfig, input_size: int) -> nn.Module:
    """The rnnkit layer the config names, batch-first, with the initialisation it
    asks for (orthogonal or identity recurrent weights, a forget-gate bias) and the
    regularisers that live in the layer: ``weight_drop``, ``hidden_dropout`` (locked
    dropout between layers, in place of ``dropout`` there), ``zoneout``, ``layer_norm``
    (cells rnn, lstm, gru; :class:`rnnkit.nn.LSTM`).

    ``backend`` and ``recurrent_init`` concern the layers with a recurrent weight
    W_hh (rnn, lstm, gru); the parallel-scan layers (mingru, ...) have none."""
    cfg = settled(cfg)
    check_regularisers(cfg)
    if cfg.recurrent_init == "identity" and cfg.cell != "rnn":
        raise UsageError(f"model.recurrent_init: identity (IRNN) expected cell rnn, got cell {cfg.cell}")
    if cfg.forget_bias is not None and cfg.cell != "lstm":
        raise UsageError(f"model.forget_bias: expected cell lstm (the forget gate is an LSTM's), got cell {cfg.cell}")
    classic = cfg.cell in CLASSIC
    if not classic and cfg.recurrent_init != "default":
        raise UsageError(f"model.recurrent_init: {cfg.recurrent_init} initialises W_hh, which cell {cfg.cell} has not; "
                         f"expected default, got {cfg.recurrent_init}")
    if not classic and cfg.backend != "auto":
        raise UsageError(f"model.backend: {cfg.backend} applies to cells {', '.join(CLASSIC)}; expected auto for cell "
                         f"{cfg.cell}, got {cfg.backend}")
    kwargs = dict(input_size=input_size, hidden_size=cfg.hidden_size, num_layers=cfg.num_layers,
                  dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
                  bidirectional=bool(cfg.bidirectional), batch_first=True)
    if classic:
        kwargs["backend"] = cfg.backend
    if cfg.cell == "rnn":
        kwargs["nonlinearity"] = cfg.nonlinearity
    if cfg.cell in STEP_CELLS:
        extras = dict(weight_drop=cfg.weight_drop, zoneout=cfg.zoneout, layer_norm=cfg.layer_norm)
        if cfg.hidden_dropout > 0:
            extras["locked_dropout"] = True
            kwargs["dropout"] = cfg.hidden_dropout if cfg.num_layers > 1 else 0.0
        kwargs.update({k: v for k, v in extras.items() if v})   # nothing new when all off
    layer = layer_class(cfg.cell)(**kwargs)
    if cfg.recurrent_init == "orthogonal":
        init.orthogonal_recurrent_(layer)
    elif cfg.recurrent_init == "identity":
        init.identity_recurrent_(layer)
    if cfg.forget_bias is not None:
        init.forget_gate_bias_(layer, cfg.forget_bias)
    return layer


class StackDropout(nn.Module):
    """The dropouts that live outside the recurrent layer, for every cell (no
    parameters: a model's state_dict is the same with or without them):

    * ``embedding_dropout``: whole rows of the embedding dropped (a token dropped at
      every position of the batch) and the rest rescaled (Merity et al. 2018);
    * ``input_dropout`` / ``output_dropout``: locked (variational) dropout on the
      stack's input and output, one mask per sequence and feature shared over time
      (Gal & Ghahramani 2016).

    All are the identity in eval mode. ``has_embedding`` False (real-valued inputs)
    refuses an ``embedding_dropout``.
    """

    def __init__(self, cfg: ModelConfig, has_embedding: bool = True):
        super().__init__()
        cfg = settled(cfg)
        check_regularisers(cfg)
        if cfg.embedding_dropout and not has_embedding:
            raise UsageError(f"model.embedding_dropout: expected 0 for real-valued inputs (they have no embedding), "
                             f"got {cfg.embedding_dropout}")
        self.p_embed, self.p_in, self.p_out = cfg.embedding_dropout, cfg.input_dropout, cfg.output_dropout

    def embed(self, embedding: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        """``embedding(ids)`` with embedding dropout: (B, T) -> (B, T, E)."""
        return embedding_dropout(embedding, ids, self.p_embed, self.training)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Locked dropout on the stack's input (B, T, F)."""
        return locked_dropout(x, self.p_in, self.training)

    def outputs(self, y: torch.Tensor) -> torch.Tensor:
        """Locked dropout on the stack's output (B, T, F), or (B, F) per sequence."""
        return locked_dropout(y, self.p_out, self.training)

    def extra_repr(self) -> str:
        return f"embedding={self.p_embed}, input={self.p_in}, output={self.p_out}"


def detach_state(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class TaskModule(L.LightningModule):
    """Base of the task modules. Subclasses build ``self.net`` and the steps; the
    config (a plain dict) and any preprocessing state go into the checkpoint's
    ``hyper_parameters``, which is all :func:`rnnkit.training.load_run` needs."""

    def __init__(self, config: dict, preprocessing: dict):
        super().__init__()
        self.save_hyperparameters({"config": config, "preprocessing": preprocessing})
        self.cfg = RunConfig.from_dict(config, source="checkpoint")
        self._train_sums = None     # (loss * count, count) of this process's batches in this epoch

    # ---- the training loss in the log -------------------------------------------------
    def log_train_loss(self, loss: torch.Tensor, count) -> None:
        """Log a training batch's mean loss over ``count`` examples (or tokens):
        ``train_loss_step`` on the steps that write a log row (every
        ``log_every_n_steps``), ``train_loss_epoch`` at the end of the epoch, the mean
        over all the epoch's examples on every process.

        The sums stay on the device and ``self.log`` runs only when a row is written:
        one Lightning ``self.log`` call costs about 0.4 ms on a CPU (it moves its
        store of results to the device at every call), 3% of a small model's step, and
        a ``count`` read back from a GPU would wait for the step at every batch."""
        count = torch.as_tensor(count, dtype=torch.float64, device=loss.device)
        s = torch.stack([loss.detach().double() * count, count])
        self._train_sums = s if self._train_sums is None else self._train_sums.to(s.device) + s
        t = self.trainer
        if t.log_every_n_steps and (t.global_step + 1) % t.log_every_n_steps == 0:
            self.log("train_loss_step", loss.detach(), on_step=True, on_epoch=False, prog_bar=True, sync_dist=True)

    def _epoch_train_sums(self) -> torch.Tensor:
        """This epoch's (loss * count, count) summed over processes (a collective)."""
        s = self._train_sums if self._train_sums is not None else torch.zeros(2, dtype=torch.float64)
        return self.trainer.strategy.reduce(s.to(self.device), reduce_op="sum")

    def on_train_epoch_end(self):
        s = self._epoch_train_sums()
        self._train_sums = None
        if float(s[1]) > 0:
            self.log("train_loss_epoch", float(s[0] / s[1]), prog_bar=True)

    def on_save_checkpoint(self, checkpoint):
        """A checkpoint written mid-epoch keeps the epoch's loss sums so far, so that a
        resumed run logs the same epoch mean as one never interrupted."""
        checkpoint["rnnkit_train_loss_sums"] = self._epoch_train_sums().cpu()

    def on_load_checkpoint(self, checkpoint):
        s = checkpoint.get("rnnkit_train_loss_sums")
        rank = self.trainer.global_rank if self._trainer is not None else 0
        self._train_sums = s if s is not None and rank == 0 and float(s[1]) > 0 else None

    def configure_optimizers(self):
        t = self.cfg.train
        params = [p for p in self.parameters() if p.requires_grad]
        if t.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=t.lr, momentum=0.9, weight_decay=t.weight_decay)
        elif t.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
        else:
            opt = torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
        if t.lr_schedule == "none":
            return opt
        # the run's budget (rnnkit.training.budget.Budget), set by the trainer before fit
        budget = getattr(self, "budget", None)
        if t.lr_schedule == "plateau":
            # halved after two validations without improvement, stepped at each validation
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
            every = budget.val_every_n_steps if budget is not None else None
            when = {"interval": "step", "frequency": every} if every else {"interval": "epoch"}
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss",
                                                       "strict": False, **when}}
        # cosine: warm-up, then a cosine decay over the budget (its steps or its time)
        trainer = self.trainer
        if budget is not None:
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: budget.lr_factor(trainer))
        else:   # a module trained outside rnnkit's trainer: over Lightning's estimate of the steps
            total = max(1, int(min(trainer.estimated_stepping_batches, 10**9)))
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
