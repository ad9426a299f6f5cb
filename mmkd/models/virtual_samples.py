"""L2RKD's virtual samples: points on segments between pairs of inputs of a batch."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


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
            raise ValueError(f"virtual_samples mode must be 'mixup' or 'patch', got {mode!r}")
        if not 0.0 <= prob <= 1.0 or alpha <= 0 or grid < 1:
            raise ValueError(f'virtual_samples: need 0 <= prob <= 1, alpha > 0, grid >= 1; '
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

    def __call__(self, x: Tensor, y: Optional[Tensor] = None):
        """Mix ``x`` (and ``y``, the teacher's own inputs, with the same pairs and weights)."""
        perm, lam = self.draw(x.shape[0])
        if y is None:
            return self.mix(x, perm, lam), None
        return self.mix(x, perm, lam), self.mix(y, perm, lam)
