"""Keep the checkpoints the runner writes loadable with ``weights_only=True``."""
from mmengine.hooks import Hook

from mmkd.registry import HOOKS
from mmkd.utils.checkpoint import make_weights_only_clean, restore_message_hub


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Store numpy values and log histories as tensors and plain numbers on save.

    MMEngine's message hub keeps numpy arrays, whose pickles call ``getattr``; a file
    holding them cannot be loaded safely. This hook rewrites them before saving and
    rebuilds the message hub after loading, so resume restores the same log state.
    """

    priority = 'LOWEST'  # after every hook that adds to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        make_weights_only_clean(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        restore_message_hub(checkpoint)
