"""What a finished benchmark (engine.Results) publishes: the protocol-v2 JSON of
../shared/BENCHMARKS.md, the markdown table, the plot, the README embeds, and the
README's summary table of the project's methods.

    from .report import publish, summary_table     # cli.py calls publish

Paired comparisons (rule 5): over the same seeds, the mean of (A - B) and its standard
error (sample std / sqrt(n)); A beats B when the mean is above the error. Every
distilling row is compared with the no-KD student and with the best baseline of its
task (the best mean of the mmrazor:* / baseline:* distilling rows; a baseline is
compared with the best other one). Nothing here trains or reads a log.
"""
import datetime
import glob
import json
import math
import os
import os.path as osp
import re
import statistics

from .engine import fmt_scale
from .jobs import ROOT, write_json, write_text
from .spec import METRICS, PROTOCOL, SCALES, TUNING_SEED, scale_order

# method -> (task, config folder, what it adds: one line from ../shared/DESIGN.md)
METHODS = {
    'M1': ('detection', 'configs/attention_imitation',
           'teacher attention picks where and what the student imitates (neck features '
           "and box outputs, also through the teacher's head)"),
    'M2': ('detection', 'configs/confidence_guided',
           "the teacher's confidence builds soft labels and the feature mask, no boxes "
           "needed (also through the teacher's head)"),
    'M3': ('semi-supervised', 'configs/semi_adaptive',
           'M2 on unlabeled images too, weighted up where the teacher is unsure or the '
           'student far off'),
    'M4': ('detection', 'configs/info_map',
           "a teacher information map weights feature imitation at backbone and neck"),
    'M5': ('classification', 'configs/hybrid_attention',
           "spatial + channel attention transfer on the teacher's most active channels"),
    'M6': ('segmentation', 'configs/multi_teacher',
           'several teachers weighted per image by their quality, boundary pixels '
           'weighted up'),
    'M7': ('data-free', 'configs/dual_generator',
           'no training images: a hard-sample and an easy-sample generator teach the '
           'student'),
    'M8': ('retrieval', 'configs/mutual_metric',
           "relational guidance from the teacher, and the student's feedback trains "
           'the teacher too'),
}
TITLES = {'detection': 'Detection', 'semi-supervised': 'Semi-supervised detection',
          'classification': 'Classification', 'data-free': 'Data-free',
          'segmentation': 'Segmentation', 'retrieval': 'Metric-learning'}
# names of Task.secondary keys in the markdown
SECONDARY = {'boundary_F': 'Boundary F', 'NMI': 'NMI'}
SUMMARY = '<!-- benchmark:summary -->'
END = '<!-- /benchmark -->'


# ---------------------------------------------------------------------- statistics
def mean_std(values):
    """Mean and sample standard deviation (0 for one value)."""
    m = statistics.fmean(values)
    return m, statistics.stdev(values) if len(values) > 1 else 0.0


def paired(a, b):
    """``dict(mean, se, n, beats)`` of the per-seed differences ``a - b``."""
    d = [x - y for x, y in zip(a, b)]
    m = statistics.fmean(d)
    if len(d) < 2:
        return dict(mean=round(m, 5), se=None, n=len(d), beats=False)
    se = statistics.stdev(d) / math.sqrt(len(d))
    return dict(mean=round(m, 5), se=round(se, 5), n=len(d), beats=bool(m > se))


def is_baseline(name):
    return name.startswith(('mmrazor:', 'baseline:'))


def ablated_method(name):
    """``'M4'`` for an ablation / variant row ``'M4-neck_only'``; None otherwise."""
    m = re.fullmatch(r'(M[1-8])-.+', name)
    return m.group(1) if m else None


def reference_of(task, name):
    """The row an ablation / variant row is compared with (``M4`` for ``M4-neck_only``,
    a baseline's ``variant_of``); None for other rows."""
    row = task.row(name)
    return (row and row.variant_of) or ablated_method(name)


