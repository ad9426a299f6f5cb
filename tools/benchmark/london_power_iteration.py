"""LONDON's spectral norms on real features: each mode's estimates against exact SVD over a
training run, and the term's cost per mode.

    python tools/benchmark/london_power_iteration.py [CONFIG] [--batch-size 64] [--steps 40]
        [--train-mode warm] [--modes paper,fast,warm] [--out FILE.json]

Trains the config's Distiller (its student, a random teacher whose BatchNorm statistics are
calibrated on the input shape) on Fashion-MNIST (detection and segmentation configs: the
composed Fashion-VOC images of ``--size`` pixels) for ``--steps`` steps at the config's
learning rate, with the LONDON term in ``--train-mode``. At every step, on that step's
features, each mode in ``--modes`` (its own loss module, so ``warm`` keeps its subspaces
from step to step) estimates every pair's sigma for both networks; reported per step: the
largest relative error against ``torch.linalg.svdvals`` in float64 over samples and pairs,
and the relative error of the loss and of its gradient in the student's features against
the loss built on the exact sigmas. Then, on the last steps' features, the loss's forward
+ backward is timed per mode (interleaved, medians) and its operations are counted at the
dispatcher (views excluded; on a GPU each is a kernel launch).
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import time
from unittest import mock

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmkd  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402

from mmkd.engine import Runner  # noqa: E402
from mmkd.models.losses import DistillContext, LipschitzLoss  # noqa: E402
from mmkd.models.losses.base import resolve_level_weights  # noqa: E402
from mmkd.models.losses.lipschitz import transmitting_matrix  # noqa: E402
from mmkd.testing import make_fashion_voc, unpack_fashion_mnist  # noqa: E402
from mmkd.testing.offline import (classification_options, detection_options,  # noqa: E402
                                  dotted, save_random_weights, segmentation_options, task_of,
                                  voc_devkit)

MODES = {'paper': dict(mode='paper'), 'fast': dict(mode='fast'), 'warm': dict(mode='warm')}
VIEWS = {'view', '_unsafe_view', 'transpose', 't', 'permute', 'expand', 'slice', 'select',
         'as_strided', 'unsqueeze', 'squeeze', 'alias', 'detach', 'split', 'unbind',
         'lift_fresh', 'empty', 'empty_strided', 'empty_like', 'new_empty_strided'}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default='configs/lckd/cifar100_resnet56_resnet20.py')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--size', type=int, default=128,
                        help='image size of the detection and segmentation configs')
    parser.add_argument('--steps', type=int, default=40)
    parser.add_argument('--train-mode', default='warm', choices=['paper', 'fast', 'warm'])
    parser.add_argument('--modes', default='paper,fast,warm,warm2',
                        help=f'modes to compare, of {sorted(MODES)}; warmN: warm_iters=N')
    parser.add_argument('--timed', type=int, default=5, help='steps whose features are timed')
    parser.add_argument('--repeats', type=int, default=5, help='timing passes over them')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default='work_dirs/benchmark')
    parser.add_argument('--out', help='JSON file')
    return parser.parse_args()


def build(config: str, batch_size: int, steps: int, train_mode: str, out_dir: str, seed: int,
          size: int = 128):
    """The distiller, its optimiser wrapper, the train loader and its LONDON loss."""
    cfg = Config.fromfile(config)
    data = osp.join(out_dir, 'data')
    os.makedirs(data, exist_ok=True)
    task = task_of(cfg)
    if task == 'cls':
        mnist = unpack_fashion_mnist(osp.join(data, 'fashion_mnist'))
        options, teacher = classification_options(cfg, mnist, batch_size,
                                                   indices=batch_size * steps)
        shape = (batch_size, 1, 32, 32)
    else:  # detection and segmentation: composed Fashion-VOC images of `size` pixels
        voc = osp.join(data, f'fashion_voc_{size}')
        if not osp.isdir(voc):
            make_fashion_voc(voc, num_train=64, num_test=4, img_size=size, max_objects=6,
                             seed=0)
        options, teacher = (detection_options(cfg, voc_devkit(voc, voc), size, batch_size)
                            if task == 'det' else
                            segmentation_options(cfg, voc, size, batch_size))
        shape = (batch_size, 3, size, size)
    cfg.merge_from_dict(dotted(options))
    ckpt = osp.join(data, f'london_teacher_{osp.basename(config)[:-3]}_b{batch_size}.pth')
    save_random_weights(teacher, ckpt, seed=seed, calibrate=shape)
    cfg.model.teacher_ckpt = ckpt
    for name, loss in cfg.model.losses.items():
        if loss.get('type') == 'LipschitzLoss':
            loss['mode'] = train_mode
    cfg.work_dir = osp.join(out_dir, 'runner')  # the runner's log folder
    cfg.pop('load_from', None)
    cfg.default_hooks, cfg.custom_hooks, cfg.visualizer = dict(), [], None
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=seed)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    model.init_weights()
    model.train()
    wrapper = runner.build_optim_wrapper(copy.deepcopy(cfg.optim_wrapper))
    loader = runner.build_dataloader(cfg.train_dataloader)
    london = [m for m in model.modules() if isinstance(m, LipschitzLoss)]
    if len(london) != 1:
        raise ValueError(f'{config}: expected one LipschitzLoss, found {len(london)}')
    return model, wrapper, loader, london[0]


def record_inputs(loss: LipschitzLoss, store: list):
    """Wrap ``loss.compute`` to keep a detached copy of each call's inputs."""
    compute = loss.compute

    def recording(student, teacher, ctx):
        raw = student if ctx.student_raw is None else ctx.student_raw
        store.append(([f.detach().clone() for f in student], [f.detach().clone() for f in raw],
                      [f.detach().clone() for f in teacher]))
        return compute(student, teacher, ctx)

    loss.compute = recording


