"""Does distillation help on real pixels? Every method against the student trained alone.

    python tools/benchmark/accuracy.py [--task cls] [--seeds 0 1 2] [--methods KD LONDON ...]
        [--jobs 2] [--out-dir work_dirs/accuracy] [--budget full|tiny] [--report-only]

For each task the teacher is trained once (and IE-KD's teacher auto-encoder once), then the
student alone and the student with each method, once per seed, all with the same schedule.
Runs go through MMEngine's Runner, ``--jobs`` of them at a time (each in its own process
with an equal share of the CPU threads); finished runs are kept in
``OUT_DIR/<task>/results.json``, so an interrupted benchmark continues where it stopped.
Writes ``OUT_DIR/accuracy.md`` (mean +- standard deviation over seeds, and the change
against the student alone) and ``OUT_DIR/accuracy.png``.

Tasks (all real Fashion-MNIST pixels, made offline):
  cls  classification: the demo's ResNet-18-layout teacher (32 base channels) and student
       (8 base channels), 12k training images, 4k test images.
  det  detection on the composed VOC set: the detection demo's Faster R-CNN pair and
       schedule (configs/demo/fashion_voc_{teacher,student}.py: 400 training images,
       teacher 36 epochs, students 15), mAP@0.5 on its 300 test images.
  seg  segmentation on the same composed images: DeepLabV3 on ResNet-18 layouts of 32 and 16
       base channels (configs/demo/fashion_voc_seg_{teacher,student}.py: teacher 36 epochs,
       students 10), mIoU on the 300 test images.
A method with no form for a task (DKD needs a label per sample: detection RoIs and
pixels are not given one here) is left out of that task and shown as "n/a".
"""
import argparse
import copy
import json
import multiprocessing
import os
import os.path as osp
import statistics
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
from mmengine.config import Config  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402

from mmkd.datasets import make_fashion_voc, unpack_fashion_mnist  # noqa: E402
from mmkd.engine import prepare_cfg  # noqa: E402

METHODS = ('KD', 'FitNet', 'AT', 'OFD', 'CWD', 'DKD', 'LONDON', 'L2RKD', 'IE-KD', 'ICD',
           'ICD+KD')


def cls_losses(method: str, ae_ckpt: str = '') -> dict:
    """The Distiller settings of each method for the Fashion-MNIST pair (student stages of
    8/16/32/64 channels, teacher 32/64/128/256), from each paper's CIFAR setting."""
    s_ch, t_ch = [8, 16, 32, 64], [32, 64, 128, 256]
    stages = [f'backbone.layer{i}' for i in (1, 2, 3, 4)]
    pre_relu = [f'{s}:pre_relu' for s in stages]
    ofd = dict(type='OFDLoss', student=pre_relu, teacher=pre_relu, loss_weight=1e-3,
               teacher_bn=[f'backbone.layer{i}.1.bn2' for i in (1, 2, 3, 4)],
               level_weights='geometric', connector=dict(
                   type='ConvBNConnector', in_channels=s_ch, out_channels=t_ch))
    kd = dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=4.0, loss_weight=0.9)
    icd = dict(type='ICDLoss', student='neck', teacher='neck', in_channels_s=s_ch[-1],
               in_channels_t=t_ch[-1], embed_dim=128, inv_weight=0.5, loss_weight=1.0)
    table = {
        'KD': dict(losses=dict(kd=kd), student_ce=0.1),  # Hinton: 0.1 CE + 0.9 KD, tau 4
        'FitNet': dict(losses=dict(fitnet=dict(
            type='FitNetLoss', student=stages[2], teacher=stages[2], loss_weight=100.0,
            connector=dict(type='ConvBNConnector', in_channels=s_ch[2],
                           out_channels=t_ch[2])))),  # middle hint, beta 100 (RepDistiller)
        'AT': dict(losses=dict(at=dict(type='ATLoss', student=stages, teacher=stages, p=2,
                                       loss_weight=1000.0))),  # beta 1000 (RepDistiller)
        'OFD': dict(losses=dict(ofd=ofd)),
        'CWD': dict(losses=dict(cwd=dict(
            type='ChannelWiseDivergence', student=stages[3], teacher=stages[3], tau=4.0,
            loss_weight=3.0, connector=dict(type='ConvBNConnector', in_channels=s_ch[3],
                                            out_channels=t_ch[3])))),
        'DKD': dict(losses=dict(dkd=dict(type='DKDLoss', student='head.fc', teacher='head.fc',
                                         tau=4.0, alpha=1.0, beta=8.0))),
        'LONDON': dict(losses=dict(ofd=ofd, london=dict(
            type='LipschitzLoss', student=pre_relu, teacher=pre_relu, connector='ofd',
            loss_weight=1.0))),  # x 0.8, then x 0.2 (LONDON_HOOKS)
        'L2RKD': dict(losses=dict(kd=kd), student_ce=0.1,
                      virtual_samples=dict(mode='patch', alpha=1.0, prob=0.7, grid=4)),
        'IE-KD': dict(losses=dict(iekd=dict(
            type='IEKDLoss', student=stages[3], teacher=stages[3], autoencoder_ckpt=ae_ckpt,
            in_channels=s_ch[3], teacher_channels=t_ch[3], factor_channels=32,
            split='natural', distance='factor_transfer', w_inh=1.0, w_exp=1.0))),
        'ICD': dict(losses=dict(icd=icd)),
        'ICD+KD': dict(losses=dict(icd=icd, kd=dict(kd, loss_weight=1.0))),
    }
    return table.get(method)


