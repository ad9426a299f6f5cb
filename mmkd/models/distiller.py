"""The model the runner trains: a student, a frozen teacher and distillation losses."""
import copy
import logging
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel
from torch import Tensor, nn

from mmkd.registry import MODELS
from mmkd.utils.checkpoint import load_weights_strict
from .builder import build_model, build_part
from .connectors import build_connectors
from .frozen_teacher import FrozenTeacher
from .losses.base import (GROUND_TRUTH, META_FIELDS, TASK_FIELDS, DistillContext,
                          DistillLoss, paired_levels, reject_renamed)
from .taps import TeacherDone, Taps, parse_tap
from .teachers import SINGLE, entry_teacher, teacher_specs

ENTRY_KEYS = ('student', 'teacher', 'connector', 'teacher_name')
RENAMED = {'virtual_samples': "step=dict(type='VirtualSampleStep', mode=..., alpha=..., "
                              "prob=..., grid=...)"}


def _tap_list(entries: dict, role: str, teacher: Optional[str] = None) -> List[str]:
    """The ``role`` taps of the entries (only those reading ``teacher``, if given)."""
    taps = []
    for entry in entries.values():
        if teacher is None or entry['teacher_name'] == teacher:
            taps += [entry[role]] if isinstance(entry[role], str) else list(entry[role])
    return taps


def _frozen_taps(student: nn.Module, taps: Sequence[str]) -> List[str]:
    """Student taps on modules whose parameters all have ``requires_grad=False`` (e.g. the
    stages an mmdet backbone's ``frozen_stages`` freezes): their terms cannot train them."""
    frozen = []
    for tap in dict.fromkeys(taps):
        params = list(student.get_submodule(parse_tap(tap)[0]).parameters())
        if params and not any(p.requires_grad for p in params):
            frozen.append(tap)
    return frozen


def _read(records: Dict[str, object], spec: Union[str, Sequence[str]]):
    """A tap's record (a list for levels), or a list of records for a list of taps."""
    value = records[spec] if isinstance(spec, str) else [records[t] for t in spec]
    return list(value) if isinstance(value, tuple) else value


def _entry(name: str, spec: dict) -> dict:
    """Check one ``losses`` entry's taps; return it with the loss's own settings apart."""
    spec = copy.deepcopy(dict(spec))
    for key in ('student', 'teacher'):
        tap = spec.get(key)
        if not (isinstance(tap, str) or (isinstance(tap, (list, tuple)) and tap and
                                         all(isinstance(t, str) for t in tap))):
            raise KeyError(f'loss {name!r} needs a `{key}` tap: a module path string, '
                           f'or a list of them (one per level)')
    weight = spec.get('loss_weight', 1.0)
    if not isinstance(weight, (int, float)) or not math.isfinite(weight):
        raise ValueError(f'loss {name!r}: loss_weight must be a finite number, got {weight!r}')
    teacher_name = spec.get('teacher_name')
    if teacher_name is not None and not isinstance(teacher_name, str):
        raise TypeError(f'loss {name!r}: teacher_name must be a string, got {teacher_name!r}')
    return dict(student=spec['student'], teacher=spec['teacher'],
                connector=spec.get('connector'), teacher_name=teacher_name,
                loss={k: v for k, v in spec.items() if k not in ENTRY_KEYS})


def _check_reads(name: str, loss: nn.Module, student: nn.Module) -> None:
    """Refuse, at build time, a loss that reads a field the student's task lacks."""
    package = type(student).__module__.split('.')[0]
    fields = TASK_FIELDS.get(package)
    for field in loss.reads:
        if field in META_FIELDS or fields is None:
            continue  # meta fields exist everywhere; other packages are checked per step
        if field not in fields:
            raise ValueError(
                f'loss {name!r} ({type(loss).__name__}) reads {field!r}, but the student '
                f'({type(student).__name__}, {package}) has data samples with {list(fields)}')