# ------------------------------------------------------------------------ document
def _secondary_and_drops(task, rows, per, base):
    """Into each distilling row's extra: ``paired_vs_baselines`` (the metric against
    every baseline, when there are several), ``paired_<k>`` (the task's secondary metrics,
    paired against every baseline and its ablation reference, this row minus that one)
    and ``paired_drop_vs`` (``Row.drop_vs``)."""
    by_name = {r['name']: r for r in rows}
    for r in rows:
        if 'sweep' not in r:
            continue
        name, extra = r['name'], r['extra']
        ref = reference_of(task, name)
        others = [b for b in base if b != name and len(per[b]) == len(per[name])]
        if len(others) > 1:  # the metric against each baseline, not only the best
            extra['paired_vs_baselines'] = {b: paired(per[name], per[b]) for b in others}
        for k in task.secondary:
            mine = extra.get(f'{k}_per_seed')
            out = {}
            for other in [b for b in base if b != name] + [ref]:
                theirs = by_name.get(other, {}).get('extra', {}).get(f'{k}_per_seed')
                if mine and theirs and len(theirs) == len(mine):
                    out[other] = paired(mine, theirs)
            if out:
                extra[f'paired_{k}'] = out
        other = task.row(name).drop_vs
        other_ref = other and reference_of(task, other)
        if ref in per and other in per and other_ref in per and \
                len({len(per[n]) for n in (name, ref, other, other_ref)}) == 1:
            mine = [a - b for a, b in zip(per[ref], per[name])]
            theirs = [a - b for a, b in zip(per[other_ref], per[other])]
            extra['paired_drop_vs'] = dict(
                row=other, ref=ref, other_ref=other_ref, drop=paired(per[ref], per[name]),
                other_drop=paired(per[other_ref], per[other]),
                **paired(theirs, mine))


def _extra_means(results):
    keys = list(results[0].get('extra') or {})
    out = {}
    for k in keys:
        vals = [r['extra'][k] for r in results if k in (r.get('extra') or {})]
        if len(vals) == len(results) and all(isinstance(v, (int, float)) for v in vals):
            out[k] = round(statistics.fmean(vals), 5)
            out[f'{k}_per_seed'] = vals
    pcs = [r.get('per_class') for r in results]
    if all(pcs):
        out['per_class_mean'] = {c: round(statistics.fmean(p[c] for p in pcs), 4)
                                 for c in pcs[0] if all(c in p for p in pcs)}
        out['per_class_min'] = {c: round(min(p[c] for p in pcs), 4) for c in pcs[0]
                                if all(c in p for p in pcs)}
    return out


