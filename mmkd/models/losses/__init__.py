"""Distillation losses."""
from .at import ATLoss
from .base import DistillContext, DistillLoss, PerLevelLoss
from .crosskd import CrossKDLoss
from .cwd import ChannelWiseDivergence
from .dist import DISTLoss
from .dkd import DKDLoss
from .fbkd import FBKDLoss
from .fgd import FGDLoss
from .fitnet import FitNetLoss
from .icd import ICDLoss
from .iekd import IEKDLoss
from .kd import KDLoss
from .ld import LDLoss
from .lipschitz import LipschitzLoss
from .mgd import MGDLoss
from .ofd import OFDLoss
from .pkd import PKDLoss
from .roi_kd import RoIKDLoss

__all__ = [
    'DistillContext', 'DistillLoss', 'PerLevelLoss',
    'KDLoss', 'FitNetLoss', 'ATLoss', 'OFDLoss', 'ChannelWiseDivergence',
    'PKDLoss', 'DKDLoss', 'LipschitzLoss', 'ICDLoss',
    'IEKDLoss', 'RoIKDLoss', 'MGDLoss', 'FGDLoss', 'FBKDLoss', 'LDLoss',
    'CrossKDLoss', 'DISTLoss'
]
