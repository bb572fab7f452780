"""The NATS-Bench size space: five channel genes in {8, ..., 64}, strings ``C0:C1:C2:C3:C4`` as NATS-Bench writes them."""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from regnas.errors import ConfigError, InvalidArchError
from search_spaces.base import Arch, DefaultProblem, Gene, SearchSpace, Setting

CHANNELS = (8, 16, 24, 32, 40, 48, 56, 64)
N_GENES = 5
# The cells whose skip_connect maps (C_in -> C_out) = (C1 -> C2) and (C3 -> C4): a 1x1 conv + BN where
# the two differ, the identity where they are equal (the first cell maps C0 -> C0: always the identity).
PROJECTING_CELLS = ((1, 2), (3, 4))


class DivisorSetting(Setting):
    """A setting that divides every channel count, so it must divide their step (8)."""

    def check(self, value: Any, space: str) -> int:
        value = super().check(value, space)
        if CHANNELS[0] % value:
            raise ConfigError(f"{space} setting {self.name}={value} does not divide the channel counts; allowed: 1, 2, 4, 8")
        return value


def widths(arch: Arch, settings: Mapping[str, Any]) -> tuple[int, ...]:
    """The channels the network of ``arch`` has at these settings (each gene over the divisor)."""
    divisor = int(settings.get("div", 1))
    return tuple(int(c) // divisor for c in arch)


def projections(arch: Arch) -> tuple[int, ...]:
    """1 for each of the two later cells whose skip_connect is a projection (its widths differ), else 0."""
    return tuple(int(arch[i] != arch[o]) for i, o in PROJECTING_CELLS)


class NATSSizeSpace(SearchSpace):
    """NATS-Bench's size space (Dong et al., TPAMI 2021): the fixed cell
    ``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|`` in
    NATS-Bench's size skeleton, channels ``C0:C1:C2:C3:C4`` each in {8, ..., 64}: 32,768 networks.

    Weights are shared by prefix channels (each layer stored at 64 channels, a network takes the first C_i).
    Nesting: ``a ⊑ b`` iff every channel count of a is <= b's **and** every cell whose skip_connect projects
    in a (its input and output widths differ) also projects in b: NATS-Bench's skip_connect is a 1x1 conv
    only where the widths differ and the identity where they agree, so ``b`` with equal widths holds no
    projection weights to contain a's. Hence no single network contains all: ``largest()`` (64:64:64:64:64,
    the most weights) is one of nine maximal networks (``maximal()``).
    """

    name = "nats-size"
    genes = tuple(Gene(f"C{i}", CHANNELS) for i in range(N_GENES))
    settings = (
        DivisorSetting("div", "channel divisor (1, 2, 4 or 8): network C0:..:C4 has C_i/div channels (NATS-Bench: 1)",
                       reference=1, quick=8, test=4),
    )
    image_multiple = 4  # two stride-2 residual blocks: the strided conv and the 2x2 pool must agree
    test_input_shape = (3, 8, 8)

    # ---- strings -----------------------------------------------------------------------------
    def to_str(self, arch: Arch) -> str:
        return ":".join(str(c) for c in self.validate(arch))

    def from_str(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise InvalidArchError(f"nats-size architecture must be a string, got {type(text).__name__}")
        parts = text.strip().split(":")
        allowed = ", ".join(map(str, CHANNELS))
        if len(parts) != N_GENES or not all(p.strip().isdigit() for p in parts):
            raise InvalidArchError(f"malformed nats-size architecture {text!r}; expected C0:C1:C2:C3:C4 "
                                   f"(e.g. 64:32:48:16:8) with each C in {allowed}")
        arch = tuple(int(p) for p in parts)
        for i, c in enumerate(arch):
            if c not in CHANNELS:
                raise InvalidArchError(f"nats-size architecture {text!r}: C{i}={c} is not a channel count; allowed: {allowed}")
        return arch

    # ---- nesting -----------------------------------------------------------------------------
    def footprint(self, arch: Arch) -> tuple[int, ...]:
        return (*self.validate(arch), *projections(arch))

    def largest(self) -> Arch:
        return (CHANNELS[-1],) * N_GENES

    def maximal(self) -> list[Arch]:
        # Per projecting cell: both widths 64 (no projection), or a projection 56 -> 64 or 64 -> 56.
        top, below = CHANNELS[-1], CHANNELS[-2]
        pairs = ((top, top), (below, top), (top, below))
        return [(top, *p, *q) for p, q in itertools.product(pairs, repeat=2)]

    @property
    def nesting_groups(self) -> tuple[tuple[int, ...], ...]:
        return ((0,), *PROJECTING_CELLS)

    def repair_chain(self, family: Sequence[Arch], rng: np.random.Generator) -> list[Arch]:
        """Exact: the genes split into C0 alone and the coupled pairs (C1, C2), (C3, C4); each part is repaired
        by dynamic programming over its states (8 or 64) along the family, ties drawn with ``rng``."""
        family = [self.validate(tuple(a)) for a in family]
        out = [list(a) for a in family]
        for genes in self.nesting_groups:
            states, allowed = _part(len(genes))
            codes = np.array([[CHANNELS.index(a[g]) for g in genes] for a in family])
            for member, state in enumerate(_repair_part(codes, states, allowed, rng)):
                for g, value in zip(genes, states[state]):
                    out[member][g] = CHANNELS[value]
        return [tuple(a) for a in out]

    # ---- networks ----------------------------------------------------------------------------
    def supernet(self, *, init_seed: int = 0, **settings: Any):
        from search_spaces.nats_size.supernet import NATSSizeSupernet

        return NATSSizeSupernet(**{**self.supernet_defaults, **settings}, init_seed=init_seed)

    def layers(self, arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
        from search_spaces.nats_size.layers import layer_keys

        return layer_keys(self.validate(arch), {**self.supernet_defaults, **settings}, input_shape)

    def key_schemes(self):
        from search_spaces.nats_size.layers import key_schemes

        return key_schemes()

    def profiling_hooks(self):
        from search_spaces.nats_size import profiling

        return profiling

    default_problem = DefaultProblem(
        platforms=(),
        budgets={"m1": "3kparams", "m2": "6kparams"},
        why=(
            "parameters of the extracted networks at the quick settings (div=8: channels 1..8): exact and the "
            "same on every machine, where this machine's one table could price only one member (members need "
            "distinct platforms). 3k admits 21% of the space, 6k 79%; the largest network (64:64:64:64:64, "
            "11.7k parameters at div=8) meets neither. At other settings give budgets of their own."
        ),
    )


def _part(n_genes: int) -> tuple[np.ndarray, np.ndarray]:
    """States of one part (tuples of choice indices) and which state may precede which in a chain."""
    states = np.array(list(itertools.product(range(len(CHANNELS)), repeat=n_genes)))
    allowed = (states[:, None, :] <= states[None, :, :]).all(axis=2)
    if n_genes == 2:  # a projection (unequal widths) is contained only in a projection
        projects = states[:, 0] != states[:, 1]
        allowed &= ~projects[:, None] | projects[None, :]
    return states, allowed


def _repair_part(codes: np.ndarray, states: np.ndarray, allowed: np.ndarray, rng: np.random.Generator) -> list[int]:
    """The chain of states, one per member, that changes the fewest genes of ``codes`` (members x genes).

    Forward: the least changes to reach each state of member k; backward: the last state among the
    cheapest, then each earlier one among the cheapest that may precede the one chosen after it.
    """
    change = (states[None, :, :] != codes[:, None, :]).sum(axis=2)
    cost = change.astype(np.float64)
    for k in range(1, len(codes)):
        cost[k] += np.where(allowed, cost[k - 1][:, None], np.inf).min(axis=0)
    chosen = [0] * len(codes)
    candidates = np.ones(len(states), dtype=bool)
    for k in range(len(codes) - 1, -1, -1):
        masked = np.where(candidates, cost[k], np.inf)
        best = np.flatnonzero(masked == masked.min())
        chosen[k] = int(best[rng.integers(len(best))]) if len(best) > 1 else int(best[0])
        candidates = allowed[:, chosen[k]]
    return chosen
