"""Rules that pick one family from the front: pymoo pseudo-weights, the paper's scalar reward, or one column."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from pymoo.mcdm.pseudo_weights import PseudoWeights

from regnas.errors import ConfigError
from regnas.metrics import family_reward

PICK_RULES = ("pseudo-weights[:w1,w2,...]", "reward[:lambda]", "best:COLUMN")
# (minimised objective rows of the front, mean member accuracy per row, family NFR per row) -> chosen row
Picker = Callable[[np.ndarray, np.ndarray, np.ndarray], int]


def make_picker(rule: str, columns: list[str], *, reward_lambda: float) -> Picker:
    """Parse a pick rule (checked before the search starts, so a typo costs no search).

    - ``pseudo-weights`` (default, equal weights) or ``pseudo-weights:0.4,0.4,0.2``: pymoo's pseudo-weight
      decision making on the minimised objective columns, normalised to the front's range.
    - ``reward`` or ``reward:0.5``: the largest ``mean member accuracy - lambda * NFR``
      (``regnas.metrics.family_reward``); lambda is ``reward_lambda`` (``--reward-lambda``) unless given.
    - ``best:COLUMN``: the best family for one objective column, e.g. ``best:nf``.
    """
    name, _, argument = rule.partition(":")
    if name == "pseudo-weights":
        weights = _weights(argument, len(columns)) if argument else np.full(len(columns), 1.0 / len(columns))
        return lambda F, accuracy, nfr: _pseudo_weights_pick(F, weights)
    if name == "reward":
        lam = _float(argument, "reward lambda") if argument else reward_lambda
        return lambda F, accuracy, nfr: int(np.argmax(family_reward(accuracy, nfr, lam)))
    if name == "best":
        if argument not in columns:
            raise ConfigError(f"pick rule {rule!r} names no objective column; columns: {', '.join(columns)}")
        column = columns.index(argument)
        return lambda F, accuracy, nfr: int(np.argmin(F[:, column]))
    raise ConfigError(f"unknown pick rule {rule!r}; allowed: {', '.join(PICK_RULES)}")


def _pseudo_weights_pick(F: np.ndarray, weights: np.ndarray) -> int:
    """pymoo's pseudo-weights on the columns that vary over the front. A column equal on every row (every family
    without flips, say) has no range to normalise by: pymoo would divide by zero, every row's weights would be
    NaN, and the pick silently the first row. Such a column decides nothing, so it is left out and the other
    columns' weights are renormalised."""
    varies = F.max(axis=0) > F.min(axis=0)
    if len(F) < 2 or not varies.any():
        return 0
    kept = weights[varies]
    kept = kept / kept.sum() if kept.sum() > 0 else kept  # all weight on equal columns: every row ties, the first
    return int(PseudoWeights(kept).do(F[:, varies]))


def _weights(text: str, n: int) -> np.ndarray:
    values = [_float(v, "pseudo-weight") for v in text.split(",")]
    if len(values) != n or min(values) < 0 or sum(values) <= 0:
        raise ConfigError(f"pseudo-weights {text!r} must be {n} non-negative numbers, one per objective column")
    weights = np.array(values)
    return weights / weights.sum()


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"{what} {text!r} is not a finite number")
    return value
