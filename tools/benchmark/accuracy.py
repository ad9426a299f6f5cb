"""Does distillation help on real pixels? Every method against the student trained alone.

    python tools/benchmark/accuracy.py [--task cls] [--seeds 0 1 2] [--methods KD ...]
        [--jobs 2] [--device cpu|cuda] [--budget full|gpu|tiny] [--out-dir DIR]
        [--merge OTHER_DIR ...] [--report-only]

For each task the teacher is trained once (and IE-KD's teacher auto-encoder once), then the
student alone and the student with each method, once per seed, all with the same schedule;
a seed fixes the student's initialisation and data order, so each method is compared with
the student alone of its own seed (paired). Runs go through MMEngine's Runner, ``--jobs`` of
them at a time (each in its own process, on CPU with an equal share of the threads);
finished runs are kept in ``OUT_DIR/<task>/results.json``, so an interrupted benchmark
continues where it stopped (a retrained teacher that scores otherwise sets the runs of the
old one aside: set_aside_other_teacher), and ``--merge`` adds the runs another machine kept
(further seeds, from a copy of the same teacher). Writes ``OUT_DIR/accuracy.md``: per task, each
method's mean +- standard deviation over seeds and its paired change against the student
alone with a 95 % interval (Student's t), called a gain or a loss only where the interval
excludes 0; and ``OUT_DIR/accuracy.png``, those changes and intervals.

Tasks (all real Fashion-MNIST pixels, made offline), at the ``full`` budget (CPU):
  cls  classification on the whole Fashion-MNIST (60k training, 10k test images): a CIFAR
       ResNet-14 teacher (16-64 channels, 175k weights) and ResNet-8 student (4-16
       channels, 5k weights; configs/benchmark/fashion_mnist_{teacher,student}.py), 8
       epochs each.
  det  detection on the composed VOC set: the detection demo's Faster R-CNN pair and
       schedule (configs/demo/fashion_voc_{teacher,student}.py: 400 training images,
       teacher 36 epochs, students 15), mAP@0.5 on its 300 test images.
  gfl  one-stage detection on the same images: GFL on ResNet-18 layouts of 32 and 16 base
       channels sharing a 64-channel FPN and head (configs/benchmark/fashion_voc_gfl_
       {teacher,student}.py; teacher 36 epochs, students 15): the rows of the methods that
       need a dense head (LD, CrossKD) or have one-stage configs only (PKD).
  seg  segmentation on composed images with larger garments (56-112 pixels, at most 3 per
       image; background weighted 0.2 in the cross-entropy): DeepLabV3 on ResNet-18
       layouts of 32 and 16 base channels (configs/demo/fashion_voc_seg_{teacher,student}.py:
       teacher 36 epochs, students 10), mIoU on 300 test images.
The ``gpu`` budget (the default with ``--device cuda``) trains the same tasks on more images
for more epochs (TASKS); ``tiny`` checks that everything runs.
Each method trains with the settings of its config under configs/ (METHOD_CONFIGS: a CIFAR
config for cls, the Faster R-CNN, GFL and DeepLabV3 configs for det, gfl and seg), moved onto
the task's much narrower models (taps, connector and loss channels, OFD's BNs) and changed
only where OVERRIDES says why. A method with no config for a task (DKD needs a label per
sample: detection RoIs and pixels are not given one here; MGD, FGD, FBKD and PKD have
detection or segmentation configs only; LD and CrossKD need a dense head, which det's
Faster R-CNN lacks; the feature methods without a GFL config) is left out of that task and
shown as "n/a".
"""
import argparse
import copy
import functools
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
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.registry import RUNNERS, DefaultScope  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.modules.batchnorm import _BatchNorm  # noqa: E402

from mmkd.testing import make_fashion_voc, unpack_fashion_mnist  # noqa: E402
from mmkd.engine import prepare_cfg  # noqa: E402
from mmkd.models.model_config import load_model_cfg  # noqa: E402
from mmkd.registry import MODELS  # noqa: E402

METHODS = ('KD', 'FitNet', 'AT', 'OFD', 'CWD', 'DKD', 'LONDON', 'L2RKD', 'IE-KD', 'ICD',
           'ICD+KD', 'MGD', 'FGD', 'FBKD', 'DIST', 'PKD', 'LD', 'CrossKD')
