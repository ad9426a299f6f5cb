"""ICD: Invariant Consistency Distillation (arXiv 2407.11802 v1).

Both pooled penultimate features are projected to a shared ``embed_dim`` space and
L2-normalised; a student/teacher similarity matrix over the batch is trained with an
in-batch contrastive loss (the matching teacher sample is the positive) plus a KL term that
asks the row-wise (student -> teachers) and column-wise (teacher -> students) distributions
to agree. Formulas and defaults follow the reference code (``giakoumoglou/distillers``).
"""
from typing import Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss


def _pooled(x: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, C) by global average pooling; (N, C) unchanged."""
    return x.mean(dim=(2, 3)) if x.dim() == 4 else x


def _gather_rows(z: Tensor) -> Tuple[Tensor, int]:
    """Concatenate ``z`` from every rank (rank order) with gradient; also return the offset
    of this rank's rows. Ranks may hold different batch sizes (rows are padded to the
    largest for the collective and the padding is dropped)."""
    world, rank = dist.get_world_size(), dist.get_rank()
    size = torch.tensor([z.shape[0]], device=z.device, dtype=torch.long)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = [int(s.item()) for s in sizes]
    longest = max(sizes)
    padded = F.pad(z, (0, 0, 0, longest - z.shape[0])) if z.shape[0] < longest else z
    from torch.distributed.nn.functional import all_gather  # with gradient
    parts = all_gather(padded)
    return torch.cat([p[:n] for p, n in zip(parts, sizes)]), sum(sizes[:rank])


def _drop_logit_bias(state_dict, prefix, *args) -> None:
    """Checkpoints written before the no-op bias was removed hold ``logit_bias``."""
    state_dict.pop(prefix + 'logit_bias', None)


@MODELS.register_module()
class ICDLoss(PerLevelLoss):
    """Invariant Consistency Distillation loss: ``L_con + inv_weight * L_inv``.

    With ``z_s = normalize(W_s f_s)``, ``z_t = normalize(W_t f_t)`` (trainable
    ``nn.Linear(C -> embed_dim)`` each, the teacher's projection included, as in the
    reference; the teacher *feature* is detached), ``tau = min(exp(t), max_logit_scale)``
    and ``S = tau * z_s z_t^T`` (B x B):

    - ``L_con = CE(S, arange(B))`` (mean over rows);
    - ``L_inv = KL(p2 || p1)`` with ``p1 = log_softmax(S, dim=1)``,
      ``p2 = softmax(S, dim=0)^T`` and batchmean reduction, i.e.
      ``sum_ij p2_ij (log p2_ij - p1_ij) / B``: row ``i`` compares sample ``i``'s column
      distribution (teacher ``i`` over students) with its row distribution (student ``i``
      over teachers). ``p2`` is not detached (as in the reference).

    Args:
        in_channels_s / in_channels_t: feature channels of the student / teacher. Features
            are (N, C) or (N, C, H, W) (the latter global-average-pooled).
        embed_dim: the shared projection dimension (128 in the reference).
        init_logit_scale: the initial value of the learnable *log*-scale ``t``: the scale
            is ``exp(t)``, so the default 1.0 starts at ``tau = e`` (as the reference,
            whose ``init_tau=1.0`` is passed through ``.exp()``).
        max_logit_scale: the cap on ``exp(t)`` (10). Above it the gradient to ``t`` is 0.
        inv_weight: the weight of ``L_inv`` (0.5).
        gather: when ``torch.distributed`` is initialised with world size > 1, all-gather
            ``z_s`` and ``z_t`` (with gradient) from every rank, build ``S`` over the
            global batch (G x G) and keep this rank's rows ``[o, o + B)``; the CE labels are
            ``o + arange(B)``, the column softmax of ``p2`` runs over all G students, and
            both terms are averaged over this rank's B rows. The mean of the rank losses
            (what DDP's gradient averaging optimises) is then exactly the single-process
            loss on the concatenated batch when ranks hold equal batches. Without an
            initialised process group (or with one rank) it is the plain in-batch loss.
        loss_weight: multiplies the whole loss.

    The reference also adds a learnable bias to ``S``; a constant added to every logit
    changes neither softmax, so it is left out (checkpoints that hold it still load).
    """

    same_shape = False

    def __init__(self,
                 in_channels_s: int,
                 in_channels_t: int,
                 embed_dim: int = 128,
                 init_logit_scale: float = 1.0,
                 max_logit_scale: float = 10.0,
                 inv_weight: float = 0.5,
                 gather: bool = False,
                 loss_weight: float = 1.0, level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        self.in_channels_s = in_channels_s
        self.in_channels_t = in_channels_t
        self.embed_s = nn.Linear(in_channels_s, embed_dim)
        self.embed_t = nn.Linear(in_channels_t, embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(float(init_logit_scale)))
        self._register_load_state_dict_pre_hook(_drop_logit_bias)
        self.max_logit_scale = max_logit_scale
        self.inv_weight = inv_weight
        self.gather = gather

    def scale(self) -> Tensor:
        """``tau = min(exp(t), max_logit_scale)``."""
        return self.logit_scale.exp().clamp(max=self.max_logit_scale)

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        if not isinstance(student, Tensor) or not isinstance(teacher, Tensor):
            raise ValueError('ICDLoss takes one student and one teacher tensor per level, got '
                             f'{type(student).__name__} and {type(teacher).__name__}')
        for x, channels in ((student, self.in_channels_s), (teacher, self.in_channels_t)):
            if x.dim() not in (2, 4) or x.shape[1] != channels:
                raise ValueError(
                    f'ICDLoss expects (N, C) or (N, C, H, W) features with '
                    f'C = in_channels_s = {self.in_channels_s} for the student and '
                    f'C = in_channels_t = {self.in_channels_t} for the teacher: got student '
                    f'{tuple(student.shape)}, teacher {tuple(teacher.shape)}')
        if student.shape[0] != teacher.shape[0]:
            raise ValueError(f'ICDLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} have different batch sizes')
        f_s, f_t = _pooled(student), _pooled(teacher)
        z_s = F.normalize(self.embed_s(f_s), dim=1)
        z_t = F.normalize(self.embed_t(f_t), dim=1)
        rows, offset = z_s.shape[0], 0
        if (self.gather and dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1):
            z_s, offset = _gather_rows(z_s)
            z_t, _ = _gather_rows(z_t)
        logits = self.scale() * z_s @ z_t.t()  # G x G (G = B locally)
        mine = slice(offset, offset + rows)
        labels = torch.arange(offset, offset + rows, device=logits.device)
        log_p1 = F.log_softmax(logits[mine], dim=1)  # this rank's rows, over all teachers
        p2 = F.softmax(logits, dim=0).t()[mine]      # columns over all students, transposed
        l_con = F.nll_loss(log_p1, labels)
        l_inv = F.kl_div(log_p1, p2, reduction='sum') / rows  # batchmean over own rows
        return l_con + self.inv_weight * l_inv
