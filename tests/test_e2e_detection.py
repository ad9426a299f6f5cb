"""Faster R-CNN R50 -> R18 with FitNet on every FPN level, through tools/train.py."""
import glob
import os
import os.path as osp

import torch
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import (assert_distill_terms_logged, save_model_weights, scalars, short_run, use_data,
                 weights)

# Faster R-CNN sized for a CPU test: fewer proposals and sampled RoIs, 10 classes.
LIGHT = dict(
    roi_head=dict(bbox_head=dict(num_classes=10, fc_out_channels=128)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=100),
                   rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=100, max_per_img=50), rcnn=dict(max_per_img=20)))


def test_fitnet_fpn_distillation_trains_student_only(tmp_path, fashion_voc):
    cfg = Config.fromfile(osp.join(REPO, 'configs/fitnet/fasterrcnn_r50_r18_fpn_voc.py'))
    use_data(cfg, osp.join(REPO, 'configs/_base_/datasets/fashion_voc_det.py'), fashion_voc + '/')
    cfg.train_dataloader.batch_size = 2
    short_run(cfg)
    student = dict(cfg.model.student, **LIGHT)
    student['backbone'] = dict(student['backbone'], init_cfg=None)
    teacher = dict(cfg_path=cfg.model.teacher, **LIGHT)
    teacher_state = save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    student_init = save_model_weights(student, tmp_path / 'student_init.pth', seed=2)
    cfg.model.update(student=student, teacher=teacher, teacher_ckpt=str(tmp_path / 'teacher.pth'),
                     student_ckpt=str(tmp_path / 'student_init.pth'))
    cfg.dump(str(tmp_path / 'distill.py'))
    work = tmp_path / 'work'

    run_tool(['tools/train.py', str(tmp_path / 'distill.py'), '--work-dir', str(work)])

    rows = scalars(str(work))
    assert len(rows) == 4  # 8 images, batch 2
    assert_distill_terms_logged(rows, ['distill.loss_fitnet_fpn', 'loss_rpn_cls', 'loss_bbox'])
    state = weights(work / 'epoch_1.pth')
    for k, v in teacher_state.items():
        assert torch.equal(state[f'teacher.{k}'], v), f'teacher weight {k} changed'
    moved = [k for k, v in student_init.items()
             if v.is_floating_point() and not torch.equal(state[f'student.{k}'], v)]
    assert any(k.startswith('backbone.') for k in moved)
    assert any(k.startswith('roi_head.') for k in moved)

    # The student-only checkpoint is written beside the runner's and holds the student alone.
    student_only = weights(work / 'epoch_1_student.pth')
    assert set(student_only) == set(student_init)
    for k, v in student_only.items():
        assert torch.equal(v, state[f'student.{k}'])

    # Export, then evaluate with plain mmdet's own test entry (no mmkd import in its config).
    run_tool(['tools/export_student.py', str(work / 'epoch_1.pth'), str(tmp_path / 'r18.pth'),
              '--config', str(tmp_path / 'distill.py')])
    plain = Config.fromfile(str(tmp_path / 'r18.py'))
    assert plain.model.type == 'FasterRCNN' and 'custom_imports' not in plain
    import mmdet
    mmdet_test = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')
    out = run_tool([mmdet_test, str(tmp_path / 'r18.py'), str(tmp_path / 'r18.pth'),
                    '--work-dir', str(tmp_path / 'plain_test')], env={'PYTHONPATH': ''})
    assert 'mAP' in out.stdout + out.stderr
    assert 'unexpected key' not in (out.stdout + out.stderr).lower()
    assert 'missing key' not in (out.stdout + out.stderr).lower()

    # mmkd's own test tool evaluates the student of the full distillation checkpoint.
    out = run_tool(['tools/test.py', str(tmp_path / 'distill.py'), str(work / 'epoch_1.pth'),
                    '--work-dir', str(tmp_path / 'mmkd_test')])
    assert 'pascal_voc/mAP' in out.stdout + out.stderr
    assert not glob.glob(os.path.join(tmp_path / 'mmkd_test', '*.pth'))
