"""LONDON: Lipschitz continuity guided knowledge distillation (Shang et al., ICCV 2021)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmkd.registry import MODELS
from .base import DistillContext, DistillLoss, LevelWeights, reject_renamed, resolve_level_weights


def transmitting_matrix(f1: Tensor, f2: Tensor) -> Tensor:
    """The FSP/transmitting matrix between consecutive stages, ``(B, C1, C2)``.

    ``f1`` is average-pooled to ``f2``'s spatial size if it is larger.
    """
    f1 = _pool_to(f1, f2)
    hw = f2.shape[-2] * f2.shape[-1]
    return torch.bmm(f1.flatten(2), f2.flatten(2).transpose(1, 2)) / hw


def _pool_to(f1: Tensor, f2: Tensor) -> Tensor:
    """``f1`` average-pooled to ``f2``'s spatial size where the sizes differ."""
    if f1.shape[-2:] == f2.shape[-2:]:
        return f1
    (h1, w1), (h2, w2) = f1.shape[-2:], f2.shape[-2:]
    if h1 % h2 == 0 and w1 % w2 == 0:  # the same result, a faster kernel
        return F.avg_pool2d(f1, (h1 // h2, w1 // w2))
    return F.adaptive_avg_pool2d(f1, f2.shape[-2:])


def _pooled_sums(f1: Tensor, f2: Tensor) -> Tuple[Tensor, int]:
    """``f1`` pooled to ``f2``'s spatial size, without gradient, as sums over windows of
    ``n`` pixels (strided additions: 4x faster than ``avg_pool2d`` on CPU), and ``n``: the
    average is ``sums / n``. Sizes that are not integer multiples: the average, ``n = 1``."""
    (h1, w1), (h2, w2) = f1.shape[-2:], f2.shape[-2:]
    if (h1, w1) == (h2, w2):
        return f1, 1
    if h1 % h2 or w1 % w2:
        return F.adaptive_avg_pool2d(f1, (h2, w2)), 1
    kh, kw = h1 // h2, w1 // w2
    rows = f1.reshape(*f1.shape[:2], h2, kh * w1)  # row i*kh + j of f1 at [..., i, j*w1:]
    out = rows[..., :w1]
    for j in range(1, kh):
        out = out + rows[..., j * w1:(j + 1) * w1]
    cols = out[..., 0::kw]
    for j in range(1, kw):
        cols = cols + out[..., j::kw]
    return cols, kh * kw


def _matvec(k: Tensor, v: Tensor) -> Tensor:
    """``k @ v`` for ``(B, C, C) x (B, C, 1)``; on CPU a broadcast multiply and sum beats
    the batched matrix-vector product 2-5x."""
    if k.device.type == 'cpu':
        return (k * v.transpose(1, 2)).sum(-1, keepdim=True)
    return torch.bmm(k, v)


def _gram_operator(tm: Tensor):
    """``v -> (tm tm^T) v``. Forming ``K = tm tm^T`` costs ``C1^2 C2`` per sample, one GEMM;
    applying it as ``tm (tm^T v)`` costs ``2 C1 C2`` per iteration but runs at memory speed.
    The implicit form wins for wide transmitting matrices at small batches (a ResNet-101
    teacher's last pair, 1024 x 2048: 1.5x faster, 4x for 1024 x 512), the explicit one for
    CIFAR-sized ones at batch 64 (measured on CPU)."""
    if tm.shape[1] > 4 * max(tm.shape[0], 64):
        if tm.device.type == 'cpu':
            return lambda v: (tm * (tm * v).sum(1, keepdim=True)).sum(2, keepdim=True)
        return lambda v: torch.bmm(tm, torch.bmm(tm.transpose(1, 2), v))
    k = torch.bmm(tm, tm.transpose(1, 2))
    return lambda v: _matvec(k, v)


def spectral_norm(tm: Tensor, iters: int = 10, init: str = 'rand',
                  mode: str = 'paper') -> Tensor:
    """Largest singular value of each ``tm[b]`` by power iteration on ``K = tm tm^T``.

    ``mode='paper'`` back-propagates through every iteration (the reference code);
    ``mode='fast'`` iterates without gradient, then takes one differentiable step,
    ``sigma = ||tm^T v||`` with the converged unit vector ``v``. Batched over samples.
    (``'warm'`` keeps state between calls: :func:`warm_spectral_norm`.)
    """
    if mode not in ('paper', 'fast'):
        raise ValueError(f"spectral_norm: mode must be 'paper' or 'fast', got {mode!r}")
    # sigma(tm) = a * sigma(tm / a): iterate on entries <= 1 so that tm tm^T cannot overflow
    # (a deep teacher's features can reach 1e10 and more); the same function for autograd.
    scale = tm.detach().abs().amax(dim=(1, 2), keepdim=True)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    tm = tm / scale
    return _power_iteration(tm, iters, init, mode) * scale.view(-1)


def _power_iteration(tm: Tensor, iters: int, init: str, mode: str) -> Tensor:
    shape = (tm.shape[0], tm.shape[1], 1)
    v = torch.rand(shape, dtype=tm.dtype, device=tm.device) if init == 'rand' else \
        torch.ones(shape, dtype=tm.dtype, device=tm.device)
    if mode == 'fast':
        with torch.no_grad():
            gram = _gram_operator(tm)
            for _ in range(iters):
                v = F.normalize(gram(v), dim=1, eps=1e-12)
        return torch.bmm(tm.transpose(1, 2), v).flatten(1).norm(dim=1)
    gram = _gram_operator(tm)
    norm = None
    for _ in range(iters):
        m = gram(v)
        norm = m.flatten(1).norm(dim=1).clamp_min(1e-12)
        v = m / norm.view(-1, 1, 1)
    return norm.sqrt()


def _orthonormal_pair(y: Tensor, tol: float = 1e-3) -> Tensor:
    """The two columns of each matrix ``y[..., :, :2]`` made orthonormal (Gram-Schmidt):
    ``q1 = y1 / |y1|``, ``q2 = r / |r|`` with ``r = y2 - y1 (y1.y2) / |y1|^2``; ``q2 = 0``
    where ``|r| <= tol |y2|`` (``y2`` numerically in the span of ``y1``)."""
    y1, y2 = y[..., :1], y[..., 1:]
    gram = torch.matmul(y.transpose(-1, -2), y)
    tiny = torch.finfo(y.dtype).tiny
    r = y2 - y1 * (gram[..., :1, 1:] / gram[..., :1, :1].clamp_min(tiny))
    n1, n2 = gram[..., :1, :1].sqrt(), r.norm(dim=-2, keepdim=True)
    keep = n2 > tol * gram[..., 1:, 1:].sqrt()
    return torch.cat([y1 / n1.clamp_min(tiny), r * (keep / n2.clamp_min(tiny))], -1)


def cold_start(channels: int, init: str = 'ones', groups: int = 1,
               device=None, dtype=None) -> Tensor:
    """A start subspace for :func:`warm_spectral_norm`, ``(groups, channels, 2)``:
    ``[1, (+1, -1, +1, ...)]`` for ``init='ones'``, uniform random columns for ``'rand'``."""
    if init == 'rand':
        start = torch.rand(groups, channels, 2, device=device, dtype=dtype)
    else:
        start = torch.ones(groups, channels, 2, device=device, dtype=dtype)
        start[..., 1::2, 1] = -1
    return _orthonormal_pair(start)


def warm_spectral_norm(tm: Tensor, start: Tensor, iters: int = 6, overwrite: bool = False
                       ) -> Tuple[Tensor, Tensor, Tensor]:
    """Largest singular value of each ``tm[g, b]`` (``(G, B, C1, C2)``) by subspace
    iteration on ``K = tm tm^T`` from a two-column start ``start[g]`` (``(G, C1, 2)``)
    shared by the batch, then Rayleigh-Ritz. No gradient.

    Per sample, ``Q = orth(K^iters start)`` (``iters >= 1``; the columns are rescaled after
    every second product: the span is that of subspace iteration). The top eigenvector of
    the 2 x 2 matrix ``H = (tm^T Q)^T (tm^T Q)``, at angle
    ``theta = atan2(2 H12, H11 - H22) / 2``, gives the unit vector
    ``v = Q (cos theta, sin theta)`` and ``sigma = |tm^T v| <= sigma_max``.

    Returns ``sigma`` (``(G, B)``), ``v`` (``(G, B, C1, 1)``) and the next start,
    ``orth(M start)`` with the batch's ``M = sum_b K_b / a_b^2`` (``a_b``: the largest
    ``|tm[b]|``): one step of subspace iteration on ``M`` per call, as spectral normalisation
    keeps its ``u``. Two columns capture samples whose two leading singular values swap
    order across the batch, which one shared vector does not. ``overwrite=True`` scales
    ``tm`` in place (no copy; its values are lost).
    """
    if iters < 1:
        raise ValueError(f'warm_spectral_norm needs iters >= 1, got {iters}')
    with torch.no_grad():
        # sigma(tm) = a * sigma(tm / a): entries <= 1, so that K^2 and Grams cannot overflow
        scale = tm.abs().amax(dim=(-2, -1)).clamp_min(torch.finfo(tm.dtype).tiny)
        t = tm.div_(scale[..., None, None]) if overwrite else tm / scale[..., None, None]
        batch = t.shape[1]
        # K y as one product with K formed (C1^2 C2 per sample, once) or as two (2 C1 C2, every
        # time): on CPU forming K pays from about C1 < 40 iters (2x faster for CIFAR's
        # C1 <= 128 at 6 iterations, 2.5x slower for detection's C1 = 1024); on GPU it also
        # halves the products' launches.
        gram = torch.matmul(t, t.transpose(-1, -2)) if t.shape[-2] < 40 * iters else None
        y = start[:, None]
        for i in range(iters):
            y = (torch.matmul(gram, y) if gram is not None else
                 torch.matmul(t, torch.matmul(t.transpose(-1, -2), y)))
            if i == 0:
                m_start = y.sum(1, keepdim=True)
            if i % 2 == 1 and i < iters - 1:  # each column scaled to at most 1
                y = y / y.abs().amax(dim=-2, keepdim=True).clamp_min(torch.finfo(y.dtype).tiny)
        # the samples' Q and the next start, orthonormalised together
        q = _orthonormal_pair(torch.cat([y, m_start], 1))
        q, nxt = q[:, :batch], q[:, batch]
        z = torch.matmul(t.transpose(-1, -2), q)  # (G, B, C2, 2)
        h = torch.matmul(z.transpose(-1, -2), z)
        theta = 0.5 * torch.atan2(2 * h[..., 0, 1], h[..., 0, 0] - h[..., 1, 1])
        x = torch.stack([theta.cos(), theta.sin()], -1)[..., None]
        sigma = torch.matmul(z, x).flatten(-2).norm(dim=-1) * scale
        return sigma, torch.matmul(q, x), nxt


def sigma_along(f1: Tensor, f2: Tensor, v: Tensor, sigma: Tensor) -> Tensor:
    """``|TM^T v|`` for the transmitting matrix ``TM`` of ``(f1, f2)`` and unit vectors ``v``
    (``(B, C1, 1)``), differentiable in the features with ``v`` fixed: at the top left
    singular vector it is ``sigma_max(TM)`` and its gradient is ``sigma_max``'s (through
    ``d sigma / d TM = u v^T``).

    ``TM`` is never formed: pooling commutes with the sum over channels, so
    ``TM^T v = f2 pool(v^T f1)^T / hw``, two matrix-vector products (and a pooling of one
    channel) whose gradients are outer products, where the product ``TM = pool(f1) f2^T``
    costs ``C1 C2 HW`` forward and twice that backward. ``sigma``, the same value without
    gradient, scales the product so that its squares cannot overflow.
    """
    b = f1.shape[0]
    a = torch.bmm(v.transpose(1, 2), f1.flatten(2)).view(b, 1, *f1.shape[-2:])
    a = _pool_to(a, f2).flatten(2)  # (B, 1, HW)
    norm = (sigma * a.shape[-1]).clamp_min(torch.finfo(sigma.dtype).tiny)
    u = torch.bmm(f2.flatten(2), a.transpose(1, 2)) / norm.view(b, 1, 1)
    return u.flatten(1).norm(dim=1) * sigma


@MODELS.register_module()
class LipschitzLoss(DistillLoss):
    """LONDON's Lipschitz term: match the spectral norms of the student's and teacher's
    transmitting matrices between consecutive stages.

    ``L = scale * sum_i w_i * MSE(sigma(TM_i^S), sigma(TM_i^T))`` with
    ``w_i = 1 / 2 ** (L - 1 - i)`` for ``L`` stages, so the last pair weighs 1/2, as in the
    reference code (``level_weights='geometric'``, one weight per pair).

    Args:
        iters: power iterations (reference: 10 from ``rand`` on CIFAR, 5 from ``ones``
            on ImageNet); in ``'warm'`` mode, the iterations of a cold start.
        init: ``'rand'`` or ``'ones'``, the start vector (of a cold start in ``'warm'``).
        mode: ``'warm'`` (default): :func:`warm_spectral_norm` without gradient,
            ``warm_iters`` subspace iterations per step from the previous step's dominant
            two-dimensional subspace of each pair and network (``iters`` on the first step,
            or when a pair's shape changes), then the differentiable :func:`sigma_along`
            the Ritz vector: the gradient of the exact sigma, without forming the student's
            matrices with gradient. Pairs of both networks of the same shape (on CUDA: the
            same ``C1``) run as one batch. The subspaces are non-persistent buffers:
            checkpoints neither hold nor need them. On real features (CIFAR and
            detection configs) it stayed within 3e-5 of exact SVD at every step, where
            ``'paper'`` erred by up to 2e-1 (``tools/benchmark/london_power_iteration.py``).
            ``'paper'``: the reference code, ``iters`` power iterations per step with
            gradient through every one. ``'fast'``: ``iters`` power iterations without
            gradient, one differentiable step.
        warm_iters: subspace iterations per step in ``'warm'`` mode (>= 1). Two were
            enough on CIFAR features (batches of 2 and 64) and on detection features at
            256 px; the student's last pair of Faster R-CNN at 128 px (4 x 4 positions, near
            ties among the leading singular values) needed 5-6.
        pairs: which student features form pair ``i``: ``'reference'`` (connected stage i,
            unconnected stage i+1, as the reference code does), ``'connected'`` or ``'raw'``.
        level_weights: ``'geometric'``, None or a list, one weight per pair
            (formerly ``pair_weights``).
        scale: the reference code divides the term by 200; ``loss_weight`` is its alpha.
    """

    _WARM = 'warm_start_'  # prefix of the buffers holding each pair's start subspace

    def __init__(self, iters: int = 10, init: str = 'rand', mode: str = 'warm',
                 warm_iters: int = 6, pairs: str = 'reference',
                 level_weights: LevelWeights = 'geometric',
                 scale: float = 1 / 200, loss_weight: float = 0.8, **renamed) -> None:
        super().__init__(loss_weight)
        reject_renamed('LipschitzLoss', renamed, {'pair_weights': '`level_weights`'})
        for arg, value, allowed in (('init', init, ('rand', 'ones')),
                                    ('mode', mode, ('paper', 'fast', 'warm')),
                                    ('pairs', pairs, ('reference', 'connected', 'raw'))):
            if value not in allowed:
                raise ValueError(f'LipschitzLoss: {arg} must be one of {allowed}, got {value!r}')
        if int(warm_iters) < 1:
            raise ValueError(f'LipschitzLoss: warm_iters must be >= 1, got {warm_iters!r}')
        self.iters, self.init, self.mode, self.pairs = iters, init, mode, pairs
        self.warm_iters = int(warm_iters)
        self.level_weights, self.scale = level_weights, scale

    def sigmas(self, feats: Sequence[Tensor], nexts: Optional[Sequence[Tensor]] = None,
               role: str = 'student') -> List[Tensor]:
        """sigma of each consecutive pair ``(feats[i], nexts[i + 1])``, shape (B,) each;
        in ``'warm'`` mode from (and updating) the subspaces kept for ``role``."""
        nexts = feats if nexts is None else nexts
        n = len(feats)
        if self.mode == 'warm':
            est = self.warm_sigmas({f'{role}_{i}': (feats[i], nexts[i + 1])
                                    for i in range(n - 1)})
            return [sigma_along(feats[i], nexts[i + 1], est[f'{role}_{i}'][1],
                                est[f'{role}_{i}'][0]) for i in range(n - 1)]
        return [spectral_norm(transmitting_matrix(feats[i], nexts[i + 1]), self.iters,
                              self.init, self.mode) for i in range(n - 1)]

    def warm_sigmas(self, pairs: Dict[str, Tuple[Tensor, Tensor]], stack: Optional[bool] = None
                    ) -> Dict[str, Tuple[Tensor, Tensor]]:
        """``(sigma, v)`` of each named feature pair's transmitting matrix by
        :func:`warm_spectral_norm` (no gradient), each from its subspace of the last call.

        Matrices of the same shape run as one batch; with ``stack`` (default: on CUDA,
        where kernel launches dominate) all with the same ``C1``, narrower ones padded
        with zero columns (which leave the singular values unchanged); ``stack=False``:
        each on its own. The matrices are formed from window sums,
        ``sum_pool(f1) f2^T``, and the averages' ``1 / (n HW)`` applied to sigma.
        """
        tms, divisors = {}, {}
        with torch.no_grad():
            for name, (f1, f2) in pairs.items():
                pooled, n = _pooled_sums(f1, f2)
                tms[name] = torch.bmm(pooled.flatten(2), f2.flatten(2).transpose(1, 2))
                divisors[name] = n * f2.shape[-2] * f2.shape[-1]
            groups: Dict[tuple, List[str]] = {}
            for name, tm in tms.items():
                pad = stack if stack is not None else tm.is_cuda
                key = ((tm.shape[:2] if pad else tm.shape, tm.dtype, tm.device)
                       if stack is not False else (name, ))
                groups.setdefault(key, []).append(name)
            out = {}
            for names in groups.values():
                width = max(tms[n].shape[2] for n in names)
                tm = tms[names[0]][None] if len(names) == 1 else torch.stack(
                    [tms[n] if tms[n].shape[2] == width else
                     F.pad(tms[n], (0, width - tms[n].shape[2])) for n in names])
                starts = [self._buffers.get(self._WARM + n) for n in names]
                if all(s is not None and s.shape == (tm.shape[2], 2) and s.dtype == tm.dtype
                       and s.device == tm.device for s in starts):
                    start, iters = torch.stack(starts), self.warm_iters
                else:  # first call, or a pair's shape changed: a cold start
                    start = cold_start(tm.shape[2], self.init, len(names), tm.device, tm.dtype)
                    iters = self.iters
                sigma, v, nxt = warm_spectral_norm(tm, start, iters, overwrite=True)
                for i, name in enumerate(names):
                    out[name] = sigma[i] / divisors[name], v[i]
                    self.register_buffer(self._WARM + name, nxt[i], persistent=False)
        return out

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The start subspaces are never saved; tolerate them in a checkpoint all the same.
        for key in [k for k in state_dict if k.startswith(prefix + self._WARM)]:
            del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def compute(self, student: List[Tensor], teacher: List[Tensor],
                ctx: DistillContext) -> Tensor:
        if not isinstance(student, list) or len(student) < 2 or len(student) != len(teacher):
            raise ValueError(f'LipschitzLoss needs the same number (>= 2) of student and '
                             f'teacher stages; got {_count(student)} and {_count(teacher)}')
        raw = student if ctx.student_raw is None else ctx.student_raw
        first, nxt = {'reference': (student, raw), 'connected': (student, student),
                      'raw': (raw, raw)}[self.pairs]
        n = len(student)
        if self.mode == 'warm':
            est = self.warm_sigmas({
                **{f'student_{i}': (first[i], nxt[i + 1]) for i in range(n - 1)},
                **{f'teacher_{i}': (teacher[i], teacher[i + 1]) for i in range(n - 1)}})
            s_sig = [sigma_along(first[i], nxt[i + 1], est[f'student_{i}'][1],
                                 est[f'student_{i}'][0]) for i in range(n - 1)]
            t_sig = [est[f'teacher_{i}'][0] for i in range(n - 1)]
        else:
            s_sig = self.sigmas(first, nxt)
            with torch.no_grad():
                t_sig = self.sigmas(teacher)
        if self.level_weights == 'geometric':  # pair i weighs as its first stage i of n
            weights = resolve_level_weights('geometric', n, 'LipschitzLoss')[:-1]
        else:
            weights = resolve_level_weights(self.level_weights, n - 1, 'LipschitzLoss', 'pairs')
        self.last_stats = dict(student=[s.detach().mean() for s in s_sig],
                                teacher=[t.mean() for t in t_sig])
        loss = sum(w * F.mse_loss(s, t) for w, s, t in zip(weights, s_sig, t_sig))
        return loss * self.scale


def _count(value) -> int:
    return len(value) if isinstance(value, (list, tuple)) else 1