def document(r):
    """The result file (a dict) of finished results ``r`` (engine.Results)."""
    task, s, plan = r.task, r.settings, r.plan
    names = ['teacher'] + [row.name for row in task.rows]
    states = plan.rows
    per = {n: states[n].values() for n in names if states[n].complete}
    student = per.get('student')
    s_mean = statistics.fmean(student) if student else None
    t_mean = statistics.fmean(per['teacher']) if 'teacher' in per else None
    base = [n for n in per if is_baseline(n) and states[n].role == 'distilling'
            and not (task.row(n) and task.row(n).variant_of)]  # variants are ablations
    timing = plan.timing or {}
    rows, failed = [], []
    for name in names:
        st = states[name]
        failed += [dict((k, f.get(k)) for k in ('row', 'tag', 'seed', 'log', 'returncode',
                                                'reason')) for f in st.failed]
        if name not in per:
            continue
        vals = per[name]
        m, sd = mean_std(vals)
        results = [st.seeds[seed] for seed in st.want]
        row = dict(name=name, per_seed=[round(v, 5) for v in vals], mean=round(m, 5),
                   std=round(sd, 5))
        extra = _extra_means(results)
        extra.update(config=st.config, schedule=st.schedule,
                     seconds_per_seed=[x.get('seconds') for x in results])
        if task.row(name) and task.row(name).note:
            extra['note'] = task.row(name).note
        if st.role == 'distilling':
            row['start'] = {'loss_weights': st.start, 'from': st.start_from}
            row['sweep'] = [dict(scale=sc, val=round(st.sweep[sc]['value'], 5))
                            for sc in scale_order(st.sweep)]  # the validator's max()
            # picks the first of equal scores: ours
            row['chosen'] = dict(scale=st.chosen, loss_weights={
                k: v * st.chosen for k, v in st.start.items()})
            others = [b for b in base if b != name]
            best = max(others, key=lambda b: statistics.fmean(per[b])) if others else None
            if student:
                extra['paired_vs_student'] = paired(vals, student)
            if best:
                extra['paired_vs_best_baseline'] = dict(row=best, **paired(vals, per[best]))
            ref = 'student' if is_baseline(name) or best is None else best
            if ref in per:
                row['paired_vs'] = dict(row=ref, **paired(vals, per[ref]))
            method = reference_of(task, name)
            if method in per and len(per[method]) == len(vals):
                # the research claim of an ablation: the method beats it
                extra['paired_method_vs_ablation'] = dict(
                    row=method, **paired(per[method], vals))
            if t_mean is not None and s_mean is not None and t_mean > s_mean:
                extra['gap_closed'] = round((m - s_mean) / (t_mean - s_mean), 4)
            for field in ('time_per_iter_ratio', 'overhead_vs_floor'):
                value = (timing.get(field) or {}).get(name)
                if value is not None:
                    row[field] = round(value, 3)
            for field in ('seconds_per_iter', 'floor_seconds', 'teacher_without_autograd'):
                value = (timing.get(field) or {}).get(name)
                if value is not None:
                    extra[field] = value
        elif name not in ('student', 'teacher'):
            ref = 'teacher' if st.role == 'derived' else 'student'
            if ref in per and len(per[ref]) == len(vals):
                extra[f'paired_vs_{ref}'] = paired(vals, per[ref])
            method = task.row(name) and task.row(name).variant_of
            if method in per and len(per[method]) == len(vals):
                # a derived variant (baseline:no-feedback-teacher): its reference minus it
                extra['paired_method_vs_ablation'] = dict(
                    row=method, **paired(per[method], vals))
        if name == 'teacher':
            extra.update(st.extra, seeds_trained=list(st.want))
        elif name == 'student' and timing.get('seconds_per_iter'):
            extra['seconds_per_iter'] = timing['seconds_per_iter'].get('student')
        mems = [x.get('peak_mem_mb') for x in results if x.get('peak_mem_mb') is not None]
        if mems:
            row['peak_mem_mb'] = max(mems)
        row['extra'] = extra
        rows.append(row)
    _secondary_and_drops(task, rows, per, base)
    if plan.timing_failed:
        failed.append(dict((k, plan.timing_failed.get(k)) for k in (
            'row', 'tag', 'seed', 'log', 'returncode', 'reason')))
    meta = r.meta or {}
    data = task.data
    return dict(
        protocol=PROTOCOL, task=task.task, dataset=task.dataset_at(s.scale), split='test',
        machine=s.machine, command=s.command, date=datetime.date.today().isoformat(),
        metric=task.metric, seeds=list(s.seeds),
        tuning=dict(split='val', seed=TUNING_SEED, scales=list(s.scales)),
        calibration=r.calibration(), rows=rows, failed=failed,
        settings=dict(
            scale=s.scale, smoke=s.smoke, jobs=s.jobs, threads_per_run=s.threads,
            configs={n: states[n].config for n in names},
            schedules={n: states[n].schedule for n in names},
            teachers={t.name: dict(config=t.config, schedule=t.schedule.describe(
                t.schedule.at(s.scale, s.smoke)), select_on_val=t.select_on_val,
                report_seeds=t.report_seeds) for t in task.teachers},
            best_teacher=plan.best, secondary=list(task.secondary),
            data=dict(root=data.root_at(s.scale), kind=data.kind, args=meta.get('args'),
                      flags=data.flags(s.scale)),
            timing={k: v for k, v in timing.items() if k not in (
                'time_per_iter_ratio', 'overhead_vs_floor')}))


# ------------------------------------------------------------------------ markdown
def _num(v, digits=4):
    return '' if v is None else f'{v:.{digits}f}'


def _delta(p, vs=None):
    if not p:
        return ''
    text = f'{p["mean"]:+.4f} ± ' + ('n/a (1 seed)' if p['se'] is None else _num(p['se']))
    if vs:
        text += f' vs {vs}'
    return text + (' (beats)' if p['beats'] else ' (does not beat)')


