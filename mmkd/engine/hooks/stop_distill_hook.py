"""Stop distilling at a given epoch or iteration; the student trains on alone."""
from typing import Optional

from mmengine.hooks import Hook

from mmkd.registry import HOOKS
from .model_access import bare_model


@HOOKS.register_module()
class StopDistillHook(Hook):
    """From ``stop_epoch`` (or ``stop_iter``) on, skip the teacher and distillation losses.

    The flag is recomputed from the runner's position every iteration, so resume restores it.
    """

    def __init__(self, stop_epoch: Optional[int] = None, stop_iter: Optional[int] = None) -> None:
        if (stop_epoch is None) == (stop_iter is None):
            raise ValueError('StopDistillHook needs exactly one of stop_epoch, stop_iter')
        self.stop_epoch, self.stop_iter = stop_epoch, stop_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        model = bare_model(runner)
        stopped = (runner.epoch >= self.stop_epoch if self.stop_epoch is not None
                   else runner.iter >= self.stop_iter)
        if model.set_distillation(not stopped):
            runner.logger.info(f'distillation {"stopped" if stopped else "running"} at '
                               f'epoch {runner.epoch}, iteration {runner.iter}')
