"""FBKD: attention-guided and non-local distillation for detectors."""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss
from .feature_parts import align_convs, aligned_student


PerLevel = Union[int, Sequence[int]]


def _per_level(arg: str, value: PerLevel, num_levels: int) -> List[int]:
    values = [value] * num_levels if isinstance(value, int) else list(value)
    if len(values) != num_levels:
        raise ValueError(f'FBKDLoss: {arg} {value!r} does not fit num_levels={num_levels} '
                         f'(one number, or one per level)')
    return values


def attention_maps(feat: Tensor) -> Tuple[Tensor, Tensor]:
    """``G^S = mean_c |F|`` ``(N, H, W)`` and ``G^C = mean_hw |F|`` ``(N, C)``."""
    value = feat.abs()
    return value.mean(dim=1), value.mean(dim=(2, 3))


class NonLocalBlock(nn.Module):
    """A dot-product non-local block (Wang et al., "Non-local Neural Networks", CVPR 2018):
    ``x + W(f g)`` with ``f = theta(x)^T phi(x) / M`` between every position and the ``M``
    positions of ``phi`` and ``g``, which are max-pooled by ``pool_stride`` (so that the
    ``HW x M`` relation fits in memory on high-resolution FPN levels). ``theta``, ``phi``,
    ``g``: 1x1 convs to ``C / reduction`` channels; ``W``: a 1x1 conv back, zero at start."""

    def __init__(self, channels: int, reduction: int = 2, pool_stride: int = 2) -> None:
        super().__init__()
        inner = max(channels // reduction, 1)
        self.pool_stride = pool_stride
        self.theta = nn.Conv2d(channels, inner, 1)
        self.phi = nn.Conv2d(channels, inner, 1)
        self.g = nn.Conv2d(channels, inner, 1)
        self.out = nn.Conv2d(inner, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        theta, phi, g = self.theta(x), self.phi(x), self.g(x)
        if self.pool_stride > 1:
            phi = F.max_pool2d(phi, self.pool_stride, ceil_mode=True)
            g = F.max_pool2d(g, self.pool_stride, ceil_mode=True)
        theta, phi, g = theta.flatten(2), phi.flatten(2), g.flatten(2)   # (N, C', HW or M)
        relation = torch.bmm(theta.transpose(1, 2), phi) / phi.shape[2]  # (N, HW, M)
        y = torch.bmm(g, relation.transpose(1, 2))                      # (N, C', HW)
        return x + self.out(y.reshape(n, -1, h, w))


@MODELS.register_module()
class FBKDLoss(PerLevelLoss):
    """FBKD (Zhang & Ma, "Improve Object Detection with Feature-based Knowledge
    Distillation: Towards Accurate and Efficient Detectors", ICLR 2021).

    Attention maps ``G^S(F) = mean_c |F|`` (spatial) and ``G^C(F) = mean_hw |F|`` (channel)
    of the (aligned) student ``S`` and the teacher ``T`` give the masks
    ``M^S = H W softmax((G^S(S) + G^S(T)) / tau)`` and ``M^C = C softmax((G^C(S) + G^C(T)) /
    tau)`` (used as weights, no gradient through them)::

        L_AT  = ||G^S(S) - G^S(T)||_2 + ||G^C(S) - G^C(T)||_2
        L_AM  = (sum_{n,c,h,w} (T - S)^2 M^S M^C)^(1/2)
        L_NLD = ||NL_s(S) - NL_t(T)||_2
        L = at_weight * L_AT + am_weight * L_AM + nl_weight * L_NLD

    (L2 norms over the whole batch, as the authors' code computes them). ``NL_s``, ``NL_t``
    are two non-local blocks (:class:`NonLocalBlock`), one on each feature; they and the
    1x1 align conv (when the widths differ) are trainable parts of the loss, one set per
    level.

    Simplifications: the authors' code (as MMRazor ports it) also passes the student
    through extra adaptation layers (a 1x1 conv before ``L_AM``, a linear layer and a 3x3
    conv on the pooled maps before ``L_AT``, a 1x1 conv after ``NL_s``), compares plain
    (not absolute) means in ``L_AT`` and uses only the spatial mask in ``L_AM``; here the
    paper's formulas are computed on the aligned student directly (give the entry a
    connector for a learned adaptation).

    Defaults: the authors' released values as MMRazor reports them (``at_weight=4e-3``,
    ``am_weight=7e-5``, ``nl_weight=7e-5``, ``tau=0.5``); non-local blocks with channel
    reduction 2 and max-pool stride 2 (MMRazor's Faster R-CNN config on P2-P5:
    ``reduction=[4, 4, 2, 2], pool_stride=[8, 4, 2, 2]``).

    Args:
        student_channels, teacher_channels: widths of the two features.
        tau: temperature of the attention masks.
        at_weight, am_weight, nl_weight: weights of ``L_AT``, ``L_AM``, ``L_NLD``.
        reduction: channel reduction of the non-local blocks, one number or one per level.
        pool_stride: their max-pool stride, one number or one per level.
        num_levels: how many levels the taps give (one align conv and block pair each).
        loss_weight, level_weights: as for every :class:`PerLevelLoss`.
    """

    def __init__(self, student_channels: int, teacher_channels: int, tau: float = 0.5,
                 at_weight: float = 4e-3, am_weight: float = 7e-5, nl_weight: float = 7e-5,
                 reduction: PerLevel = 2, pool_stride: PerLevel = 2,
                 num_levels: int = 1, loss_weight: float = 1.0,
                 level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        reductions = _per_level('reduction', reduction, num_levels)
        strides = _per_level('pool_stride', pool_stride, num_levels)
        self.student_channels, self.teacher_channels = student_channels, teacher_channels
        self.tau, self.num_levels = tau, num_levels
        self.at_weight, self.am_weight, self.nl_weight = at_weight, am_weight, nl_weight
        self.same_shape = student_channels == teacher_channels
        self.align = align_convs(student_channels, teacher_channels, num_levels)
        self.non_local_s = nn.ModuleList(NonLocalBlock(teacher_channels, r, s)
                                         for r, s in zip(reductions, strides))
        self.non_local_t = nn.ModuleList(NonLocalBlock(teacher_channels, r, s)
                                         for r, s in zip(reductions, strides))

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        student = aligned_student(self, student, teacher, ctx,
                                  'align conv and non-local block pair')
        n, c, h, w = teacher.shape
        spatial_s, channel_s = attention_maps(student)
        spatial_t, channel_t = attention_maps(teacher)
        with torch.no_grad():
            mask_s = h * w * F.softmax(((spatial_s + spatial_t) / self.tau).reshape(n, -1), 1)
            mask_c = c * F.softmax((channel_s + channel_t) / self.tau, dim=1)
        at_loss = (torch.linalg.vector_norm(spatial_s - spatial_t)
                   + torch.linalg.vector_norm(channel_s - channel_t))
        weights = (mask_s.reshape(n, 1, h, w) * mask_c.reshape(n, c, 1, 1)).sqrt()
        am_loss = torch.linalg.vector_norm((teacher - student) * weights)
        nl_loss = torch.linalg.vector_norm(self.non_local_s[ctx.level](student)
                                           - self.non_local_t[ctx.level](teacher))
        return self.at_weight * at_loss + self.am_weight * am_loss + self.nl_weight * nl_loss
