"""The dense-prediction losses (MGD, FGD, FBKD, LD, CrossKD, DIST) against independent NumPy
computations or cases small enough to write out by hand."""
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from torch import nn

from mmkd.models.losses import DistillContext
from mmkd.models.losses.crosskd import CrossKDLoss
from mmkd.models.losses.dist import DISTLoss
from mmkd.models.losses.fbkd import FBKDLoss
from mmkd.models.losses.fgd import FGDLoss, fgd_masks
from mmkd.models.losses.ld import LDLoss
from mmkd.models.losses.mgd import MGDLoss
from mmkd.registry import MODELS


# -- NumPy building blocks ---------------------------------------------------------------
def np_(t):
    return t.detach().double().numpy()


def conv2d(x, weight, bias, pad=0):
    """Plain loops: x (N, Ci, H, W), weight (Co, Ci, k, k) -> (N, Co, H', W')."""
    n, _, h, w = x.shape
    co, _, k, _ = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, co, h + 2 * pad - k + 1, w + 2 * pad - k + 1))
    for y in range(out.shape[2]):
        for x_ in range(out.shape[3]):
            patch = xp[:, :, y:y + k, x_:x_ + k]
            out[:, :, y, x_] = np.einsum('nikl,oikl->no', patch, weight) + bias
    return out


