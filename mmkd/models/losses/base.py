"""The loss contract: what a distillation loss is called with, and what it declares.

A loss is called as ``loss(student, teacher, ctx)``: the (connected) student input and the
teacher input of its entry, and a :class:`DistillContext` with everything else it may
read. :class:`DistillLoss` receives all levels at once (a tensor, or a list of tensors for a
multi-level tap or a list of taps); :class:`PerLevelLoss` owns the level loop, the level
weights and the shape checks, and its ``compute`` sees one level at a time.
"""
import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

# Fields every task's data samples carry (mmengine's image meta information).
META_FIELDS = ('img_shape', 'ori_shape', 'pad_shape', 'scale_factor', 'batch_input_shape',
               'img_path', 'sample_idx')
# Ground-truth fields per OpenMMLab package, for the build-time check of ``reads``.
TASK_FIELDS = {
    'mmdet': ('gt_instances', 'ignored_instances'),
    'mmseg': ('gt_sem_seg', ),
    'mmpretrain': ('gt_label', ),
}
LevelWeights = Union[None, str, Sequence[float]]
GROUND_TRUTH = tuple(f for fields in TASK_FIELDS.values() for f in fields)


def batch_field(name: str, data_samples: Sequence, device: Optional[torch.device] = None):
    """A field of the batch's data samples.

    ``gt_label``: a ``(N,)`` tensor (each sample's first label); ``gt_sem_seg``: a
    ``(N, H, W)`` tensor; any other field (``gt_instances`` with its ``bboxes`` and
    ``labels``, ``img_shape`` ...): a list with one value per sample.
    """
    if name == 'gt_label':
        return torch.cat([ds.gt_label.reshape(-1)[:1] for ds in data_samples]).to(device)
    if name == 'gt_sem_seg':
        return torch.stack([ds.gt_sem_seg.data.squeeze(0) for ds in data_samples]).to(device)
    values = []
    for ds in data_samples:
        if name in ds.metainfo:
            values.append(ds.metainfo[name])
        elif hasattr(ds, name):
            value = getattr(ds, name)
            values.append(value.to(device) if device is not None and hasattr(value, 'to')
                          else value)
        else:
            raise KeyError(f'the data samples have no field {name!r} (data fields: '
                           f'{sorted(ds.keys())}, meta fields: {sorted(ds.metainfo_keys())})')
    return values


@dataclasses.dataclass
class DistillContext:
    """What a loss may read besides its two inputs, for one call.

    Attributes:
        name: the loss entry's name in the config.
        student_tap, teacher_tap: the entry's taps (for messages).
        data_samples: the batch's data samples; read declared fields with :meth:`field`.
        teacher_name: the teacher the entry reads (``'teacher'`` for the one teacher of
            ``teacher=``, else its name in ``teachers=``).
        student, teacher: the two networks (that teacher: frozen, in eval mode).
        student_raw: the student input before its connector (per level for a
            :class:`PerLevelLoss`, all levels otherwise).
        connected: whether a connector ran on the student input.
        iteration: the training iteration (None outside a runner).
        level, num_levels: the level a :class:`PerLevelLoss` is computing, and how many.
        reads: the fields the loss declared; :meth:`field` refuses the others (None: any).
        values: field values given directly, used before ``data_samples`` (for calling a
            loss on its own, e.g. ``DKDLoss()(s, t, DistillContext(values=dict(gt_label=y)))``).
    """

    name: str = 'loss'
    student_tap: Union[str, Sequence[str]] = 'student'
    teacher_tap: Union[str, Sequence[str]] = 'teacher'
    teacher_name: str = 'teacher'
    data_samples: Optional[Sequence] = None
    student: Optional[nn.Module] = None
    teacher: Optional[nn.Module] = None
    student_raw: Any = None
    connected: bool = False
    iteration: Optional[int] = None
    level: int = 0
    num_levels: int = 1
    reads: Optional[Tuple[str, ...]] = None
    device: Optional[torch.device] = None
    values: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def field(self, name: str):
        """A declared field of the batch (see :func:`batch_field`)."""
        if name in self.values:
            return self.values[name]
        if self.reads is not None and name not in self.reads:
            raise KeyError(f'loss {self.name!r} reads {name!r} without declaring it: add it '
                           f'to the loss class\'s `reads` (declared: {list(self.reads)})')
        if self.data_samples is None:
            raise KeyError(f'loss {self.name!r} reads {name!r} but no data samples were given')
        return batch_field(name, self.data_samples, self.device)

    def at_level(self, level: int, num_levels: int, student_raw: Any) -> 'DistillContext':
        return dataclasses.replace(self, level=level, num_levels=num_levels,
                                   student_raw=student_raw)


def resolve_level_weights(spec: LevelWeights, count: int,
                          owner: str, what: str = 'levels') -> List[float]:
    """Weights for ``count`` levels: None (all 1), ``'geometric'`` (``1 / 2 ** (count - 1 - i)``,
    the last level 1, each earlier one half the next), or a list of ``count`` numbers."""
    if spec is None:
        return [1.0] * count
    if spec == 'geometric':
        return [1.0 / 2 ** (count - 1 - i) for i in range(count)]
    if isinstance(spec, str) or len(spec) != count:
        raise ValueError(f'{owner}: level_weights {spec!r} does not fit {count} {what} '
                         f"(use None, 'geometric' or a list of {count} numbers)")
    return [float(w) for w in spec]


