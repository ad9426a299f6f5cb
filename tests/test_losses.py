"""Distillation losses against independent NumPy / math computations."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmkd.models.losses import (ATLoss, ChannelWiseDivergence, DistillContext, DistillLoss,
                                DKDLoss, FitNetLoss, KDLoss, OFDLoss, PKDLoss)
from mmkd.registry import MODELS


def at(level):
    return DistillContext(level=level)


def labels(gt):
    """A context giving the loss its ground-truth labels directly."""
    return DistillContext(values=dict(gt_label=gt))


def _np_log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of a 1-D float64 array, shifted by the max."""
    x = np.asarray(x, dtype=np.float64)
    z = x - x.max()
    return z - math.log(np.exp(z).sum())


def _np_kl(log_p: np.ndarray, log_q: np.ndarray) -> float:
    """KL(p || q) from log-probabilities."""
    p = np.exp(log_p)
    return float((p * (log_p - log_q)).sum())


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- KD
def test_kd_matches_loop_reference():
    s = torch.randn(5, 7, generator=_gen(0)) * 3
    t = torch.randn(5, 7, generator=_gen(1)) * 3
    tau = 4.0
    ref = np.mean([_np_kl(_np_log_softmax(t[i].numpy() / tau), _np_log_softmax(s[i].numpy() / tau))
                   for i in range(5)]) * tau ** 2
    got = KDLoss(tau=tau)(s, t).item()
    assert got == pytest.approx(ref, rel=1e-5, abs=1e-7)
    assert got > 0


def test_kd_dense_averages_over_pixels():
    s = torch.randn(2, 4, 3, 5, generator=_gen(2))
    t = torch.randn(2, 4, 3, 5, generator=_gen(3))
    tau = 2.0
    kls = [_np_kl(_np_log_softmax(t[n, :, h, w].numpy() / tau),
                  _np_log_softmax(s[n, :, h, w].numpy() / tau))
           for n in range(2) for h in range(3) for w in range(5)]
    ref = np.mean(kls) * tau ** 2
    assert KDLoss(tau=tau)(s, t).item() == pytest.approx(ref, rel=1e-5)


def test_kd_zero_when_equal_and_weight_is_linear():
    x = torch.randn(4, 10, generator=_gen(4))
    assert KDLoss()(x, x.clone()).item() == pytest.approx(0.0, abs=1e-6)
    s, t = torch.randn(4, 10, generator=_gen(5)), torch.randn(4, 10, generator=_gen(6))
    base = KDLoss(loss_weight=1.0)(s, t).item()
    assert KDLoss(loss_weight=2.5)(s, t).item() == pytest.approx(2.5 * base, rel=1e-6)
    assert KDLoss(loss_weight=0.0)(s, t).item() == 0.0


def test_kd_finite_on_huge_fp16_logits():
    s = (torch.randn(3, 6, generator=_gen(7)) * 1e4).half()
    t = (torch.randn(3, 6, generator=_gen(8)) * 1e4).half()
    s.requires_grad_(True)
    loss = KDLoss(tau=1.0)(s, t)
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(s.grad).all()
    ref = np.mean([_np_kl(_np_log_softmax(t[i].float().numpy()),
                          _np_log_softmax(s[i].detach().float().numpy())) for i in range(3)])
    assert loss.item() == pytest.approx(ref, rel=1e-4)


def test_kd_class_mismatch_message():
    with pytest.raises(ValueError) as info:
        KDLoss()(torch.randn(2, 10), torch.randn(2, 100))
    msg = str(info.value)
    assert '(2, 10)' in msg and '(2, 100)' in msg
    assert 'class counts differ' in msg and 'teacher' in msg and 'student' in msg


# ------------------------------------------------------------------------- FitNet
def test_fitnet_is_mse():
    s = torch.randn(2, 3, 4, 4, generator=_gen(9))
    t = torch.randn(2, 3, 4, 4, generator=_gen(10))
    ref = float(((s.numpy().astype(np.float64) - t.numpy()) ** 2).mean())
    assert FitNetLoss()(s, t).item() == pytest.approx(ref, rel=1e-6)
    assert FitNetLoss(loss_weight=3.0)(s, t).item() == pytest.approx(3 * ref, rel=1e-6)


# ----------------------------------------------------------------------------- AT
def _np_attention(feat: np.ndarray, p: int) -> np.ndarray:
    n, c, h, w = feat.shape
    out = np.zeros((n, h * w))
    for i in range(n):
        am = np.zeros(h * w)
        for k in range(c):
            am += feat[i, k].reshape(-1).astype(np.float64) ** p
        am /= c
        out[i] = am / max(np.sqrt((am ** 2).sum()), 1e-12)
    return out


