"""Log the per-stage Lipschitz estimates of the teacher and the student during training."""
from mmengine.hooks import Hook

from mmkd.registry import HOOKS
from .model_access import bare_model


@HOOKS.register_module()
class LipschitzMonitorHook(Hook):
    """After each iteration, log ``lipschitz.<loss>.{student,teacher}_<pair>`` (batch means).

    Reads the estimates every :class:`~mmkd.models.losses.LipschitzLoss` of the distiller
    computed in that iteration, so watching them costs nothing extra. Plot them with
    ``tools/analysis/plot_lipschitz.py``.
    """

    priority = 'NORMAL'  # before the logger hook (BELOW_NORMAL)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        model = bare_model(runner)
        for name, loss in getattr(model, 'distill_losses', {}).items():
            sigmas = loss.last_stats
            if not sigmas:
                continue
            for role in ('student', 'teacher'):
                for i, value in enumerate(sigmas[role]):
                    runner.message_hub.update_scalar(
                        f'train/lipschitz.{name}.{role}_{i}', float(value))
            loss.last_stats = None
