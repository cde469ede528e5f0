#!/usr/bin/env bash
# The GPU check: one script, run on a CUDA machine with no package index (planned: under
# 10 minutes on one H200 with 16 cores; the mmcv build is most of it the first time).
#
#   bash tools/gpu/check.sh [--out DIR] [--cost-pairs P ...|all] [--skip STEP ...]
#   bash tools/gpu/check.sh --cpu [--out DIR]      # dry run here: no GPU, tiny sizes
#   --tests-k EXPR: only the cuda tests pytest's -k selects (the suite's dry run)
#
# Prepare on a machine with the index first: `bash tools/gpu/prepare.sh` fills
# gpu_kit/wheels/ (the wheelhouse, ~16 MiB). Carry gpu_kit/wheels (and gpu_kit/cache, the
# mmcv wheel of an earlier run) to the GPU machine; the README's GPU section has the
# device-tool command.
#
# Steps (each timed; a failed step is reported and the next ones still run; exit 1 if any
# failed):
#   install  the wheelhouse into a --target folder on PYTHONPATH, offline, --no-deps; the
#            "ifneeded" packages (setuptools 77..80, typing-extensions) only where the
#            image's version misses the range; pip check
#   mmcv     mmcv 2.1.0 with CUDA ops for sm_90 only (TORCH_CUDA_ARCH_LIST=9.0,
#            MAX_JOBS = all cores); the wheel is written to the output at once, in parts
#            under 15 MiB (gpu_kit/cache/ on the next run: the build is skipped)
#   tests    the tests marked `cuda` (tests/cuda/: a few training iterations of every
#            kd_plugins algorithm and MMRazor CWD, AMP bf16 off and on)
#   dist     tools/dist_train.sh with 1 process through torchrun (nccl)
#   export   tools/export_student.py + `mim test mmdet` of the exported student
#   service  tools/serve_seg.py --device cuda answering one request
#   cost     tools/gpu/cost.py: s/iter and peak memory at real input sizes, synthetic data
# Output (DIR, default $OUT on the device machine, else work_dirs/gpu_check): check.log,
# gpu-check-results.tar.gz (steps.tsv, the logs, cuda-tests.xml, cost-*.json, cost-*.md)
# and mmcv-2.1.0-*.whl.part-* when mmcv was built. --cpu: the same steps that make sense
# without a GPU (no install, no mmcv build: the project venv), the cuda tests on the CPU
# (KD_GPU_DRY_RUN=1, the AMP half skips), gloo, the service on the CPU, the cost tool's
# --cpu on the CIFAR pair (--cost-pairs for others).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

