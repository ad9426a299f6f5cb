"""Connectors: shapes, initialisation and trainability."""
import math

import pytest
import torch

from mmkd.models.connectors import ConvBNConnector, LinearConnector, ResizeConnector
from mmkd.models.losses import FitNetLoss
from mmkd.registry import MODELS


def test_convbn_shape_and_init():
    torch.manual_seed(0)
    conn = MODELS.build(dict(type='mmkd.ConvBNConnector', in_channels=256, out_channels=64))
    assert isinstance(conn, ConvBNConnector)
    assert conn(torch.randn(2, 256, 5, 3)).shape == (2, 64, 5, 3)
    w = conn.conv.weight
    assert conn.conv.bias is None
    assert w.std().item() == pytest.approx(math.sqrt(2 / 64), rel=0.05)  # He, fan-out
    assert abs(w.mean().item()) < 0.01
    assert torch.equal(conn.bn.weight, torch.ones(64))
    assert torch.equal(conn.bn.bias, torch.zeros(64))


def test_linear_connector():
    conn = LinearConnector(8, 16)
    assert conn(torch.randn(4, 8)).shape == (4, 16)
    assert conn(torch.randn(4, 8), torch.randn(4, 16)).shape == (4, 16)


def test_resize_connector():
    conn = ResizeConnector()
    assert not list(conn.parameters())
    x = torch.randn(2, 3, 4, 4)
    out = conn(x, torch.randn(2, 5, 8, 6))
    assert out.shape == (2, 3, 8, 6)
    assert conn(x, torch.randn(2, 7, 4, 4)) is x
    const = torch.full((1, 1, 3, 3), 2.5)  # bilinear resizing keeps a constant map
    assert torch.allclose(conn(const, torch.zeros(1, 1, 7, 5)), torch.full((1, 1, 7, 5), 2.5))
    nearest = ResizeConnector(mode='nearest')
    up = nearest(torch.arange(4.0).view(1, 1, 2, 2), torch.zeros(1, 1, 4, 4))
    assert up[0, 0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    with pytest.raises(ValueError):
        conn(x)


def test_convbn_learns_fitnet_target():
    torch.manual_seed(0)
    x = torch.randn(8, 4, 6, 6)
    mix = torch.randn(6, 4, 1, 1)
    target = torch.nn.functional.conv2d(x, mix) * 2.0 + 0.5
    conn = ConvBNConnector(4, 6)
    loss_fn = FitNetLoss()
    first = loss_fn(conn(x), target).item()
    for _ in range(30):  # plain SGD by hand: building a torch.optim optimizer costs ~1 s
        conn.zero_grad()
        loss_fn(conn(x), target).backward()
        with torch.no_grad():
            for p in conn.parameters():
                p -= 0.3 * p.grad
    final = loss_fn(conn(x), target).item()
    assert final < 0.2 * first


def test_convbn_recompute_matches_plain_and_updates_stats_once():
    """With ``recompute`` (the default) the output, the gradients and BN's running statistics
    equal those of a plain conv + BN computed here; the backward keeps no conv/BN output."""
    torch.manual_seed(0)
    conn = ConvBNConnector(4, 6)
    conv, bn = torch.nn.Conv2d(4, 6, 1, bias=False), torch.nn.BatchNorm2d(6)
    conv.weight.data.copy_(conn.conv.weight)
    x = torch.randn(8, 4, 5, 5, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    weights = torch.randn(8, 6, 5, 5)
    for _ in range(2):
        out, ref = conn(x), bn(conv(x_ref))
        assert torch.allclose(out, ref, atol=1e-6)
        (out * weights).sum().backward()
        (ref * weights).sum().backward()
    for mine, plain in ((x, x_ref), (conn.conv.weight, conv.weight), (conn.bn.weight, bn.weight),
                        (conn.bn.bias, bn.bias)):
        assert torch.allclose(mine.grad, plain.grad, atol=1e-5)
    assert torch.allclose(conn.bn.running_mean, bn.running_mean, atol=1e-6)
    assert torch.allclose(conn.bn.running_var, bn.running_var, atol=1e-6)
    assert conn.bn.num_batches_tracked.item() == 2  # once per forward, not again in backward

    def saved_elements(module):
        sizes = []
        with torch.autograd.graph.saved_tensors_hooks(
                lambda t: sizes.append(t.numel()) or t, lambda t: t):
            module(x)
        return sum(sizes)
    plain = ConvBNConnector(4, 6, recompute=False)
    assert saved_elements(conn) <= x.numel() < saved_elements(plain) - 8 * 6 * 5 * 5


def test_convbn_with_another_norm_keeps_its_outputs():
    """A BN replaced by another class (mmengine's sync_bn conversion puts a SyncBatchNorm
    there, whose statistics come from every rank) is not recomputed: it runs as built."""
    class OtherBN(torch.nn.BatchNorm2d):
        pass

    x = torch.randn(2, 4, 3, 3, requires_grad=True)
    saved = {}
    for name, bn in (('plain', None), ('other', OtherBN(6))):
        conn = ConvBNConnector(4, 6)
        if bn is not None:
            conn.bn = bn
        sizes = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: sizes.append(t.numel()) or t,
                                                      lambda t: t):
            conn(x)
        saved[name] = sum(sizes)
    assert saved['plain'] <= x.numel() < saved['other']
