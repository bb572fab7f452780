"""Data sets as plug-ins: each one module that reads its files, registered by name (like the search spaces)."""
from regnas.datasets.cifar10 import CIFAR10
from regnas.datasets.embedded import EMBEDDED
from regnas.datasets.fashion_mnist import FASHION_MNIST
from regnas.datasets.npz import NPZ
from regnas.datasets.registry import DataSet, RawData, get_dataset, list_datasets, register_dataset

for _dataset in (EMBEDDED, CIFAR10, FASHION_MNIST, NPZ):
    register_dataset(_dataset)

__all__ = ["DataSet", "RawData", "get_dataset", "list_datasets", "register_dataset"]