def _backbone_methods(s_ch: list, t_ch: list, ae_ckpt: str) -> dict:
    """The methods that read only the four backbone stages, as mmkd's Faster R-CNN and
    DeepLabV3 configs set them (OFD at 1e-5 / B, LONDON with connected pairs as the demo
    config, x 0.8 then x 0.2), for a student of stage widths ``s_ch``."""
    stages = [f'backbone.layer{i}' for i in (1, 2, 3, 4)]
    pre_relu = [f'{s}:pre_relu' for s in stages]
    ofd = dict(type='OFDLoss', student=pre_relu, teacher=pre_relu, loss_weight=1e-5,
               teacher_bn=[f'{s}.1.bn2' for s in stages], level_weights='geometric',
               connector=dict(type='ConvBNConnector', in_channels=s_ch, out_channels=t_ch))
    last = dict(student=stages[3], teacher=stages[3])
    return {
        'AT': dict(losses=dict(at=dict(type='ATLoss', student=stages, teacher=stages, p=2,
                                       loss_weight=1000.0))),
        'OFD': dict(losses=dict(ofd=ofd)),
        'LONDON': dict(losses=dict(ofd=ofd, london=dict(
            type='LipschitzLoss', student=pre_relu, teacher=pre_relu, connector='ofd',
            pairs='connected', loss_weight=1.0))),
        'IE-KD': dict(losses=dict(iekd=dict(
            type='IEKDLoss', **last, autoencoder_ckpt=ae_ckpt, in_channels=s_ch[3],
            teacher_channels=t_ch[3], factor_channels=32, split='natural',
            distance='factor_transfer', w_inh=1.0, w_exp=1.0))),
        'ICD': dict(losses=dict(icd=dict(type='ICDLoss', **last, in_channels_s=s_ch[3],
                                         in_channels_t=t_ch[3], embed_dim=128,
                                         inv_weight=0.5, loss_weight=1.0))),
    }


