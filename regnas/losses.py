"""Focal distillation (Positive-Congruent Training): cross-entropy plus per-sample weighted distillation to an old model."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from regnas.errors import ConfigError

DISTANCES = ("kl", "l2")
# The recipe of the authors' README (see FocalDistillationLoss); the one home of these defaults.
DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_TEMPERATURE, DEFAULT_KD_ALPHA, DEFAULT_DISTANCE = 1.0, 5.0, 100.0, 0.9, "kl"


class FocalDistillationLoss(nn.Module):
    """``(1 - kd_alpha) * CE(new, y) + kd_alpha * mean_i(w_i * D_i)``, ``w_i = alpha + beta * [old correct on i]``.

    Yan et al., "Positive-Congruent Training", CVPR 2021; the authors' public code is
    ``amazon-science/regression-constraint-model-upgrade`` (``ConstrainedUpgrade/losses.py``, focus
    type "old_correct"; the mix with CE in ``train.py``). Per sample i, with ``p = softmax(logits / T)``:

    - ``distance="kl"``: ``D_i = T**2 * KL(p_old_i || p_new_i)`` (the old model is the target
      distribution, as in the authors' ``KLDivLoss(log_softmax(new / T), softmax(old / T))``);
    - ``distance="l2"``: ``D_i = mean_c (new_ic - old_ic)**2`` (the authors' element-wise MSE, whose
      mean over the batch and the classes is this per-sample mean averaged over samples).

    Defaults are the recipe of the authors' README: KL, T = 100, alpha = 1, beta = 5, kd_alpha = 0.9,
    so that a regnas run reproduces their baseline unless told otherwise. One deliberate difference:
    in their KL branch the weights have shape (N, 1) and the distances (N,), which broadcast to an
    N x N matrix whose mean is ``mean(w) * mean(D)``: the focus on samples the old model gets right is
    lost. Here ``w_i`` multiplies its own ``D_i``, as the paper's equation states; ``beta = 0`` is then
    plain knowledge distillation (weights all ``alpha``).

    The old model's logits are a target: no gradient flows into them.
    """

    def __init__(
        self,
        alpha: float = DEFAULT_ALPHA,
        beta: float = DEFAULT_BETA,
        temperature: float = DEFAULT_TEMPERATURE,
        kd_alpha: float = DEFAULT_KD_ALPHA,
        distance: str = DEFAULT_DISTANCE,
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        check_focal_settings(alpha=alpha, beta=beta, temperature=temperature, kd_alpha=kd_alpha,
                             distance=distance, label_smoothing=label_smoothing)
        self.alpha, self.beta, self.temperature = float(alpha), float(beta), float(temperature)
        self.kd_alpha, self.distance, self.label_smoothing = float(kd_alpha), distance, float(label_smoothing)

    def weights(self, old_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``w_i = alpha + beta * [argmax old_i == y_i]``, shape ``(N,)``."""
        old_correct = (old_logits.argmax(dim=1) == labels).to(old_logits.dtype)
        return self.alpha + self.beta * old_correct

    def distances(self, new_logits: torch.Tensor, old_logits: torch.Tensor) -> torch.Tensor:
        """``D_i`` of every sample, shape ``(N,)``."""
        old_logits = old_logits.detach()
        if self.distance == "l2":
            return (new_logits - old_logits).pow(2).mean(dim=1)
        t = self.temperature
        # log-space target: exact for the tiny probabilities a large logit gap gives
        kl = F.kl_div(F.log_softmax(new_logits / t, dim=1), F.log_softmax(old_logits / t, dim=1),
                      reduction="none", log_target=True)
        return kl.sum(dim=1) * t * t

    def terms(self, new_logits: torch.Tensor, old_logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-sample weights and distances ``(w, D)``, each of shape ``(N,)``."""
        check_logits(new_logits, old_logits, labels)
        return self.weights(old_logits.detach(), labels), self.distances(new_logits, old_logits)

    def distillation(self, new_logits: torch.Tensor, old_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The focal distillation term alone: ``mean_i(w_i * D_i)``."""
        weights, distances = self.terms(new_logits, old_logits, labels)
        return (weights * distances).mean()

    def forward(self, new_logits: torch.Tensor, old_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(new_logits, labels, label_smoothing=self.label_smoothing)
        return (1.0 - self.kd_alpha) * ce + self.kd_alpha * self.distillation(new_logits, old_logits, labels)

    def extra_repr(self) -> str:
        return (f"alpha={self.alpha}, beta={self.beta}, temperature={self.temperature}, kd_alpha={self.kd_alpha}, "
                f"distance={self.distance!r}, label_smoothing={self.label_smoothing}")


def check_focal_settings(*, alpha: float, beta: float, temperature: float, kd_alpha: float, distance: str,
                         label_smoothing: float = 0.0) -> None:
    """ConfigError (one line) for a value focal distillation cannot use."""
    if distance not in DISTANCES:
        raise ConfigError(f"unknown distillation distance {distance!r}; allowed: {', '.join(DISTANCES)}")
    for name, value in (("alpha", alpha), ("beta", beta), ("temperature", temperature), ("kd_alpha", kd_alpha),
                        ("label_smoothing", label_smoothing)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ConfigError(f"focal distillation {name} must be a finite number, got {value!r}")
    if alpha < 0 or beta < 0:
        raise ConfigError(f"focal distillation weights must be >= 0, got alpha={alpha}, beta={beta}")
    if alpha == 0 and beta == 0:
        raise ConfigError("focal distillation with alpha=0 and beta=0 distils nothing; use method 'ce' instead")
    if temperature <= 0:
        raise ConfigError(f"distillation temperature must be > 0, got {temperature}")
    if not 0 <= kd_alpha <= 1:
        raise ConfigError(f"kd_alpha must be in [0, 1], got {kd_alpha}")
    if not 0 <= label_smoothing < 1:
        raise ConfigError(f"label smoothing must be in [0, 1), got {label_smoothing}")


def check_logits(new_logits: torch.Tensor, old_logits: torch.Tensor, labels: torch.Tensor) -> None:
    if new_logits.shape != old_logits.shape or new_logits.ndim != 2 or labels.shape != new_logits.shape[:1]:
        raise ConfigError(
            f"new logits {tuple(new_logits.shape)}, old logits {tuple(old_logits.shape)} and labels "
            f"{tuple(labels.shape)} must be (N, classes), (N, classes) and (N,): do both models predict the same classes?"
        )
