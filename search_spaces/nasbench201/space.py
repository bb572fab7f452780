"""The NAS-Bench-201 cell space: 6 edges x 5 ops, canonical strings as NAS-Bench-201 writes them."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from regnas.errors import InvalidArchError
from search_spaces.base import Arch, DefaultProblem, Gene, SearchSpace, Setting

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Edges (target <- source) in the order of the canonical string |1<-0|+|2<-0|2<-1|+|3<-0|3<-1|3<-2|.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_NODES = 4
# Weight footprint of an op on its edge: parameter-free ops use nothing, conv1x1 the centre tap of
# the edge's 3x3 kernel, conv3x3 the whole kernel.
WEIGHT_LEVEL = {"none": 0, "skip_connect": 0, "avg_pool_3x3": 0, "nor_conv_1x1": 1, "nor_conv_3x3": 2}
PARAMETER_FREE = ("none", "skip_connect", "avg_pool_3x3")
OP_OF_LEVEL = {1: "nor_conv_1x1", 2: "nor_conv_3x3"}
_NODE_RE = re.compile(r"^\|(?:[a-z0-9_]+~\d+\|)+$")


def edge_liveness(arch: Arch) -> tuple[bool, ...]:
    """For each edge, whether its op can change the cell output.

    An edge is dead when its op is ``none``, when it is a parameter-free op reading a node that is
    identically zero, or when its target node has no live path to the output node. (A convolution
    reading a zero node still adds its BatchNorm shift, so it stays live.)
    """
    zero = [False] * N_NODES
    for node in range(1, N_NODES):
        zero[node] = all(
            arch[e] == "none" or (arch[e] in PARAMETER_FREE and zero[src])
            for e, (dst, src) in enumerate(EDGES)
            if dst == node
        )
    contributes = [arch[e] != "none" and not (arch[e] in PARAMETER_FREE and zero[src]) for e, (_, src) in enumerate(EDGES)]
    reaches = [False] * N_NODES
    reaches[N_NODES - 1] = True
    for node in range(N_NODES - 2, -1, -1):
        reaches[node] = any(contributes[e] and reaches[dst] for e, (dst, src) in enumerate(EDGES) if src == node)
    return tuple(contributes[e] and reaches[dst] for e, (dst, _) in enumerate(EDGES))


class NASBench201Space(SearchSpace):
    """NAS-Bench-201: one cell (4 nodes, 6 edges, 5 ops) repeated in a fixed macro network.

    Nesting: ``a ⊑ b`` iff on every edge a's op is parameter-free, or a is conv1x1 and b is conv1x1
    or conv3x3, or both are conv3x3 (the supernet's conv1x1 is the centre tap of the edge's 3x3 kernel).
    """

    name = "nasbench201"
    genes = tuple(Gene(f"edge_{dst}<-{src}", OPS) for dst, src in EDGES)
    settings = (
        Setting("C", "channels of the first stage", reference=16, quick=8, test=4),
        Setting("N", "cells per stage", reference=5, quick=1, test=1),
    )
    image_multiple = 4  # two residual reductions, each halving the side: a strided conv and a 2x2 pool must agree
    # The default family problem: a phone model and a cloud model, each under a latency budget on its own platform.
    default_problem = DefaultProblem(
        platforms=("pixel3", "titan_rtx_1"),
        budgets={"pixel3": "10ms", "titan_rtx_1": "10ms"},
        why="10 ms on the Pixel 3 admits about half of NAS-Bench-201 but neither its best network (27 ms) nor the "
            "largest (39 ms); 10 ms on the Titan RTX admits the best network (9.5 ms) but not the largest",
    )

    def to_str(self, arch: Arch) -> str:
        self.validate(arch)
        nodes = []
        for node in range(1, N_NODES):
            nodes.append("|" + "|".join(f"{arch[e]}~{src}" for e, (dst, src) in enumerate(EDGES) if dst == node) + "|")
        return "+".join(nodes)

    def from_str(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise InvalidArchError(f"nasbench201 architecture must be a string, got {type(text).__name__}")
        parts = text.strip().split("+")
        if len(parts) != N_NODES - 1 or not all(_NODE_RE.match(p) for p in parts):
            raise InvalidArchError(
                f"malformed nasbench201 architecture {text!r}; expected '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' "
                f"with op in {', '.join(OPS)}"
            )
        arch = []
        for node, part in enumerate(parts, start=1):
            tokens = part.strip("|").split("|")
            if len(tokens) != node:
                raise InvalidArchError(f"malformed nasbench201 architecture {text!r}: node {node} needs {node} inputs, got {len(tokens)}")
            for src, token in enumerate(tokens):
                op, _, idx = token.partition("~")
                if int(idx) != src:
                    raise InvalidArchError(f"malformed nasbench201 architecture {text!r}: expected input ~{src} in {token!r}")
                if op not in OPS:
                    raise InvalidArchError(f"unknown nasbench201 op {op!r} in {text!r}; allowed: {', '.join(OPS)}")
                arch.append(op)
        return tuple(arch)

    def functional_key(self, arch: Arch) -> str:
        live = edge_liveness(arch)
        return self.to_str(tuple(op if alive else "none" for op, alive in zip(arch, live)))

    def footprint(self, arch: Arch) -> tuple[int, ...]:
        return tuple(WEIGHT_LEVEL[op] for op in arch)

    def largest(self) -> Arch:
        return ("nor_conv_3x3",) * len(EDGES)

    def repair_chain(self, family: Sequence[Arch], rng: np.random.Generator) -> list[Arch]:
        family = [self.validate(tuple(a)) for a in family]
        columns = [_repair_edge([a[e] for a in family], rng) for e in range(len(EDGES))]
        return [tuple(col[k] for col in columns) for k in range(len(family))]

    def supernet(self, *, init_seed: int = 0, **settings: Any):
        from search_spaces.nasbench201.supernet import NASBench201Supernet

        return NASBench201Supernet(**{**self.supernet_defaults, **settings}, init_seed=init_seed)

    def layers(self, arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
        from search_spaces.nasbench201.layers import layer_keys

        return layer_keys(self.validate(arch), {**self.supernet_defaults, **settings}, input_shape)

    def key_schemes(self):
        from search_spaces.nasbench201.layers import key_schemes

        return key_schemes()

    def profiling_hooks(self):
        from search_spaces.nasbench201 import profiling

        return profiling


def _repair_edge(ops: list[str], rng: np.random.Generator) -> list[str]:
    """Fewest changes that make the weight levels of one edge non-decreasing along the family.

    Dynamic programming over (member, level); among equally cheap repairs one is drawn with ``rng``,
    so the repair favours neither shrinking the large members nor growing the small ones.
    """
    levels = [WEIGHT_LEVEL[op] for op in ops]
    n_levels = 3
    cost = np.zeros((len(ops), n_levels), dtype=np.int64)
    for k, level in enumerate(levels):
        change = np.array([int(target != level) for target in range(n_levels)])
        cost[k] = change + (np.minimum.accumulate(cost[k - 1]) if k else 0)
    targets = [0] * len(ops)
    ceiling = n_levels - 1
    for k in range(len(ops) - 1, -1, -1):
        candidates = cost[k, : ceiling + 1]
        best = np.flatnonzero(candidates == candidates.min())
        targets[k] = ceiling = int(best[rng.integers(len(best))]) if len(best) > 1 else int(best[0])
    out = []
    for op, level, target in zip(ops, levels, targets):
        if target == level:
            out.append(op)
        elif target == 0:
            out.append(PARAMETER_FREE[int(rng.integers(len(PARAMETER_FREE)))])
        else:
            out.append(OP_OF_LEVEL[target])
    return out
