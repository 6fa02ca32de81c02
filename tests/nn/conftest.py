import pytest

from rnnkit.nn import native


@pytest.fixture(params=["native", "torch-ops"])
def kernels(request, monkeypatch):
    """Run a test with the C kernels, and again with the torch-op version of the math."""
    if request.param == "native":
        if native.kernels() is None:
            pytest.skip("no C compiler here: the C kernels cannot be built")
    else:
        monkeypatch.setattr(native, "available", lambda *tensors: False)
    return request.param