def conv(module, x, pad=None):
    pad = module.padding[0] if pad is None else pad
    return conv2d(x, np_(module.weight), np_(module.bias), pad)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def perturb(module, seed, scale=0.3):
    """Random weights everywhere (the zero-initialised output convs included)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return module


def grads(module):
    return [p.grad for p in module.parameters()]


# -- MGD ---------------------------------------------------------------------------------
def test_mgd_matches_numpy_with_the_same_mask():
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 5, 4), torch.randn(2, 6, 5, 4)
    loss = MGDLoss(3, 6, alpha_mgd=0.5, lambda_mgd=0.4)
    torch.manual_seed(7)
    value = loss(s, t).item()
    torch.manual_seed(7)  # the loss's first random draw is the mask
    keep = (torch.rand(2, 1, 5, 4) >= 0.4).double().numpy()
    aligned = conv(loss.align[0], np_(s))
    gen = loss.generation[0]
    hidden = np.maximum(conv(gen[0], aligned * keep), 0)
    rebuilt = conv(gen[2], hidden)
    expected = 0.5 * ((rebuilt - np_(t)) ** 2).sum() / 2
    assert value == pytest.approx(expected, rel=1e-5)


def test_mgd_masks_positions_for_all_channels_at_the_ratio():
    torch.manual_seed(0)
    mask = MGDLoss(4, 4, lambda_mgd=0.65).random_mask(4, 64, 64, torch.device('cpu'))
    assert mask.shape == (4, 1, 64, 64)
    assert 1 - mask.mean().item() == pytest.approx(0.65, abs=0.02)


def test_mgd_trains_its_generator_and_the_student_not_the_teacher():
    torch.manual_seed(0)
    s = torch.randn(2, 3, 5, 4, requires_grad=True)
    t = torch.randn(2, 6, 5, 4, requires_grad=True)
    loss = MGDLoss(3, 6, num_levels=2)
    loss([s, s * 2], [t, t]).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    for part in (loss.align, loss.generation):
        assert all(g is not None and g.abs().sum() > 0 for g in grads(part))


def test_mgd_errors_name_the_loss_and_shapes():
    ctx = DistillContext(name='mgd')
    with pytest.raises(ValueError, match=r"MGDLoss \(loss 'mgd'\), level 0: built for "
                                         r'student_channels=3.*student \(2, 5, 4, 4\), '
                                         r'teacher \(2, 6, 4, 4\)'):
        MGDLoss(3, 6)(torch.zeros(2, 5, 4, 4), torch.zeros(2, 6, 4, 4), ctx)
    with pytest.raises(ValueError, match=r'num_levels=1 .* gives 2 level\(s\); set '
                                         r'num_levels=2'):
        MGDLoss(3, 6)([torch.zeros(1, 3, 2, 2)] * 2, [torch.zeros(1, 6, 2, 2)] * 2, ctx)


# -- FGD ---------------------------------------------------------------------------------
def test_fgd_masks_by_hand():
    boxes = [torch.tensor([[8.0, 0.0, 24.0, 16.0]]),            # 2 x 2 cells: 1/4
             torch.tensor([[0.0, 0.0, 32.0, 32.0], [0.0, 0.0, 8.0, 8.0]]),  # nested
             torch.tensor([[4.0, 4.0, 12.0, 9.0]]),              # partial cells count
             torch.zeros(0, 4)]                                  # no object
    fg, bg = fgd_masks(boxes, [(32, 32)] * 4, (4, 4))
    q, s = 0.25, 1 / 16
    assert fg[0].tolist() == [[0, q, q, 0], [0, q, q, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert np.allclose(bg[0].numpy(), (fg[0] == 0).numpy() / 12)
    assert fg[1].tolist() == [[1, s, s, s], [s, s, s, s], [s, s, s, s], [s, s, s, s]]
    assert bg[1].sum() == 0  # no background cell
    assert fg[2].tolist() == [[q, q, 0, 0], [q, q, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert fg[3].sum() == 0 and np.allclose(bg[3].numpy(), 1 / 16)
    # rows follow y, columns x: a 2 x 4 map of a 16 x 32 input, box in the right half, top row
    fg, _ = fgd_masks([torch.tensor([[16.0, 0.0, 32.0, 8.0]])], [(16, 32)], (2, 4))
    assert fg[0].tolist() == [[0, 0, 0.5, 0.5], [0, 0, 0, 0]]


def fgd_reference(loss, s, t, fg, bg):
    """FGD's four terms in NumPy, one level, equal widths."""
    n, c, h, w = t.shape
    tau = loss.tau

    def attention(f):
        a = np.abs(f)
        spatial = h * w * softmax(a.mean(1).reshape(n, -1) / tau, 1).reshape(n, h, w)
        return spatial, c * softmax(a.mean((2, 3)) / tau, 1)

    def gc_block(block, f):
        mask = conv(block.mask, f).reshape(n, h * w)
        weights = softmax(mask, 1)
        context = np.einsum('nck,nk->nc', f.reshape(n, c, h * w), weights)[:, :, None, None]
        first, norm, _, last = block.transform
        hidden = conv(first, context)
        mu = hidden.mean(axis=(1, 2, 3), keepdims=True)
        var = hidden.var(axis=(1, 2, 3), keepdims=True)
        hidden = (hidden - mu) / np.sqrt(var + norm.eps) * np_(norm.weight) + np_(norm.bias)
        return f + conv(last, np.maximum(hidden, 0))

    sp_t, ch_t = attention(t)
    sp_s, ch_s = attention(s)
    fg_sum = bg_sum = 0.0
    for b in range(n):
        for k in range(c):
            for y in range(h):
                for x in range(w):
                    e = (s[b, k, y, x] - t[b, k, y, x]) ** 2 * sp_t[b, y, x] * ch_t[b, k]
                    fg_sum += e * fg[b, y, x]
                    bg_sum += e * bg[b, y, x]
    at = np.abs(ch_s - ch_t).sum() + np.abs(sp_s - sp_t).sum()
    glob = ((gc_block(loss.context_s[0], s) - gc_block(loss.context_t[0], t)) ** 2).sum()
    return (loss.alpha_fgd * fg_sum + loss.beta_fgd * bg_sum + loss.gamma_fgd * at
            + loss.lambda_fgd * glob) / n


def fgd_case():
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 4, 4), torch.randn(2, 4, 4, 4)
    instances = [InstanceData(bboxes=torch.tensor([[8.0, 0.0, 24.0, 16.0]])),
                 InstanceData(bboxes=torch.tensor([[0.0, 8.0, 16.0, 32.0]]))]
    ctx = DistillContext(name='fgd', reads=FGDLoss.reads, values=dict(
        gt_instances=instances, batch_input_shape=[(32, 32)] * 2))
    return s, t, ctx


