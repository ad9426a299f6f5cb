"""Metrics: only what OpenMMLab's lack."""
from .voc_metric import VOCMetric

__all__ = ['VOCMetric']
