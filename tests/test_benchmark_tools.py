"""The benchmark tools run end to end on a tiny budget (they are not timed here)."""
import json
import math
import os.path as osp
import sys

import pytest

from conftest import FASHION_ROOT, REPO, run_tool
from e2e import save_model_weights, train_one_step


@pytest.fixture
def needs_fashion():
    if not osp.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing')


def test_overhead_reports_ratios_that_match_its_timings(tmp_path, needs_fashion):
    out = tmp_path / 'overhead.json'
    proc = run_tool(['tools/benchmark/overhead.py', 'configs/lckd/cifar100_wrn28_4_wrn16_2.py',
                     '--size', '32', '--batch-size', '8', '--iters', '2', '--warmup', '1',
                     '--teacher-autocast', 'bf16', '--out', str(out),
                     '--out-dir', str(tmp_path / 'bench')])
    result = json.loads(out.read_text())
    ms = result['median_ms']
    a, b, c, d = (ms[k] for k in ('a_distill_step', 'b_teacher_truncated', 'c_student_step',
                                  'd_teacher_loss_mode'))
    assert result['overhead_vs_limit'] == pytest.approx(a / (b + c))
    assert result['truncation_saving'] == pytest.approx((d + c) / a)
    assert set(result['term_share']) == {'ofd', 'london'}
    assert result['term_share']['london'] == pytest.approx(
        (a - ms['a_without_london']) / a)
    assert result['memory']['ratio'] > 0
    assert set(result['teacher_autocast']['loss_relative_change']) == {
        'distill.loss_ofd', 'distill.loss_london'}
    last = proc.stdout.strip().splitlines()[-2:]
    assert last[0] == f"a/(b+c) = {result['overhead_vs_limit']:.3f}"
    assert last[1] == f"(d+c)/a = {result['truncation_saving']:.3f}"