# Each task: its teacher and student configs, its models' input, metric (scaled to %),
# students' warm-up, default seeds (five where the differences are small against their
# spread: det, gfl), settings merged into both models, and its budgets: training and test
# images, teacher and student epochs, and how the composed images are drawn (det, seg).
TASKS = {
    'cls': dict(pair='configs/benchmark/fashion_mnist', input=(1, 28, 28),
                metric='accuracy/top1', scale=1.0, label='top-1 (%)', warmup_iters=0,
                seeds=(0, 1, 2),
                full=dict(train=60000, test=10000, teacher_epochs=8, epochs=8),
                gpu=dict(train=60000, test=10000, teacher_epochs=30, epochs=30),
                tiny=dict(train=64, test=32, teacher_epochs=1, epochs=1)),
    'det': dict(pair='configs/demo/fashion_voc', input=(3, 128, 128), metric='pascal_voc/mAP',
                scale=100.0, label='mAP@0.5 (%)', warmup_iters=100, seeds=(0, 1, 2, 3, 4),
                full=dict(train=400, test=300, teacher_epochs=36, epochs=15),
                gpu=dict(train=4000, test=1000, teacher_epochs=36, epochs=24),
                tiny=dict(train=8, test=4, teacher_epochs=1, epochs=1)),
    'gfl': dict(pair='configs/benchmark/fashion_voc_gfl', input=(3, 128, 128),
                metric='pascal_voc/mAP', scale=100.0, label='mAP@0.5 (%)', warmup_iters=100,
                seeds=(0, 1, 2, 3, 4),
                full=dict(train=400, test=300, teacher_epochs=36, epochs=15),
                gpu=dict(train=4000, test=1000, teacher_epochs=36, epochs=24),
                tiny=dict(train=8, test=4, teacher_epochs=1, epochs=1)),
    'seg': dict(pair='configs/demo/fashion_voc_seg', input=(3, 128, 128), metric='mIoU',
                scale=1.0, label='mIoU (%)', warmup_iters=50, seeds=(0, 1, 2),
                full=dict(train=400, test=300, teacher_epochs=36, epochs=10, data=dict(
                    scale=(2.0, 4.0), max_objects=3)),
                gpu=dict(train=4000, test=1000, teacher_epochs=36, epochs=24, data=dict(
                    scale=(2.0, 4.0), max_objects=3)),
                tiny=dict(train=8, test=4, teacher_epochs=1, epochs=1)),
}
# The det task keeps the detection demo's settings from before the demo was sped up (64 sampled
# RoIs, mmcv's RoIAlign), so that its runs stay comparable with the table's earlier ones.
TASKS['det']['model'] = dict(
    roi_head=dict(bbox_roi_extractor=dict(roi_layer=dict(use_torchvision=False))),
    train_cfg=dict(rcnn=dict(sampler=dict(num=64))))
# cls: the whole Fashion-MNIST; the 5k-weight student alone gains little after 8 epochs
# (seed 0 at this schedule: 67.1, 78.5, 82.1, 85.4, 85.6, 84.2, 87.5, 88.3 after each epoch).
# seg: garments 56-112 pixels on the 128-pixel canvas and background pixels weighted 0.2 in
# the cross-entropy of both models; with the demo's garment sizes (28-70 pixels, 83 % of the
# pixels background) and plain cross-entropy the student alone stayed at the all-background
# solution (10.3 mIoU, where background everywhere scores 7.6); with the larger garments
# alone it reached 15.4, with both changes 25.6 (seed 0, 10 epochs).
TASKS['seg']['model'] = {head: dict(loss_decode=dict(class_weight=[0.2] + [1.0] * 10))
                         for head in ('decode_head', 'auxiliary_head')}
BUDGETS = ('full', 'gpu', 'tiny')
for _spec in TASKS.values():
    _spec.setdefault('model', {})
    _pair = _spec.pop('pair')
    _spec.update({role: f'{_pair}_{role}.py' for role in ('teacher', 'student')})
    _spec['budget'] = {size: _spec.pop(size) for size in BUDGETS}
