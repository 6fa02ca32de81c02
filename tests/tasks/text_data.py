"""Small generated text data for the classify and tag tests."""

import csv
import random
from pathlib import Path

FILLER = ["the", "a", "of", "to", "and", "in", "it", "was", "is", "that", "on", "for", "as", "with", "at", "by"]


def order_texts(n: int, seed: int) -> list[tuple[str, str]]:
    """Texts whose label is only in word order: every text holds the words "alpha" and
    "omega" once each, at least 3 filler words apart and never first or last, among
    filler words; the label is "ao" when alpha comes first, else "oa". Both labels have
    the same bag of words and the same bigrams, so a bag of 1..2-grams cannot tell them
    apart."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = rng.randint(8, 16)
        words = [rng.choice(FILLER) for _ in range(length)]
        first = rng.randint(1, length - 6)
        second = rng.randint(first + 4, length - 2)
        a_first = i % 2 == 0
        words[first], words[second] = ("alpha", "omega") if a_first else ("omega", "alpha")
        out.append((" ".join(words), "ao" if a_first else "oa"))
    return out


def write_csv(path: Path, rows, header=("text", "label"), delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def topic_texts(n: int, seed: int) -> list[tuple[str, str]]:
    """Three classes told apart by their words (any model learns them)."""
    rng = random.Random(seed)
    topics = {"sport": ["ball", "goal", "team", "match"], "food": ["bread", "soup", "salt", "cake"],
              "tech": ["code", "chip", "disk", "byte"]}
    out = []
    for i in range(n):
        label = list(topics)[i % 3]
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 12))]
        for _ in range(2):
            words.insert(rng.randint(0, len(words)), rng.choice(topics[label]))
        out.append((" ".join(words), label))
    return out


def write_conll(path: Path, n: int, seed: int) -> Path:
    """Sentences of filler words and names; a name is B-ORG when the next word is "inc"
    (its tag depends on what follows it), else B-PER; "inc" itself is I-ORG."""
    rng = random.Random(seed)
    names = ["acme", "globex", "initech", "umbrella", "hooli", "wayne"]
    lines = []
    for _ in range(n):
        sent = []
        for _ in range(rng.randint(4, 10)):
            if rng.random() < 0.25:
                name = rng.choice(names)
                if rng.random() < 0.5:
                    sent += [(name, "B-ORG"), ("inc", "I-ORG")]
                else:
                    sent.append((name, "B-PER"))
            else:
                sent.append((rng.choice(FILLER), "O"))
        lines += [f"{w}\t{t}" for w, t in sent] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
