"""`make demo` (tools/demo.py): the README's demo table is what the tool printed with the
demo's current settings, and the demo's own pieces (the table block, the comparison
with the README, the detections picture) behave."""
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import demo  # noqa: E402
import demo_picture  # noqa: E402


@pytest.fixture(scope='module')
def models():
    return demo.jobs()


def test_readme_table_was_written_by_the_demo_with_its_current_settings(models):
    """Fails when a config, the loss weights the demo takes from the published table,
    the schedule or the toy data generator change without `tools/demo.py --fresh
    --readme` rewriting the README's block, or when the block is edited by hand."""
    with open(osp.join(ROOT, 'README.md')) as f:
        found = demo.readme_block(f.read())
    assert found is not None, 'README.md has no demo-table block'
    settings, table, body = found
    assert settings == demo.fingerprint(models), (
        'the demo settings changed since the README table was written: run '
        '`python tools/demo.py --fresh --readme` on the 2-core machine')
    assert table == demo.digest(body), 'the README demo table was edited by hand'
    numbers = demo.table_numbers(body)
    assert list(numbers) == [m[0] for m in models.values()]


def test_best_method_and_weights_come_from_the_published_table(models, tmp_path):
    rows = demo.published_rows()
    best = max(demo.CANDIDATES, key=lambda n: rows[n]['mean'])
    assert models['best'][0] == f'student + {best}'
    assert models['best'][2] == rows[best]['chosen']['loss_weights']
    assert models['cwd'][2] == rows['mmrazor:cwd']['chosen']['loss_weights']
    # a table without the rows the demo needs is refused by name
    bad = tmp_path / 'det.json'
    bad.write_text('{"rows": [{"name": "M1", "mean": 0.2}]}')
    with pytest.raises(SystemExit, match='mmrazor:cwd'):
        demo.jobs(str(bad))


def test_fingerprint_follows_the_settings(models, monkeypatch):
    before = demo.fingerprint(models)
    monkeypatch.setitem(demo.DEMO, 'student_epochs', demo.DEMO['student_epochs'] + 1)
    assert demo.fingerprint(models) != before
    monkeypatch.undo()
    changed = dict(models, best=(*models['best'][:2], {'x.loss_weight': 1.0}))
    assert demo.fingerprint(changed) != before


def test_readme_block_round_trip_and_comparison(tmp_path, monkeypatch, capsys):
    readme = tmp_path / 'README.md'
    readme.write_text('intro\n<!-- demo-table: written by tools/demo.py --readme; '
                      'settings pending; table pending -->\nold\n<!-- /demo-table -->\nend\n')
    monkeypatch.setattr(demo, 'ROOT', str(tmp_path))
    rows = [dict(name='teacher', bbox_mAP=0.4123, AP50=0.7, train_s=60.0, test_s=9.0),
            dict(name='student + M1', bbox_mAP=0.2, AP50=0.4, train_s=0.0, test_s=8.0)]
    demo.write_readme(demo.table_lines(rows, (7, 4)), 'abc123')
    text = readme.read_text()
    assert text.startswith('intro\n') and text.endswith('<!-- /demo-table -->\nend\n')
    settings, table, body = demo.readme_block(text)
    assert settings == 'abc123' and table == demo.digest(body)
    assert demo.table_numbers(body) == {'teacher': 0.412, 'student + M1': 0.2}
    assert demo.compare_with_readme(rows, 'abc123')
    assert 'the same numbers' in capsys.readouterr().out
    drifted = [dict(rows[0], bbox_mAP=0.39), rows[1]]
    assert not demo.compare_with_readme(drifted, 'abc123')
    assert 'teacher: README 0.412, now 0.390' in capsys.readouterr().out
    assert not demo.compare_with_readme(rows, 'other')
    assert 'other settings' in capsys.readouterr().out
    readme.write_text('no block here\n')
    with pytest.raises(SystemExit, match='no demo block'):
        demo.write_readme(['x'], 'abc123')


def test_picture_draws_ground_truth_and_models(tmp_path):
    from PIL import Image
    paths = []
    for i in range(2):
        p = tmp_path / f'{i}.png'
        Image.new('RGB', (64, 64), (40, 80, 120)).save(p)
        paths.append(str(p))
    gt = [[(5, 5, 30, 30, 0, None)], [(10, 10, 50, 40, 1, None)]]
    dets = [[(6, 5, 31, 29, 0, 0.9), (0, 0, 9, 9, 1, 0.1)], []]
    out = tmp_path / 'dets.png'
    none = [[], []]
    demo_picture.draw(paths, [('ground truth', gt), ('model', dets), ('empty', none)],
                      ['a', 'b'], str(out))
    img = Image.open(out).convert('RGB')
    assert img.size[0] > img.size[1] > 100  # 2 rows x 3 columns
    colors = {c for _, c in img.getcolors(1 << 20)}
    assert (230, 25, 75) in colors  # class 0's box colour: its boxes are drawn


def test_picture_names_a_missing_model_file(tmp_path):
    with pytest.raises(SystemExit):
        demo_picture.main(['--out', str(tmp_path / 'x.png'), '--data', str(tmp_path),
                           '--model', 'teacher', str(tmp_path / 'none.py'),
                           str(tmp_path / 'none.pth')])
