"""FGD: focal and global distillation for detectors."""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillContext, LevelWeights, PerLevelLoss
from .feature_parts import align_convs, aligned_student


def box_cells(boxes: Tensor, input_shape: Sequence[int], size: Sequence[int]
              ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Rows ``[r0, r1)`` and columns ``[c0, c1)`` of the cells of an ``(H, W)`` level that
    each box ``(x1, y1, x2, y2)`` (input pixels; the level covers ``input_shape``) overlaps:
    the box scaled to the level, ``floor`` of its start and ``ceil`` of its end, clipped to
    the map and at least one cell wide."""
    (h_in, w_in), (h, w) = input_shape, size
    boxes = boxes.float().reshape(-1, 4)
    x1, y1 = boxes[:, 0] * (w / w_in), boxes[:, 1] * (h / h_in)
    x2, y2 = boxes[:, 2] * (w / w_in), boxes[:, 3] * (h / h_in)
    c0 = x1.floor().clamp(0, w - 1)
    r0 = y1.floor().clamp(0, h - 1)
    c1 = torch.maximum(x2.ceil().clamp(max=w), c0 + 1)
    r1 = torch.maximum(y2.ceil().clamp(max=h), r0 + 1)
    return r0, r1, c0, c1


def fgd_masks(boxes: Sequence[Tensor], input_shapes: Sequence[Sequence[int]],
              size: Sequence[int], device=None) -> Tuple[Tensor, Tensor]:
    """FGD's foreground and background scale masks, ``(N, H, W)`` each.

    Foreground cell: ``1 / (H_r * W_r)`` of the smallest box ``r`` covering it (its size in
    cells, :func:`box_cells`); background cell (no box): ``1 / N_bg``, ``N_bg`` the number
    of background cells of the image.
    """
    h, w = size
    ys = torch.arange(h, device=device, dtype=torch.float32)[None, :, None]
    xs = torch.arange(w, device=device, dtype=torch.float32)[None, None, :]
    fgs, bgs = [], []
    for img_boxes, input_shape in zip(boxes, input_shapes):
        fg = torch.zeros(h, w, device=device)
        if len(img_boxes):
            r0, r1, c0, c1 = (v.to(device)[:, None, None]
                              for v in box_cells(img_boxes, input_shape, size))
            inside = (ys >= r0) & (ys < r1) & (xs >= c0) & (xs < c1)
            scale = 1.0 / ((r1 - r0) * (c1 - c0))
            fg = (inside * scale).amax(dim=0)
        bg = (fg == 0).float()
        fgs.append(fg)
        bgs.append(bg / bg.sum().clamp(min=1))
    return torch.stack(fgs), torch.stack(bgs)


def fgd_attention(feat: Tensor, temperature: float) -> Tuple[Tensor, Tensor]:
    """Spatial ``(N, H, W)`` and channel ``(N, C)`` attention of a feature:
    ``H W softmax(mean_c |F| / T)`` and ``C softmax(mean_hw |F| / T)``."""
    n, c, h, w = feat.shape
    value = feat.abs()
    spatial = h * w * F.softmax(value.mean(dim=1).reshape(n, -1) / temperature, dim=1)
    channel = c * F.softmax(value.mean(dim=(2, 3)) / temperature, dim=1)
    return spatial.reshape(n, h, w), channel


class GlobalContext(nn.Module):
    """A GcBlock (Cao et al., GCNet): ``F + W2(ReLU(LN(W1(sum_j softmax_j(Wk F) F_j))))``,
    the context pooled with a learned spatial softmax. ``W2`` starts at zero (identity)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(channels // 2, 1)
        self.mask = nn.Conv2d(channels, 1, 1)
        self.transform = nn.Sequential(nn.Conv2d(channels, hidden, 1),
                                       nn.LayerNorm([hidden, 1, 1]), nn.ReLU(),
                                       nn.Conv2d(hidden, channels, 1))
        nn.init.kaiming_normal_(self.mask.weight, mode='fan_in', nonlinearity='relu')
        nn.init.zeros_(self.mask.bias)
        nn.init.zeros_(self.transform[-1].weight)
        nn.init.zeros_(self.transform[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        weights = F.softmax(self.mask(x).reshape(n, 1, h * w), dim=2)
        context = (x.reshape(n, c, h * w) * weights).sum(dim=2).reshape(n, c, 1, 1)
        return x + self.transform(context)


@MODELS.register_module()
class FGDLoss(PerLevelLoss):
    """FGD (Yang et al., "Focal and Global Knowledge Distillation for Detectors", CVPR 2022).

    With the teacher's attention ``A^S = H W softmax(mean_c |T| / tau)`` (spatial) and
    ``A^C = C softmax(mean_hw |T| / tau)`` (channel), the binary foreground mask ``M``
    (cells a GT box overlaps), and the scale mask ``S`` (``1 / (H_r W_r)`` in box ``r``,
    the smallest box where boxes overlap; ``1 / N_bg`` on background cells)::

        L_fea = alpha * sum M S A^S A^C (T - f(S))^2 + beta * sum (1-M) S A^S A^C (T - f(S))^2
        L_at  = gamma * (|A^S_t - A^S_s|_1 + |A^C_t - A^C_s|_1)
        L_glb = lambda * sum (R_t(T) - R_s(f(S)))^2
        L = (L_fea + L_at + L_glb) / N

    summed over channels and cells, divided by the batch size ``N`` (as the authors' code).
    ``f`` is a 1x1 align conv when the widths differ; ``R_s``, ``R_t`` are two GcBlocks
    (:class:`GlobalContext`), one on each feature. ``f``, ``R_s`` and ``R_t`` are trainable
    parts of the loss, one set per level. Boxes (``gt_instances.bboxes``, input pixels) are
    scaled to the level by the ratio of its size to ``batch_input_shape``.

    Differences from the authors' code: their masks index the map as ``[x, y]`` and scale
    boxes by ``img_shape`` (not the padded input the map covers), and count ``ceil(x2)`` as
    one more cell; here a box covers exactly the cells it overlaps, in ``[y, x]`` order.

    Defaults: the authors' RetinaNet / GFL configs (anchor-based one-stage): ``alpha=1e-3,
    beta=5e-4, gamma=5e-4, lambda=5e-6, tau=0.5`` (their loss class's own default gamma is
    1e-3). Two-stage (Faster R-CNN) configs: ``alpha=5e-5, beta=2.5e-5, gamma=5e-5,
    lambda=5e-7``.

    Args:
        student_channels, teacher_channels: widths of the two features.
        tau: attention temperature.
        alpha_fgd, beta_fgd, gamma_fgd, lambda_fgd: weights of the foreground, background,
            attention and global terms.
        num_levels: how many levels the taps give (one align conv and GcBlock pair each).
        loss_weight, level_weights: as for every :class:`PerLevelLoss`.
    """

    reads = ('gt_instances', 'batch_input_shape')

    def __init__(self, student_channels: int, teacher_channels: int, tau: float = 0.5,
                 alpha_fgd: float = 1e-3, beta_fgd: float = 5e-4, gamma_fgd: float = 5e-4,
                 lambda_fgd: float = 5e-6, num_levels: int = 1, loss_weight: float = 1.0,
                 level_weights: LevelWeights = None) -> None:
        super().__init__(loss_weight, level_weights)
        self.student_channels, self.teacher_channels = student_channels, teacher_channels
        self.tau, self.num_levels = tau, num_levels
        self.alpha_fgd, self.beta_fgd = alpha_fgd, beta_fgd
        self.gamma_fgd, self.lambda_fgd = gamma_fgd, lambda_fgd
        self.same_shape = student_channels == teacher_channels
        self.align = align_convs(student_channels, teacher_channels, num_levels)
        self.context_s = nn.ModuleList(GlobalContext(teacher_channels)
                                       for _ in range(num_levels))
        self.context_t = nn.ModuleList(GlobalContext(teacher_channels)
                                       for _ in range(num_levels))

    def compute(self, student: Tensor, teacher: Tensor, ctx: DistillContext) -> Tensor:
        student = aligned_student(self, student, teacher, ctx, 'align conv and GcBlock pair')
        n, _, h, w = teacher.shape
        instances = ctx.field('gt_instances')
        input_shapes = ctx.field('batch_input_shape')
        if len(instances) != n:
            raise ValueError(f'FGDLoss (loss {ctx.name!r}): {len(instances)} gt_instances for '
                             f'a batch of {n}: student {tuple(student.shape)}, teacher '
                             f'{tuple(teacher.shape)}')
        fg, bg = fgd_masks([i.bboxes for i in instances], input_shapes, (h, w), teacher.device)

        spatial_t, channel_t = fgd_attention(teacher, self.tau)
        spatial_s, channel_s = fgd_attention(student, self.tau)
        weighted = (student - teacher) ** 2 * spatial_t[:, None] * channel_t[:, :, None, None]
        fg_loss = (weighted * fg[:, None]).sum()
        bg_loss = (weighted * bg[:, None]).sum()
        at_loss = (channel_s - channel_t).abs().sum() + (spatial_s - spatial_t).abs().sum()
        global_s = self.context_s[ctx.level](student)
        global_t = self.context_t[ctx.level](teacher)
        global_loss = ((global_s - global_t) ** 2).sum()
        return (self.alpha_fgd * fg_loss + self.beta_fgd * bg_loss + self.gamma_fgd * at_loss
                + self.lambda_fgd * global_loss) / n