def test_fgd_matches_numpy():
    s, t, ctx = fgd_case()
    loss = FGDLoss(4, 4, alpha_fgd=0.3, beta_fgd=0.2, gamma_fgd=0.1, lambda_fgd=0.05)
    perturb(loss.context_s, 1), perturb(loss.context_t, 2)
    fg = np.zeros((2, 4, 4))
    fg[0, 0:2, 1:3] = 1 / 4  # the first box: 2 x 2 cells
    fg[1, 1:4, 0:2] = 1 / 6  # the second: 3 x 2 cells
    bg = (fg == 0) / (fg == 0).sum(axis=(1, 2), keepdims=True)
    expected = fgd_reference(loss, np_(s), np_(t), fg, bg)
    assert loss(s, t, ctx).item() == pytest.approx(expected, rel=1e-5)


def test_fgd_trains_both_context_blocks_and_the_student():
    _, _, ctx = fgd_case()
    s, t = torch.randn(2, 3, 4, 4, requires_grad=True), torch.randn(2, 8, 4, 4)
    loss = FGDLoss(3, 8, lambda_fgd=1.0)
    perturb(loss.context_s, 1), perturb(loss.context_t, 2)
    loss(s, t, ctx).backward()
    assert s.grad.abs().sum() > 0
    for part in (loss.align, loss.context_s, loss.context_t):
        named = [(n, p.grad) for n, p in part.named_parameters()
                 if not n.endswith('mask.bias')]  # a softmax ignores a constant shift
        assert all(g is not None and g.abs().sum() > 0 for _, g in named), named


def test_fgd_errors_name_the_loss_and_shapes():
    s, t, ctx = fgd_case()
    with pytest.raises(ValueError, match=r"FGDLoss \(loss 'fgd'\), level 0: batch and spatial "
                                         r'sizes must match; student \(2, 3, 4, 4\), teacher '
                                         r'\(2, 4, 2, 2\)'):
        FGDLoss(3, 4)(s[:, :3], t[:, :, :2, :2], ctx)
    with pytest.raises(ValueError, match=r'1 gt_instances for a batch of 2'):
        ctx.values['gt_instances'] = ctx.values['gt_instances'][:1]
        FGDLoss(4, 4)(s, t, ctx)


