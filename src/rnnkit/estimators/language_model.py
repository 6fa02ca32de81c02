"""``rnnkit.LanguageModel``: a text's next token (characters, words or BPE subwords),
trained on a string in memory.

Example::

    lm = rnnkit.LanguageModel(hidden_size=128, max_time=60).fit(open("notes.txt").read())
    lm.generate("Once ", 100, temperature=0.8, seed=1)
    lm.score("a new text")["bits_per_char"]
"""

from __future__ import annotations

from ..data.memory import InMemory
from .base import RNNEstimator, config_keys_in_errors

LM_DATA = ("valid_fraction", "seq_length", "max_chars", "tokenizer", "lowercase", "min_freq", "max_vocab",
           "vocab_size")


def corpus(text, what: str = "X") -> str:
    """One string: ``text`` itself, or a list of strings each ended by a line break and
    joined, as ``rnnkit train lm`` joins its files."""
    if isinstance(text, str):
        return text
    try:
        parts = list(text)
    except TypeError:
        raise ValueError(f"{what}: expected a string or a list of strings, got {type(text).__name__}") from None
    bad = next((p for p in parts if not isinstance(p, str)), None)
    if bad is not None or not parts:
        raise ValueError(f"{what}: expected a string or a list of strings, got "
                         + (f"a list holding {type(bad).__name__}" if parts else "an empty list"))
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


class LanguageModel(RNNEstimator):
    """Language modelling (``rnnkit train lm``) on text in memory: a string, or a list
    of strings (each ended by a line break, as files are). Hyperparameters: the config
    fields of the same names (``tokenizer``: char, the default, word or bpe).

    Fitted attributes: ``module_`` (the trained :class:`~rnnkit.tasks.lm.LMTask`),
    ``run_dir_``, ``metrics_``.
    """

    task = "lm"
    data_fields = LM_DATA

    def fit(self, X, y=None, *, valid=None, run_dir=None, overwrite: bool = False) -> "LanguageModel":
        """Train on the text ``X``. ``valid``: validation text (default: the last
        ``valid_fraction`` of ``X``). ``run_dir``: where the run directory goes
        (default: a temporary folder, removed with the estimator). ``y`` is ignored
        (scikit-learn's signature)."""
        text = corpus(X)
        if not text.strip():
            raise ValueError("X: expected text to learn from, got only whitespace" if text
                             else "X: expected text to learn from, got an empty string")
        memory = InMemory(train=text, valid=None if valid is None else corpus(valid, "valid"))
        self._train(memory, run_dir, overwrite)
        return self

    def generate(self, prompt: str = "", n: int = 200, *, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None) -> str:
        """``prompt`` followed by ``n`` sampled tokens, as ``rnnkit generate`` prints it
        (``seed`` makes it repeatable; ``top_k`` / ``top_p`` restrict the sampling)."""
        from ..tasks.lm import generate

        self._check_fitted()
        if not isinstance(prompt, str):
            raise ValueError(f"prompt: expected a string, got {type(prompt).__name__}")
        with config_keys_in_errors():
            return generate(self.module_.net, self.module_.tokenizer, prompt, n, temperature, top_k, top_p, seed)

    def score(self, X, y=None) -> dict:
        """How well the model predicts the text ``X`` (a string or a list of strings),
        as ``rnnkit evaluate`` computes it for a file: ``loss`` (nats per token),
        ``perplexity``, ``bits_per_char`` (character models), ``tokens`` and
        ``unknown_tokens``."""
        from ..tasks.lm import evaluate_ids

        self._check_fitted()
        m = self.module_
        ids = m.tokenizer.encode(corpus(X))
        with config_keys_in_errors():
            out = evaluate_ids(m.net, ids, m.cfg.train.batch_size, m.cfg.data.seq_length, m.per_char)
        out["unknown_tokens"] = int((ids == 0).sum())
        return out