def leaves(feats):
    """Fresh leaf tensors of recorded features: student (with gradient), raw, teacher."""
    student, raw, teacher = feats
    return ([f.clone().requires_grad_() for f in student],
            [f.clone().requires_grad_() for f in raw], teacher)


def call(loss: LipschitzLoss, inputs):
    """The loss on prepared leaves; returns it and its gradients in the student's features."""
    s, r, teacher = inputs
    value = loss.compute(s, teacher, DistillContext(student_raw=r))
    grads = torch.autograd.grad(value, s + r, allow_unused=True)
    return value.detach(), [torch.zeros_like(x) if g is None else g for x, g in zip(s + r, grads)]


def pair_weights(loss: LipschitzLoss, n: int):
    if loss.level_weights == 'geometric':
        return resolve_level_weights('geometric', n, 'LipschitzLoss')[:-1]
    return resolve_level_weights(loss.level_weights, n - 1, 'LipschitzLoss', 'pairs')


def exact_reference(loss: LipschitzLoss, feats):
    """Exact sigmas (float64 SVD) of every pair, and the loss and its student gradients
    built on them (svdvals is differentiable)."""
    student, raw, teacher = feats
    s = [f.double().requires_grad_() for f in student]
    r = [f.double().requires_grad_() for f in raw]
    first, nxt = {'reference': (s, r), 'connected': (s, s), 'raw': (r, r)}[loss.pairs]
    n = len(s)
    s_sig = [torch.linalg.svdvals(transmitting_matrix(first[i], nxt[i + 1]))[:, 0]
             for i in range(n - 1)]
    t_sig = [torch.linalg.svdvals(transmitting_matrix(teacher[i].double(),
                                                      teacher[i + 1].double()))[:, 0]
             for i in range(n - 1)]
    value = sum(w * F.mse_loss(a, b) for w, a, b in
                zip(pair_weights(loss, n), s_sig, t_sig)) * loss.scale
    grads = torch.autograd.grad(value, s + r, allow_unused=True)
    grads = [torch.zeros_like(x) if g is None else g for x, g in zip(s + r, grads)]
    return [x.detach() for x in s_sig + t_sig], value.detach(), grads


def estimates(loss: LipschitzLoss, feats):
    """The sigmas (student's pairs, then the teacher's) a loss module computes on these
    features in its own mode, read where ``compute`` compares them; its value; its
    gradients."""
    seen = []
    mse_loss = F.mse_loss

    def compare(a, b, *args, **kwargs):
        seen.append((a.detach(), b.detach()))
        return mse_loss(a, b, *args, **kwargs)

    with mock.patch.object(F, 'mse_loss', compare):
        value, grads = call(loss, leaves(feats))
    return [a for a, _ in seen] + [b for _, b in seen], value, grads