# Each method's config under configs/ per task (cls, det, seg); None: no form for the task.
# The benchmark trains what the config sets (its losses, L2RKD's step, a student CE weight,
# custom hooks), with the channels and layers of the task's own, much narrower, models.
METHOD_CONFIGS = {
    'KD': dict(cls='kd/resnet50_resnet18_cifar100.py', det='kd/fasterrcnn_r101_r18_roi_voc.py',
               seg='kd/deeplabv3_r101_r18_voc.py'),
    'FitNet': dict(cls='fitnet/resnet50_resnet18_cifar100.py',
                   det='fitnet/fasterrcnn_r101_r18_fpn_voc.py',
                   gfl='fitnet/gfl_r101_r18_fpn_voc.py', seg='fitnet/deeplabv3_r101_r18_voc.py'),
    'AT': dict(cls='at/resnet50_resnet18_cifar100.py', det='at/fasterrcnn_r101_r18_voc.py',
               seg='at/deeplabv3_r101_r18_voc.py'),
    'OFD': dict(cls='ofd/resnet50_resnet18_cifar100.py', det='ofd/fasterrcnn_r101_r18_voc.py',
                seg='ofd/deeplabv3_r101_r18_voc.py'),
    'CWD': dict(cls='cwd/resnet50_resnet18_cifar100.py', det='cwd/fasterrcnn_r101_r18_fpn_voc.py',
                gfl='cwd/gfl_r101_r18_fpn_voc.py', seg='cwd/deeplabv3_r101_r18_voc.py'),
    'DKD': dict(cls='dkd/resnet50_resnet18_cifar100.py'),  # one label per sample only
    'LONDON': dict(cls='lckd/cifar100_resnet56_resnet20.py', det='lckd/fasterrcnn_r101_r18_voc.py',
                   gfl='lckd/gfl_r101_r18_voc.py', seg='lckd/deeplabv3_r101_r18_voc.py'),
    'L2RKD': dict(cls='l2rkd/cifar100_resnet32x4_resnet8x4.py',
                  det='l2rkd/fasterrcnn_r101_r18_voc.py', seg='l2rkd/deeplabv3_r101_r18_voc.py'),
    'IE-KD': dict(cls='iekd/cifar100_resnet56_resnet20.py', det='iekd/fasterrcnn_r101_r18_voc.py',
                  seg='iekd/deeplabv3_r101_r18_voc.py'),
    'ICD': dict(cls='icd/cifar100_wrn40_2_wrn16_2.py', det='icd/fasterrcnn_r101_r18_voc.py',
                seg='icd/deeplabv3_r101_r18_voc.py'),
    'ICD+KD': dict(cls='icd/cifar100_resnet32x4_resnet8x4_kd.py',
                   det='icd/fasterrcnn_r101_r18_voc_kd.py', seg='icd/deeplabv3_r101_r18_voc_kd.py'),
    # dense-prediction methods: MGD has no classification config; FGD (GT boxes) and FBKD
    # are two-stage detection methods here; PKD has one-stage configs only; LD and CrossKD
    # need a dense head (GFL)
    'MGD': dict(det='mgd/fasterrcnn_r101_r18_fpn_voc.py', gfl='mgd/gfl_r101_r18_fpn_voc.py',
                seg='mgd/deeplabv3_r101_r18_voc.py'),
    'FGD': dict(det='fgd/fasterrcnn_r101_r18_fpn_voc.py'),
    'FBKD': dict(det='fbkd/fasterrcnn_r101_r18_fpn_voc.py'),
    'DIST': dict(cls='dist/resnet50_resnet18_cifar100.py',
                 det='dist/fasterrcnn_r101_r18_roi_voc.py', seg='dist/deeplabv3_r101_r18_voc.py'),
    'PKD': dict(gfl='pkd/gfl_r101_r18_fpn_voc.py'),
    'LD': dict(gfl='ld/gfl_r101_r18_fpn_voc.py'),
    'CrossKD': dict(gfl='crosskd/gfl_r101_r18_fpn_voc.py'),
}
# Where the benchmark departs from a method's config, merged into its settings, and why.
OVERRIDES = {
    # Hinton's split of 0.1 CE + 0.9 KD, as RepDistiller trains KD on CIFAR (and L2RKD's clean
    # steps); the KD config keeps mmpretrain's CE at 1
    ('KD', 'cls'): dict(student_ce=0.1, losses=dict(kd=dict(loss_weight=0.9))),
    # the demo students are 2x narrower than their teachers, where the reference pairing costs
    # accuracy (README, LONDON); the demo's own LONDON config pairs the same way
    ('LONDON', 'det'): dict(losses=dict(london=dict(pairs='connected'))),
    ('LONDON', 'gfl'): dict(losses=dict(london=dict(pairs='connected'))),
    ('LONDON', 'seg'): dict(losses=dict(london=dict(pairs='connected'))),
}
# IE-KD's stage-1 auto-encoder on the task's teacher (CIFAR's 32 factor channels): the
# IEKDLoss of every task loads it, whatever factor sizes the config's larger teacher uses.
AUTOENCODER = dict(factor_channels=32)
SAME_WIDTH = ('FitNetLoss', 'ChannelWiseDivergence')  # compare features channel by channel


def task_seeds(task: str, args) -> list:
    """``--seeds``, or the task's default seeds."""
    return list(args.seeds or TASKS[task]['seeds'])


def has_form(task: str, method: str) -> bool:
    return task in METHOD_CONFIGS[method]


def _build(spec):
    """The model a student/teacher entry (config path, dict) describes, in its scope."""
    cfg, scope = load_model_cfg(spec, 'model')
    with DefaultScope.overwrite_default_scope(scope or None):
        return MODELS.build(cfg).eval()


def _stages(model) -> list:
    """``['backbone.layer1', ...]``: the backbone's stages."""
    names = dict(model.named_modules())
    return [f'backbone.layer{i}' for i in range(1, 9) if f'backbone.layer{i}' in names]


