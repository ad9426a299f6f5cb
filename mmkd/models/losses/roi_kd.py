"""Logit distillation on a two-stage detector's RoI head, on the student's own RoIs."""
import dataclasses
from typing import List, Optional

import torch
from mmengine.registry import DefaultScope
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillContext, DistillLoss
from .kd import soft_kl


@MODELS.register_module()
class RoIKDLoss(DistillLoss):
    """Hinton KD between the student's RoI classification logits and the teacher's on the
    same RoIs (Chen et al., "Learning Efficient Object Detection Models with Knowledge
    Distillation", NeurIPS 2017, soft-target term).

    The teacher runs only to its neck; its RoI head is then applied to the RoIs the student
    sampled, so the teacher never runs its RPN, assigners or sampler, and the two sets of
    logits describe the same boxes. Taps::

        student=['roi_head.bbox_head.fc_cls', 'roi_head.bbox_roi_extractor:input1'],
        teacher='neck'

    (the student's logits, the RoIs they came from, and the teacher's FPN levels).

    ``logit_loss`` replaces Hinton's KL by another logit loss on the same ``(K, C)`` pair,
    each RoI a sample, e.g. ``dict(type='DISTLoss')`` for DIST on the RoI logits; its own
    ``loss_weight`` applies, then this one's (``tau`` is then unused).
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0,
                 logit_loss: Optional[dict] = None) -> None:
        super().__init__(loss_weight)
        self.tau = tau
        self.logit_loss = None
        if logit_loss is not None:
            with DefaultScope.overwrite_default_scope('mmkd'):
                self.logit_loss = MODELS.build(logit_loss)
            if not isinstance(self.logit_loss, DistillLoss) or self.logit_loss.reads:
                raise TypeError(f'RoIKDLoss: logit_loss must be a distillation loss that reads '
                                f'no batch fields (the RoIs have no labels here); got '
                                f'{type(self.logit_loss).__name__}')

    def setup(self, student: nn.Module, teacher: nn.Module) -> None:
        head = getattr(teacher, 'roi_head', None)
        if not all(hasattr(head, part) for part in ('bbox_roi_extractor', 'bbox_head')):
            raise TypeError(f'RoIKDLoss needs a two-stage teacher with an mmdet RoI head '
                            f'(bbox_roi_extractor and bbox_head); {type(teacher).__name__} '
                            f'has none')

    def compute(self, student: List[Tensor], teacher: List[Tensor],
                ctx: DistillContext) -> Tensor:
        if not (isinstance(student, list) and len(student) == 2 and student[1].dim() == 2
                and student[1].shape[1] == 5):
            raise ValueError(
                'RoIKDLoss: the student taps must be the RoI logits and the RoIs, e.g. '
                "['roi_head.bbox_head.fc_cls', 'roi_head.bbox_roi_extractor:input1']; got "
                f'{[tuple(s.shape) for s in student] if isinstance(student, list) else student}')
        logits, rois = student
        with torch.no_grad():
            t_logits = teacher_roi_logits(ctx.teacher.roi_head, teacher, rois)
        if t_logits.shape != logits.shape:
            raise ValueError(f'RoIKDLoss: teacher RoI logits {tuple(t_logits.shape)} and '
                             f'student RoI logits {tuple(logits.shape)} differ (class counts?)')
        if self.logit_loss is None:
            return soft_kl(logits, t_logits.float(), self.tau)
        return self.logit_loss(logits, t_logits.float(),
                               dataclasses.replace(ctx, student_raw=None, connected=False))


def teacher_roi_logits(head: nn.Module, feats: List[Tensor], rois: Tensor) -> Tensor:
    """The classification logits of an mmdet ``StandardRoIHead`` for ``rois`` (``(K, 5)``,
    batch index first) on the FPN levels ``feats``."""
    extractor = head.bbox_roi_extractor
    roi_feats = extractor(tuple(feats[:extractor.num_inputs]), rois)
    if getattr(head, 'with_shared_head', False):
        roi_feats = head.shared_head(roi_feats)
    return head.bbox_head(roi_feats)[0]