def test_at_with_different_channels():
    s = torch.randn(2, 3, 4, 5, generator=_gen(11))
    t = torch.randn(2, 8, 4, 5, generator=_gen(12))
    ref = ((_np_attention(s.numpy(), 2) - _np_attention(t.numpy(), 2)) ** 2).mean()
    assert ATLoss.same_shape is False
    assert ATLoss()(s, t).item() == pytest.approx(ref, rel=1e-5)
    assert ATLoss(loss_weight=4.0)(s, t).item() == pytest.approx(4 * ref, rel=1e-5)


def test_at_pools_the_larger_map():
    s = torch.randn(2, 3, 8, 8, generator=_gen(13))
    t = torch.randn(2, 5, 4, 4, generator=_gen(14))
    pooled = s.numpy().reshape(2, 3, 4, 2, 4, 2).mean(axis=(3, 5))  # 2x2 average pooling
    ref = ((_np_attention(pooled, 2) - _np_attention(t.numpy(), 2)) ** 2).mean()
    assert ATLoss()(s, t).item() == pytest.approx(ref, rel=1e-5)
    # symmetric: the teacher is pooled when it is the larger one
    ref_swapped = ((_np_attention(t.numpy(), 2) - _np_attention(pooled, 2)) ** 2).mean()
    assert ATLoss()(t, s).item() == pytest.approx(ref_swapped, rel=1e-5)


# ---------------------------------------------------------------------------- OFD
class _Teacher(nn.Module):

    def __init__(self, gamma, beta):
        super().__init__()
        self.conv = nn.Conv2d(len(gamma), len(gamma), 1)
        self.bn = nn.BatchNorm2d(len(gamma))
        self.bn2 = nn.BatchNorm2d(1)
        with torch.no_grad():
            self.bn.weight.copy_(torch.tensor(gamma))
            self.bn.bias.copy_(torch.tensor(beta))
            self.bn2.weight.fill_(1.0)
            self.bn2.bias.fill_(0.0)


def _margin_ref(gamma: float, beta: float) -> float:
    s, m = abs(gamma), beta
    cdf = 0.5 * (1 + math.erf(-m / s / math.sqrt(2)))
    if cdf > 0.001:
        pdf = math.exp(-0.5 * (m / s) ** 2) / math.sqrt(2 * math.pi)
        return m - s * pdf / cdf
    return -3 * s


def test_ofd_margin_from_bn():
    gamma, beta = [1.0, -2.0, 0.5, 0.1], [0.0, 1.0, -0.5, 1.0]
    loss = OFDLoss(teacher_bn='bn')
    loss.setup(None, _Teacher(gamma, beta))
    margin = loss.margin_0
    assert margin.shape == (1, 4, 1, 1)
    ref = [_margin_ref(g, b) for g, b in zip(gamma, beta)]
    assert margin.flatten().tolist() == pytest.approx(ref, rel=1e-5)
    # gamma=1, beta=0: E[x | x < 0] of a standard normal is -sqrt(2/pi)
    assert margin[0, 0, 0, 0].item() == pytest.approx(-0.7978845608, rel=1e-6)
    # gamma=0.1, beta=1: Phi(-10) < 0.001, so the margin falls back to -3|gamma|
    assert margin[0, 3, 0, 0].item() == pytest.approx(-0.3, rel=1e-6)
    assert all(v < 0 for v in margin.flatten().tolist())


def test_ofd_masking_rule():
    loss = OFDLoss(teacher_bn='bn2')  # gamma 1, beta 0: margin -0.79788
    loss.setup(None, _Teacher([1.0], [0.0]))
    t = torch.tensor([-2.0, -0.5, 1.0, 0.5]).view(1, 1, 1, 4)
    s = torch.tensor([-1.0, 0.0, 0.5, -3.0]).view(1, 1, 1, 4)
    # target = [-0.798, -0.5, 1, 0.5]; position 0: s < target <= 0 -> ignored;
    # 1: s > target -> 0.25; 2: target > 0 -> 0.25; 3: target > 0 -> 12.25
    assert loss(s, t).item() == pytest.approx(12.75, rel=1e-6)
    s2, t2 = torch.cat([s, s]), torch.cat([t, t])
    assert loss(s2, t2).item() == pytest.approx(12.75, rel=1e-6)  # / batch size
    loss_none = OFDLoss(teacher_bn='bn2', normalize='none', loss_weight=2.0)
    loss_none.setup(None, _Teacher([1.0], [0.0]))
    assert loss_none(s2, t2).item() == pytest.approx(2 * 25.5, rel=1e-6)


