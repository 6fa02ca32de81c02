"""What a values classifier reads: each channel standardised with the training split's
statistics (inside the model, so predict, streaming and export see the data's units),
convolutions along time (``model.stem``), and ``model.patch`` consecutive steps read
as one recurrent step; checked against a
per-sequence reference written with numpy, and mixed-length batches against each
sequence alone."""

import numpy as np
import pytest
import torch
import yaml

import rnnkit
from rnnkit.cli import main
from rnnkit.config import ModelConfig
from rnnkit.tasks.classify.module import SequenceClassifier, auto_patch
from rnnkit.tasks.sequence import ValueInputs
from rnnkit.training import load_run


def reference(x: np.ndarray, mean, std, k: int) -> np.ndarray:
    """One sequence (T, C) as the stack reads it: standardised, zero-padded to a
    multiple of k steps, every k steps concatenated."""
    z = (x - np.asarray(mean)) / np.asarray(std)
    T, C = z.shape
    n = -(-T // k)
    return np.concatenate([z, np.zeros((n * k - T, C))]).reshape(n, k * C)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_value_inputs_match_the_per_sequence_reference(k):
    rng = np.random.default_rng(0)
    mean, std = [3.0, -20.0], [2.0, 0.25]
    lengths = [7, 1, 5, 6]
    x = np.zeros((4, 7, 2))
    for i, L in enumerate(lengths):
        x[i, :L] = rng.normal(size=(L, 2)) * std + mean
    inputs = ValueInputs(2, mean=mean, std=std, patch=k).double()
    got, got_lengths = inputs(torch.tensor(x), torch.tensor(lengths))
    assert got_lengths.tolist() == [-(-L // k) for L in lengths]
    assert got.shape == (4, -(-7 // k), 2 * k)
    for i, L in enumerate(lengths):
        want = reference(x[i, :L], mean, std, k)
        np.testing.assert_allclose(got[i, :len(want)].numpy(), want, atol=1e-12)
        assert not got[i, len(want):].any()                # past the end: zeros


def stem_reference(z: np.ndarray, stem, k: int) -> np.ndarray:
    """One standardised sequence (T, C) through ConvStem's layers, written as sums over
    the kernel: zeros outside the sequence, (kernel - 1) // 2 steps before each step and
    kernel // 2 after, layer norm over each step's channels, ReLU; then the max over
    every k steps (zero-padded to a multiple of k)."""
    a = z
    for conv, norm in zip(stem.convs, stem.norms):
        W, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()          # (O, C, K), (O,)
        K = W.shape[2]
        pad = np.concatenate([np.zeros(((K - 1) // 2, a.shape[1])), a, np.zeros((K // 2, a.shape[1]))])
        h = np.stack([b + sum(W[:, :, j] @ pad[t + j] for j in range(K)) for t in range(len(a))])
        mu, var = h.mean(1, keepdims=True), h.var(1, keepdims=True)
        h = (h - mu) / np.sqrt(var + norm.eps) * norm.weight.detach().numpy() + norm.bias.detach().numpy()
        a = np.maximum(h, 0)
    n = -(-len(a) // k)
    return np.concatenate([a, np.zeros((n * k - len(a), a.shape[1]))]).reshape(n, k, -1).max(1)


@pytest.mark.parametrize("k", [1, 3])
def test_the_stem_matches_the_per_sequence_reference(k):
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    mean, std = [3.0, -20.0], [2.0, 0.25]
    lengths = [11, 1, 6, 9]
    x = rng.normal(size=(4, 11, 2)) * std + mean          # padded steps hold values, not zeros
    inputs = ValueInputs(2, mean=mean, std=std, patch=k, stem=5).double()
    with torch.no_grad():
        for p in inputs.stem.norms.parameters():            # not the identity, so the norm's affine counts
            p.add_(torch.randn_like(p) * 0.3)
        got, got_lengths = inputs(torch.tensor(x), torch.tensor(lengths))
    assert inputs.size == 5 and got.shape == (4, -(-11 // k), 5)
    assert got_lengths.tolist() == [-(-L // k) for L in lengths]
    for i, L in enumerate(lengths):
        z = (x[i, :L] - np.asarray(mean)) / np.asarray(std)
        want = stem_reference(z, inputs.stem, k)
        np.testing.assert_allclose(got[i, :len(want)].numpy(), want, atol=1e-10)
        assert not got[i, len(want):].any()                # past the end: zeros
    assert (got > 0).any()


def test_the_stem_ignores_what_padded_steps_hold_without_a_scale():
    torch.manual_seed(2)
    inputs = ValueInputs(3, patch=2, stem=4).double()       # no standardisation to zero the padding
    x = torch.randn(3, 9, 3, dtype=torch.float64) * 5 + 7
    lengths = torch.tensor([9, 4, 1])
    with torch.no_grad():
        got, _ = inputs(x, lengths)
        for i, L in enumerate(lengths.tolist()):
            alone, _ = inputs(x[i:i + 1, :L], torch.tensor([L]))
            torch.testing.assert_close(got[i:i + 1, :alone.shape[1]], alone, atol=1e-12, rtol=0)


def test_a_bad_stem_width_is_refused():
    with pytest.raises(ValueError, match="expected stem >= 0, got -1"):
        ValueInputs(2, patch=2, stem=-1)


@pytest.mark.parametrize("stem", [0, 4])
@pytest.mark.parametrize("head", ["last", "mean", "max"])
def test_a_patched_batch_of_mixed_lengths_equals_each_sequence_alone(head, stem):
    torch.manual_seed(0)
    cfg = ModelConfig(cell="gru", hidden_size=8, num_layers=2, head=head, patch=3, stem=stem, dropout=0.0)
    net = SequenceClassifier(cfg, 4, input_size=2, scale={"mean": [1.0, -1.0], "std": [2.0, 0.5]}).double().eval()
    lengths = torch.tensor([10, 4, 1, 9])
    x = torch.randn(4, 10, 2, dtype=torch.float64) * 3 + 5     # padded steps hold values, not zeros
    with torch.no_grad():
        batch = net(x, lengths)
        for i, L in enumerate(lengths.tolist()):
            alone = net(x[i:i + 1, :L], torch.tensor([L]))
            torch.testing.assert_close(batch[i:i + 1], alone, atol=1e-12, rtol=0)


def test_the_patch_follows_the_median_training_length():
    assert auto_patch([32] * 3) == 1 and auto_patch([10, 30]) == 1
    assert auto_patch([33]) == 2 and auto_patch([251] * 36) == 8 and auto_patch([1460]) == 46
    assert auto_patch([50, 300, 1000]) == 10           # the median, 300, not the longest
    assert auto_patch([1460], steps=64) == 23


def bumps(n: int, seed: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """A bump early or late in noise, around a level of 1000 in units of 50."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, (n, length, 1))
    y = np.arange(n) % 2
    for i in range(n):
        start = rng.integers(0, length // 3) + (length // 2 if y[i] else 0)
        x[i, start:start + 10, 0] += 2.0
    return (1000 + 50 * x).astype(np.float32), y.astype(str)


def train(tmp_path, name, data, *flags):
    run = tmp_path / name
    code = main(["train", "classify", "--data", str(data), "--out", str(run), "--no-progress-bar",
                 "--accelerator", "cpu", "--hidden-size", "8", "--max-steps", "3", "--batch-size", "16", *flags])
    return code, run


def test_the_run_saves_its_patch_and_scale_and_a_flag_wins(tmp_path):
    x, y = bumps(48, 0, 200)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    code, run = train(tmp_path, "auto", tmp_path / "train.npz")
    assert code == 0
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["model"]["patch"] == 7                         # ceil(200 / 32)
    assert cfg["model"]["stem"] == 64
    module, _ = load_run(run)
    values = module.net.encoder.values
    assert values.patch == 7 and values.stem.width == 64 and module.net.encoder.rnn.input_size == 64
    np.testing.assert_allclose(values.mean.numpy(), [x[:, :, 0].mean()], rtol=1e-4)
    assert abs(values.std.item() - x[:, :, 0].std()) < 1e-2 * x[:, :, 0].std()

    code, run = train(tmp_path, "given", tmp_path / "train.npz", "--patch", "1")
    assert code == 0 and yaml.safe_load((run / "config.yaml").read_text())["model"]["patch"] == 1

    code, run = train(tmp_path, "no-stem", tmp_path / "train.npz", "--stem", "0")
    assert code == 0 and yaml.safe_load((run / "config.yaml").read_text())["model"]["stem"] == 0
    module, _ = load_run(run)
    assert module.net.encoder.values.stem is None and module.net.encoder.rnn.input_size == 7   # 7 steps of 1


def test_a_bad_patch_is_refused_before_anything_is_written(tmp_path, capsys):
    x, y = bumps(20, 0, 30)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    code, run = train(tmp_path, "zero", tmp_path / "train.npz", "--patch", "0")
    assert code != 0 and not run.exists()
    assert "--patch: expected a positive integer, got 0" in capsys.readouterr().err
    (tmp_path / "t.csv").write_text("text,label\n" + "".join(f"word {i % 2},{i % 2}\n" for i in range(20)))
    code, run = train(tmp_path, "text", tmp_path / "t.csv", "--patch", "2")
    assert code != 0 and not run.exists()
    assert "--patch: texts are read one token a step; expected no --patch, got 2" in capsys.readouterr().err
    code, run = train(tmp_path, "stem", tmp_path / "train.npz", "--stem", "-2")
    assert code != 0 and not run.exists()
    assert "--stem: expected a whole number of channels, 0 for none, got -2" in capsys.readouterr().err
    code, run = train(tmp_path, "text-stem", tmp_path / "t.csv", "--stem", "8")
    assert code != 0 and not run.exists()
    assert "--stem: texts are read through their embedding; expected no --stem, got 8" in capsys.readouterr().err


def test_predictions_do_not_depend_on_the_units_of_the_data(tmp_path):
    """The same series in other units (x * 0.02 - 20) train to the same classifier:
    the standardisation inside the model takes the units out."""
    x, y = bumps(64, 1, 90)
    probs = []
    for data in (x, x * 0.02 - 20):
        clf = rnnkit.Classifier(cell="gru", hidden_size=8, max_steps=12, batch_size=16, seed=3, progress_bar=False)
        clf.fit(list(data), y)
        probs.append(clf.predict_proba(list(data[:16])))
    assert np.abs(probs[0] - 0.5).max() > 0.01                 # it learned something to compare
    np.testing.assert_allclose(probs[0], probs[1], atol=2e-3)


def test_a_patched_classifier_is_not_streamed_and_says_why(tmp_path):
    x, y = bumps(32, 0, 200)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    code, run = train(tmp_path, "run", tmp_path / "train.npz")
    assert code == 0
    with pytest.raises(ValueError, match=r"reads 7 steps as one \(model.patch 7\)"):
        rnnkit.Stream(run)
    code, run = train(tmp_path, "one", tmp_path / "train.npz", "--patch", "1")
    with pytest.raises(ValueError, match=r"convolutions \(model.stem 64\) read up to 7 steps ahead"):
        rnnkit.Stream(run)
    code, run = train(tmp_path, "one-no-stem", tmp_path / "train.npz", "--patch", "1", "--stem", "0")
    s = rnnkit.Stream(run)
    module, _ = load_run(run)
    whole = module.predict_proba([x[0]])[0]
    s.feed(x[0, :120])
    np.testing.assert_allclose(s.feed(x[0, 120:]), whole, atol=1e-5)      # scaled inside: data's units


def test_a_run_saved_before_the_scale_loads_without_it():
    from rnnkit.tasks.classify import ClassifyTask

    cfg = {"task": "classify", "model": {"hidden_size": 4, "head": "last"}}
    old = ClassifyTask(cfg, {"kind": "signal", "classes": ["a", "b"], "channels": ["x"]})
    assert old.net.encoder.values is None and not any("mean" in k for k in old.state_dict())
    new = ClassifyTask(cfg, {"kind": "signal", "classes": ["a", "b"], "channels": ["x"],
                             "scale": {"mean": [1.0], "std": [2.0]}})
    assert {"net.encoder.values.mean", "net.encoder.values.std"} <= set(new.state_dict())


def test_a_run_saved_before_the_patch_evaluates_and_resumes_reading_every_step(tmp_path, capsys):
    """A config.yaml whose patch is null (written before the option) read every step:
    evaluate and resume keep it so, rather than choosing a patch for its data."""
    x, y = bumps(32, 0, 200)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    code, run = train(tmp_path, "old", tmp_path / "train.npz", "--patch", "1", "--stem", "0")
    assert code == 0
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["model"]["patch"] = None
    del cfg["model"]["stem"]
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "train.npz"), "--json"]) == 0
    assert main(["train", "classify", "--out", str(run), "--resume", "--max-steps", "5", "--no-progress-bar"]) == 0
    module, _ = load_run(run)
    assert module.net.encoder.values.patch == 1 and module.net.encoder.rnn.input_size == 1
    assert module.net.encoder.values.stem is None
