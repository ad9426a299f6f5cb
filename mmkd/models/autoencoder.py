"""The factor auto-encoder of IE-KD (Huang et al., "Revisiting Knowledge Distillation: An
Inheritance and Exploration Framework", CVPR 2021), in the factor-transfer form.

Encoder (channels ``in -> hidden -> factor -> factor``)::

    LReLU(0.1) -> Conv3x3(in, hidden) -> BN -> LReLU -> Conv3x3(hidden, factor) -> BN -> LReLU
               -> Conv3x3(factor, factor) -> BN -> LReLU

Decoder, mirrored with the channel counts reversed (``factor -> factor -> hidden -> in``)::

    Conv3x3(factor, factor) -> BN -> LReLU -> Conv3x3(factor, hidden) -> BN -> LReLU
               -> Conv3x3(hidden, in)

Choices left open by the method description: the reduction to ``factor`` channels happens in
the second conv (``hidden`` defaults to ``in``, so the CIFAR setting is 64 -> 64 -> 32 -> 32);
the decoder starts at the encoder's output (which already ends with a LeakyReLU) and ends
with a plain conv (no BN, no activation) so that it can reproduce any feature range. All
convs keep the spatial size (stride 1, padding 1) and have a bias; activations are not
in-place, so the input (a recorded teacher feature) is never modified.
"""
from typing import Optional

from torch import Tensor, nn

from mmkd.registry import MODELS

SLOPE = 0.1


def _conv_bn_act(in_channels: int, out_channels: int) -> list:
    return [nn.Conv2d(in_channels, out_channels, 3, 1, 1), nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(SLOPE)]


def _check(name: str, value: int) -> int:
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f'{name} must be a positive int, got {value!r}')
    return value


@MODELS.register_module()
class FactorEncoder(nn.Sequential):
    """Map a feature map with ``in_channels`` to a factor with ``factor_channels``.

    Args:
        in_channels: channels of the input feature.
        factor_channels: channels of the factor.
        hidden_channels: output channels of the first conv; ``in_channels`` if None.
    """

    def __init__(self, in_channels: int, factor_channels: int,
                 hidden_channels: Optional[int] = None) -> None:
        hidden = in_channels if hidden_channels is None else hidden_channels
        for name, value in (('in_channels', in_channels), ('factor_channels', factor_channels),
                            ('hidden_channels', hidden)):
            _check(name, value)
        super().__init__(nn.LeakyReLU(SLOPE), *_conv_bn_act(in_channels, hidden),
                         *_conv_bn_act(hidden, factor_channels),
                         *_conv_bn_act(factor_channels, factor_channels))
        self.in_channels = in_channels
        self.factor_channels = factor_channels
        self.hidden_channels = hidden

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects (N, {self.in_channels}, H, W) '
                             f'features, got shape {tuple(x.shape)}')
        return super().forward(x)


class FactorDecoder(nn.Sequential):
    """The mirror of :class:`FactorEncoder`: factor back to the feature."""

    def __init__(self, in_channels: int, factor_channels: int,
                 hidden_channels: Optional[int] = None) -> None:
        hidden = in_channels if hidden_channels is None else hidden_channels
        super().__init__(*_conv_bn_act(factor_channels, factor_channels),
                         *_conv_bn_act(factor_channels, hidden),
                         nn.Conv2d(hidden, in_channels, 3, 1, 1))


@MODELS.register_module()
class FactorAutoEncoder(nn.Module):
    """IE-KD's teacher auto-encoder: ``decoder(encoder(x))`` reconstructs ``x``.

    Args:
        in_channels: channels of the teacher feature (64 for CIFAR ResNet-56 ``layer3``).
        factor_channels: channels of the factor (32 in the CIFAR reference code).
        hidden_channels: see :class:`FactorEncoder`.
    """

    def __init__(self, in_channels: int, factor_channels: int = 32,
                 hidden_channels: Optional[int] = None) -> None:
        super().__init__()
        self.encoder = FactorEncoder(in_channels, factor_channels, hidden_channels)
        self.decoder = FactorDecoder(in_channels, factor_channels, hidden_channels)

    def forward(self, x: Tensor):
        """Return ``(factor, reconstruction)``."""
        factor = self.encoder(x)
        return factor, self.decoder(factor)
