"""Per-level trainable parts of feature losses (MGD, FGD, FBKD): alignment and checks."""
from typing import Optional

from torch import Tensor, nn

from .base import DistillContext


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


def aligned_student(loss: nn.Module, student: Tensor, teacher: Tensor, ctx: DistillContext,
                    what: str) -> Tensor:
    """Check the pair's shapes and the level count, then map the student to the teacher's
    width with the level's 1x1 align conv (``loss.align``, None when widths are equal)."""
    check_feature_pair(loss, student, teacher, ctx, loss.student_channels,
                       loss.teacher_channels)
    align = level_part(loss, loss.align, ctx, what)
    return student if align is None else align(student)
