"""The once-for-all MobileNetV3 space for 32x32 images: elastic depth, kernel and expand ratio; readable strings.

Genes, stage by stage (5 stages x 9 genes): ``s1.depth`` in {2, 3, 4}, then for each of the 4 layer slots
``s1.l1.kernel`` in {3, 5, 7} and ``s1.l1.expand`` in {3, 4, 6}. A stage of depth d runs its first d layers;
the genes of the others stay in the genome (a depth mutation may wake them) but change nothing.

Canonical string: the five stages joined by ``|``, each the ``-``-joined list of its active layers as
``k<kernel>e<expand>``; the depth is the length of the list::

    k3e4-k5e6|k7e3-k3e3-k5e4|k3e3-k3e3|k7e6-k7e6-k7e6-k7e6|k5e4-k3e6

Inactive layers are not written, so a string parses to the architecture whose inactive genes hold
``INACTIVE`` (kernel 3, expand 3); ``sample`` draws architectures in that form.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from regnas.errors import InvalidArchError
from search_spaces.base import Arch, DefaultProblem, Gene, SearchSpace, Setting
from search_spaces.mobilenetv3.modules import MAX_DEPTH

N_STAGES = 5
DEPTHS = (2, 3, 4)
KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
INACTIVE = (3, 3)  # kernel and expand an inactive layer holds in the canonical form
GENES_PER_STAGE = 1 + 2 * MAX_DEPTH
_LAYER_RE = re.compile(r"^k(\d+)e(\d+)$")
_FORMAT = "five '|'-separated stages of 2-4 '-'-separated layers k<3|5|7>e<3|4|6>, e.g. k3e4-k5e6|k7e3-k3e3-k5e4|k3e3-k3e3|k7e6-k7e6-k7e6-k7e6|k5e4-k3e6"


def stage_genes(arch: Arch, stage: int) -> tuple[int, list[tuple[int, int]]]:
    """(depth, [(kernel, expand)] of all 4 layer slots) of one stage."""
    g = arch[stage * GENES_PER_STAGE:(stage + 1) * GENES_PER_STAGE]
    return g[0], [(g[1 + 2 * j], g[2 + 2 * j]) for j in range(MAX_DEPTH)]


def active_layers(arch: Arch) -> list[list[tuple[int, int]]]:
    """Per stage, (kernel, expand) of the layers that run."""
    out = []
    for stage in range(N_STAGES):
        depth, layers = stage_genes(arch, stage)
        out.append(layers[:depth])
    return out


def from_active(stages: Sequence[Sequence[tuple[int, int]]]) -> Arch:
    """The canonical architecture whose stages run exactly these layers."""
    genes: list[int] = []
    for layers in stages:
        genes.append(len(layers))
        for j in range(MAX_DEPTH):
            genes.extend(layers[j] if j < len(layers) else INACTIVE)
    return tuple(genes)


class MobileNetV3Space(SearchSpace):
    """OFA-style MobileNetV3 (Cai et al., ICLR 2020) sized for CIFAR: fixed stem and first block, five elastic
    stages of 2-4 inverted-residual layers, final expand, pooling, feature mix, classifier.

    Weight sharing: a layer slot holds the largest weights (7x7 depthwise kernels, 6x expansion); a smaller
    kernel is the centre crop of the 7x7 one (no kernel transformation matrices: see the README), a smaller
    expansion the first channels, the SE widths follow the expansion, and depth d runs the first d slots.
    ``a ⊑ b`` iff per stage depth_a <= depth_b and, on every layer active in a, k_a <= k_b and e_a <= e_b.
    """

    name = "mobilenetv3"
    genes = tuple(
        gene
        for s in range(1, N_STAGES + 1)
        for gene in (Gene(f"s{s}.depth", DEPTHS),
                     *(g for j in range(1, MAX_DEPTH + 1)
                       for g in (Gene(f"s{s}.l{j}.kernel", KERNELS), Gene(f"s{s}.l{j}.expand", EXPANDS))))
    )
    settings = (
        Setting("C", "stem channels; every width scales with it as in OFA (16: stages 24-40-80-112-160, head 960, 1280)",
                reference=16, quick=8, test=4, low=4),
    )
    # The real side: at 16 px the last stages would see 2x2 maps, where 5x5 and 7x7 kernels act as 3x3 ones.
    test_input_shape = (3, 32, 32)
    # A quick supernet (C=8, 15 sandwich epochs on the embedded 4,500 images) reaches 44.7% with its largest network
    # at 0.2 against 29.1% at 0.05 (benchmarks/RESULTS.md, "Search space mobilenetv3"); the shipped one used 0.2.
    learning_rate = 0.2
    default_problem = DefaultProblem(
        platforms=(),
        budgets={"m1": "800kparams", "m2": "1200kparams"},
        why=(
            "parameters of the extracted networks at the quick setting C=8 (0.54M smallest, 1.73M largest): exact and "
            "the same on every machine, where this machine's one table could price only one member (members need "
            "distinct platforms). About 20% and 95% of 400 random "
            "networks fit 800k and 1.2M; the largest fits neither. At other settings give budgets of their own."
        ),
    )

    # ---- strings -----------------------------------------------------------------------------
    def canonical(self, arch: Arch) -> Arch:
        """``arch`` with its inactive layers' genes set to ``INACTIVE``: the form strings parse to."""
        return from_active(active_layers(self.validate(arch)))

    def sample(self, rng: np.random.Generator) -> Arch:
        """Every gene drawn uniformly, then the idle slots' genes reset to ``INACTIVE`` (the form strings parse to)."""
        return self.canonical(super().sample(rng))

    def to_str(self, arch: Arch) -> str:
        return "|".join("-".join(f"k{k}e{e}" for k, e in layers) for layers in active_layers(self.validate(arch)))

    def from_str(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise InvalidArchError(f"mobilenetv3 architecture must be a string, got {type(text).__name__}")
        parts = text.strip().split("|")
        if len(parts) != N_STAGES:
            raise InvalidArchError(f"malformed mobilenetv3 architecture {text!r}: {len(parts)} of {N_STAGES} stages; expected {_FORMAT}")
        stages = []
        for number, part in enumerate(parts, start=1):
            tokens = part.split("-") if part else []
            if not DEPTHS[0] <= len(tokens) <= DEPTHS[-1]:
                raise InvalidArchError(f"malformed mobilenetv3 architecture {text!r}: stage {number} has {len(tokens)} "
                                       f"layers, allowed: {', '.join(map(str, DEPTHS))}; expected {_FORMAT}")
            layers = []
            for token in tokens:
                match = _LAYER_RE.match(token)
                if not match or int(match[1]) not in KERNELS or int(match[2]) not in EXPANDS:
                    raise InvalidArchError(f"malformed mobilenetv3 layer {token!r} in {text!r}; expected {_FORMAT}")
                layers.append((int(match[1]), int(match[2])))
            stages.append(layers)
        return from_active(stages)

    # ---- nesting -----------------------------------------------------------------------------
    @property
    def nesting_groups(self) -> tuple[tuple[int, ...], ...]:
        """A stage's genes together: its depth decides which of its layer genes nesting compares."""
        return tuple(tuple(range(s * GENES_PER_STAGE, (s + 1) * GENES_PER_STAGE)) for s in range(N_STAGES))

    def footprint(self, arch: Arch) -> tuple[int, ...]:
        """Per stage the depth, then per slot the kernel and expand ratio used (0 for a slot not run):
        element-wise order of these vectors is exactly the nesting relation."""
        out: list[int] = []
        for stage in range(N_STAGES):
            depth, layers = stage_genes(self.validate(arch), stage)
            out.append(depth)
            for j, (k, e) in enumerate(layers):
                out.extend((k, e) if j < depth else (0, 0))
        return tuple(out)

    def largest(self) -> Arch:
        return from_active([[(KERNELS[-1], EXPANDS[-1])] * DEPTHS[-1]] * N_STAGES)

    def smallest(self) -> Arch:
        """The architecture nested in every other one."""
        return from_active([[(KERNELS[0], EXPANDS[0])] * DEPTHS[0]] * N_STAGES)

    def repair_chain(self, family: Sequence[Arch], rng: np.random.Generator) -> list[Arch]:
        from search_spaces.mobilenetv3.repair import repair_stage

        family = [list(self.validate(tuple(a))) for a in family]
        for stage in range(N_STAGES):
            block = slice(stage * GENES_PER_STAGE, (stage + 1) * GENES_PER_STAGE)
            for member, genes in zip(family, repair_stage([m[block] for m in family], rng)):
                member[block] = genes
        return [tuple(m) for m in family]

    # ---- networks ----------------------------------------------------------------------------
    def supernet(self, *, init_seed: int = 0, **settings: Any):
        from search_spaces.mobilenetv3.supernet import MobileNetV3Supernet

        return MobileNetV3Supernet(**{**self.supernet_defaults, **settings}, init_seed=init_seed)

    def layers(self, arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
        from search_spaces.mobilenetv3.layers import layer_keys

        return layer_keys(self.validate(arch), {**self.supernet_defaults, **settings}, input_shape)

    def key_schemes(self):
        from search_spaces.mobilenetv3.layers import key_schemes

        return key_schemes()

    def profiling_hooks(self):
        from search_spaces.mobilenetv3 import profiling

        return profiling