# -- FBKD --------------------------------------------------------------------------------
def maxpool_ceil(x, k):
    n, c, h, w = x.shape
    out = np.zeros((n, c, -(-h // k), -(-w // k)))
    for y in range(out.shape[2]):
        for x_ in range(out.shape[3]):
            out[:, :, y, x_] = x[:, :, y * k:(y + 1) * k, x_ * k:(x_ + 1) * k].max(axis=(2, 3))
    return out


def non_local_np(block, x):
    n, _, h, w = x.shape
    theta = conv(block.theta, x).reshape(n, -1, h * w)
    phi = maxpool_ceil(conv(block.phi, x), block.pool_stride)
    g = maxpool_ceil(conv(block.g, x), block.pool_stride)
    phi, g = phi.reshape(n, phi.shape[1], -1), g.reshape(n, g.shape[1], -1)
    m = phi.shape[2]
    y = np.zeros((n, g.shape[1], h * w))
    for b in range(n):
        for i in range(h * w):
            for j in range(m):
                y[b, :, i] += (theta[b, :, i] @ phi[b, :, j]) / m * g[b, :, j]
    return x + conv(block.out, y.reshape(n, -1, h, w))


def test_fbkd_matches_numpy():
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 5, 3), torch.randn(2, 4, 5, 3)
    loss = FBKDLoss(4, 4, tau=0.7, at_weight=0.3, am_weight=0.2, nl_weight=0.1, pool_stride=2)
    perturb(loss.non_local_s, 1), perturb(loss.non_local_t, 2)
    S, T = np_(s), np_(t)
    n, c, h, w = T.shape
    gs_s, gc_s = np.abs(S).mean(1), np.abs(S).mean((2, 3))
    gs_t, gc_t = np.abs(T).mean(1), np.abs(T).mean((2, 3))
    m_s = h * w * softmax(((gs_s + gs_t) / 0.7).reshape(n, -1), 1).reshape(n, h, w)
    m_c = c * softmax((gc_s + gc_t) / 0.7, 1)
    at = np.sqrt(((gs_s - gs_t) ** 2).sum()) + np.sqrt(((gc_s - gc_t) ** 2).sum())
    am = np.sqrt(sum((T[b, k, y, x] - S[b, k, y, x]) ** 2 * m_s[b, y, x] * m_c[b, k]
                     for b in range(n) for k in range(c) for y in range(h) for x in range(w)))
    nl = np.sqrt(((non_local_np(loss.non_local_s[0], S)
                   - non_local_np(loss.non_local_t[0], T)) ** 2).sum())
    assert loss(s, t).item() == pytest.approx(0.3 * at + 0.2 * am + 0.1 * nl, rel=1e-5)


def test_fbkd_trains_both_non_local_blocks_and_the_student():
    torch.manual_seed(0)
    s = torch.randn(2, 3, 5, 3, requires_grad=True)
    t = torch.randn(2, 4, 5, 3)
    loss = FBKDLoss(3, 4, num_levels=2, reduction=[2, 4], pool_stride=[1, 2])
    perturb(loss.non_local_s, 1), perturb(loss.non_local_t, 2)
    loss([s, s], [t, t]).backward()
    assert s.grad.abs().sum() > 0
    for part in (loss.align, loss.non_local_s, loss.non_local_t):
        assert all(g is not None and g.abs().sum() > 0 for g in grads(part))
    # equal features give zero loss and finite (zero) gradients, despite the norms
    x = torch.randn(2, 4, 5, 3)
    same = x.clone().requires_grad_()
    FBKDLoss(4, 4)(same, x).backward()
    assert torch.isfinite(same.grad).all()


def test_fbkd_errors_name_the_loss_and_shapes():
    with pytest.raises(ValueError, match=r"FBKDLoss \(loss 'FBKDLoss'\) expects \(N, C, H, W\) "
                                         r'features; student \(2, 4\), teacher \(2, 4\)'):
        FBKDLoss(4, 4)(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r'pool_stride \[2\] does not fit num_levels=2'):
        FBKDLoss(4, 4, num_levels=2, pool_stride=[2])


# -- DIST --------------------------------------------------------------------------------
def dist_reference(zs, zt, beta, gamma, tau):
    ys, yt = softmax(zs / tau, 1), softmax(zt / tau, 1)

    def rho(a, b):
        a, b = a - a.mean(), b - b.mean()
        return (a * b).sum() / (np.sqrt((a * a).sum()) * np.sqrt((b * b).sum()) + 1e-8)

    inter = 1 - np.mean([rho(ys[i], yt[i]) for i in range(ys.shape[0])])
    intra = 1 - np.mean([rho(ys[:, j], yt[:, j]) for j in range(ys.shape[1])])
    return tau ** 2 * (beta * inter + gamma * intra)


def test_dist_matches_numpy_for_logits_and_pixels():
    torch.manual_seed(0)
    zs, zt = torch.randn(6, 5), torch.randn(6, 5) * 3
    loss = DISTLoss(beta=1.5, gamma=0.5, tau=2.0)
    assert loss(zs, zt).item() == pytest.approx(
        dist_reference(np_(zs), np_(zt), 1.5, 0.5, 2.0), rel=1e-5)
    ds, dt = torch.randn(2, 4, 3, 2), torch.randn(2, 4, 3, 2)
    pixels = lambda z: np_(z).transpose(0, 2, 3, 1).reshape(-1, 4)  # noqa: E731
    assert loss(ds, dt).item() == pytest.approx(
        dist_reference(pixels(ds), pixels(dt), 1.5, 0.5, 2.0), rel=1e-5)
    same = torch.randn(8, 5, requires_grad=True)
    value = DISTLoss()(same, same.detach())
    value.backward()
    assert value.item() == pytest.approx(0.0, abs=1e-6) and torch.isfinite(same.grad).all()


def test_dist_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"DISTLoss \(loss 'roi'\): student logits \(4, 21\) and "
                                         r'teacher logits \(4, 20\)'):
        DISTLoss()(torch.zeros(4, 21), torch.zeros(4, 20), DistillContext(name='roi'))


# -- mmdet heads for LD and CrossKD ----------------------------------------------------------
def build_head(kind, seed, feat=8, stacked=2):
    torch.manual_seed(seed)
    common = dict(num_classes=3, in_channels=8, feat_channels=feat, stacked_convs=stacked)
    if kind == 'retina':
        cfg = dict(type='RetinaHead', **common,
                   anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                         scales_per_octave=1, ratios=[0.5, 1.0],
                                         strides=[8, 16]),
                   bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                   target_stds=[1.0] * 4))
    else:
        cfg = dict(type='GFLHead', **common, reg_max=4,
                   norm_cfg=dict(type='GN', num_groups=2, requires_grad=True),
                   anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                                         octave_base_scale=8, scales_per_octave=1,
                                         strides=[8, 16]),
                   train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9),
                                  allowed_border=-1, pos_weight=-1, debug=False))
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg)  # PyTorch's seeded default init (tests perturb it anyway)


