# MGD on the five FPN levels: Faster R-CNN R101 -> R18, VOC07+12, mmdet's schedule. The
# authors' detection setting: alpha_mgd 2e-5, 65 % of the student positions masked, a
# generation block per level. Reference (MGD paper): Faster R-CNN R50, COCO 38.4 -> 42.1.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
model = dict(losses=dict(mgd_fpn=dict(type='MGDLoss', student='neck', teacher='neck',
                                      student_channels=256, teacher_channels=256, num_levels=5,
                                      alpha_mgd=2e-5, lambda_mgd=0.65)))
