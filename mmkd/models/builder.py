"""Build students, teachers and mmkd's parts (losses, connectors, steps) from configs."""
import difflib
from typing import Optional, Union

from mmengine.model import BaseModel
from mmengine.registry import DefaultScope

from mmkd.registry import MODELS
from .model_config import load_model_cfg


def build_model(spec: Union[str, dict], role: str,
                data_preprocessor: Optional[dict] = None) -> BaseModel:
    """Build a student or teacher from a model dict or config path, in its own scope."""
    cfg, scope = load_model_cfg(spec, role, data_preprocessor)
    if scope:
        with DefaultScope.overwrite_default_scope(scope):
            return MODELS.build(cfg)
    return MODELS.build(cfg)


def build_part(cfg: dict, what: str, base: type = object):
    """Build an mmkd part; an unknown ``type`` is an error naming ``what`` and the closest
    registered names of that kind (``base``)."""
    kind = cfg.get('type')
    with DefaultScope.overwrite_default_scope('mmkd'):
        if not isinstance(kind, str) or MODELS.get(kind) is None:
            names = sorted(n for n, c in MODELS.module_dict.items() if issubclass(c, base))
            close = difflib.get_close_matches(str(kind).split('.')[-1], names, n=3, cutoff=0.5)
            hint = f'; did you mean {" or ".join(map(repr, close))}?' if close else ''
            raise KeyError(f'{what}: unknown type {kind!r}{hint} (registered: {names})')
        return MODELS.build(cfg)
