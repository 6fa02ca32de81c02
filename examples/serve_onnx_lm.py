"""Serve an exported character language model with numpy and onnxruntime alone.

    rnnkit export runs/notes --format onnx --out lm.onnx      # writes lm.onnx and lm.onnx.json
    python examples/serve_onnx_lm.py lm.onnx "def " 200

The prime goes through the graph in one chunk; then each generated character is fed
back as a chunk of one step, the recurrent state (h, and c for an LSTM) carried from
call to call. Greedy decoding: the most likely character each time (never the unknown
one, id 0), as ``rnnkit generate RUN --top-k 1`` samples.
"""

import json
import sys

import numpy as np
import onnxruntime as ort


class LMStream:
    """One text stream through the exported graph, its state carried between chunks."""

    def __init__(self, model_path):
        with open(model_path + ".json", encoding="utf-8") as f:
            self.doc = json.load(f)
        self.session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
        tokenizer = self.doc["preprocessing"]["tokenizer"]
        assert tokenizer["kind"] == "char", "this example reads character models"
        self.vocab = tokenizer["vocab"]
        self.index = {ch: i for i, ch in enumerate(self.vocab)}
        # zeros for a new stream: shapes from the JSON, "batch" is 1 here
        self.state = {name: np.zeros([1 if d == "batch" else d for d in shape], np.float32)
                      for name, shape in self.doc["state"].items()}

    def encode(self, text):
        return [self.index.get(ch, 0) for ch in text]       # unknown characters: id 0

    def feed(self, ids):
        """Logits (len(ids), vocab) after each token of the chunk."""
        ids = np.asarray([ids], dtype=np.int64)               # (batch 1, time)
        feeds = {"ids": ids, "lengths": np.array([ids.shape[1]], dtype=np.int64), **self.state}
        out = dict(zip(self.doc["outputs"], self.session.run(None, feeds)))
        self.state = {name: out[name + "_out"] for name in self.state}
        return out["logits"][0]


def generate(model_path, prime="\n", length=200):
    stream = LMStream(model_path)
    logits = stream.feed(stream.encode(prime))
    out = []
    for _ in range(length):
        scores = logits[-1].copy()
        scores[0] = -np.inf                                   # never the unknown character
        nxt = int(np.argmax(scores))
        out.append(stream.vocab[nxt])
        logits = stream.feed([nxt])                           # the next chunk: one character
    return prime + "".join(out)


if __name__ == "__main__":
    path = sys.argv[1]
    prime = sys.argv[2] if len(sys.argv) > 2 else "\n"
    length = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    print(generate(path, prime, length))
