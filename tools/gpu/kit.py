"""Helper of tools/gpu/prepare.sh (the GPU kit's wheelhouse maker). Standard library only.

Reads tools/gpu/wheels.txt (what the wheelhouse holds) and tools/gpu/image.txt (what the
GPU image already has); see those files for their format. Subcommands:

  missing   WHEELS_TXT DIR           specs of wheel/ifneeded lines with no file in DIR
  prune     WHEELS_TXT DIR           remove files in DIR that no line of WHEELS_TXT names
  ifneeded  WHEELS_TXT               NAME<CONDITION> of each ifneeded line
  sdist     NAME VERSION DEST INDEX  fetch NAME-VERSION.tar.gz from a PEP 503/691 index
                                     (sha256 checked); pip download would build it
  src-hash                           sha256 over the files named (NUL-separated) on stdin
  manifest  WHEELS_TXT DIR MAX_MIB   check one file per line, write DIR/MANIFEST.txt,
                                     print the total, fail if it is >= MAX_MIB
  stubs     IMAGE_TXT WHEELS_TXT DEST  metadata-only wheels standing for the image
  pipcheck  WHEELS_TXT               filter `pip check` output (stdin): fail on anything
                                     but a missing 'skip' package
  image-needs WHEELS_TXT OUT         (run by the check venv's python) list what the
                                     carried packages require of the image's packages;
                                     fail if an ifneeded condition is too loose
"""
import hashlib
import html.parser
import json
import os
import os.path as osp
import re
import shutil
import sys
import urllib.parse
import urllib.request
import zipfile

KINDS = ('wheel', 'sdist', 'ifneeded', 'project', 'skip')
STUB_SUMMARY = 'kd_plugins GPU kit: stand-in for a package of the GPU image (no code)'
# files of the wheelhouse that are not packages
KIT_FILES = ('MANIFEST.txt', 'IMAGE_NEEDS.txt', '.kd_plugins-src.sha256')


def norm(name):
    """PEP 503 normalised project name."""
    return re.sub(r'[-_.]+', '-', name).lower()


class Entry:

    def __init__(self, name, version, kind, cond, comment, lineno):
        self.name, self.version, self.kind = norm(name), version, kind
        self.cond, self.comment, self.lineno = cond, comment, lineno

    @property
    def spec(self):
        return f'{self.name}=={self.version}'

    def __repr__(self):
        return f'Entry({self.name}, {self.version}, {self.kind}, {self.cond})'


def parse_wheels_txt(path):
    entries, seen = [], set()
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line, _, comment = raw.partition('#')
            fields = line.split()
            if not fields:
                continue
            where = f'{path}:{lineno}'
            if len(fields) < 2 or fields[1] not in KINDS:
                raise ValueError(f'{where}: expected "NAME[==VERSION] KIND", KIND one of '
                                 f'{KINDS}: {raw.strip()!r}')
            name, _, version = fields[0].partition('==')
            kind = fields[1]
            cond = ' '.join(fields[2:]) or None
            if kind in ('wheel', 'sdist', 'ifneeded') and not version:
                raise ValueError(f'{where}: {kind} lines are pinned (NAME==VERSION)')
            if kind in ('skip', 'project') and version:
                raise ValueError(f'{where}: {kind} lines carry no version')
            if (kind == 'ifneeded') != (cond is not None):
                raise ValueError(f'{where}: a CONDITION (e.g. >=1.2) goes with ifneeded, '
                                 'and only there')
            if norm(name) in seen:
                raise ValueError(f'{where}: {name} is listed twice')
            seen.add(norm(name))
            entries.append(Entry(name, version or None, kind, cond, comment.strip(),
                                 lineno))
    return entries


def parse_image_txt(path):
    """name -> version (None where unknown)."""
    image = {}
    with open(path) as f:
        for raw in f:
            line = raw.partition('#')[0].strip()
            if line:
                name, _, version = line.partition('==')
                image[norm(name.strip())] = version.strip() or None
    return image


def dist_of_file(filename):
    """(normalised name, version, 'wheel'|'sdist') of a distribution file, else None."""
    if filename.endswith('.whl'):
        parts = filename[:-4].split('-')
        if len(parts) in (5, 6):
            return norm(parts[0]), parts[1], 'wheel'
    elif filename.endswith('.tar.gz'):
        name, sep, version = filename[:-7].rpartition('-')
        if sep:
            return norm(name), version, 'sdist'
    return None