def det_losses(method: str, ae_ckpt: str = '') -> dict:
    """Each method on the detection demo pair (backbone stages 16-128 vs 32-256 channels, FPN
    32 vs 64), with the settings of mmkd's Faster R-CNN configs (configs/<method>/)."""
    table = _backbone_methods([16, 32, 64, 128], [32, 64, 128, 256], ae_ckpt)
    neck = dict(type='ConvBNConnector', in_channels=32, out_channels=64)  # shared by levels
    roi_kd = dict(type='RoIKDLoss', tau=1.0, loss_weight=1.0, teacher='neck',
                  student=['roi_head.bbox_head.fc_cls', 'roi_head.bbox_roi_extractor:input1'])
    fitnet = dict(type='FitNetLoss', student='neck', teacher='neck', connector=neck)
    table.update({
        'KD': dict(losses=dict(roi_kd=roi_kd)),  # soft targets on the student's RoIs
        'FitNet': dict(losses=dict(fitnet=fitnet)),
        'CWD': dict(losses=dict(cwd=dict(type='ChannelWiseDivergence', student='neck',
                                         teacher='neck', tau=1.0, loss_weight=10.0,
                                         connector=neck))),
        'L2RKD': dict(losses=dict(fitnet=fitnet),
                      virtual_samples=dict(mode='mixup', alpha=1.0, prob=0.5)),
        'ICD+KD': dict(losses=dict(table['ICD']['losses'], roi_kd=roi_kd)),
    })
    return table.get(method)


def seg_losses(method: str, ae_ckpt: str = '') -> dict:
    """Each method on the segmentation demo pair (backbone stages 16-128 vs 32-256 channels,
    DeepLabV3 heads), with the settings of mmkd's DeepLabV3 configs (configs/<method>/)."""
    table = _backbone_methods([16, 32, 64, 128], [32, 64, 128, 256], ae_ckpt)
    logits = 'decode_head.conv_seg'
    kd = dict(type='KDLoss', student=logits, teacher=logits, tau=4.0, loss_weight=1.0)
    table.update({
        'KD': dict(losses=dict(kd=kd)),  # per pixel
        'FitNet': dict(losses=dict(fitnet=dict(
            type='FitNetLoss', student='backbone.layer4', teacher='backbone.layer4',
            connector=dict(type='ConvBNConnector', in_channels=128, out_channels=256)))),
        'CWD': dict(losses=dict(cwd=dict(type='ChannelWiseDivergence', student=logits,
                                         teacher=logits, tau=1.0, loss_weight=3.0))),
        'L2RKD': dict(losses=dict(kd=kd),
                      virtual_samples=dict(mode='patch', alpha=1.0, prob=0.5, grid=4)),
        'ICD+KD': dict(losses=dict(table['ICD']['losses'], kd=kd)),
    })
    return table.get(method)


TASKS = {
    'cls': dict(
        teacher='configs/demo/fashion_mnist_teacher.py',
        student='configs/demo/fashion_mnist_student.py',
        metric='accuracy/top1', scale=1.0, label='top-1 (%)', warmup_iters=0,
        losses=cls_losses, ae_tap='backbone.layer4', ae_channels=256,
        budget=dict(full=dict(train=12000, test=4000, teacher_epochs=2, epochs=1),
                    tiny=dict(train=64, test=32, teacher_epochs=1, epochs=1))),
    'det': dict(
        teacher='configs/demo/fashion_voc_teacher.py',
        student='configs/demo/fashion_voc_student.py',
        metric='pascal_voc/mAP', scale=100.0, label='mAP@0.5 (%)', warmup_iters=100,
        losses=det_losses, ae_tap='backbone.layer4', ae_channels=256,
        budget=dict(full=dict(train=400, test=300, teacher_epochs=36, epochs=15),
                    tiny=dict(train=8, test=4, teacher_epochs=1, epochs=1))),
    'seg': dict(
        teacher='configs/demo/fashion_voc_seg_teacher.py',
        student='configs/demo/fashion_voc_seg_student.py',
        metric='mIoU', scale=1.0, label='mIoU (%)', warmup_iters=50,
        losses=seg_losses, ae_tap='backbone.layer4', ae_channels=256,
        budget=dict(full=dict(train=400, test=300, teacher_epochs=36, epochs=10),
                    tiny=dict(train=8, test=4, teacher_epochs=1, epochs=1))),
}
# LONDON's alpha schedule in the reference code: 0.8 for the first 60 % of epochs, then 0.2
LONDON_HOOKS = [dict(type='mmkd.DistillLossWeightHook', by_epoch=True, schedules=dict(
    london=dict(type='step', milestones=[0.6], values=[0.8, 0.2])))]