def test_ofd_gradient_matches_numpy():
    """The fused partial L2's gradient: 2 (s - target) / B where the mask holds, else 0."""
    loss = OFDLoss(teacher_bn='bn', loss_weight=0.5)
    loss.setup(None, _Teacher([1.0, 0.5, 2.0], [0.0, 1.0, -1.0]))
    generator = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 5, generator=generator, requires_grad=True)
    t = torch.randn(2, 3, 4, 5, generator=generator)
    value = loss(s, t)
    value.backward()
    sn, tn = s.detach().numpy().astype(np.float64), t.numpy().astype(np.float64)
    target = np.maximum(tn, loss.margin_0.numpy().astype(np.float64))
    mask = (sn > target) | (target > 0)
    assert value.item() == pytest.approx(0.5 * ((sn - target) ** 2 * mask).sum() / 2, rel=1e-5)
    np.testing.assert_allclose(s.grad.numpy(), 0.5 * 2 * (sn - target) * mask / 2, rtol=1e-5,
                               atol=1e-7)


def test_ofd_multi_level_and_errors():
    teacher = _Teacher([0.5, 0.5], [3.0, 3.0])  # Phi(-6) < 0.001: margin -1.5
    loss = MODELS.build(dict(type='mmkd.OFDLoss', teacher_bn=['bn', 'bn2']))
    loss.setup(None, teacher)
    t = torch.full((1, 2, 1, 1), -5.0)
    s = torch.zeros(1, 2, 1, 1)
    assert loss.compute(s, t, at(0)).item() == pytest.approx(2 * 1.5 ** 2, rel=1e-6)
    t1, s1 = torch.full((1, 1, 1, 1), -5.0), torch.zeros(1, 1, 1, 1)
    assert loss.compute(s1, t1, at(1)).item() == pytest.approx(0.7978845608 ** 2, rel=1e-5)
    with pytest.raises(ValueError):
        loss.compute(s1, t1, at(0))  # 1 channel against the 2-channel margin of 'bn'
    with pytest.raises(KeyError, match='backbone.missing'):
        OFDLoss(teacher_bn='backbone.missing').setup(None, teacher)
    with pytest.raises(TypeError, match='conv'):
        OFDLoss(teacher_bn='conv').setup(None, teacher)
    with pytest.raises(RuntimeError):
        OFDLoss(teacher_bn='bn')(s, t)


# ---------------------------------------------------------------------------- CWD
def test_cwd_matches_loop_reference():
    s = torch.randn(2, 3, 4, 4, generator=_gen(15)) * 2
    t = torch.randn(2, 3, 4, 4, generator=_gen(16)) * 2
    tau = 3.0
    total = sum(_np_kl(_np_log_softmax(t[n, c].numpy().ravel() / tau),
                       _np_log_softmax(s[n, c].numpy().ravel() / tau))
                for n in range(2) for c in range(3))
    ref = tau ** 2 * total / (2 * 3)
    assert ChannelWiseDivergence(tau=tau)(s, t).item() == pytest.approx(ref, rel=1e-5)
    weighted = ChannelWiseDivergence(tau=tau, loss_weight=0.5)(s, t).item()
    assert weighted == pytest.approx(0.5 * ref, rel=1e-5)


# ---------------------------------------------------------------------------- PKD
def _np_pkd(s: np.ndarray, t: np.ndarray) -> float:
    def norm(x):
        x = x.astype(np.float64)
        out = np.empty_like(x)
        for c in range(x.shape[1]):
            v = x[:, c]
            out[:, c] = (v - v.mean()) / (v.std(ddof=1) + 1e-6)
        return out
    return float(((norm(s) - norm(t)) ** 2).mean() / 2)


def test_pkd_matches_reference_and_is_affine_invariant():
    s = torch.randn(2, 3, 4, 4, generator=_gen(17))
    t = torch.randn(2, 3, 4, 4, generator=_gen(18))
    assert PKDLoss()(s, t).item() == pytest.approx(_np_pkd(s.numpy(), t.numpy()), rel=1e-5)
    assert PKDLoss(loss_weight=2.0)(s, t).item() == pytest.approx(
        2 * _np_pkd(s.numpy(), t.numpy()), rel=1e-5)
    scale = torch.tensor([2.0, 0.5, 10.0]).view(1, 3, 1, 1)
    assert PKDLoss()(s * scale + 7.0, s).item() == pytest.approx(0.0, abs=1e-5)