class Detector(nn.Module):
    """Stands in for a detector: the losses only read its ``bbox_head``."""

    def __init__(self, head):
        super().__init__()
        self.bbox_head = head


def det_ctx(name, reads, student=None, teacher=None):
    boxes = [torch.tensor([[4.0, 6.0, 60.0, 50.0]]),
             torch.tensor([[20.0, 10.0, 44.0, 40.0], [0.0, 40.0, 30.0, 64.0]])]
    instances = [InstanceData(bboxes=b, labels=torch.tensor([1] * len(b))) for b in boxes]
    return boxes, DistillContext(name=name, reads=reads, student=student, teacher=teacher,
                                 values=dict(gt_instances=instances,
                                             batch_input_shape=[(64, 64)] * 2,
                                             img_shape=[(64, 64), (60, 56)],
                                             pad_shape=[(64, 64)] * 2))


# -- LD ----------------------------------------------------------------------------------
def ld_reference(s_levels, t_levels, masks, tau):
    total, count = 0.0, 0
    for s, t, mask in zip(s_levels, t_levels, masks):
        n, ch, h, w = s.shape
        bins = ch // 4
        for b in range(n):
            for y in range(h):
                for x in range(w):
                    if not mask[b][y * w + x]:
                        continue
                    count += 1
                    for e in range(4):
                        ps = log_softmax(s[b, e * bins:(e + 1) * bins, y, x] / tau, 0)
                        pt = log_softmax(t[b, e * bins:(e + 1) * bins, y, x] / tau, 0)
                        total += (np.exp(pt) * (pt - ps)).sum() / 4
    return tau ** 2 * total / max(count, 1)


def ld_inputs():
    torch.manual_seed(0)
    shapes = [(2, 20, 8, 8), (2, 20, 4, 4)]  # reg_max = 4: 5 bins per edge
    return [torch.randn(s) * 2 for s in shapes], [torch.randn(s) * 2 for s in shapes]


def test_ld_all_and_gt_center_regions_match_numpy():
    s, t = ld_inputs()
    everywhere = [np.ones((2, 64)), np.ones((2, 16))]
    assert LDLoss(tau=2.0, region='all')(s, t).item() == pytest.approx(
        ld_reference([np_(v) for v in s], [np_(v) for v in t], everywhere, 2.0), rel=1e-5)
    boxes, ctx = det_ctx('ld', LDLoss(region='gt_center').reads)
    masks = []
    for size, stride in ((8, 8), (4, 16)):  # cell centres inside a box, by hand
        centres = (np.arange(size) + 0.5) * stride
        level = np.zeros((2, size * size), bool)
        for b, img_boxes in enumerate(boxes):
            for x1, y1, x2, y2 in img_boxes.tolist():
                inside = ((centres[:, None] >= y1) & (centres[:, None] < y2)
                          & (centres[None] >= x1) & (centres[None] < x2))
                level[b] |= inside.reshape(-1)
        masks.append(level)
    assert 0 < masks[0].sum() < masks[0].size
    value = LDLoss(tau=2.0, region='gt_center')(s, t, ctx).item()
    assert value == pytest.approx(
        ld_reference([np_(v) for v in s], [np_(v) for v in t], masks, 2.0), rel=1e-5)


