"""What a distillation step costs against its limit: teacher forward + student train step.

    python tools/benchmark/overhead.py CONFIG [--size 320] [--iters 20] [--out FILE.json]
    python tools/benchmark/overhead.py --suite cpu --out-dir work_dirs/benchmark
    python tools/benchmark/overhead.py --suite gpu --teacher-autocast bf16   # on a CUDA GPU

In one process, on the same batches, after warm-up, interleaved iteration by iteration:
  (a) the distiller's train step          (b) the teacher's truncated forward (its taps)
  (c) the student's plain train step      (d) the teacher's full forward in loss mode
and, per distillation term, (a) without that term. Reports median times, a/(b+c) (our
overhead over the limit), (d+c)/a (what truncating the teacher saves), each term's share
of the step, and peak memory of (a) against teacher inference + student training.

Runs on the offline real-pixel data at ``--size`` pixels (pretrained inits off, a teacher
with random weights: timing does not depend on them), or with ``--real-data`` on the
config's own dataloader.
"""
import argparse
import copy
import hashlib
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmkd  # noqa: E402,F401
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402

from mmkd.engine import Runner  # noqa: E402  (safe checkpoint loading, dataset checks)
from mmkd.models.teachers import one_teacher_only  # noqa: E402
from mmkd.testing import make_fashion_voc, unpack_fashion_mnist  # noqa: E402
from mmkd.testing.offline import (classification_options, detection_options,  # noqa: E402
                                  dotted, save_random_weights, segmentation_options,
                                  task_of, voc_devkit)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# The configs issue #6 names, at reduced sizes for a 2-core CPU.
CPU_SUITE = [
    dict(config='configs/lckd/fasterrcnn_r101_r18_voc.py', size=256, autocast=True),
    dict(config='configs/fitnet/fasterrcnn_r101_r18_fpn_voc.py', size=256),
    dict(config='configs/cwd/fasterrcnn_r101_r18_fpn_voc.py', size=256),
    dict(config='configs/kd/fasterrcnn_r101_r18_roi_voc.py', size=256),
    dict(config='configs/lckd/deeplabv3_r101_r18_voc.py', size=256, autocast=True),
    dict(config='configs/lckd/cifar100_wrn28_4_wrn16_2.py', size=32, batch_size=64,
         autocast=True),
    dict(config='configs/icd/cifar100_wrn28_4_wrn16_2.py', size=32, batch_size=64,
         autocast=True),
]

