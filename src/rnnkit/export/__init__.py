"""Models that leave the run directory: ONNX and pt2 graphs with the recurrent state in
and out, and their preprocessing as JSON beside them.

    rnnkit export RUN --format onnx --out model.onnx
        -> model.onnx, model.onnx.json (the preprocessing, README "Export"), and for a
           byte-level BPE tokenizer model.onnx.tokenizer.json (Hugging Face tokenizers)

Python::

    from rnnkit.export import export_run
    files = export_run("runs/notes", "model.onnx", format="onnx")

Both formats are captured once with ``torch.export`` (dynamic batch and time), the
layers taking their export-safe path (:mod:`rnnkit.nn.exportable`): the graph holds
torch operators and loops only, so ``torch.export.load`` (pt2) or onnxruntime (ONNX)
run it without rnnkit. The ONNX graph needs the packages of the ``[export]`` extra
(onnx, onnxscript) to be written, and onnxruntime to be run.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import UsageError
from .describe import describe
from ..io.atomic import write_files_atomic
from .files import check_output_path
from .graphs import GraphSpec, state_shapes, task_graph

__all__ = ["export_run", "export_model", "capture", "FORMATS", "check_output_path", "task_graph",
           "state_shapes", "GraphSpec"]

FORMATS = ("onnx", "pt2")
OPSET = 18


def sidecar_paths(out: Path) -> tuple[Path, Path]:
    """The preprocessing JSON and the tokenizer file written beside ``out``."""
    return out.with_name(out.name + ".json"), out.with_name(out.name + ".tokenizer.json")


def capture(spec: GraphSpec) -> torch.export.ExportedProgram:
    """``torch.export`` of a task graph with its batch and time axes dynamic."""
    if spec.named_dims:
        dims = {"batch": torch.export.Dim("batch", min=1), "time": torch.export.Dim("time", min=1)}
    else:
        dims = {"batch": torch.export.Dim.DYNAMIC, "time": torch.export.Dim.DYNAMIC}
    shapes = tuple({axis: dims[name] for axis, name in d.items()} for d in spec.dynamic)
    with torch.no_grad():
        return torch.export.export(spec.module.eval(), spec.example, dynamic_shapes=shapes, strict=False)


def _onnx_writer(ep, spec: GraphSpec, optimize: bool):
    from .._optional import require

    for name in ("onnxscript", "onnx"):
        require(name, for_what="writing ONNX files (format onnx)")
    import logging
    import warnings

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = torch.onnx.export(ep, dynamo=True, input_names=spec.input_names, output_names=spec.output_names,
                                 opset_version=OPSET, optimize=optimize, verbose=False)

    import onnx

    proto = prog.model_proto
    _name_dynamic_axes(proto, spec)
    _drop_unused_initializers(proto)

    def write(tmp):
        onnx.save_model(proto, str(tmp), save_as_external_data=False)

    return write


def _drop_unused_initializers(proto) -> None:
    """Initializers no node reads (the exporter's optimiser leaves some behind, and
    onnxruntime warns about each when it loads the file)."""
    used = set()

    def walk(graph):
        for node in graph.node:
            used.update(node.input)
            for attr in node.attribute:
                if attr.HasField("g"):
                    walk(attr.g)
                for g in attr.graphs:
                    walk(g)

    walk(proto.graph)
    used.update(o.name for o in proto.graph.output)
    keep = [init for init in proto.graph.initializer if init.name in used]
    if len(keep) != len(proto.graph.initializer):
        del proto.graph.initializer[:]
        proto.graph.initializer.extend(keep)


def _name_dynamic_axes(proto, spec: GraphSpec) -> None:
    """The graph's dynamic axes named ``batch`` and ``time`` (the exporter's own
    symbols are s0, s1, ...), in its inputs and outputs."""
    rename = {}
    for value, dyn in zip(proto.graph.input, spec.dynamic):
        dims = value.type.tensor_type.shape.dim
        for axis, name in dyn.items():
            if axis < len(dims) and dims[axis].dim_param:
                rename[dims[axis].dim_param] = name
    for value in list(proto.graph.input) + list(proto.graph.output) + list(proto.graph.value_info):
        for d in value.type.tensor_type.shape.dim:
            if d.dim_param in rename:
                d.dim_param = rename[d.dim_param]


def export_model(task_module, cfg, out, format: str = "onnx", *, overwrite: bool = False, run=None,
                 optimize: bool = True) -> dict:
    """Export a task module (from :func:`rnnkit.training.load_run`) to ``out``;
    returns {"model": path, "preprocessing": path[, "tokenizer": path]}.

    ``run``: the run directory, whose own files are never overwritten."""
    if format not in FORMATS:
        raise UsageError(f"--format: expected one of {', '.join(FORMATS)}, got {format!r}")
    from ..tasks.registry import declaration

    declaration(cfg.task).spec.require("export", "export")
    if not hasattr(task_module, "net"):
        raise UsageError("export: expected a recurrent model run, got a bag-of-words (model.model bow) run; "
                         "it has no graph to export")
    out = check_output_path(out, overwrite=overwrite, run=run)
    json_path, tok_path = sidecar_paths(out)
    check_output_path(json_path, overwrite=overwrite, run=run, what="--out (its .json)")
    tokenizer = getattr(task_module, "tokenizer", None)
    bpe = tokenizer is not None and tokenizer.kind == "bpe"
    if bpe:
        check_output_path(tok_path, overwrite=overwrite, run=run, what="--out (its .tokenizer.json)")
    task_module = task_module.to("cpu").eval()
    spec = task_graph(task_module, cfg.task)
    ep = capture(spec)
    if format == "pt2":
        def write_model(tmp):
            torch.export.save(ep, str(tmp))
    else:
        write_model = _onnx_writer(ep, spec, optimize)
    doc = describe(task_module, cfg, spec, out.name, format, tok_path.name if bpe else None)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    writers = {out: write_model, json_path: lambda tmp: Path(tmp).write_text(text, encoding="utf-8")}
    files = {"model": str(out), "preprocessing": str(json_path)}
    if bpe:
        tok_text = tokenizer.state_dict()["tokenizer"]
        writers[tok_path] = lambda tmp: Path(tmp).write_text(tok_text, encoding="utf-8")
        files["tokenizer"] = str(tok_path)
    write_files_atomic(writers)
    return files


def export_run(run, out, format: str = "onnx", *, overwrite: bool = False, which: str = "best",
               optimize: bool = True) -> dict:
    """Export the model of a run directory (see :func:`export_model`)."""
    from ..training.trainer import load_run

    module, cfg = load_run(run, which)
    return export_model(module, cfg, out, format, overwrite=overwrite, run=run, optimize=optimize)
