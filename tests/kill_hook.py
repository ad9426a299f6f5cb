"""A hook for reliability tests: one rank dies abruptly at a given iteration."""
import os

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DieAtIterHook(Hook):
    """``os._exit`` on ``rank`` when iteration ``iter`` starts (simulates a crashed process)."""

    def __init__(self, rank: int = 1, iter: int = 2) -> None:
        self.rank, self.iter = rank, iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if get_rank() == self.rank and runner.iter == self.iter:
            os._exit(3)
