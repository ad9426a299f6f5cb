"""mmkd's VOCMetric labels the per-class table with the dataset's own classes."""
import logging

import numpy as np
from mmengine.logging import MMLogger
from mmengine.registry import METRICS

from mmkd.testing import fashion_det_metainfo


def per_class_table(dataset_meta):
    metric = METRICS.build(dict(type='mmkd.VOCMetric', metric='mAP', eval_mode='11points'))
    metric.dataset_meta = dataset_meta
    gt = dict(bboxes=np.array([[0, 0, 10, 10.]]), labels=np.array([1]),
              bboxes_ignore=np.zeros((0, 4)), labels_ignore=np.zeros(0))
    pred = [np.zeros((0, 5))] * len(dataset_meta['classes'])
    pred[1] = np.array([[0, 0, 10, 10, 0.9]])
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        result = metric.compute_metrics([(gt, pred)])
    finally:
        logger.removeHandler(handler)
    assert result['mAP'] == 1.0 and metric.dataset_meta['dataset_type'] == 'VOC2007'
    return '\n'.join(lines)


def test_fashion_voc_in_a_voc2007_folder_prints_fashion_class_names():
    table = per_class_table(dict(fashion_det_metainfo(), dataset_type='VOC2007'))
    assert 'Trouser' in table and 'aeroplane' not in table


def test_real_voc_keeps_mmdets_voc_names():
    from mmdet.datasets import VOCDataset
    table = per_class_table(dict(VOCDataset.METAINFO, dataset_type='VOC2007'))
    assert 'bicycle' in table
