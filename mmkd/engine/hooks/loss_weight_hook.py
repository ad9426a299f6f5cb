"""Schedule the weight of each distillation loss over training."""
import math
from typing import Dict, Sequence

from mmengine.hooks import Hook

from mmkd.registry import HOOKS
from .model_access import bare_model


def scheduled_value(schedule: dict, progress: int, total: int) -> float:
    """The multiplier at ``progress`` (iteration or epoch) of ``total``.

    Types:
      - ``constant``: ``value``;
      - ``step``: ``values[k]`` after ``milestones[k-1]`` (``values`` has one more entry);
      - ``linear``: from ``start`` to ``end`` between ``begin`` and ``stop`` (default 0, total);
      - ``cosine``: cosine from ``start`` to ``end`` between ``begin`` and ``stop``.
    Milestones, begin and stop may be fractions of training (floats <= 1).
    """
    def at(point):
        return int(round(point * total)) if isinstance(point, float) and point <= 1 else point

    kind = schedule.get('type', 'constant')
    if kind == 'constant':
        return float(schedule.get('value', 1.0))
    if kind == 'step':
        milestones: Sequence = [at(m) for m in schedule['milestones']]
        values = schedule['values']
        if len(values) != len(milestones) + 1:
            raise ValueError(f'step schedule {schedule}: needs len(values) == len(milestones)+1')
        return float(values[sum(progress >= m for m in milestones)])
    if kind in ('linear', 'cosine'):
        begin, stop = at(schedule.get('begin', 0)), at(schedule.get('stop', total))
        start, end = float(schedule.get('start', 0.0)), float(schedule.get('end', 1.0))
        frac = min(max((progress - begin) / max(stop - begin, 1), 0.0), 1.0)
        if kind == 'cosine':
            frac = (1 - math.cos(math.pi * frac)) / 2
        return start + (end - start) * frac
    raise ValueError(f'unknown schedule type {kind!r}; use constant, step, linear or cosine')


@HOOKS.register_module()
class DistillLossWeightHook(Hook):
    """Multiply distillation loss ``name`` by a schedule, per iteration or per epoch.

    Example: ``dict(type='mmkd.DistillLossWeightHook', by_epoch=True,
    schedules=dict(london=dict(type='step', milestones=[0.6], values=[0.8, 0.2])))``.
    The value is a pure function of the runner's position, so resume restores it.
    """

    priority = 'NORMAL'

    def __init__(self, schedules: Dict[str, dict], by_epoch: bool = False) -> None:
        self.schedules = schedules
        self.by_epoch = by_epoch

    def before_train(self, runner) -> None:
        model = bare_model(runner)
        unknown = set(self.schedules) - set(model.loss_names)
        if unknown:
            raise KeyError(f'DistillLossWeightHook: no distillation loss named {sorted(unknown)};'
                           f' the config defines {sorted(model.loss_names)}')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        model = bare_model(runner)
        progress, total = ((runner.epoch, runner.max_epochs) if self.by_epoch
                           else (runner.iter, runner.max_iters))
        for name, schedule in self.schedules.items():
            value = scheduled_value(schedule, progress, total)
            model.set_loss_scale(name, value)
            runner.message_hub.update_scalar(f'train/distill.weight_{name}', value)
