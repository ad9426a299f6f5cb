"""Channel-wise distillation."""
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss


@MODELS.register_module()
class ChannelWiseDivergence(PerLevelLoss):
    """Channel-wise KD for dense prediction (Shu et al., ICCV 2021).

    Each channel's ``H * W`` map becomes a distribution by a softmax with temperature
    ``tau``; loss ``tau^2 * sum(KL(p_T || p_S)) / (N * C)``.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0,
                 level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        self.tau = tau

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        if student.dim() != 4:
            raise ValueError(f'ChannelWiseDivergence expects (N, C, H, W) features, got '
                             f'student {tuple(student.shape)}, teacher {tuple(teacher.shape)}')
        n, c = student.shape[:2]
        log_p_s = F.log_softmax(student.flatten(2) / self.tau, dim=2)
        log_p_t = F.log_softmax(teacher.flatten(2) / self.tau, dim=2)
        kl = F.kl_div(log_p_s, log_p_t, reduction='sum', log_target=True)
        return kl * self.tau ** 2 / (n * c)
