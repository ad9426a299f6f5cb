"""Pearson-correlation feature distillation."""
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss


def _normalize(feat: Tensor) -> Tensor:
    """Standardise each channel over N, H and W (unbiased std)."""
    flat = feat.transpose(0, 1).flatten(1)
    mean = flat.mean(dim=1, keepdim=True)
    std = flat.std(dim=1, keepdim=True)
    return (flat - mean) / (std + 1e-6)


@MODELS.register_module()
class PKDLoss(PerLevelLoss):
    """PKD (Cao et al., "PKD: General Distillation Framework for Object Detectors via
    Pearson Correlation Coefficient", NeurIPS 2022).

    Both features are standardised per channel; loss ``mse(norm_s, norm_t) / 2``,
    about ``1 - r`` averaged over channels. Spatial sizes may differ: the student
    (``resize_stu=True``) or the teacher is bilinearly resized to the other.
    """

    same_shape = False

    def __init__(self, loss_weight: float = 1.0, resize_stu: bool = True,
                 level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        self.resize_stu = resize_stu

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        if student.dim() != 4 or student.shape[:2] != teacher.shape[:2]:
            raise ValueError(f'PKDLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must be (N, C, H, W) with equal N and C')
        if student.shape[2:] != teacher.shape[2:]:
            if self.resize_stu:
                student = F.interpolate(student, teacher.shape[2:], mode='bilinear',
                                        align_corners=False)
            else:
                teacher = F.interpolate(teacher, student.shape[2:], mode='bilinear',
                                        align_corners=False)
        return F.mse_loss(_normalize(student), _normalize(teacher)) / 2
