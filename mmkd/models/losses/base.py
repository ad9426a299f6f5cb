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
    """

    same_shape: bool = True
    needs: Tuple[str, ...] = ()

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def bind_teacher(self, teacher: nn.Module) -> None:
        """Read what the loss needs from the built teacher (e.g. BN statistics)."""

    def compute(self, student: Tensor, teacher: Tensor, **extra) -> Tensor:
        raise NotImplementedError

    def forward(self, student: Tensor, teacher: Tensor, **extra) -> Tensor:
        device_type = student.device.type if student.device.type in ('cuda', 'cpu') else 'cpu'
        with torch.autocast(device_type=device_type, enabled=False):
            loss = self.compute(student.float(), teacher.detach().float(), **extra)
        return loss * self.loss_weight
