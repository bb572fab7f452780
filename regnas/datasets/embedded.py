"""The embedded default data set: a CIFAR-10 subset shipped inside regnas (held-out images from CIFAR-10's test set)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from regnas.datasets.cifar10 import CIFAR10_CLASSES
from regnas.datasets.files import read_jpeg_npz
from regnas.datasets.registry import DataSet, RawData, list_datasets
from regnas.errors import DataError

DEFAULT_RESOURCE = "cifar10_subset.npz"


def _read(path: Path | None) -> RawData:
    if path is not None:
        others = ", ".join(name for name in list_datasets() if name != "default")
        raise DataError(f"dataset 'default' is embedded in regnas and reads no --data-path (got {str(path)!r}); "
                        f"drop it, or name the dataset it holds ({others})")
    with resources.as_file(resources.files("regnas") / "resources" / DEFAULT_RESOURCE) as file:
        arrays = read_jpeg_npz(Path(file))
    return RawData(*arrays, CIFAR10_CLASSES, "embedded CIFAR-10 subset")


EMBEDDED = DataSet("default", "the embedded CIFAR-10 subset (no --data-path)", _read)
