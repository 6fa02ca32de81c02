"""Process-wide settings that training changes, put back afterwards.

Lightning's ``seed_everything`` reseeds Python's, NumPy's and torch's generators and sets
``PL_GLOBAL_SEED`` / ``PL_SEED_WORKERS``; ``Trainer(deterministic=...)`` calls
``torch.use_deterministic_algorithms``, sets cuDNN's ``benchmark`` and
``CUBLAS_WORKSPACE_CONFIG``; rnnkit turns ``fill_uninitialized_memory`` off on CPU; a
64-bit run changes the default dtype while it runs. :func:`preserved` records all of
these (and torch's thread count, float32 matmul precision and grad mode) and restores
them when the block ends, however it ends, so that ``train()`` leaves its caller's
process as it found it.
"""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

_ENV = ("PL_GLOBAL_SEED", "PL_SEED_WORKERS", "CUBLAS_WORKSPACE_CONFIG")


def snapshot() -> dict:
    """The settings :func:`preserved` restores, as a dict (comparable with ``==`` except
    the generator states, which :func:`same` compares)."""
    state = {
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "fill_uninitialized_memory": torch.utils.deterministic.fill_uninitialized_memory,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "default_dtype": torch.get_default_dtype(),
        "num_threads": torch.get_num_threads(),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "grad_enabled": torch.is_grad_enabled(),
        "env": {k: os.environ.get(k) for k in _ENV},
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state(),
        "python_rng": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict) -> None:
    torch.use_deterministic_algorithms(state["deterministic"], warn_only=state["deterministic_warn_only"])
    torch.utils.deterministic.fill_uninitialized_memory = state["fill_uninitialized_memory"]
    torch.backends.cudnn.benchmark = state["cudnn_benchmark"]
    torch.backends.cudnn.deterministic = state["cudnn_deterministic"]
    torch.set_default_dtype(state["default_dtype"])
    if torch.get_num_threads() != state["num_threads"]:
        torch.set_num_threads(state["num_threads"])
    torch.set_float32_matmul_precision(state["float32_matmul_precision"])
    torch.set_grad_enabled(state["grad_enabled"])
    for k, v in state["env"].items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    torch.set_rng_state(state["torch_rng"])
    np.random.set_state(state["numpy_rng"])
    random.setstate(state["python_rng"])
    if "cuda_rng" in state:
        torch.cuda.set_rng_state_all(state["cuda_rng"])


def same(a: dict, b: dict) -> list[str]:
    """The names of the settings that differ between two snapshots."""
    differ = []
    for k in a.keys() | b.keys():
        x, y = a.get(k), b.get(k)
        if k in ("torch_rng",):
            equal = torch.equal(x, y)
        elif k == "cuda_rng":
            equal = x is not None and y is not None and all(torch.equal(p, q) for p, q in zip(x, y))
        elif k == "numpy_rng":
            equal = x[0] == y[0] and np.array_equal(x[1], y[1]) and tuple(x[2:]) == tuple(y[2:])
        else:
            equal = x == y
        if not equal:
            differ.append(k)
    return sorted(differ)


@contextlib.contextmanager
def preserved():
    """Restore on exit every process-wide setting listed in the module docstring."""
    state = snapshot()
    try:
        yield state
    finally:
        restore(state)