def test_overhead_gpu_suite_lists_issue_sizes_and_needs_cuda(tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tools', 'benchmark'))
    import overhead
    import torch
    sizes = {(osp.basename(e['config']), e['size'], e.get('batch_size', 2))
             for e in overhead.SUITES['gpu']}
    assert {('fasterrcnn_r101_r18_voc.py', 800, 2), ('fasterrcnn_r101_r18_voc.py', 1000, 2),
            ('deeplabv3_r101_r18_voc.py', 512, 4), ('cifar100_wrn28_4_wrn16_2.py', 32, 64),
            ('cifar100_wrn28_4_wrn16_2.py', 32, 128)} <= sizes
    if not torch.cuda.is_available():
        proc = run_tool(['tools/benchmark/overhead.py', '--suite', 'gpu', '--out-dir',
                         str(tmp_path)], check=False)
        assert proc.returncode != 0
        assert 'torch sees none' in proc.stderr and '--suite cpu' in proc.stderr


def test_teacher_cache_benchmark_gives_identical_losses(tmp_path, needs_fashion):
    proc = run_tool(['tools/benchmark/teacher_cache.py', '--epochs', '2', '--samples', '64',
                     '--batch-size', '16', '--out-dir', str(tmp_path / 'cache')])
    summary = json.loads((tmp_path / 'cache' / 'teacher_cache.json').read_text())
    times = summary['epoch_seconds']
    assert set(times) == {'student alone', 'distillation', 'distillation + teacher cache'}
    assert all(len(v) == 2 for v in times.values())
    assert summary['largest_logged_loss_difference'] < 1e-4, proc.stdout[-2000:]


def assert_each_run_logs_in_its_own_folder(task_dir, results, metric, scale=1.0):
    """Every run (one worker trains them all) logs into its own folder: its own validation
    value, no other run's, from one pass over the test images (the result is the training
    loop's last validation, not a second one)."""
    for key, value in results.items():
        if key == 'teacher':
            continue
        method, seed = key.rsplit('/seed', 1)
        logs = list((task_dir / 'runs' / method.replace('+', '_') / seed).glob(
            '*/vis_data/scalars.json'))
        assert len(logs) == 1, (key, logs)
        rows = [json.loads(line) for line in logs[0].read_text().splitlines()]
        values = [r[metric] * scale for r in rows if metric in r]
        assert values == [pytest.approx(value)], (key, rows)


def test_accuracy_benchmark_runs_every_method_and_writes_the_table(tmp_path, needs_fashion):
    out = tmp_path / 'accuracy'
    run_tool(['tools/benchmark/accuracy.py', '--task', 'cls', '--budget', 'tiny',
              '--seeds', '0', '--out-dir', str(out)], timeout=1800)
    results = json.loads((out / 'cls' / 'results.json').read_text())
    methods = ['KD', 'FitNet', 'AT', 'OFD', 'CWD', 'DKD', 'LONDON', 'L2RKD', 'IE-KD', 'ICD',
               'ICD+KD', 'DIST']  # MGD, FGD, FBKD have no cls form
    assert set(results) == {'teacher', 'student alone/seed0', *(f'{m}/seed0' for m in methods)}
    assert all(0 <= v <= 100 for v in results.values())
    table = (out / 'accuracy.md').read_text()
    for method in methods:
        row = next(line for line in table.splitlines() if line.startswith(f'| {method} |'))
        change = results[f'{method}/seed0'] - results['student alone/seed0']
        assert f'| 1 | {change:+.2f} |  | one seed |' in row, row
    assert (out / 'accuracy.png').stat().st_size > 1000
    assert_each_run_logs_in_its_own_folder(out / 'cls', results, 'accuracy/top1')
    # a second call finds every run done and only rewrites the report; the teacher is not
    # retrained for it, even where its checkpoint is gone (results kept from another machine)
    (out / 'cls' / 'teacher' / 'epoch_1.pth').unlink()
    again = run_tool(['tools/benchmark/accuracy.py', '--task', 'cls', '--budget', 'tiny',
                      '--seeds', '0', '--out-dir', str(out)])
    assert ' started' not in again.stdout, again.stdout
    assert f'| {change:+.2f} |' in again.stdout  # the last method's row, as before
    (out / 'accuracy.md').unlink()
    run_tool(['tools/benchmark/accuracy.py', '--report-only', '--seeds', '0', '--out-dir',
              str(out)])
    assert (out / 'accuracy.md').read_text() == table
    empty = run_tool(['tools/benchmark/accuracy.py', '--report-only', '--out-dir',
                      str(tmp_path / 'none')], check=False)
    assert empty.returncode == 2 and f'no results under {tmp_path / "none"}' in empty.stderr
    # the kept runs came from another teacher (fake value 99.5) whose checkpoint is gone, and
    # KD's run is missing: the retrained teacher scores otherwise, so every kept distilled
    # run is set aside, and the asked-for ones (KD, DIST) train again from the new teacher
    kept = dict(results, teacher=99.5)
    del kept['KD/seed0']
    (out / 'cls' / 'results.json').write_text(json.dumps(kept))
    redo = run_tool(['tools/benchmark/accuracy.py', '--task', 'cls', '--budget', 'tiny',
                     '--seeds', '0', '--methods', 'KD', 'DIST', '--out-dir', str(out)])
    assert 'the kept runs were distilled from another teacher (99.50' in redo.stdout, redo.stdout
    now = json.loads((out / 'cls' / 'results.json').read_text())
    assert set(now) == {'teacher', 'student alone/seed0', 'KD/seed0', 'DIST/seed0'}
    assert now['teacher'] != 99.5 and now['student alone/seed0'] == results['student alone/seed0']
    aside = json.loads((out / 'cls' / 'results_teacher_99.50.json').read_text())
    assert aside == {k: v for k, v in kept.items() if k != 'student alone/seed0'}


def test_accuracy_benchmark_detection_and_segmentation_tasks(tmp_path, needs_fashion):
    out = tmp_path / 'accuracy'
    expected = {'det': {'KD', 'LONDON', 'IE-KD'}, 'gfl': {'LONDON'},
                'seg': {'KD', 'LONDON', 'IE-KD'}}
    for task, methods in expected.items():
        run_tool(['tools/benchmark/accuracy.py', '--task', task, '--budget', 'tiny', '--seeds',
                  '0', '--methods', 'KD', 'DKD', 'LONDON', 'IE-KD', '--out-dir', str(out)],
                 timeout=1800)
        results = json.loads((out / task / 'results.json').read_text())
        # DKD needs one label per sample: it has no detection or segmentation form here; the
        # GFL task has the configs of the one-stage pairs only
        assert set(results) == {'teacher', 'student alone/seed0',
                                *(f'{m}/seed0' for m in methods)}, task
        assert all(0 <= v <= 100 for v in results.values())
        spec = _accuracy_module().TASKS[task]
        assert_each_run_logs_in_its_own_folder(out / task, results, spec['metric'],
                                               spec['scale'])
    table = (out / 'accuracy.md').read_text()
    det, rest = table.split('### det\n')[1].split('### gfl\n')
    gfl, seg = rest.split('### seg\n')
    for part in (det, gfl):
        assert part.splitlines()[1].startswith('| method | mAP@0.5 (%) |'), part
    assert seg.splitlines()[1].startswith('| method | mIoU (%) |'), seg
    for part in (det, gfl, seg):
        assert '| DKD | n/a | | | | |' in part.splitlines()
    assert '| KD | n/a | | | | |' in gfl.splitlines()


# per task: the methods whose rows train one step together here (the tiny runs above train
# KD, LONDON and IE-KD; the tiny cls run DIST's cls row)
DENSE_ROWS = {'det': ('MGD', 'FGD', 'FBKD', 'DIST'), 'seg': ('MGD', 'DIST'),
              'gfl': ('FitNet', 'CWD', 'PKD', 'MGD', 'LD', 'CrossKD')}


@pytest.mark.parametrize('task', DENSE_ROWS)
def test_accuracy_benchmark_dense_method_rows_train_a_step(task, tmp_path, needs_fashion):
    """The rows of the dense-prediction methods (their configs' losses moved onto the task's
    narrow models) build and train one step together."""
    sys.path.insert(0, osp.join(REPO, 'tools', 'benchmark'))
    import accuracy
    spec, losses = accuracy.TASKS[task], {}
    for method in DENSE_ROWS[task]:
        assert accuracy.has_form(task, method), method
        losses.update(accuracy.method_settings(task, method)['losses'])
    assert len(losses) == len(DENSE_ROWS[task]), losses  # one loss entry each, none shadowed
    budget = spec['budget']['tiny']
    options = accuracy.data_options(task, budget, accuracy.prepare_data(task, budget,
                                                                        str(tmp_path)))
    teacher = str(tmp_path / 'teacher.pth')
    save_model_weights(osp.join(REPO, spec['teacher']), teacher)
    cfg = accuracy.distill_cfg(spec, dict(losses=losses, step=None, hooks=[], student_ce=None),
                               options, teacher)
    cfg.merge_from_dict({'train_dataloader.num_workers': 0,
                         'train_dataloader.persistent_workers': False})
    logged, graded, with_params = train_one_step(cfg)
    assert with_params <= graded, (with_params, graded)  # their own parts train
    for name in losses:
        assert math.isfinite(logged[f'distill.loss_{name}']), (name, logged)


def test_demo_runs_teacher_student_and_distillation(tmp_path, needs_fashion):
    work = tmp_path / 'demo'
    proc = run_tool(['tools/demo.py', '--task', 'det', '--epochs', '1', '--num-train', '16',
                     '--work-dir', str(work)], timeout=1800,
                    env={'OMP_NUM_THREADS': '2'})  # its two students side by side
    summary = json.loads((work / 'results.json').read_text())
    assert list(summary['runs']) == ['teacher', 'student alone', 'student + LONDON']
    assert all(0 <= r['score'] <= 100 for r in summary['runs'].values())
    assert '| student + LONDON |' in proc.stdout
    assert (work / 'results.png').stat().st_size > 1000
    assert (work / 'student_LONDON' / 'epoch_1_student.pth').is_file()


def _accuracy_module():
    sys.path.insert(0, osp.join(REPO, 'tools', 'benchmark'))
    import accuracy
    return accuracy


def test_accuracy_paired_intervals_against_a_hand_computation():
    """Paired differences on the same seeds only; 95 % interval mean +- t(0.975, n-1) s/sqrt(n)
    with t(0.975, 2) = 4.302653 (tables); the verdict follows the interval."""
    paired = _accuracy_module().paired
    alone = {0: 50.0, 1: 52.0, 2: 51.0, 3: 49.0}
    wide = paired({0: 51.0, 1: 54.0, 2: 54.0}, alone)  # differences 1, 2, 3: s = 1
    half = 4.302653 * 1.0 / 3 ** 0.5
    assert wide['n'] == 3 and wide['mean'] == pytest.approx(2.0)
    assert (wide['low'], wide['high']) == pytest.approx((2.0 - half, 2.0 + half), abs=1e-5)
    assert wide['verdict'] == 'no clear change'
    tight = paired({0: 51.0, 1: 53.2, 2: 52.4, 7: 90.0}, alone)  # 1.0, 1.2, 1.4; seed 7 unpaired
    half = 4.302653 * 0.2 / 3 ** 0.5
    assert tight['n'] == 3 and tight['low'] == pytest.approx(1.2 - half, abs=1e-5)
    assert tight['verdict'] == 'gain'
    loss = paired({0: 49.0, 1: 50.8, 2: 49.6}, alone)
    assert loss['verdict'] == 'loss' and loss['high'] == pytest.approx(-1.2 + half, abs=1e-5)
    assert paired({0: 55.0}, alone) == dict(mean=5.0, low=None, high=None, n=1,
                                            verdict='one seed')
    assert paired({5: 55.0}, alone) == {}


def test_accuracy_merge_adds_further_seeds_and_refuses_conflicts(tmp_path):
    accuracy = _accuracy_module()
    here, there = tmp_path / 'here', tmp_path / 'there'
    for root, values in ((here, {'teacher': 60.0, 'student alone/seed0': 50.0, 'KD/seed0': 51.0}),
                         (there, {'teacher': 60.0, 'student alone/seed3': 48.0,
                                  'KD/seed3': 50.5, 'KD/seed0': 51.0})):
        (root / 'det').mkdir(parents=True)
        (root / 'det' / 'results.json').write_text(json.dumps(values))
    run_tool(['tools/benchmark/accuracy.py', '--report-only', '--seeds', '0', '3',
              '--methods', 'KD', '--out-dir', str(here), '--merge', str(there)])
    merged = json.loads((here / 'det' / 'results.json').read_text())
    assert merged['KD/seed3'] == 50.5 and len(merged) == 5
    row = next(line for line in (here / 'accuracy.md').read_text().splitlines()
               if line.startswith('| KD |'))
    assert row.startswith('| KD | 50.75 ± 0.35 | 2 | +1.75 |'), row
    wrong = run_tool(['tools/benchmark/accuracy.py', '--report-only', '--out-dir', str(here),
                      '--merge', str(tmp_path / 'nowhere')], check=False)
    assert wrong.returncode == 2 and f'--merge: {tmp_path / "nowhere"} holds no' in wrong.stderr
    results = dict(merged, teacher=61.0)
    with pytest.raises(SystemExit, match=r'there/det/results.json was distilled from another '
                       r'det teacher \(60.00, against 61.00 here\)'):
        accuracy.merge('det', results, str(there))
    results = dict(merged, **{'KD/seed3': 49.0})
    with pytest.raises(SystemExit, match=r"has 'KD/seed3' = 50.5000, but the results here "
                       r'have 49.0000'):
        accuracy.merge('det', results, str(there))


def test_accuracy_retrained_teacher_sets_the_other_teachers_runs_aside(tmp_path):
    set_aside = _accuracy_module().set_aside_other_teacher
    results = {'teacher': 60.0, 'student alone/seed0': 50.0, 'KD/seed0': 51.0,
               'IE-KD/seed1': 49.0}
    assert set_aside(dict(results), 60.0, str(tmp_path)) == []  # the same teacher
    assert not list(tmp_path.iterdir())
    assert set_aside(results, 61.0, str(tmp_path)) == ['IE-KD/seed1', 'KD/seed0']
    assert results == {'teacher': 60.0, 'student alone/seed0': 50.0}
    aside = tmp_path / 'results_teacher_60.00.json'
    assert json.loads(aside.read_text()) == {'teacher': 60.0, 'KD/seed0': 51.0,
                                            'IE-KD/seed1': 49.0}
    # a second setting-aside from the same old teacher adds to its file
    set_aside({'teacher': 60.0, 'KD/seed2': 52.0}, 59.0, str(tmp_path))
    assert json.loads(aside.read_text())['KD/seed2'] == 52.0
    assert len(json.loads(aside.read_text())) == 4


def test_accuracy_device_cuda_refused_without_a_gpu(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    proc = run_tool(['tools/benchmark/accuracy.py', '--device', 'cuda', '--task', 'cls',
                     '--out-dir', str(tmp_path)], check=False)
    assert proc.returncode == 2 and '--device cuda: torch sees no CUDA device' in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing trained or written
