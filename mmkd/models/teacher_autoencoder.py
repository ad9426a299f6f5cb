"""IE-KD stage 1: train an auto-encoder on a frozen teacher's feature."""
from typing import Dict, Optional, Union

import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

from mmkd.registry import MODELS
from .autoencoder import FactorAutoEncoder
from .frozen_teacher import FrozenTeacher

RECON = ('l1', 'l2')


@MODELS.register_module()
class TeacherAutoEncoder(BaseModel):
    """Learn IE-KD's teacher factor: an auto-encoder on one teacher feature.

    The teacher is frozen (eval mode, no gradient) and runs only as far as ``tap``.
    The runner's checkpoint keeps the auto-encoder as ``autoencoder.encoder.*`` and
    ``autoencoder.decoder.*``; stage 2 (:class:`~mmkd.models.losses.IEKDLoss`) reads the
    encoder from it.

    Args:
        teacher: the teacher model (dict, config path, or ``dict(cfg_path=..., **overrides)``).
        teacher_ckpt: the teacher's trained weights (required).
        tap: the teacher feature, e.g. ``'backbone.layer3'`` (see :mod:`mmkd.models.taps`).
        autoencoder: arguments of :class:`FactorAutoEncoder`.
        recon: reconstruction loss, ``'l1'`` (mean absolute error, the reference code's) or
            ``'l2'`` (mean squared error, the paper's squared L2 up to normalisation).
        loss_weight: multiplier of the reconstruction loss.
        teacher_mode: the teacher's forward mode (``'tensor'`` avoids its loss path).
        data_preprocessor: the running config's top-level one (the Runner passes it),
            merged into the teacher's as the Distiller does for its student.

    It trains on one teacher. For an ``IEKDLoss`` entry of a Distiller with several
    teachers, give here the model and checkpoint of the teacher that entry's
    ``teacher_name`` names (``teachers=`` is refused).
    """

    def __init__(self,
                 teacher: Union[str, dict],
                 teacher_ckpt: str,
                 tap: str,
                 autoencoder: Optional[dict] = None,
                 recon: str = 'l1',
                 loss_weight: float = 1.0,
                 teacher_mode: str = 'tensor',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 teachers: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if teachers is not None:
            raise ValueError(f'TeacherAutoEncoder trains on one teacher: give `teacher=` and '
                             f'`teacher_ckpt=` of the teacher whose feature IEKDLoss reads (the '
                             f'one its teacher_name names), not teachers={list(teachers)}')
        if recon not in RECON:
            raise ValueError(f'recon must be one of {RECON}, got {recon!r}')
        if not isinstance(tap, str):
            raise TypeError(f'tap must be one module path string, got {tap!r}')
        self.teacher = FrozenTeacher(teacher, teacher_ckpt, [tap], mode=teacher_mode,
                                     data_preprocessor=data_preprocessor,
                                     owner='TeacherAutoEncoder')
        self.data_preprocessor = self.teacher.model.data_preprocessor
        self.tap = tap
        self.autoencoder = FactorAutoEncoder(**dict(autoencoder or {}))
        self.recon = recon
        self.loss_weight = loss_weight

    def init_weights(self) -> None:
        """Nothing to do: the teacher keeps its checkpoint, the auto-encoder its
        construction-time (PyTorch default) init."""

    def teacher_feature(self, inputs: Tensor, data_samples=None) -> Tensor:
        """Run the teacher without gradient up to ``tap`` and return the feature."""
        feature = self.teacher(inputs, data_samples)[self.tap]
        if not isinstance(feature, Tensor) or feature.dim() != 4:
            raise ValueError(f'teacher tap {self.tap!r} must give one (N, C, H, W) tensor; got '
                             f'{type(feature).__name__}'
                             f'{tuple(feature.shape) if isinstance(feature, Tensor) else ""}')
        expected = self.autoencoder.encoder.in_channels
        if feature.shape[1] != expected:
            raise ValueError(f'teacher tap {self.tap!r} has {feature.shape[1]} channels but '
                             f'autoencoder.in_channels is {expected}')
        return feature.detach().float()

    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.autoencoder(self.teacher_feature(inputs, data_samples))
        if mode == 'predict':
            raise NotImplementedError(
                'TeacherAutoEncoder (IE-KD stage 1) has no predictions to evaluate: set '
                'val_cfg/val_dataloader/val_evaluator and test_* to None in its config')
        raise ValueError(f'unknown mode {mode!r}; use "loss" or "tensor"')

    def loss(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        feature = self.teacher_feature(inputs, data_samples)
        _, recon = self.autoencoder(feature)
        if self.recon == 'l1':
            loss = F.l1_loss(recon, feature)
        else:
            loss = F.mse_loss(recon, feature)
        return {'loss_recon': loss * self.loss_weight}
