"""rnnkit.data: readers and preprocessing (tokenizers, scalers)."""

from .text import read_corpus, read_text, resolve_paths, stdlib_files
from .tokenizers import CharTokenizer

__all__ = ["read_corpus", "read_text", "resolve_paths", "stdlib_files", "CharTokenizer"]
