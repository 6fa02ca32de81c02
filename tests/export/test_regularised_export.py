"""A model with every regulariser on (layer norm and zoneout on the export path's
own step) under ``rnnkit export``: ONNX run with onnxruntime gives the eager model's
numbers in eval mode (the eager step-by-step and export paths are held to a per-step
reference in tests/nn/test_stepwise.py)."""

import numpy as np
import pytest
import torch

pytest.importorskip("onnxscript")


def test_rnnkit_export_of_a_regularised_language_model(tmp_path, ort):
    """An lm with every regulariser on exports (export_model, as ``rnnkit export``): in
    eval mode the dropouts are the identity and zoneout its expectation, so ONNX gives
    the model's own numbers, the state carried out."""
    import json

    from rnnkit.export import export_model
    from tests.export.tiny_models import make

    module = make("lm", "lstm", layer_norm=True, zoneout=0.2, weight_drop=0.5, input_dropout=0.1,
                  hidden_dropout=0.2, output_dropout=0.1, embedding_dropout=0.1)
    out = tmp_path / "m.onnx"
    export_model(module, module.cfg, out, "onnx", optimize=False)
    doc = json.loads((tmp_path / "m.onnx.json").read_text())
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    ids = torch.randint(1, module.tokenizer.vocab_size, (3, 7))
    arrays = {"ids": ids.numpy(), "lengths": np.full(3, 7), **{
        k: np.zeros([3 if d == "batch" else d for d in shape], np.float32) for k, shape in doc["state"].items()}}
    names = [i["name"] for i in doc["inputs"]]
    got = dict(zip(doc["outputs"], sess.run(None, {n: arrays[n] for n in names})))
    with torch.no_grad():
        logits, (h, c) = module.net(ids)
    np.testing.assert_allclose(got[doc["outputs"][0]], logits.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(got["h_out"], h.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(got["c_out"], c.numpy(), atol=1e-5, rtol=0)
