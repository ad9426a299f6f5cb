"""The CIFAR ResNet of He et al. (2016), as used by the RepDistiller benchmark."""
from typing import Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmkd.registry import MODELS


def check_out_indices(out_indices: Sequence[int], num_stages: int, owner: str) -> Tuple[int, ...]:
    """Normalise stage indices (negative ones count from the end) or raise ValueError."""
    out = []
    for index in out_indices:
        if not -num_stages <= index < num_stages:
            raise ValueError(f'{owner} out_indices {tuple(out_indices)}: index {index} is out of '
                             f'range for {num_stages} stages')
        out.append(index % num_stages)
    return tuple(out)


def he_init(module: nn.Module) -> None:
    """He-normal (fan_out) convs, BN weight 1 and bias 0: the init of the KD papers' code."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class CifarBasicBlock(nn.Module):
    """Post-activation basic block: conv3x3-BN-ReLU-conv3x3-BN, add shortcut, ReLU.

    The inner activation is the separate module ``act1``; ``relu`` is called exactly once,
    on the residual sum, so a forward pre-hook on ``relu`` (mmkd's ``:pre_relu`` tap)
    records the pre-activation block output. ``relu`` is not in-place, so the recorded
    input is not overwritten.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample: Optional[nn.Sequential] = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


@MODELS.register_module()
class CifarResNet(BaseModule):
    """CIFAR ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016).

    The variant of the RepDistiller code (Tian et al., "Contrastive Representation
    Distillation", ICLR 2020): a 3x3 stem conv-BN-ReLU, then three stages ``layer1`` to
    ``layer3`` of ``(depth - 2) / 6`` :class:`CifarBasicBlock` each, with strides 1, 2, 2
    and 1x1 conv-BN shortcuts where the shape changes.

    Presets: resnet20/32/56/110 are ``depth`` 20/32/56/110 with the defaults;
    resnet8x4 is ``depth=8, width=(64, 128, 256), stem_channels=32`` and resnet32x4 is
    ``depth=32, width=(64, 128, 256), stem_channels=32``.

    Pre-ReLU stage features (the residual sum of each stage's last block) are the taps
    ``backbone.layer1:pre_relu``, ``backbone.layer2:pre_relu``, ``backbone.layer3:pre_relu``.

    Args:
        depth: network depth; ``(depth - 2) % 6 == 0``.
        width: output channels of the three stages.
        stem_channels: output channels of the stem conv.
        in_channels: input image channels.
        out_indices: stages (0 to 2) whose outputs ``forward`` returns.
        zero_init_residual: zero the last BN weight of every block.
        init_cfg: mmengine init config, applied by ``init_weights`` over the He-normal
            init done at construction.
    """

    def __init__(self, depth: int, width: Sequence[int] = (16, 32, 64), stem_channels: int = 16,
                 in_channels: int = 3, out_indices: Sequence[int] = (2,),
                 zero_init_residual: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f'CifarResNet depth must satisfy (depth - 2) % 6 == 0 and be at '
                             f'least 8 (e.g. 8, 20, 32, 56, 110); got depth={depth!r}')
        if len(width) != 3:
            raise ValueError(f'CifarResNet width needs 3 stage widths; got {tuple(width)}')
        self.depth = depth
        self.out_indices = check_out_indices(out_indices, 3, 'CifarResNet')
        num_blocks = (depth - 2) // 6

        self.conv1 = nn.Conv2d(in_channels, stem_channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        channels = stem_channels
        for i, (out_channels, stride) in enumerate(zip(width, (1, 2, 2))):
            blocks = [CifarBasicBlock(channels, out_channels, stride)]
            blocks += [CifarBasicBlock(out_channels, out_channels) for _ in range(num_blocks - 1)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            channels = out_channels

        he_init(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, CifarBasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.relu(self.bn1(self.conv1(x)))
        outs = []
        for i in range(3):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
