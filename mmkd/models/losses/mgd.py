"""MGD: masked generative distillation."""

import torch
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss
from .feature_parts import align_convs, aligned_student


@MODELS.register_module()
class MGDLoss(PerLevelLoss):
    """MGD (Yang et al., "Masked Generative Distillation", ECCV 2022).

    A random spatial mask ``M`` (each position zeroed with probability ``lambda_mgd``, the
    same mask for every channel) is applied to the (aligned) student feature; a generation
    block ``G`` (3x3 conv, ReLU, 3x3 conv at the teacher's width) must rebuild the whole
    teacher feature from it::

        L = alpha_mgd * sum_{c,h,w} (T - G(f_align(S) * M))^2 / N

    (sum over channels and positions, divided by the batch size ``N`` as the authors' code
    does). ``f_align`` is a 1x1 conv when the widths differ, identity otherwise; it and
    ``G`` are trainable parts of the loss, one per level (FPN levels do not share them).
    A new mask is drawn at every call (``torch.rand``, so seeding torch fixes it).

    Defaults (authors' configs, yzd-v/MGD): detection ``alpha_mgd=2e-5, lambda_mgd=0.65``
    on each FPN level; segmentation ``alpha_mgd=2e-5, lambda_mgd=0.75`` on the last
    backbone stage; classification ``alpha_mgd=7e-5, lambda_mgd=0.5``.

    Args:
        student_channels, teacher_channels: widths of the two features.
        alpha_mgd: weight of the summed squared error.
        lambda_mgd: masked ratio.
        num_levels: how many levels the taps give (one align conv and generation block each).
        loss_weight, level_weights: as for every :class:`PerLevelLoss`.
    """

    def __init__(self, student_channels: int, teacher_channels: int,
                 alpha_mgd: float = 2e-5, lambda_mgd: float = 0.65, num_levels: int = 1,
                 loss_weight: float = 1.0, level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        if not 0.0 <= lambda_mgd < 1.0:
            raise ValueError(f'MGDLoss: lambda_mgd is a masked ratio in [0, 1), got {lambda_mgd}')
        self.student_channels, self.teacher_channels = student_channels, teacher_channels
        self.alpha_mgd, self.lambda_mgd, self.num_levels = alpha_mgd, lambda_mgd, num_levels
        self.same_shape = student_channels == teacher_channels  # else it aligns itself
        self.align = align_convs(student_channels, teacher_channels, num_levels)
        self.generation = nn.ModuleList(
            nn.Sequential(nn.Conv2d(teacher_channels, teacher_channels, 3, padding=1),
                          nn.ReLU(inplace=True),
                          nn.Conv2d(teacher_channels, teacher_channels, 3, padding=1))
            for _ in range(num_levels))

    def random_mask(self, n: int, h: int, w: int, device: torch.device) -> Tensor:
        """``(n, 1, h, w)``: 0 where masked (probability ``lambda_mgd``), 1 elsewhere."""
        return (torch.rand(n, 1, h, w, device=device) >= self.lambda_mgd).float()

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        student = aligned_student(self, student, teacher, ctx, 'align conv and generation block')
        n, _, h, w = teacher.shape
        generated = self.generation[ctx.level](student * self.random_mask(n, h, w,
                                                                          student.device))
        return self.alpha_mgd * ((generated - teacher) ** 2).sum() / n