MODE=gpu
OUTDIR="${OUT:-}"
COST_PAIRS=()
SKIP=()
TESTS_K=()
while (( $# )); do
    case "$1" in
        --cpu) MODE=cpu ;;
        --out) OUTDIR="$2"; shift ;;
        --tests-k) TESTS_K=(-k "$2"); shift ;;
        --cost-pairs) shift; while (( $# )) && [[ "$1" != --* ]]; do COST_PAIRS+=("$1"); shift; done; continue ;;
        --skip) shift; while (( $# )) && [[ "$1" != --* ]]; do SKIP+=("$1"); shift; done; continue ;;
        -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
for s in "${SKIP[@]}"; do
    case "$s" in install|mmcv|tests|dist|export|service|cost) ;;
        *) echo "check.sh: --skip: unknown step $s (install mmcv tests dist export service cost)" >&2; exit 2 ;;
    esac
done
OUTDIR="${OUTDIR:-$ROOT/work_dirs/gpu_check}"
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kd-gpu-check.XXXXXX")"
RES="$WORK/results"
mkdir -p "$RES"
LOG="$OUTDIR/check.log"
: >"$LOG"
T0=$(date +%s)
say() { printf '[gpu-check %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" | tee -a "$LOG"; }

if [[ "$MODE" == cpu ]]; then
    PY="${KD_VENV:-$ROOT/.venv}/bin/python"
    [[ -x "$PY" ]] || PY="$(command -v python3)"
    export KD_GPU_DRY_RUN=1
    DEVICE=cpu
    (( ${#COST_PAIRS[@]} )) || COST_PAIRS=(resnet32x4-resnet8x4)
    SKIP+=(install mmcv)
else
    PY="$(command -v python3)"
    DEVICE=cuda
    (( ${#COST_PAIRS[@]} )) || COST_PAIRS=(all)
fi
[[ "${COST_PAIRS[*]}" == all ]] && COST_PAIRS=()
SITE="$WORK/site"
export PYTHONPATH="$ROOT:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
FAILED=()

finish() {
    printf 'step\tstatus\tseconds\n' >"$RES/steps.tsv.tmp"
    cat "$WORK/steps" >>"$RES/steps.tsv.tmp" 2>/dev/null
    mv "$RES/steps.tsv.tmp" "$RES/steps.tsv"
    cp "$LOG" "$RES/" 2>/dev/null
    tar czf "$OUTDIR/gpu-check-results.tar.gz.tmp" -C "$WORK" results && \
        mv "$OUTDIR/gpu-check-results.tar.gz.tmp" "$OUTDIR/gpu-check-results.tar.gz"
}
trap finish EXIT

step() {  # step NAME COMMAND...: run, time, record; output to RES/NAME.log and the log
    local name=$1; shift
    for s in "${SKIP[@]}"; do
        if [[ "$s" == "$name" ]]; then
            printf '%s\tskipped\t0\n' "$name" >>"$WORK/steps"; say "$name: skipped"; return 0
        fi
    done
    say "$name: start"
    local t=$(date +%s) rc
    "$@" >"$RES/$name.log" 2>&1
    rc=$?
    local sec=$(( $(date +%s) - t ))
    tail -n 5 "$RES/$name.log" | sed 's/^/    /' | tee -a "$LOG"
    if (( rc == 0 )); then
        printf '%s\tok\t%s\n' "$name" "$sec" >>"$WORK/steps"; say "$name: ok ($sec s)"
    else
        printf '%s\tFAILED(%s)\t%s\n' "$name" "$rc" "$sec" >>"$WORK/steps"
        say "$name: FAILED (exit $rc, $sec s; $name.log in the results)"
        FAILED+=("$name")
    fi
}

do_install() {
    local kit="$ROOT/gpu_kit/wheels"
    ls "$kit"/*.whl >/dev/null 2>&1 || { echo "no wheels in $kit: run tools/gpu/prepare.sh first and carry gpu_kit/wheels"; return 1; }
    "$PY" -V; "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
    local ifneeded skip_re='^$'
    mapfile -t ifneeded < <("$PY" "$ROOT/tools/gpu/kit.py" ifneeded "$ROOT/tools/gpu/wheels.txt")
    for req in "${ifneeded[@]}"; do
        local name="${req%%[<>=!]*}"
        skip_re="$skip_re|^${name//-/_}-"
        if "$PY" - "$req" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
from packaging.requirements import Requirement
r = Requirement(sys.argv[1])
try:
    ok = r.specifier.contains(version(r.name), prereleases=True)
except PackageNotFoundError:
    ok = False
print(f'{r.name}: image has {"a fitting" if ok else "no fitting"} version ({sys.argv[1]})')
sys.exit(0 if ok else 1)
EOF
        then :; else
            "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
                --target "$SITE" --find-links "$kit" "$req" || return 1
        fi
    done
    local wheels=()
    for w in "$kit"/*.whl; do
        basename "$w" | grep -Eq "$skip_re" || wheels+=("$w")
    done
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --target "$SITE" "${wheels[@]}" || return 1
    echo "installed ${#wheels[@]} wheels into $SITE"
    # the skip lines of wheels.txt are the only allowed misses (kit.py's filter); not
    # fatal here: the steps below show whether a NOT SATISFIED line matters
    "$PY" -m pip check 2>&1 | "$PY" "$ROOT/tools/gpu/kit.py" pipcheck "$ROOT/tools/gpu/wheels.txt" \
        || echo "pip check: NOT SATISFIED lines above"
}

do_mmcv() {
    local cache="$ROOT/gpu_kit/cache" whl
    whl=$(ls "$cache"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1)
    if [[ -z "$whl" ]] && ls "$cache"/mmcv-2.1.0-*.whl.part-* >/dev/null 2>&1; then
        local first; first=$(ls "$cache"/mmcv-2.1.0-*.whl.part-* | head -n 1)
        whl="$WORK/$(basename "${first%.part-*}")"
        cat "$cache/$(basename "${first%.part-*}")".part-* >"$whl"
        echo "reassembled $(basename "$whl") from its parts"
    fi
    if [[ -n "$whl" ]]; then
        echo "cached mmcv wheel: $(basename "$whl") (no build)"
    else
        local sdist="$ROOT/gpu_kit/wheels/mmcv-2.1.0.tar.gz"
        [[ -f "$sdist" ]] || { echo "no $sdist: run tools/gpu/prepare.sh"; return 1; }
        echo "building mmcv 2.1.0 with CUDA ops for sm_90 on $(nproc) cores"
        MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=$(nproc) \
            "$PY" -m pip wheel --no-deps --no-build-isolation --no-index --no-cache-dir \
            -w "$WORK/mmcv_whl" "$sdist" || return 1
        whl=$(ls "$WORK"/mmcv_whl/mmcv-2.1.0-*.whl | head -n 1)
        # back to this machine at once (result files must stay under 16 MiB each)
        split -b 15m -d "$whl" "$OUTDIR/$(basename "$whl").part-"
        ls -l "$OUTDIR"/mmcv-2.1.0-*.part-*
    fi
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --target "$SITE" "$whl" || return 1
    "$PY" -c 'import mmcv, torch; from mmcv.ops import nms, RoIAlign; import mmcv.ops
x = torch.rand(8, 4, device="cuda") * 50; x[:, 2:] += x[:, :2]
keep = nms(x, torch.rand(8, device="cuda"), 0.5)
print("mmcv", mmcv.__version__, "CUDA ops ok: nms kept", len(keep[1]), "of 8")'
}

do_tests() {
    "$PY" -m pytest -q -p no:cacheprovider -m cuda "$ROOT/tests/cuda" \
        --junitxml "$RES/cuda-tests.xml" -o addopts="" -ra "${TESTS_K[@]}"
}

do_dist() { "$PY" "$ROOT/tools/gpu/smoke.py" dist --work "$WORK/smoke"; }
do_export() { "$PY" "$ROOT/tools/gpu/smoke.py" export --work "$WORK/smoke"; }
do_service() { "$PY" "$ROOT/tools/gpu/smoke.py" service --work "$WORK/smoke" --device "$DEVICE"; }

do_cost() {
    local args=(--out "$RES")
    (( ${#COST_PAIRS[@]} )) && args+=(--pairs "${COST_PAIRS[@]}")
    [[ "$MODE" == cpu ]] && args+=(--cpu)
    "$PY" "$ROOT/tools/gpu/cost.py" "${args[@]}"
}

say "mode $MODE, python $PY, output $OUTDIR, work $WORK"
[[ "$MODE" == gpu ]] && { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG"; }
step install do_install
step mmcv do_mmcv
step tests do_tests
step dist do_dist
step export do_export
step service do_service
step cost do_cost
if (( ${#FAILED[@]} )); then
    say "FAILED: ${FAILED[*]}"
    exit 1
fi
say "all steps passed"