def test_ld_positive_region_is_the_students_gfl_positives():
    head = build_head('gfl', 0)
    s, t = ld_inputs()
    s = [v.requires_grad_() for v in s]
    _, ctx = det_ctx('ld', LDLoss().reads, student=Detector(head))
    LDLoss().setup(Detector(head), Detector(head))
    metas = [dict(img_shape=i, pad_shape=(64, 64), batch_input_shape=(64, 64))
             for i in ((64, 64), (60, 56))]
    anchors, valid = head.get_anchors([(8, 8), (4, 4)], metas, 'cpu')
    labels = head.get_targets(anchors, valid, ctx.values['gt_instances'], metas)[1]
    positives = [(lab >= 0) & (lab < 3) for lab in labels]
    assert sum(int(p.sum()) for p in positives) > 0
    _, centre_ctx = det_ctx('ld', LDLoss(region='gt_center').reads)
    centres = LDLoss(region='gt_center').regions(s, centre_ctx, '')
    assert all(bool((c[p] > 0).all()) for c, p in zip(centres, positives))  # ATSS: centre in box
    # the head's output (cls_scores, bbox_preds) is a valid input too
    value = LDLoss(tau=10.0)([[torch.zeros(2, 3, 8, 8)] * 2, s], [[None, None], t], ctx)
    # and the teacher's neck: the loss runs the teacher's GFL head on it
    teacher = build_head('gfl', 1)
    neck = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)]
    ctx.teacher = Detector(teacher.eval())
    with torch.no_grad():
        t_preds = teacher(neck)[1]
    assert LDLoss()(s, neck, ctx).item() == pytest.approx(LDLoss()(s, t_preds, ctx).item())
    expected = ld_reference([np_(v) for v in s], [np_(v) for v in t],
                            [p.numpy() for p in positives], 10.0)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert [bool(v.grad.abs().sum() > 0) for v in s] == [bool(p.any()) for p in positives]


def test_ld_errors():
    s, t = ld_inputs()
    with pytest.raises(ValueError, match=r"LDLoss \(loss 'ld'\) needs the same levels.*student "
                                         r'\[\(2, 20, 8, 8\), \(2, 20, 4, 4\)\], teacher '
                                         r'\[\(2, 20, 8, 8\), \(2, 24, 4, 4\)\]'):
        LDLoss(region='all')(s, [t[0], torch.zeros(2, 24, 4, 4)], DistillContext(name='ld'))
    with pytest.raises(TypeError, match=r"region='positive' needs a student with an mmdet GFL "
                                        r'head.*Detector has RetinaHead'):
        LDLoss().setup(Detector(build_head('retina', 0)), None)
    with pytest.raises(ValueError, match='region must be one of'):
        LDLoss(region='boxes')


