"""A short tour of rnnkit's recurrent layers (runs in a few seconds on a CPU).

1. rnnkit.LSTM is torch.nn.LSTM's drop-in: same state_dict, same numbers.
2. A right-padded batch of mixed lengths with ``lengths=``: exactly what packing gives,
   at the speed of the padded batch.
3. The unrolled path (our own backpropagation through time) gives the same gradients.
"""

import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit


def timed(fn, repeats=3):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main():
    torch.manual_seed(0)
    B, T, I, H = 32, 120, 32, 128
    ref = nn.LSTM(I, H, batch_first=True)
    ours = rnnkit.LSTM(I, H, batch_first=True)
    ours.load_state_dict(ref.state_dict())

    x = torch.randn(B, T, I)
    lengths = torch.randint(T // 2, T + 1, (B,))
    print(f"batch of {B} sequences, lengths {int(lengths.min())}..{int(lengths.max())} of {T} steps, "
          f"{I} features, hidden {H}")

    # 1. drop-in
    y_ref, _ = ref(x)
    y, _ = ours(x)
    print(f"1. same weights as torch.nn.LSTM, max |difference| of outputs: {(y - y_ref).abs().max():.1e}")

    # 2. mixed lengths without packing
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    y_p, (h_p, c_p) = ref(packed)
    y_p, _ = pad_packed_sequence(y_p, batch_first=True, total_length=T)
    y_l, (h_l, c_l) = ours(x, lengths=lengths)
    diff = max((y_l - y_p).abs().max(), (h_l - h_p).abs().max(), (c_l - c_p).abs().max())
    print(f"2. lengths= against pack_padded_sequence, max |difference| of outputs and states: {diff:.1e}")

    def packed_step():
        xx = x.clone().requires_grad_()
        p = pack_padded_sequence(xx, lengths, batch_first=True, enforce_sorted=False)
        out, (h, c) = ref(p)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        (out.sum() + h.sum() + c.sum()).backward()

    def lengths_step():
        xx = x.clone().requires_grad_()
        out, (h, c) = ours(xx, lengths=lengths)
        (out.sum() + h.sum() + c.sum()).backward()

    t_packed, t_lengths = timed(packed_step), timed(lengths_step)
    print(f"   forward+backward: torch.nn packed {t_packed * 1e3:.0f} ms, rnnkit lengths= "
          f"{t_lengths * 1e3:.0f} ms ({t_packed / t_lengths:.1f}x faster)")

    # 3. the unrolled path
    grads = {}
    for backend in ("fused", "unrolled"):
        ours.backend = backend
        ours.zero_grad()
        y, (h, c) = ours(x, lengths=lengths)
        (y.pow(2).sum() + h.sum() + c.sum()).backward()
        grads[backend] = torch.cat([p.grad.flatten() for p in ours.parameters()])
    gdiff = (grads["fused"] - grads["unrolled"]).abs().max() / grads["fused"].abs().max()
    print(f"3. unrolled backpropagation through time against the fused kernel, largest difference "
          f"of parameter gradients relative to the largest gradient: {gdiff:.1e}")


if __name__ == "__main__":
    main()
