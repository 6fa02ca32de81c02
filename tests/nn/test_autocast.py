"""Mixed precision: under autocast the layers take a state carried in the autocast dtype
(as torch.nn does) and give torch.nn's numbers."""

import pytest
import torch
from torch import nn

import rnnkit


@pytest.mark.parametrize("cls, ref_cls", [(rnnkit.LSTM, nn.LSTM), (rnnkit.GRU, nn.GRU), (rnnkit.RNN, nn.RNN)])
def test_bf16_autocast_matches_torch(cls, ref_cls):
    torch.manual_seed(0)
    ours = cls(6, 8, num_layers=2, batch_first=True)
    ref = ref_cls(6, 8, num_layers=2, batch_first=True)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        try:
            y2, s2 = ref(x)
        except RuntimeError as err:   # oneDNN has no bf16 LSTM primitive on some CPUs (seen on AMD EPYC)
            if "primitive descriptor" not in str(err):
                raise
            pytest.skip(f"torch.nn itself cannot run {ref_cls.__name__} in bf16 on this CPU: {str(err)[:60]}")
        y1, s1 = ours(x)
        # a state from the previous window, in bfloat16, with a float32 input
        z1, _ = ours(x, s1)
        z2, _ = ref(x, s2)
    assert y1.dtype == y2.dtype and z1.dtype == z2.dtype
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(z1, z2)


def test_state_dtype_still_checked_without_autocast():
    lstm = rnnkit.GRU(4, 5)
    with pytest.raises(ValueError, match="expected hx of dtype torch.float32"):
        lstm(torch.randn(3, 2, 4), torch.zeros(1, 2, 5, dtype=torch.float64))


def test_precision_resolution():
    from rnnkit.training.trainer import resolve_precision

    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("64", "cpu") == "64-true"
    assert resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"
