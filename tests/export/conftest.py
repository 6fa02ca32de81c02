"""Fixtures of the export tests: onnxruntime (skipped when not installed) and quiet
exporters (torch.onnx logs a warning per missing torchvision operator)."""

import logging
import warnings

import pytest


@pytest.fixture(autouse=True)
def quiet_exporter():
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    logging.getLogger("torch.export").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture
def ort():
    return pytest.importorskip("onnxruntime")
