from .autoencoder import FactorAutoEncoder, FactorEncoder
from .backbones import *  # noqa: F401,F403
from .connectors import *  # noqa: F401,F403
from .distiller import Distiller
from .losses import *  # noqa: F401,F403
from .teacher_autoencoder import TeacherAutoEncoder

__all__ = ['Distiller', 'FactorAutoEncoder', 'FactorEncoder', 'TeacherAutoEncoder']
