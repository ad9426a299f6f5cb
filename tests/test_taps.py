"""Taps read module outputs, inputs and pre-ReLU sums; the teacher stops early."""
import pytest
import torch
from torch import nn

from mmkd.models.taps import TeacherDone, Taps


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 1)
        self.conv2 = nn.Conv2d(2, 2, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):  # like a ResNet BasicBlock: relu used inside and after the sum
        return self.relu(self.conv2(self.relu(self.conv1(x))) + x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(Block(), Block())
        self.head = nn.Linear(2, 3)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.head(self.layer1(x).mean((2, 3)))


def test_output_input_and_pre_relu_taps_hold_the_right_tensors():
    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        net.layer1[1].conv2.bias.fill_(-3.0)  # guarantees negative residual sums
    taps = Taps(net, ['layer1', 'head:input', 'layer1:pre_relu'], 'student')
    taps.reset()
    x = torch.randn(2, 2, 4, 4)
    logits = net(x)
    records = taps.take()
    block = net.layer1[1]
    inner = net.layer1[0](x)
    expected_pre = block.conv2(torch.relu(block.conv1(inner))) + inner
    assert torch.allclose(records['layer1:pre_relu'], expected_pre)
    assert (records['layer1:pre_relu'] < 0).any()  # kept before the in-place ReLU
    assert torch.allclose(records['layer1'], torch.relu(expected_pre))
    assert torch.allclose(net.head(records['head:input']), logits)
    net(x)  # outside reset() ... take(), nothing is recorded or kept
    assert taps.records == {}


def test_wrong_path_lists_close_names():
    with pytest.raises(KeyError, match=r"no module 'layer1.2'.*layer1.0|layer1.1"):
        Taps(Net(), ['layer1.2'], 'teacher')
    with pytest.raises(KeyError, match="'heda'.*head"):
        Taps(Net(), ['heda'], 'teacher')


def test_teacher_stops_after_its_deepest_tap():
    net = Net()
    ran = []
    net.head.register_forward_hook(lambda *a: ran.append('head'))
    taps = Taps(net, ['layer1'], 'teacher', stop_when_done=True)
    taps.reset()
    with pytest.raises(TeacherDone):
        net(torch.randn(1, 2, 4, 4))
    assert ran == [] and taps.take()['layer1'].shape == (1, 2, 4, 4)


def test_missing_record_is_an_error():
    taps = Taps(Net(), ['head'], 'student')
    taps.reset()
    with pytest.raises(RuntimeError, match=r"student taps \['head'\] were never recorded"):
        taps.take()


class _TwoInputs(nn.Module):
    def forward(self, x, y):
        return x + y


def test_later_positional_inputs_can_be_tapped():
    model = nn.Sequential()
    model.add_module('pair', _TwoInputs())
    taps = Taps(model, ['pair:input1', 'pair:input'], 'student')
    taps.reset()
    x, y = torch.ones(2), torch.full((2, ), 3.0)
    model.pair(x, y)
    records = taps.take()
    assert records['pair:input1'] is y and records['pair:input'] is x
    wrong = Taps(model, ['pair:input2'], 'teacher')
    wrong.reset()
    with pytest.raises(RuntimeError, match="tap 'pair:input2': the module was called with 2"):
        model.pair(x, y)
    with pytest.raises(ValueError, match="unknown position 'inputs'"):
        Taps(model, ['pair:inputs'], 'student')
