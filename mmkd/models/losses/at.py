"""Attention transfer."""
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss


@MODELS.register_module()
class ATLoss(PerLevelLoss):
    """Activation-based attention transfer (Zagoruyko & Komodakis, ICLR 2017).

    ``a(F) = normalize(mean_c(F^p).flatten(1))``; loss ``mean((a(s) - a(t))^2)``.
    Channel counts may differ; if spatial sizes differ, the larger feature is
    adaptive-average-pooled to the smaller size.
    """

    same_shape = False

    def __init__(self, p: int = 2, loss_weight: float = 1.0,
                 level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        self.p = p

    def _attention(self, feat: Tensor) -> Tensor:
        return F.normalize(feat.pow(self.p).mean(1).flatten(1))

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        if student.shape[0] != teacher.shape[0] or student.dim() != teacher.dim():
            raise ValueError(f'ATLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} differ in batch size or rank')
        size = tuple(min(a, b) for a, b in zip(student.shape[2:], teacher.shape[2:]))
        if student.shape[2:] != size:
            student = F.adaptive_avg_pool2d(student, size)
        if teacher.shape[2:] != size:
            teacher = F.adaptive_avg_pool2d(teacher, size)
        return (self._attention(student) - self._attention(teacher)).pow(2).mean()
