"""Reading token-tagged sentences (CoNLL style) for sequence tagging.

The format: one token per line, columns separated by spaces or tabs; the token is the
first column and its tag the last, so CoNLL-2003's four columns (token, part of speech,
chunk, entity) and two-column files (token, tag) both work. A blank line ends a
sentence; several blank lines in a row, and a file without a final blank line, are
fine. Lines whose first column is ``-DOCSTART-`` (document separators) are skipped::

    -DOCSTART- -X- -X- O

    EU NNP B-NP B-ORG
    rejects VBZ B-VP O
    German JJ B-NP B-MISC

    Peter NNP B-NP B-PER
    Blackburn NNP I-NP I-PER

Without tags (predict), every line may hold only the token; then ``tags`` is None.
Files either all carry tags (two columns or more) or none do.

Example::

    data = read_conll(["train.conll"])
    data.tokens[0], data.tags[0], data.sources[0]   # ['EU', 'rejects', ...], ['B-ORG', 'O', ...], 'train.conll:3'
    tag_scheme(data.tags)                           # 'bio'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError
from .text import read_text, resolve_paths

_COLUMNS = re.compile(r"[ \t]+")      # spaces and tabs only: a token may hold other Unicode spaces
_BLANK = " \t\r\f\v"
DOCSTART = "-DOCSTART-"


@dataclass
class TaggedSentences:
    """Sentences as token lists, their tags (None when read without tags), the
    ``"file:line"`` of each sentence's first token line, and the files read."""
    tokens: list[list[str]]
    tags: list[list[str]] | None
    sources: list[str]
    files: list[str]

    def __len__(self) -> int:
        return len(self.tokens)


def read_conll(specs, what: str = "--data", tags_required: bool = True) -> TaggedSentences:
    """Tagged sentences from CoNLL-style files, folders or globs (see the module docstring).

    Args:
        specs: a path or a list of paths: files, folders (every file under them) or globs.
        what: the option the paths came from, for error messages.
        tags_required: with True, every token line needs a tag. With False (predict),
            lines may hold the token alone; then no line may carry a tag.

    Raises:
        UsageError: a one-line message naming the file and line at fault.
    """
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    sources: list[str] = []
    files: list[str] = []
    tagged: tuple[bool, str] | None = None       # (lines carry tags?, the line that decided)
    for path in resolve_paths(specs, what):
        name = str(path)
        text = read_text(path, what)             # UTF-8, binary and empty checks; BOM dropped
        files.append(name)
        before = len(tokens)
        words: list[str] = []
        labels: list[str] = []
        start = 0
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.strip(_BLANK)
            if not line:
                columns = None
            else:
                columns = _COLUMNS.split(line)
                if columns[0] == DOCSTART:
                    columns = None
            if columns is None:                  # blank or -DOCSTART-: the sentence ends
                if words:
                    tokens.append(words)
                    tags.append(labels)
                    sources.append(f"{name}:{start}")
                    words, labels = [], []
                continue
            has_tag = len(columns) >= 2
            if not has_tag and tags_required:
                raise UsageError(f"{what}: {name}:{number}: expected a token and its tag separated by "
                                 f"spaces or tabs, got only {line!r}")
            if tagged is None:
                tagged = (has_tag, f"{name}:{number}")
            elif tagged[0] != has_tag:
                raise UsageError(f"{what}: {name}:{number}: "
                                 + (f"a token with a tag ({line!r})" if has_tag else
                                    f"a token without a tag ({line!r})")
                                 + f", but {tagged[1]} "
                                 + ("has a tag" if tagged[0] else "has none")
                                 + "; expected every line with a tag, or none")
            if not words:
                start = number
            words.append(columns[0])
            labels.append(columns[-1])
        if words:                                # no final blank line
            tokens.append(words)
            tags.append(labels)
            sources.append(f"{name}:{start}")
        if len(tokens) == before:
            raise UsageError(f"{what}: {name!r} holds no sentences (only blank or {DOCSTART} lines); "
                             f"expected one token per line, sentences separated by blank lines")
    has_tags = tagged is not None and tagged[0]
    return TaggedSentences(tokens, tags if has_tags else None, sources, files)


# a tag naming its place in a span: B-, I-, E- or S- and the span's type (BIO, IOB2, BIOES)
SPAN_TAG = re.compile(r"^([BIES])-(.+)$")


def split_span_tag(tag) -> tuple[str, str] | None:
    """``(prefix, type)`` of a span tag (``"B-PER"`` -> ``("B", "PER")``); None for any
    other tag (``"O"``, ``"NOUN"``) or a value that is not a str."""
    match = SPAN_TAG.match(tag) if isinstance(tag, str) else None
    return None if match is None else (match.group(1), match.group(2))



def tag_scheme(tags) -> str:
    """How the tags name spans: ``"bio"`` when every tag is ``O``, ``B-type`` or
    ``I-type`` (BIO, also called IOB2 or BIO2; IOB1 too, whose names are the same);
    ``"bioes"`` when ``E-type`` / ``S-type`` also occur; ``"plain"`` otherwise, and when
    no tag carries a prefix (all ``O``, or no tags).

    Args:
        tags: the tags, flat (``["B-PER", "O"]``) or per sentence (``[["B-PER"], ["O"]]``).

    Example::

        tag_scheme([["B-PER", "I-PER", "O"]])   # 'bio'
        tag_scheme(["S-LOC", "O"])              # 'bioes'
        tag_scheme(["NOUN", "VERB"])            # 'plain'
    """
    prefixes: set[str] = set()
    for item in tags:
        for tag in ([item] if isinstance(item, str) else item):
            if tag == "O":
                continue
            parts = split_span_tag(tag)
            if parts is None:
                return "plain"
            prefixes.add(parts[0])
    if not prefixes:
        return "plain"
    return "bioes" if prefixes & {"E", "S"} else "bio"
