"""DeepLabV3 R101 -> R18 with channel-wise distillation of the logits, through tools/train.py."""
import os.path as osp

import torch
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import (assert_distill_terms_logged, save_model_weights, scalars, short_run, use_data,
                 weights)

CLASSES = dict(decode_head=dict(num_classes=11), auxiliary_head=dict(num_classes=11))


def test_cwd_segmentation_distillation(tmp_path, fashion_voc):
    cfg = Config.fromfile(osp.join(REPO, 'configs/cwd/deeplabv3_r101_r18_voc.py'))
    use_data(cfg, osp.join(REPO, 'configs/_base_/datasets/fashion_voc_seg.py'),
             osp.join(fashion_voc, 'VOC2007'))
    cfg.train_dataloader.batch_size = 2
    short_run(cfg)
    cfg.log_processor.by_epoch = True
    student = dict(cfg.model.student, pretrained=None)
    for head, value in CLASSES.items():
        student[head] = dict(student[head], **value)
    teacher = dict(cfg_path=cfg.model.teacher, pretrained=None, **CLASSES)
    sizes = dict(data_preprocessor=dict(cfg.data_preprocessor, type='SegDataPreProcessor'))
    teacher_state = save_model_weights(dict(teacher, **sizes), tmp_path / 'teacher.pth', seed=1)
    cfg.model.update(student=student, teacher=teacher, teacher_ckpt=str(tmp_path / 'teacher.pth'))
    cfg.dump(str(tmp_path / 'cwd.py'))
    work = tmp_path / 'work'

    run_tool(['tools/train.py', str(tmp_path / 'cwd.py'), '--work-dir', str(work)])

    rows = scalars(str(work))
    assert len(rows) == 4
    assert_distill_terms_logged(rows, ['distill.loss_cwd', 'decode.loss_ce'])
    state = weights(work / 'epoch_1.pth')
    assert all(torch.equal(state[f'teacher.{k}'], v) for k, v in teacher_state.items())
    student_only = weights(work / 'epoch_1_student.pth')
    assert not any(k.startswith(('teacher.', 'student.')) for k in student_only)
    run_tool(['tools/export_student.py', str(work / 'epoch_1.pth'), str(tmp_path / 'r18.pth'),
              '--config', str(tmp_path / 'cwd.py')])
    import mmseg
    test_py = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'test.py')
    out = run_tool([test_py, str(tmp_path / 'r18.py'), str(tmp_path / 'r18.pth'),
                    '--work-dir', str(tmp_path / 'plain')], env={'PYTHONPATH': ''})
    assert 'mIoU' in out.stdout + out.stderr
