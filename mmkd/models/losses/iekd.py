"""IE-KD stage 2: inheritance and exploration losses (Huang et al., CVPR 2021)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from mmkd.utils.checkpoint import load_file, state_dict_of
from ..autoencoder import FactorEncoder
from .base import DistillContext, LevelWeights, PerLevelLoss

SPLITS = ('natural', 'random')
DISTANCES = ('factor_transfer', 'l2', 'cosine')
PREFIXES = ('autoencoder.encoder.', 'encoder.')


def factor_distance(a: Tensor, b: Tensor, distance: str = 'factor_transfer') -> Tensor:
    """Distance between two batches of factors, each flattened per sample.

    - ``'factor_transfer'``: ``mean(|a/||a|| - b/||b|| |)`` (L2-normalised per sample, mean
      over batch and elements), the form of IE-KD's reference configuration;
    - ``'l2'``: the same with squared differences (the p = 2 form);
    - ``'cosine'``: ``mean(1 - cos(a, b))`` over the batch.
    """
    a = a.flatten(1)
    b = b.flatten(1)
    if distance == 'cosine':
        return (1 - F.cosine_similarity(a, b, dim=1, eps=1e-8)).mean()
    diff = F.normalize(a, dim=1, eps=1e-12) - F.normalize(b, dim=1, eps=1e-12)
    return diff.abs().mean() if distance == 'factor_transfer' else diff.pow(2).mean()


def _match_spatial(a: Tensor, b: Tensor):
    """Adaptive-average-pool the larger spatial size to the smaller (per dimension)."""
    size = (min(a.shape[2], b.shape[2]), min(a.shape[3], b.shape[3]))
    if tuple(a.shape[2:]) != size:
        a = F.adaptive_avg_pool2d(a, size)
    if tuple(b.shape[2:]) != size:
        b = F.adaptive_avg_pool2d(b, size)
    return a, b


@MODELS.register_module()
class IEKDLoss(PerLevelLoss):
    """Inheritance and exploration: half of the student feature imitates the teacher's
    factor, the other half is pushed away from it.

    The student feature (``in_channels`` channels) is split along channels into an
    inheritance part and an exploration part: the first and second halves (``'natural'``),
    or the halves of a fixed permutation drawn from ``seed`` (``'random'``; kept as the
    buffer ``perm`` so that checkpoints carry it). Each part has its own trainable
    :class:`FactorEncoder` to ``factor_channels``. The teacher factor ``F_T = E_T(f_T)``
    comes from the frozen encoder of IE-KD stage 1 (:class:`TeacherAutoEncoder`), read from
    ``autoencoder_ckpt`` (keys ``autoencoder.encoder.*``, or ``encoder.*``). ::

        loss = w_inh * d(F_inh, F_T) - w_exp * d(F_exp, F_T)

    If student and teacher factors differ in spatial size, the larger is
    adaptive-average-pooled to the smaller (per dimension).

    Args:
        autoencoder_ckpt: the stage-1 checkpoint.
        in_channels: channels of the student feature (even).
        teacher_channels: channels of the teacher feature (the auto-encoder's input).
        factor_channels: channels of the factors (the stage-1 ``factor_channels``).
        split: ``'natural'`` or ``'random'``.
        seed: seed of the ``'random'`` permutation.
        distance: ``'factor_transfer'`` (reference), ``'l2'`` or ``'cosine'``
            (see :func:`factor_distance`).
        w_inh, w_exp: weights of the inheritance and exploration terms.
        teacher_hidden_channels: the stage-1 ``hidden_channels`` (default: ``teacher_channels``).
        student_hidden_channels: hidden channels of the student encoders
            (default: ``in_channels // 2``).
        loss_weight: multiplier of the total.
    """

    same_shape = False

    def __init__(self,
                 autoencoder_ckpt: str,
                 in_channels: int,
                 teacher_channels: int,
                 factor_channels: int = 32,
                 split: str = 'natural',
                 seed: int = 0,
                 distance: str = 'factor_transfer',
                 w_inh: float = 1.0,
                 w_exp: float = 1.0,
                 teacher_hidden_channels: Optional[int] = None,
                 student_hidden_channels: Optional[int] = None,
                 loss_weight: float = 1.0, level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if distance not in DISTANCES:
            raise ValueError(f'distance must be one of {DISTANCES}, got {distance!r}')
        if not isinstance(in_channels, int) or in_channels < 2 or in_channels % 2:
            raise ValueError(f'in_channels must be an even int >= 2 (it is split in halves), '
                             f'got {in_channels!r}')
        self.in_channels = in_channels
        self.teacher_channels = teacher_channels
        self.split = split
        self.distance = distance
        self.w_inh = w_inh
        self.w_exp = w_exp
        half = in_channels // 2
        if split == 'random':
            generator = torch.Generator().manual_seed(seed)
            perm = torch.randperm(in_channels, generator=generator)
        else:
            perm = torch.arange(in_channels)
        self.register_buffer('perm', perm)
        self.inherit_encoder = FactorEncoder(half, factor_channels, student_hidden_channels)
        self.explore_encoder = FactorEncoder(half, factor_channels, student_hidden_channels)
        self.teacher_encoder = FactorEncoder(teacher_channels, factor_channels,
                                             teacher_hidden_channels)
        self.autoencoder_ckpt = autoencoder_ckpt
        self._load_teacher_encoder(autoencoder_ckpt)
        self.teacher_encoder.requires_grad_(False)
        self.teacher_encoder.eval()

    def _load_teacher_encoder(self, path: str) -> None:
        if not path:
            raise ValueError('IEKDLoss needs `autoencoder_ckpt`: the checkpoint of IE-KD stage 1 '
                             '(configs/iekd/*_ae_stage1.py)')
        try:
            checkpoint = load_file(path)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'IE-KD auto-encoder checkpoint not found: {path} (train IE-KD stage 1 first, '
                f'e.g. configs/iekd/*_ae_stage1.py, and point autoencoder_ckpt at its '
                f'checkpoint)') from None
        state = state_dict_of(checkpoint, path)
        prefix = next((p for p in PREFIXES if any(k.startswith(p) for k in state)), None)
        own = self.teacher_encoder.state_dict()
        if prefix is None:
            raise ValueError(
                f'IE-KD auto-encoder checkpoint {path} holds no encoder weights (no key starts '
                f'with {" or ".join(PREFIXES)}; first keys: {list(state)[:5]})')
        found = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        missing = [k for k in own if k not in found]
        unexpected = [k for k in found if k not in own]
        misshapen = [f'{prefix}{k}: file {tuple(found[k].shape)} vs model {tuple(own[k].shape)}'
                     for k in own if k in found and found[k].shape != own[k].shape]
        if missing or unexpected or misshapen:
            raise ValueError(
                f'IE-KD auto-encoder checkpoint {path} does not fit the teacher encoder '
                f'(teacher_channels={self.teacher_channels}, factor_channels='
                f'{self.teacher_encoder.factor_channels}, hidden_channels='
                f'{self.teacher_encoder.hidden_channels}): {len(missing)} missing keys (first: '
                f'{[prefix + k for k in missing[:5]]}), {len(unexpected)} unexpected keys '
                f'(first: {[prefix + k for k in unexpected[:5]]}), {len(misshapen)} shape '
                f'mismatches (first: {misshapen[:3]})')
        self.teacher_encoder.load_state_dict(found, strict=True)

    def train(self, mode: bool = True) -> 'IEKDLoss':
        super().train(mode)
        self.teacher_encoder.eval()  # frozen: its BN statistics stay those of stage 1
        return self

    def split_feature(self, student: Tensor):
        """The inheritance and exploration parts of the student feature."""
        if student.dim() != 4 or student.shape[1] != self.in_channels:
            raise ValueError(f'IEKDLoss expects a (N, {self.in_channels}, H, W) student feature '
                             f'(in_channels={self.in_channels}), got {tuple(student.shape)}')
        half = self.in_channels // 2
        if self.split == 'random':
            student = student.index_select(1, self.perm)
        return student[:, :half], student[:, half:]

    def teacher_factor(self, teacher: Tensor) -> Tensor:
        if teacher.dim() != 4 or teacher.shape[1] != self.teacher_channels:
            raise ValueError(f'IEKDLoss expects a (N, {self.teacher_channels}, H, W) teacher '
                             f'feature (teacher_channels={self.teacher_channels}), got '
                             f'{tuple(teacher.shape)}')
        with torch.no_grad():
            return self.teacher_encoder(teacher.detach())

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        inherit, explore = self.split_feature(student)
        factor_t = self.teacher_factor(teacher)
        factor_inh = self.inherit_encoder(inherit)
        factor_exp = self.explore_encoder(explore)
        f_inh, t_inh = _match_spatial(factor_inh, factor_t)
        f_exp, t_exp = _match_spatial(factor_exp, factor_t)
        loss_inh = factor_distance(f_inh, t_inh, self.distance)
        loss_exp = -factor_distance(f_exp, t_exp, self.distance)
        return self.w_inh * loss_inh + self.w_exp * loss_exp