def data_options(task: str, budget: dict, data_root: str) -> dict:
    splits = ('train', 'val', 'test')
    if task == 'cls':
        options = {f'{s}_dataloader.dataset.data_root': data_root for s in splits}
        options.update({f'{s}_dataloader.dataset.indices': budget['test'] for s in splits})
        options['train_dataloader.dataset.indices'] = budget['train']
        return options
    root = data_root if task == 'det' else osp.join(data_root, 'VOC2007') + '/'
    return {f'{s}_dataloader.dataset.data_root': root for s in splits}


def prepare_data(task: str, budget: dict, out_dir: str) -> str:
    if task == 'cls':
        return unpack_fashion_mnist(osp.join(out_dir, 'fashion_mnist'))
    root = osp.join(out_dir, f'fashion_voc_{budget["train"]}_{budget["test"]}')
    make_fashion_voc(root, num_train=budget['train'], num_test=budget['test'], seed=0)
    return root + '/'


def run(cfg: Config, work_dir: str, name: str, epochs: int, seed: int, save: bool,
        warmup_iters: int = 0) -> dict:
    """Train ``cfg`` for ``epochs`` and return its validation metrics."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{name}_{seed}_{time.time_ns()}'
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                         val_interval=epochs + 1)  # validate once, after training
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=epochs if save else -1,
                                        save_last=save, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs,
                                eta_min=0.0, convert_to_iter_based=True)]
    if warmup_iters:  # detectors and segmentors from scratch need the configs' warm-up
        cfg.param_scheduler.insert(0, dict(type='LinearLR', start_factor=0.01, by_epoch=False,
                                           begin=0, end=warmup_iters))
    cfg.log_level = 'WARNING'
    prepare_cfg(cfg, 'none')
    runner = RUNNERS.build(cfg)
    runner.train()
    return runner.val() if cfg.get('val_dataloader') else {}


def base_cfg(path: str, options: dict) -> Config:
    cfg = Config.fromfile(osp.join(REPO, path))
    cfg.merge_from_dict(options)
    cfg.setdefault('runner_type', 'mmkd.Runner')
    return cfg


def distill_cfg(spec: dict, method: str, setting: dict, options: dict, teacher_ckpt: str
                ) -> Config:
    cfg = base_cfg(spec['student'], options)
    cfg.custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
    student = dict(cfg_path=osp.join(REPO, spec['student']))
    if 'student_ce' in setting:
        student['head'] = dict(loss=dict(loss_weight=setting['student_ce']))
    model = dict(type='mmkd.Distiller', student=student,
                 teacher=osp.join(REPO, spec['teacher']), teacher_ckpt=teacher_ckpt,
                 losses=setting['losses'])
    if 'virtual_samples' in setting:
        model['virtual_samples'] = setting['virtual_samples']
    cfg.model = model
    if method == 'LONDON':
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), *LONDON_HOOKS]
    return cfg


def autoencoder_cfg(spec: dict, options: dict, teacher_ckpt: str) -> Config:
    """IE-KD stage 1: the teacher's auto-encoder, on the same training images."""
    cfg = base_cfg(spec['student'], options)
    cfg.custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
    cfg.model = dict(type='mmkd.TeacherAutoEncoder', teacher=osp.join(REPO, spec['teacher']),
                     teacher_ckpt=teacher_ckpt, tap=spec['ae_tap'], recon='l1',
                     autoencoder=dict(in_channels=spec['ae_channels'], factor_channels=32))
    cfg.optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                                            weight_decay=5e-4))
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader',
                'test_evaluator', 'test_cfg'):
        cfg[key] = None
    return cfg


def _timed_run(*args, **kwargs):
    """``run``, and the seconds it took."""
    start = time.time()
    return run(*args, **kwargs), time.time() - start


def _set_threads(threads: int) -> None:
    import torch
    torch.set_num_threads(threads)


def _executor(jobs: int) -> ProcessPoolExecutor:
    """Worker processes (also for one job, so that a finished run is recorded at once)."""
    import torch
    threads = max(1, torch.get_num_threads() // jobs)
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context('spawn'),
                               initializer=_set_threads, initargs=(threads, ))


