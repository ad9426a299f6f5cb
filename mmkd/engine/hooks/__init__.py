from .lipschitz_monitor_hook import LipschitzMonitorHook
from .loss_weight_hook import DistillLossWeightHook
from .model_access import bare_model
from .safe_checkpoint_hook import SafeCheckpointHook
from .stop_distill_hook import StopDistillHook
from .student_checkpoint_hook import StudentCheckpointHook

__all__ = ['DistillLossWeightHook', 'LipschitzMonitorHook', 'SafeCheckpointHook',
           'StopDistillHook', 'StudentCheckpointHook', 'bare_model']