# The sizes of the GPU measurements in issue #16, plus Faster R-CNN at 1000 px.
GPU_SUITE = [
    dict(config='configs/lckd/fasterrcnn_r101_r18_voc.py', size=800, autocast=True),
    dict(config='configs/lckd/fasterrcnn_r101_r18_voc.py', size=1000, autocast=True),
    dict(config='configs/cwd/fasterrcnn_r101_r18_fpn_voc.py', size=800),
    dict(config='configs/lckd/deeplabv3_r101_r18_voc.py', size=512, batch_size=4,
         autocast=True),
    dict(config='configs/lckd/cifar100_wrn28_4_wrn16_2.py', size=32, batch_size=64,
         autocast=True),
    dict(config='configs/lckd/cifar100_wrn28_4_wrn16_2.py', size=32, batch_size=128,
         autocast=True),
    dict(config='configs/icd/cifar100_wrn28_4_wrn16_2.py', size=32, batch_size=64,
         autocast=True),
]
SUITES = dict(cpu=CPU_SUITE, gpu=GPU_SUITE)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', help='distillation config')
    parser.add_argument('--suite', choices=sorted(SUITES),
                        help='run the listed configs instead (gpu: needs CUDA)')
    parser.add_argument('--size', type=int, default=320, help='image size (offline data)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--iters', type=int, default=20, help='timed iterations (>= 20)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--real-data', action='store_true',
                        help="use the config's own dataloader and teacher checkpoint")
    parser.add_argument('--no-term-costs', action='store_true',
                        help='skip timing the step once without each distillation term')
    parser.add_argument('--teacher-autocast', choices=['bf16', 'fp16'],
                        help='also time the step with the teacher under this autocast, and '
                        'compare its distillation losses with the fp32 teacher')
    parser.add_argument('--out', help='JSON file (single config)')
    parser.add_argument('--table', metavar='JSON', help='print the markdown table of a '
                        'suite JSON file written earlier, and exit')
    parser.add_argument('--out-dir', default='work_dirs/benchmark',
                        help='where data, teachers and JSON files go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args()


# -- setup -------------------------------------------------------------------------------
def offline_cfg(cfg, size: int, batch_size: int, data_dir: str):
    """Point ``cfg`` at the offline data; save a random teacher. Returns the config."""
    task = task_of(cfg)
    if task == 'det':
        voc = osp.join(data_dir, f'fashion_voc_{size}')
        if not osp.isdir(voc):
            make_fashion_voc(voc, num_train=64, num_test=4, img_size=size, max_objects=6,
                             seed=0)
        options, teacher = detection_options(cfg, voc_devkit(voc, voc), size, batch_size,
                                             light=False)
    elif task == 'seg':
        voc = osp.join(data_dir, f'fashion_voc_{size}')
        if not osp.isdir(voc):
            make_fashion_voc(voc, num_train=64, num_test=4, img_size=size, max_objects=6,
                             seed=0)
        options, teacher = segmentation_options(cfg, voc, size, batch_size)
    else:
        mnist = unpack_fashion_mnist(osp.join(data_dir, 'fashion_mnist'))
        options, teacher = classification_options(cfg, mnist, batch_size,
                                                   indices=batch_size * 40)
    cfg.merge_from_dict(dotted(options))
    key = hashlib.sha1(json.dumps(teacher, sort_keys=True, default=str).encode()).hexdigest()
    ckpt = osp.join(data_dir, f'teacher_{key[:12]}.pth')  # one per teacher architecture
    if not osp.isfile(ckpt):
        save_random_weights(teacher, ckpt)
    cfg.model.teacher_ckpt = ckpt
    return cfg


def build(cfg, work_dir: str):
    """The distiller, its optimiser, the student's own optimiser, and the train loader."""
    cfg.work_dir = work_dir
    cfg.pop('load_from', None)
    cfg.default_hooks = dict()
    cfg.custom_hooks = []
    cfg.visualizer = None
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    model = runner.model
    model.init_weights()
    model.train()
    distill_wrapper = runner.build_optim_wrapper(copy.deepcopy(cfg.optim_wrapper))
    student_wrapper = build_optim_wrapper(model.student, copy.deepcopy(cfg.optim_wrapper))
    # Cost, not learning: every step still computes the whole update, but at lr 0 the many
    # timed steps from a random teacher cannot drive the student to non-finite losses.
    for wrapper in (distill_wrapper, student_wrapper):
        for group in wrapper.optimizer.param_groups:
            group['lr'] = 0.0
    return model, distill_wrapper, student_wrapper, runner.build_dataloader(
        cfg.train_dataloader)


def take_batches(loader, count: int):
    batches = []
    while len(batches) < count:
        for batch in loader:
            batches.append(batch)
            if len(batches) == count:
                break
    return batches


# -- measurement --------------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


@contextmanager
def without_terms(model, names):
    """The distiller with some loss entries removed (their taps still record)."""
    kept = model.entries
    model.entries = {k: v for k, v in kept.items() if k not in names}
    try:
        yield
    finally:
        model.entries = kept


class Phases:
    """The timed operations, each on one raw batch."""

    def __init__(self, model, distill_wrapper, student_wrapper):
        self.model, self.dw, self.sw = model, distill_wrapper, student_wrapper

    def teacher_inputs(self, batch):
        with torch.no_grad():
            data = self.model.data_preprocessor(batch, True)
        inputs = data.get('teacher_inputs', data['inputs'])
        return inputs, data['data_samples']

    def distill_step(self, batch):
        self.model.train_step(batch, self.dw)

    def student_step(self, batch):
        self.model.student.train_step(batch, self.sw)

    def teacher_truncated(self, prepared):
        self.model.teacher(*prepared)

    def teacher_loss_mode(self, prepared):
        with torch.no_grad():  # the whole network: its taps record only when reset
            self.model.teacher.model(*prepared, mode='loss')


@contextmanager
def teacher_autocast(model, dtype):
    kept = model.teacher.autocast
    model.teacher.autocast = dtype
    try:
        yield
    finally:
        model.teacher.autocast = kept


def distill_terms(model, batch):
    """The distillation loss values of one batch, without an update."""
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
    return {k: float(v) for k, v in losses.items() if k.startswith('distill.')}


def autocast_effect(model, batches, dtype):
    """Mean relative change of each distillation loss with the teacher under autocast."""
    changes = {}
    for batch in batches:
        fp32 = distill_terms(model, batch)
        with teacher_autocast(model, dtype):
            low = distill_terms(model, batch)
        for k in fp32:
            changes.setdefault(k, []).append(abs(low[k] - fp32[k]) / max(abs(fp32[k]), 1e-12))
    return {k: statistics.mean(v) for k, v in changes.items()}


def time_phases(phases, batches, prepared, terms, warmup, device, autocast=None):
    """Median seconds of each phase, interleaved per iteration, rotating the order."""
    ops = {
        'a_distill_step': lambda i: phases.distill_step(batches[i]),
        'b_teacher_truncated': lambda i: phases.teacher_truncated(prepared[i]),
        'c_student_step': lambda i: phases.student_step(batches[i]),
        'd_teacher_loss_mode': lambda i: phases.teacher_loss_mode(prepared[i]),
    }
    for name in terms + ['all']:
        def without(i, names={name} if name != 'all' else set(terms)):
            with without_terms(phases.model, names):
                phases.distill_step(batches[i])
        ops[f'a_without_{name}'] = without
    if autocast:
        def low_precision(op):
            def run(i):
                with teacher_autocast(phases.model, autocast):
                    op(i)
            return run
        ops[f'a_distill_step_{autocast}'] = low_precision(ops['a_distill_step'])
        ops[f'b_teacher_truncated_{autocast}'] = low_precision(ops['b_teacher_truncated'])
    times = {k: [] for k in ops}
    names = list(ops)
    for i in range(len(batches)):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            sync(device)
            start = time.perf_counter()
            ops[name](i)
            sync(device)
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def peak_transient(op, device) -> int:
    """Bytes of tensors the operation allocates on top of those alive before it, at its
    peak (activations, gradients, temporaries): ``torch.cuda`` statistics on GPU, the
    profiler's memory timeline on CPU (allocator caching and fragmentation left out)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        op()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                 with_stack=True) as prof:
        op()
    with tempfile.TemporaryDirectory() as tmp:
        prof.export_memory_timeline(osp.join(tmp, 'memory.json'), device='cpu')
        with open(osp.join(tmp, 'memory.json')) as f:
            _, sizes = json.load(f)
    totals = [sum(s) for s in sizes]
    return max(totals) - totals[0]


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def optimizer_bytes(wrapper) -> int:
    return sum(tensor_bytes(v for v in state.values() if torch.is_tensor(v))
               for state in wrapper.optimizer.state.values())


def measure_memory(phases, batch, prepared, device):
    """Peak tensor memory of the distillation step against teacher inference + student
    training: weights and optimiser state (counted exactly) plus each operation's transient
    peak (see :func:`peak_transient`)."""
    model = phases.model
    teacher = tensor_bytes([*model.teacher.parameters(), *model.teacher.buffers()])
    student = tensor_bytes([*model.student.parameters(), *model.student.buffers()])
    ours = tensor_bytes([*model.connectors.parameters(), *model.distill_losses.parameters(),
                         *model.distill_losses.buffers()])
    with without_terms(model, set(model.entries)):
        bare = peak_transient(lambda: phases.distill_step(batch), device)
    transient = {
        'a': peak_transient(lambda: phases.distill_step(batch), device),
        'b': peak_transient(lambda: phases.teacher_truncated(prepared), device),
        'c': peak_transient(lambda: phases.student_step(batch), device),
    }
    distill = teacher + student + ours + optimizer_bytes(phases.dw) + transient['a']
    limit = (teacher + transient['b']) + (student + optimizer_bytes(phases.sw) +
                                          transient['c'])
    mb = 1 / 2 ** 20
    return {'distill_step_mb': distill * mb, 'teacher_inference_mb': (teacher + transient['b'])
            * mb, 'student_training_mb': (limit - teacher - transient['b']) * mb,
            'ratio': distill / limit,
            # the step without any distillation term: the memory mmkd itself adds
            'framework_ratio': (distill - transient['a'] + bare) / limit}


def run_config(config, args, size, batch_size, options=None, autocast=None):
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    one_teacher_only(cfg.model, 'tools/benchmark/overhead.py (it times the teacher)')
    name = osp.splitext(osp.basename(config))[0]
    data_dir = osp.join(args.out_dir, 'data')
    os.makedirs(data_dir, exist_ok=True)
    if not args.real_data:
        cfg = offline_cfg(cfg, size, batch_size, data_dir)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix=f'overhead_{name}_') as work_dir:
        model, dw, sw, loader = build(cfg, work_dir)
    device = next(model.student.parameters()).device
    count = args.warmup + args.iters
    batches = take_batches(loader, count)
    phases = Phases(model, dw, sw)
    prepared = [phases.teacher_inputs(b) for b in batches]
    terms = [] if args.no_term_costs else list(model.entries)
    medians = time_phases(phases, batches, prepared, terms, args.warmup, device, autocast)
    memory = measure_memory(phases, batches[0], prepared[0], device)
    a, b, c, d = (medians[k] for k in ('a_distill_step', 'b_teacher_truncated',
                                       'c_student_step', 'd_teacher_loss_mode'))
    result = {
        'config': osp.relpath(osp.abspath(config), REPO),
        'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else
        f'{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads',
        'torch': torch.__version__, 'size': size if not args.real_data else 'config',
        'batch_size': batch_size, 'iters': args.iters,
        'median_ms': {k: v * 1e3 for k, v in medians.items()},
        'overhead_vs_limit': a / (b + c),
        'truncation_saving': (d + c) / a,
        'term_share': {t: (a - medians[f'a_without_{t}']) / a for t in terms},
        # the step without any distillation term, against the limit: what mmkd itself adds
        'framework_overhead': medians['a_without_all'] / (b + c) if terms else None,
        'memory': memory,
    }
    if autocast:
        low = autocast
        result['teacher_autocast'] = {
            'dtype': low,
            'teacher_speedup': b / medians[f'b_teacher_truncated_{low}'],
            'step_speedup': a / medians[f'a_distill_step_{low}'],
            'loss_relative_change': autocast_effect(model, batches[:5], low)}
    return result


def report(result) -> str:
    ms = result['median_ms']
    lines = [f"== {result['config']} ({result['size']} px, batch {result['batch_size']}, "
             f"{result['device']})"]
    lines += [f'  {k:<28} {v:9.1f} ms' for k, v in ms.items()]
    for term, share in result['term_share'].items():
        lines.append(f'  term {term:<23} {100 * share:8.1f} % of the step')
    if result['framework_overhead'] is not None:
        lines.append(f"  without any term, a/(b+c) = {result['framework_overhead']:.3f}")
    if 'teacher_autocast' in result:
        low = result['teacher_autocast']
        change = ', '.join(f'{k} {100 * v:.2f} %' for k, v in low['loss_relative_change'].items())
        lines.append(f"  teacher in {low['dtype']}: teacher x{low['teacher_speedup']:.2f} faster, "
                     f"step x{low['step_speedup']:.2f}; losses change by {change}")
    mem = result['memory']
    lines.append(f"  peak memory {mem['distill_step_mb']:.0f} MB vs teacher inference "
                 f"{mem['teacher_inference_mb']:.0f} + student training "
                 f"{mem['student_training_mb']:.0f} MB: x{mem['ratio']:.3f} "
                 f"(without any term x{mem['framework_ratio']:.3f})")
    lines.append(f"a/(b+c) = {result['overhead_vs_limit']:.3f}")
    lines.append(f"(d+c)/a = {result['truncation_saving']:.3f}")
    return '\n'.join(lines)


def markdown(results) -> str:
    """The suite as a markdown table (times in ms, medians)."""
    rows = ['| config | px | (a) step | (b) teacher | (c) student | (d) teacher loss mode | '
            'a/(b+c) | without terms | terms (% of a) | (d+c)/a | memory ratio | '
            'bf16 teacher |', '|---' * 12 + '|']
    for r in results:
        ms = r['median_ms']
        terms = ', '.join(f'{k} {100 * v:.1f}' for k, v in r['term_share'].items())
        low = r.get('teacher_autocast')
        bf16 = (f"teacher x{low['teacher_speedup']:.2f}, step x{low['step_speedup']:.2f}, "
                f"losses {max(low['loss_relative_change'].values()) * 100:.2f} %"
                if low else '')
        rows.append(
            f"| `{r['config']}` | {r['size']} | {ms['a_distill_step']:.0f} | "
            f"{ms['b_teacher_truncated']:.0f} | {ms['c_student_step']:.0f} | "
            f"{ms['d_teacher_loss_mode']:.0f} | {r['overhead_vs_limit']:.3f} | "
            f"{r['framework_overhead'] or float('nan'):.3f} | {terms} | "
            f"{r['truncation_saving']:.3f} | "
            f"{r['memory']['ratio']:.3f} | {bf16} |")
    return '\n'.join(rows)


def main():
    args = parse_args()
    if args.table:
        with open(args.table) as f:
            print(markdown(json.load(f)))
        return
    torch.set_num_threads(args.threads)
    if args.iters < 20:
        print(f'note: {args.iters} timed iterations; the published figures use >= 20')
    os.makedirs(args.out_dir, exist_ok=True)
    if args.suite == 'gpu' and not torch.cuda.is_available():
        raise SystemExit('--suite gpu times the configs on a CUDA device, and torch sees none '
                         '(torch.cuda.is_available() is False); use --suite cpu here')
    if args.suite:
        results = []
        for entry in SUITES[args.suite]:
            try:
                result = run_config(osp.join(REPO, entry['config']), args, entry['size'],
                                    entry.get('batch_size', args.batch_size),
                                    autocast=args.teacher_autocast if entry.get('autocast')
                                    else None)
            except Exception as err:  # report the others
                print(f"== {entry['config']} failed: {type(err).__name__}: {err}", flush=True)
                continue
            print(report(result), flush=True)
            results.append(result)
        out = args.out or osp.join(args.out_dir, f'overhead_{args.suite}.json')
        with open(out, 'w') as f:
            json.dump(results, f, indent=1)
        print(f'wrote {out}')
        print(markdown(results))
        for r in results:
            print(f"{r['config']}: a/(b+c) = {r['overhead_vs_limit']:.3f}, "
                  f"(d+c)/a = {r['truncation_saving']:.3f}")
        return
    if not args.config:
        raise SystemExit('give a CONFIG or --suite cpu|gpu')
    result = run_config(args.config, args, args.size, args.batch_size, args.cfg_options,
                        args.teacher_autocast)
    out = args.out or osp.join(args.out_dir, 'overhead_' + osp.splitext(
        osp.basename(args.config))[0] + '.json')
    with open(out, 'w') as f:
        json.dump(result, f, indent=1)
    print(f'wrote {out}')
    print(report(result))


if __name__ == '__main__':
    main()
