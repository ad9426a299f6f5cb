"""IE-KD: the factor auto-encoder, stage 1 (TeacherAutoEncoder) and the stage-2 loss."""
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmkd.models.autoencoder import FactorAutoEncoder, FactorEncoder
from mmkd.models.losses.iekd import IEKDLoss
from mmkd.models.teacher_autoencoder import TeacherAutoEncoder
from mmkd.registry import MODELS


def save_autoencoder(path, in_channels=8, factor_channels=4, hidden=None, seed=0,
                     prefix='autoencoder.'):
    """A stage-1-like checkpoint with random weights and BN statistics."""
    torch.manual_seed(seed)
    ae = FactorAutoEncoder(in_channels, factor_channels, hidden)
    for m in ae.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    state = {f'{prefix}{k}': v for k, v in ae.state_dict().items()}
    state['teacher.some.weight'] = torch.zeros(3)  # stage-1 files also hold the teacher
    torch.save({'meta': {}, 'state_dict': state}, path)
    return ae


@pytest.fixture
def ae_ckpt(tmp_path):
    path = tmp_path / 'ae.pth'
    save_autoencoder(path)
    return str(path)


def test_factor_autoencoder_shapes_and_layout():
    ae = FactorAutoEncoder(64, 32)
    factor, recon = ae(torch.randn(2, 64, 8, 8))
    assert factor.shape == (2, 32, 8, 8) and recon.shape == (2, 64, 8, 8)
    kinds = [type(m).__name__ for m in ae.encoder]
    assert kinds == ['LeakyReLU'] + ['Conv2d', 'BatchNorm2d', 'LeakyReLU'] * 3
    assert all(m.negative_slope == 0.1 for m in ae.encoder if type(m).__name__ == 'LeakyReLU')
    convs = [(m.in_channels, m.out_channels) for m in ae.encoder if hasattr(m, 'in_channels')]
    assert convs == [(64, 64), (64, 32), (32, 32)]
    dec = [(m.in_channels, m.out_channels) for m in ae.decoder
           if isinstance(m, torch.nn.Conv2d)]
    assert dec == [(32, 32), (32, 64), (64, 64)]
    assert isinstance(ae.decoder[-1], torch.nn.Conv2d)  # plain conv out: any feature range
    assert FactorEncoder(16, 8, 4)(torch.randn(1, 16, 5, 7)).shape == (1, 8, 5, 7)
    with pytest.raises(ValueError, match=r'\(N, 16, H, W\)'):
        FactorEncoder(16, 8)(torch.randn(1, 15, 5, 7))


# -- independent NumPy reference -----------------------------------------------------------
def np_conv3x3(x, weight, bias):
    n, c, h, w = x.shape
    pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, weight.shape[0], h, w))
    for i in range(3):
        for j in range(3):
            patch = pad[:, :, i:i + h, j:j + w]
            out += np.einsum('nchw,oc->nohw', patch, weight[:, :, i, j])
    return out + bias[None, :, None, None]


def np_encoder(x, encoder, train):
    """FactorEncoder in NumPy: LReLU, then (conv, BN, LReLU) x 3."""
    lrelu = lambda v: np.where(v > 0, v, 0.1 * v)  # noqa: E731
    x = lrelu(x)
    mods = list(encoder)[1:]
    for conv, bn in zip(mods[0::3], mods[1::3]):
        x = np_conv3x3(x, conv.weight.detach().double().numpy(),
                       conv.bias.detach().double().numpy())
        if train:
            mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        else:
            mean, var = bn.running_mean.double().numpy(), bn.running_var.double().numpy()
        x = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + bn.eps)
        x = x * bn.weight.detach().double().numpy()[None, :, None, None] + \
            bn.bias.detach().double().numpy()[None, :, None, None]
        x = lrelu(x)
    return x


def np_distance(a, b):
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.abs(a - b).mean()