def _loss(p):
    return f'{p["mean"]:+.4f} ± ' + ('n/a' if p['se'] is None else _num(p['se']))


def _weights(start):
    if not start:
        return ''
    vals = sorted(set(start['loss_weights'].values()))
    n = len(start['loss_weights'])
    shown = ', '.join(f'{v:g}' for v in vals[:3]) + (', ...' if len(vals) > 3 else '')
    return f'{shown} ({n} weight{"s" * (n > 1)}; {start["from"]})'


def not_met_lines(doc):
    cal = doc['calibration']
    out = []
    for name, ok in cal.get('checks_met', {}).items():
        if not ok:
            value = cal.get(name)
            value = 'not measured' if value is None else value
            out.append(f'**NOT MET: {name}** ({value} vs target {cal["targets"][name]})')
    return out


def markdown(doc, notes=''):
    label = METRICS[doc['metric']]
    lines = not_met_lines(doc)
    if lines:
        lines.append('')
    lines += [
        f'{TITLES.get(doc["task"], doc["task"])} distillation on {doc["dataset"]} '
        f'({doc["machine"]}, {doc["date"]}, protocol {doc["protocol"]}): student '
        f'{label} on the test split over seeds {doc["seeds"]}; every distilling row tuned '
        f'alike (loss weights x0.25 / x1 / x4 on val, seed {doc["tuning"]["seed"]}).',
        '',
        f'| row | {label} (mean ± std) | per seed | Δ vs no-KD (paired) | '
        'Δ vs best baseline (paired) | gap closed | start weight | chosen (val at '
        'x0.25 / x1 / x4) | time/iter vs no-KD | vs floor | peak mem (MB) |',
        '|---|---:|---|---:|---|---:|---|---|---:|---:|---:|']
    failed = {}
    for f in doc.get('failed', []):
        failed.setdefault(f['row'], f)
    names = list(doc['settings']['configs'])
    for name in names:
        row = next((r for r in doc['rows'] if r['name'] == name), None)
        if row is None:
            f = failed.get(name)
            why = (f'FAILED: {f["tag"]} ({f["reason"]}), log `{f["log"]}`' if f and
                   f.get('log') else f'FAILED: {f["reason"]}' if f else 'not run')
            lines.append(f'| {name} | {why} |' + ' |' * 9)
            continue
        e = row.get('extra', {})
        best = e.get('paired_vs_best_baseline')
        sweep = {s['scale']: s['val'] for s in row.get('sweep', [])}
        chosen = (f'{fmt_scale(row["chosen"]["scale"])} (' + ' / '.join(
            _num(sweep.get(sc)) for sc in SCALES) + ')') if 'chosen' in row else ''
        gap = e.get('gap_closed')
        lines.append(
            f'| {name} | {row["mean"]:.4f} ± {row["std"]:.4f} | '
            f'{", ".join(f"{v:.4f}" for v in row["per_seed"])} | '
            f'{_delta(e.get("paired_vs_student") or e.get("paired_vs_teacher"))} | '
            f'{_delta(best, best and best["row"])} | '
            f'{"" if gap is None else f"{100 * gap:.0f} %"} | {_weights(row.get("start"))} '
            f'| {chosen} | {row.get("time_per_iter_ratio", "")} | '
            f'{row.get("overhead_vs_floor", "")} | {_num(row.get("peak_mem_mb"), 0)} |')
    ablations = [(r['name'], r['extra']['paired_method_vs_ablation']) for r in doc['rows']
                 if r.get('extra', {}).get('paired_method_vs_ablation')]
    if ablations:
        lines += ['', 'Ablations (paired over the seeds, the method minus its ablation row; '
                  '"beats": the method beats the ablation):', '']
        lines += [f'- {p["row"]} - {name}: {_delta(p)}' for name, p in ablations]
    for r in doc['rows']:
        p = r.get('extra', {}).get('paired_drop_vs')
        if p:
            lines += ['', f'Loss to the variant row: {p["ref"]} - {r["name"]} = '
                      f'{_loss(p["drop"])}; {p["other_ref"]} - {p["row"]} = '
                      f'{_loss(p["other_drop"])}; the difference of the two losses '
                      f'(theirs - ours): {_delta(p)} ("beats": {r["name"]} loses less).']
    pairs = [(r['name'], other, p) for r in doc['rows']
             for other, p in r.get('extra', {}).get('paired_vs_baselines', {}).items()]
    if pairs:
        lines += ['', f'{label} against each baseline (paired over the seeds, the row minus '
                  'the baseline):', '']
        lines += [f'- {name} - {other}: {_delta(p)}' for name, other, p in pairs]
    for key in doc['settings'].get('secondary', []):
        label = SECONDARY.get(key, key)
        pairs = [(r['name'], other, p) for r in doc['rows']
                 for other, p in r.get('extra', {}).get(f'paired_{key}', {}).items()]
        if pairs:
            lines += ['', f'{label} (paired over the seeds, the row minus the other; '
                      'rule 5):', '']
            lines += [f'- {name} - {other}: {_delta(p)}' for name, other, p in pairs]
    row_notes = [(r['name'], r['extra']['note']) for r in doc['rows']
                 if r.get('extra', {}).get('note')]
    if row_notes:
        lines += ['', 'Rows:', ''] + [f'- {name}: {note}' for name, note in row_notes]
    cal = doc['calibration']
    lines += ['', 'Calibration (protocol v2, rule 2):', '']
    for name, ok in cal.get('checks_met', {}).items():
        note = cal.get('notes', {}).get(name)
        lines.append(f'- {"met" if ok else "**NOT MET**"}: {name} = {cal.get(name)} '
                     f'(target {cal["targets"][name]})' + (f'; {note}' if note else ''))
    t = doc['settings'].get('timing', {})
    lines += [
        '', 'Δ: paired over the seeds, mean of (row - reference) ± its standard error '
        '(sample std / sqrt(n)); "beats" when the mean is above the error. For a baseline '
        'the best-baseline column compares it with the best other baseline. ± std: sample '
        'std over the seeds. Gap closed: (row - no-KD) / (teacher - no-KD). Start weight: '
        'the values of the swept loss weights at x1 and where they come from.',
        f'Floor = one no-KD student training iteration + inference of every teacher the '
        f'row uses; time/iter and floor measured interleaved in one process '
        f'(tools/benchmark/iter_timing.py, {t.get("iters", "?")} iterations, '
        f'{t.get("threads", "?")} threads, {t.get("device", "?")}). Peak memory: the '
        'training runs (process max RSS on CPU, max allocated on GPU).',
    ]
    teachers = doc['settings'].get('teachers', {})
    lines.append('Teacher(s): ' + '; '.join(
        f'{n}: `{v["config"]}`, {v["schedule"]}' for n, v in teachers.items()) + (
        f'; the teacher row is {doc["settings"]["best_teacher"]}, the best on val'
        if doc['settings'].get('best_teacher') else '') + '.')
    if notes:
        lines.append(notes)
    for f in doc.get('failed', []):
        lines.append(f'- FAILED {f["tag"]}: {f["reason"]} (exit {f["returncode"]}), log '
                     f'`{f["log"]}`')
    lines += ['', f'Machine: {doc["machine"]}. Command: `{doc["command"]}`']
    return '\n'.join(lines) + '\n'


