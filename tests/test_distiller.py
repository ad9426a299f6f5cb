"""The Distiller on tiny mmpretrain classifiers: wiring, freezing, errors."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmkd.registry import MODELS


def classifier(width=8, classes=10):
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, in_channels=1,
                      base_channels=width, out_indices=(3, )),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=classes, in_channels=width * 8),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', num_classes=classes))


@pytest.fixture
def teacher_ckpt(tmp_path):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(classifier(16))
    path = tmp_path / 'teacher.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


def build(teacher_ckpt, losses, student=None, teacher=None):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(dict(type='mmkd.Distiller', student=student or classifier(8),
                                 teacher=teacher or classifier(16), teacher_ckpt=teacher_ckpt,
                                 losses=losses))


def batch(n=4):
    inputs = torch.randn(n, 1, 16, 16)
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return inputs, samples


KD = dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc'))


def test_loss_adds_named_terms_and_only_student_and_connectors_get_gradients(teacher_ckpt):
    losses = dict(KD, fitnet=dict(
        type='FitNetLoss', student='backbone.layer3', teacher='backbone.layer3',
        connector=dict(type='ConvBNConnector', in_channels=32, out_channels=64)))
    model = build(teacher_ckpt, losses)
    model.train()
    assert not model.teacher.training and model.student.training
    out = model(*batch(), mode='loss')
    assert {'loss_student', 'distill.loss_kd', 'distill.loss_fitnet'} <= set(out)
    sum(out.values()).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.connectors['fitnet'][0].chain[0].conv.weight.grad is not None
    assert model.student.backbone.conv1.weight.grad is not None


def test_teacher_stops_at_its_deepest_tap(teacher_ckpt):
    model = build(teacher_ckpt, dict(fit=dict(type='FitNetLoss', student='backbone.layer1',
                                              teacher='backbone.layer1', connector=dict(
                                                  type='ConvBNConnector', in_channels=8,
                                                  out_channels=16))))
    ran = []
    model.teacher.model.backbone.layer2.register_forward_hook(lambda *a: ran.append(1))
    model(*batch(), mode='loss')
    assert ran == []


def test_predict_runs_the_student_alone(teacher_ckpt):
    model = build(teacher_ckpt, KD).eval()
    ran = []
    model.teacher.model.register_forward_hook(lambda *a: ran.append(1))
    inputs, samples = batch()
    preds = model(inputs, samples, mode='predict')
    assert len(preds) == 4 and ran == []
    expected = model.student(inputs, samples, mode='predict')
    assert torch.equal(preds[0].pred_score, expected[0].pred_score)


def test_missing_and_mismatched_teacher_checkpoints(tmp_path, teacher_ckpt):
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        build(str(tmp_path / 'nothere.pth'), KD)
    with pytest.raises(ValueError, match='does not fit the teacher model.*shape mismatches'):
        build(teacher_ckpt, KD, teacher=classifier(32))
    state = torch.load(teacher_ckpt, weights_only=True)['state_dict']
    torch.save({'module.' + k: v for k, v in state.items()}, tmp_path / 'prefixed.pth')
    with pytest.raises(ValueError, match=r"missing keys \(first: \['backbone.*unexpected keys "
                                         r"\(first: \['module.backbone.*another key prefix"):
        build(str(tmp_path / 'prefixed.pth'), KD)
    with pytest.raises(ValueError, match='needs `teacher_ckpt`'):
        build('', KD)


def test_wiring_errors_name_the_culprit(teacher_ckpt):
    with pytest.raises(KeyError, match="student has no module 'head.fcc'.*head.fc"):
        build(teacher_ckpt, dict(kd=dict(type='KDLoss', student='head.fcc', teacher='head.fc')))
    model = build(teacher_ckpt, dict(fit=dict(type='FitNetLoss', student='backbone.layer3',
                                              teacher='backbone.layer3')))
    with pytest.raises(ValueError, match=r"student tap 'backbone.layer3' gives shape "
                                         r"\(4, 32, 4, 4\) but teacher tap 'backbone.layer3' "
                                         r"gives \(4, 64, 4, 4\)"):
        model(*batch(), mode='loss')
    model = build(teacher_ckpt, dict(fit=dict(
        type='FitNetLoss', student='backbone.layer3', teacher='backbone.layer3',
        connector=dict(type='ConvBNConnector', in_channels=48, out_channels=64))))
    with pytest.raises(ValueError, match="connector does not fit student tap 'backbone.layer3' "
                                         r"of shape \(4, 32, 4, 4\)"):
        model(*batch(), mode='loss')


def test_class_count_mismatch_for_logit_loss(tmp_path):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        teacher = MODELS.build(classifier(16, classes=7))
    torch.save({'state_dict': teacher.state_dict()}, tmp_path / 't7.pth')
    model = build(str(tmp_path / 't7.pth'), KD, teacher=classifier(16, classes=7))
    with pytest.raises(ValueError, match=r"\(4, 10\).*\(4, 7\)"):
        model(*batch(), mode='loss')


def test_non_finite_term_stops_before_the_update(teacher_ckpt):
    from mmengine.optim import OptimWrapper
    model = build(teacher_ckpt, KD)
    model.distill_losses['kd'].loss_weight = float('inf')  # the term diverges, not the batch
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.student.head.fc.weight.clone()
    inputs, samples = batch()
    data = dict(inputs=list((inputs * 50 + 100).clamp(0, 255)), data_samples=samples)
    with pytest.raises(FloatingPointError, match='non-finite distillation loss distill.loss_kd '
                                                 'at iteration .*Lower its loss_weight'):
        model.train_step(data, wrapper)
    assert torch.equal(model.student.head.fc.weight, before)


def test_stopped_distillation_skips_the_teacher(teacher_ckpt):
    model = build(teacher_ckpt, KD)
    assert model.set_distillation(False) and not model.set_distillation(False)
    ran = []
    model.teacher.model.register_forward_hook(lambda *a: ran.append(1))
    out = model(*batch(), mode='loss')
    assert ran == [] and out['distill.loss_kd'].item() == 0.0


def test_teacher_gets_its_own_preprocessed_inputs(teacher_ckpt):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(
            type='mmkd.Distiller', student=classifier(8), teacher=classifier(16),
            teacher_ckpt=teacher_ckpt, losses=KD,
            teacher_data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                           mean=[10.0], std=[2.0])))
    seen = {}
    model.teacher.model.backbone.conv1.register_forward_pre_hook(
        lambda m, a: seen.setdefault('teacher', a[0]))
    model.student.backbone.conv1.register_forward_pre_hook(
        lambda m, a: seen.setdefault('student', a[0]))
    raw, samples = batch()
    raw = (raw * 20 + 100).round()
    data = model.data_preprocessor(dict(inputs=list(raw), data_samples=samples), True)
    model(**data, mode='loss')
    assert torch.allclose(seen['teacher'], (raw - 10) / 2)
    assert torch.allclose(seen['student'], raw)


def test_virtual_sample_step_feed_both_models_the_same_mixed_inputs(teacher_ckpt):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(
            type='mmkd.Distiller', student=classifier(8), teacher=classifier(16),
            teacher_ckpt=teacher_ckpt, losses=KD,
            step=dict(type='VirtualSampleStep', mode='patch', alpha=0.4, prob=1.0, grid=2)))
    seen = {}
    model.teacher.model.backbone.conv1.register_forward_pre_hook(lambda m, a: seen.update(t=a[0]))
    model.student.backbone.conv1.register_forward_pre_hook(lambda m, a: seen.update(s=a[0]))
    head_ran = []
    model.student.head.loss_module.register_forward_hook(lambda *a: head_ran.append(1))
    inputs, samples = batch()
    torch.manual_seed(0)
    out = model(inputs, samples, mode='loss')
    assert torch.equal(seen['s'], seen['t']) and not torch.equal(seen['s'], inputs)
    assert head_ran == [] and out['loss_student'].item() == 0.0  # no labels on a mixed step
    # Each patch mixes the same pair of samples with its own weight: the 2x2 grid of 8x8
    # patches of a 16x16 input reproduces from the recorded permutation and weights.
    torch.manual_seed(0)
    torch.rand(())  # the draw that decided to use the mixed batch
    perm, lam = model.step.mixer.draw(4)
    expected = model.step.mixer.mix(inputs, perm, lam)
    assert torch.allclose(seen['s'], expected)
    assert len(set(lam.flatten().tolist())) == 4


def test_virtual_sample_step_refuse_losses_that_read_labels(teacher_ckpt):
    with pytest.raises(ValueError, match=r"never labels.*\['dkd'\]"):
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            MODELS.build(dict(
                type='mmkd.Distiller', student=classifier(8), teacher=classifier(16),
                teacher_ckpt=teacher_ckpt, step=dict(type='VirtualSampleStep', prob=0.5),
                losses=dict(dkd=dict(type='DKDLoss', student='head.fc', teacher='head.fc'))))


def test_student_init_checkpoint_that_does_not_fit_is_an_error(tmp_path, teacher_ckpt):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(type='mmkd.Distiller', student=classifier(8),
                                  teacher=classifier(16), teacher_ckpt=teacher_ckpt,
                                  student_ckpt=teacher_ckpt, losses=KD))
    with pytest.raises(ValueError, match=r'student checkpoint .*teacher.pth does not fit the '
                                         r'student model: 0 missing keys.*shape mismatches'):
        model.init_weights()


def test_taps_on_frozen_student_stages_are_reported(teacher_ckpt, monkeypatch):
    from mmkd.models import distiller
    said = []
    monkeypatch.setattr(distiller, 'print_log', lambda msg, **kw: said.append((msg, kw)))
    student = classifier(8)
    student['backbone'] = dict(student['backbone'], frozen_stages=2)  # stem, layer1, layer2
    fitnet = dict(type='FitNetLoss', connector=dict(type='ConvBNConnector', in_channels=8,
                                                    out_channels=16))
    build(teacher_ckpt, dict(low=dict(fitnet, student='backbone.layer1',
                                      teacher='backbone.layer1'),
                             high=dict(fitnet, student='backbone.layer3',
                                       teacher='backbone.layer3',
                                       connector=dict(type='ConvBNConnector', in_channels=32,
                                                      out_channels=64))), student=student)
    assert len(said) == 1
    assert "['backbone.layer1']" in said[0][0] and 'frozen' in said[0][0]
    said.clear()
    build(teacher_ckpt, KD)  # nothing frozen: nothing said
    assert said == []


def test_renamed_keys_name_their_replacement(teacher_ckpt):
    with pytest.raises(TypeError, match=r"`virtual_samples` was renamed; use "
                                        r"step=dict\(type='VirtualSampleStep'"):
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            MODELS.build(dict(type='mmkd.Distiller', student=classifier(8),
                              teacher=classifier(16), teacher_ckpt=teacher_ckpt, losses=KD,
                              virtual_samples=dict(prob=0.5)))
    with pytest.raises(TypeError, match='`pair_weights` was renamed; use `level_weights`'):
        build(teacher_ckpt, dict(london=dict(
            type='LipschitzLoss', pair_weights=[1, 1], student=['backbone.layer1',
                                                                'backbone.layer2'],
            teacher=['backbone.layer1', 'backbone.layer2'])))


def test_evaluation_keeps_no_student_tap_records(teacher_ckpt):
    model = build(teacher_ckpt, KD)
    model(*batch(), mode='loss')
    model.eval()
    model(*batch(), mode='predict')
    assert model.student_taps.records == {} and model.teacher.taps.records == {}


def test_a_misspelt_type_names_the_entry_and_the_closest_names(teacher_ckpt):
    with pytest.raises(KeyError, match=r"loss 'kd': unknown type 'KDLos'; did you mean 'KDLoss'"):
        build(teacher_ckpt, dict(kd=dict(KD['kd'], type='KDLos')))
    with pytest.raises(KeyError, match=r"loss 'fit', connector: unknown type 'ConvBnConnector'; "
                                       r"did you mean 'ConvBNConnector'"):
        build(teacher_ckpt, dict(fit=dict(type='FitNetLoss', student='backbone.layer3',
                                          teacher='backbone.layer3', connector=dict(
                                              type='ConvBnConnector', in_channels=32,
                                              out_channels=64))))


def test_a_non_finite_loss_weight_is_refused_when_the_model_is_built(teacher_ckpt):
    with pytest.raises(ValueError, match="loss 'kd': loss_weight must be a finite number, got nan"):
        build(teacher_ckpt, dict(kd=dict(KD['kd'], loss_weight=float('nan'))))


def test_non_finite_pixels_are_blamed_on_the_batch_not_the_term(teacher_ckpt):
    from mmengine.optim import OptimWrapper
    model = build(teacher_ckpt, KD)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    inputs, samples = batch()
    inputs[0, 0, 0, 0] = float('nan')
    with pytest.raises(FloatingPointError, match=r"student's own losses \(loss_student\) are "
                                                 r"non-finite too.*NaN/Inf pixels"):
        model.train_step(dict(inputs=list(inputs), data_samples=samples), wrapper)


def test_missing_and_truncated_teacher_files_name_the_role_and_what_to_do(tmp_path, teacher_ckpt):
    with pytest.raises(FileNotFoundError, match=r"teacher checkpoint file not found: .*nothere"
                                                r"\.pth \(teacher_ckpt in the config"):
        build(str(tmp_path / 'nothere.pth'), KD)
    data = open(teacher_ckpt, 'rb').read()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(RuntimeError, match=r"cannot read teacher checkpoint .*cut\.pth "
                                           r"\(\d+ bytes\): .*Is it truncated"):
        build(str(tmp_path / 'cut.pth'), KD)