class OpCounter(TorchDispatchMode):
    """Counts the operations that reach a kernel (views and allocations excluded)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ not in VIEWS:
            self.count += 1
        return func(*args, **(kwargs or {}))


def time_modes(template: LipschitzLoss, modes, timed, repeats: int):
    """Median ms of forward + backward and ops per call, each mode warmed on the first."""
    losses = {m: _like(template, m) for m in modes}
    if 'warm' in modes:  # the CUDA path (pairs stacked), counted here on the CPU
        stacked = _like(template, 'warm')
        stacked.warm_sigmas = _stacking(stacked)
        losses['warm (stacked, as on CUDA)'] = stacked
    inputs = [leaves(feats) for feats in timed]
    ops, times = {}, {m: [] for m in losses}
    for m, loss in losses.items():
        call(loss, inputs[0])
        counter = OpCounter()
        with counter:
            call(loss, inputs[0])
        ops[m] = counter.count
    for _ in range(repeats):
        for prepared in inputs:
            for m, loss in losses.items():
                start = time.perf_counter()
                call(loss, prepared)
                times[m].append(time.perf_counter() - start)
    return {m: dict(ms=1e3 * statistics.median(t), ops=ops[m]) for m, t in times.items()}


def mode_options(mode: str) -> dict:
    """LipschitzLoss arguments of a mode name: paper, fast, warm or warmN (N iterations)."""
    if mode in MODES:
        return MODES[mode]
    if mode.startswith('warm') and mode[4:].isdigit():
        return dict(mode='warm', warm_iters=int(mode[4:]))
    raise ValueError(f'unknown mode {mode!r}; choose from {sorted(MODES)} or warmN')


def _like(template: LipschitzLoss, mode: str) -> LipschitzLoss:
    return LipschitzLoss(**mode_options(mode), iters=template.iters, init=template.init,
                         pairs=template.pairs, level_weights=template.level_weights,
                         scale=template.scale, loss_weight=1.0)


def _stacking(loss):
    method = type(loss).warm_sigmas
    return lambda pairs, stack=None: method(loss, pairs, stack=True)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    modes = args.modes.split(',')
    for mode in modes:
        mode_options(mode)
    torch.manual_seed(args.seed)
    model, wrapper, loader, london = build(args.config, args.batch_size, args.steps,
                                           args.train_mode, args.out_dir, args.seed, args.size)
    store = []
    record_inputs(london, store)
    replay = {m: _like(london, m) for m in modes}
    rows, timed = [], []
    batches = iter(loader)
    for step in range(args.steps):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        logs = model.train_step(batch, wrapper)
        feats = store.pop()
        store.clear()
        sig_ex, value_ex, grads_ex = exact_reference(london, feats)
        row = dict(step=step, exact_loss=float(value_ex),
                   logs={k: float(v.detach()) for k, v in logs.items()})
        for m, loss in replay.items():
            sig, value, grads = estimates(loss, feats)
            by_pair = [float(((e.double() - x).abs() / x.abs().clamp_min(1e-30)).max())
                       for e, x in zip(sig, sig_ex)]  # student's pairs, then the teacher's
            num = sum(float((g.double() - ge).pow(2).sum()) for g, ge in zip(grads, grads_ex))
            den = sum(float(ge.pow(2).sum()) for ge in grads_ex)
            row[m] = dict(sigma=max(by_pair), sigma_by_pair=by_pair,
                          loss=abs(float(value) - float(value_ex)) / max(abs(float(value_ex)),
                                                                         1e-30),
                          grad=(num / den) ** 0.5 if den > 0 else 0.0)
        rows.append(row)
        print(f'step {step:3d}  ' + '  '.join(
            f"{m}: sigma {row[m]['sigma']:.1e} loss {row[m]['loss']:.1e} "
            f"grad {row[m]['grad']:.1e}" for m in modes), flush=True)
        if step >= args.steps - args.timed:
            timed.append(feats)
    summary = {}
    for m in modes:
        later = rows[1:] or rows
        summary[m] = {f'max_{k}_error': max(r[m][k] for r in rows) for k in
                      ('sigma', 'loss', 'grad')}
        summary[m].update({f'max_{k}_error_after_step_0': max(r[m][k] for r in later)
                           for k in ('sigma', 'loss', 'grad')})
        summary[m]['steps_sigma_within_1e-3'] = sum(r[m]['sigma'] <= 1e-3 for r in rows)
    cost = time_modes(london, modes, timed, args.repeats)
    print(f'\n== {args.config}, batch {args.batch_size}, {args.steps} steps trained in '
          f"'{args.train_mode}' mode, {torch.get_num_threads()} CPU threads")
    print('largest relative error against exact SVD (float64), over samples, pairs and steps:')
    for m in modes:
        s = summary[m]
        print(f"  {m:<6} sigma {s['max_sigma_error']:.1e} (after step 0: "
              f"{s['max_sigma_error_after_step_0']:.1e}; {s['steps_sigma_within_1e-3']}/"
              f"{len(rows)} steps within 1e-3)  loss {s['max_loss_error']:.1e}  "
              f"gradient {s['max_grad_error']:.1e}")
    print('cost of the term, forward + backward (medians; the machine may be shared):')
    for m, c in cost.items():
        print(f"  {m:<28} {c['ms']:8.2f} ms  {c['ops']:5d} ops")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(config=args.config, batch_size=args.batch_size, steps=args.steps,
                           train_mode=args.train_mode, threads=torch.get_num_threads(),
                           torch=torch.__version__, rows=rows, summary=summary, cost=cost),
                      f, indent=1)


if __name__ == '__main__':
    main()
