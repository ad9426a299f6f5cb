"""ICDLoss: formulas against NumPy, the scale cap, gradients, ICD+KD wiring, and the
cross-rank all-gather (2 gloo processes)."""
import math
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmkd.models.losses.icd import ICDLoss
from mmkd.registry import MODELS


def numpy_icd(f_s, f_t, w_s, b_s, w_t, b_t, t, bias=0.0, max_scale=10.0, inv_weight=0.5):
    """The reference formulas, independently, in float64."""
    f_s, f_t = np.asarray(f_s, np.float64), np.asarray(f_t, np.float64)
    if f_s.ndim == 4:
        f_s = f_s.mean(axis=(2, 3))
    if f_t.ndim == 4:
        f_t = f_t.mean(axis=(2, 3))
    z_s = f_s @ np.asarray(w_s, np.float64).T + np.asarray(b_s, np.float64)
    z_t = f_t @ np.asarray(w_t, np.float64).T + np.asarray(b_t, np.float64)
    z_s /= np.linalg.norm(z_s, axis=1, keepdims=True)
    z_t /= np.linalg.norm(z_t, axis=1, keepdims=True)
    tau = min(math.exp(t), max_scale)
    s = tau * z_s @ z_t.T + bias
    n = s.shape[0]

    def log_softmax(x, axis):
        m = x.max(axis=axis, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))

    log_p1 = log_softmax(s, 1)
    l_con = -log_p1[np.arange(n), np.arange(n)].mean()
    p2 = np.exp(log_softmax(s, 0)).T
    l_inv = (p2 * (np.log(p2) - log_p1)).sum() / n
    return l_con + inv_weight * l_inv


def params_np(loss):
    return dict(w_s=loss.embed_s.weight.detach().numpy(), b_s=loss.embed_s.bias.detach().numpy(),
                w_t=loss.embed_t.weight.detach().numpy(), b_t=loss.embed_t.bias.detach().numpy(),
                t=loss.logit_scale.item())


@pytest.mark.parametrize('shape', ['vector', 'map'])
def test_matches_numpy(shape):
    torch.manual_seed(0)
    loss = ICDLoss(in_channels_s=12, in_channels_t=20, embed_dim=8, inv_weight=0.5)
    f_s = torch.randn(6, 12, 3, 3) if shape == 'map' else torch.randn(6, 12)
    f_t = torch.randn(6, 20, 3, 3) if shape == 'map' else torch.randn(6, 20)
    expected = numpy_icd(f_s.numpy(), f_t.numpy(), **params_np(loss))
    assert loss(f_s, f_t).item() == pytest.approx(expected, rel=1e-5)
    # the reference's learnable bias on S changes neither softmax: left out, same value
    biased = numpy_icd(f_s.numpy(), f_t.numpy(), **params_np(loss), bias=0.3)
    assert loss(f_s, f_t).item() == pytest.approx(biased, rel=1e-5)
    # checkpoints written while the loss still held the bias load
    loss.load_state_dict(dict(loss.state_dict(), logit_bias=torch.tensor(0.3)))
    # the default scale starts at exp(1.0) (the reference exponentiates its init 1.0)
    assert loss.scale().item() == pytest.approx(math.e)
    # loss_weight and inv_weight
    weighted = ICDLoss(12, 20, embed_dim=8, inv_weight=2.0, loss_weight=0.25)
    weighted.load_state_dict(loss.state_dict())
    expected2 = numpy_icd(f_s.numpy(), f_t.numpy(), **params_np(loss), inv_weight=2.0)
    assert weighted(f_s, f_t).item() == pytest.approx(0.25 * expected2, rel=1e-5)


def test_logit_scale_cap():
    torch.manual_seed(1)
    loss = ICDLoss(8, 8, embed_dim=4)
    with torch.no_grad():
        loss.logit_scale.fill_(5.0)  # exp(5) = 148 > 10
    assert loss.scale().item() == 10.0
    f_s, f_t = torch.randn(5, 8), torch.randn(5, 8)
    expected = numpy_icd(f_s.numpy(), f_t.numpy(), **params_np(loss))
    value = loss(f_s, f_t)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert loss.logit_scale.grad.item() == 0.0  # capped: no gradient to t
    loss = ICDLoss(8, 8, embed_dim=4, max_logit_scale=2.0, init_logit_scale=0.0)
    assert loss.scale().item() == 1.0


def test_gradients_reach_student_side_only():
    torch.manual_seed(2)
    loss = ICDLoss(8, 16, embed_dim=4)
    f_s = torch.randn(6, 8, requires_grad=True)
    f_t = torch.randn(6, 16, requires_grad=True)
    loss(f_s, f_t).backward()
    for name, p in [('W_s', loss.embed_s.weight), ('W_t', loss.embed_t.weight),
                    ('t', loss.logit_scale), ('student feature', f_s)]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert f_t.grad is None  # the base class detaches the teacher feature


def test_bad_inputs_name_both_shapes():
    loss = ICDLoss(8, 16)
    with pytest.raises(ValueError, match=r'\(4, 9\).*\(4, 16\)'):
        loss(torch.randn(4, 9), torch.randn(4, 16))
    with pytest.raises(ValueError, match=r'\(4, 8\).*\(4, 12, 2, 2\)'):
        loss(torch.randn(4, 8), torch.randn(4, 12, 2, 2))
    with pytest.raises(ValueError, match=r'\(4, 8, 2\).*\(4, 16\)'):
        loss(torch.randn(4, 8, 2), torch.randn(4, 16))
    with pytest.raises(ValueError, match='batch'):
        loss(torch.randn(4, 8), torch.randn(3, 16))


