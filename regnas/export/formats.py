"""The export formats: writing a member as ONNX, a torch.export program or a state dict, and running each back."""
from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from regnas.errors import ExportError, UnknownNameError
from regnas.standalone import load_model, save_model

FORMATS = ("onnx", "pt2", "state_dict")
FILE_NAMES = {"onnx": "model.onnx", "pt2": "model.pt2", "state_dict": "model.pt"}
INPUT_NAME, OUTPUT_NAME, BATCH_AXIS = "images", "logits", "batch"
# Traced with two images: a batch of one would let torch.export specialise the batch size to 1.
EXAMPLE_BATCH = 2

Runner = Callable[[torch.Tensor], np.ndarray]


def parse_formats(spec: str | Sequence[str]) -> tuple[str, ...]:
    """``"onnx,pt2"`` or a sequence of names -> the formats in ``FORMATS`` order; unknown names are refused."""
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else [str(n) for n in spec]
    names = [n for n in names if n]
    if not names:
        raise UnknownNameError("export format", str(spec), FORMATS)
    for name in names:
        if name not in FORMATS:
            raise UnknownNameError("export format", name, FORMATS)
    return tuple(f for f in FORMATS if f in names)


def trace(model: nn.Module, example: torch.Tensor) -> torch.export.ExportedProgram:
    """``model`` as a ``torch.export`` program with a dynamic batch size; both the .pt2 and the ONNX file are
    written from this one trace, so they hold the same graph."""
    return torch.export.export(model, (example[:EXAMPLE_BATCH],), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})


def write_pt2(program: torch.export.ExportedProgram, path: Path) -> None:
    torch.export.save(program, path)


def write_onnx(program: torch.export.ExportedProgram, path: Path) -> None:
    """ONNX through torch's ``torch.export``-based exporter (``dynamo=True``; the TorchScript-based one is
    deprecated), input ``images`` of dynamic batch size ``batch``, output ``logits``, weights inside the file."""
    import onnx

    # The exporter reports its steps on stdout; an export is quiet unless it fails.
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(program, f=path, dynamo=True, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          external_data=False, verbose=False)
    model = onnx.load(str(path))
    for value in [*model.graph.input, *model.graph.output]:  # the trace names the batch axis s0, s77, ...
        axis = value.type.tensor_type.shape.dim[0]
        if axis.HasField("dim_param"):
            axis.dim_param = BATCH_AXIS
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


def write_state_dict(model: nn.Module, path: Path, *, space: str, settings: Mapping[str, Any], arch: str,
                     meta: Mapping[str, Any]) -> None:
    """regnas's stand-alone model checkpoint (plain tensors and data, ``torch.load(weights_only=True)``)."""
    save_model(path, model, space=space, settings=settings, arch=arch, **meta)


def write_member(folder: Path, formats: Sequence[str], model: nn.Module, example: torch.Tensor, *, space: str,
                 settings: Mapping[str, Any], arch: str, meta: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``model`` in each of ``formats`` into ``folder``; a failing exporter is one line naming the member
    and the format."""
    files: dict[str, Path] = {}
    program = None
    for fmt in formats:
        path = files[fmt] = folder / FILE_NAMES[fmt]
        try:
            if fmt == "state_dict":
                write_state_dict(model, path, space=space, settings=settings, arch=arch, meta=meta)
                continue
            program = program if program is not None else trace(model, example)
            (write_onnx if fmt == "onnx" else write_pt2)(program, path)
        except Exception as error:  # exporters raise many types; the user needs which model and format failed
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ExportError(f"{arch} could not be exported as {fmt}: {type(error).__name__}: {reason}") from None
    return files


def onnx_runner(path: Path) -> Runner:
    """Logits of the ONNX file from ONNX Runtime's CPU provider (one intra-op thread, like the evaluator)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0])


def module_runner(module: nn.Module) -> Runner:
    """Logits of a PyTorch module (left in the mode it is in; exported and recalibrated members are in eval mode)."""

    def run(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return module(x).numpy()

    return run


def pt2_runner(path: Path) -> Runner:
    return module_runner(torch.export.load(path).module())


def state_dict_runner(path: Path) -> Runner:
    return module_runner(load_model(path)[0])


RUNNERS: dict[str, Callable[[Path], Runner]] = {"onnx": onnx_runner, "pt2": pt2_runner, "state_dict": state_dict_runner}


def onnx_opset(path: Path) -> int:
    """The default-domain opset of an ONNX file (what a runtime must support)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
