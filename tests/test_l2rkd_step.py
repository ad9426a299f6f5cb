"""L2RKD's training step against an independent computation in plain torch.

One virtual-sample step and one clean step of a tiny mmpretrain student/teacher pair,
with known mixing pairs and weights, are recomputed from copies of the two networks
(built afresh, loaded from the Distiller's state, run without any mmkd code): the pixels
each network sees, the loss, the student's gradient and its BN running statistics.
"""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmkd.models.virtual_samples import SegmentMixer
from mmkd.registry import MODELS

TAU, KD_WEIGHT, CE_WEIGHT = 4.0, 0.9, 0.1
GRID, SIZE, BATCH = 2, 16, 4
S_MEAN, S_STD = 72.94, 90.02  # the student's normalisation (the benchmark's)
T_MEAN, T_STD = 10.0, 2.0  # the teacher's own, different one


def classifier(width, ce_weight=1.0, mean=S_MEAN, std=S_STD):
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, in_channels=1,
                      base_channels=width, out_indices=(3, )),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=10, in_channels=width * 8,
                  loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=ce_weight)),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', num_classes=10,
                               mean=[mean], std=[std]))


def build_plain(spec, state):
    """The network of ``spec`` with ``state``: no Distiller, no taps, no hooks."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(spec)
    model.load_state_dict(state)
    return model


@pytest.fixture
def distiller(tmp_path):
    torch.manual_seed(0)
    teacher = classifier(8, mean=T_MEAN, std=T_STD)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        weights = MODELS.build(teacher).state_dict()
    torch.save({'state_dict': weights}, tmp_path / 'teacher.pth')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(
            type='mmkd.Distiller', student=classifier(4, CE_WEIGHT), teacher=teacher,
            teacher_ckpt=str(tmp_path / 'teacher.pth'),
            teacher_data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                           mean=[T_MEAN], std=[T_STD]),
            losses=dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=TAU,
                                loss_weight=KD_WEIGHT)),
            step=dict(type='VirtualSampleStep', mode='patch', alpha=1.0, prob=1.0,
                      grid=GRID)))
    model.train()
    return model, teacher


def raw_batch(labels=(0, 1, 2, 3)):
    gen = torch.Generator().manual_seed(1)
    raw = torch.randint(0, 256, (BATCH, 1, SIZE, SIZE), generator=gen).float()
    samples = [DataSample().set_gt_label(label) for label in labels]
    return raw, samples


def plain_kd(student_logits, teacher_logits):
    """``KD_WEIGHT * TAU^2 * mean_n KL(p_t || p_s)`` at temperature TAU, by hand."""
    p_t = torch.softmax(teacher_logits / TAU, dim=1)
    log_p_s = torch.log_softmax(student_logits / TAU, dim=1)
    kl = (p_t * (torch.log(p_t) - log_p_s)).sum(dim=1).mean()
    return KD_WEIGHT * TAU ** 2 * kl


def running_stats(model):
    return {k: v.clone() for k, v in model.state_dict().items()
            if k.endswith(('running_mean', 'running_var'))}


def one_step(model, raw, samples):
    """The Distiller's training loss on a raw batch (its own preprocessors), backpropagated."""
    data = model.data_preprocessor(dict(inputs=list(raw), data_samples=samples), True)
    model.student.zero_grad()
    out = model(**data, mode='loss')
    sum(v for k, v in out.items() if 'loss' in k).backward()
    return out


