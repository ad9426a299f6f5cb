"""L2RKD's virtual samples: points on segments between pairs of inputs of a batch."""
from typing import Dict, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS


class SegmentMixer:
    """Mix each input with another of the batch: ``x~ = lam * x_i + (1 - lam) * x_perm(i)``.

    Args:
        mode: ``'mixup'`` (one ``lam`` per sample) or ``'patch'`` (the image is cut into
            ``grid x grid`` patches, each with its own ``lam``, shared across the batch,
            as in the authors' PE-BKD code).
        alpha: ``lam ~ Beta(alpha, alpha)``.
        prob: probability that a training step uses the mixed batch (distillation only,
            no labels) instead of the clean batch.
        grid: patches per side for ``'patch'``.

    Labels are never mixed: a mixed step has no label-based loss.
    """

    def __init__(self, mode: str = 'mixup', alpha: float = 1.0, prob: float = 0.7,
                 grid: int = 4) -> None:
        if mode not in ('mixup', 'patch'):
            raise ValueError(f"VirtualSampleStep: mode must be 'mixup' or 'patch', got {mode!r}")
        if not 0.0 <= prob <= 1.0 or alpha <= 0 or grid < 1:
            raise ValueError(f'VirtualSampleStep: need 0 <= prob <= 1, alpha > 0, grid >= 1; '
                             f'got prob={prob}, alpha={alpha}, grid={grid}')
        self.mode, self.alpha, self.prob, self.grid = mode, alpha, prob, grid
        self._beta = torch.distributions.Beta(torch.tensor(float(alpha)),
                                              torch.tensor(float(alpha)))

    def use_mixed(self) -> bool:
        return bool(torch.rand(()) < self.prob)

    def draw(self, batch: int) -> Tuple[Tensor, Tensor]:
        """A permutation of the batch and the mixing weights (a (B,1,1,1) or (1,1,g,g) map)."""
        perm = torch.randperm(batch)
        shape = (batch, 1, 1, 1) if self.mode == 'mixup' else (1, 1, self.grid, self.grid)
        return perm, self._beta.sample(shape)

    @staticmethod
    def mix(x: Tensor, perm: Tensor, lam: Tensor) -> Tensor:
        lam = lam.to(x)
        if lam.shape[-1] > 1:
            lam = F.interpolate(lam, size=x.shape[-2:], mode='nearest')
        return lam * x + (1 - lam) * x[perm.to(x.device)]

    def __call__(self, x: Tensor, y: Union[Tensor, Dict[str, Tensor], None] = None):
        """Mix ``x`` (and ``y``, the teachers' own inputs: one batch or ``{name: batch}``,
        with the same pairs and weights)."""
        perm, lam = self.draw(x.shape[0])
        if y is None:
            return self.mix(x, perm, lam), None
        if isinstance(y, dict):
            return self.mix(x, perm, lam), {k: self.mix(v, perm, lam) for k, v in y.items()}
        return self.mix(x, perm, lam), self.mix(y, perm, lam)


@MODELS.register_module()
class VirtualSampleStep:
    """L2RKD's training step: with probability ``prob``, distil on virtual samples only.

    Such a step mixes the batch (:class:`SegmentMixer`, the teachers' own inputs with the
    same pairs and weights), runs the networks only as far as their taps, and returns the
    distillation terms with no label loss. Other steps are the Distiller's usual ones.
    Configure it as ``Distiller(step=dict(type='VirtualSampleStep', mode=..., alpha=...,
    prob=..., grid=...))``; the arguments are :class:`SegmentMixer`'s.
    """

    label_free = True  # losses that read ground truth cannot run on its steps

    def __init__(self, **mixer) -> None:
        self.mixer = SegmentMixer(**mixer)

    def applies(self) -> bool:
        """Whether this step is a virtual-sample step (drawn once per step)."""
        return self.mixer.use_mixed()

    def __call__(self, distiller, inputs: Tensor, data_samples,
                 teacher_inputs: Union[Tensor, Dict[str, Tensor], None] = None
                 ) -> Dict[str, Tensor]:
        mixed, teacher_mixed = self.mixer(inputs, teacher_inputs)
        teachers = distiller.run_teachers(mixed, data_samples, teacher_mixed)
        student = distiller.student_to_taps(mixed, data_samples)
        # Parameters past the taps get a zero gradient, so distributed sync stays consistent.
        unused = sum((p.sum() for p in distiller.student.parameters() if p.requires_grad),
                     mixed.new_zeros(())) * 0.0
        return distiller.add_distill_terms({'loss_student': unused}, student, teachers,
                                           data_samples)