class _TeacherPreprocessors(nn.Module):
    """The student's preprocessor, plus teachers' own on the same raw batch in training.

    ``teacher_inputs`` is the one teacher's batch (``teacher=``), or ``{name: batch}`` for
    the named teachers that have their own preprocessor (``teachers=``; the others read the
    student's inputs).
    """

    def __init__(self, student: nn.Module, teachers: Dict[str, nn.Module], named: bool) -> None:
        super().__init__()
        self.student = student
        if named:
            self.teachers = nn.ModuleDict(teachers)
        else:
            self.teacher = teachers[SINGLE]

    def forward(self, data: dict, training: bool = False) -> dict:
        out = self.student(data, training)
        if training:
            if 'teachers' in self._modules:
                out['teacher_inputs'] = {name: pre(data, training)['inputs']
                                         for name, pre in self.teachers.items()}
            else:
                out['teacher_inputs'] = self.teacher(data, training)['inputs']
        return out


@MODELS.register_module()
class Distiller(BaseModel):
    """Train ``student`` with its own losses plus distillation from frozen teachers.

    Args:
        student: the student model (dict, config path, or ``dict(cfg_path=..., **overrides)``).
        teacher: the teacher model, same forms (see :class:`FrozenTeacher`). Its state keys
            are ``teacher.<key>``.
        teacher_ckpt: the teacher's weights. Required: a randomly initialised teacher
            never trains a student silently.
        teachers: instead of ``teacher``/``teacher_ckpt``, several teachers by name:
            ``dict(NAME=dict(model=..., ckpt=..., mode=..., autocast=..., cache=...,
            data_preprocessor=...))``, the last four being ``teacher_mode``,
            ``teacher_autocast``, ``teacher_cache`` and ``teacher_data_preprocessor`` (below)
            per teacher; those and ``teacher``/``teacher_ckpt`` are refused beside it. Each
            is built, loads its own checkpoint strictly, is frozen and runs only as far as
            its own deepest tap. State keys ``teachers.<NAME>.<key>``.
        losses: ``{name: dict(type=LOSS, student=TAP, teacher=TAP, connector=..., **loss_args)}``.
            A tap that yields a tuple (FPN levels, stages), or a list of taps, gives the loss
            a list of levels (a per-level loss sums them with its ``level_weights``).
            ``connector`` is a connector dict, a list of them (applied in order), or the name
            of an earlier entry whose connectors to share. Each entry is logged as
            ``distill.loss_<name>``. With ``teachers=``, an entry names the teacher it
            reads, ``teacher_name=NAME`` (required when there are several).
        student_ckpt: optional weights to initialise the student with (after its init_cfg).
        teacher_mode: the teacher's forward mode (default ``'tensor'``, which avoids the
            teacher's loss path).
        teacher_data_preprocessor: the teacher's own preprocessor, if it differs.
        data_preprocessor: the student's, when its config keeps it outside ``model``
            (as mmpretrain's do; the Runner passes it here).
        step: a step strategy that may replace some training steps, e.g. L2RKD's
            ``dict(type='VirtualSampleStep', ...)`` (see :class:`VirtualSampleStep`).
        teacher_autocast: ``'bf16'`` or ``'fp16'`` runs the teacher's forward under autocast
            (the losses still compute in fp32); None keeps the teacher in fp32.
        teacher_cache: classification: ``dict(max_items=..., dtype='float32')`` reuses the
            teacher's tapped outputs of a sample seen before with the same augmentation
            (see :class:`TeacherCache` and :class:`SeededAugmentation`).
    """

    def __init__(self,
                 student: Union[str, dict],
                 teacher: Union[str, dict, None] = None,
                 teacher_ckpt: Optional[str] = None,
                 losses: Optional[Dict[str, dict]] = None,
                 student_ckpt: Optional[str] = None,
                 teacher_mode: Optional[str] = None,
                 teacher_data_preprocessor: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 step: Optional[dict] = None,
                 teacher_autocast: Optional[str] = None,
                 teacher_cache: Optional[dict] = None,
                 teachers: Optional[Dict[str, dict]] = None,
                 init_cfg: Optional[dict] = None,
                 **renamed) -> None:
        super().__init__(init_cfg=init_cfg)
        reject_renamed('Distiller', renamed, RENAMED)
        specs, named = teacher_specs(
            teacher, teachers, teacher_ckpt=teacher_ckpt, teacher_mode=teacher_mode,
            teacher_autocast=teacher_autocast, teacher_cache=teacher_cache,
            teacher_data_preprocessor=teacher_data_preprocessor)
        if not losses:
            raise ValueError('Distiller needs at least one entry in `losses`')
        entries = {name: _entry(name, spec) for name, spec in losses.items()}
        for name, entry in entries.items():
            entry['teacher_name'] = entry_teacher(name, entry['teacher_name'], list(specs))
        unread = [t for t in specs if not any(e['teacher_name'] == t for e in entries.values())]
        if unread:
            raise ValueError(f'teachers {unread} are read by no loss: name each in some '
                             f'entry\'s teacher_name, or remove it from `teachers`')
        self.student = build_model(student, 'student', data_preprocessor)
        built = {name: FrozenTeacher(spec['model'], spec['ckpt'],
                                     _tap_list(entries, 'teacher', name), mode=spec['mode'],
                                     autocast=spec['autocast'], cache=spec['cache'],
                                     name=name if named else None)
                 for name, spec in specs.items()}
        if named:
            self.teachers = nn.ModuleDict(built)  # state keys teachers.<name>.<key>
        else:
            self.teacher = built[SINGLE]  # state keys teacher.<key>, as always
        self.student_ckpt = student_ckpt
        own = {name: MODELS.build(spec['data_preprocessor']) for name, spec in specs.items()
               if spec['data_preprocessor'] is not None}
        if not own:
            self.data_preprocessor = self.student.data_preprocessor
        else:
            self.data_preprocessor = _TeacherPreprocessors(self.student.data_preprocessor,
                                                           own, named)
        if any(spec['cache'] is not None for spec in specs.values()) and getattr(
                self.student.data_preprocessor, 'batch_augments', None):
            raise ValueError('teacher_cache cannot be used with batch_augments (mixup, cutmix) '
                             'in the data preprocessor: a cached sample would be mixed '
                             'differently next time')

        self.entries = {}
        self.distill_losses = nn.ModuleDict()
        self.connectors = nn.ModuleDict()
        self.shared_connectors = {}
        for name, entry in entries.items():
            loss = self.distill_losses[name] = build_part(entry.pop('loss'), f'loss {name!r}',
                                                           DistillLoss)
            connector = entry.pop('connector')
            if isinstance(connector, str):  # share another entry's connectors
                if connector not in self.connectors:
                    raise KeyError(f'loss {name!r} shares the connectors of {connector!r}, '
                                   f'which is not an earlier entry with a connector')
                self.shared_connectors[name] = connector
            elif connector is not None:
                self.connectors[name] = build_connectors(connector, name)
            loss.setup(self.student, self.frozen_teachers[entry['teacher_name']].model)
            _check_reads(name, loss, self.student)
            self.entries[name] = entry
        student_taps = _tap_list(self.entries, 'student')
        self.student_taps = Taps(self.student, student_taps, 'student')
        frozen = _frozen_taps(self.student, student_taps)
        if frozen:
            print_log(f'Distiller: the student taps {frozen} are on frozen modules (no '
                      f'parameter there requires grad, e.g. the backbone\'s frozen_stages): '
                      f'distillation through them trains connectors only, not the student',
                      logger='current', level=logging.WARNING)
        # Multipliers set by the weight-schedule hook; distillation on/off by the stop hook.
        self.loss_scales = {name: 1.0 for name in self.entries}
        self.distill_enabled = True
        self.step = build_part(step, 'step') if step else None
        labelled = [n for n, loss in self.distill_losses.items()
                    if any(f in GROUND_TRUTH for f in loss.reads)]
        if getattr(self.step, 'label_free', False) and labelled:
            raise ValueError(f'{type(self.step).__name__} mixes inputs but never labels, so '
                             f'losses that read ground truth cannot use it: {labelled}')

    # -- the teachers ----------------------------------------------------------------
    @property
    def frozen_teachers(self) -> Dict[str, FrozenTeacher]:
        """``{name: FrozenTeacher}``: the named teachers of ``teachers=``, or
        ``{'teacher': ...}`` for the one teacher of ``teacher=``."""
        if 'teachers' in self._modules:
            return dict(self.teachers.items())
        return {SINGLE: self.teacher}

    def __getattr__(self, name: str):
        if name == 'teacher' and 'teachers' in self.__dict__.get('_modules', {}):
            raise AttributeError(
                f'this Distiller has named teachers {list(self._modules["teachers"])} '
                f'(teachers=), not one `teacher`: use distiller.teachers[NAME] or '
                f'distiller.frozen_teachers')
        return super().__getattr__(name)

    def run_teachers(self, inputs: Tensor, data_samples, teacher_inputs=None,
                     use_cache: bool = False) -> Dict[str, Dict[str, object]]:
        """Each teacher's tap records, ``{name: {tap: record}}``, each run on its own inputs
        (``teacher_inputs``: one batch for ``teacher=``, ``{name: batch}`` for named
        teachers with their own preprocessor; ``inputs`` otherwise)."""
        records = {}
        for name, teacher in self.frozen_teachers.items():
            if isinstance(teacher_inputs, dict):
                own = teacher_inputs.get(name, inputs)
            else:
                own = inputs if teacher_inputs is None else teacher_inputs
            records[name] = teacher(own, data_samples, use_cache=use_cache)
        return records

    # -- what hooks change -----------------------------------------------------------
    @property
    def loss_names(self) -> List[str]:
        """The names of the distillation terms, as the config's ``losses`` gives them."""
        return list(self.entries)

    def set_loss_scale(self, name: str, value: float) -> None:
        """Multiply distillation term ``name`` by ``value`` from now on."""
        if name not in self.loss_scales:
            raise KeyError(f'no distillation loss named {name!r}; the config defines '
                           f'{sorted(self.loss_scales)}')
        self.loss_scales[name] = float(value)

    def set_distillation(self, enabled: bool) -> bool:
        """Run the teacher and the distillation terms or not; True if this changed it."""
        changed = self.distill_enabled != bool(enabled)
        self.distill_enabled = bool(enabled)
        return changed

    # -- model state ---------------------------------------------------------------
    def init_weights(self) -> None:
        """Initialise the student and connectors; the teachers keep their checkpoints."""
        if hasattr(self.student, 'init_weights'):
            self.student.init_weights()
        if self.student_ckpt:
            load_weights_strict(self.student, self.student_ckpt, 'student')

    # -- forward -------------------------------------------------------------------
    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor',
                teacher_inputs: Union[Tensor, Dict[str, Tensor], None] = None):
        if mode == 'loss':
            return self.loss(inputs, data_samples, teacher_inputs)
        return self.student(inputs, data_samples, mode=mode)

    def loss(self, inputs: Tensor, data_samples,
             teacher_inputs: Union[Tensor, Dict[str, Tensor], None] = None
             ) -> Dict[str, Tensor]:
        if not self.distill_enabled:
            losses = self._student_loss(inputs, data_samples)
            # Keep connectors and loss parameters in the graph: distributed sync stays consistent.
            params = [*self.connectors.parameters(), *self.distill_losses.parameters()]
            zero = sum((p.sum() for p in params if p.requires_grad), inputs.new_zeros(())) * 0.0
            for name in self.entries:
                losses[self._key(name)] = zero
            return losses
        if self.step is not None and self.step.applies():
            return self.step(self, inputs, data_samples, teacher_inputs)
        teachers = self.run_teachers(inputs, data_samples, teacher_inputs, use_cache=True)
        self.student_taps.reset()
        losses = self._student_loss(inputs, data_samples)
        return self.add_distill_terms(losses, self.student_taps.take(), teachers, data_samples)

    def student_to_taps(self, inputs: Tensor, data_samples) -> Dict[str, object]:
        """Run the student only as far as its deepest tap; return its tap records."""
        self.student_taps.reset()
        self.student_taps.stop_when_done = True
        try:
            self.student(inputs, data_samples, mode='tensor')
        except TeacherDone:
            pass
        finally:
            self.student_taps.stop_when_done = False
        return self.student_taps.take()

    def add_distill_terms(self, losses: Dict[str, Tensor], student: Dict[str, object],
                          teachers: Dict[str, Dict[str, object]],
                          data_samples) -> Dict[str, Tensor]:
        """Add ``distill.loss_<name>`` for every entry, from the student's tap records and
        each teacher's (``{teacher name: records}``, as :meth:`run_teachers` gives)."""
        connected_now = {}  # connector outputs of this step, shared between entries
        iteration = MessageHub.get_current_instance().get_info('iter', None)
        frozen = self.frozen_teachers
        for name, entry in self.entries.items():
            loss = self.distill_losses[name]
            teacher = entry['teacher_name']
            raw, target = (_read(student, entry['student']),
                           _read(teachers[teacher], entry['teacher']))
            connected = self._connected(name, entry, raw, target, connected_now)
            ctx = DistillContext(
                name=name, student_tap=entry['student'], teacher_tap=entry['teacher'],
                teacher_name=teacher, data_samples=data_samples, student=self.student,
                teacher=frozen[teacher].model,
                student_raw=raw, connected=connected is not raw, iteration=iteration,
                reads=loss.reads, device=_first_tensor(raw).device)
            losses[self._key(name)] = loss(connected, target, ctx) * self.loss_scales[name]
        return losses

    def _student_loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        losses = self.student.loss(inputs, data_samples)
        if 'loss' in losses:  # mmpretrain's heads: would hide the logged total
            losses['loss_student'] = losses.pop('loss')
        return losses

    @staticmethod
    def _key(name: str) -> str:
        return f'distill.{name}' if name.startswith('loss_') else f'distill.loss_{name}'

    def _connected(self, name: str, entry: dict, raw, target, connected_now: dict):
        """The entry's student input after its connectors (``raw`` itself if it has none).
        Entries sharing connectors on one tap reuse the output (once per step: no
        recomputation, and a BN connector updates its statistics once)."""
        owner = self.shared_connectors.get(name, name)
        if owner not in self.connectors:
            return raw
        connectors = self.connectors[owner]
        s_levels, t_levels, multi = paired_levels(name, entry['student'], entry['teacher'],
                                                  raw, target)
        if len(connectors) not in (1, len(s_levels)):
            raise ValueError(f'loss {name!r}: {len(connectors)} connectors for '
                             f'{len(s_levels)} levels')
        out = []
        for i, (s, t) in enumerate(zip(s_levels, t_levels)):
            key = (owner, i, id(s))
            if key not in connected_now:
                connector = connectors[i if len(connectors) > 1 else 0]
                connected_now[key] = self._connect(name, entry, connector, s, t, i)
            out.append(connected_now[key])
        return out if multi else out[0]

    @staticmethod
    def _connect(name, entry, connector, s: Tensor, t: Tensor, level: int) -> Tensor:
        try:
            return connector(s, t)
        except RuntimeError as err:
            raise ValueError(
                f'loss {name!r}, level {level}: the connector does not fit student tap '
                f'{entry["student"]!r} of shape {tuple(s.shape)} (teacher tap '
                f'{entry["teacher"]!r}: {tuple(t.shape)}): {str(err).splitlines()[0]}') from err

    # -- training step ---------------------------------------------------------------
    def parse_losses(self, losses: Dict[str, Tensor]):
        """As MMEngine's, but stop on a non-finite distillation term before any update,
        and log losses averaged over ranks."""
        terms = {k: v for k, v in losses.items() if k.startswith('distill.')}
        if terms and not bool(torch.isfinite(torch.stack(
                [v.detach().float().sum() for v in terms.values()])).all()):
            bad = [k for k, v in terms.items() if not torch.isfinite(v.detach()).all()]
            own = [k for k, v in losses.items() if k not in terms and 'loss' in k
                   and not torch.isfinite(_total(v)).all()]
            it = MessageHub.get_current_instance().get_info('iter', None)
            advice = (f'The student\'s own losses ({", ".join(own)}) are non-finite too, so the '
                      f'batch or the student is at fault, not distillation: look for NaN/Inf '
                      f'pixels or labels (python tools/dataset_converters/check_dataset.py '
                      f'CONFIG) or lower the learning rate.' if own else
                      'Lower its loss_weight, check its taps, or give it a connector with BN.')
            raise FloatingPointError(
                f'non-finite distillation loss {", ".join(bad)} at iteration '
                f'{"?" if it is None else it + 1}; training stopped before the weights were '
                f'updated. {advice}')
        loss, log_vars = super().parse_losses(losses)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # Log the mean over ranks (the loss the averaged gradient belongs to).
            values = torch.stack([v.detach().float() for v in log_vars.values()])
            dist.all_reduce(values)
            log_vars = OrderedDict(zip(log_vars, values / dist.get_world_size()))
        return loss, log_vars


def _total(value) -> Tensor:
    """A loss entry (a tensor or a list of them, as mmdet's RPN gives) summed, detached."""
    if isinstance(value, (list, tuple)):
        return sum((_total(v) for v in value), torch.zeros(()))
    return value.detach().float().sum().cpu()


def _first_tensor(value) -> Tensor:
    return _first_tensor(value[0]) if isinstance(value, (list, tuple)) else value