# -- CrossKD -----------------------------------------------------------------------------
def crosskd_case(kind, layer, seed=0):
    student, teacher = build_head(kind, seed), build_head(kind, seed + 1)
    perturb(student, seed + 2, 0.2), perturb(teacher, seed + 3, 0.2)
    for p in teacher.parameters():
        p.requires_grad_(False)  # as the frozen teacher
    teacher.eval()
    torch.manual_seed(seed + 4)
    s_neck = [torch.randn(2, 8, 8, 8, requires_grad=True), torch.randn(2, 8, 4, 4,
                                                                      requires_grad=True)]
    t_neck = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)]
    with torch.no_grad():
        t_out = teacher(t_neck)
    ctx = DistillContext(name='crosskd', student=Detector(student), teacher=Detector(teacher))
    loss = CrossKDLoss(cross_layer=layer, cls_weight=0.7, reg_weight=1.3, beta=2.0, tau=3.0)
    loss.setup(Detector(student), Detector(teacher))
    # the teacher's neck is a valid input too: the loss runs the teacher head on it
    assert loss(s_neck, t_neck, ctx).item() == pytest.approx(loss(s_neck, t_out, ctx).item())
    return loss, student, teacher, s_neck, t_out, ctx


def cross_outputs_by_hand(student, teacher, s_neck, layer, cls_name, reg_name):
    """The student head's first convs, then the teacher head's remaining layers."""
    outs_c, outs_r = [], []
    with torch.no_grad():
        for level, x in enumerate(s_neck):
            c = r = x
            for i in range(layer):
                c, r = student.cls_convs[i](c), student.reg_convs[i](r)
            for i in range(layer, len(teacher.cls_convs)):
                c, r = teacher.cls_convs[i](c), teacher.reg_convs[i](r)
            c, r = getattr(teacher, cls_name)(c), getattr(teacher, reg_name)(r)
            if hasattr(teacher, 'scales'):
                r = teacher.scales[level](r)
            outs_c.append(np_(c))
            outs_r.append(np_(r))
    return outs_c, outs_r


def per_prior(levels, k):
    return np.concatenate([v.transpose(0, 2, 3, 1).reshape(v.shape[0], -1, k)
                           for v in levels], axis=1)


def decode(anchors, deltas):
    """mmdet's delta-xywh decoding (means 0, stds 1, dw/dh clipped at log(1000/16))."""
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    clip = abs(np.log(16 / 1000))
    dw, dh = np.clip(deltas[:, 2], -clip, clip), np.clip(deltas[:, 3], -clip, clip)
    cx, cy = ax + deltas[:, 0] * aw, ay + deltas[:, 1] * ah
    w, h = aw * np.exp(dw), ah * np.exp(dh)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


def giou(a, b):
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = area(a) + area(b) - inter
    ew = np.maximum(a[:, 2], b[:, 2]) - np.minimum(a[:, 0], b[:, 0])
    eh = np.maximum(a[:, 3], b[:, 3]) - np.minimum(a[:, 1], b[:, 1])
    return inter / union - (ew * eh - union) / (ew * eh)


def crosskd_cls_terms(x_cls, t_cls, classes, beta):
    x, q = per_prior(x_cls, classes), sigmoid(per_prior([np_(v) for v in t_cls], classes))
    p = sigmoid(x)
    bce = -(q * np.log(p) + (1 - q) * np.log(1 - p))
    weight = q.max(axis=2)
    return (bce * np.abs(p - q) ** beta).sum(), weight, max(weight.sum(), 1.0)


def test_crosskd_retinanet_matches_the_teacher_head_run_by_hand():
    loss, student, teacher, s_neck, (t_cls, t_reg), ctx = crosskd_case('retina', 1)
    value = loss(s_neck, [t_cls, t_reg], ctx)
    x_cls, x_reg = cross_outputs_by_hand(student, teacher, s_neck, 1, 'retina_cls',
                                         'retina_reg')
    cls_sum, weight, norm = crosskd_cls_terms(x_cls, t_cls, 3, 2.0)
    anchors = np.concatenate([np_(a) for a in teacher.prior_generator.grid_priors(
        [(8, 8), (4, 4)], device='cpu')])
    dist = np.stack([1 - giou(decode(anchors, per_prior(x_reg, 4)[b]),
                              decode(anchors, per_prior([np_(v) for v in t_reg], 4)[b]))
                     for b in range(2)])
    expected = 0.7 * cls_sum / norm + 1.3 * (weight * dist).sum() / norm
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()  # into the student's head convs and features, never the teacher's
    assert all(v.grad.abs().sum() > 0 for v in s_neck)
    assert student.cls_convs[0].conv.weight.grad.abs().sum() > 0
    assert student.reg_convs[0].conv.weight.grad.abs().sum() > 0
    assert student.cls_convs[1].conv.weight.grad is None  # after the crossing: unused
    assert all(p.grad is None for p in teacher.parameters())


