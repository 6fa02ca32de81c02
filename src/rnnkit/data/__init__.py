"""rnnkit.data: readers and preprocessing (tokenizers, scalers)."""

from .conll import TaggedSentences, read_conll, tag_scheme
from .tables import LabelledTexts, read_labelled_texts
from .text import read_corpus, read_text, resolve_paths, stdlib_files
from .tokenizers import CharTokenizer

__all__ = ["CharTokenizer", "LabelledTexts", "TaggedSentences", "read_conll", "read_corpus",
           "read_labelled_texts", "read_text", "resolve_paths", "stdlib_files", "tag_scheme"]
