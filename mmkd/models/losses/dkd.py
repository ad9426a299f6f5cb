"""Decoupled knowledge distillation."""
import torch
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss


def _log_binary(logits: Tensor, gt_label: Tensor, gt_mask: Tensor) -> Tensor:
    """``log [p_gt, 1 - p_gt]`` of ``softmax(logits)``, shape (N, 2), computed stably."""
    log_all = torch.logsumexp(logits, dim=1, keepdim=True)
    log_gt = logits.gather(1, gt_label[:, None]) - log_all
    log_rest = torch.logsumexp(logits.masked_fill(gt_mask, float('-inf')), dim=1,
                               keepdim=True) - log_all
    return torch.cat([log_gt, log_rest], dim=1)


@MODELS.register_module()
class DKDLoss(PerLevelLoss):
    """Decoupled KD (Zhao et al., CVPR 2022): ``alpha * TCKD + beta * NCKD``.

    TCKD is the KL between the teacher's and student's binary (target vs. rest)
    distributions; NCKD the KL between their distributions over the non-target
    classes. Both are summed over the batch, divided by N and scaled by ``tau^2``.
    """

    reads = ('gt_label',)

    def __init__(self, tau: float = 4.0, alpha: float = 1.0, beta: float = 8.0,
                 loss_weight: float = 1.0, level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        self.tau = tau
        self.alpha = alpha
        self.beta = beta

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        if student.dim() != 2 or student.shape != teacher.shape:
            raise ValueError(f'DKDLoss: expects (N, C) logits of equal shape, got student '
                             f'{tuple(student.shape)}, teacher {tuple(teacher.shape)}')
        n = student.shape[0]
        gt_label = ctx.field('gt_label').reshape(-1).to(student.device, torch.long)
        if gt_label.numel() != n:
            raise ValueError(f'DKDLoss: {gt_label.numel()} labels for {n} samples')
        gt_mask = F.one_hot(gt_label, student.shape[1]).bool()
        s, t = student / self.tau, teacher / self.tau
        tckd = F.kl_div(_log_binary(s, gt_label, gt_mask), _log_binary(t, gt_label, gt_mask),
                        reduction='sum', log_target=True)
        log_nt_s = F.log_softmax(s - 1000.0 * gt_mask, dim=1)
        log_nt_t = F.log_softmax(t - 1000.0 * gt_mask, dim=1)
        nckd = F.kl_div(log_nt_s, log_nt_t, reduction='sum', log_target=True)
        return (self.alpha * tckd + self.beta * nckd) * self.tau ** 2 / n