class TaskModels:
    """The task's student and teacher, built once: their stages, the output channels of a
    tap (run on a dummy batch, or the module's own width where the features do not reach)
    and the BN before a stage's last ReLU (OFD's margins)."""

    def __init__(self, spec: dict):
        self.models = dict(student=_build(osp.join(REPO, spec['student'])),
                           teacher=_build(osp.join(REPO, spec['teacher'])))
        self.stages = _stages(self.models['student'])
        self.widths = {}
        for role, model in self.models.items():
            seen = {}
            hooks = [module.register_forward_hook(
                lambda mod, args, out, name=name: seen.__setitem__(name, out))
                for name, module in model.named_modules() if name]
            with torch.no_grad():
                model.extract_feat(torch.zeros(2, *spec['input']))
            for hook in hooks:
                hook.remove()
            for name, out in seen.items():
                outs = out if isinstance(out, (tuple, list)) else [out]
                sizes = {o.shape[1] for o in outs if isinstance(o, torch.Tensor) and o.dim() > 1}
                if len(sizes) == 1:  # FPN levels of one width count as that width
                    self.widths[role, name] = sizes.pop()

    def width(self, role: str, tap):
        if isinstance(tap, (list, tuple)):
            return [self.width(role, t) for t in tap]
        name = tap.partition(':')[0]
        if (role, name) not in self.widths:  # beyond the features, e.g. a head's logits
            module = self.models[role].get_submodule(name)  # (None: a dense head's outputs)
            self.widths[role, name] = getattr(module, 'out_channels', None) or \
                getattr(module, 'out_features', None)
        return self.widths[role, name]

    def last_bn(self, tap: str) -> str:
        """The teacher's last BN inside the last block of stage ``tap``."""
        name = tap.partition(':')[0]
        module = self.models['teacher'].get_submodule(name)
        if isinstance(module, nn.Sequential):
            name, module = f'{name}.{len(module) - 1}', module[-1]
        bns = [n for n, m in module.named_modules() if isinstance(m, _BatchNorm)]
        return f'{name}.{bns[-1]}' if bns[-1] else name  # '': the tap is that BN


@functools.lru_cache(maxsize=None)
def task_models(task: str) -> TaskModels:
    return TaskModels(TASKS[task])


@functools.lru_cache(maxsize=None)
def _config_stages(student: str) -> list:
    """The stages of a config's student (given as JSON: one build per student)."""
    return _stages(_build(json.loads(student)))


def _on_task(tap, src: list, dst: list):
    """A config tap moved to the task's stages: a list of every stage of the config's student
    becomes every stage of the task's, its last stage the task's last; other taps stay."""
    if isinstance(tap, (list, tuple)):
        names = [t.partition(':')[0] for t in tap]
        if names == src and src != dst:
            return [d + tap[0][len(src[0]):] for d in dst]
        return [_on_task(t, src, dst) for t in tap]
    name, sep, where = tap.partition(':')
    return dst[-1] + sep + where if src and name == src[-1] else tap


def _one_width(width):
    """The width of a tap, or of taps that all share one (FPN levels)."""
    widths = set(width) if isinstance(width, list) else {width}
    if len(widths) != 1:
        raise ValueError(f'taps of different widths {width} where a loss takes one')
    return widths.pop()


def _adapt(entry: dict, models: TaskModels, src: list) -> dict:
    """One ``losses`` entry of a config with the task's taps, channels and BN names."""
    entry = copy.deepcopy(entry)
    for role in ('student', 'teacher'):
        entry[role] = _on_task(entry[role], src, models.stages)
    s_ch, t_ch = (models.width(r, entry[r]) for r in ('student', 'teacher'))
    kind = entry['type']
    if isinstance(entry.get('connector'), dict):
        entry['connector'].update(in_channels=s_ch, out_channels=t_ch)
    elif 'connector' not in entry and kind in SAME_WIDTH and s_ch != t_ch:
        entry['connector'] = dict(type='ConvBNConnector', in_channels=s_ch, out_channels=t_ch)
    if kind == 'OFDLoss':
        entry['teacher_bn'] = [models.last_bn(t) for t in entry['teacher']]
    elif kind == 'ICDLoss':
        entry.update(in_channels_s=s_ch, in_channels_t=t_ch)
    elif 'student_channels' in entry:  # MGD, FGD, FBKD: their own align convs per level
        entry.update(student_channels=_one_width(s_ch), teacher_channels=_one_width(t_ch))
    elif kind == 'IEKDLoss':
        entry.pop('teacher_hidden_channels', None)  # the auto-encoder's default, as stage 1
        entry.update(in_channels=s_ch, teacher_channels=t_ch, **AUTOENCODER)
    return entry


def method_settings(task: str, method: str, ae_ckpt: str = '') -> dict:
    """What the benchmark trains for ``method`` on ``task``: its config's settings on the
    task's models, with OVERRIDES applied."""
    path = osp.join(REPO, 'configs', METHOD_CONFIGS[method][task])
    cfg = Config.fromfile(path)
    student = cfg.model.student
    models = task_models(task)
    src = _config_stages(json.dumps(student.to_dict() if isinstance(student, dict) else student))
    losses = {name: _adapt(entry, models, src) for name, entry in cfg.model.losses.items()}
    for entry in losses.values():
        if 'autoencoder_ckpt' in entry:
            entry['autoencoder_ckpt'] = ae_ckpt
    setting = dict(losses=losses, step=cfg.model.get('step'), hooks=cfg.get('custom_hooks', []),
                   student_ce=student.get('head', {}).get('loss', {}).get('loss_weight')
                   if isinstance(student, dict) else None)
    return Config._merge_a_into_b(copy.deepcopy(OVERRIDES.get((method, task), {})),
                                  ConfigDict(setting)).to_dict()