def test_pkd_resize_and_channel_check():
    s = torch.randn(2, 3, 4, 4, generator=_gen(19))
    t = torch.randn(2, 3, 8, 8, generator=_gen(20))
    s_up = F.interpolate(s, size=(8, 8), mode='bilinear', align_corners=False)
    t_down = F.interpolate(t, size=(4, 4), mode='bilinear', align_corners=False)
    ref_stu = _np_pkd(s_up.numpy(), t.numpy())
    ref_tea = _np_pkd(s.numpy(), t_down.numpy())
    assert abs(ref_stu - ref_tea) > 1e-3  # the two modes are distinguishable
    assert PKDLoss()(s, t).item() == pytest.approx(ref_stu, rel=1e-5)
    assert PKDLoss(resize_stu=False)(s, t).item() == pytest.approx(ref_tea, rel=1e-5)
    with pytest.raises(ValueError, match=r'\(2, 3, 4, 4\).*\(2, 5, 4, 4\)'):
        PKDLoss()(s, torch.randn(2, 5, 4, 4))


# ---------------------------------------------------------------------------- DKD
def _np_dkd(s, t, gt, tau, alpha, beta) -> float:
    n = s.shape[0]
    tckd = nckd = 0.0
    for i in range(n):
        p_s = np.exp(_np_log_softmax(s[i] / tau))
        p_t = np.exp(_np_log_softmax(t[i] / tau))
        g = gt[i]
        b_s, b_t = np.array([p_s[g], 1 - p_s[g]]), np.array([p_t[g], 1 - p_t[g]])
        tckd += float((b_t * np.log(b_t / b_s)).sum())
        rest = [k for k in range(len(p_s)) if k != g]
        q_s, q_t = p_s[rest] / p_s[rest].sum(), p_t[rest] / p_t[rest].sum()
        nckd += float((q_t * np.log(q_t / q_s)).sum())
    return (alpha * tckd + beta * nckd) * tau ** 2 / n


def test_dkd_matches_probability_reference():
    s = torch.randn(6, 5, generator=_gen(21)) * 2
    t = torch.randn(6, 5, generator=_gen(22)) * 2
    gt = torch.tensor([0, 1, 2, 3, 4, 2])
    assert DKDLoss.reads == ('gt_label',)
    for tau, alpha, beta in [(4.0, 1.0, 8.0), (1.0, 0.5, 2.0)]:
        ref = _np_dkd(s.double().numpy(), t.double().numpy(), gt.numpy(), tau, alpha, beta)
        got = DKDLoss(tau=tau, alpha=alpha, beta=beta)(s, t, labels(gt)).item()
        assert got == pytest.approx(ref, rel=1e-4)
    weighted = DKDLoss(loss_weight=3.0)(s, t, labels(gt)).item()
    assert weighted == pytest.approx(3 * DKDLoss()(s, t, labels(gt)).item(), rel=1e-6)


def test_dkd_decomposes_kd_and_is_stable():
    # KL(p_T || p_S) = TCKD + (1 - p_T,gt) * NCKD per sample (Zhao et al., Eq. 5)
    s = torch.randn(1, 4, generator=_gen(23))
    t = torch.randn(1, 4, generator=_gen(24))
    gt = torch.tensor([1])
    tckd = DKDLoss(tau=1.0, alpha=1.0, beta=0.0)(s, t, labels(gt)).item()
    nckd = DKDLoss(tau=1.0, alpha=0.0, beta=1.0)(s, t, labels(gt)).item()
    p_t_gt = torch.softmax(t.double(), 1)[0, 1].item()
    kd = KDLoss(tau=1.0)(s, t).item()
    assert tckd + (1 - p_t_gt) * nckd == pytest.approx(kd, rel=1e-4)
    # a student that is certain of its target: 1 - p_gt underflows, the loss must not
    big = torch.tensor([[200.0, 0.0, 0.0]])
    loss = DKDLoss(tau=1.0)(big, torch.zeros(1, 3), labels(torch.tensor([0])))
    assert torch.isfinite(loss) and loss.item() > 100


def test_all_losses_registered():
    for name in ['KDLoss', 'FitNetLoss', 'ATLoss', 'ChannelWiseDivergence', 'PKDLoss', 'DKDLoss']:
        loss = MODELS.build(dict(type=f'mmkd.{name}', loss_weight=0.5))
        assert isinstance(loss, DistillLoss) and loss.loss_weight == 0.5
