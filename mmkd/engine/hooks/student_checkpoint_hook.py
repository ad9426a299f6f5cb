"""Write a student-only checkpoint beside every checkpoint the runner saves."""
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmkd.registry import HOOKS
from mmkd.utils.checkpoint import save_atomic, student_state
from .model_access import bare_model


def student_path(ckpt_path: str) -> str:
    """``work_dir/epoch_12.pth`` -> ``work_dir/epoch_12_student.pth``."""
    root, ext = osp.splitext(ckpt_path)
    return f'{root}_student{ext or ".pth"}'


@HOOKS.register_module()
class StudentCheckpointHook(Hook):
    """After each checkpoint, save ``<name>_student.pth``: the student's weights only,
    under ``state_dict`` with no prefix, ready for plain mmdet/mmseg/mmpretrain.

    Student files of checkpoints that the runner has since removed are removed too.
    """

    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self) -> None:
        self.written = {}  # source checkpoint -> student checkpoint

    def _sync(self, runner) -> None:
        if not is_main_process():
            return
        info = runner.message_hub.runtime_info
        sources = {v for k, v in info.items()
                   if (k == 'last_ckpt' or k.startswith('best_ckpt')) and isinstance(v, str)}
        for src in sources:
            if src not in self.written and osp.isfile(src):
                self.written[src] = self.save(runner, src)
        for src, dst in list(self.written.items()):
            if not osp.exists(src):
                if osp.exists(dst):
                    os.remove(dst)
                del self.written[src]

    def save(self, runner, src: str) -> str:
        model = bare_model(runner)
        state, _ = student_state(model.state_dict())
        meta = dict(source=osp.basename(src), epoch=runner.epoch, iter=runner.iter)
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        if hasattr(dataset, 'metainfo'):
            meta['dataset_meta'] = dataset.metainfo
        dst = student_path(src)
        save_atomic({'meta': meta, 'state_dict': {k: v.detach().cpu() for k, v in state.items()}},
                    dst)
        runner.logger.info(f'student-only checkpoint saved to {dst}')
        return dst

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._sync(runner)

    def after_train_epoch(self, runner) -> None:
        self._sync(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._sync(runner)