def paired_levels(name: str, student_tap, teacher_tap, student, teacher):
    """``(student levels, teacher levels, multi)`` of one entry: lists of equal length, and
    whether the taps gave levels (lists) rather than single tensors."""
    s_multi, t_multi = isinstance(student, (list, tuple)), isinstance(teacher, (list, tuple))
    if s_multi != t_multi:
        raise ValueError(
            f'loss {name!r}: student tap {student_tap!r} and teacher tap {teacher_tap!r} '
            f'differ in kind: one gives a tuple of levels, the other a single tensor')
    s_levels = list(student) if s_multi else [student]
    t_levels = list(teacher) if t_multi else [teacher]
    if len(s_levels) != len(t_levels):
        raise ValueError(f'loss {name!r}: student tap {student_tap!r} gives {len(s_levels)} '
                         f'levels, teacher tap {teacher_tap!r} gives {len(t_levels)}')
    return s_levels, t_levels, s_multi


def reject_renamed(owner: str, kwargs: dict, renamed: dict) -> None:
    """Raise for arguments that were renamed (naming the new one) or never existed."""
    for key in kwargs:
        if key in renamed:
            raise TypeError(f'{owner}: `{key}` was renamed; use {renamed[key]}')
    if kwargs:
        raise TypeError(f'{owner} got unexpected arguments {sorted(kwargs)}')


class DistillLoss(nn.Module):
    """A distillation loss: ``loss_weight * compute(student, teacher, ctx)``.

    :meth:`forward` runs :meth:`compute` in fp32 with autocast off (fp16 log/softmax is the
    usual source of NaN distillation losses); teacher inputs are detached. This base hands
    ``compute`` every level at once; most losses subclass :class:`PerLevelLoss` instead.

    Subclasses may declare:
        reads: batch fields ``compute`` reads through ``ctx.field(name)``, e.g.
            ``('gt_instances',)``. The Distiller checks them against the student's task when
            it is built, and refuses label fields on label-free (virtual-sample) steps.
        setup(student, teacher): called once when the Distiller is built, to read what the
            loss needs from the networks (e.g. the teacher's BN statistics) or reject them.

    ``last_stats`` may hold values a call measured (e.g. LONDON's spectral norms) for a
    hook to log; the hook sets it back to None.
    """

    reads: Tuple[str, ...] = ()

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.last_stats: Optional[dict] = None  # what the last call measured, for hooks

    def setup(self, student: nn.Module, teacher: nn.Module) -> None:
        """Read what the loss needs from the built networks; raise if they do not fit."""

    def compute(self, student, teacher, ctx: DistillContext) -> Tensor:
        raise NotImplementedError

    def forward(self, student, teacher, ctx: Optional[DistillContext] = None) -> Tensor:
        ctx = DistillContext(name=type(self).__name__) if ctx is None else ctx
        first = student[0] if isinstance(student, (list, tuple)) else student
        device_type = first.device.type if first.device.type in ('cuda', 'cpu') else 'cpu'
        with torch.autocast(device_type=device_type, enabled=False):
            loss = self.compute(_fp32(student), _fp32(teacher, detach=True), ctx)
        return loss * self.loss_weight


class PerLevelLoss(DistillLoss):
    """A loss computed level by level and summed with ``level_weights``.

    ``compute(student, teacher, ctx)`` receives one level's tensors; ``ctx.level`` says which.

    Args:
        loss_weight: multiplier of the weighted sum.
        level_weights: None (all 1), ``'geometric'`` or one number per level.

    Class attribute:
        same_shape: check that each (connected) student level has the teacher level's shape.
    """

    same_shape: bool = True

    def __init__(self, loss_weight: float = 1.0,
                 level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight)
        self.level_weights = level_weights

    def forward(self, student, teacher, ctx: Optional[DistillContext] = None) -> Tensor:
        ctx = DistillContext(name=type(self).__name__) if ctx is None else ctx
        s_levels, t_levels, multi = paired_levels(ctx.name, ctx.student_tap, ctx.teacher_tap,
                                                  student, teacher)
        raw = ctx.student_raw if multi else [ctx.student_raw]
        weights = resolve_level_weights(self.level_weights, len(s_levels), f'loss {ctx.name!r}')
        total = 0.0
        for i, (s, t) in enumerate(zip(s_levels, t_levels)):
            if self.same_shape and s.shape != t.shape:
                raise ValueError(
                    f'loss {ctx.name!r}, level {i}: student tap {ctx.student_tap!r} gives shape '
                    f'{tuple(s.shape)}{" after its connector" if ctx.connected else ""} but '
                    f'teacher tap {ctx.teacher_tap!r} gives {tuple(t.shape)}; add or fix a '
                    f'connector')
            level_ctx = ctx.at_level(i, len(s_levels), raw[i] if raw is not None else None)
            total = total + weights[i] * super().forward(s, t, level_ctx)
        return total


def _fp32(value, detach: bool = False):
    """Floating tensors (or lists of them) in fp32; anything else unchanged."""
    if isinstance(value, (list, tuple)):
        return [_fp32(v, detach) for v in value]
    if isinstance(value, Tensor) and value.is_floating_point():
        value = value.detach() if detach else value
        return value.float()
    return value
