from .autoencoder import FactorAutoEncoder, FactorEncoder
from .backbones import *  # noqa: F401,F403
from .connectors import *  # noqa: F401,F403
from .distiller import Distiller
from .frozen_teacher import FrozenTeacher
from .losses import *  # noqa: F401,F403
from .teacher_autoencoder import TeacherAutoEncoder
from .virtual_samples import VirtualSampleStep

__all__ = ['Distiller', 'FactorAutoEncoder', 'FactorEncoder', 'FrozenTeacher',
           'TeacherAutoEncoder', 'VirtualSampleStep']
