"""MMEngine's Runner, with atomic checkpoints, safe checkpoint loading, dataset errors
that name the file, and its config formatted once."""
import os
import os.path as osp

from mmengine.dist import master_only
from mmengine.runner import Runner as MMEngineRunner

from mmkd.datasets.checks import find_dataset_problem
from mmkd.registry import RUNNERS
from mmkd.utils.checkpoint import register_safe_loader
from mmkd.utils.config_text import keep_formatted_config_text


@RUNNERS.register_module()
class Runner(MMEngineRunner):
    """Writes each checkpoint to a temporary name and renames it, so a run killed while
    saving never leaves a truncated ``epoch_N.pth`` for ``--resume`` to trip over.

    Datasets are checked for listed files that are missing before training starts, and a
    dataset that fails to build is examined to name the missing or malformed file. Local
    checkpoints (``load_from``, ``resume``) load through :func:`mmkd.utils.load_file`. The
    config's text is formatted once, not at each of its uses (:mod:`mmkd.utils.config_text`).
    ``tools/train.py`` and ``tools/test.py`` use it unless the config names another
    ``runner_type``.
    """

    def __init__(self, *args, **kwargs) -> None:
        register_safe_loader()
        keep_formatted_config_text()
        super().__init__(*args, **kwargs)

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        dataset = dataloader.get('dataset') if isinstance(dataloader, dict) else None
        try:
            built = MMEngineRunner.build_dataloader(dataloader, seed, diff_rank_seed)
        except Exception as err:
            problem = find_dataset_problem(dataset)
            if problem is None and 'need at least one array to concatenate' in str(err):
                problem = (f'the dataset {_describe(dataset)} has no samples left (an empty '
                           f'list, or every sample removed by its filter_cfg or classes)')
            if problem is None:
                raise
            raise FileNotFoundError(f'{problem} ({type(err).__name__}: {err})') from err
        problem = find_dataset_problem(dataset, parse=False)  # files read only when loading
        if problem:
            raise FileNotFoundError(problem)
        return built

    @master_only  # as MMEngine's: only rank 0 writes
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        local = '://' not in out_dir and (kwargs.get('backend_args') or {}).get('backend') in (
            None, 'local')
        if not local:
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        tmp = f'.{filename}.tmp.{os.getpid()}'
        try:
            super().save_checkpoint(out_dir, tmp, *args, **kwargs)
            os.replace(osp.join(out_dir, tmp), osp.join(out_dir, filename))
        finally:
            if osp.exists(osp.join(out_dir, tmp)):
                os.remove(osp.join(out_dir, tmp))


def _describe(dataset) -> str:
    """``type`` at ``data_root``/``ann_file`` of a dataset config (the inner one if wrapped)."""
    while isinstance(dataset, dict) and isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    if not isinstance(dataset, dict):
        return repr(dataset)
    return (f"{dataset.get('type')} at "
            f"{osp.join(dataset.get('data_root') or '', dataset.get('ann_file') or '')}")
