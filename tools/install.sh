#!/usr/bin/env bash
# Installs what is missing into a project-local virtual environment (default .venv).
# Idempotent: a second run checks each part and installs nothing that already works.
#
#   tools/install.sh                 # CPU or GPU, whatever torch ends up installed
#   FORCE_CUDA=1 tools/install.sh    # build mmcv's CUDA ops (needs nvcc matching torch's CUDA)
#
# Environment knobs:
#   KD_VENV       venv path (default: <repo>/.venv)
#   KD_PYTHON     interpreter used to create it (default: python3.11, else python3)
#   KD_CACHE      where the built mmcv wheel is cached (default: ~/.cache/kd_plugins)
#   TORCH_SPEC    torch requirement (default 'torch===2.13.0': the registry build; the
#                 '===' skips a local '+cpu' wheel that pip may prefer, which has no
#                 matching torchvision). Install your own CUDA torch into the venv first
#                 and it is kept as long as torch + torchvision import and run.
#   MAX_JOBS      parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KD_VENV:-$ROOT/.venv}"
CACHE="${KD_CACHE:-$HOME/.cache/kd_plugins}"
TORCH_SPEC="${TORCH_SPEC:-torch===2.13.0}"
TV_SPEC="${TV_SPEC:-torchvision==0.28.0}"
MMCV_VERSION=2.1.0
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"

