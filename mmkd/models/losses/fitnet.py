"""FitNet hint loss."""
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .base import DistillContext, PerLevelLoss


@MODELS.register_module()
class FitNetLoss(PerLevelLoss):
    """Mean squared error between (connected) student and teacher features.

    Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015.
    """

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        return F.mse_loss(student, teacher)
