"""Hinton knowledge distillation on logits."""
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss


def _classes_last(logits: Tensor) -> Tensor:
    """(N, C, *spatial) -> (N * prod(spatial), C); (N, C) is returned unchanged."""
    if logits.dim() == 2:
        return logits
    return logits.movedim(1, -1).reshape(-1, logits.shape[1])


@MODELS.register_module()
class KDLoss(PerLevelLoss):
    """Soft-target KD (Hinton et al., "Distilling the Knowledge in a Neural Network", 2015).

    ``tau^2 * KL(softmax(t / tau) || softmax(s / tau))`` averaged over samples. Dense
    logits ``(N, C, H, W)`` are distilled per pixel (class dim 1) and averaged over the
    ``N * H * W`` positions.
    """

    same_shape = False  # compute() checks, naming the class counts

    def __init__(self, tau: float = 4.0, loss_weight: float = 1.0,
                 level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        self.tau = tau

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        if student.dim() < 2 or student.shape[1] != teacher.shape[1]:
            raise ValueError(
                f'KDLoss: the teacher and student class counts differ (class dim 1): '
                f'student logits {tuple(student.shape)}, teacher logits {tuple(teacher.shape)}')
        if student.shape != teacher.shape:
            raise ValueError(
                f'KDLoss: student logits {tuple(student.shape)} and teacher logits '
                f'{tuple(teacher.shape)} have different shapes')
        return soft_kl(_classes_last(student), _classes_last(teacher), self.tau)


def soft_kl(student: Tensor, teacher: Tensor, tau: float) -> Tensor:
    """``tau^2 * KL(softmax(t / tau) || softmax(s / tau))`` of ``(N, C)`` logits, mean over N."""
    log_p_s = F.log_softmax(student / tau, dim=1)
    log_p_t = F.log_softmax(teacher / tau, dim=1)
    return F.kl_div(log_p_s, log_p_t, reduction='batchmean', log_target=True) * tau ** 2
