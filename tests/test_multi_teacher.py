"""Several named teachers (``Distiller(teachers=...)``) and a teacher of another backbone
family: wiring, state keys, errors on tiny classifiers; then the shipped two-teacher and
Swin-T -> R18 configs train through tools/train.py on real Fashion-MNIST pixels."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO, run_tool
from e2e import (assert_distill_terms_logged, flatten, offline_options, save_model_weights,
                 scalars, short_runtime, weights)
from mmkd.registry import MODELS
from mmkd.testing.several_teachers import options_per_teacher, teacher_views
from test_distiller import batch, classifier

WIDTHS = dict(wide=16, narrow=12)  # two teachers of different widths
LOSSES = dict(
    kd=dict(type='KDLoss', teacher_name='wide', student='head.fc', teacher='head.fc'),
    fit=dict(type='FitNetLoss', teacher_name='narrow', student='backbone.layer1',
             teacher='backbone.layer1',
             connector=dict(type='ConvBNConnector', in_channels=8, out_channels=12)))


@pytest.fixture
def ckpts(tmp_path):
    paths = {}
    for seed, (name, width) in enumerate(WIDTHS.items()):
        torch.manual_seed(seed)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build(classifier(width))
        paths[name] = str(tmp_path / f'{name}.pth')
        torch.save({'state_dict': model.state_dict()}, paths[name])
    return paths


def teachers(ckpts, **extra):
    return {name: dict(model=classifier(width), ckpt=ckpts[name], **extra.get(name, {}))
            for name, width in WIDTHS.items()}


def build(losses=LOSSES, **kwargs):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(dict(type='mmkd.Distiller', student=classifier(8), losses=losses,
                                 **kwargs))


def test_each_teacher_is_frozen_loaded_and_run_to_its_own_deepest_tap(ckpts):
    model = build(teachers=teachers(ckpts))
    assert set(model.teachers) == {'wide', 'narrow'}
    model.train()
    ran = {}
    for name, teacher in model.teachers.items():
        assert not teacher.training
        for layer in ('layer1', 'layer2'):
            teacher.model.backbone.get_submodule(layer).register_forward_pre_hook(
                lambda *a, key=(name, layer): ran.update({key: 1}))
    out = model(*batch(), mode='loss')
    assert {'distill.loss_kd', 'distill.loss_fit'} <= set(out)
    # 'narrow' is read at layer1 only: it stops there; 'wide' runs to its logits.
    assert set(ran) == {('wide', 'layer1'), ('wide', 'layer2'), ('narrow', 'layer1')}
    sum(out.values()).backward()
    assert all(p.grad is None and not p.requires_grad for p in model.teachers.parameters())
    for name, path in ckpts.items():  # each holds its own checkpoint
        saved = torch.load(path, weights_only=True)['state_dict']
        own = model.teachers[name].state_dict()
        assert own.keys() == saved.keys()
        assert all(torch.equal(own[k], v) for k, v in saved.items())


def test_state_keys_and_loading(ckpts):
    model = build(teachers=teachers(ckpts))
    state = model.state_dict()
    prefixes = {k.split('.')[0] for k in state}
    assert 'teacher' not in prefixes and {'student', 'teachers', 'connectors'} <= prefixes
    for name, path in ckpts.items():
        saved = torch.load(path, weights_only=True)['state_dict']
        assert {k[len(f'teachers.{name}.'):] for k in state
                if k.startswith(f'teachers.{name}.')} == set(saved)
    again = build(teachers=teachers(ckpts))
    again.load_state_dict(state, strict=True)  # teachers.<name>.<key> loads back
    # One teacher keeps the original layout: teacher.<key>, exactly the network's keys.
    single = build(losses=dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc')),
                   teacher=classifier(16), teacher_ckpt=ckpts['wide'])
    keys = {k[len('teacher.'):] for k in single.state_dict() if k.startswith('teacher.')}
    assert keys == set(torch.load(ckpts['wide'], weights_only=True)['state_dict'])
    assert not any(k.startswith('teachers.') for k in single.state_dict())
    assert list(single.frozen_teachers) == ['teacher']
    with pytest.raises(AttributeError, match=r"named teachers \['wide', 'narrow'\].*"
                                             r"teachers\[NAME\]"):
        model.teacher


def test_teacher_names_are_checked(ckpts):
    with pytest.raises(KeyError, match=r"loss 'fit' must name the teacher it reads: add "
                                       r"teacher_name=... \(one of \['wide', 'narrow'\]\)"):
        build(teachers=teachers(ckpts), losses=dict(
            LOSSES, fit=dict(LOSSES['fit'], teacher_name=None)))
    with pytest.raises(KeyError, match=r"loss 'kd' reads teacher_name='swin', which is not a "
                                       r"teacher.*\['wide', 'narrow'\]"):
        build(teachers=teachers(ckpts), losses=dict(
            LOSSES, kd=dict(LOSSES['kd'], teacher_name='swin')))
    with pytest.raises(ValueError, match=r"teachers \['narrow'\] are read by no loss"):
        build(teachers=teachers(ckpts), losses=dict(kd=LOSSES['kd']))
    with pytest.raises(ValueError, match='both `teacher=` and `teachers=`'):
        build(teachers=teachers(ckpts), teacher=classifier(16), teacher_ckpt=ckpts['wide'])
    with pytest.raises(ValueError, match=r"not \['teacher_ckpt'\].*`teacher_ckpt` -> `ckpt`"):
        build(teachers=teachers(ckpts), teacher_ckpt=ckpts['wide'])
    with pytest.raises(KeyError, match=r"teachers.wide: unknown keys \['checkpoint'\]"):
        build(teachers=dict(wide=dict(model=classifier(16), checkpoint=ckpts['wide'])),
              losses=dict(kd=LOSSES['kd']))


def test_each_teacher_loads_its_own_checkpoint(ckpts, tmp_path):
    swapped = teachers(ckpts)
    swapped['narrow']['ckpt'] = ckpts['wide']
    with pytest.raises(ValueError, match=r"teacher 'narrow' checkpoint .*wide.pth does not fit "
                                         r"the teacher 'narrow' model.*shape mismatches"):
        build(teachers=swapped)
    missing = teachers(ckpts)
    missing['wide']['ckpt'] = str(tmp_path / 'nothere.pth')
    with pytest.raises(FileNotFoundError, match=r"teacher 'wide' checkpoint file not found: "
                                                r".*nothere.pth \(teachers.wide.ckpt in"):
        build(teachers=missing)
    missing['wide']['ckpt'] = None
    with pytest.raises(ValueError, match=r"teacher 'wide' needs `ckpt` \(teachers.wide.ckpt\)"):
        build(teachers=missing)


def test_named_teachers_get_their_own_inputs_and_virtual_samples(ckpts):
    own = dict(narrow=dict(data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                                  mean=[10.0], std=[2.0])))
    model = build(teachers=teachers(ckpts, **own),
                  step=dict(type='VirtualSampleStep', mode='mixup', prob=0.0))
    seen = {}
    for name in ('student', 'wide', 'narrow'):
        net = model.student if name == 'student' else model.teachers[name].model
        net.backbone.conv1.register_forward_pre_hook(
            lambda m, a, key=name: seen.update({key: a[0]}))
    raw, samples = batch()
    raw = (raw * 20 + 100).round()
    data = model.data_preprocessor(dict(inputs=list(raw), data_samples=samples), True)
    assert set(data['teacher_inputs']) == {'narrow'}
    model(**data, mode='loss')
    assert torch.allclose(seen['narrow'], (raw - 10) / 2)
    assert torch.allclose(seen['wide'], raw) and torch.allclose(seen['student'], raw)
    model.step.mixer.prob = 1.0  # a virtual-sample step: both teachers see the mixed batch
    seen.clear()
    out = model(**data, mode='loss')
    assert out['loss_student'] == 0 and torch.isfinite(out['distill.loss_fit'])
    assert torch.allclose(seen['narrow'], (seen['student'] - 10) / 2, atol=1e-5)
    assert torch.allclose(seen['wide'], seen['student'])


def test_one_teacher_tools_refuse_named_teachers(tmp_path):
    config = osp.join(REPO, 'configs/multi_teacher/fasterrcnn_r101_swint_r18_voc.py')
    for tool in ('overhead.py', 'teacher_cache.py'):
        args = [config] if tool == 'overhead.py' else ['--config', config]
        proc = run_tool([f'tools/benchmark/{tool}', *args, '--out-dir', str(tmp_path)],
                        check=False)
        assert proc.returncode != 0
        assert (f"{tool}" in proc.stderr and "handles one teacher (`teacher=`); this config "
                "has named teachers ['r101', 'swin']" in proc.stderr), proc.stderr[-2000:]


# -- the shipped configs, through tools/train.py ------------------------------------------
def train_config(config, tmp_path, fashion_voc, fashion_mnist):
    """Train ``config`` one short epoch on the offline detection set with random teachers
    (one checkpoint each); returns (config, saved teacher checkpoints, work folder)."""
    cfg = Config.fromfile(config)
    saved = {}

    def save(spec, name):
        saved[name] = str(tmp_path / f'teacher_{name}.pth')
        save_model_weights(spec, saved[name], seed=len(saved))
        return saved[name]

    options = options_per_teacher(
        cfg, lambda view: offline_options(view, tmp_path, fashion_voc, fashion_mnist), save)
    for part in options['train_dataloader']['dataset']['dataset']['datasets'].values():
        part['indices'] = 2  # 2 iterations of 2 images
    runtime, student_ckpt = short_runtime(next(iter(teacher_views(cfg).values())))
    work = tmp_path / 'work'
    run_tool(['tools/train.py', config, '--work-dir', str(work), '--cfg-options',
              *flatten(options), *flatten(runtime)])
    assert_distill_terms_logged(scalars(str(work)),
                                [f'distill.loss_{n}' for n in cfg.model.losses])
    return cfg, saved, work, student_ckpt


def check_checkpoints(work, student_ckpt, saved, prefix):
    """Each teacher in the checkpoint equals the file it loaded (frozen); the student
    checkpoints, the hook's and the exported one, hold exactly the student's keys."""
    full = weights(work / 'epoch_1.pth')
    for name, path in saved.items():
        for key, value in weights(path).items():
            assert torch.equal(full[prefix(name) + key], value), (name, key)
    student = {k[len('student.'):] for k in full if k.startswith('student.')}
    assert set(weights(work / student_ckpt)) == student
    run_tool(['tools/export_student.py', str(work / 'epoch_1.pth'), str(work / 'out.pth')])
    assert set(weights(work / 'out.pth')) == student


def test_two_teacher_config_trains(tmp_path, fashion_voc, fashion_mnist):
    config = osp.join(REPO, 'configs/multi_teacher/fasterrcnn_r101_swint_r18_voc.py')
    cfg, saved, work, student_ckpt = train_config(config, tmp_path, fashion_voc, fashion_mnist)
    assert set(saved) == {'r101', 'swin'}
    assert {e.teacher_name for e in cfg.model.losses.values()} == {'r101', 'swin'}
    check_checkpoints(work, student_ckpt, saved, lambda name: f'teachers.{name}.')


def test_different_family_teacher_config_trains(tmp_path, fashion_voc, fashion_mnist):
    config = osp.join(REPO, 'configs/fitnet/fasterrcnn_swint_r18_voc.py')
    cfg, saved, work, student_ckpt = train_config(config, tmp_path, fashion_voc, fashion_mnist)
    assert 'SwinTransformer' in open(cfg.model.teacher).read()
    check_checkpoints(work, student_ckpt, saved, lambda name: 'teacher.')
