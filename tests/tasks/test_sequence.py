import pytest
import torch

from rnnkit.config import ModelConfig
from rnnkit.data.batching import pad_batch
from rnnkit.tasks.sequence import SequenceEncoder, pool


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("how", ["last", "mean", "max"])
def test_padded_batch_equals_each_sequence_alone(cell, bidirectional, how):
    torch.manual_seed(0)
    cfg = ModelConfig(cell=cell, hidden_size=8, num_layers=2, embedding_size=5, dropout=0.0,
                      bidirectional=bidirectional)
    enc = SequenceEncoder(cfg, vocab_size=20).double().eval()
    seqs = [torch.randint(0, 20, (n,)) for n in (7, 1, 4)]
    x, lengths = pad_batch(seqs)
    y, last = enc(x, lengths)
    assert y.shape == (3, 7, enc.output_size)
    pooled = pool(y, last, lengths, how)
    for i, s in enumerate(seqs):
        yi, li = enc(s[None], torch.tensor([len(s)]))
        torch.testing.assert_close(y[i, :len(s)], yi[0], rtol=0, atol=1e-12)
        assert torch.all(y[i, len(s):] == 0)
        torch.testing.assert_close(pooled[i], pool(yi, li, torch.tensor([len(s)]), how)[0], rtol=0, atol=1e-12)
    # closed forms of the summaries for the first sequence
    n0 = len(seqs[0])
    if how == "mean":
        torch.testing.assert_close(pooled[0], y[0, :n0].mean(0))
    if how == "max":
        torch.testing.assert_close(pooled[0], y[0, :n0].max(0).values)
    if how == "last" and not bidirectional:
        torch.testing.assert_close(pooled[1], y[1, 0])   # length 1: the output at its only step


def test_real_valued_input():
    cfg = ModelConfig(hidden_size=4, num_layers=1, dropout=0.0, bidirectional=True)
    enc = SequenceEncoder(cfg, input_size=3)
    y, last = enc(torch.randn(2, 5, 3), torch.tensor([5, 2]))
    assert y.shape == (2, 5, 8) and last.shape == (2, 8)
    with pytest.raises(ValueError):
        SequenceEncoder(cfg, vocab_size=3, input_size=3)
