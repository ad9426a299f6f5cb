"""The base class of every distillation loss."""
from typing import Tuple

import torch
from torch import Tensor, nn


class DistillLoss(nn.Module):
    """A distillation loss between one student and one teacher tensor.

    Subclasses implement :meth:`compute`. :meth:`forward` runs it in fp32 with
    autocast off (fp16 log/softmax is the usual source of NaN distillation
    losses) and multiplies by ``loss_weight``.

    Class attributes the distiller reads:
        same_shape: the distiller checks that the (connected) student tensor and
            the teacher tensor have the same shape, and names both layers if not.
        needs: names of batch fields passed to :meth:`compute` as keyword
            arguments, e.g. ``('gt_label',)``.
        multi_level: :meth:`compute` receives every level at once (lists of tensors,
            connected student levels first, and ``student_raw``, the unconnected ones).
    """

    same_shape: bool = True
    needs: Tuple[str, ...] = ()
    multi_level: bool = False

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def bind_teacher(self, teacher: nn.Module) -> None:
        """Read what the loss needs from the built teacher (e.g. BN statistics)."""

    def compute(self, student: Tensor, teacher: Tensor, **extra) -> Tensor:
        raise NotImplementedError

    def forward(self, student: Tensor, teacher: Tensor, **extra) -> Tensor:
        first = student[0] if isinstance(student, (list, tuple)) else student
        device_type = first.device.type if first.device.type in ('cuda', 'cpu') else 'cpu'
        with torch.autocast(device_type=device_type, enabled=False):
            loss = self.compute(_fp32(student), _fp32(teacher, detach=True),
                                **{k: _fp32(v) for k, v in extra.items()})
        return loss * self.loss_weight


def _fp32(value, detach: bool = False):
    """Floating tensors (or lists of them) in fp32; anything else unchanged."""
    if isinstance(value, (list, tuple)):
        return [_fp32(v, detach) for v in value]
    if isinstance(value, Tensor) and value.is_floating_point():
        value = value.detach() if detach else value
        return value.float()
    return value
