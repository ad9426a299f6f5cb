"""RoIKDLoss: the teacher's RoI head classifies the student's RoIs; checked against a
computation written out with mmdet's modules."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from mmkd.models.losses import DISTLoss, RoIKDLoss
from mmkd.registry import MODELS
from mmkd.testing.offline import light_detector
from conftest import REPO
from e2e import save_model_weights

CONFIG = f'{REPO}/configs/kd/fasterrcnn_r101_r18_roi_voc.py'


def samples(n=2, size=96):
    out = []
    for i in range(n):
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                             ori_shape=(size, size), scale_factor=(1.0, 1.0)))
        boxes = torch.tensor([[8.0, 8.0, 40.0, 48.0], [50.0, 30.0, 90.0, 80.0]]) + i
        sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([1, 4]))
        out.append(sample)
    return out


def build_distiller(config, tmp_path):
    cfg = Config.fromfile(config)
    small = dict(light_detector(), backbone=dict(depth=18, init_cfg=None),
                 neck=dict(in_channels=[64, 128, 256, 512]))
    teacher = dict(cfg.model.teacher, **small)
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    spec = dict(cfg.model, teacher=teacher, teacher_ckpt=str(tmp_path / 'teacher.pth'),
                student=dict(cfg.model.student, **dict(small, backbone=dict(
                    depth=18, init_cfg=None))))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(spec).train()


@pytest.fixture
def distiller(tmp_path):
    return build_distiller(CONFIG, tmp_path)


def loss_on_student_rois(distiller):
    """One loss step; returns the losses, the student's RoIs and RoI logits, and the
    teacher's logits for those RoIs computed here independently."""
    recorded = {}
    student = distiller.student.roi_head
    student.bbox_roi_extractor.register_forward_pre_hook(
        lambda m, args: recorded.update(rois=args[1]))
    student.bbox_head.fc_cls.register_forward_hook(
        lambda m, a, out: recorded.update(logits=out))
    inputs = torch.rand(2, 3, 96, 96) * 255
    losses = distiller(inputs, samples(), mode='loss')
    teacher = distiller.teacher.model
    with torch.no_grad():
        head = teacher.roi_head
        t_logits = head.bbox_head(head.bbox_roi_extractor(teacher.extract_feat(inputs)[:4],
                                                          recorded['rois']))[0]
    return losses, recorded['rois'], recorded['logits'], t_logits


def test_teacher_logits_come_from_the_student_rois(distiller):
    ran = []
    distiller.teacher.model.rpn_head.register_forward_hook(lambda *a: ran.append('rpn'))
    losses, rois, logits, t_logits = loss_on_student_rois(distiller)
    assert ran == []  # the teacher stops at its neck: no RPN, assigner or sampler
    student, teacher = distiller.student.roi_head, distiller.teacher.model
    assert rois.shape[1] == 5 and t_logits.shape == logits.shape == (len(rois), 11)
    assert set(rois[:, 0].tolist()) == {0.0, 1.0}  # RoIs of both images
    p_t = F.softmax(t_logits, dim=1)
    log_p_s = F.log_softmax(logits, dim=1)
    expected = (p_t * (p_t.log() - log_p_s)).sum() / rois.shape[0]  # tau = 1
    assert losses['distill.loss_roi_kd'].item() == pytest.approx(expected.item(), rel=1e-4)
    losses['distill.loss_roi_kd'].backward()
    assert student.bbox_head.fc_cls.weight.grad is not None
    assert all(p.grad is None for p in teacher.parameters())


def test_dist_scores_the_same_roi_logits(tmp_path):
    """configs/dist/...roi_voc.py: DISTLoss on the teacher's logits for the student's RoIs."""
    distiller = build_distiller(f'{REPO}/configs/dist/fasterrcnn_r101_r18_roi_voc.py', tmp_path)
    losses, _, logits, t_logits = loss_on_student_rois(distiller)
    expected = DISTLoss()(logits, t_logits)  # beta = gamma = tau = 1
    assert losses['distill.loss_dist'].item() == pytest.approx(expected.item(), rel=1e-4)
    with pytest.raises(TypeError, match='logit_loss must be a distillation loss that reads no'):
        RoIKDLoss(logit_loss=dict(type='DKDLoss'))  # DKD reads gt_label


def test_wrong_taps_and_teachers_are_named(distiller):
    loss = distiller.distill_losses['roi_kd']
    with pytest.raises(ValueError, match="the student taps must be the RoI logits and the RoIs"):
        loss([torch.zeros(4, 11)], [torch.zeros(1, 256, 8, 8)])
    with pytest.raises(TypeError, match='needs a two-stage teacher with an mmdet RoI head'):
        loss.setup(None, torch.nn.Linear(2, 2))
