"""mmkd: knowledge distillation for OpenMMLab 2.0.

Importing it registers mmkd's models, hooks, datasets and runner in the ``mmkd`` scope and
changes nothing else: mmengine's checkpoint loader is made safe when a run is set up
(:func:`mmkd.utils.register_safe_loader`). Demo and test scaffolding is in
:mod:`mmkd.testing`, imported only on request.
"""
from . import datasets, engine, models, utils  # noqa: F401  (registers modules and hooks)

__version__ = '0.1.0'
