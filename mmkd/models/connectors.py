"""Trainable adapters from the student's feature space to the teacher's."""
from contextlib import contextmanager, nullcontext
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
from torch import Tensor, nn

from mmkd.registry import MODELS
from .builder import build_part

__all__ = ['Connector', 'ConvBNConnector', 'LinearConnector', 'ResizeConnector']


class Connector(nn.Module):
    """Base of connectors: ``forward(student, teacher)`` maps the student feature towards
    the teacher's (the teacher tensor gives the target shape)."""


@MODELS.register_module()
class ConvBNConnector(Connector):
    """1x1 conv (no bias) + BatchNorm mapping ``in_channels`` to ``out_channels``.

    The FitNets regressor (Romero et al., ICLR 2015) in the conv+BN form used by OFD
    (Heo et al., ICCV 2019); the conv is He-initialised (fan-out), BN starts at
    weight 1, bias 0.

    Args:
        recompute: in training, keep only the input for the backward pass and compute the
            conv and BN outputs again there (two teacher-width feature maps less memory per
            level, one more 1x1 conv forward). The recomputation normalises with the same
            batch statistics and does not update BN's running statistics a second time.
            Only with a plain ``BatchNorm2d``: a connector converted to SyncBN keeps its
            outputs.
    """

    def __init__(self, in_channels: int, out_channels: int, recompute: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        nn.init.kaiming_normal_(self.conv.weight, mode='fan_out', nonlinearity='relu')
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        self.recompute = recompute
        self._recomputing = False

    def forward(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        if self.recompute and self.training and torch.is_grad_enabled() and \
                type(self.bn) is nn.BatchNorm2d:
            return checkpoint(self._conv_bn, x, use_reentrant=False,
                              context_fn=lambda: (nullcontext(), self._in_recomputation()))
        return self._conv_bn(x)

    @contextmanager
    def _in_recomputation(self):
        self._recomputing = True
        try:
            yield
        finally:
            self._recomputing = False

    def _conv_bn(self, x: Tensor) -> Tensor:
        y = self.conv(x)
        bn = self.bn
        if self._recomputing and bn.track_running_stats:
            # the same batch statistics; the update goes to copies of the running statistics
            return F.batch_norm(y, bn.running_mean.clone(), bn.running_var.clone(), bn.weight,
                                bn.bias, True, 0.0, bn.eps)
        return bn(y)


@MODELS.register_module()
class LinearConnector(Connector):
    """A linear map on the last dim, for (N, C) features such as pooled embeddings."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, out_channels)

    def forward(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        return self.fc(x)


@MODELS.register_module()
class ResizeConnector(Connector):
    """Interpolates the student feature to the teacher's spatial size (no parameters)."""

    def __init__(self, mode: str = 'bilinear', align_corners: Optional[bool] = False) -> None:
        super().__init__()
        self.mode = mode
        # F.interpolate rejects align_corners for the modes that do not use it.
        uses_corners = mode in ('linear', 'bilinear', 'bicubic', 'trilinear')
        self.align_corners = align_corners if uses_corners else None

    def forward(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        if target is None:
            raise ValueError('ResizeConnector needs the teacher tensor as target')
        size = tuple(target.shape[2:])
        if tuple(x.shape[2:]) == size:
            return x
        return F.interpolate(x, size=size, mode=self.mode, align_corners=self.align_corners)


class ConnectorChain(nn.Module):
    """One connector, or a chain of them, for one level."""

    def __init__(self, cfgs: List[dict], name: str) -> None:
        super().__init__()
        self.chain = nn.ModuleList(build_part(c, f'loss {name!r}, connector',
                                               Connector) for c in cfgs)

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        for module in self.chain:
            x = module(x, target)
        return x


def build_connectors(spec, name: str) -> Optional[nn.ModuleList]:
    """Connectors of one loss entry: one per level if any channel setting is a list."""
    if spec is None:
        return None
    cfgs = [spec] if isinstance(spec, dict) else list(spec)
    lengths = {len(v) for c in cfgs for v in c.values() if isinstance(v, (list, tuple))}
    if len(lengths) > 1:
        raise ValueError(f'loss {name!r}: per-level connector settings have different lengths')
    levels = lengths.pop() if lengths else 1
    per_level = []
    for i in range(levels):
        per_level.append(ConnectorChain([
            {k: (v[i] if isinstance(v, (list, tuple)) else v) for k, v in c.items()}
            for c in cfgs], name))
    return nn.ModuleList(per_level)
