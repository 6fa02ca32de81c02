"""Tokenizers turn text into integer ids and back. Their state is a plain dict (lists
and strings only) saved inside the checkpoint, so a run directory is self-contained."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

UNK = "\ufffd"  # what an unseen character becomes (U+FFFD, the replacement character)


class CharTokenizer:
    """One id per character seen in the training text; id 0 is the unknown character,
    which every character not seen in training maps to (it never crashes).

    Example::

        tok = CharTokenizer.fit("hello")
        tok.decode(tok.encode("hello!"))     # 'hello\ufffd'
    """

    kind = "char"

    def __init__(self, chars: list[str]):
        self.chars = [UNK] + [c for c in chars if c != UNK]
        self.index = {c: i for i, c in enumerate(self.chars)}
        order = sorted(range(1, len(self.chars)), key=lambda i: ord(self.chars[i]))
        self._table = np.array([ord(self.chars[i]) for i in order], dtype=np.uint32)
        self._ids = np.array(order, dtype=np.int64)
        if not order:  # nothing known: every character is unknown
            self._table, self._ids = np.array([0xFFFFFFFF], dtype=np.uint32), np.array([0])

    @classmethod
    def fit(cls, text: str) -> "CharTokenizer":
        counts = Counter(text)
        return cls(sorted(counts))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """Ids of ``text``, shape (len(text),), int64."""
        # Code points (UTF-32) looked up in the sorted table of known characters.
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        known = self._table
        pos = np.searchsorted(known, codes).clip(0, len(known) - 1)
        ids = np.where(known[pos] == codes, self._ids[pos], 0)
        return torch.from_numpy(ids.astype(np.int64))

    def decode(self, ids) -> str:
        chars = self.chars
        return "".join(chars[int(i)] for i in ids)

    def state_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars[1:]}

    @classmethod
    def from_state(cls, state: dict) -> "CharTokenizer":
        return cls(list(state["chars"]))


def tokenizer_from_state(state: dict):
    kinds = {"char": CharTokenizer}
    if state.get("kind") not in kinds:
        raise ValueError(f"unknown tokenizer kind {state.get('kind')!r} in checkpoint")
    return kinds[state["kind"]].from_state(state)
