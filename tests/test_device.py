"""--device: resolved once, refused with one line when the GPU is not there, CPU results unchanged."""
from __future__ import annotations

import pytest
import torch

from regnas.device import resolve_device
from regnas.errors import ConfigError
from regnas.evaluate import Evaluator

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks what happens on a machine without a GPU")


@no_gpu
def test_auto_is_the_cpu_without_a_gpu():
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@no_gpu
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:3"])
def test_a_missing_gpu_is_refused_not_replaced(spec):
    with pytest.raises(ConfigError, match=rf"device '{spec}' is not available \(no GPU visible\)"):
        resolve_device(spec)


@pytest.mark.parametrize("spec", ["gpu", "cuda:", "cuda:x", "CPU", ""])
def test_unknown_device_names_are_refused(spec):
    with pytest.raises(ConfigError, match="is not one of auto, cpu, cuda or cuda:N"):
        resolve_device(spec)


def test_cpu_evaluation_keeps_its_predictions_and_cache_key(tiny_supernet, tiny_data):
    """Naming the CPU changes nothing: caches written before --device existed stay valid."""
    arch = tiny_supernet.space.largest()
    implicit = Evaluator(tiny_supernet, tiny_data)
    explicit = Evaluator(tiny_supernet, tiny_data, device="cpu")
    assert explicit.cache_key == implicit.cache_key
    assert (explicit.predictions(arch) == implicit.predictions(arch)).all()


@no_gpu
@pytest.mark.parametrize("flags, message", [
    (["--device", "cuda"], "device 'cuda' is not available"),
    (["--device", "tpu"], "device 'tpu' is not one of"),
])
def test_regnas_evolve_refuses_bad_devices_in_one_line(tmp_path, capsys, flags, message):
    from regnas.cli.evolve import main

    assert main(["--out", str(tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