def data_options(task: str, budget: dict, data_root: str) -> dict:
    splits = ('train', 'val', 'test')
    if task == 'cls':
        options = {f'{s}_dataloader.dataset.data_root': data_root for s in splits}
        options.update({f'{s}_dataloader.dataset.indices': budget['test'] for s in splits})
        options['train_dataloader.dataset.indices'] = budget['train']
        return options
    root = osp.join(data_root, 'VOC2007') + '/' if task == 'seg' else data_root
    return {f'{s}_dataloader.dataset.data_root': root for s in splits}


def prepare_data(task: str, budget: dict, out_dir: str) -> str:
    if task == 'cls':
        return unpack_fashion_mnist(osp.join(out_dir, 'fashion_mnist'))
    data = budget.get('data', {})
    drawn = ''.join(f'_{key}' + '-'.join(str(v) for v in np.atleast_1d(value))
                    for key, value in sorted(data.items()))  # e.g. _max_objects3_scale2.0-4.0
    root = osp.join(out_dir, f'fashion_voc_{budget["train"]}_{budget["test"]}{drawn}')
    make_fashion_voc(root, num_train=budget['train'], num_test=budget['test'], seed=0, **data)
    return root + '/'


def run(cfg: Config, work_dir: str, name: str, epochs: int, seed: int, save: bool,
        warmup_iters: int = 0) -> dict:
    """Train ``cfg`` for ``epochs`` and return its validation metrics."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{name}_{seed}_{time.time_ns()}'
    if cfg.get('visualizer'):  # a worker's next run would reuse its first run's visualizer
        cfg.visualizer.name = cfg.experiment_name  # (and write its losses into that folder)
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                         val_interval=epochs)  # validate once, after training
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
    if not cfg.get('val_dataloader'):
        return {}
    # the training loop's validation after the last epoch, from the runner's message hub;
    # a second pass over the test images (runner.val()) only if the loop made none
    logged = {key[len('val/'):]: buffer.current()
              for key, buffer in runner.message_hub.log_scalars.items()
              if key.startswith('val/')}
    return logged or runner.val()


def base_cfg(path: str, options: dict, model: dict) -> Config:
    """The config at ``path`` with ``options`` and the task's ``model`` settings."""
    cfg = Config.fromfile(osp.join(REPO, path))
    cfg.merge_from_dict(options)
    cfg.model = Config._merge_a_into_b(copy.deepcopy(model), cfg.model)
    cfg.setdefault('runner_type', 'mmkd.Runner')
    return cfg


def _teacher(spec: dict) -> dict:
    return dict(copy.deepcopy(spec['model']), cfg_path=osp.join(REPO, spec['teacher']))


def distill_cfg(spec: dict, setting: dict, options: dict, teacher_ckpt: str) -> Config:
    cfg = base_cfg(spec['student'], options, spec['model'])
    cfg.custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
    student = dict(copy.deepcopy(spec['model']), cfg_path=osp.join(REPO, spec['student']))
    if setting['student_ce'] is not None:
        student['head'] = dict(loss=dict(loss_weight=setting['student_ce']))
    cfg.model = dict(type='mmkd.Distiller', student=student,
                     teacher=_teacher(spec), teacher_ckpt=teacher_ckpt,
                     losses=setting['losses'])
    if setting['step']:
        cfg.model.step = setting['step']
    if setting['hooks']:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), *setting['hooks']]
    return cfg


def autoencoder_cfg(task: str, options: dict, teacher_ckpt: str) -> Config:
    """IE-KD stage 1: the teacher's auto-encoder, on the same training images, at the
    teacher tap of the task's IE-KD loss."""
    spec = TASKS[task]
    iekd = next(e for e in method_settings(task, 'IE-KD')['losses'].values()
                if e['type'] == 'IEKDLoss')
    cfg = base_cfg(spec['student'], options, spec['model'])
    cfg.custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
    cfg.model = dict(type='mmkd.TeacherAutoEncoder', teacher=_teacher(spec),
                     teacher_ckpt=teacher_ckpt, tap=iekd['teacher'], recon='l1',
                     autoencoder=dict(in_channels=iekd['teacher_channels'], **AUTOENCODER))
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


def _init_worker(threads: int, device: str) -> None:
    if device == 'cpu':  # MMEngine's Runner takes a GPU wherever torch sees one
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    import torch
    torch.set_num_threads(threads)


