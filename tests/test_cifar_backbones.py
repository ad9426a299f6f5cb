"""CIFAR-100 backbones of the KD papers: sizes, shapes, mmpretrain use and pre-ReLU taps."""
import pytest
import torch
from torch import nn

from mmkd.models.backbones import CifarResNet, WideResNet

X4 = dict(width=(64, 128, 256), stem_channels=32)


def count_cifar_resnet(depth, width=(16, 32, 64), stem_channels=16, classes=100):
    """Parameters counted layer by layer for a CIFAR ResNet.

    conv3x3 = 9*in*out, BN = 2*c, projection shortcut = in*out + 2*out.

    E.g. resnet20: stem 432 + 32; stage 1: 3 * (2*2304 + 64) = 14016; stage 2: 4608 + 9216 +
    128 + (512 + 64) + 2 * (2*9216 + 128) = 51648; stage 3: 18432 + 36864 + 256 + (2048 + 128) +
    2 * (2*36864 + 256) = 205696; fc 64*100 + 100 = 6500; total 278324.
    """
    total, c_in = 9 * 3 * stem_channels + 2 * stem_channels, stem_channels
    for stage, c in enumerate(width):
        for b in range((depth - 2) // 6):
            total += 9 * c_in * c + 9 * c * c + 4 * c
            if b == 0 and (stage > 0 or c_in != c):
                total += c_in * c + 2 * c
            c_in = c
    return total + c_in * classes + classes


def count_wrn(depth, k, classes=100):
    """Parameters counted layer by layer for a WRN of pre-activation blocks.

    Per block: BN(in) + conv3x3(in, out) + BN(out) + conv3x3(out, out), plus a 1x1 conv
    in*out where the shape changes; then stem conv 9*3*16, final BN and fc.

    E.g. WRN-16-2: stem 432; stage 1: 14432 + 18560; stage 2: 57536 + 73984; stage 3:
    229760 + 295424; final BN 256; fc 12900; total 703284.
    """
    total, c_in = 9 * 3 * 16, 16
    for stage, c in enumerate((16 * k, 32 * k, 64 * k)):
        for b in range((depth - 4) // 6):
            total += 2 * c_in + 9 * c_in * c + 2 * c + 9 * c * c
            if b == 0 and (stage > 0 or c_in != c):
                total += c_in * c
            c_in = c
    return total + 2 * c_in + c_in * classes + classes


# name, backbone, last-stage channels, exact count (by hand), published count (millions).
# The published figures (RepDistiller's table; He et al. / Zagoruyko & Komodakis) are the
# exact counts truncated to the printed digits (resnet20's 0.27M is He et al.'s CIFAR-10 model
# with parameter-free shortcuts: 269812), so the tolerance against them is
# published <= measured < published + one unit of the last printed digit. Against the exact
# hand count the tolerance is zero.
PRESETS = [
    ('resnet20', lambda: CifarResNet(20), 64, 278324, '0.27'),
    ('resnet56', lambda: CifarResNet(56), 64, 861620, '0.86'),
    ('resnet110', lambda: CifarResNet(110), 64, 1736564, '1.7'),
    ('resnet8x4', lambda: CifarResNet(8, **X4), 256, 1233540, '1.2'),
    ('resnet32x4', lambda: CifarResNet(32, **X4), 256, 7433860, '7.4'),
    ('wrn_16_2', lambda: WideResNet(16, 2), 128, 703284, '0.70'),
    ('wrn_40_2', lambda: WideResNet(40, 2), 128, 2255156, '2.2'),
    ('wrn_28_4', lambda: WideResNet(28, 4), 256, 5872180, '5.8'),
]


@pytest.mark.parametrize('name,build,channels,exact,published', PRESETS,
                         ids=[p[0] for p in PRESETS])
def test_param_counts(name, build, channels, exact, published):
    backbone = build()
    measured = sum(p.numel() for p in backbone.parameters()) + channels * 100 + 100
    assert measured == exact
    unit = 10 ** -len(published.split('.')[1])
    assert float(published) <= measured / 1e6 < float(published) + unit, (name, measured)


def test_hand_count_formulas():
    assert count_cifar_resnet(20) == 278324
    assert count_cifar_resnet(56) == 861620
    assert count_cifar_resnet(110) == 1736564
    assert count_cifar_resnet(8, **X4) == 1233540
    assert count_cifar_resnet(32, **X4) == 7433860
    assert count_wrn(16, 2) == 703284
    assert count_wrn(40, 2) == 2255156
    assert count_wrn(28, 4) == 5872180


@pytest.mark.parametrize('backbone,shapes', [
    (CifarResNet(8, out_indices=(0, 1, 2)), [(16, 32), (32, 16), (64, 8)]),
    (CifarResNet(8, **X4, out_indices=(0, 2)), [(64, 32), (256, 8)]),
    (CifarResNet(8), [(64, 8)]),
    (WideResNet(10, 2, out_indices=(0, 1, 2)), [(32, 32), (64, 16), (128, 8)]),
    (WideResNet(10, 1, out_indices=(-1,)), [(64, 8)]),
], ids=['resnet8-all', 'resnet8x4-0-2', 'resnet8-default', 'wrn10-2-all', 'wrn10-1-last'])
def test_output_shapes(backbone, shapes):
    outs = backbone(torch.randn(2, 3, 32, 32))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(2, c, s, s) for c, s in shapes]


def test_init():
    model = CifarResNet(8, zero_init_residual=True)
    assert torch.equal(model.layer1[0].bn1.weight, torch.ones(16))
    assert torch.equal(model.layer1[0].bn2.weight, torch.zeros(16))
    std = model.layer3[0].conv2.weight.std().item()  # He fan_out: sqrt(2 / (9 * 64))
    assert abs(std - (2 / (9 * 64)) ** 0.5) < 0.01
    model = WideResNet(10, 1, init_cfg=dict(type='Constant', layer='Conv2d', val=0.5))
    model.init_weights()
    assert torch.all(model.layer2[0].conv1.weight == 0.5)


def test_imageclassifier_loss():
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='mmkd.WideResNet', depth=16, widen_factor=2),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=128)))
    assert isinstance(model.backbone, WideResNet)
    model.init_weights()
    samples = [DataSample().set_gt_label(k) for k in (3, 97)]
    losses = model.loss(torch.randn(2, 3, 32, 32), samples)
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()


