"""The one scaler, against numpy's closed form."""

import numpy as np
import pytest

from rnnkit.data.scaling import STD_FLOOR, Scaler, fit_scalers, znorm


def _ragged(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(loc=[3.0, -1.0], scale=[2.0, 0.5], size=(n, 2)).astype(np.float32) for n in (5, 17, 9)]


def test_fit_is_the_mean_and_population_std_over_every_step():
    xs = _ragged()
    s = Scaler.fit(xs)
    flat = np.concatenate(xs).astype(np.float64)
    np.testing.assert_allclose(s.mean, flat.mean(0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.std, flat.std(0), rtol=1e-12)
    z = s.transform(xs[1])
    assert z.dtype == np.float32
    np.testing.assert_allclose(z, (xs[1] - flat.mean(0)) / flat.std(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s.inverse(z), xs[1], rtol=1e-5, atol=1e-5)
    part = s.select([1])                                       # one channel's scaler
    np.testing.assert_array_equal(part.transform(xs[1][:, 1:]), z[:, 1:])
    # transformed training data: mean 0 and std 1 per channel
    zall = np.concatenate([s.transform(x, dtype=np.float64) for x in xs])
    np.testing.assert_allclose(zall.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(zall.std(0), 1.0, rtol=1e-12)


def test_known_numbers_and_a_constant_channel():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = Scaler.fit([x])
    np.testing.assert_array_equal(s.mean, [2.0, 5.0])
    np.testing.assert_array_equal(s.std, [1.0, 1.0])           # channel 1: std 0 -> 1, only centred
    np.testing.assert_array_equal(s.transform(x), [[-1.0, 0.0], [1.0, 0.0]])
    # a constant channel whose mean is not exact in binary: still only centred
    c = np.full((7, 1), 0.1)
    assert Scaler.fit([c]).std[0] == 1.0
    assert STD_FLOOR == 1e-12


def test_state_round_trip_and_the_stored_formats():
    s = Scaler.fit(_ragged())
    state = s.state()
    assert set(state) == {"mean", "std"} and all(isinstance(v, list) for v in state.values())
    for stored in (state, (state["mean"], state["std"]), [state["mean"], state["std"]],
                   {"loc": state["mean"], "scale": state["std"]}):
        back = Scaler.from_state(stored)
        np.testing.assert_array_equal(back.mean, s.mean)
        np.testing.assert_array_equal(back.std, s.std)
    assert Scaler.from_state(None) is None
    with pytest.raises(ValueError, match="expected a scaler state"):
        Scaler.from_state({"mean": [0.0]})
    with pytest.raises(ValueError, match="expected a scaler state"):
        Scaler.from_state(3.0)


def test_policies():
    xs = _ragged()
    per = fit_scalers(xs, "series")
    for x, s in zip(xs, per):
        np.testing.assert_allclose(s.mean, x.astype(np.float64).mean(0), atol=1e-12)
        np.testing.assert_allclose(s.std, x.astype(np.float64).std(0), rtol=1e-12)
    glob = fit_scalers(xs, "global")
    assert all(g is glob[0] for g in glob)
    np.testing.assert_allclose(glob[0].mean, np.concatenate(xs).astype(np.float64).mean(0), atol=1e-12)
    none = fit_scalers(xs, "none")
    np.testing.assert_array_equal(none[0].transform(xs[0]), xs[0])
    with pytest.raises(ValueError, match="expected a scaling policy series, global, none, got 'minmax'"):
        fit_scalers(xs, "minmax")
    with pytest.raises(ValueError, match="expected at least one step"):
        Scaler.fit([np.zeros((0, 2))])


def test_znorm_is_per_sequence_and_keeps_the_dtype():
    x = _ragged()[1]
    z = znorm(x)
    assert z.dtype == np.float32
    ref = (x.astype(np.float64) - x.astype(np.float64).mean(0)) / x.astype(np.float64).std(0)
    np.testing.assert_allclose(z, ref, rtol=1e-6, atol=1e-6)
    assert znorm(np.zeros((0, 2), dtype=np.float32)).shape == (0, 2)