# ------------------------------------------------------------------------ plot
def plot(path, doc):
    """Bar plot of every row's mean ± std (fractions shown as percent)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = doc['rows']
    names = [r['name'] for r in rows]
    colors = ['#555555' if n == 'teacher' else '#999999' if n in ('student',) or
              n.startswith('baseline:supervised') else '#ff7f0e' if is_baseline(n) else
              '#1f77b4' for n in names]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names)), 3.4), dpi=100)
    ax.bar(names, [100 * r['mean'] for r in rows], yerr=[100 * r['std'] for r in rows],
           color=colors, capsize=3)
    if 'student' in names:
        ax.axhline(100 * rows[names.index('student')]['mean'], color='#999999', lw=0.8,
                   ls='--')
    ax.set_ylabel(f'{METRICS[doc["metric"]]} (%)')
    ax.set_title(f'{doc["dataset"]} on {doc["machine"]}: {doc["task"]}, test split, '
                 f'mean ± std over seeds {doc["seeds"]}', fontsize=9)
    ax.tick_params(axis='x', labelsize=8, rotation=20)
    fig.tight_layout()
    tmp = f'{path}.tmp.png'
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


# ------------------------------------------------------------------------ embeds
def embed(readme, key, table):
    """Put ``table`` between ``<!-- benchmark:<key> -->`` and ``<!-- /benchmark -->`` of
    ``readme`` (appended under a heading when the markers are absent)."""
    begin = f'<!-- benchmark:{key} -->'
    text = open(readme).read() if osp.isfile(readme) else ''
    block = f'{begin}\n{table}{END}'
    if begin in text and END in text.split(begin, 1)[1]:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip('\n') + f'\n\n## Results ({key})\n\n{block}\n'
    write_text(readme, text)


def _paired_cell(p, metric, vs=None):
    if not p:
        return '—'
    se = '?' if p['se'] is None else f'{p["se"]:.3f}'
    return (f'{p["mean"]:+.3f} ± {se} {metric}' + (f' vs {vs}' if vs else '')
            + (', beats' if p['beats'] else ', does not beat'))


def summary_table(results_dir):
    """Markdown: one line per method M1..M8 with its protocol-v2 result against the no-KD
    student and against the best baseline, from every v2 JSON in ``results_dir``."""
    found = {}
    for path in sorted(glob.glob(osp.join(results_dir, '*.json'))):
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue
        if doc.get('protocol') != PROTOCOL:
            continue
        for row in doc.get('rows', []):
            if re.fullmatch(r'M[1-8]', row.get('name', '')):
                found.setdefault(row['name'], []).append((doc, row))
    lines = ['| method | task | what it adds | configs | vs no-KD (paired, test) | '
             'vs best baseline (paired, test) |', '|---|---|---|---|---|---|']
    for method, (task, folder, adds) in METHODS.items():
        entries = found.get(method) or [(None, None)]
        for doc, row in entries:
            if doc is None:
                lines.append(f'| {method} | {task} | {adds} | `{folder}/` | no v2 result '
                             'yet | |')
                continue
            e = row.get('extra', {})
            metric = METRICS.get(doc['metric'], doc['metric'])
            best = e.get('paired_vs_best_baseline')
            config = e.get('config')
            where = osp.dirname(config) if config else folder
            lines.append(
                f'| {method} | {doc["task"]} ({doc["dataset"]}, {doc["machine"]}) | '
                f'{adds} | `{where}/` | {_paired_cell(e.get("paired_vs_student"), metric)} '
                f'| {_paired_cell(best, metric, best and best["row"])} |')
    return '\n'.join(lines) + '\n'


def write_summary(readme, results_dir):
    """Replace the summary block of ``readme`` when it has the markers; True if done."""
    if not osp.isfile(readme):
        return False
    text = open(readme).read()
    if SUMMARY not in text or END not in text.split(SUMMARY, 1)[1]:
        return False
    head, rest = text.split(SUMMARY, 1)
    write_text(readme, head + f'{SUMMARY}\n{summary_table(results_dir)}{END}'
               + rest.split(END, 1)[1])
    return True


def publish(results, say=print):
    """Write the JSON, markdown, plot and embeds of ``results``; returns the document."""
    s = results.settings
    doc = document(results)
    key = f'{doc["task"]}-{doc["dataset"]}-{s.machine}'
    out = s.out if osp.isabs(s.out) else osp.join(ROOT, s.out)
    write_json(osp.join(out, 'results', f'{key}.json'), doc)
    table = markdown(doc, results.task.notes)
    write_text(osp.join(out, f'{key}.md'), table)
    if doc['rows']:
        plot(osp.join(out, f'{key}.png'), doc)
    if s.embed:
        folders = {row.readme for row in results.task.rows if row.readme}
        for folder in sorted(folders):
            embed(osp.join(ROOT, folder, 'README.md'), key, table)
        readme = osp.join(ROOT, s.summary_readme)
        if write_summary(readme, osp.join(out, 'results')):
            say(f'{s.summary_readme}: summary table updated')
    say(table)
    say(f'wrote {osp.join(out, "results", key + ".json")}, {key}.md, {key}.png')
    return doc
