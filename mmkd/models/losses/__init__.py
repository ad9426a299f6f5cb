"""Distillation losses."""
from .at import ATLoss
from .base import DistillContext, DistillLoss, PerLevelLoss
from .cwd import ChannelWiseDivergence
from .dkd import DKDLoss
from .fitnet import FitNetLoss
from .icd import ICDLoss
from .iekd import IEKDLoss
from .kd import KDLoss
from .lipschitz import LipschitzLoss
from .ofd import OFDLoss
from .pkd import PKDLoss
from .roi_kd import RoIKDLoss

__all__ = [
    'DistillContext', 'DistillLoss', 'PerLevelLoss',
    'KDLoss', 'FitNetLoss', 'ATLoss', 'OFDLoss', 'ChannelWiseDivergence',
    'PKDLoss', 'DKDLoss', 'LipschitzLoss', 'ICDLoss',
    'IEKDLoss', 'RoIKDLoss'
]