def test_crosskd_gfl_matches_by_hand_and_takes_head_features_too():
    loss, student, teacher, s_neck, (t_cls, t_reg), ctx = crosskd_case('gfl', 2)
    value = loss(s_neck, [t_cls, t_reg], ctx)
    x_cls, x_reg = cross_outputs_by_hand(student, teacher, s_neck, 2, 'gfl_cls', 'gfl_reg')
    cls_sum, weight, norm = crosskd_cls_terms(x_cls, t_cls, 3, 2.0)
    xs = per_prior(x_reg, 20).reshape(2, -1, 4, 5)
    ts = per_prior([np_(v) for v in t_reg], 20).reshape(2, -1, 4, 5)
    lp, lq = log_softmax(xs / 3.0, 3), log_softmax(ts / 3.0, 3)
    dist = 9.0 * (np.exp(lq) * (lq - lp)).sum(3).mean(2)
    expected = 0.7 * cls_sum / norm + 1.3 * (weight * dist).sum() / norm
    assert value.item() == pytest.approx(expected, rel=1e-5)
    # the student's own head features (after cross_layer convs) give the same loss
    with torch.no_grad():
        feats = [[student.cls_convs[1](student.cls_convs[0](x)) for x in s_neck],
                 [student.reg_convs[1](student.reg_convs[0](x)) for x in s_neck]]
    assert loss(feats, [t_cls, t_reg], ctx).item() == pytest.approx(value.item(), rel=1e-6)


def test_crosskd_at_the_last_layer_runs_only_the_teacher_predictors():
    loss, student, teacher, s_neck, t_out, ctx = crosskd_case('retina', 2)
    value = loss(s_neck, list(t_out), ctx)
    value.backward()
    assert torch.isfinite(value) and student.cls_convs[1].conv.weight.grad.abs().sum() > 0


def test_crosskd_errors():
    with pytest.raises(ValueError, match=r"the heads' feature widths at cross_layer=1 differ "
                                         r'\(student RetinaHead: 8, teacher RetinaHead: 16\)'):
        CrossKDLoss(cross_layer=1).setup(Detector(build_head('retina', 0)),
                                         Detector(build_head('retina', 1, feat=16)))
    with pytest.raises(ValueError, match=r'cross_layer=3 but the student head has 2 '
                                         r'classification'):
        CrossKDLoss(cross_layer=3).setup(Detector(build_head('gfl', 0)),
                                         Detector(build_head('gfl', 1)))
    with pytest.raises(TypeError, match=r'differ in kind'):
        CrossKDLoss(cross_layer=1).setup(Detector(build_head('gfl', 0)),
                                         Detector(build_head('retina', 1)))
    loss, _, _, s_neck, t_out, ctx = crosskd_case('retina', 1)
    with pytest.raises(ValueError, match=r"CrossKDLoss \(loss 'crosskd'\): the teacher head "
                                         r'has 2 levels; the student input must be.*got 3 '
                                         r'tensors \[\(2, 8, 8, 8\), \(2, 8, 4, 4\), '
                                         r'\(2, 8, 4, 4\)\]'):
        loss(s_neck + [s_neck[1]], list(t_out), ctx)


def test_the_losses_are_registered():
    for cfg in (dict(type='MGDLoss', student_channels=4, teacher_channels=4),
                dict(type='FGDLoss', student_channels=4, teacher_channels=4),
                dict(type='FBKDLoss', student_channels=4, teacher_channels=4),
                dict(type='LDLoss'), dict(type='CrossKDLoss'), dict(type='DISTLoss')):
        built = MODELS.build(dict(cfg, type=f"mmkd.{cfg['type']}"))  # any default scope
        assert type(built).__name__ == cfg['type']
