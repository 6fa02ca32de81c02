"""The export JSON of a word vocabulary with shapes tells a consumer enough to give
every token the model's id: a tokenizer written from its 'how' and 'when' texts
alone (below) against rnnkit's own."""

import re

from rnnkit.data.tokenizers import WordTokenizer
from rnnkit.export.describe import tokenizer_json

TRAIN = ["The cat met Bob at the mall .", "the cat saw Bob and the dog !", "Bob and the dog at 5 ."]
TEXTS = ["The Cat met ALICE at 10pm in Paris !", "@bob sees #tbt at https://t.co/x , WWW.Site.org", "ça Éva ÉTÉ …"]


def consumer_ids(doc: dict, text: str) -> list[int]:
    """Ids by the JSON alone: known words looked up (lowercased when asked), unknown
    ones by the first shape whose rule holds, written from the rules' wording."""
    vocab = {w: i for i, w in enumerate(doc["vocab"])}
    tests = {
        "starts with http://, https:// or www. (in any case)":
            lambda t: t.lower().startswith(("http://", "https://", "www.")),
        "starts with @ and is longer than 1 character": lambda t: t.startswith("@") and len(t) > 1,
        "starts with # and is longer than 1 character": lambda t: t.startswith("#") and len(t) > 1,
        "holds a digit (str.isdigit)": lambda t: any(c.isdigit() for c in t),
        "holds 2 or more letters (str.isalpha), all upper case (str.isupper)":
            lambda t: sum(c.isalpha() for c in t) >= 2 and all(c.isupper() for c in t if c.isalpha()),
        "starts with an upper-case letter (str.isupper)": lambda t: t[:1].isupper(),
        "holds a letter (str.isalpha)": lambda t: any(c.isalpha() for c in t),
    }
    out = []
    for t in re.findall(doc["pattern"], text):
        key = t.lower() if doc["lowercase"] else t
        if key in vocab:
            out.append(vocab[key])
            continue
        out.append(next((s["id"] for s in doc["unknown_shapes"] if tests[s["when"]](t)), doc["unknown_id"]))
    return out


def test_a_consumer_of_the_json_gets_the_models_ids():
    for lowercase in (True, False):
        tok = WordTokenizer.fit(TRAIN, lowercase=lowercase, min_freq=2, shapes=True)
        doc = tokenizer_json(tok, None)
        assert [s["token"] for s in doc["unknown_shapes"]] == doc["vocab"][1:1 + len(doc["unknown_shapes"])]
        for text in TEXTS:
            assert consumer_ids(doc, text) == tok.encode(text).tolist(), text
    plain = tokenizer_json(WordTokenizer.fit(TRAIN, lowercase=True), None)
    assert "unknown_shapes" not in plain
