"""MGD: masked generative distillation."""
from typing import Optional

import torch
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss


def level_part(loss: nn.Module, parts: Optional[nn.ModuleList], ctx: DistillContext,
               what: str) -> Optional[nn.Module]:
    """The trainable part of ``ctx.level`` (one per level); raise if the tap gives a different
    number of levels than the loss was built for."""
    if ctx.num_levels != loss.num_levels:
        raise ValueError(
            f'{type(loss).__name__} (loss {ctx.name!r}) was built with num_levels='
            f'{loss.num_levels} (one {what} per level) but student tap {ctx.student_tap!r} '
            f'gives {ctx.num_levels} level(s); set num_levels={ctx.num_levels}')
    return None if parts is None else parts[ctx.level]


def check_feature_pair(loss: nn.Module, student: Tensor, teacher: Tensor, ctx: DistillContext,
                       student_channels: int, teacher_channels: int) -> None:
    """Both (N, C, H, W) with equal N, H, W and the channels the loss was built for."""
    name = type(loss).__name__
    shapes = f'student {tuple(student.shape)}, teacher {tuple(teacher.shape)}'
    if student.dim() != 4 or teacher.dim() != 4:
        raise ValueError(f'{name} (loss {ctx.name!r}) expects (N, C, H, W) features; {shapes}')
    if student.shape[0] != teacher.shape[0] or student.shape[2:] != teacher.shape[2:]:
        raise ValueError(f'{name} (loss {ctx.name!r}), level {ctx.level}: batch and spatial '
                         f'sizes must match; {shapes}')
    if student.shape[1] != student_channels or teacher.shape[1] != teacher_channels:
        raise ValueError(f'{name} (loss {ctx.name!r}), level {ctx.level}: built for '
                         f'student_channels={student_channels}, teacher_channels='
                         f'{teacher_channels}; {shapes}')


def align_convs(student_channels: int, teacher_channels: int,
                num_levels: int) -> Optional[nn.ModuleList]:
    """A 1x1 conv per level from the student's to the teacher's width (None if equal)."""
    if student_channels == teacher_channels:
        return None
    return nn.ModuleList(nn.Conv2d(student_channels, teacher_channels, 1)
                         for _ in range(num_levels))


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
        check_feature_pair(self, student, teacher, ctx, self.student_channels,
                           self.teacher_channels)
        align = level_part(self, self.align, ctx, 'align conv and generation block')
        if align is not None:
            student = align(student)
        n, _, h, w = teacher.shape
        generated = self.generation[ctx.level](student * self.random_mask(n, h, w,
                                                                          student.device))
        return self.alpha_mgd * ((generated - teacher) ** 2).sum() / n
