import numpy as np
import pytest
import torch

from rnnkit.data.batching import IGNORE, BucketBatches, bucket_plan, collate_sequences, pad_batch


def test_pad_batch_right_pads_and_counts():
    x, lengths = pad_batch([torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])])
    assert x.tolist() == [[1, 2, 3], [4, 0, 0], [5, 6, 0]]
    assert lengths.tolist() == [3, 1, 2]
    v, _ = pad_batch([torch.ones(2, 3), torch.ones(1, 3)], value=-1.0)   # real values, 3 channels
    assert v.shape == (2, 2, 3) and v[1, 1].tolist() == [-1.0] * 3


def test_collate_targets_per_sequence_and_per_step():
    b = collate_sequences([(torch.tensor([1, 2]), 3), (torch.tensor([4]), 0)])
    assert b["y"].tolist() == [3, 0] and b["lengths"].tolist() == [2, 1]
    b = collate_sequences([(torch.tensor([1, 2]), torch.tensor([5, 6])), (torch.tensor([4]), torch.tensor([7]))])
    assert b["y"].tolist() == [[5, 6], [7, IGNORE]]


@pytest.mark.parametrize("n,bs", [(1, 4), (103, 8), (1000, 16)])
def test_every_example_once_and_buckets_are_tight(n, bs):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 500, n)
    plan = bucket_plan(lengths, bs, shuffle=True, seed=1, epoch=0, pool_batches=10)
    flat = sorted(i for b in plan for i in b)
    assert flat == list(range(n))
    assert all(1 <= len(b) <= bs for b in plan)
    if n >= 1000:
        # padding within bucketed batches is far below that of random batches
        def waste(batches):
            return sum(max(lengths[b]) * len(b) - lengths[b].sum() for b in batches)
        random = [list(range(i, min(i + bs, n))) for i in range(0, n, bs)]
        assert waste(plan) < 0.2 * waste(random)


def test_plan_depends_on_seed_and_epoch_only():
    lengths = list(range(1, 200))
    a = bucket_plan(lengths, 8, shuffle=True, seed=3, epoch=1)
    assert a == bucket_plan(lengths, 8, shuffle=True, seed=3, epoch=1)
    assert a != bucket_plan(lengths, 8, shuffle=True, seed=3, epoch=2)
    ordered = bucket_plan([5, 1, 3], 2, shuffle=False)
    assert ordered == [[1, 2], [0]]


def test_ranks_share_the_batches_with_equal_counts():
    lengths = list(range(1, 42))   # 41 examples, batch 4 -> 11 batches
    per_rank = [BucketBatches(list(range(41)), lengths, 4, collate=list, rank=r, world_size=3).plan(0)
                for r in range(3)]
    assert [len(p) for p in per_rank] == [4, 4, 4]
    seen = {i for p in per_rank for b in p for i in b}
    assert seen == set(range(41))
    loader = BucketBatches(list(range(41)), lengths, 4, collate=list, rank=0, world_size=3)
    assert len(loader) == 4 == len(list(loader))
    # evaluation: nothing repeated, each example on exactly one rank
    ev = [BucketBatches(list(range(41)), lengths, 4, collate=list, shuffle=False, rank=r, world_size=3)
          for r in range(3)]
    got = sorted(i for e in ev for b in e for i in b)
    assert got == list(range(41))


def test_resume_continues_with_the_next_batch():
    items = list(range(30))
    loader = BucketBatches(items, [1 + i % 7 for i in items], 4, collate=list, progress=lambda: 3)
    full = list(loader)
    state = loader.state_dict()
    again = BucketBatches(items, [1 + i % 7 for i in items], 4, collate=list)
    again.load_state_dict(state)
    assert list(again) == full[3:]
    assert list(again) == full          # the next epoch starts from the beginning


def test_word_dropout_replaces_rare_words_at_their_rate():
    from rnnkit.data.batching import WordDropout

    # id 1 seen once, id 2 seen 4 times, id 3 seen 400 times; 0 is the unknown id
    items = [(torch.tensor([1, 2, 2, 2, 2, 0] + [3] * 400), 7)]
    wd = WordDropout(items, vocab_size=5, alpha=1.0, seed=3)
    np.testing.assert_allclose(wd.p[:4], [0.0, 1 / 2, 1 / 5, 1 / 401])
    epoch = [0]
    wd = WordDropout(items, vocab_size=5, alpha=1.0, seed=3, epoch=lambda: epoch[0])
    dropped = np.zeros(4)
    n = 4000
    for e in range(n):
        epoch[0] = e
        x, y = wd[0]
        raw = items[0][0]
        assert y == 7 and x.shape == raw.shape
        changed = x != raw
        assert bool((x[changed] == 0).all())                 # replaced by the unknown id only
        for i in range(1, 4):
            dropped[i] += float(changed[raw == i].float().mean())
    rate = dropped[1:] / n
    expected = np.array([1 / 2, 1 / 5, 1 / 401])
    sd = np.sqrt(expected * (1 - expected) / (n * np.array([1, 4, 400])))
    assert np.all(np.abs(rate - expected) < 5 * sd + 1e-12), (rate, expected)


def test_word_dropout_draws_follow_seed_epoch_and_example_only():
    from rnnkit.data.batching import WordDropout

    items = [(torch.arange(1, 200), 0), (torch.arange(1, 200), 1)]
    epoch = [0]
    a = WordDropout(items, 200, 0.5, seed=1, epoch=lambda: epoch[0])
    b = WordDropout(items, 200, 0.5, seed=1, epoch=lambda: epoch[0])
    first = a[0][0]
    assert torch.equal(first, b[0][0]) and torch.equal(a[0][0], first)   # repeatable (a resumed run)
    assert not torch.equal(a[1][0], first)                               # another example: other draws
    epoch[0] = 1
    assert not torch.equal(a[0][0], first)                               # another epoch: other draws
    assert not torch.equal(WordDropout(items, 200, 0.5, seed=2)[0][0], first)
    with pytest.raises(ValueError, match="alpha > 0, got 0"):
        WordDropout(items, 200, 0)


def test_word_dropout_replaces_a_word_by_its_own_unknown_id():
    from rnnkit.data.batching import WordDropout

    # ids 0-2 stand for unknown words (say <unk> and two shape classes): never dropped
    items = [(torch.tensor([1, 2, 3, 4, 5]), 0)]
    unknown = [torch.tensor([9, 9, 1, 2, 0])]
    wd = WordDropout(items, 6, 1e9, unknown=unknown, unknown_ids=3)
    assert wd.p[:3].tolist() == [0, 0, 0]
    x, _ = wd[0]
    assert x.tolist() == [1, 2, 1, 2, 0]                  # p ~ 1 for every word seen: each to its class
    with pytest.raises(ValueError, match="one unknown-id tensor per example \\(1\\), got 2"):
        WordDropout(items, 6, 1.0, unknown=unknown * 2)
