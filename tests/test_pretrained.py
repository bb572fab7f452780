"""The shipped default supernet: found by settings and data, intact, and accurate enough to look at."""
from __future__ import annotations

import torch

from evolution.config import SearchConfig
from evolution.session import obtain_supernet
from regnas.data import load_data
from regnas.evaluate import recalibrate_module
from regnas.pretrained import find_pretrained, shipped_supernets
from search_spaces import get_space

SPACE = get_space("nasbench201")


def test_the_default_run_gets_the_shipped_supernet_without_training():
    (entry,) = [e for e in shipped_supernets() if e["space"] == "nasbench201"]
    config = SearchConfig()
    data = load_data("default", seed=0, calibration_size=500, validation_size=1000)
    supernet, path = obtain_supernet(config, SPACE, data, progress=False)
    assert path.name == entry["file"] and supernet.checksum() == entry["checksum"]
    assert entry["provenance"]["data"]["name"] == "cifar10" and entry["provenance"]["data"]["sizes"]["train"] >= 49_000
    # Worth looking at: the largest network, cut out and recalibrated, on the embedded held-out images.
    net = recalibrate_module(supernet.extract(SPACE.largest()), [data.normalize(data.calibration.images)])
    with torch.inference_mode():
        predicted = net(data.normalize(data.validation.images)).argmax(1)
    assert (predicted == data.validation.labels).float().mean() > 0.6


def test_only_matching_settings_and_data_get_it():
    settings = {"C": 8, "N": 1, "num_classes": 10, "in_channels": 3}
    assert find_pretrained("nasbench201", settings, "default") is not None
    assert find_pretrained("nasbench201", settings, "cifar10") is not None
    assert find_pretrained("nasbench201", {**settings, "C": 4}, "default") is None
    assert find_pretrained("nasbench201", settings, "fashion-mnist") is None
    assert find_pretrained("nasbench201", {**settings, "in_channels": 1}, "npz") is None