def run_task(task: str, args) -> dict:
    """Train what ``OUT_DIR/<task>/results.json`` lacks: the teacher, then IE-KD's teacher
    auto-encoder, then every student run; runs that need neither start at once."""
    spec = TASKS[task]
    budget = spec['budget'][args.budget]
    out = osp.join(args.out_dir, task)
    os.makedirs(out, exist_ok=True)
    results_file = osp.join(out, 'results.json')
    results = {}
    if osp.isfile(results_file):
        with open(results_file) as f:
            results = json.load(f)
    options = data_options(task, budget, prepare_data(task, budget, args.out_dir))
    warmup = spec['warmup_iters'] if args.budget == 'full' else 0

    def record(key, metrics):
        results[key] = float(metrics[spec['metric']]) * spec['scale']
        with open(results_file + '.tmp', 'w') as f:  # a crash never leaves half a file
            json.dump(results, f, indent=1)
        os.replace(results_file + '.tmp', results_file)

    teacher_dir = osp.join(out, 'teacher')
    teacher_ckpt = osp.join(teacher_dir, f'epoch_{budget["teacher_epochs"]}.pth')
    ae_ckpt = osp.join(out, 'teacher_ae', f'epoch_{budget["epochs"]}.pth')
    methods = [m for m in args.methods if spec['losses'](m) is not None]
    students = [(f'{name}/seed{seed}', name, seed) for seed in args.seeds
                for name in ['student alone', *methods] if f'{name}/seed{seed}' not in results]
    missing = {name for _, name, _ in students}
    # a teacher (or auto-encoder) is retrained only when a missing run needs it
    need_teacher = 'teacher' not in results or (
        not osp.isfile(teacher_ckpt) and bool(missing - {'student alone'}))
    need_ae = 'IE-KD' in missing and (need_teacher or not osp.isfile(ae_ckpt))
    total, done = len(students), 0
    pool, running = _executor(args.jobs), {}

    def submit(key, label, cfg, work_dir, name, epochs, seed, save):
        print(f'[accuracy] {task}: {label} started', flush=True)
        future = pool.submit(_timed_run, cfg, work_dir, name, epochs, seed, save,
                             warmup_iters=warmup)
        running[future] = (key, label)

    def submit_students():
        for key, name, seed in [s for s in students if ready(s[1])]:
            students.remove((key, name, seed))
            cfg = base_cfg(spec['student'], options) if name == 'student alone' else \
                distill_cfg(spec, name, spec['losses'](name, ae_ckpt), options, teacher_ckpt)
            submit(key, f'{name}, seed {seed}', cfg,
                   osp.join(out, 'runs', name.replace('+', '_'), str(seed)), name,
                   budget['epochs'], seed, False)

    def ready(name):  # nothing that a student run of method `name` needs is still training
        return name == 'student alone' or not (need_teacher or name == 'IE-KD' and need_ae)

    def submit_ae():
        submit(None, 'IE-KD stage 1 (teacher auto-encoder)', autoencoder_cfg(
            spec, options, teacher_ckpt), osp.join(out, 'teacher_ae'), 'teacher_ae',
            budget['epochs'], 0, True)

    try:
        if need_teacher:
            submit('teacher', 'the teacher', base_cfg(spec['teacher'], options), teacher_dir,
                   'teacher', budget['teacher_epochs'], 0, True)
        elif need_ae:
            submit_ae()
        submit_students()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                key, label = running.pop(future)
                metrics, seconds = future.result()
                if key == 'teacher':
                    record(key, metrics)
                    print(f'[accuracy] {task}: teacher: {results[key]:.2f} ({seconds:.0f} s)',
                          flush=True)
                    need_teacher = False
                    if need_ae:
                        submit_ae()
                elif key is None:
                    print(f'[accuracy] {task}: {label} done ({seconds:.0f} s)', flush=True)
                    need_ae = False
                else:
                    record(key, metrics)
                    done += 1
                    print(f'[accuracy] {task}: {label}: {results[key]:.2f} ({seconds:.0f} s; '
                          f'{done}/{total} student runs done)', flush=True)
            submit_students()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def summarize(task: str, results: dict, methods, seeds) -> dict:
    """``{name: (mean, std, n)}`` over the seeds that finished."""
    summary = {'teacher': (results.get('teacher'), 0.0, 1)}
    for name in ['student alone', *methods]:
        values = [results[f'{name}/seed{s}'] for s in seeds if f'{name}/seed{s}' in results]
        if values:
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            summary[name] = (statistics.mean(values), std, len(values))
    return summary


