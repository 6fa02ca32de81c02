"""rnnkit.data: readers and preprocessing (tokenizers, scalers)."""

from .text import read_corpus, read_text, resolve_paths, stdlib_files
from .tokenizers import BPETokenizer, CharTokenizer, WordTokenizer, fit_tokenizer, tokenizer_from_state

__all__ = ["read_corpus", "read_text", "resolve_paths", "stdlib_files", "CharTokenizer", "WordTokenizer",
           "BPETokenizer", "fit_tokenizer", "tokenizer_from_state"]
