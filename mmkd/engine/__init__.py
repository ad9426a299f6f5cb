from .dist import DistributedDataParallel, close_dist, init_cpu_dist
from .hooks import *  # noqa: F401,F403
from .runner import Runner
from .runner_setup import prepare_cfg
from .student_export import export_student, plain_student_cfg

__all__ = ['DistributedDataParallel', 'Runner', 'close_dist', 'export_student', 'init_cpu_dist',
           'plain_student_cfg', 'prepare_cfg']
