"""Unpickling that builds arrays and plain data only, for pickled data files (CIFAR-10 batches) from others."""
from __future__ import annotations

import codecs
import pickle

import numpy as np


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, str, bytes, numbers and numpy arrays, and nothing else: the CIFAR-10 batch
    files are pickles, and a crafted pickle would otherwise run any code it names when loaded."""

    # What numpy arrays (and Python 2 byte strings read under Python 3) pickle as; each only builds data.
    _ALLOWED = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): np.zeros(1).__reduce__()[0],
        ("numpy._core.multiarray", "_reconstruct"): np.zeros(1).__reduce__()[0],
        ("numpy.core.numeric", "_frombuffer"): np.zeros(1).__reduce_ex__(5)[0],
        ("numpy._core.numeric", "_frombuffer"): np.zeros(1).__reduce_ex__(5)[0],
        ("_codecs", "encode"): codecs.encode,
    }

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not an array or plain data") from None