def project_version(root):
    ns = {}
    with open(osp.join(root, 'kd_plugins', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


def expected_files(entries, root):
    """name -> (version, 'wheel'|'sdist') for every entry that puts a file in the kit."""
    want = {}
    for e in entries:
        if e.kind in ('wheel', 'ifneeded'):
            want[e.name] = (e.version, 'wheel')
        elif e.kind == 'sdist':
            want[e.name] = (e.version, 'sdist')
        elif e.kind == 'project':
            want[e.name] = (project_version(root), 'wheel')
    return want


def kit_dists(kit_dir):
    """[(filename, name, version, type)] of the distribution files in kit_dir."""
    out = []
    for fn in sorted(os.listdir(kit_dir)) if osp.isdir(kit_dir) else []:
        d = dist_of_file(fn)
        if d:
            out.append((fn, ) + d)
    return out


def repo_root():
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def cmd_missing(wheels_txt, kit_dir):
    have = {(n, v, t) for _, n, v, t in kit_dists(kit_dir)}
    for e in parse_wheels_txt(wheels_txt):
        if e.kind in ('wheel', 'ifneeded') and (e.name, e.version, 'wheel') not in have:
            print(e.spec)
    return 0


def cmd_missing_sdists(wheels_txt, kit_dir):
    have = {(n, v, t) for _, n, v, t in kit_dists(kit_dir)}
    for e in parse_wheels_txt(wheels_txt):
        if e.kind == 'sdist' and (e.name, e.version, 'sdist') not in have:
            print(e.name, e.version)
    return 0


def cmd_ifneeded(wheels_txt):
    for e in parse_wheels_txt(wheels_txt):
        if e.kind == 'ifneeded':
            print(f'{e.name}{e.cond}')
    return 0


def cmd_prune(wheels_txt, kit_dir):
    want = expected_files(parse_wheels_txt(wheels_txt), repo_root())
    if not osp.isdir(kit_dir):
        return 0
    for fn in sorted(os.listdir(kit_dir)):
        path = osp.join(kit_dir, fn)
        if fn in KIT_FILES:
            continue
        d = dist_of_file(fn)
        if d and want.get(d[0]) == (d[1], d[2]):
            continue
        print(f'removing {fn} (not in tools/gpu/wheels.txt at this version)')
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    return 0


class _Links(html.parser.HTMLParser):

    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == 'a':
            href = dict(attrs).get('href')
            if href:
                self.links.append(href)


def index_files(name, index_url):
    """[(filename, url, sha256 or None)] of a project on a simple index."""
    page = index_url.rstrip('/') + '/' + norm(name) + '/'
    req = urllib.request.Request(page, headers={
        'Accept': 'application/vnd.pypi.simple.v1+json, text/html;q=0.1'})
    with urllib.request.urlopen(req, timeout=120) as r:
        ctype = r.headers.get('Content-Type', '')
        body = r.read()
    out = []
    if 'json' in ctype:
        for f in json.loads(body)['files']:
            out.append((f['filename'], urllib.parse.urljoin(page, f['url']),
                        f.get('hashes', {}).get('sha256')))
    else:
        p = _Links()
        p.feed(body.decode('utf-8', 'replace'))
        for href in p.links:
            url = urllib.parse.urljoin(page, href)
            path, _, frag = url.partition('#')
            sha = frag[len('sha256='):] if frag.startswith('sha256=') else None
            out.append((urllib.parse.unquote(path.rsplit('/', 1)[-1]), path, sha))
    return out


def cmd_sdist(name, version, dest, index_url):
    want = None
    for fn, url, sha in index_files(name, index_url):
        d = dist_of_file(fn)
        if d and d[:2] == (norm(name), version) and d[2] == 'sdist':
            want = (fn, url, sha)
            break
    if want is None:
        print(f'no source distribution {name} {version} on {index_url}', file=sys.stderr)
        return 1
    fn, url, sha = want
    if not sha:
        print(f'{url}: the index gives no sha256; refusing an unchecked file',
              file=sys.stderr)
        return 1
    os.makedirs(dest, exist_ok=True)
    part = osp.join(dest, fn + '.part')
    h = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=300) as r, open(part, 'wb') as out:
        for chunk in iter(lambda: r.read(1 << 20), b''):
            h.update(chunk)
            out.write(chunk)
    if h.hexdigest() != sha:
        os.remove(part)
        print(f'{fn}: sha256 {h.hexdigest()} != index {sha}', file=sys.stderr)
        return 1
    os.replace(part, osp.join(dest, fn))
    print(f'Saved {fn} (sha256 checked)')
    return 0


def cmd_src_hash():
    names = sorted(n for n in sys.stdin.buffer.read().split(b'\0') if n)
    h = hashlib.sha256()
    for n in names:
        h.update(n + b'\0')
        if os.path.islink(n):
            h.update(b'L' + os.readlink(n).encode() + b'\0')
        elif os.path.isfile(n):
            with open(n, 'rb') as f:
                h.update(hashlib.sha256(f.read()).digest())
    print(h.hexdigest())
    return 0


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def check_project_wheel(path):
    """The kd_plugins wheel must carry what mim needs (.mim/tools, .mim/configs)."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
    need = ['kd_plugins/.mim/tools/train.py', 'kd_plugins/.mim/tools/test.py',
            'kd_plugins/service/app.py']
    missing = [n for n in need if n not in names]
    if not any(n.startswith('kd_plugins/.mim/configs/') for n in names):
        missing.append('kd_plugins/.mim/configs/...')
    return missing


def cmd_manifest(wheels_txt, kit_dir, max_mib):
    entries = parse_wheels_txt(wheels_txt)
    want = expected_files(entries, repo_root())
    kinds = {e.name: e.kind for e in entries}
    errors, rows, by_name = [], [], {}
    for fn, name, version, typ in kit_dists(kit_dir):
        by_name.setdefault(name, []).append(fn)
        if want.get(name) != (version, typ):
            errors.append(f'{fn}: not in wheels.txt at this version')
        rows.append((name, version, kinds.get(name, '?'), osp.getsize(
            osp.join(kit_dir, fn)), sha256_file(osp.join(kit_dir, fn)), fn))
    for name, fns in by_name.items():
        if len(fns) > 1:
            errors.append(f'{name}: {len(fns)} files ({", ".join(fns)}); keep one')
    for name, (version, typ) in want.items():
        if name not in by_name:
            errors.append(f'{name} {version} ({typ}): missing')
    for name, version, kind, size, sha, fn in rows:
        if kind == 'project':
            missing = check_project_wheel(osp.join(kit_dir, fn))
            if missing:
                errors.append(f'{fn} lacks {", ".join(missing)}')
    total = sum(r[3] for r in rows)
    mib = total / 2**20
    lines = ['# GPU kit wheelhouse, written by tools/gpu/prepare.sh; install on the GPU '
             'machine with',
             '#   python3 -m pip install --no-index --no-deps --find-links . '
             '"NAME<COND>"   (each ifneeded line)',
             '#   python3 -m pip install --no-index --no-deps *.whl <mmcv wheel built '
             'from the sdist>   (the rest)',
             f'# {len(rows)} files, {total} bytes ({mib:.2f} MiB)',
             '# name version kind bytes sha256 file']
    lines += [' '.join(str(x) for x in r) for r in sorted(rows)]
    if osp.isdir(kit_dir):
        with open(osp.join(kit_dir, 'MANIFEST.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    print(f'wheelhouse {kit_dir}: {len(rows)} files, {mib:.2f} MiB (limit {max_mib} MiB)')
    if mib >= float(max_mib):
        errors.append(f'total {mib:.2f} MiB >= {max_mib} MiB: too large to travel')
    for e in errors:
        print('ERROR:', e, file=sys.stderr)
    return 1 if errors else 0


def stub_wheel(name, version, dest):
    """A metadata-only wheel: installs a dist-info folder and nothing else."""
    dist = f'{re.sub(r"[-.]+", "_", name)}-{version}'
    fn = osp.join(dest, f'{dist}-py3-none-any.whl')
    files = {
        f'{dist}.dist-info/METADATA': (f'Metadata-Version: 2.1\nName: {name}\n'
                                       f'Version: {version}\nSummary: {STUB_SUMMARY}\n'),
        f'{dist}.dist-info/WHEEL': ('Wheel-Version: 1.0\nGenerator: kd_plugins-gpu-kit\n'
                                    'Root-Is-Purelib: true\nTag: py3-none-any\n'),
    }
    record = [f'{p},sha256={_b64(hashlib.sha256(t.encode()).digest())},{len(t.encode())}'
              for p, t in files.items()]
    record.append(f'{dist}.dist-info/RECORD,,')
    files[f'{dist}.dist-info/RECORD'] = '\n'.join(record) + '\n'
    with zipfile.ZipFile(fn, 'w') as z:
        for p, t in files.items():
            z.writestr(p, t)
    return fn


def _b64(digest):
    import base64
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode()


def cmd_stubs(image_txt, wheels_txt, dest):
    image = parse_image_txt(image_txt)
    carried = {e.name: e for e in parse_wheels_txt(wheels_txt)}
    clash = [e.name for e in carried.values()
             if e.kind in ('wheel', 'sdist', 'project') and e.name in image]
    if clash:
        print(f'ERROR: carried as {", ".join(carried[n].kind for n in clash)} but the '
              f'image has it: {", ".join(clash)} (make it ifneeded, or drop it)',
              file=sys.stderr)
        return 1
    os.makedirs(dest, exist_ok=True)
    n = 0
    for name, version in sorted(image.items()):
        # pip: the venv's own; ifneeded: the check installs the carried wheel instead
        # (the case where the image's version misses the condition)
        if name == 'pip' or (name in carried and carried[name].kind == 'ifneeded'):
            continue
        stub_wheel(name, version or '0+unknown', dest)
        n += 1
    print(f'{n} stand-in wheels for the image in {dest}')
    return 0


def pipcheck_problems(text, skip_names):
    """Lines of `pip check` output other than 'requires <skip package>, not installed'."""
    bad = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('No broken requirements'):
            continue
        m = re.match(r'^(\S+) (\S+) requires (\S+), which is not installed\.$', line)
        if m and norm(m.group(3)) in skip_names:
            continue
        bad.append(line)
    return bad


def cmd_pipcheck(wheels_txt):
    text = sys.stdin.read()
    skip = {e.name for e in parse_wheels_txt(wheels_txt) if e.kind == 'skip'}
    bad = pipcheck_problems(text, skip)
    for line in text.splitlines():
        if line.strip():
            print(('NOT SATISFIED: ' if line.strip() in bad else 'allowed (skip line): ')
                  + line.strip())
    return 1 if bad else 0


def lower_bound(cond):
    """X of the '>=X' clause of a condition such as '>=77,<81', else None."""
    for clause in cond.split(','):
        clause = clause.strip()
        if clause.startswith('>='):
            return clause[2:].strip()
    return None


def cmd_image_needs(wheels_txt, out_path):
    """Run by the check venv's python, after the install. Writes every requirement of a
    carried distribution on a package of the image: on a stand-in (with the version the
    stand-in has) or on an ifneeded package; fails if an ifneeded CONDITION is looser than
    what the carried packages require (its lower bound must satisfy every requirement)."""
    from importlib import metadata
    try:
        from pip._vendor.packaging.requirements import Requirement
    except ImportError:  # pragma: no cover
        from packaging.requirements import Requirement
    ifneeded = {e.name: e.cond for e in parse_wheels_txt(wheels_txt)
                if e.kind == 'ifneeded'}
    dists = {norm(d.metadata['Name']): d for d in metadata.distributions()}
    stubs = {n for n, d in dists.items() if d.metadata.get('Summary') == STUB_SUMMARY}
    lines = ['# What the carried packages require of the GPU image, as resolved by the '
             'completeness check',
             '# of tools/gpu/prepare.sh against stand-ins. [x] = the version the '
             'stand-in had (tools/gpu/image.txt:',
             '# "seen" on the machine or "assumed"); [ifneeded C] = carried, installed '
             'there unless the image\'s',
             '# version satisfies C. Verify on the GPU machine: pip check after the '
             'install.',
             '# requirer version -> requirement [image version]']
    header, errors = len(lines), []
    for n in sorted(dists):
        if n in stubs:
            continue
        d = dists[n]
        for r in d.requires or []:
            req = Requirement(r)
            if req.marker and not req.marker.evaluate({'extra': ''}):
                continue
            name = norm(req.name)
            if name in stubs:
                lines.append(f'{n} {d.version} -> {req} [{dists[name].version}]')
            elif name in ifneeded:
                lines.append(f'{n} {d.version} -> {req} [ifneeded {ifneeded[name]}]')
                low = lower_bound(ifneeded[name])
                if low is None or not req.specifier.contains(low, prereleases=True):
                    errors.append(f'{n} {d.version} needs {req}, but the ifneeded '
                                  f'condition {ifneeded[name]} of {name} lets the image '
                                  f'keep an older one: tighten it in wheels.txt')
    with open(out_path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'{len(lines) - header} requirements on image packages written to {out_path}')
    for e in errors:
        print('ERROR:', e, file=sys.stderr)
    return 1 if errors else 0


COMMANDS = {
    'missing': (cmd_missing, 2), 'missing-sdists': (cmd_missing_sdists, 2),
    'prune': (cmd_prune, 2), 'ifneeded': (cmd_ifneeded, 1), 'sdist': (cmd_sdist, 4),
    'src-hash': (cmd_src_hash, 0),
    'manifest': (cmd_manifest, 3), 'stubs': (cmd_stubs, 3),
    'pipcheck': (cmd_pipcheck, 1), 'image-needs': (cmd_image_needs, 2),
}


def main(argv):
    if not argv or argv[0] not in COMMANDS or len(argv) - 1 != COMMANDS[argv[0]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    return COMMANDS[argv[0]][0](*argv[1:])


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
