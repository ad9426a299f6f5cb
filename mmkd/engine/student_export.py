"""Turn a distillation checkpoint and config into plain student ones."""
import copy
from typing import Optional

from mmengine.config import Config

from mmkd.models.model_config import load_model_cfg
from mmkd.utils.checkpoint import load_file, save_atomic, state_dict_of, student_state

MMKD_HOOKS = ('SafeCheckpointHook', 'StudentCheckpointHook', 'DistillLossWeightHook',
              'StopDistillHook')


def plain_student_cfg(cfg: Config) -> Config:
    """The distillation config with ``model`` replaced by the student and mmkd parts removed.

    The result runs with mmdet/mmseg/mmpretrain's own tools; it needs no teacher.
    """
    student, scope = load_model_cfg(cfg.model.student, 'student',
                                    cfg.get('data_preprocessor', None))
    out = copy.deepcopy(cfg)
    out.model = student
    if scope:
        out.default_scope = scope
    hooks = [h for h in out.get('custom_hooks', None) or []
             if str(h.get('type', '')).split('.')[-1] not in MMKD_HOOKS]
    out.custom_hooks = hooks
    imports = [m for m in (out.get('custom_imports', None) or {}).get('imports', [])
               if m != 'mmkd' and not m.startswith('mmkd.')]
    if imports:
        out.custom_imports = dict(imports=imports, allow_failed_imports=False)
    elif 'custom_imports' in out:
        out.pop('custom_imports')
    out.load_from = None
    return out


def export_student(checkpoint: str, out: str, config: Optional[Config] = None,
                   out_config: Optional[str] = None) -> int:
    """Write the student's weights of ``checkpoint`` to ``out``; returns the tensor count.

    Accepts a full distillation checkpoint (one teacher's keys ``teacher.*`` or several
    teachers' ``teachers.<name>.*`` are left out) or an already student-only one.
    """
    ckpt = load_file(checkpoint)
    state = state_dict_of(ckpt, checkpoint)
    student, count = student_state(state)
    if count == 0:
        if any(k.startswith(('teacher.', 'teachers.')) for k in state):
            raise ValueError(f'{checkpoint} has teacher weights but no `student.` keys')
        student = state  # already student-only
    meta = dict(ckpt.get('meta', {})) if isinstance(ckpt, dict) else {}
    meta = {k: v for k, v in meta.items() if k in ('dataset_meta', 'epoch', 'iter', 'seed')}
    meta['source'] = checkpoint
    save_atomic({'meta': meta, 'state_dict': student}, out)
    if config is not None and out_config:
        plain_student_cfg(config).dump(out_config)
    return len(student)
