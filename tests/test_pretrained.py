"""The shipped supernets: each found by settings and data, intact, and accurate enough to look at."""
from __future__ import annotations

import pytest
import torch

from evolution.config import SearchConfig
from evolution.session import obtain_supernet
from regnas.data import load_data
from regnas.evaluate import recalibrate_module
from regnas.pretrained import find_pretrained, shipped_supernets
from search_spaces import get_space, list_spaces

SPACE = get_space("nasbench201")
# Accuracy of the largest network on the embedded held-out images below which a shipped supernet is broken.
WORTH_LOOKING_AT = 0.6


@pytest.mark.parametrize("entry", shipped_supernets(), ids=lambda entry: entry["file"])
def test_the_default_run_gets_the_shipped_supernet_without_training(entry):
    space = get_space(entry["space"])
    config = SearchConfig(space=space.name)
    data = load_data("default", seed=0, calibration_size=500, validation_size=1000)
    supernet, path = obtain_supernet(config, space, data, progress=False)
    assert path.name == entry["file"] and supernet.checksum() == entry["checksum"]
    assert entry["provenance"]["data"]["name"] == "cifar10" and entry["provenance"]["data"]["sizes"]["train"] >= 49_000
    # Worth looking at: the largest network, cut out and recalibrated, on the embedded held-out images.
    net = recalibrate_module(supernet.extract(space.largest()), [data.normalize(data.calibration.images)])
    with torch.inference_mode():
        predicted = net(data.normalize(data.validation.images)).argmax(1)
    assert (predicted == data.validation.labels).float().mean() > WORTH_LOOKING_AT


def test_every_space_with_a_shipped_supernet_is_one_of_the_registered_ones():
    assert {e["space"] for e in shipped_supernets()} <= set(list_spaces())


def test_only_matching_settings_and_data_get_it():
    settings = {"C": 8, "N": 1, "num_classes": 10, "in_channels": 3}
    assert find_pretrained("nasbench201", settings, "default") is not None
    assert find_pretrained("nasbench201", settings, "cifar10") is not None
    assert find_pretrained("nasbench201", {**settings, "C": 4}, "default") is None
    assert find_pretrained("nasbench201", settings, "fashion-mnist") is None
    assert find_pretrained("nasbench201", {**settings, "in_channels": 1}, "npz") is None
