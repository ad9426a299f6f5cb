"""CrossKD: the student's head features through the teacher's head (written from the paper)."""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmkd.registry import MODELS
from .base import DistillContext, DistillLoss
from .ld import edge_distributions

# The predictor layers of the supported mmdet dense heads: (classification, regression).
PREDICTORS = {'GFL': ('gfl_cls', 'gfl_reg'), 'RetinaNet': ('retina_cls', 'retina_reg')}


def head_family(head, owner: str) -> str:
    """``'GFL'`` or ``'RetinaNet'``, from the head's layers; raise for any other head."""
    for family, (cls_name, reg_name) in PREDICTORS.items():
        if all(hasattr(head, a) for a in (cls_name, reg_name, 'cls_convs', 'reg_convs')):
            if not getattr(head, 'use_sigmoid_cls', True):
                break
            return family
    raise TypeError(f'CrossKDLoss needs mmdet GFLHead or RetinaHead dense heads with sigmoid '
                    f'classification (cls_convs, reg_convs and gfl_cls/gfl_reg or '
                    f'retina_cls/retina_reg); {owner} has {type(head).__name__}')


def _flat(value) -> List[Tensor]:
    """A tap's value as one list: levels, or a pair of per-level lists concatenated."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (list, tuple)) for v in value):
        return [*value[0], *value[1]]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def sigmoid_soft_focal(logits: Tensor, target: Tensor, beta: float) -> Tensor:
    """Quality-focal-style soft BCE, elementwise: ``BCE(sigmoid(x), p) |sigmoid(x) - p|^beta``
    against soft targets ``p`` in [0, 1]."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    return bce * (logits.sigmoid() - target).abs().pow(beta)


