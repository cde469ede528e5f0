"""tools/dist_train.sh with 2 CPU processes (gloo): both ranks step, losses are finite,
one checkpoint is written, and --resume continues at the next iteration."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import textwrap

import pytest

from conftest import (CWD_CFG, ROOT, cli_options, det_data_options, free_port,
                      subprocess_env)

HOOK = textwrap.dedent('''
    import json, math, os
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module()
    class RecordStepsHook(Hook):
        """Test helper: each rank writes the iterations it stepped and its losses."""
        def __init__(self, out_dir):
            self.out_dir, self.steps = out_dir, []

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.steps.append(dict(iter=runner.iter, losses={
                k: float(v) for k, v in (outputs or {}).items()}))

        def after_run(self, runner):
            with open(os.path.join(self.out_dir, f'rank{runner.rank}.json'), 'a') as f:
                f.write(json.dumps(dict(world_size=runner.world_size,
                                        steps=self.steps)) + '\\n')
''')


def dist_train(tmp_path, work, max_iters, opts, base_cfg=CWD_CFG, resume=False):
    """tools/dist_train.sh on ``base_cfg`` plus the step-recording hook, 2 processes."""
    opts = dict(opts, **{'default_hooks.logger.interval': 1})
    cfg = tmp_path / 'with_hook.py'
    cfg.write_text(f'''_base_ = [{base_cfg!r}]
custom_imports = dict(imports=['kd_plugins', 'record_steps_hook'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='RecordStepsHook', out_dir={str(tmp_path)!r})]
''')
    env = subprocess_env()
    env['PYTHONPATH'] = str(tmp_path) + os.pathsep + env['PYTHONPATH']
    env['PORT'] = str(free_port())
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(cfg), '2',
           '--work-dir', work, '--max-iters', str(max_iters)]
    if resume:
        cmd.append('--resume')
    cmd += cli_options(opts)
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, failure_report(res)
    return res


def failure_report(res):
    """The lines that say why a torchrun job failed (errors, aborts, tracebacks of
    every rank), then the tail of its stderr: pytest shortens long messages."""
    lines = (res.stdout + '\n' + res.stderr).splitlines()
    keys = ('Error', 'error:', 'Traceback', 'terminate', 'what()', 'Signal', 'Abort',
            'exitcode', 'gloo', 'Connection')
    picked = [ln for ln in lines if any(k in ln for k in keys)]
    return '\n'.join(['exit code %d; lines about the failure:' % res.returncode,
                      *picked[:60], '--- stderr tail ---', *res.stderr.splitlines()[-40:]])


def read_ranks(tmp_path):
    out = {}
    for r in (0, 1):
        with open(tmp_path / f'rank{r}.json') as f:
            out[r] = [json.loads(line) for line in f]
    return out


@pytest.mark.slow
def test_two_cpu_processes_train_checkpoint_and_resume(tmp_path, toy_det_root):
    (tmp_path / 'record_steps_hook.py').write_text(HOOK)
    work = str(tmp_path / 'work')
    dist_train(tmp_path, work, 2, det_data_options(toy_det_root, batch_size=2))
    runs = read_ranks(tmp_path)
    for rank in (0, 1):
        first = runs[rank][0]
        assert first['world_size'] == 2
        assert [s['iter'] for s in first['steps']] == [0, 1]
        for step in first['steps']:
            assert step['losses'] and all(math.isfinite(v) for v in step['losses'].values())
            assert any(k.startswith('distill.') for k in step['losses'])
    # each rank trains on its own shard of the data: the two ranks' losses differ
    assert runs[0][0]['steps'][0]['losses'] != runs[1][0]['steps'][0]['losses']
    ckpts = sorted(osp.basename(p) for p in glob.glob(osp.join(work, '*.pth')))
    assert ckpts == ['iter_2.pth']

    dist_train(tmp_path, work, 4, det_data_options(toy_det_root, batch_size=2),
               resume=True)
    runs = read_ranks(tmp_path)
    for rank in (0, 1):
        assert [s['iter'] for s in runs[rank][1]['steps']] == [2, 3]
    ckpts = sorted(osp.basename(p) for p in glob.glob(osp.join(work, '*.pth')))
    assert 'iter_4.pth' in ckpts

    # and tools/dist_test.sh evaluates that checkpoint with the same 2 processes
    env = subprocess_env()
    env['PORT'] = str(free_port())
    res = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), CWD_CFG,
         osp.join(work, 'iter_4.pth'), '2', '--work-dir', work] +
        cli_options(det_data_options(toy_det_root, batch_size=2)),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'coco/bbox_mAP:' in res.stdout + res.stderr


@pytest.mark.slow
def both_ranks_stepped(tmp_path, loss_keys, iters=(0, 1)):
    """Both ranks of a 2-process run stepped ``iters`` with finite ``loss_keys``."""
    runs = read_ranks(tmp_path)
    for rank in (0, 1):
        assert runs[rank][0]['world_size'] == 2
        steps = runs[rank][0]['steps']
        assert [s['iter'] for s in steps] == list(iters)
        for step in steps:
            assert loss_keys <= set(step['losses'])
            assert all(math.isfinite(v) for v in step['losses'].values())


def test_m6_two_cpu_processes(tmp_path, toy_seg_root):
    """M6 (several teachers, adapters) under DDP: both ranks step with finite pixel and
    feature terms, one checkpoint is written."""
    from conftest import CONFIGS, seg_data_options
    (tmp_path / 'record_steps_hook.py').write_text(HOOK)
    m6 = osp.join(CONFIGS, 'multi_teacher',
                  'm6_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py')
    work = str(tmp_path / 'work')
    dist_train(tmp_path, work, 2, seg_data_options(toy_seg_root), base_cfg=m6)
    both_ranks_stepped(tmp_path, {'distill.loss_pixel', 'distill.loss_feature'})
    assert osp.isfile(osp.join(work, 'iter_2.pth'))


def test_m8_two_cpu_processes(tmp_path, toy_retrieval_root):
    """M8 (teacher and student both trained) under DDP with the P x K sampler: both
    ranks step with finite task, guide and feedback terms for both networks, one
    checkpoint is written."""
    from conftest import CONFIGS, cls_data_options
    (tmp_path / 'record_steps_hook.py').write_text(HOOK)
    m8 = osp.join(CONFIGS, 'mutual_metric',
                  'm8_wrn-16-2-512d_resnet8x0.5-128d_toy-retrieval.py')
    work = str(tmp_path / 'work')
    opts = dict(cls_data_options(toy_retrieval_root, batch_size=8),
                **{'train_dataloader.sampler.batch_size': 8})
    dist_train(tmp_path, work, 2, opts, base_cfg=m8)
    both_ranks_stepped(tmp_path, {'teacher.loss', 'student.loss', 'distill.loss_guide',
                                  'distill.loss_feedback'})
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
