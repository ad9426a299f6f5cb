"""Overhaul feature distillation."""
import math
from typing import List, Sequence, Union

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss


def bn_margin(bn: _BatchNorm) -> Tensor:
    """Expected value of the negative responses of ``bn``'s output, per channel.

    With ``s = |gamma|`` and ``m = beta`` (pre-ReLU response ~ N(m, s^2)):
    ``m - s * phi(m/s) / Phi(-m/s)`` if ``Phi(-m/s) > 0.001``, else ``-3 * s``.
    Returns a float32 tensor of shape ``(1, C, 1, 1)``.
    """
    s = bn.weight.detach().double().abs().clamp_min(1e-12)
    m = bn.bias.detach().double()
    cdf = 0.5 * (1 + torch.erf(-m / s / math.sqrt(2)))
    pdf = torch.exp(-0.5 * (m / s) ** 2) / math.sqrt(2 * math.pi)
    margin = torch.where(cdf > 0.001, m - s * pdf / cdf, -3 * s)
    return margin.float().view(1, -1, 1, 1)


class _PartialL2(torch.autograd.Function):
    """``sum(((student - target) * mask) ** 2)``, ``mask = (student > target) | (target > 0)``.

    One feature-sized buffer is made and kept for the backward pass: the masked difference,
    of which the gradient is twice. Autograd's composition of the same expression holds four
    or five at the loss's peak, when every activation of the student is also alive.
    """

    @staticmethod
    def forward(ctx, student: Tensor, teacher: Tensor, margin: Tensor) -> Tensor:
        diff = torch.max(teacher, margin)  # the target, turned in place into the difference
        mask = (student > diff) | (diff > 0)
        diff.neg_().add_(student).mul_(mask)
        flat = diff.view(-1)
        ctx.save_for_backward(diff)
        return torch.dot(flat, flat)

    @staticmethod
    def backward(ctx, grad: Tensor):
        diff, = ctx.saved_tensors
        return diff * (2 * grad), None, None


@MODELS.register_module()
class OFDLoss(PerLevelLoss):
    """Overhaul of feature distillation (Heo et al., ICCV 2019).

    The teacher feature is taken before its ReLU and clipped from below by a margin
    derived from the teacher BN that produced it (:func:`bn_margin`). The partial L2
    distance counts positions where the student exceeds the target or the target is
    positive. ``teacher_bn`` names the BN per level of a multi-level tap (buffers
    ``margin_0``, ``margin_1``, ... are set by :meth:`setup`).
    """

    def __init__(self, teacher_bn: Union[str, Sequence[str]], loss_weight: float = 1.0,
                 normalize: str = 'batch', level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        if normalize not in ('batch', 'none'):
            raise ValueError(f"OFDLoss: normalize must be 'batch' or 'none', got {normalize!r}")
        self.teacher_bn: List[str] = [teacher_bn] if isinstance(teacher_bn, str) \
            else list(teacher_bn)
        self.normalize = normalize

    def setup(self, student: nn.Module, teacher: nn.Module) -> None:
        """Compute the margins from the teacher's BN modules named by ``teacher_bn``."""
        for i, path in enumerate(self.teacher_bn):
            try:
                bn = teacher.get_submodule(path)
            except AttributeError as err:
                raise KeyError(f'OFDLoss: the teacher has no module {path!r}') from err
            if not isinstance(bn, _BatchNorm) or bn.weight is None or bn.bias is None:
                raise TypeError(f'OFDLoss: teacher module {path!r} is '
                                f'{type(bn).__name__}, not an affine BatchNorm')
            self.register_buffer(f'margin_{i}', bn_margin(bn), persistent=False)

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        level = ctx.level
        if not 0 <= level < len(self.teacher_bn):
            raise IndexError(f'OFDLoss: level {level} but {len(self.teacher_bn)} teacher_bn')
        margin = getattr(self, f'margin_{level}', None)
        if margin is None:
            raise RuntimeError('OFDLoss: setup() must be called before the loss')
        if teacher.dim() != 4 or teacher.shape[1] != margin.shape[1]:
            raise ValueError(f'OFDLoss: teacher feature {tuple(teacher.shape)} does not match '
                             f'the {margin.shape[1]} channels of {self.teacher_bn[level]!r}')
        loss = _PartialL2.apply(student.contiguous(), teacher, margin.to(teacher))
        return loss / student.shape[0] if self.normalize == 'batch' else loss
