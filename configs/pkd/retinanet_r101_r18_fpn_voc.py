# PKD (Pearson correlation of standardised features) on the FPN levels: RetinaNet R101 -> R18,
# VOC07+12, mmdet's schedule. Weight 10 as MMRazor's RetinaNet PKD config (which distils the
# first four levels; here all five). Reference: RetinaNet X101 -> R50 2x, COCO 37.4 -> 40.8.
_base_ = '../_base_/distill/retinanet_r101_r18_voc.py'
model = dict(losses=dict(pkd_fpn=dict(type='PKDLoss', student='neck', teacher='neck',
                                      loss_weight=10.0)))
