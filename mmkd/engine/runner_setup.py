"""What tools/train.py and tools/test.py add to a config before building the Runner."""
from mmengine.config import Config

from mmkd.utils.checkpoint import register_safe_loader
from .dist import init_cpu_dist


def is_distiller(cfg: Config) -> bool:
    return str(cfg.model.get('type', '')).split('.')[-1] == 'Distiller'


def _add_hook(cfg: Config, hook_type: str) -> None:
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(str(h.get('type', '')).split('.')[-1] == hook_type.split('.')[-1] for h in hooks):
        hooks.append(dict(type=hook_type))
    cfg.custom_hooks = hooks


def prepare_cfg(cfg: Config, launcher: str = 'none') -> Config:
    """Import mmkd in the runner, keep checkpoints safe, and make CPU/gloo DDP work.

    The runner is mmkd's (dataset checks, atomic checkpoints) unless the config names
    another ``runner_type``. mmengine's checkpoint loader is made to load local files through
    mmkd's safe path (:func:`mmkd.utils.register_safe_loader`), whichever Runner is used.
    """
    register_safe_loader()
    imports = dict(cfg.get('custom_imports', None) or {})
    names = list(imports.get('imports', []))
    if 'mmkd' not in names:
        names.append('mmkd')
    cfg.custom_imports = dict(imports, imports=names, allow_failed_imports=False)
    _add_hook(cfg, 'mmkd.SafeCheckpointHook')
    if is_distiller(cfg):
        _add_hook(cfg, 'mmkd.StudentCheckpointHook')
    cfg.setdefault('runner_type', 'mmkd.Runner')
    cfg.launcher = launcher
    if launcher != 'none':
        init_cpu_dist()
        if cfg.get('model_wrapper_cfg', None) is None:
            cfg.model_wrapper_cfg = dict(
                type='mmkd.DistributedDataParallel', broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters', False))
    return cfg