def write_report(summaries: dict, args) -> None:
    lines = ['| method | ' + ' | '.join(f'{t}: {TASKS[t]["label"]}' for t in summaries) + ' |',
             '|---|' + '---|' * len(summaries)]
    names = ['teacher', 'student alone', *args.methods]
    for name in names:
        cells = []
        for task, summary in summaries.items():
            if name not in ('teacher', 'student alone') and TASKS[task]['losses'](name) is None:
                cells.append('n/a')
                continue
            if name not in summary or summary[name][0] is None:
                cells.append('-')
                continue
            mean, std, n = summary[name]
            cell = f'{mean:.2f}' if name == 'teacher' else f'{mean:.2f} ± {std:.2f}'
            if name != 'teacher' and n < len(args.seeds):
                cell += f' (n={n})'  # not every seed has finished
            alone = summary.get('student alone')
            if name not in ('teacher', 'student alone') and alone:
                cell += f' ({mean - alone[0]:+.2f})'
            cells.append(cell)
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    seeds = ', '.join(str(s) for s in args.seeds)
    text = '\n'.join(lines) + f'\n\nMean ± standard deviation over seeds {seeds}; in ' \
        'brackets, the change against the student alone; n/a: the method has no form for ' \
        'the task (see the tool\'s docstring); -: not run.\n'
    with open(osp.join(args.out_dir, 'accuracy.md'), 'w') as f:
        f.write(text)
    print('\n' + text)
    plot(summaries, names, osp.join(args.out_dir, 'accuracy.png'))


def plot(summaries: dict, names, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(summaries), figsize=(7 * len(summaries), 3.8),
                             squeeze=False)
    for ax, (task, summary) in zip(axes[0], summaries.items()):
        shown = [n for n in names if n in summary and summary[n][0] is not None]
        means = [summary[n][0] for n in shown]
        stds = [summary[n][1] for n in shown]
        colors = ['#555555', '#9ecae1'] + ['#3182bd'] * (len(shown) - 2)
        ax.bar(shown, means, yerr=stds, capsize=3, color=colors)
        alone = summary.get('student alone')
        if alone:
            ax.axhline(alone[0], color='#9ecae1', linestyle='--', linewidth=1)
        ax.set_ylim(max(0, min(means) - 5), min(100, max(means) + 3))
        ax.set_ylabel(TASKS[task]['label'])
        ax.set_title(f'{task}: mean ± std over seeds')
        ax.tick_params(axis='x', rotation=60)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=[*TASKS, 'all'], default='all')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--budget', choices=['full', 'tiny'], default='full',
                        help='tiny: a few images, for checking that everything runs')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs trained at once, each in its own process (2 on 2 cores)')
    parser.add_argument('--out-dir', default='work_dirs/accuracy')
    parser.add_argument('--report-only', action='store_true',
                        help='write the table from the kept results, train nothing')
    args = parser.parse_args()
    tasks = [] if args.report_only else list(TASKS) if args.task == 'all' else [args.task]
    summaries = {}
    for task in tasks:
        results = run_task(task, args)
        summaries[task] = summarize(task, results, args.methods, args.seeds)
    # tasks run earlier (e.g. one --task at a time) join the report
    for task in TASKS:
        file = osp.join(args.out_dir, task, 'results.json')
        if task not in summaries and osp.isfile(file):
            with open(file) as f:
                summaries[task] = summarize(task, json.load(f), args.methods, args.seeds)
    if not summaries:
        parser.error(f'no results under {args.out_dir}: run a task first')
    write_report({t: summaries[t] for t in TASKS if t in summaries}, args)


if __name__ == '__main__':
    main()
