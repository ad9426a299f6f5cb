"""Resolve a student or teacher entry of a distiller config into a model config."""
import os
from typing import Optional, Tuple, Union

from mmengine.config import Config, ConfigDict


def load_model_cfg(spec: Union[str, dict], role: str,
                   data_preprocessor: Optional[dict] = None) -> Tuple[ConfigDict, str]:
    """Return ``(model_cfg, default_scope)`` for a student/teacher entry.

    ``spec`` is one of:
      - a model dict (``dict(type='FasterRCNN', ...)``), used as is;
      - a config path (local, or ``'mmdet::faster_rcnn/...py'``) whose ``model`` is used;
      - ``dict(cfg_path=PATH, **overrides)``: that config's ``model`` with ``overrides``
        merged in the usual MMEngine way (``_delete_=True`` replaces a sub-dict).

    ``data_preprocessor`` (the running config's top-level one, which the Runner passes,
    as mmpretrain and mmseg configs have) is merged into the model's unless ``spec`` sets one.
    """
    overrides = {}
    if isinstance(spec, str):
        path = spec
    elif isinstance(spec, dict) and 'cfg_path' in spec:
        overrides = {k: v for k, v in spec.items() if k != 'cfg_path'}
        path = spec['cfg_path']
    elif isinstance(spec, dict) and 'type' in spec:
        return _with_preprocessor(ConfigDict(spec), spec, data_preprocessor), ''
    else:
        raise TypeError(f'{role} must be a model dict, a config path, or dict(cfg_path=...); '
                        f'got {spec!r}')
    if '::' in path:
        from mmengine.hub import get_config
        try:
            cfg = get_config(path)
        except Exception as err:  # mmengine raises several types here
            raise FileNotFoundError(f'{role} config {path!r} could not be loaded: {err}') from err
    else:
        if not os.path.isfile(path):
            raise FileNotFoundError(f'{role} config file not found: {path}')
        cfg = Config.fromfile(path)
    if 'model' not in cfg:
        raise KeyError(f'{role} config {path} has no `model` entry')
    model = cfg.model
    if 'data_preprocessor' in cfg and 'data_preprocessor' not in model:
        model.data_preprocessor = cfg.data_preprocessor  # mmpretrain keeps it at top level
    if overrides:
        model = Config._merge_a_into_b(ConfigDict(overrides), ConfigDict(model.to_dict()))
    model = _with_preprocessor(ConfigDict(model), spec, data_preprocessor)
    return model, cfg.get('default_scope', '') or ''


def _with_preprocessor(model: ConfigDict, spec, data_preprocessor) -> ConfigDict:
    if data_preprocessor is not None and not (
            isinstance(spec, dict) and 'data_preprocessor' in spec):
        base = ConfigDict(model.get('data_preprocessor', None) or {})
        model.data_preprocessor = Config._merge_a_into_b(ConfigDict(data_preprocessor), base)
    return model
