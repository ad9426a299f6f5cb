"""The loss contract: a loss that reads ground-truth boxes is one class plus one config entry,
with no change to the Distiller; what a loss reads is checked when the model is built."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from mmkd.models.losses import DistillContext, PerLevelLoss
from mmkd.registry import MODELS
from mmkd.testing.offline import light_detector
from conftest import REPO
from e2e import save_model_weights
from test_distiller import KD, build


@MODELS.register_module(force=True)
class BoxFeatureLoss(PerLevelLoss):
    """Squared feature difference inside the ground-truth boxes, averaged over those cells."""

    reads = ('gt_instances', 'batch_input_shape')

    def compute(self, student, teacher, ctx: DistillContext):
        height, width = ctx.field('batch_input_shape')[0]
        stride_y, stride_x = height / student.shape[2], width / student.shape[3]
        ys = (torch.arange(student.shape[2]) + 0.5) * stride_y  # cell centres in pixels
        xs = (torch.arange(student.shape[3]) + 0.5) * stride_x
        masks = []
        for instances in ctx.field('gt_instances'):
            mask = torch.zeros(student.shape[2:], dtype=torch.bool)
            for x1, y1, x2, y2 in instances.bboxes.tolist():
                mask |= ((ys >= y1) & (ys < y2))[:, None] & ((xs >= x1) & (xs < x2))[None]
            masks.append(mask)
        mask = torch.stack(masks)[:, None].to(student.device)
        return ((student - teacher) ** 2 * mask).sum() / (mask.sum() * student.shape[1])


def samples(n=2, size=96):
    out = []
    for i in range(n):
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                             ori_shape=(size, size), scale_factor=(1.0, 1.0),
                                             batch_input_shape=(size, size)))
        boxes = torch.tensor([[8.0, 8.0, 40.0, 48.0], [50.0, 30.0, 90.0, 80.0]]) + 3 * i
        sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([1, 4]))
        out.append(sample)
    return out


def reference(student, teacher, boxes, size):
    """The same loss written out with NumPy loops, one FPN level."""
    s, t = student.detach().numpy(), teacher.detach().numpy()
    n, c, h, w = s.shape
    total, cells = 0.0, 0
    for b in range(n):
        for y in range(h):
            for x in range(w):
                cy, cx = (y + 0.5) * size / h, (x + 0.5) * size / w
                if any(x1 <= cx < x2 and y1 <= cy < y2 for x1, y1, x2, y2 in boxes[b]):
                    total += float(((s[b, :, y, x] - t[b, :, y, x]) ** 2).sum())
                    cells += 1
    return total / (cells * c)


def test_a_box_reading_loss_plugs_in_with_one_config_entry(tmp_path):
    cfg = Config.fromfile(f'{REPO}/configs/kd/fasterrcnn_r101_r18_roi_voc.py')
    small = dict(light_detector(), backbone=dict(depth=18, init_cfg=None),
                 neck=dict(in_channels=[64, 128, 256, 512]))
    teacher = dict(cfg.model.teacher, **small)
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    spec = dict(cfg.model, teacher=teacher, teacher_ckpt=str(tmp_path / 'teacher.pth'),
                student=dict(cfg.model.student, **small),
                losses=dict(boxes=dict(type='BoxFeatureLoss', student='neck', teacher='neck',
                                       level_weights=[1.0, 0.5, 0.25, 0.125, 0.0625])))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        distiller = MODELS.build(spec).train()
    inputs = torch.rand(2, 3, 96, 96) * 255
    batch = samples()
    losses = distiller(inputs, batch, mode='loss')
    with torch.no_grad():
        s_feats = distiller.student.extract_feat(inputs)
        t_feats = distiller.teacher.model.extract_feat(inputs)
    boxes = [d.gt_instances.bboxes.tolist() for d in batch]
    expected = sum(w * reference(s, t, boxes, 96) for w, s, t in zip(
        [1.0, 0.5, 0.25, 0.125, 0.0625], s_feats, t_feats))
    assert losses['distill.loss_boxes'].item() == pytest.approx(expected, rel=1e-4)
    losses['distill.loss_boxes'].backward()
    assert distiller.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0


def test_a_loss_reading_a_field_the_task_lacks_fails_at_build_time(tmp_path):
    from test_distiller import classifier
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        teacher = MODELS.build(classifier(16))
    torch.save({'state_dict': teacher.state_dict()}, tmp_path / 'teacher.pth')
    with pytest.raises(ValueError, match=r"loss 'boxes' \(BoxFeatureLoss\) reads 'gt_instances', "
                                         r"but the student \(ImageClassifier, mmpretrain\) has "
                                         r"data samples with \['gt_label'\]"):
        build(str(tmp_path / 'teacher.pth'), dict(KD, boxes=dict(
            type='BoxFeatureLoss', student='backbone.layer3', teacher='backbone.layer3')))


def test_a_loss_must_declare_what_it_reads():
    class Undeclared(PerLevelLoss):
        def compute(self, student, teacher, ctx):
            return ctx.field('gt_label').float().sum()

    ctx = DistillContext(name='sneaky', reads=Undeclared.reads, data_samples=[])
    with pytest.raises(KeyError, match="loss 'sneaky' reads 'gt_label' without declaring it"):
        Undeclared()(torch.zeros(2, 3), torch.zeros(2, 3), ctx)


def test_level_weights_are_one_scheme_for_every_per_level_loss():
    s = [torch.full((1, 2, 2, 2), 1.0), torch.full((1, 2, 2, 2), 2.0)]
    t = [torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)]
    from mmkd.models.losses import FitNetLoss
    assert FitNetLoss()(s, t).item() == pytest.approx(1 + 4)
    assert FitNetLoss(level_weights='geometric')(s, t).item() == pytest.approx(0.5 + 4)
    assert FitNetLoss(level_weights=[2, 0])(s, t).item() == pytest.approx(2)
    with pytest.raises(ValueError, match=r"level_weights \[1\] does not fit 2 levels"):
        FitNetLoss(level_weights=[1])(s, t)
    assert np.isclose(FitNetLoss(loss_weight=3)(s[0], t[0]).item(), 3.0)