t0=$(date +%s)
say() { printf '[install %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ ! -x "$VENV/bin/python" ]]; then
    PYBIN="${KD_PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
    [[ -n "$PYBIN" ]] || die "no python3 found; set KD_PYTHON to a Python 3.10-3.12 interpreter"
    say "creating virtual environment $VENV with $PYBIN"
    "$PYBIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
CONSTRAINTS=(-c "$ROOT/requirements/constraints.txt")

"$PY" - <<'EOF' || die "the venv's Python must be 3.8-3.12 (OpenMMLab 2.x wheels); set KD_PYTHON"
import sys; assert (3, 8) <= sys.version_info[:2] <= (3, 12), sys.version
EOF

# 1. build tools (setuptools window: see requirements/build.txt)
if ! "$PY" -c "import setuptools, wheel, ninja, pkg_resources; v=tuple(int(x) for x in setuptools.__version__.split('.')[:2]); assert (77,0)<=v<(81,0)" 2>/dev/null; then
    say "installing build tools (setuptools>=77,<81, wheel, ninja)"
    "${PIP[@]}" install -q -r "$ROOT/requirements/build.txt"
fi

# 2. torch + torchvision (torchvision must import and run its ops: a CPU-only local torch
#    wheel with the registry's CUDA torchvision fails with 'operator torchvision::nms does not exist')
torch_ok() {
    "$PY" - 2>/dev/null <<'EOF'
import torch, torchvision
from torchvision.ops import nms
nms(torch.zeros(1, 4), torch.ones(1), 0.5)
EOF
}
if ! torch_ok; then
    say "installing $TORCH_SPEC $TV_SPEC (about 1-2 min, several GB with CUDA libraries)"
    "${PIP[@]}" install -q "${CONSTRAINTS[@]}" "$TORCH_SPEC" "$TV_SPEC"
    torch_ok || die "torch/torchvision installed but 'torchvision.ops.nms' fails; install a matching pair into $VENV by hand (see README, GPU section)"
fi
TORCH_TAG=$("$PY" -c "import torch; print(torch.__version__.replace('+', '_'))")

# 3. mmcv with ops, built once per (torch version, CUDA on/off) and cached
mmcv_ok() {
    "$PY" - 2>/dev/null <<EOF
import mmcv, torch
assert mmcv.__version__ == '$MMCV_VERSION', mmcv.__version__
from mmcv.ops import batched_nms, RoIAlign
batched_nms(torch.tensor([[0., 0., 1., 1.]]), torch.ones(1), torch.zeros(1, dtype=torch.long), dict(type='nms', iou_threshold=0.5))
EOF
}
if ! mmcv_ok; then
    FLAVOUR=cpu
    [[ "${FORCE_CUDA:-0}" == 1 ]] && FLAVOUR=cuda
    WHEELDIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_TAG-$FLAVOUR"
    mkdir -p "$WHEELDIR"
    WHEEL=$(ls "$WHEELDIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
    if [[ -z "$WHEEL" ]]; then
        say "building mmcv $MMCV_VERSION with ops ($FLAVOUR, MAX_JOBS=$MAX_JOBS): about 10-13 min on 2 cores, once"
        say "  (cached afterwards in $WHEELDIR)"
        BUILD_LOG="$WHEELDIR/build.log"
        tmpdir=$(mktemp -d)
        # opencv etc. are mmcv's runtime deps; installed with the wheel below
        ( MMCV_WITH_OPS=1 "${PIP[@]}" wheel --no-deps --no-build-isolation "${CONSTRAINTS[@]}" \
              "mmcv==$MMCV_VERSION" -w "$tmpdir" >"$BUILD_LOG" 2>&1 ) &
        pid=$!
        b0=$(date +%s)
        while kill -0 "$pid" 2>/dev/null; do
            sleep 30
            el=$(( $(date +%s) - b0 ))
            say "  mmcv build: $((el / 60)) min $((el % 60)) s elapsed (expect 10-13 min on 2 cores; log: $BUILD_LOG)"
        done
        wait "$pid" || { tail -n 30 "$BUILD_LOG" >&2; die "mmcv build failed; full log: $BUILD_LOG"; }
        # copy then rename inside the cache dir, so a half-copied wheel is never picked up
        built=$(ls "$tmpdir"/mmcv-*.whl | head -n1)
        cp "$built" "$WHEELDIR/.partial.whl" && mv "$WHEELDIR/.partial.whl" "$WHEELDIR/$(basename "$built")"
        rm -rf "$tmpdir"
        WHEEL=$(ls "$WHEELDIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)
    else
        say "using cached mmcv wheel $WHEEL"
    fi
    "${PIP[@]}" install -q "${CONSTRAINTS[@]}" "$WHEEL"
    mmcv_ok || die "mmcv installed from $WHEEL but its ops do not run; delete $WHEELDIR to rebuild"
fi

# 4. the rest of the stack, openmim (no deps, see requirements/mim.txt), test tools, the plugin
stack_ok() {
    "$PY" - 2>/dev/null <<'EOF'
from importlib.metadata import version
want = {'mmengine': '0.10.7', 'mmdet': '3.3.0', 'mmsegmentation': '1.2.2', 'mmrazor': '1.0.0',
        'mmpretrain': '1.2.0', 'openmim': '0.3.9'}
for k, v in want.items():
    assert version(k) == v, (k, version(k))
import ftfy, regex, joblib, pytest, xdist, click, rich, tabulate, pandas, modelindex  # noqa
import scipy.io  # noqa  (Cars196Retrieval)
import fastapi, uvicorn, multipart, httpx, selenium  # noqa  (web service + its tests)
import sklearn, faiss, pytorch_metric_learning  # noqa  (retrieval metric + its tests)
import kd_plugins  # noqa  (editable install present)
from mim.utils import get_installed_path
import os.path as osp
assert osp.isfile(osp.join(get_installed_path('kd_plugins'), '.mim', 'tools', 'train.py'))
EOF
}
if ! stack_ok; then
    say "installing mmengine, mmdet, mmseg, mmrazor, mmpretrain, openmim, test tools"
    "${PIP[@]}" install -q "${CONSTRAINTS[@]}" -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
    grep -v '^openmim' "$ROOT/requirements/mim.txt" | "${PIP[@]}" install -q "${CONSTRAINTS[@]}" -r /dev/stdin
    "${PIP[@]}" install -q --no-deps "openmim==0.3.9"
    "${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"
    # mim looks for <site-packages>/kd_plugins/.mim/{tools,configs}; a PEP 660 editable
    # install has no such folder, so link the source package there (still editable)
    SITE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    [[ -e "$SITE/kd_plugins" ]] || ln -s "$ROOT/kd_plugins" "$SITE/kd_plugins"
    stack_ok || { "$PY" -c "import kd_plugins" ; die "the stack did not install cleanly (see above)"; }
fi
say "ready: $("$PY" -c "import torch, mmcv, mmdet, mmrazor; print('torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'mmrazor', mmrazor.__version__, 'cuda', torch.cuda.is_available())")"