def _record_input(module, records):
    return module.register_forward_pre_hook(lambda m, args: records.append(args[0].clone()))


def test_cifar_resnet_pre_relu_hook():
    model = CifarResNet(8, out_indices=(0, 1, 2)).eval()
    records = []
    _record_input(model.layer3[-1].relu, records)
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 32, 32))
    assert len(records) == 1
    assert (records[0] < 0).any()
    assert torch.equal(torch.relu(records[0]), outs[2])


def test_cifar_resnet_pre_relu_tap():
    from mmkd.models.taps import Taps
    model = CifarResNet(20).eval()
    taps = Taps(model, [f'layer{i}:pre_relu' for i in (1, 2, 3)], 'teacher')
    taps.reset()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))[0]
    records = taps.take()
    assert [tuple(records[f'layer{i}:pre_relu'].shape[1:2]) for i in (1, 2, 3)] == \
        [(16,), (32,), (64,)]
    assert torch.equal(torch.relu(records['layer3:pre_relu']), out)


def test_wide_resnet_pre_relu_taps():
    from mmkd.models.taps import Taps
    model = WideResNet(10, 1).eval()
    taps = Taps(model, ['layer1', 'layer2', 'relu_final:input'], 'teacher')
    taps.reset()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))[0]
    records = taps.take()
    for tap in ('layer1', 'layer2', 'relu_final:input'):
        assert (records[tap] < 0).any(), tap
    pre = records['relu_final:input']
    assert torch.equal(torch.relu(pre), out)
    assert torch.allclose(pre, model.bn_final(model.layer3(records['layer2'])))
    with pytest.raises(TypeError, match='relu'):
        Taps(model, ['layer1:pre_relu'], 'teacher')


@pytest.mark.parametrize('build,depth', [
    (CifarResNet, 21), (CifarResNet, 2), (WideResNet, 26), (WideResNet, 4)])
def test_invalid_depth(build, depth):
    with pytest.raises(ValueError, match=f'depth={depth}'):
        build(depth)


def test_invalid_out_indices():
    with pytest.raises(ValueError, match='out_indices'):
        WideResNet(10, 1, out_indices=(3,))


def test_stage_structure():
    model = CifarResNet(8)
    for i in (1, 2, 3):
        stage = getattr(model, f'layer{i}')
        assert isinstance(stage, nn.Sequential)
        assert all(type(block.relu) is nn.ReLU for block in stage)
