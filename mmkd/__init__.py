"""mmkd: knowledge distillation for OpenMMLab 2.0."""
from . import engine, models, utils  # noqa: F401  (registers modules, hooks, loaders)

__version__ = '0.1.0'
