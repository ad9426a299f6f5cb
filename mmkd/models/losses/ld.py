"""LD: localization distillation of a GFL head's box-edge distributions."""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillContext, DistillLoss

REGIONS = ('positive', 'gt_center', 'all')


def head_levels(value, part: int) -> List[Tensor]:
    """Per-level tensors from a tap: the head's output ``(cls_scores, bbox_preds)`` (take
    element ``part``), a list of levels, or one tensor (one level)."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (list, tuple)) for v in value):
        value = value[part]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def edge_distributions(pred: Tensor, bins: int) -> Tensor:
    """``(N, 4 * bins, H, W)`` -> ``(N, H * W, 4, bins)`` logits (GFL's channel layout)."""
    n, _, h, w = pred.shape
    return pred.permute(0, 2, 3, 1).reshape(n, h * w, 4, bins)


def cell_centers_in_boxes(boxes: Sequence[Tensor], input_shape, size, device) -> Tensor:
    """``(N, H * W)``: whether each cell's centre lies inside a box of its image."""
    (h_in, w_in), (h, w) = input_shape, size
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * (h_in / h)
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * (w_in / w)
    cy, cx = ys[:, None].expand(h, w).reshape(-1, 1), xs[None, :].expand(h, w).reshape(-1, 1)
    masks = []
    for img_boxes in boxes:
        b = img_boxes.float().reshape(-1, 4).to(device)
        inside = (cx >= b[:, 0]) & (cx < b[:, 2]) & (cy >= b[:, 1]) & (cy < b[:, 3])
        masks.append(inside.any(dim=1))
    return torch.stack(masks)


@MODELS.register_module()
class LDLoss(DistillLoss):
    """LD (Zheng et al., "Localization Distillation for Dense Object Detection", CVPR 2022).

    mmdet's GFL head predicts each box edge ``e`` as a distribution over ``n + 1`` bins
    (``n = reg_max``; ``gfl_reg`` gives ``4 (n + 1)`` channels per position). LD matches
    the student's distributions to the teacher's at the same positions ``r`` of a region
    ``R``::

        L = tau^2 / (4 |R|) * sum_{r in R} sum_e KL(p^t_{r,e} || p^s_{r,e}),
        p_{r,e} = softmax(logits_{r,e} / tau) over the bins

    (the KL summed over the bins, averaged over the 4 edges and the positions of ``R``,
    all levels together). ``region`` chooses ``R``:

    - ``'positive'`` (default, the paper's main distillation region): the positives the
      student's own GFL head assigns (its ATSS assigner, ``bbox_head.get_targets``), the
      locations GFL's box losses train;
    - ``'gt_center'``: every position whose cell centre lies inside a GT box, on every
      level (a superset of the positives, no assigner needed);
    - ``'all'``: every position.

    Simplifications: the paper's valuable localization region (VLR, extra positions chosen
    by the teacher's IoU with the GT) is not included; mmdet's ``LDHead`` also weights each
    positive by the student's largest class score and averages the KL over the bins rather
    than summing it (its ``loss_weight=0.25`` is for that normalisation, not this one).

    Taps: ``student='bbox_head'`` (the head's output; LD reads its box distributions) and
    ``teacher='neck'`` (the loss runs the frozen teacher's GFL head on it, without gradient:
    mmdet's ``mode='tensor'`` calls ``bbox_head.forward`` directly, so a ``'bbox_head'`` tap
    records nothing on the teacher). Per-level ``gfl_reg`` outputs, or a head's output pair
    ``(cls_scores, bbox_preds)``, are accepted on either side. ``tau = 10`` as in mmdet's
    LD configs.

    Args:
        tau: temperature.
        region: ``'positive'``, ``'gt_center'`` or ``'all'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, tau: float = 10.0, region: str = 'positive',
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if region not in REGIONS:
            raise ValueError(f'LDLoss: region must be one of {REGIONS}, got {region!r}')
        self.tau, self.region = tau, region
        self.reads = {'positive': ('gt_instances', 'img_shape', 'pad_shape',
                                   'batch_input_shape'),
                      'gt_center': ('gt_instances', 'batch_input_shape'),
                      'all': ()}[region]

    def setup(self, student: nn.Module, teacher: nn.Module) -> None:
        if self.region == 'positive':
            _gfl_head(getattr(student, 'bbox_head', None), type(student).__name__)

    def forward(self, student, teacher, ctx=None) -> Tensor:
        return super().forward(head_levels(student, 1), head_levels(teacher, 1), ctx)

    def compute(self, student: List[Tensor], teacher: List[Tensor],
                ctx: DistillContext) -> Tensor:
        teacher = _teacher_distributions(student, teacher, ctx)
        shapes = (f'student {[tuple(s.shape) for s in student]}, '
                  f'teacher {[tuple(t.shape) for t in teacher]}')
        if len(student) != len(teacher) or any(
                s.shape != t.shape or s.dim() != 4 or s.shape[1] % 4 for s, t in
                zip(student, teacher)):
            raise ValueError(f'LDLoss (loss {ctx.name!r}) needs the same levels of '
                             f'(N, 4 * (reg_max + 1), H, W) box distributions from both '
                             f'networks; {shapes}')
        bins = student[0].shape[1] // 4
        regions = self.regions(student, ctx, shapes)
        total, count = student[0].new_zeros(()), 0.0
        for s, t, region in zip(student, teacher, regions):
            log_p_s = F.log_softmax(edge_distributions(s, bins) / self.tau, dim=-1)
            log_p_t = F.log_softmax(edge_distributions(t, bins) / self.tau, dim=-1)
            kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=-1).mean(dim=-1)  # (N, HW)
            total = total + (kl * region).sum()
            count += float(region.sum())
        return total * self.tau ** 2 / max(count, 1.0)

    def regions(self, levels: List[Tensor], ctx: DistillContext, shapes: str) -> List[Tensor]:
        """``(N, H * W)`` 0/1 weights of each level's region."""
        n, device = levels[0].shape[0], levels[0].device
        if self.region == 'all':
            return [torch.ones(n, s.shape[2] * s.shape[3], device=device) for s in levels]
        instances = ctx.field('gt_instances')
        if self.region == 'gt_center':
            input_shape = ctx.field('batch_input_shape')[0]
            return [cell_centers_in_boxes([i.bboxes for i in instances], input_shape,
                                          s.shape[2:], device).float() for s in levels]
        head = _gfl_head(getattr(ctx.student, 'bbox_head', None),
                         type(ctx.student).__name__)
        if len(levels) != len(head.prior_generator.strides):
            raise ValueError(
                f"LDLoss (loss {ctx.name!r}): region='positive' needs every level of the "
                f'head ({len(head.prior_generator.strides)}), got {len(levels)}: tap the '
                f"head's output ('bbox_head'); {shapes}")
        metas = [dict(img_shape=i, pad_shape=p, batch_input_shape=b) for i, p, b in zip(
            ctx.field('img_shape'), ctx.field('pad_shape'), ctx.field('batch_input_shape'))]
        with torch.no_grad():
            anchors, valid = head.get_anchors([s.shape[2:] for s in levels], metas, device)
            labels = head.get_targets(anchors, valid, list(instances), metas)[1]
        return [((lab >= 0) & (lab < head.num_classes)).float() for lab in labels]


def _teacher_distributions(student: List[Tensor], teacher: List[Tensor],
                           ctx: DistillContext) -> List[Tensor]:
    """The teacher's box distributions: ``teacher`` itself, or, when it holds the teacher's
    neck levels (the width of its GFL head's input), that head's output on them."""
    head = getattr(ctx.teacher, 'bbox_head', None)
    if (student and teacher and hasattr(head, 'gfl_reg') and teacher[0].dim() == 4
            and teacher[0].shape[1] != student[0].shape[1]
            and teacher[0].shape[1] == head.in_channels):
        with torch.no_grad():
            return [pred.float() for pred in head(teacher)[1]]
    return teacher


def _gfl_head(head, owner: str):
    from mmdet.models.dense_heads import GFLHead
    if not isinstance(head, GFLHead):
        raise TypeError(f"LDLoss with region='positive' needs a student with an mmdet GFL "
                        f'head (GFLHead, LDHead) as bbox_head; {owner} has '
                        f'{type(head).__name__}. Use region=\'gt_center\' or \'all\'')
    return head