def block_mean(x, size):
    n, c, h, w = x.shape
    return x.reshape(n, c, size, h // size, size, w // size).mean(axis=(3, 5))


@pytest.mark.parametrize('split', ['natural', 'random'])
def test_iekd_loss_matches_numpy(ae_ckpt, tmp_path, split):
    torch.manual_seed(1)
    loss = IEKDLoss(ae_ckpt, in_channels=6, teacher_channels=8, factor_channels=4, split=split,
                    seed=3, w_inh=0.7, w_exp=1.3, loss_weight=2.0)
    loss.train()
    student = torch.randn(3, 6, 4, 4)
    teacher = torch.rand(3, 8, 2, 2)  # smaller: the student factors are pooled to 2x2
    value = loss(student, teacher).item()

    ae = save_autoencoder(tmp_path / 'again.pth')  # same seed: the weights in ae_ckpt
    s = student.double().numpy()
    order = loss.perm.numpy() if split == 'random' else np.arange(6)
    if split == 'random':
        assert not np.array_equal(order, np.arange(6))
    inh, exp = s[:, order[:3]], s[:, order[3:]]
    f_t = np_encoder(teacher.double().numpy(), ae.encoder, train=False)
    f_inh = block_mean(np_encoder(inh, loss.inherit_encoder, train=True), 2)
    f_exp = block_mean(np_encoder(exp, loss.explore_encoder, train=True), 2)
    expected = 2.0 * (0.7 * np_distance(f_inh, f_t) - 1.3 * np_distance(f_exp, f_t))
    assert value == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_random_split_is_a_fixed_permutation_saved_in_state_dict(ae_ckpt):
    a = IEKDLoss(ae_ckpt, in_channels=16, teacher_channels=8, factor_channels=4,
                 split='random', seed=5)
    b = IEKDLoss(ae_ckpt, in_channels=16, teacher_channels=8, factor_channels=4,
                 split='random', seed=5)
    c = IEKDLoss(ae_ckpt, in_channels=16, teacher_channels=8, factor_channels=4,
                 split='random', seed=6)
    assert sorted(a.perm.tolist()) == list(range(16))
    assert torch.equal(a.perm, b.perm) and not torch.equal(a.perm, c.perm)
    state = a.state_dict()
    assert 'perm' in state
    assert any(k.startswith('inherit_encoder.') for k in state)
    assert any(k.startswith('explore_encoder.') for k in state)
    assert any(k.startswith('teacher_encoder.') for k in state)
    c.load_state_dict(state)  # resume restores the permutation and the encoders
    assert torch.equal(c.perm, a.perm)
    x = torch.randn(2, 16, 3, 3)
    assert torch.equal(c.split_feature(x)[0], a.split_feature(x)[0])
    assert torch.equal(c.split_feature(x)[0], x[:, a.perm[:8]])
    natural = IEKDLoss(ae_ckpt, in_channels=16, teacher_channels=8, factor_channels=4)
    inh, exp = natural.split_feature(x)
    assert torch.equal(inh, x[:, :8]) and torch.equal(exp, x[:, 8:])


def test_teacher_encoder_frozen_student_encoders_learn(ae_ckpt, tmp_path):
    loss = IEKDLoss(ae_ckpt, in_channels=8, teacher_channels=8, factor_channels=4)
    ae = save_autoencoder(tmp_path / 'again.pth')
    for k, v in ae.encoder.state_dict().items():
        assert torch.equal(loss.teacher_encoder.state_dict()[k], v), k
    loss.train()
    assert not loss.teacher_encoder.training
    assert loss.inherit_encoder.training and loss.explore_encoder.training
    assert all(not p.requires_grad for p in loss.teacher_encoder.parameters())
    before = {k: v.clone() for k, v in loss.teacher_encoder.state_dict().items()}
    student = torch.randn(2, 8, 4, 4, requires_grad=True)
    out = loss(student, torch.randn(2, 8, 4, 4))
    out.backward()
    assert all(p.grad is None for p in loss.teacher_encoder.parameters())
    for enc in (loss.inherit_encoder, loss.explore_encoder):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())
    assert student.grad is not None
    for k, v in loss.teacher_encoder.state_dict().items():  # BN statistics too
        assert torch.equal(before[k], v), k


def test_bare_encoder_keys_are_accepted(tmp_path):
    path = tmp_path / 'bare.pth'
    save_autoencoder(path, prefix='')
    loss = IEKDLoss(str(path), in_channels=8, teacher_channels=8, factor_channels=4)
    assert torch.isfinite(loss(torch.randn(2, 8, 3, 3), torch.randn(2, 8, 3, 3)))


def test_missing_autoencoder_file_names_it(tmp_path):
    path = str(tmp_path / 'nowhere' / 'epoch_30.pth')
    with pytest.raises(FileNotFoundError, match='nowhere/epoch_30.pth'):
        IEKDLoss(path, in_channels=8, teacher_channels=8, factor_channels=4)


def test_mismatched_autoencoder_file_names_it(tmp_path):
    path = tmp_path / 'ae16.pth'
    save_autoencoder(path, in_channels=16)
    with pytest.raises(ValueError, match='ae16.pth') as err:
        IEKDLoss(str(path), in_channels=8, teacher_channels=8, factor_channels=4)
    assert 'autoencoder.encoder.1.weight' in str(err.value)  # the first conv's shape
    assert 'file (16, 16, 3, 3) vs model (8, 8, 3, 3)' in str(err.value)
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.w': torch.zeros(1)}}, other)
    with pytest.raises(ValueError, match='other.pth.*no encoder weights'):
        IEKDLoss(str(other), in_channels=8, teacher_channels=8, factor_channels=4)