def _executor(jobs: int, device: str) -> ProcessPoolExecutor:
    """Worker processes (also for one job, so that a finished run is recorded at once); on
    CPU each has an equal share of the threads, on CUDA they share the GPU."""
    import torch
    threads = max(1, torch.get_num_threads() // jobs)
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context('spawn'),
                               initializer=_init_worker, initargs=(threads, device))


def write_json(file: str, value: dict) -> None:
    """Through a temporary file and a rename: a crash never leaves half a file."""
    with open(file + '.tmp', 'w') as f:
        json.dump(value, f, indent=1)
    os.replace(file + '.tmp', file)


def set_aside_other_teacher(results: dict, teacher: float, out: str) -> list:
    """A retrained teacher (its checkpoint was gone) that scores other than the kept one:
    move the kept distilled runs, which learned from the old teacher, from ``results`` into
    ``out/results_teacher_<old>.json`` (nothing is lost; the student-alone runs stay) and
    return their keys, to train again. The tables never mix two teachers."""
    old = results.get('teacher')
    if old is None or abs(old - teacher) <= 1e-6:
        return []
    moved = {k: results.pop(k) for k in list(results)
             if k != 'teacher' and not k.startswith('student alone/')}
    if moved:
        file = osp.join(out, f'results_teacher_{old:.2f}.json')
        kept = {}
        if osp.isfile(file):
            with open(file) as f:
                kept = json.load(f)
        write_json(file, {**kept, 'teacher': old, **moved})
    return sorted(moved)


