from .backbones import *  # noqa: F401,F403
from .connectors import *  # noqa: F401,F403
from .distiller import Distiller
from .losses import *  # noqa: F401,F403

__all__ = ['Distiller']