def test_bad_arguments(ae_ckpt):
    with pytest.raises(ValueError, match='even'):
        IEKDLoss(ae_ckpt, in_channels=7, teacher_channels=8, factor_channels=4)
    with pytest.raises(ValueError, match='split'):
        IEKDLoss(ae_ckpt, in_channels=8, teacher_channels=8, factor_channels=4, split='odd')
    loss = IEKDLoss(ae_ckpt, in_channels=8, teacher_channels=8, factor_channels=4)
    with pytest.raises(ValueError, match='teacher_channels=8'):
        loss(torch.randn(2, 8, 3, 3), torch.randn(2, 6, 3, 3))


@pytest.mark.parametrize('distance', ['l2', 'cosine'])
def test_alternative_distances(ae_ckpt, distance):
    loss = IEKDLoss(ae_ckpt, in_channels=8, teacher_channels=8, factor_channels=4,
                    distance=distance)
    assert torch.isfinite(loss(torch.randn(2, 8, 3, 3), torch.randn(2, 8, 3, 3)))


# -- stage 1 ---------------------------------------------------------------------------------
def tiny_teacher():
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='mmkd.CifarResNet', depth=8, in_channels=1),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=10, in_channels=64))


@pytest.fixture
def stage1(tmp_path):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(0)
        teacher = MODELS.build(tiny_teacher())
        torch.save({'state_dict': teacher.state_dict()}, tmp_path / 'teacher.pth')
        model = MODELS.build(dict(
            type='mmkd.TeacherAutoEncoder', teacher=tiny_teacher(),
            teacher_ckpt=str(tmp_path / 'teacher.pth'), tap='backbone.layer3',
            autoencoder=dict(in_channels=64, factor_channels=32),
            data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', num_classes=10,
                                   mean=[72.9], std=[90.0])))
    return model, teacher


def test_teacher_autoencoder_learns_and_keeps_teacher_frozen(stage1, tmp_path):
    model, teacher = stage1
    assert isinstance(model, TeacherAutoEncoder)
    for k, v in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v), k
    assert type(model.data_preprocessor).__name__ == 'ClsDataPreprocessor'
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx([72.9])
    model.train()
    assert not model.teacher.training and model.autoencoder.training
    ran = []
    model.teacher.model.head.register_forward_hook(lambda *a: ran.append(1))
    torch.manual_seed(0)
    data = dict(inputs=[torch.randint(0, 255, (1, 16, 16), dtype=torch.uint8)
                        for _ in range(8)],
                data_samples=[DataSample().set_gt_label(i % 10) for i in range(8)])
    optim = torch.optim.SGD(model.autoencoder.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(20):
        batch = model.data_preprocessor(data, True)
        out = model(**batch, mode='loss')
        assert set(out) == {'loss_recon'}
        optim.zero_grad()
        out['loss_recon'].backward()
        optim.step()
        losses.append(out['loss_recon'].item())
    assert ran == []  # the teacher stopped at its tap
    assert all(p.grad is None for p in model.teacher.parameters())
    assert losses[-1] < 0.5 * losses[0], losses
    for k, v in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v), k
    with pytest.raises(NotImplementedError, match='val_cfg'):
        model(batch['inputs'], batch['data_samples'], mode='predict')

    # Stage 2 reads the encoder from the runner-style checkpoint.
    path = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    loss = IEKDLoss(str(path), in_channels=16, teacher_channels=64, factor_channels=32)
    for k, v in model.autoencoder.encoder.state_dict().items():
        assert torch.equal(loss.teacher_encoder.state_dict()[k], v), k


def test_teacher_autoencoder_l2_and_errors(stage1, tmp_path):
    model, _ = stage1
    with pytest.raises(ValueError, match='recon'):
        TeacherAutoEncoder(teacher=tiny_teacher(), teacher_ckpt=str(tmp_path / 'teacher.pth'),
                           tap='backbone.layer3', recon='huber')
    with pytest.raises(ValueError, match='teacher_ckpt'):
        TeacherAutoEncoder(teacher=tiny_teacher(), teacher_ckpt='', tap='backbone.layer3')
    l2 = TeacherAutoEncoder(teacher=tiny_teacher(), teacher_ckpt=str(tmp_path / 'teacher.pth'),
                            tap='backbone.layer3', recon='l2',
                            autoencoder=dict(in_channels=32, factor_channels=8))
    with pytest.raises(ValueError, match='autoencoder.in_channels is 32'):
        l2(torch.randn(2, 1, 16, 16), mode='loss')
    l2 = TeacherAutoEncoder(teacher=tiny_teacher(), teacher_ckpt=str(tmp_path / 'teacher.pth'),
                            tap='backbone.layer2', recon='l2',
                            autoencoder=dict(in_channels=32, factor_channels=8))
    x = torch.randn(2, 1, 16, 16)
    out = l2(x, mode='loss')['loss_recon']
    feature = l2.teacher_feature(x)
    _, recon = l2.autoencoder(feature)
    assert out.item() == pytest.approx(((recon - feature) ** 2).mean().item(), rel=1e-5)