def test_gather_without_process_group_is_local():
    torch.manual_seed(3)
    loss = ICDLoss(8, 8, embed_dim=4, gather=True)
    f_s, f_t = torch.randn(5, 8), torch.randn(5, 8)
    assert loss(f_s, f_t).item() == pytest.approx(
        numpy_icd(f_s.numpy(), f_t.numpy(), **params_np(loss)), rel=1e-5)


# -- ICD + KD in the distiller ---------------------------------------------------------------
def classifier(width, classes=10):
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, in_channels=1,
                      base_channels=width, out_indices=(3, )),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=classes, in_channels=width * 8),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', num_classes=classes))


def test_icd_plus_kd_in_distiller(tmp_path):
    torch.manual_seed(4)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        teacher = MODELS.build(classifier(8))
        torch.save({'state_dict': teacher.state_dict()}, tmp_path / 't.pth')
        model = MODELS.build(dict(
            type='mmkd.Distiller', student=classifier(4), teacher=classifier(8),
            teacher_ckpt=str(tmp_path / 't.pth'),
            losses=dict(icd=dict(type='mmkd.ICDLoss', student='neck', teacher='neck',
                                 in_channels_s=32, in_channels_t=64),
                        kd=dict(type='mmkd.KDLoss', student='head.fc', teacher='head.fc',
                                tau=4.0))))
    model.train()
    inputs = torch.randn(6, 1, 16, 16)
    samples = [DataSample().set_gt_label(i % 10) for i in range(6)]
    losses = model.loss(inputs, samples)
    assert {'distill.loss_icd', 'distill.loss_kd', 'loss_student'} <= set(losses)
    total, log_vars = model.parse_losses(losses)
    assert total.item() == pytest.approx(
        (losses['loss_student'] + losses['distill.loss_icd'] + losses['distill.loss_kd']).item(),
        rel=1e-6)
    total.backward()
    icd = model.distill_losses['icd']
    assert icd.embed_s.weight.grad is not None and icd.embed_t.weight.grad is not None
    assert all(p.grad is None for p in model.teacher.parameters())
    assert any(p.grad is not None for p in model.student.backbone.parameters())


# -- two processes (gloo) ----------------------------------------------------------------------
def _data(n=8, cs=6, ct=10):
    g = torch.Generator().manual_seed(5)
    return torch.randn(n, cs, generator=g), torch.randn(n, ct, 2, 2, generator=g)


def _grads(loss):
    return [loss.embed_s.weight.grad, loss.embed_t.weight.grad, loss.logit_scale.grad]


def _worker(rank, world, init_file, out_dir, splits):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        results = []
        f_s_all, f_t_all = _data()
        for split in splits:
            torch.manual_seed(0)
            loss = ICDLoss(6, 10, embed_dim=4, gather=True)
            lo = sum(split[:rank])
            f_s = f_s_all[lo:lo + split[rank]].clone().requires_grad_(True)
            value = loss(f_s, f_t_all[lo:lo + split[rank]])
            value.backward()
            grads = [g.clone() for g in _grads(loss)]
            for g in grads:
                dist.all_reduce(g)
                g /= world  # what DDP does
            results.append(dict(loss=value.detach(), grads=grads, feat_grad=f_s.grad))
        torch.save(results, os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def test_gather_two_processes_equal_single_process(tmp_path):
    splits = [(4, 4), (5, 3)]  # equal halves, and unequal batches (padded gather)
    mp.spawn(_worker, args=(2, str(tmp_path / 'init'), str(tmp_path), splits), nprocs=2,
             join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in range(2)]
    f_s_all, f_t_all = _data()
    torch.manual_seed(0)
    single = ICDLoss(6, 10, embed_dim=4, gather=True)  # no process group here: local batch
    f_s = f_s_all.clone().requires_grad_(True)
    value = single(f_s, f_t_all)
    value.backward()
    for k, split in enumerate(splits):
        losses = [float(ranks[r][k]['loss']) for r in range(2)]
        if split[0] == split[1]:
            # CE and KL are means over each rank's own rows of the global similarity matrix,
            # so the mean of the rank losses is the single-process loss on the whole batch,
            # and the rank-averaged gradients (DDP) are the single-process gradients.
            assert sum(losses) / 2 == pytest.approx(value.item(), rel=1e-5)
            for g_dist, g_single in zip(ranks[0][k]['grads'], _grads(single)):
                torch.testing.assert_close(g_dist, g_single, rtol=1e-4, atol=1e-6)
            torch.testing.assert_close(ranks[1][k]['grads'][0], ranks[0][k]['grads'][0])
        else:
            # unequal batches: the row-count-weighted mean is the single-process loss
            weighted = sum(n * v for n, v in zip(split, losses)) / sum(split)
            assert weighted == pytest.approx(value.item(), rel=1e-5)
        # each rank's own features get the summed gradient of every rank's loss (all_gather's
        # backward); with per-rank weights B_r / G this is the single-process feature gradient
        lo = 0
        expected = torch.zeros_like(f_s.grad)
        for r, n in enumerate(split):
            expected[lo:lo + n] = ranks[r][k]['feat_grad']
            lo += n
        if split[0] == split[1]:
            torch.testing.assert_close(expected / 2, f_s.grad, rtol=1e-4, atol=1e-6)
