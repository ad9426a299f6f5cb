"""DIST: distillation of inter- and intra-class relations."""
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss
from .kd import _classes_last


def pearson(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Pearson correlation of the rows of two ``(M, K)`` matrices, ``(M,)``."""
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


@MODELS.register_module()
class DISTLoss(PerLevelLoss):
    """DIST (Huang et al., "Knowledge Distillation from A Stronger Teacher", NeurIPS 2022).

    With ``Y^s = softmax(Z^s / tau)`` and ``Y^t = softmax(Z^t / tau)`` (``B x C``: samples
    by classes) and Pearson correlation ``rho``::

        L_inter = 1 - mean_i rho(Y^s_{i,:}, Y^t_{i,:})   (each sample, across classes)
        L_intra = 1 - mean_j rho(Y^s_{:,j}, Y^t_{:,j})   (each class, across the batch)
        L = tau^2 * (beta * L_inter + gamma * L_intra)

    Logits ``(N, C)`` (classification, or detection RoI logits ``(K, C)``) are the samples
    directly; dense logits ``(N, C, H, W)`` (segmentation) are flattened to ``N H W``
    pixel samples, as the authors' segmentation code does.

    Defaults ``beta = gamma = tau = 1``: the paper's ImageNet setting, also the authors'
    segmentation code (which applies no temperature) and MMRazor's.

    Args:
        beta: weight of the inter-class relation.
        gamma: weight of the intra-class relation.
        tau: softmax temperature.
        loss_weight, level_weights: as for every :class:`PerLevelLoss`.
    """

    same_shape = False  # compute() checks, naming the class counts

    def __init__(self, beta: float = 1.0, gamma: float = 1.0, tau: float = 1.0,
                 loss_weight: float = 1.0, level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        self.beta, self.gamma, self.tau = beta, gamma, tau

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        if student.shape != teacher.shape or student.dim() < 2:
            raise ValueError(
                f'DISTLoss (loss {ctx.name!r}): student logits {tuple(student.shape)} and '
                f'teacher logits {tuple(teacher.shape)} must have the same shape, classes in '
                f'dim 1 ((N, C) or (N, C, H, W))')
        y_s = F.softmax(_classes_last(student) / self.tau, dim=1)
        y_t = F.softmax(_classes_last(teacher) / self.tau, dim=1)
        inter = 1 - pearson(y_s, y_t).mean()
        intra = 1 - pearson(y_s.t(), y_t.t()).mean()
        return self.tau ** 2 * (self.beta * inter + self.gamma * intra)
