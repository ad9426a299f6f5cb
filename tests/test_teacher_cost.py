"""What the distiller does to spend less on the teacher: autocast, the output cache,
connectors shared between losses computed once."""
import random

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmkd.datasets import SeededAugmentation
from mmkd.models.teacher_cache import TeacherCache
from mmkd.registry import MODELS
from test_distiller import KD, batch, classifier

TAPS = ['backbone.layer2', 'backbone.layer3']
CONNECTOR = dict(type='ConvBNConnector', in_channels=[16, 32], out_channels=[32, 64])


@pytest.fixture
def teacher_ckpt(tmp_path):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(classifier(16))
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'teacher.pth')
    return str(tmp_path / 'teacher.pth')


def build(ckpt, losses, **kwargs):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(dict(type='mmkd.Distiller', student=classifier(8),
                                 teacher=classifier(16), teacher_ckpt=ckpt, losses=losses,
                                 **kwargs))


def keyed(samples, keys):
    for sample, (idx, seed) in zip(samples, keys):
        sample.set_metainfo(dict(sample_idx=idx, aug_seed=seed))
    return samples


def test_teacher_autocast_runs_the_teacher_in_bf16_and_changes_losses_little(teacher_ckpt):
    losses = dict(KD, fit=dict(type='FitNetLoss', student='backbone.layer3',
                               teacher='backbone.layer3', connector=dict(
                                   type='ConvBNConnector', in_channels=32, out_channels=64)))
    torch.manual_seed(0)
    fp32 = build(teacher_ckpt, losses)
    torch.manual_seed(0)
    bf16 = build(teacher_ckpt, losses, teacher_autocast='bf16')
    inputs, samples = batch(8)
    seen = []
    bf16.teacher.model.backbone.layer3.register_forward_hook(
        lambda m, a, out: seen.append(out.dtype))
    a = fp32(inputs, samples, mode='loss')
    b = bf16(inputs, samples, mode='loss')
    assert seen == [torch.bfloat16]
    for key in ('distill.loss_kd', 'distill.loss_fit'):
        assert b[key].dtype == torch.float32  # losses still in fp32
        assert b[key].item() == pytest.approx(a[key].item(), rel=0.05), key
        assert b[key].item() != a[key].item()
    with pytest.raises(ValueError, match="teacher_autocast must be one of .*'int8'"):
        build(teacher_ckpt, KD, teacher_autocast='int8')


def test_connectors_shared_by_two_losses_run_once_per_step(teacher_ckpt):
    losses = dict(
        fit=dict(type='FitNetLoss', student=TAPS, teacher=TAPS, connector=CONNECTOR),
        at=dict(type='FitNetLoss', student=TAPS, teacher=TAPS, connector='fit',
                loss_weight=2.0))
    model = build(teacher_ckpt, losses)
    model.train()
    calls = []
    for level in model.connectors['fit']:
        level.register_forward_hook(lambda *a: calls.append(1))
    out = model(*batch(), mode='loss')
    assert len(calls) == 2  # one per level, not one per level and loss
    bn = model.connectors['fit'][0].chain[0].bn
    assert bn.num_batches_tracked.item() == 1  # BN statistics updated once
    assert out['distill.loss_at'].item() == pytest.approx(2 * out['distill.loss_fit'].item())


def test_teacher_cache_skips_the_teacher_and_gives_identical_losses(teacher_ckpt):
    losses = dict(KD, fit=dict(type='FitNetLoss', student=TAPS, teacher=TAPS,
                               connector=CONNECTOR))
    torch.manual_seed(0)
    plain = build(teacher_ckpt, losses)
    torch.manual_seed(0)
    cached = build(teacher_ckpt, losses, teacher_cache=dict())
    runs = []
    cached.teacher.model.register_forward_pre_hook(lambda *a: runs.append(1))
    inputs, samples = batch(8)
    first = dict(idx=[(i, 0) for i in range(8)])
    for order in ([0, 1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1, 0], [3, 1, 2, 0]):
        ins = inputs[order]
        keys = [first['idx'][i] for i in order]
        a = plain(ins, keyed([samples[i] for i in order], keys), mode='loss')
        b = cached(ins, keyed([samples[i] for i in order], keys), mode='loss')
        for key in ('distill.loss_kd', 'distill.loss_fit'):
            assert torch.allclose(a[key], b[key], rtol=1e-5, atol=1e-7), (order, key)
    assert len(runs) == 1  # later batches (reordered, smaller) came from the cache
    assert cached.teacher.cache.hits == 12 and cached.teacher.cache.misses == 8
    # a new augmentation of a cached sample is a miss: the teacher runs again
    cached(inputs[:2], keyed([DataSample().set_gt_label(0) for _ in range(2)],
                             [(0, 1), (1, 0)]), mode='loss')
    assert len(runs) == 2


def test_teacher_cache_needs_keys_and_per_sample_records(teacher_ckpt):
    model = build(teacher_ckpt, KD, teacher_cache=dict())
    with pytest.raises(KeyError, match='SeededAugmentation'):
        model(*batch(), mode='loss')
    mixing = classifier(8)
    mixing['data_preprocessor']['batch_augments'] = dict(
        augments=[dict(type='mmpretrain.Mixup', alpha=0.2)])
    with pytest.raises(ValueError, match='teacher_cache cannot be used with batch_augments'):
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            MODELS.build(dict(type='mmkd.Distiller', student=mixing, teacher=classifier(16),
                              teacher_ckpt=teacher_ckpt, losses=KD, teacher_cache=dict()))
    cache = TeacherCache()
    with pytest.raises(ValueError, match="tap 'neck' gives \\(3,\\), not one row per sample"):
        cache.store([(0, 0), (1, 0)], {'neck': torch.zeros(3)})


class _RandomDataset:
    """Returns a random number (numpy, python, torch) per read, like a random transform."""
    metainfo = dict(classes=('a', ))

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        value = np.random.rand() + random.random() + torch.rand(()).item()
        return dict(inputs=torch.tensor([value]), data_samples=DataSample())


def test_seeded_augmentation_repeats_each_seed_and_keeps_outer_streams():
    data = SeededAugmentation(_RandomDataset(), num_seeds=1)
    first = data[2]
    assert first['data_samples'].sample_idx == 2 and first['data_samples'].aug_seed == 0
    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    again = data[2]
    assert torch.equal(first['inputs'], again['inputs'])  # same sample, same augmentation
    assert not torch.equal(data[1]['inputs'], first['inputs'])
    assert np.random.rand() == expected  # the outer stream did not move
    two = SeededAugmentation(_RandomDataset(), num_seeds=2)
    values = {}
    for _ in range(40):
        item = two[0]
        values.setdefault(item['data_samples'].aug_seed, set()).add(item['inputs'].item())
    assert set(values) == {0, 1} and all(len(v) == 1 for v in values.values())
    with pytest.raises(ValueError, match='num_seeds must be >= 1'):
        SeededAugmentation(_RandomDataset(), num_seeds=0)
