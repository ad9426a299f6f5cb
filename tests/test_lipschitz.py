"""LONDON's Lipschitz term: spectral norms, zero loss, gradients, numerical safety."""
import json
import os.path as osp

import pytest
import torch

from conftest import FASHION_ROOT, run_tool

from mmkd.models.losses import DistillContext
from mmkd.models.losses.lipschitz import (LipschitzLoss, _gram_operator, _pooled_sums,
                                         cold_start, sigma_along, spectral_norm,
                                         transmitting_matrix, warm_spectral_norm)


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
    assert LipschitzLoss(init='ones', mode='paper')(feats, feats).item() == 0.0
    # From random starts the two estimates differ only by the power iteration's error.
    sig2 = exact(transmitting_matrix(feats[0], feats[1])).pow(2).mean().item()
    loss = LipschitzLoss(iters=60, mode='paper', scale=1.0, loss_weight=1.0)
    assert loss(feats, feats).item() < 1e-6 * sig2
    # 'warm' computes the student's sigma along the Ritz vector, the teacher's as the Ritz
    # value: equal up to rounding
    assert LipschitzLoss(scale=1.0, loss_weight=1.0)(feats, feats).item() < 1e-10 * sig2


@pytest.mark.parametrize('mode', ['paper', 'warm'])
def test_value_against_direct_computation(mode):
    s, t = stages(1), stages(2)
    loss = LipschitzLoss(iters=60, mode=mode, loss_weight=1.0, scale=1.0, pairs='connected')(s, t)
    expected = 0.0
    for i, w in enumerate((0.25, 0.5)):  # 1 / 2 ** (L - 1 - i), L = 3 stages (reference)
        s_sig = exact(transmitting_matrix(s[i], s[i + 1]))
        t_sig = exact(transmitting_matrix(t[i], t[i + 1]))
        expected += w * ((s_sig - t_sig) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-3)


@pytest.mark.parametrize('mode', ['paper', 'fast', 'warm'])
def test_gradient_reaches_student_and_matches_finite_differences(mode):
    torch.manual_seed(3)
    s = [f.double().requires_grad_() for f in stages(4)]
    t = [f.double() for f in stages(5)]
    # converged estimates: Gaussian features have small gaps ('warm' keeps state between
    # calls; enough iterations per call make every call converge)
    loss_fn = LipschitzLoss(iters=40, init='ones', mode=mode, warm_iters=200, loss_weight=1.0,
                            scale=1.0, pairs='connected')

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


@pytest.mark.parametrize('mode', ['paper', 'warm'])
def test_finite_on_zero_and_huge_features(mode):
    zeros = [torch.zeros_like(f) for f in stages(0)]
    assert torch.isfinite(LipschitzLoss(mode=mode)(zeros, stages(1)))
    huge = [f * 1e4 for f in stages(2)]
    loss = LipschitzLoss(mode=mode)([f.half() for f in huge], huge)
    assert torch.isfinite(loss)
    zeros = [torch.zeros_like(f).requires_grad_() for f in stages(0)]
    LipschitzLoss(mode=mode)(zeros, stages(1)).backward()
    assert all(torch.isfinite(z.grad).all() for z in zeros)
    if mode == 'warm':  # features of 1e12: squares past fp32 in the matrices' Gram products
        huge = [f * 1e12 for f in stages(3)]
        sig = LipschitzLoss(mode=mode).warm_sigmas({'p': (huge[0], huge[1])})['p'][0]
        want = exact(transmitting_matrix(huge[0].double(), huge[1].double()))
        assert torch.isfinite(sig).all() and torch.allclose(sig, want, rtol=1e-3)


def test_transmitting_matrices_beyond_fp32_squares_do_not_overflow():
    # entries of 1e25: tm tm^T would be 1e50+, past fp32's 3e38
    torch.manual_seed(3)
    tm = torch.randn(3, 20, 30)
    sigma = spectral_norm(tm * 1e25, iters=60)
    assert torch.isfinite(sigma).all()
    assert torch.allclose(sigma / 1e25, exact(tm), rtol=1e-3)


