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
