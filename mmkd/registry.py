"""mmkd's registries: children of MMEngine's roots, in the scope ``mmkd``.

Configs name mmkd parts as ``type='mmkd.Distiller'`` (or plain ``'Distiller'``
when ``default_scope='mmkd'``); student and teacher models keep their own
scope (``mmdet``, ``mmseg``, ``mmpretrain``). Each registry's ``locations``
names the modules that register into it, so a lookup imports them.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmkd', locations=['mmkd.models'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmkd', locations=['mmkd.engine.hooks'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='mmkd',
                    locations=['mmkd.datasets'])
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope='mmkd',
                   locations=['mmkd.engine.runner'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='mmkd',
                          locations=['mmkd.engine.dist'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='mmkd',
                  locations=['mmkd.evaluation'])