def priors_last(x: Tensor, per_prior: int) -> Tensor:
    """``(N, A * K, H, W)`` -> ``(N, H * W * A, K)``: mmdet's prior order (position, then
    anchor)."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, per_prior)


@MODELS.register_module()
class CrossKDLoss(DistillLoss):
    """CrossKD (Wang et al., "CrossKD: Cross-Head Knowledge Distillation for Object
    Detection", CVPR 2024), written from the paper (the authors' code is CC BY-NC).

    The student head's intermediate features (after its first ``i = cross_layer`` convs of
    the classification and regression branches) go through the rest of the teacher's head
    (its convs ``i..`` and predictors, frozen, gradients flowing back to the student); the
    resulting cross-head predictions ``x`` mimic the teacher's own predictions ``t`` at
    every prior ``r``::

        L_cls = 1/Z sum_{r,c} BCE(sigmoid(x_{r,c}), q_{r,c}) |sigmoid(x_{r,c}) - q_{r,c}|^beta
        L_reg = 1/Z sum_r w_r D(x_r, t_r)
        L = cls_weight * L_cls + reg_weight * L_reg

    with ``q = sigmoid(t)`` the teacher's class probabilities, ``w_r = max_c q_{r,c}``,
    and ``Z = max(1, sum_r w_r)`` (the teacher's soft count of objects). ``D`` is, for a
    GFL head, ``tau^2`` times the KL between the edge distributions (averaged over the 4
    edges, as in :class:`LDLoss`); for RetinaNet, ``1 - GIoU`` of the two predictions'
    boxes decoded on the same anchors.

    Simplifications (ours, documented): the paper writes ``1/|S| sum_r S(r) D(x_r, t_r)``
    with a region-selection weight ``S``; here classification uses every prior and
    regression weights priors by the teacher's confidence ``w_r``, both normalised by
    ``Z``. The soft focal form (``beta``) is GFL's quality focal loss with the teacher's
    probabilities as targets, used for RetinaNet too. ``cross_layer=3`` is our default,
    not a value verified from the paper.

    Inputs. Teacher: tap ``'neck'`` (the loss runs the frozen teacher head on it, without
    gradient; mmdet's ``mode='tensor'`` calls ``bbox_head.forward`` directly, so a
    ``'bbox_head'`` tap records nothing on the teacher) or the head's output pair
    ``(cls_scores, bbox_preds)``. Student: tap ``'neck'`` (the loss then runs the student
    head's first ``i`` convs itself: a second pass through them, same values and
    gradients) or the pair of per-level lists ``[bbox_head.cls_convs.<i-1>,
    bbox_head.reg_convs.<i-1>]`` where the taps record every level. Both heads must share
    widths at layer ``i``, classes and priors per position.

    Args:
        cross_layer: how many head convs the student features have passed (0: the neck).
        cls_weight, reg_weight: weights of the two terms.
        beta: exponent of the soft focal factor.
        tau: temperature of the GFL distribution KL.
        loss_weight: multiplier of the total.
    """

    def __init__(self, cross_layer: int = 3, cls_weight: float = 1.0, reg_weight: float = 1.0,
                 beta: float = 2.0, tau: float = 10.0, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if cross_layer < 0:
            raise ValueError(f'CrossKDLoss: cross_layer must be >= 0, got {cross_layer}')
        self.cross_layer, self.cls_weight, self.reg_weight = cross_layer, cls_weight, reg_weight
        self.beta, self.tau = beta, tau

    # -- checks ------------------------------------------------------------------------
    def setup(self, student: nn.Module, teacher: nn.Module) -> None:
        s_head = getattr(student, 'bbox_head', None)
        t_head = getattr(teacher, 'bbox_head', None)
        family = head_family(t_head, f'the teacher ({type(teacher).__name__})')
        if head_family(s_head, f'the student ({type(student).__name__})') != family:
            raise TypeError(f'CrossKDLoss: the student head ({type(s_head).__name__}) and the '
                            f'teacher head ({type(t_head).__name__}) differ in kind')
        i = self.cross_layer
        for head, who in ((s_head, 'student'), (t_head, 'teacher')):
            if len(head.cls_convs) < i or len(head.reg_convs) < i:
                raise ValueError(f'CrossKDLoss: cross_layer={i} but the {who} head has '
                                 f'{len(head.cls_convs)} classification and '
                                 f'{len(head.reg_convs)} regression convs')
        width = (lambda h: h.in_channels) if i == 0 else (lambda h: h.feat_channels)
        pairs = ((f'feature widths at cross_layer={i}', width(s_head), width(t_head)),
                 ('class counts', s_head.cls_out_channels, t_head.cls_out_channels),
                 ('priors per position', s_head.num_base_priors, t_head.num_base_priors),
                 ('reg_max', getattr(s_head, 'reg_max', None), getattr(t_head, 'reg_max', None)))
        for what, s, t in pairs:
            if s != t:
                raise ValueError(f'CrossKDLoss: the heads\' {what} differ (student '
                                 f'{type(s_head).__name__}: {s}, teacher '
                                 f'{type(t_head).__name__}: {t}); the student features cannot '
                                 f'enter the teacher head')

    # -- the loss ------------------------------------------------------------------------
    def forward(self, student, teacher, ctx=None) -> Tensor:
        return super().forward(_flat(student), _flat(teacher), ctx)

    def compute(self, student: List[Tensor], teacher: List[Tensor],
                ctx: DistillContext) -> Tensor:
        head = ctx.teacher.bbox_head
        family = head_family(head, f'the teacher ({type(ctx.teacher).__name__})')
        levels = len(head.prior_generator.strides)
        t_cls, t_reg = _branches(teacher, levels, 'teacher', "its output (cls_scores, "
                                 "bbox_preds)", lambda: _no_grad(head, teacher), ctx)
        s_cls, s_reg = _branches(student, levels, 'student', 'classification + regression '
                                 'features', lambda: self._student_branches(
                                     ctx.student.bbox_head, student), ctx)
        x_cls, x_reg = self._teacher_rest(head, family, s_cls, s_reg, ctx)
        for x, t, what in ((x_cls, t_cls, 'classification'), (x_reg, t_reg, 'regression')):
            if [tuple(v.shape) for v in x] != [tuple(v.shape) for v in t]:
                raise ValueError(
                    f'CrossKDLoss (loss {ctx.name!r}): cross-head {what} outputs '
                    f'{[tuple(v.shape) for v in x]} differ from the teacher\'s '
                    f'{[tuple(v.shape) for v in t]} (student features '
                    f'{[tuple(v.shape) for v in s_cls]})')

        classes = head.cls_out_channels
        x_cls = torch.cat([priors_last(x, classes) for x in x_cls], dim=1)
        q = torch.cat([priors_last(t, classes) for t in t_cls], dim=1).sigmoid()
        weight = q.max(dim=2).values                         # (N, priors)
        norm = weight.sum().clamp(min=1.0)
        cls_loss = sigmoid_soft_focal(x_cls, q, self.beta).sum() / norm
        if family == 'GFL':
            dist = self._distribution_kl(x_reg, t_reg, head.reg_max + 1)
        else:
            dist = self._giou_distance(head, x_reg, t_reg)
        reg_loss = (weight * dist).sum() / norm
        self.last_stats = dict(cls=cls_loss.detach(), reg=reg_loss.detach())
        return self.cls_weight * cls_loss + self.reg_weight * reg_loss

    def _student_branches(self, head: nn.Module, neck: List[Tensor]
                          ) -> Tuple[List[Tensor], List[Tensor]]:
        head_family(head, 'the student')
        cls_feats, reg_feats = [], []
        for x in neck:
            c = r = x
            for conv in head.cls_convs[:self.cross_layer]:
                c = conv(c)
            for conv in head.reg_convs[:self.cross_layer]:
                r = conv(r)
            cls_feats.append(c)
            reg_feats.append(r)
        return cls_feats, reg_feats

    def _teacher_rest(self, head: nn.Module, family: str, s_cls: List[Tensor],
                      s_reg: List[Tensor], ctx: DistillContext):
        cls_name, reg_name = PREDICTORS[family]
        out_cls, out_reg = [], []
        for level, (c, r) in enumerate(zip(s_cls, s_reg)):
            try:
                for conv in head.cls_convs[self.cross_layer:]:
                    c = conv(c)
                for conv in head.reg_convs[self.cross_layer:]:
                    r = conv(r)
                c, r = getattr(head, cls_name)(c), getattr(head, reg_name)(r)
            except RuntimeError as err:
                raise ValueError(
                    f'CrossKDLoss (loss {ctx.name!r}), level {level}: student head features '
                    f'{tuple(s_cls[level].shape)} do not fit the teacher head after '
                    f'cross_layer={self.cross_layer}: {str(err).splitlines()[0]}') from err
            if hasattr(head, 'scales'):  # GFL scales its regression output per level
                r = head.scales[level](r)
            out_cls.append(c)
            out_reg.append(r.float())
        return out_cls, out_reg

    def _distribution_kl(self, x_reg: List[Tensor], t_reg: List[Tensor], bins: int) -> Tensor:
        """``tau^2 KL(teacher || cross)`` per prior, averaged over the 4 edges: (N, priors)."""
        out = []
        for x, t in zip(x_reg, t_reg):
            log_p = F.log_softmax(edge_distributions(x, bins) / self.tau, dim=-1)
            log_q = F.log_softmax(edge_distributions(t, bins) / self.tau, dim=-1)
            out.append((log_q.exp() * (log_q - log_p)).sum(-1).mean(-1))
        return torch.cat(out, dim=1) * self.tau ** 2

    @staticmethod
    def _giou_distance(head: nn.Module, x_reg: List[Tensor], t_reg: List[Tensor]) -> Tensor:
        """``1 - GIoU`` of the boxes the two predictions decode to on the head's anchors."""
        from mmdet.structures.bbox import bbox_overlaps
        n = x_reg[0].shape[0]
        anchors = head.prior_generator.grid_priors([x.shape[2:] for x in x_reg],
                                                   device=x_reg[0].device)
        anchors = torch.cat(anchors).repeat(n, 1)
        x = torch.cat([priors_last(v, 4) for v in x_reg], dim=1).reshape(-1, 4)
        t = torch.cat([priors_last(v, 4) for v in t_reg], dim=1).reshape(-1, 4)
        boxes_x = head.bbox_coder.decode(anchors, x)
        boxes_t = head.bbox_coder.decode(anchors, t)
        giou = bbox_overlaps(boxes_x, boxes_t, mode='giou', is_aligned=True, eps=1e-6)
        return (1 - giou).reshape(n, -1)


def _no_grad(head: nn.Module, feats: List[Tensor]):
    """The frozen teacher head's own predictions on its neck levels."""
    with torch.no_grad():
        return tuple(list(v) for v in head(feats))


def _branches(value: List[Tensor], levels: int, role: str, pair: str, from_neck, ctx):
    """``(classification, regression)`` per-level lists of one side's input: computed by
    ``from_neck()`` from ``levels`` neck levels, or split from ``2 * levels`` tensors."""
    if len(value) == levels:
        return from_neck()
    if len(value) == 2 * levels:
        return value[:levels], value[levels:]
    raise ValueError(
        f'CrossKDLoss (loss {ctx.name!r}): the teacher head has {levels} levels; the {role} '
        f'input must be its {levels} neck levels or {levels} + {levels} {pair}, got '
        f'{len(value)} tensors {[tuple(v.shape) for v in value]}')