def test_virtual_step_is_label_free_kd_on_the_same_mixed_pixels(distiller, monkeypatch):
    model, teacher_spec = distiller
    perm = torch.tensor([2, 0, 3, 1])
    lam = torch.tensor([[[[0.9, 0.2], [0.6, 0.35]]]])  # one weight per patch, shared by the batch
    monkeypatch.setattr(SegmentMixer, 'draw', lambda self, batch: (perm.clone(), lam.clone()))
    student_spec = classifier(4, CE_WEIGHT)
    student = build_plain(student_spec, model.student.state_dict()).train()
    teacher = build_plain(teacher_spec, model.teacher.state_dict()).eval()
    stats_before = running_stats(model.student)
    seen = {}
    model.teacher.model.backbone.conv1.register_forward_pre_hook(
        lambda m, a: seen.update(teacher=a[0].clone()))
    model.student.backbone.conv1.register_forward_pre_hook(
        lambda m, a: seen.update(student=a[0].clone()))

    raw, samples = raw_batch()
    out = one_step(model, raw, samples)

    # By hand: mix the raw pixels patch by patch (8x8 patches of the 2x2 grid), then each
    # network's own normalisation (mixing commutes with it: it is affine).
    weight = lam.repeat_interleave(SIZE // GRID, -2).repeat_interleave(SIZE // GRID, -1)
    mixed = weight * raw + (1 - weight) * raw[perm]
    torch.testing.assert_close(mixed[1, :, :8, :8],
                               0.9 * raw[1, :, :8, :8] + 0.1 * raw[0, :, :8, :8])
    x_student, x_teacher = (mixed - S_MEAN) / S_STD, (mixed - T_MEAN) / T_STD
    torch.testing.assert_close(seen['student'], x_student, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(seen['teacher'], x_teacher, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        t_logits = teacher(x_teacher, mode='tensor')
    s_logits = student(x_student, mode='tensor')
    expected = plain_kd(s_logits, t_logits)
    expected.backward()

    # the loss: only the KD term at loss_weight, on the mixed logits; no label loss at all
    assert out['loss_student'].item() == 0.0
    assert set(out) == {'loss_student', 'distill.loss_kd'}
    torch.testing.assert_close(out['distill.loss_kd'], expected.detach(), rtol=1e-5, atol=1e-6)
    # ... and so the same gradient reaches the student
    for (name, p), q in zip(model.student.named_parameters(), student.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if q.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert model.student.backbone.conv1.weight.grad.abs().sum() > 0
    # The student's BN running statistics move towards the mixed batch's, as in the train-mode
    # student forward of the authors' PE-BKD code: exactly as the plain train-mode copy's.
    after = running_stats(model.student)
    for key, value in running_stats(student).items():
        torch.testing.assert_close(after[key], value, rtol=1e-5, atol=1e-6, msg=key)
    assert not torch.equal(after['backbone.bn1.running_mean'],
                           stats_before['backbone.bn1.running_mean'])

    # labels are never read on a virtual step: the same pixels with other labels, the same loss
    raw, other = raw_batch(labels=(9, 9, 9, 9))
    again = one_step(model, raw, other)
    assert again['loss_student'].item() == 0.0
    assert torch.equal(again['distill.loss_kd'], out['distill.loss_kd'])


def test_clean_step_is_weighted_ce_plus_kd(distiller):
    model, teacher_spec = distiller
    model.step.mixer.prob = 0.0  # never a virtual step
    student = build_plain(classifier(4, CE_WEIGHT), model.student.state_dict()).train()
    teacher = build_plain(teacher_spec, model.teacher.state_dict()).eval()
    raw, samples = raw_batch()
    out = one_step(model, raw, samples)
    labels = torch.tensor([s.gt_label.item() for s in samples])
    with torch.no_grad():
        t_logits = teacher((raw - T_MEAN) / T_STD, mode='tensor')
    s_logits = student((raw - S_MEAN) / S_STD, mode='tensor')
    ce = CE_WEIGHT * F.cross_entropy(s_logits, labels)
    kd = plain_kd(s_logits, t_logits)
    torch.testing.assert_close(out['loss_student'], ce.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out['distill.loss_kd'], kd.detach(), rtol=1e-5, atol=1e-6)
    (ce + kd).backward()
    for (name, p), q in zip(model.student.named_parameters(), student.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)
