"""Focal distillation loss against hand formulas (numpy): weights per sample, KL and L2 distances, its limits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from regnas.errors import ConfigError
from regnas.losses import FocalDistillationLoss

# 3 samples, 3 classes. The old model is right on samples 0 and 2 (argmax 0 == y 0, argmax 2 == y 2)
# and wrong on sample 1 (argmax 0, y 1).
NEW = np.array([[2.0, 0.5, -1.0], [0.2, 0.1, 1.5], [-0.3, 0.8, 0.4]])
OLD = np.array([[1.5, 0.0, -0.5], [1.0, 0.3, -0.2], [0.0, -1.0, 2.0]])
LABELS = np.array([0, 1, 2])


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ce(z: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(-np.log(softmax(z)[np.arange(len(y)), y])))


def kl_times_t2(new: np.ndarray, old: np.ndarray, t: float) -> np.ndarray:
    """T^2 * KL(softmax(old/T) || softmax(new/T)) per sample."""
    p, q = softmax(old / t), softmax(new / t)
    return t * t * np.sum(p * (np.log(p) - np.log(q)), axis=1)


def run(loss: FocalDistillationLoss, new=NEW, old=OLD, labels=LABELS) -> float:
    return float(loss(torch.tensor(new), torch.tensor(old), torch.tensor(labels)))


def test_hand_computed_kl_case():
    t, alpha, beta, kd_alpha = 2.0, 1.0, 5.0, 0.9
    weights = np.array([alpha + beta, alpha, alpha + beta])  # old right, wrong, right
    expected = (1 - kd_alpha) * ce(NEW, LABELS) + kd_alpha * np.mean(weights * kl_times_t2(NEW, OLD, t))
    loss = FocalDistillationLoss(alpha=alpha, beta=beta, temperature=t, kd_alpha=kd_alpha)
    assert run(loss) == pytest.approx(expected, rel=1e-10)
    w, d = loss.terms(torch.tensor(NEW), torch.tensor(OLD), torch.tensor(LABELS))
    np.testing.assert_allclose(w.numpy(), weights)
    np.testing.assert_allclose(d.numpy(), kl_times_t2(NEW, OLD, t), rtol=1e-10)


def test_weights_stay_per_sample():
    # Moving the large distance from an old-correct sample to the old-wrong one must change the loss
    # by the weight ratio; a weighting that averaged weights and distances separately would not see it.
    loss = FocalDistillationLoss(beta=5.0, temperature=1.0, kd_alpha=1.0)
    d = kl_times_t2(NEW, OLD, 1.0)
    assert run(loss) == pytest.approx(np.mean(np.array([6.0, 1.0, 6.0]) * d), rel=1e-10)
    assert run(loss) != pytest.approx(np.mean([6.0, 1.0, 6.0]) * np.mean(d), rel=1e-3)


def test_default_temperature_100():
    loss = FocalDistillationLoss()  # the authors' recipe: KL, T=100, alpha=1, beta=5, kd_alpha=0.9
    d = kl_times_t2(NEW, OLD, 100.0)
    assert run(loss) == pytest.approx(0.1 * ce(NEW, LABELS) + 0.9 * np.mean(np.array([6.0, 1.0, 6.0]) * d), rel=1e-8)


def test_beta_zero_is_plain_distillation():
    # Plain KD (Hinton et al.): (1 - a) * CE + a * T^2 * mean_i KL_i, every sample alike.
    t, a = 4.0, 0.7
    expected = (1 - a) * ce(NEW, LABELS) + a * np.mean(kl_times_t2(NEW, OLD, t))
    assert run(FocalDistillationLoss(alpha=1.0, beta=0.0, temperature=t, kd_alpha=a)) == pytest.approx(expected, rel=1e-10)


def test_kd_alpha_zero_is_cross_entropy():
    assert run(FocalDistillationLoss(kd_alpha=0.0)) == pytest.approx(ce(NEW, LABELS), rel=1e-12)


def test_l2_distance():
    expected_d = np.mean((NEW - OLD) ** 2, axis=1)
    loss = FocalDistillationLoss(alpha=2.0, beta=3.0, kd_alpha=0.5, distance="l2")
    expected = 0.5 * ce(NEW, LABELS) + 0.5 * np.mean(np.array([5.0, 2.0, 5.0]) * expected_d)
    assert run(loss) == pytest.approx(expected, rel=1e-10)


def test_gradient_reaches_only_the_new_model():
    new, old = torch.tensor(NEW, requires_grad=True), torch.tensor(OLD, requires_grad=True)
    FocalDistillationLoss()(new, old, torch.tensor(LABELS)).backward()
    assert new.grad is not None and torch.any(new.grad != 0) and old.grad is None


def test_identical_models_distil_nothing():
    loss = FocalDistillationLoss(kd_alpha=1.0)
    assert run(loss, new=OLD) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"distance": "cosine"}, "unknown distillation distance 'cosine'; allowed: kl, l2"),
    ({"temperature": 0.0}, "temperature must be > 0, got 0.0"),
    ({"kd_alpha": 1.5}, r"kd_alpha must be in \[0, 1\], got 1.5"),
    ({"beta": -1.0}, "weights must be >= 0"),
    ({"alpha": float("nan")}, "alpha must be a finite number"),
])
def test_bad_settings_are_one_line_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message) as error:
        FocalDistillationLoss(**kwargs)
    assert "\n" not in str(error.value)


def test_mismatched_class_counts_are_refused():
    with pytest.raises(ConfigError, match="same classes"):
        run(FocalDistillationLoss(), old=OLD[:, :2])
