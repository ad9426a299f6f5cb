"""The model the runner trains: a student, a frozen teacher and distillation losses."""
import copy
import logging
from collections import OrderedDict
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from torch import Tensor, nn

from mmkd.registry import MODELS
from mmkd.utils.checkpoint import load_weights_strict
from .model_config import load_model_cfg
from .taps import TeacherDone, Taps, as_levels, parse_tap
from .teacher_cache import TeacherCache
from .virtual_samples import SegmentMixer

ENTRY_KEYS = ('student', 'teacher', 'connector', 'level_weights')
AUTOCAST_DTYPES = {None: None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def _build_model(spec, role: str, data_preprocessor: Optional[dict] = None) -> BaseModel:
    cfg, scope = load_model_cfg(spec, role, data_preprocessor)
    if scope:
        with DefaultScope.overwrite_default_scope(scope):
            return MODELS.build(cfg)
    return MODELS.build(cfg)


def _build_mmkd(cfg: dict) -> nn.Module:
    with DefaultScope.overwrite_default_scope('mmkd'):
        return MODELS.build(cfg)


def _batch_field(name: str, data_samples) -> Tensor:
    """Ground truth a loss can read: ``gt_label`` (classification) or ``gt_sem_seg``."""
    if name == 'gt_label':
        return torch.cat([ds.gt_label.reshape(-1)[:1] for ds in data_samples])
    if name == 'gt_sem_seg':
        return torch.stack([ds.gt_sem_seg.data.squeeze(0) for ds in data_samples])
    raise KeyError(f'unknown batch field {name!r}; known: gt_label, gt_sem_seg')


def _tap_list(entries: dict, role: str) -> List[str]:
    taps = []
    for entry in entries.values():
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


def _read(taps: Taps, spec: Union[str, Sequence[str]]):
    """A tap's record, or a tuple of records (one per level) for a list of taps."""
    return taps.get(spec) if isinstance(spec, str) else tuple(taps.get(t) for t in spec)


class _Connector(nn.Module):
    """One connector, or a chain of them, for one level."""

    def __init__(self, cfgs: List[dict]) -> None:
        super().__init__()
        self.chain = nn.ModuleList(_build_mmkd(c) for c in cfgs)

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        for module in self.chain:
            x = module(x, target)
        return x


def _build_connectors(spec, name: str) -> Optional[nn.ModuleList]:
    """Connectors of one loss entry: one per level if any channel setting is a list."""
    if spec is None:
        return None
    cfgs = [spec] if isinstance(spec, dict) else list(spec)
    lengths = {len(v) for c in cfgs for v in c.values() if isinstance(v, (list, tuple))}
    if len(lengths) > 1:
        raise ValueError(f'loss {name!r}: per-level connector settings have different lengths')
    levels = lengths.pop() if lengths else 1
    per_level = []
    for i in range(levels):
        per_level.append(_Connector([
            {k: (v[i] if isinstance(v, (list, tuple)) else v) for k, v in c.items()}
            for c in cfgs]))
    return nn.ModuleList(per_level)


class _TwoPreprocessors(nn.Module):
    """The student's preprocessor, plus the teacher's own on the same raw batch in training."""

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        super().__init__()
        self.student, self.teacher = student, teacher

    def forward(self, data: dict, training: bool = False) -> dict:
        out = self.student(data, training)
        if training:
            out['teacher_inputs'] = self.teacher(data, training)['inputs']
        return out


@MODELS.register_module()
class Distiller(BaseModel):
    """Train ``student`` with its own losses plus distillation from a frozen ``teacher``.

    Args:
        student: the student model (dict, config path, or ``dict(cfg_path=..., **overrides)``).
        teacher: the teacher model, same forms.
        teacher_ckpt: the teacher's weights. Required: a randomly initialised teacher
            never trains a student silently.
        losses: ``{name: dict(type=LOSS, student=TAP, teacher=TAP, connector=..., **loss_args)}``.
            A tap that yields a tuple (FPN levels, stages), or a list of taps, applies the loss
            per level and sums the levels, weighted by ``level_weights`` (a list, or
            ``'geometric'`` for ``1 / 2 ** (L - 1 - i)``). ``connector`` is a connector dict,
            a list of them (applied in order), or the name of an earlier entry whose
            connectors to share. Each entry is logged as ``distill.loss_<name>``.
        student_ckpt: optional weights to initialise the student with (after its init_cfg).
        teacher_mode: the teacher's forward mode; ``'tensor'`` avoids the teacher's loss path.
        teacher_data_preprocessor: the teacher's own preprocessor, if it differs.
        data_preprocessor: the student's, when its config keeps it outside ``model``
            (as mmpretrain's do; the Runner passes it here).
        virtual_samples: L2RKD: ``dict(mode='mixup'|'patch', alpha, prob, grid)``. With
            probability ``prob`` a step distils on mixed inputs only (no labels; both models
            run only as far as their taps), see :class:`SegmentMixer`.
        teacher_autocast: ``'bf16'`` or ``'fp16'`` runs the teacher's forward under autocast
            (the losses still compute in fp32); None keeps the teacher in fp32.
        teacher_cache: classification: ``dict(max_items=..., dtype='float32')`` reuses the
            teacher's tapped outputs of a sample seen before with the same augmentation
            (see :class:`TeacherCache` and :class:`SeededAugmentation`).
    """

    def __init__(self,
                 student: Union[str, dict],
                 teacher: Union[str, dict],
                 teacher_ckpt: str,
                 losses: Dict[str, dict],
                 student_ckpt: Optional[str] = None,
                 teacher_mode: str = 'tensor',
                 teacher_data_preprocessor: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 virtual_samples: Optional[dict] = None,
                 teacher_autocast: Optional[str] = None,
                 teacher_cache: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not teacher_ckpt:
            raise ValueError('Distiller needs `teacher_ckpt`: a teacher without trained '
                             'weights would distil noise into the student')
        self.student = _build_model(student, 'student', data_preprocessor)
        self.teacher = _build_model(teacher, 'teacher')
        load_weights_strict(self.teacher, teacher_ckpt, 'teacher')
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.teacher_ckpt = teacher_ckpt
        self.student_ckpt = student_ckpt
        self.teacher_mode = teacher_mode
        if teacher_autocast not in AUTOCAST_DTYPES:
            raise ValueError(f'teacher_autocast must be one of {list(AUTOCAST_DTYPES)}, '
                             f'got {teacher_autocast!r}')
        self.teacher_autocast = teacher_autocast
        self.teacher_cache = TeacherCache(**teacher_cache) if teacher_cache is not None else None
        if teacher_data_preprocessor is None:
            self.data_preprocessor = self.student.data_preprocessor
        else:
            self.data_preprocessor = _TwoPreprocessors(
                self.student.data_preprocessor, MODELS.build(teacher_data_preprocessor))
        if self.teacher_cache is not None and getattr(
                self.student.data_preprocessor, 'batch_augments', None):
            raise ValueError('teacher_cache cannot be used with batch_augments (mixup, cutmix) '
                             'in the data preprocessor: a cached sample would be mixed '
                             'differently next time')

        if not losses:
            raise ValueError('Distiller needs at least one entry in `losses`')
        self.entries = {}
        self.distill_losses = nn.ModuleDict()
        self.connectors = nn.ModuleDict()
        self.shared_connectors = {}
        self._connected_now = {}  # connector outputs of the current step
        for name, spec in losses.items():
            spec = copy.deepcopy(dict(spec))
            for key in ('student', 'teacher'):
                tap = spec.get(key)
                if not (isinstance(tap, str) or (isinstance(tap, (list, tuple)) and tap and
                                                 all(isinstance(t, str) for t in tap))):
                    raise KeyError(f'loss {name!r} needs a `{key}` tap: a module path string, '
                                   f'or a list of them (one per level)')
            loss_cfg = {k: v for k, v in spec.items() if k not in ENTRY_KEYS}
            self.distill_losses[name] = _build_mmkd(loss_cfg)
            connector = spec.get('connector')
            if isinstance(connector, str):  # share another entry's connectors
                if connector not in self.connectors:
                    raise KeyError(f'loss {name!r} shares the connectors of {connector!r}, '
                                   f'which is not an earlier entry with a connector')
                self.shared_connectors[name] = connector
            else:
                connectors = _build_connectors(connector, name)
                if connectors is not None:
                    self.connectors[name] = connectors
            self.entries[name] = dict(student=spec['student'], teacher=spec['teacher'],
                                      level_weights=spec.get('level_weights'))
            self.distill_losses[name].bind_teacher(self.teacher)
        student_taps = _tap_list(self.entries, 'student')
        self.student_taps = Taps(self.student, student_taps, 'student')
        frozen = _frozen_taps(self.student, student_taps)
        if frozen:
            print_log(f'Distiller: the student taps {frozen} are on frozen modules (no '
                      f'parameter there requires grad, e.g. the backbone\'s frozen_stages): '
                      f'distillation through them trains connectors only, not the student',
                      logger='current', level=logging.WARNING)
        self.teacher_taps = Taps(self.teacher, _tap_list(self.entries, 'teacher'), 'teacher',
                                 stop_when_done=True)
        # Multipliers set by the weight-schedule hook; distillation on/off by the stop hook.
        self.loss_scales = {name: 1.0 for name in self.entries}
        self.distill_enabled = True
        self.mixer = SegmentMixer(**virtual_samples) if virtual_samples else None
        labelled = [n for n, loss in self.distill_losses.items() if loss.needs]
        if self.mixer is not None and labelled:
            raise ValueError(f'virtual_samples mix inputs but never labels, so losses that read '
                             f'ground truth cannot use them: {labelled}')

    # -- model state ---------------------------------------------------------------
    def train(self, mode: bool = True) -> 'Distiller':
        super().train(mode)
        self.teacher.eval()
        return self

    def init_weights(self) -> None:
        """Initialise the student and connectors; the teacher keeps its checkpoint."""
        if hasattr(self.student, 'init_weights'):
            self.student.init_weights()
        if self.student_ckpt:
            load_weights_strict(self.student, self.student_ckpt, 'student')

    # -- forward -------------------------------------------------------------------
    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor',
                teacher_inputs: Optional[Tensor] = None):
        if mode == 'loss':
            return self.loss(inputs, data_samples, teacher_inputs)
        return self.student(inputs, data_samples, mode=mode)

    def run_teacher(self, inputs: Tensor, data_samples, use_cache: bool = False) -> None:
        """Run the teacher without gradient, only as far as its deepest tap (or read its
        records from the teacher cache)."""
        self.teacher_taps.reset()
        keys = None
        if use_cache and self.teacher_cache is not None:
            keys = self.teacher_cache.keys(data_samples)
            cached = self.teacher_cache.lookup(keys, inputs.device)
            if cached is not None:
                self.teacher_taps.records = cached
                return
        dtype = AUTOCAST_DTYPES[self.teacher_autocast]
        device = inputs.device.type if inputs.device.type in ('cuda', 'cpu') else 'cpu'
        # None leaves autocast as it is (on under --amp, off otherwise).
        precision = nullcontext() if dtype is None else torch.autocast(device, dtype=dtype)
        with torch.no_grad(), precision:
            try:
                self.teacher(inputs, data_samples, mode=self.teacher_mode)
            except TeacherDone:
                pass
        if keys is not None:
            self.teacher_cache.store(keys, self.teacher_taps.records)

    def loss(self, inputs: Tensor, data_samples,
             teacher_inputs: Optional[Tensor] = None) -> Dict[str, Tensor]:
        if not self.distill_enabled:
            losses = self._student_loss(inputs, data_samples)
            # Keep connectors and loss parameters in the graph: distributed sync stays consistent.
            params = [*self.connectors.parameters(), *self.distill_losses.parameters()]
            zero = sum((p.sum() for p in params if p.requires_grad), inputs.new_zeros(())) * 0.0
            for name in self.entries:
                losses[self._key(name)] = zero
            return losses
        if self.mixer is not None and self.mixer.use_mixed():
            return self._virtual_step(inputs, data_samples, teacher_inputs)
        self.run_teacher(inputs if teacher_inputs is None else teacher_inputs, data_samples,
                         use_cache=True)
        self.student_taps.reset()
        losses = self._student_loss(inputs, data_samples)
        return self._add_distill_terms(losses, inputs, data_samples)

    def _virtual_step(self, inputs: Tensor, data_samples,
                      teacher_inputs: Optional[Tensor]) -> Dict[str, Tensor]:
        """Distil on virtual samples: the same mixed inputs for both models, no labels."""
        mixed, teacher_mixed = self.mixer(inputs, teacher_inputs)
        self.run_teacher(mixed if teacher_mixed is None else teacher_mixed, data_samples)
        self.student_taps.reset()
        self.student_taps.stop_when_done = True
        try:
            self.student(mixed, data_samples, mode='tensor')
        except TeacherDone:
            pass
        finally:
            self.student_taps.stop_when_done = False
        # Parameters past the taps get a zero gradient, so distributed sync stays consistent.
        unused = sum((p.sum() for p in self.student.parameters() if p.requires_grad),
                     inputs.new_zeros(())) * 0.0
        return self._add_distill_terms({'loss_student': unused}, mixed, data_samples)

    def _add_distill_terms(self, losses: Dict[str, Tensor], inputs: Tensor,
                           data_samples) -> Dict[str, Tensor]:
        self._connected_now = {}
        for name, entry in self.entries.items():
            loss = self.distill_losses[name]
            extra = {field: _batch_field(field, data_samples).to(inputs.device)
                     for field in loss.needs}
            value = self._distill_term(name, entry, _read(self.student_taps, entry['student']),
                                       _read(self.teacher_taps, entry['teacher']), extra)
            losses[self._key(name)] = value * self.loss_scales[name]
        self.student_taps.records = {}
        self.teacher_taps.records = {}
        self._connected_now = {}
        return losses

    def _student_loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        losses = self.student.loss(inputs, data_samples)
        if 'loss' in losses:  # mmpretrain's heads: would hide the logged total
            losses['loss_student'] = losses.pop('loss')
        return losses

    @staticmethod
    def _key(name: str) -> str:
        return f'distill.{name}' if name.startswith('loss_') else f'distill.loss_{name}'

    def _distill_term(self, name: str, entry: dict, s_val, t_val, extra: dict) -> Tensor:
        s_levels, t_levels = as_levels(s_val), as_levels(t_val)
        if (s_levels is None) != (t_levels is None):
            raise ValueError(
                f'loss {name!r}: student tap {entry["student"]!r} and teacher tap '
                f'{entry["teacher"]!r} differ in kind: one gives a tuple of levels, the other '
                f'a single tensor')
        if s_levels is None:
            s_levels, t_levels = [s_val], [t_val]
        loss = self.distill_losses[name]
        owner = self.shared_connectors.get(name, name)
        connectors = self.connectors[owner] if owner in self.connectors else None
        # A multi-level loss may pair different things (e.g. RoI logits and RoIs with FPN
        # levels) and checks its inputs itself; connectors always pair level with level.
        if len(s_levels) != len(t_levels) and (not loss.multi_level or connectors is not None):
            raise ValueError(f'loss {name!r}: student tap {entry["student"]!r} gives '
                             f'{len(s_levels)} levels, teacher tap {entry["teacher"]!r} '
                             f'gives {len(t_levels)}')
        if connectors is not None and len(connectors) not in (1, len(s_levels)):
            raise ValueError(f'loss {name!r}: {len(connectors)} connectors for '
                             f'{len(s_levels)} levels')
        connected = s_levels if connectors is None else [self._connected(
            name, owner, entry, connectors[i if len(connectors) > 1 else 0], s, t, i)
            for i, (s, t) in enumerate(zip(s_levels, t_levels))]
        if loss.multi_level:
            return loss(connected, t_levels, student_raw=s_levels, **extra)
        weights = self._level_weights(name, entry['level_weights'], len(s_levels))
        total = 0.0
        for i, (s, t) in enumerate(zip(connected, t_levels)):
            if loss.same_shape and s.shape != t.shape:
                raise ValueError(
                    f'loss {name!r}, level {i}: student tap {entry["student"]!r} gives shape '
                    f'{tuple(s.shape)}{" after its connector" if connectors else ""} but teacher '
                    f'tap {entry["teacher"]!r} gives {tuple(t.shape)}; add or fix a connector')
            kwargs = dict(extra, level=i) if getattr(loss, 'per_level', False) else extra
            total = total + weights[i] * loss(s, t, **kwargs)
        return total

    @staticmethod
    def _level_weights(name: str, spec, levels: int) -> Sequence[float]:
        if spec is None:
            return [1.0] * levels
        if spec == 'geometric':
            return [1.0 / 2 ** (levels - 1 - i) for i in range(levels)]
        if len(spec) != levels:
            raise ValueError(f'loss {name!r}: {len(spec)} level_weights for {levels} levels')
        return list(spec)

    def _connected(self, name, owner, entry, connector, s: Tensor, t: Tensor,
                   level: int) -> Tensor:
        """The connector's output; entries sharing connectors on one tap reuse it (once per
        step: no recomputation, and a BN connector updates its statistics once)."""
        key = (owner, level, id(s))
        if key not in self._connected_now:
            self._connected_now[key] = self._connect(name, entry, connector, s, t, level)
        return self._connected_now[key]

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
            it = MessageHub.get_current_instance().get_info('iter', None)
            raise FloatingPointError(
                f'non-finite distillation loss {", ".join(bad)} at iteration '
                f'{"?" if it is None else it + 1}; training stopped before the weights were '
                f'updated. Lower its weight, check the taps, or use a connector with BN.')
        loss, log_vars = super().parse_losses(losses)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # Log the mean over ranks (the loss the averaged gradient belongs to).
            values = torch.stack([v.detach().float() for v in log_vars.values()])
            dist.all_reduce(values)
            log_vars = OrderedDict(zip(log_vars, values / dist.get_world_size()))
        return loss, log_vars
