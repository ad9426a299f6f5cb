"""Logit distillation on a two-stage detector's RoI head, on the student's own RoIs."""
from typing import List

import torch
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillLoss
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
    """

    same_shape = False
    multi_level = True

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        self.tau = tau
        self._teacher_head = ()  # a tuple, so the teacher's head is not a submodule here

    def bind_teacher(self, teacher: nn.Module) -> None:
        head = getattr(teacher, 'roi_head', None)
        if head is None or not hasattr(head, '_bbox_forward'):
            raise TypeError(f'RoIKDLoss needs a two-stage teacher with an mmdet RoI head; '
                            f'{type(teacher).__name__} has none')
        self._teacher_head = (head, )

    def compute(self, student: List[Tensor], teacher: List[Tensor], **extra) -> Tensor:
        if len(student) != 2 or student[1].dim() != 2 or student[1].shape[1] != 5:
            raise ValueError(
                'RoIKDLoss: the student taps must be the RoI logits and the RoIs, e.g. '
                "['roi_head.bbox_head.fc_cls', 'roi_head.bbox_roi_extractor:input1']; got "
                f'{[tuple(s.shape) for s in student]}')
        logits, rois = student
        with torch.no_grad():
            t_logits = self._teacher_head[0]._bbox_forward(tuple(teacher), rois)['cls_score']
        if t_logits.shape != logits.shape:
            raise ValueError(f'RoIKDLoss: teacher RoI logits {tuple(t_logits.shape)} and '
                             f'student RoI logits {tuple(logits.shape)} differ (class counts?)')
        return soft_kl(logits, t_logits.float(), self.tau)
