"""The CIFAR Wide ResNet of Zagoruyko & Komodakis (2016), as used by OFD and RepDistiller."""
from typing import Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmkd.registry import MODELS
from .cifar_resnet import check_out_indices, he_init


class WideBasicBlock(nn.Module):
    """Pre-activation block: BN-ReLU-conv3x3-BN-ReLU-dropout-conv3x3, plus shortcut.

    Where the shape changes the shortcut is a 1x1 conv applied to the activated input
    (``act1(bn1(x))``), as in the original WRN code; otherwise it is ``x`` itself. No
    activation follows the sum, so the block has no ``relu`` attribute (its activations
    are ``act1`` and ``act2``) and mmkd's ``:pre_relu`` tap rejects it with a clear error.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.act1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.shortcut: Optional[nn.Conv2d] = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.act1(self.bn1(x))
        identity = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.dropout(self.act2(self.bn2(out)))
        return self.conv2(out) + identity


@MODELS.register_module()
class WideResNet(BaseModule):
    """Wide ResNet (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016), CIFAR form.

    As in the OFD (Heo et al., ICCV 2019) and RepDistiller CIFAR code: a 3x3 stem conv to 16
    channels, three stages ``layer1`` to ``layer3`` of ``(depth - 4) / 6``
    :class:`WideBasicBlock` each (widths 16k, 32k, 64k for ``widen_factor`` k; strides
    1, 2, 2), then ``bn_final`` and ``relu_final``. Papers use WRN-16-2, WRN-40-2, WRN-28-4
    and WRN-28-10 (``depth``-``widen_factor``).

    Outputs: stages 0 and 1 give their raw residual sums; stage 2 (the last) gives
    ``relu_final(bn_final(x))``, the feature the classifier pools.

    Pre-ReLU stage features: with pre-activation blocks, a stage's pre-ReLU feature is
    what enters the next BN-ReLU, i.e. the raw residual sum for stages 1 and 2 and the
    input of ``relu_final`` for stage 3. Use the taps ``backbone.layer1``,
    ``backbone.layer2`` and ``backbone.relu_final:input``; ``:pre_relu`` does not apply
    to these blocks.

    Args:
        depth: network depth; ``(depth - 4) % 6 == 0``.
        widen_factor: width multiplier k.
        dropout: dropout probability between the two convs of each block.
        in_channels: input image channels.
        out_indices: stages (0 to 2) whose outputs ``forward`` returns.
        init_cfg: mmengine init config, applied by ``init_weights`` over the He-normal
            init done at construction.
    """

    def __init__(self, depth: int = 28, widen_factor: int = 4, dropout: float = 0.0,
                 in_channels: int = 3, out_indices: Sequence[int] = (2,),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(f'WideResNet depth must satisfy (depth - 4) % 6 == 0 and be at '
                             f'least 10 (e.g. 16, 28, 40); got depth={depth!r}')
        self.depth = depth
        self.widen_factor = widen_factor
        self.out_indices = check_out_indices(out_indices, 3, 'WideResNet')
        num_blocks = (depth - 4) // 6
        width = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]

        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        channels = 16
        for i, (out_channels, stride) in enumerate(zip(width, (1, 2, 2))):
            blocks = [WideBasicBlock(channels, out_channels, stride, dropout)]
            blocks += [WideBasicBlock(out_channels, out_channels, 1, dropout)
                       for _ in range(num_blocks - 1)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            channels = out_channels
        self.bn_final = nn.BatchNorm2d(channels)
        self.relu_final = nn.ReLU()  # not in-place: the `relu_final:input` tap keeps its input

        he_init(self)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.conv1(x)
        outs = []
        for i in range(3):
            x = getattr(self, f'layer{i + 1}')(x)
            if i == 2:
                x = self.relu_final(self.bn_final(x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
