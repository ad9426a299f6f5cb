"""LONDON's Lipschitz term: spectral norms, zero loss, gradients, numerical safety."""
import pytest
import torch

from mmkd.models.losses import DistillContext
from mmkd.models.losses.lipschitz import (LipschitzLoss, _gram_operator, spectral_norm,
                                         transmitting_matrix)


def exact(tm):
    return torch.linalg.matrix_norm(tm.double(), ord=2).float()


@pytest.mark.parametrize('mode', ['paper', 'fast'])
def test_power_iteration_matches_matrix_norm_on_random_matrices(mode):
    torch.manual_seed(0)
    tm = torch.randn(8, 16, 32)
    # 10 iterations from a random start: within 2% on Gaussian 16x32 matrices (measured
    # spectral gaps make the error far smaller; 2% is the stated bound).
    assert torch.allclose(spectral_norm(tm, iters=10, mode=mode), exact(tm), rtol=2e-2)
    # 50 iterations: within 0.1%.
    assert torch.allclose(spectral_norm(tm, iters=50, mode=mode), exact(tm), rtol=1e-3)


@pytest.mark.parametrize('shape', [(2, 600, 300), (64, 40, 80)], ids=['implicit', 'explicit'])
def test_both_ways_of_applying_the_gram_matrix_agree(shape):
    torch.manual_seed(2)
    b, c1, c2 = shape  # noise plus a rank-one spike: a clear gap for the power iteration
    spike = torch.randn(b, c1, 1, dtype=torch.float64) @ torch.randn(b, 1, c2,
                                                                     dtype=torch.float64)
    tm = (torch.randn(*shape, dtype=torch.float64) + spike).requires_grad_()
    v = torch.rand(shape[0], shape[1], 1, dtype=torch.float64)
    expected = torch.bmm(torch.bmm(tm, tm.transpose(1, 2)), v)
    assert torch.allclose(_gram_operator(tm)(v), expected, rtol=1e-10)
    sigma = spectral_norm(tm, iters=60)
    assert torch.allclose(sigma, torch.linalg.matrix_norm(tm, ord=2), rtol=1e-3)
    grad, = torch.autograd.grad(sigma.sum(), tm)
    u, s, vh = torch.linalg.svd(tm.detach())
    top = u[..., :, :1] @ vh[..., :1, :]  # d sigma_max / d tm = u1 v1^T
    assert torch.allclose(grad, top, atol=2e-2)


def test_power_iteration_on_rank_deficient_matrices():
    torch.manual_seed(1)
    u, v = torch.randn(4, 12, 2), torch.randn(4, 2, 20)
    tm = u @ v  # rank 2
    assert torch.allclose(spectral_norm(tm, iters=30, init='ones'), exact(tm), rtol=1e-3)
    zero = torch.zeros(2, 5, 7)
    assert torch.equal(spectral_norm(zero, iters=5), torch.zeros(2).fill_(1e-6))


def test_transmitting_matrix_pools_the_larger_map():
    f1, f2 = torch.randn(2, 3, 8, 8), torch.randn(2, 4, 4, 4)
    pooled = torch.nn.functional.avg_pool2d(f1, 2)
    expected = torch.einsum('bchw,bdhw->bcd', pooled, f2) / 16
    assert torch.allclose(transmitting_matrix(f1, f2), expected, atol=1e-6)


def stages(seed, b=2):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, s, s, generator=g) for c, s in ((4, 8), (8, 4), (16, 2))]


def test_zero_when_student_equals_teacher():
    feats = stages(0)
    assert LipschitzLoss(init='ones')(feats, feats).item() == 0.0
    # From random starts the two estimates differ only by the power iteration's error.
    sig2 = exact(transmitting_matrix(feats[0], feats[1])).pow(2).mean().item()
    assert LipschitzLoss(iters=60, scale=1.0, loss_weight=1.0)(feats, feats).item() < 1e-6 * sig2


def test_value_against_direct_computation():
    s, t = stages(1), stages(2)
    loss = LipschitzLoss(iters=60, loss_weight=1.0, scale=1.0, pairs='connected')(s, t)
    expected = 0.0
    for i, w in enumerate((0.25, 0.5)):  # 1 / 2 ** (L - 1 - i), L = 3 stages (reference)
        s_sig = exact(transmitting_matrix(s[i], s[i + 1]))
        t_sig = exact(transmitting_matrix(t[i], t[i + 1]))
        expected += w * ((s_sig - t_sig) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-3)


@pytest.mark.parametrize('mode', ['paper', 'fast'])
def test_gradient_reaches_student_and_matches_finite_differences(mode):
    torch.manual_seed(3)
    s = [f.double().requires_grad_() for f in stages(4)]
    t = [f.double() for f in stages(5)]
    loss_fn = LipschitzLoss(iters=40, init='ones', mode=mode, loss_weight=1.0, scale=1.0,
                            pairs='connected')

    def value():  # compute in float64 to make finite differences meaningful
        return loss_fn.compute(s, t, DistillContext())

    value().backward()
    grad = s[1].grad[0, 0, 0, 0].item()
    assert grad != 0.0
    eps = 1e-5
    with torch.no_grad():
        s[1][0, 0, 0, 0] += eps
        up = value().item()
        s[1][0, 0, 0, 0] -= 2 * eps
        down = value().item()
    assert grad == pytest.approx((up - down) / (2 * eps), rel=1e-3, abs=1e-8)


def test_reference_pairs_use_the_unconnected_next_stage():
    s, raw, t = stages(6), stages(7), stages(8)
    loss = LipschitzLoss(iters=60, loss_weight=1.0, scale=1.0)
    value = loss(s, t, DistillContext(student_raw=raw))
    sig = exact(transmitting_matrix(s[0], raw[1]))
    tsig = exact(transmitting_matrix(t[0], t[1]))
    sig1 = exact(transmitting_matrix(s[1], raw[2]))
    tsig1 = exact(transmitting_matrix(t[1], t[2]))
    expected = 0.25 * ((sig - tsig) ** 2).mean() + 0.5 * ((sig1 - tsig1) ** 2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-3)


def test_finite_on_zero_and_huge_features():
    zeros = [torch.zeros_like(f) for f in stages(0)]
    assert torch.isfinite(LipschitzLoss()(zeros, stages(1)))
    huge = [f * 1e4 for f in stages(2)]
    loss = LipschitzLoss()([f.half() for f in huge], huge)
    assert torch.isfinite(loss)
    zeros = [torch.zeros_like(f).requires_grad_() for f in stages(0)]
    LipschitzLoss()(zeros, stages(1)).backward()
    assert all(torch.isfinite(z.grad).all() for z in zeros)


def test_transmitting_matrices_beyond_fp32_squares_do_not_overflow():
    # entries of 1e25: tm tm^T would be 1e50+, past fp32's 3e38
    torch.manual_seed(3)
    tm = torch.randn(3, 20, 30)
    sigma = spectral_norm(tm * 1e25, iters=60)
    assert torch.isfinite(sigma).all()
    assert torch.allclose(sigma / 1e25, exact(tm), rtol=1e-3)