def run_task(task: str, args) -> dict:
    """Train what ``OUT_DIR/<task>/results.json`` lacks: the teacher, then IE-KD's teacher
    auto-encoder, then every student run; runs that need neither start at once."""
    spec = TASKS[task]
    budget = spec['budget'][args.budget]
    out = osp.join(args.out_dir, task)
    os.makedirs(out, exist_ok=True)
    results_file = osp.join(out, 'results.json')
    results = load_results(task, args)
    options = data_options(task, budget, prepare_data(task, budget, args.out_dir))
    warmup = 0 if args.budget == 'tiny' else spec['warmup_iters']

    def score(metrics):
        return float(metrics[spec['metric']]) * spec['scale']

    def record(key, metrics):
        results[key] = score(metrics)
        write_json(results_file, results)

    teacher_dir = osp.join(out, 'teacher')
    teacher_ckpt = osp.join(teacher_dir, f'epoch_{budget["teacher_epochs"]}.pth')
    ae_ckpt = osp.join(out, 'teacher_ae', f'epoch_{budget["epochs"]}.pth')
    methods = [m for m in args.methods if has_form(task, m)]
    students = [(f'{name}/seed{seed}', name, seed) for seed in task_seeds(task, args)
                for name in ['student alone', *methods] if f'{name}/seed{seed}' not in results]
    missing = {name for _, name, _ in students}
    # a teacher (or auto-encoder) is retrained only when a missing run needs it
    need_teacher = 'teacher' not in results or (
        not osp.isfile(teacher_ckpt) and bool(missing - {'student alone'}))
    need_ae = 'IE-KD' in missing and (need_teacher or not osp.isfile(ae_ckpt))
    total, done = len(students), 0
    pool, running = _executor(args.jobs, args.device), {}

    def submit(key, label, cfg, work_dir, name, epochs, seed, save):
        print(f'[accuracy] {task}: {label} started', flush=True)
        future = pool.submit(_timed_run, cfg, work_dir, name, epochs, seed, save,
                             warmup_iters=warmup)
        running[future] = (key, label)

    def submit_students():
        for key, name, seed in [s for s in students if ready(s[1])]:
            students.remove((key, name, seed))
            cfg = base_cfg(spec['student'], options, spec['model']) \
                if name == 'student alone' else \
                distill_cfg(spec, method_settings(task, name, ae_ckpt), options,
                            teacher_ckpt)
            submit(key, f'{name}, seed {seed}', cfg,
                   osp.join(out, 'runs', name.replace('+', '_'), str(seed)), name,
                   budget['epochs'], seed, False)

    def ready(name):  # nothing that a student run of method `name` needs is still training
        return name == 'student alone' or not (need_teacher or name == 'IE-KD' and need_ae)

    def submit_ae():
        submit(None, 'IE-KD stage 1 (teacher auto-encoder)', autoencoder_cfg(
            task, options, teacher_ckpt), osp.join(out, 'teacher_ae'), 'teacher_ae',
            budget['epochs'], 0, True)

    try:
        if need_teacher:
            submit('teacher', 'the teacher', base_cfg(spec['teacher'], options, spec['model']),
                   teacher_dir,
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
                    old = results.get('teacher')
                    redo = set_aside_other_teacher(results, score(metrics), out)
                    record(key, metrics)
                    print(f'[accuracy] {task}: teacher: {results[key]:.2f} ({seconds:.0f} s)',
                          flush=True)
                    if redo:
                        print(f'[accuracy] {task}: the kept runs were distilled from another '
                              f'teacher ({old:.2f}, its checkpoint is gone): {len(redo)} runs '
                              f'set aside in {out}/results_teacher_{old:.2f}.json',
                              flush=True)
                    for redo_key in redo:  # those this invocation asks for train again
                        name, seed = redo_key.rsplit('/seed', 1)
                        if name in methods and int(seed) in task_seeds(task, args):
                            students.append((redo_key, name, int(seed)))
                            total += 1
                            need_ae = need_ae or name == 'IE-KD'  # its auto-encoder too
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


def paired(values: dict, alone: dict) -> dict:
    """The paired difference of a method against the student alone over the seeds both
    finished (same seed: same student initialisation and data order): mean, 95 % interval
    (Student's t, n - 1 degrees of freedom; none for one seed) and the verdict."""
    seeds = sorted(set(values) & set(alone))
    diffs = [values[s] - alone[s] for s in seeds]
    if not diffs:
        return {}
    mean = statistics.mean(diffs)
    if len(diffs) < 2:
        return dict(mean=mean, low=None, high=None, n=1, verdict='one seed')
    from scipy.stats import t
    half = t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / len(diffs) ** 0.5
    low, high = mean - half, mean + half
    verdict = 'gain' if low > 0 else 'loss' if high < 0 else 'no clear change'
    return dict(mean=mean, low=low, high=high, n=len(diffs), verdict=verdict)


def summarize(task: str, results: dict, methods, seeds) -> dict:
    """``{name: dict(mean, std, n, [paired])}`` over the seeds that finished; the teacher's
    entry has its one value."""
    summary = {'teacher': dict(mean=results.get('teacher'), std=0.0, n=1)}
    per_seed = {}
    for name in ['student alone', *methods]:
        per_seed[name] = {s: results[f'{name}/seed{s}'] for s in seeds
                          if f'{name}/seed{s}' in results}
        values = list(per_seed[name].values())
        if values:
            summary[name] = dict(mean=statistics.mean(values), n=len(values),
                                 std=statistics.stdev(values) if len(values) > 1 else 0.0)
            if name != 'student alone':
                summary[name]['paired'] = paired(per_seed[name], per_seed['student alone'])
    return summary


def _signed(value) -> str:
    return '' if value is None else f'{value:+.2f}'


def task_table(task: str, summary: dict, names) -> str:
    """The task's table: each method's mean ± std over seeds and its paired difference
    against the student alone with the 95 % interval and what it shows."""
    lines = [f'| method | {TASKS[task]["label"]} | n | paired change | 95 % interval | '
             'verdict |', '|---|---|---|---|---|---|']
    for name in names:
        if name not in ('teacher', 'student alone') and not has_form(task, name):
            lines.append(f'| {name} | n/a | | | | |')
            continue
        entry = summary.get(name)
        if entry is None or entry['mean'] is None:
            lines.append(f'| {name} | - | | | | |')
            continue
        if name == 'teacher':
            lines.append(f'| teacher | {entry["mean"]:.2f} | 1 | | | |')
            continue
        cells = [f'{entry["mean"]:.2f} ± {entry["std"]:.2f}', str(entry['n'])]
        pair = entry.get('paired') or {}
        if pair:
            interval = '' if pair['low'] is None else \
                f'[{_signed(pair["low"])}, {_signed(pair["high"])}]'
            verdict = f'**{pair["verdict"]}**' if pair['verdict'] in ('gain', 'loss') \
                else pair['verdict']
            cells += [_signed(pair['mean']), interval, verdict]
        else:
            cells += ['', '', '']
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write_report(summaries: dict, args) -> None:
    names = ['teacher', 'student alone', *args.methods]
    parts = [f'### {task}\n\n' + task_table(task, summary, names) + '\n\nSeeds ' +
             ', '.join(str(s) for s in task_seeds(task, args)) + '.'
             for task, summary in summaries.items()]
    text = '\n\n'.join(parts) + '\n\nMean ± standard deviation over the seeds (n: the ' \
        'seeds finished); paired change: the mean over seeds of (method - student alone) on ' \
        'the same seed, with its 95 % interval (Student\'s t); verdict: **gain** or **loss** ' \
        'where the interval excludes 0; n/a: the method has no form for the task (see the ' \
        'tool\'s docstring); -: not run.\n'
    with open(osp.join(args.out_dir, 'accuracy.md'), 'w') as f:
        f.write(text)
    print('\n' + text)
    plot(summaries, names, osp.join(args.out_dir, 'accuracy.png'))


def plot(summaries: dict, names, path: str) -> None:
    """Per task: each method's paired change against the student alone, with its 95 %
    interval; green where it shows a gain, red a loss, grey neither."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(summaries), figsize=(5.5 * len(summaries), 5),
                             squeeze=False)
    colors = {'gain': '#31a354', 'loss': '#de2d26'}
    for ax, (task, summary) in zip(axes[0], summaries.items()):
        shown = [n for n in names if summary.get(n, {}).get('paired')]
        pairs = [summary[n]['paired'] for n in shown]
        means = [p['mean'] for p in pairs]
        errors = [[p['mean'] - p['low'] if p['low'] is not None else 0 for p in pairs],
                  [p['high'] - p['mean'] if p['high'] is not None else 0 for p in pairs]]
        ax.barh(shown, means, xerr=errors, capsize=3,
                color=[colors.get(p['verdict'], '#969696') for p in pairs])
        ax.axvline(0, color='black', linewidth=0.8)
        ax.invert_yaxis()
        alone = summary.get('student alone', {})
        if alone:
            ax.set_title(f'{task}: student alone {alone["mean"]:.1f}, teacher '
                         f'{summary["teacher"]["mean"] or float("nan"):.1f}')
        ax.set_xlabel(f'change against the student alone, {TASKS[task]["label"]}, 95 % interval')
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def merge(task: str, results: dict, other_dir: str) -> int:
    """Add the runs kept in ``other_dir/<task>/results.json`` (another machine's or another
    session's, e.g. further seeds) to ``results``; return how many were new. Both must
    distil from the same teacher, and a run kept in both must have the same value."""
    file = osp.join(other_dir, task, 'results.json')
    if not osp.isfile(file):
        return 0
    with open(file) as f:
        other = json.load(f)
    if 'teacher' in results and 'teacher' in other and \
            abs(results['teacher'] - other['teacher']) > 1e-6:
        raise SystemExit(
            f'--merge: {file} was distilled from another {task} teacher ({other["teacher"]:.2f}, '
            f'against {results["teacher"]:.2f} here); copy the teacher folder '
            f'({osp.join(task, "teacher")}) before running further seeds elsewhere')
    for key, value in other.items():
        if key in results and abs(results[key] - value) > 1e-6:
            raise SystemExit(f'--merge: {file} has {key!r} = {value:.4f}, but the results '
                             f'here have {results[key]:.4f}; remove one of them')
    new = len(set(other) - set(results))
    results.update(other)
    return new


def load_results(task: str, args) -> dict:
    """``OUT_DIR/<task>/results.json`` with the ``--merge`` folders' runs added (and
    written back, so that the merged runs are kept)."""
    file = osp.join(args.out_dir, task, 'results.json')
    results = {}
    if osp.isfile(file):
        with open(file) as f:
            results = json.load(f)
    added = sum(merge(task, results, other) for other in args.merge)
    if added:
        os.makedirs(osp.dirname(file), exist_ok=True)
        write_json(file, results)
        print(f'[accuracy] {task}: {added} runs merged from {", ".join(args.merge)}', flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=[*TASKS, 'all'], default='all')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='default: 0-4 for det and gfl, 0-2 for cls and seg')
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--budget', choices=BUDGETS,
                        help='full (the default on CPU): the committed tables; gpu (the default '
                        'with --device cuda): more images and epochs; tiny: a few images, for '
                        'checking that everything runs')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu',
                        help='where the runs train (cuda: --jobs runs share the GPU)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs trained at once, each in its own process (2 on 2 cores)')
    parser.add_argument('--out-dir', help='default: work_dirs/accuracy, or '
                        'work_dirs/accuracy_<budget> for the gpu and tiny budgets')
    parser.add_argument('--report-only', action='store_true',
                        help='write the table from the kept results, train nothing')
    parser.add_argument('--merge', nargs='+', default=[], metavar='OUT_DIR',
                        help="other runs' output folders whose kept results join these "
                        '(e.g. further seeds trained elsewhere from the same teacher)')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch sees no CUDA device here')
    args.budget = args.budget or ('gpu' if args.device == 'cuda' else 'full')
    for other in args.merge:
        if not any(osp.isfile(osp.join(other, t, 'results.json')) for t in TASKS):
            parser.error(f'--merge: {other} holds no <task>/results.json '
                         f'(tasks: {", ".join(TASKS)})')
    args.out_dir = args.out_dir or 'work_dirs/accuracy' + \
        ('' if args.budget == 'full' else f'_{args.budget}')
    tasks = [] if args.report_only else list(TASKS) if args.task == 'all' else [args.task]
    summaries = {}
    for task in tasks:
        results = run_task(task, args)
        summaries[task] = summarize(task, results, args.methods, task_seeds(task, args))
    # tasks run earlier (e.g. one --task at a time) join the report
    for task in TASKS:
        if task not in summaries:
            results = load_results(task, args)
            if results:
                summaries[task] = summarize(task, results, args.methods, task_seeds(task, args))
    if not summaries:
        parser.error(f'no results under {args.out_dir}: run a task first')
    write_report({t: summaries[t] for t in TASKS if t in summaries}, args)


if __name__ == '__main__':
    main()