# -- mode='warm': warm-started subspace iteration ---------------------------------------------
def spiked(b, c1, c2, seed, gap=3.0):
    """Gaussian matrices plus a rank-one spike: a clear gap, as real transmitting matrices have."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(b, c1, c2, generator=g, dtype=torch.float64)
    u = torch.randn(b, c1, 1, generator=g, dtype=torch.float64)
    v = torch.randn(b, 1, c2, generator=g, dtype=torch.float64)
    return noise + gap * u @ v


def test_warm_spectral_norm_from_cold_and_warm_starts():
    tm = torch.stack([spiked(6, 12, 20, 0), spiked(6, 12, 20, 1)])  # (G=2, B=6, 12, 20)
    exact_sigma = torch.linalg.svdvals(tm)[..., 0]
    sigma, v, nxt = warm_spectral_norm(tm, cold_start(12, groups=2, dtype=tm.dtype), iters=30)
    assert torch.allclose(sigma, exact_sigma, rtol=1e-9)
    # v is the unit top left singular vector, and sigma = |tm^T v|
    assert torch.allclose(v.norm(dim=-2).squeeze(-1), torch.ones(2, 6, dtype=tm.dtype))
    assert torch.allclose((tm.transpose(-1, -2) @ v).norm(dim=-2).squeeze(-1), sigma)
    # the next start is an orthonormal pair of columns
    assert torch.allclose(nxt.transpose(-1, -2) @ nxt, torch.eye(2, dtype=tm.dtype), atol=1e-9)
    # new batches (other samples, same distribution): two iterations from that start
    for seed in range(2, 6):
        tm = torch.stack([spiked(6, 12, 20, 2 * seed), spiked(6, 12, 20, 2 * seed + 1)])
        sigma, _, nxt = warm_spectral_norm(tm, nxt, iters=2)
        exact_sigma = torch.linalg.svdvals(tm)[..., 0]
        assert ((sigma - exact_sigma) / exact_sigma).abs().max() < 1e-3
        assert (sigma <= exact_sigma * (1 + 1e-12)).all()  # a Rayleigh quotient: never above
    with pytest.raises(ValueError, match='iters >= 1'):
        warm_spectral_norm(tm, nxt, iters=0)
    kept = tm.clone()
    warm_spectral_norm(tm, nxt)
    assert torch.equal(tm, kept)  # only overwrite=True scales tm in place


def test_warm_start_pair_finds_samples_whose_leading_directions_swap():
    # Rank-2 samples sharing two directions a, b; half weigh a more, half b. One shared
    # start vector (the batch mean of the top vectors) lies near a: for the other half a
    # single power iteration barely moves. Two columns span both: Rayleigh-Ritz is exact.
    g = torch.Generator().manual_seed(0)
    a, b = torch.linalg.qr(torch.randn(16, 2, generator=g, dtype=torch.float64))[0].T
    right = torch.randn(8, 2, 24, generator=g, dtype=torch.float64)
    w = torch.tensor([[1.0, 0.9]] * 4 + [[0.9, 1.0]] * 4, dtype=torch.float64)
    tm = (w[:, 0, None, None] * a[:, None] * right[:, None, 0]
          + w[:, 1, None, None] * b[:, None] * right[:, None, 1])
    exact_sigma = torch.linalg.svdvals(tm)[:, 0]
    start = torch.stack([a + 0.1 * b, b - 0.1 * a], -1) / (1.01 ** 0.5)
    sigma, _, _ = warm_spectral_norm(tm[None], start[None], iters=1)
    assert torch.allclose(sigma[0], exact_sigma, rtol=1e-9)
    one = start.clone()
    one[:, 1] = 0  # the first column alone: a power iteration from near a
    sigma, _, _ = warm_spectral_norm(tm[None], one[None], iters=1)
    assert ((sigma[0] - exact_sigma) / exact_sigma).abs().max() > 1e-3


@pytest.mark.parametrize('sizes', [((8, 8), (4, 4)), ((7, 7), (3, 3)), ((4, 4), (4, 4))],
                         ids=['pooled', 'adaptive', 'same'])
def test_sigma_along_is_the_product_with_the_transmitting_matrix(sizes):
    g = torch.Generator().manual_seed(0)
    f1 = torch.randn(3, 5, *sizes[0], generator=g, dtype=torch.float64, requires_grad=True)
    f2 = torch.randn(3, 6, *sizes[1], generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.nn.functional.normalize(torch.randn(3, 5, 1, generator=g, dtype=torch.float64),
                                      dim=1)
    direct = (transmitting_matrix(f1, f2).transpose(1, 2) @ v).flatten(1).norm(dim=1)
    value = sigma_along(f1, f2, v, direct.detach())
    assert torch.allclose(value, direct, rtol=1e-12)
    g_direct = torch.autograd.grad(direct.sum(), (f1, f2))
    g_value = torch.autograd.grad(value.sum(), (f1, f2))
    for a, b in zip(g_value, g_direct):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize('sizes', [((8, 8), (4, 4)), ((8, 6), (2, 3)), ((7, 7), (3, 3)),
                                   ((4, 4), (4, 4))])
def test_pooled_sums_are_the_average_pool_times_the_window(sizes):
    f1, f2 = torch.randn(2, 3, *sizes[0]), torch.randn(2, 3, *sizes[1])
    sums, n = _pooled_sums(f1, f2)
    assert n == (sizes[0][0] * sizes[0][1]) // (sizes[1][0] * sizes[1][1]) or n == 1
    average = torch.nn.functional.adaptive_avg_pool2d(f1, sizes[1])
    assert torch.allclose(sums / n, average, atol=1e-6)


def exact_loss(student, teacher, weights=(0.25, 0.5)):
    """The loss on exact, differentiable sigmas (``pairs='connected'``)."""
    total = 0.0
    for i, w in enumerate(weights):
        s = torch.linalg.svdvals(transmitting_matrix(student[i], student[i + 1]))[:, 0]
        t = torch.linalg.svdvals(transmitting_matrix(teacher[i], teacher[i + 1]))[:, 0]
        total = total + w * ((s - t) ** 2).mean()
    return total


def test_warm_gradient_is_the_gradient_of_the_exact_sigma():
    s = [f.double().requires_grad_() for f in stages(4, b=3)]
    t = [f.double() for f in stages(5, b=3)]
    loss_fn = LipschitzLoss(mode='warm', warm_iters=200, loss_weight=1.0, scale=1.0,
                            pairs='connected')  # converged: Gaussian features, small gaps
    loss_fn.compute(s, t, DistillContext())  # float64 (forward computes in fp32): cold
    value = loss_fn.compute(s, t, DistillContext())  # warm
    grads = torch.autograd.grad(value, s)
    expected = exact_loss(s, t)
    assert value.item() == pytest.approx(expected.item(), rel=1e-9)
    for got, want in zip(grads, torch.autograd.grad(expected, s)):
        assert torch.allclose(got, want, rtol=1e-6, atol=1e-12)


def test_warm_mode_default_iterations_on_new_batches():
    # every call a new batch; two iterations per call from the last call's subspace
    loss_fn = LipschitzLoss(mode='warm', loss_weight=1.0, scale=1.0, pairs='connected')
    for seed in range(6):
        g = torch.Generator().manual_seed(seed)
        common = [torch.randn(1, c, s, s, generator=g) for c, s in ((4, 8), (8, 4), (16, 2))]
        # samples share a dominant component (as real features do: positive means)
        s = [(c + 0.5 * torch.randn(8, *c.shape[1:], generator=g) + 1).double().requires_grad_()
             for c in common]
        t = [(c + 0.5 * torch.randn(8, *c.shape[1:], generator=g) + 1).double() for c in common]
        value = loss_fn.compute(s, t, DistillContext())
        expected = exact_loss(s, t)
        assert value.item() == pytest.approx(expected.item(), rel=1e-3)
    grads = torch.autograd.grad(value, s)
    for got, want in zip(grads, torch.autograd.grad(expected, s)):
        assert (got - want).norm() <= 1e-2 * want.norm()


def test_warm_subspaces_are_not_saved_and_loading_tolerates_them():
    holder = torch.nn.ModuleDict({'london': LipschitzLoss(mode='warm')})
    holder['london'](stages(0), stages(1))
    buffers = dict(holder.named_buffers())
    assert set(buffers) == {'london.warm_start_student_0', 'london.warm_start_student_1',
                            'london.warm_start_teacher_0', 'london.warm_start_teacher_1'}
    assert buffers['london.warm_start_student_1'].shape == (8, 2)
    assert holder.state_dict() == {}  # non-persistent: checkpoints neither hold nor need them
    fresh = torch.nn.ModuleDict({'london': LipschitzLoss(mode='warm')})
    fresh.load_state_dict(holder.state_dict())  # strict
    # a checkpoint that holds them (saved by other code) loads as well, strictly
    stray = {'london.warm_start_student_0': torch.zeros(4, 2)}
    fresh.load_state_dict(stray)
    holder.load_state_dict(stray)
    assert torch.equal(holder['london'].warm_start_student_0,
                       buffers['london.warm_start_student_0'])  # kept, not overwritten


def test_warm_mode_survives_batch_and_stage_shape_changes():
    loss_fn = LipschitzLoss(mode='warm', init='ones', pairs='connected')
    loss_fn(stages(0, b=2), stages(1, b=2))
    before = loss_fn.warm_start_student_0
    assert torch.isfinite(loss_fn(stages(2, b=5), stages(3, b=5)))  # other batch size: warm
    assert loss_fn.warm_start_student_0 is not before
    g = torch.Generator().manual_seed(4)
    wider = [torch.randn(3, c, s, s, generator=g) for c, s in ((6, 8), (10, 4), (16, 2))]
    assert torch.isfinite(loss_fn(wider, wider))  # other channel counts: a cold start
    assert loss_fn.warm_start_student_0.shape == (6, 2)
    assert loss_fn.warm_start_teacher_1.shape == (10, 2)
    loss_fn([f.double() for f in wider], [f.double() for f in wider])  # other dtype: cold


def test_stacked_pairs_give_the_same_sigmas():
    # student pairs use the unconnected next stage: C2 differs from the teacher's, C1 not,
    # so stacking pads the student's matrices with zero columns
    g = torch.Generator().manual_seed(0)
    student = [torch.randn(4, c, s, s, generator=g, dtype=torch.float64)
               for c, s in ((4, 8), (8, 4), (16, 2))]
    raw = [torch.randn(4, c, s, s, generator=g, dtype=torch.float64)
           for c, s in ((3, 8), (6, 4), (12, 2))]
    teacher = [torch.randn(4, c, s, s, generator=g, dtype=torch.float64)
               for c, s in ((4, 8), (8, 4), (16, 2))]
    pairs = {**{f'student_{i}': (student[i], raw[i + 1]) for i in range(2)},
             **{f'teacher_{i}': (teacher[i], teacher[i + 1]) for i in range(2)}}
    stacked, apart = (LipschitzLoss(mode='warm', init='ones') for _ in range(2))
    for _ in range(3):
        a, b = stacked.warm_sigmas(pairs, stack=True), apart.warm_sigmas(pairs, stack=False)
        for name in pairs:
            assert torch.allclose(a[name][0], b[name][0], rtol=1e-9)
            assert torch.allclose(a[name][1], b[name][1], atol=1e-9)
        assert torch.allclose(stacked.warm_start_student_0, apart.warm_start_student_0,
                              atol=1e-9)
    for name, (f1, f2) in pairs.items():  # Gaussian noise, small gaps: a loose bound
        assert torch.allclose(a[name][0], exact(transmitting_matrix(f1, f2)).double(), rtol=1e-2)


def test_warm_sigmas_by_role_and_bad_arguments():
    loss_fn = LipschitzLoss(mode='warm', init='ones')
    feats = [f.requires_grad_() for f in stages(6, b=3)]
    sig = loss_fn.sigmas(feats, role='extra')
    assert {n for n, _ in loss_fn.named_buffers()} == {'warm_start_extra_0',
                                                       'warm_start_extra_1'}
    for i, value in enumerate(sig):
        want = exact(transmitting_matrix(feats[i].detach(), feats[i + 1].detach()))
        assert torch.allclose(value, want, rtol=1e-4)
    sum(s.sum() for s in sig).backward()
    assert all(f.grad is not None and torch.isfinite(f.grad).all() for f in feats)
    with pytest.raises(ValueError, match='warm_iters'):
        LipschitzLoss(mode='warm', warm_iters=0)
    with pytest.raises(ValueError, match='mode'):
        LipschitzLoss(mode='lazy')
    with pytest.raises(ValueError, match="'paper' or 'fast'"):
        spectral_norm(torch.ones(1, 2, 2), mode='warm')


def test_warm_mode_stays_within_1e3_of_exact_svd_on_a_real_training_run(tmp_path):
    """A real Distiller (ResNet-56 -> ResNet-20 of the LONDON CIFAR config, a random teacher
    with calibrated BN) trains on Fashion-MNIST in 'warm' mode; at every step the sigmas of
    both networks' pairs, and the loss, are within 1e-3 of those of exact SVD."""
    if not osp.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing')
    out = tmp_path / 'london.json'
    run_tool(['tools/benchmark/london_power_iteration.py', '--batch-size', '16', '--steps', '8',
              '--modes', 'warm', '--timed', '1', '--repeats', '1', '--out', str(out),
              '--out-dir', str(tmp_path)])
    result = json.loads(out.read_text())
    assert len(result['rows']) == 8
    warm = result['summary']['warm']
    assert warm['max_sigma_error'] <= 1e-3, result['rows']
    assert warm['max_loss_error'] <= 1e-3, result['rows']
