"""A Distiller's teachers: one (``teacher=``, ``teacher_ckpt=``) or several by name (``teachers=``).

One teacher keeps the original form and state keys ``teacher.<key>``. Several are given as
``teachers=dict(NAME=dict(model=..., ckpt=..., mode=..., autocast=..., cache=...,
data_preprocessor=...), ...)`` and keep state keys ``teachers.<NAME>.<key>``; each loss entry
names the teacher it reads with ``teacher_name=NAME``.
"""
from typing import Dict, List, Optional, Tuple

SINGLE = 'teacher'  # the name of the one teacher of ``teacher=`` (and its state-key prefix)
TEACHER_KEYS = ('model', 'ckpt', 'mode', 'autocast', 'cache', 'data_preprocessor')
# The single-teacher arguments of the Distiller and the per-teacher key each one becomes.
SINGLE_ARGS = {'teacher_ckpt': 'ckpt', 'teacher_mode': 'mode', 'teacher_autocast': 'autocast',
               'teacher_cache': 'cache', 'teacher_data_preprocessor': 'data_preprocessor'}
DEFAULTS = dict(mode='tensor', autocast=None, cache=None, data_preprocessor=None)


def teacher_specs(teacher, teachers, **single) -> Tuple[Dict[str, dict], bool]:
    """``({name: dict(model, ckpt, mode, autocast, cache, data_preprocessor)}, named)``.

    ``single`` holds the Distiller's single-teacher arguments (:data:`SINGLE_ARGS`, None
    when not given). ``named`` is True for ``teachers=`` (state keys ``teachers.<name>.``),
    False for ``teacher=`` (one teacher called :data:`SINGLE`, state keys ``teacher.``).
    """
    if teacher is not None and teachers is not None:
        raise ValueError('Distiller got both `teacher=` and `teachers=`: give one teacher as '
                         '`teacher=` (with `teacher_ckpt=`) or several by name as '
                         '`teachers=dict(NAME=dict(model=..., ckpt=...), ...)`, not both')
    if teachers is None:
        if teacher is None:
            raise ValueError('Distiller needs a teacher: `teacher=` with `teacher_ckpt=`, or '
                             '`teachers=dict(NAME=dict(model=..., ckpt=...), ...)`')
        spec = dict(DEFAULTS, model=teacher, ckpt=None)
        spec.update({SINGLE_ARGS[k]: v for k, v in single.items() if v is not None})
        return {SINGLE: spec}, False
    given = [k for k, v in single.items() if v is not None]
    if given:
        keys = ', '.join(f'`{k}` -> `{SINGLE_ARGS[k]}`' for k in given)
        raise ValueError(f'Distiller with `teachers=` takes the teacher settings per teacher, '
                         f'not {given}: set them in each teacher ({keys})')
    if not isinstance(teachers, dict) or not teachers:
        raise ValueError(f'`teachers` must be a non-empty dict NAME=dict(model=..., ckpt=...); '
                         f'got {teachers!r}')
    specs = {}
    for name, spec in teachers.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f'teacher name {name!r} in `teachers` must be a Python identifier '
                             f'(it becomes the state-key prefix teachers.<name>.)')
        if not isinstance(spec, dict):
            raise TypeError(f'teachers.{name} must be a dict(model=..., ckpt=...), got {spec!r}')
        unknown = sorted(set(spec) - set(TEACHER_KEYS))
        if unknown:
            raise KeyError(f'teachers.{name}: unknown keys {unknown}; a teacher takes '
                           f'{list(TEACHER_KEYS)}')
        if spec.get('model') is None:
            raise KeyError(f'teachers.{name} needs `model` (a model dict, a config path, or '
                           f'dict(cfg_path=..., **overrides))')
        specs[name] = dict(DEFAULTS, ckpt=None)
        specs[name].update({k: v for k, v in spec.items() if v is not None})
    return specs, True


def entry_teacher(loss: str, teacher_name: Optional[str], names: List[str]) -> str:
    """The teacher a loss entry reads: its ``teacher_name``, which is required when there are
    several teachers and must be one of ``names``."""
    if teacher_name is None:
        if len(names) == 1:
            return names[0]
        raise KeyError(f'loss {loss!r} must name the teacher it reads: add '
                       f'teacher_name=... (one of {names})')
    if teacher_name not in names:
        raise KeyError(f'loss {loss!r} reads teacher_name={teacher_name!r}, which is not a '
                       f'teacher of this Distiller; its teachers are {names}')
    return teacher_name


def config_teachers(model_cfg) -> Tuple[Dict[str, dict], bool]:
    """The teachers of a Distiller's ``model`` config, as :func:`teacher_specs` gives them
    (for tools that read configs, such as the offline runs)."""
    single = {k: model_cfg.get(k, None) for k in SINGLE_ARGS}
    return teacher_specs(model_cfg.get('teacher', None), model_cfg.get('teachers', None),
                         **single)


def one_teacher_only(model_cfg, what: str) -> None:
    """Refuse a Distiller config with named teachers where ``what`` handles one teacher."""
    teachers = model_cfg.get('teachers', None)
    if teachers is not None:
        raise ValueError(f'{what} handles one teacher (`teacher=`); this config has named '
                         f'teachers {list(teachers)} (`teachers=`): give a one-teacher config')
