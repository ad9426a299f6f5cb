"""mmdet's VOC mAP, labelled with the dataset's own class names."""
from mmdet.datasets import VOCDataset
from mmdet.evaluation import VOCMetric as MMDetVOCMetric

from mmkd.registry import METRICS


@METRICS.register_module()
class VOCMetric(MMDetVOCMetric):
    """As mmdet's ``VOCMetric``, but a dataset in a ``VOC2007``/``VOC2012`` folder whose
    classes are not VOC's 20 (e.g. Fashion VOC) prints its per-class table with its own
    class names; mmdet labels it aeroplane, bicycle, ... by folder name. The numbers and
    ``eval_mode`` are unchanged."""

    def compute_metrics(self, results: list) -> dict:
        meta = self.dataset_meta
        if tuple(meta.get('classes', ())) != tuple(VOCDataset.METAINFO['classes']):
            self.dataset_meta = dict(meta, dataset_type=None)
        try:
            return super().compute_metrics(results)
        finally:
            self.dataset_meta = meta
