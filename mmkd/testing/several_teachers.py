"""Offline overrides for configs with named teachers (``Distiller(teachers=...)``).

The option builders of :mod:`mmkd.testing.offline` read one ``model.teacher``. A config with
``teachers=`` is shown to them once per teacher, as a view whose ``model.teacher`` is that
teacher's model; the teacher overrides they return move to ``model.teachers.<name>.model``
and each teacher gets its own checkpoint. A one-teacher config goes through unchanged.
"""
import copy
from typing import Callable, Dict, Optional, Tuple

from mmkd.models.teachers import config_teachers


def teacher_views(cfg) -> Dict[Optional[str], object]:
    """``{None: cfg}`` for a one-teacher config; else ``{name: view}``, each view a copy of
    ``cfg`` with ``model.teacher`` that teacher's model and no ``model.teachers``."""
    if cfg.model.get('teachers', None) is None:
        return {None: cfg}
    specs, _ = config_teachers(cfg.model)
    views = {}
    for name, spec in specs.items():
        view = copy.deepcopy(cfg)
        view.model.pop('teachers')
        view.model.teacher = spec['model']
        views[name] = view
    return views


def options_per_teacher(cfg, make_options: Callable[[object], Tuple[dict, dict]],
                        save: Callable[[dict, Optional[str]], str]) -> dict:
    """Overrides for ``cfg`` that give every teacher its own checkpoint.

    ``make_options(view)`` is an option builder of :mod:`mmkd.testing.offline` bound to its
    data (it returns ``(options, teacher spec)``); ``save(spec, name)`` writes the teacher's
    weights and returns the path (``name`` is None for a one-teacher config). Returns the
    options with ``model.teacher_ckpt``, or ``model.teachers.<name>.{model, ckpt}``.
    """
    merged = None
    for name, view in teacher_views(cfg).items():
        options, spec = make_options(view)
        ckpt = save(spec, name)
        if name is None:
            options['model']['teacher_ckpt'] = ckpt
            return options
        teacher = dict(model=options['model'].pop('teacher'), ckpt=ckpt)
        if merged is None:  # data and student overrides do not depend on the teacher
            merged = options
            merged['model']['teachers'] = {}
        merged['model']['teachers'][name] = teacher
    return merged
