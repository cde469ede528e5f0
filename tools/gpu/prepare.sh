#!/usr/bin/env bash
# GPU check kit, part 1: the wheelhouse maker. Run on a machine WITH package-index access
# (this project's CPU machine); the GPU machine (nvidia-h200, image 'cuda': Python 3.12.3,
# torch 2.11.0+cu130, torchvision 0.26.0, numpy 2.5.2, ...) has no index at all.
#
#   tools/gpu/prepare.sh               # fill gpu_kit/wheels/, then run the completeness check
#   tools/gpu/prepare.sh --no-check    # fill it only
#   tools/gpu/prepare.sh --check       # check what is there only (offline)
#
# What it makes, in gpu_kit/wheels/ (git-ignored; name it in the device tool's `carry`):
#   - a wheel (cp312 manylinux x86_64 or pure Python) of every package in
#     tools/gpu/wheels.txt: the OpenMMLab stack (mmengine 0.10.7, mmdet 3.3.0,
#     mmsegmentation 1.2.2, mmrazor 1.0.0, mmpretrain 1.2.0, openmim 0.3.9), their
#     dependencies the image lacks (tools/gpu/image.txt lists what it has), the web
#     service's (fastapi, uvicorn, python-multipart, pydantic, ...), and setuptools
#     80.10.2 / typing-extensions 4.16.0, carried in case the image's are outside what the
#     stack needs ("ifneeded" lines);
#   - the mmcv 2.1.0 source distribution (mmcv-2.1.0.tar.gz), to be built there with
#     FORCE_CUDA=1 --no-build-isolation against the image's torch;
#   - kd_plugins-<version>-py3-none-any.whl, built from a temporary copy of this checkout's
#     kd_plugins/, tools/, configs/, requirements/, setup.* (git ls-files, untracked
#     included; the copy keeps setup.py from replacing the editable install's
#     kd_plugins/.mim symlinks); rebuilt only when those files change;
#   - MANIFEST.txt (name, version, kind, bytes, sha256, file) and, from the check,
#     IMAGE_NEEDS.txt (what the carried packages require of the image's packages).
# One version per package; files no line names any more are removed. Size (2026-11-30):
# 34.1 MiB in 37 files (faiss-cpu alone 18 MiB; 15.9 MiB before it); the script
# fails if the total reaches 60 MiB (the working tree that travels to the GPU machine,
# this checkout and the carried folder together, must stay under 64 MiB; it prints that
# sum). Time on the 2-core CPU machine (niced, beside other load): 35 s from empty, 25 s
# when everything is there. Idempotent: a second run downloads and builds nothing and
# only re-runs the check.
#
# Completeness check (offline, about 20 s): a throwaway Python 3.12 venv under /tmp;
# metadata-only stand-in wheels for every package of tools/gpu/image.txt (torch 2.11.0,
# torchvision 0.26.0, numpy 2.5.2, ... ; versions not known for the image are the
# project's CPU-venv versions, marked 'assumed' there); then, all with --no-index:
#   1. the stand-ins, the ifneeded wheels and every wheel of the kit, with --no-deps (as on
#      the GPU machine: mmengine declares opencv-python, which must not come in beside the
#      image's opencv-python-headless; openmim declares opendatalab);
#   2. mmcv built from the kit's sdist with --no-build-isolation: torch is only a stand-in
#      here (no module), so mmcv's setup.py finds no torch, builds no C++ ops and makes a
#      pure-Python mmcv 2.1.0 wheel in seconds (thrown away). This proves the sdist and the
#      carried setuptools build offline and what mmcv declares; it does NOT compile the ops
#      (that needs the real torch + nvcc: done on the GPU machine, about 10 min budgeted);
#   3. `pip check`: every requirement of every installed distribution must be satisfied,
#      versions included; the only misses allowed are the 'skip' lines of wheels.txt
#      (opencv-python, opendatalab, selenium);
#   4. imports of the carried packages that need nothing from the image (pydantic with its
#      compiled core, yapf, ftfy, prettytable, ...), proving those wheels load on cp312.
# It does NOT prove: that the image really has the versions marked 'assumed' (see
# IMAGE_NEEDS.txt; `pip check` on the GPU machine settles it), that the compiled wheels
# (shapely, pycocotools, pydantic-core, wcwidth) run against the image's numpy 2.5.2, or
# that anything imports together with the real torch: part 2 (on the GPU) checks those.
#
# Knobs: KD_KIT_DIR (default <repo>/gpu_kit/wheels), KD_KIT_INDEX_URL (default
# https://pypi.org/simple), KD_KIT_PYTHON (a Python 3.12; default pyenv's 3.12.1, else
# python3.12), KD_KIT_MAX_MIB (default 60), KD_KIT_PIP_ISOLATED (default 1: pip ignores
# this machine's pip config and PIP_* variables, e.g. a find-links folder of local builds),
# KD_KIT_WHEELS_TXT / KD_KIT_IMAGE_TXT (other lists, e.g. to see the check fail).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tools/gpu"
KIT_DIR="${KD_KIT_DIR:-$ROOT/gpu_kit/wheels}"
INDEX_URL="${KD_KIT_INDEX_URL:-https://pypi.org/simple}"
MAX_MIB="${KD_KIT_MAX_MIB:-60}"
WHEELS_TXT="${KD_KIT_WHEELS_TXT:-$HERE/wheels.txt}"
IMAGE_TXT="${KD_KIT_IMAGE_TXT:-$HERE/image.txt}"
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64
           manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64)

MODE=all
case "${1:-}" in
    '') ;;
    --check) MODE=check ;;
    --no-check) MODE=fill ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--check | --no-check]" >&2; exit 2 ;;
esac

t0=$(date +%s)
say() { printf '[gpu-kit %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
die() { printf '[gpu-kit] ERROR: %s\n' "$*" >&2; exit 1; }

PY312="${KD_KIT_PYTHON:-}"
if [[ -z "$PY312" ]]; then
    for c in "$HOME/.pyenv/versions/3.12.1/bin/python3.12" "$(command -v python3.12 || true)"; do
        [[ -n "$c" && -x "$c" ]] && { PY312="$c"; break; }
    done
fi
[[ -n "$PY312" ]] || die "no Python 3.12 found (the image's); set KD_KIT_PYTHON"
"$PY312" -c 'import sys; assert sys.version_info[:2] == (3, 12), sys.version' \
    || die "$PY312 is not a Python 3.12"
KIT=("$PY312" "$HERE/kit.py")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kd-gpu-kit.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
say "throwaway venv $TMP/venv ($("$PY312" -V))"
"$PY312" -m venv "$TMP/venv"
VPY="$TMP/venv/bin/python"
PIP=("$VPY" -m pip --disable-pip-version-check)
[[ "${KD_KIT_PIP_ISOLATED:-1}" == 1 ]] && PIP+=(--isolated)
OFFLINE=(--no-index --no-cache-dir)

# the carried setuptools (77..80: pkg_resources) into the throwaway venv, offline
venv_setuptools() {
    "$VPY" -c 'import setuptools' 2>/dev/null && return 0
    "${PIP[@]}" install -q "${OFFLINE[@]}" --no-deps --find-links "$KIT_DIR" \
        "$("${KIT[@]}" ifneeded "$WHEELS_TXT" | grep '^setuptools')"
}

# the files of this checkout that go into the kd_plugins wheel (tracked or untracked, not
# ignored: kd_plugins/.mim, the editable install's symlinks, stays out), and their hash
command -v git >/dev/null && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 \
    || die "$ROOT is not a git checkout: cannot list the project's files"
SRC_PATHS=(kd_plugins tools configs requirements setup.py setup.cfg README.md
           model-index.yml MANIFEST.in pyproject.toml)
list_src() {
    git -C "$ROOT" ls-files -z -co --exclude-standard -- "${SRC_PATHS[@]}" \
        | (cd "$ROOT" && while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done)
}
src_hash=$(list_src | (cd "$ROOT" && "${KIT[@]}" src-hash))
KD_VERSION=$("$PY312" -c "exec(open('$ROOT/kd_plugins/version.py').read()); print(__version__)")
wheel="$KIT_DIR/kd_plugins-$KD_VERSION-py3-none-any.whl"
project_wheel_current() {
    [[ -f "$wheel" && "$(cat "$KIT_DIR/.kd_plugins-src.sha256" 2>/dev/null)" == "$src_hash" ]]
}

if [[ "$MODE" != check ]]; then
    mkdir -p "$KIT_DIR"
    "${KIT[@]}" prune "$WHEELS_TXT" "$KIT_DIR"

    # 1. wheels (one pip call for all that are missing)
    mapfile -t missing < <("${KIT[@]}" missing "$WHEELS_TXT" "$KIT_DIR")
    if (( ${#missing[@]} )); then
        say "downloading ${#missing[@]} wheels from $INDEX_URL"
        plat=(); for p in "${PLATFORMS[@]}"; do plat+=(--platform "$p"); done
        "${PIP[@]}" download -q --no-deps --only-binary=:all: --index-url "$INDEX_URL" \
            --python-version 3.12 --implementation cp --abi cp312 "${plat[@]}" \
            -d "$TMP/dl" "${missing[@]}"
        for f in "$TMP"/dl/*.whl; do  # copy then rename: no half-copied wheel on a kill
            cp "$f" "$KIT_DIR/$(basename "$f").part" && mv "$KIT_DIR/$(basename "$f").part" "$KIT_DIR/$(basename "$f")"
        done
    else
        say "all wheels already there"
    fi

    # 2. source distributions (pip download would run their setup.py to read metadata)
    while read -r name pkg_version; do
        [[ -n "$name" ]] || continue
        say "downloading the $name $pkg_version source distribution"
        "${KIT[@]}" sdist "$name" "$pkg_version" "$KIT_DIR" "$INDEX_URL"
    done < <("${KIT[@]}" missing-sdists "$WHEELS_TXT" "$KIT_DIR")

    # 3. kd_plugins itself, from a copy of the files that go into its wheel
    if project_wheel_current; then
        say "kd_plugins $KD_VERSION wheel up to date"
    else
        say "building the kd_plugins $KD_VERSION wheel from a copy of the checkout"
        mkdir -p "$TMP/src"
        list_src | (cd "$ROOT" && xargs -0 cp --parents -P -t "$TMP/src")
        venv_setuptools
        "${PIP[@]}" wheel -q "${OFFLINE[@]}" --no-deps --no-build-isolation \
            -w "$TMP/pw" "$TMP/src" >"$TMP/pw.log" 2>&1 \
            || { tail -n 30 "$TMP/pw.log" >&2; die "kd_plugins wheel build failed"; }
        cp "$TMP"/pw/kd_plugins-*.whl "$wheel.part" && mv "$wheel.part" "$wheel"
        echo "$src_hash" >"$KIT_DIR/.kd_plugins-src.sha256"
    fi
fi

[[ -d "$KIT_DIR" ]] || die "no wheelhouse at $KIT_DIR (run without --check first)"
project_wheel_current || say "WARNING: $(basename "$wheel") is older than the checkout's files (run without --check to rebuild it)"
"${KIT[@]}" manifest "$WHEELS_TXT" "$KIT_DIR" "$MAX_MIB" || die "the wheelhouse is not right (see above)"

if [[ "$MODE" != fill ]]; then
    say "completeness check: stand-ins for the image + the kit, offline, into $TMP/venv"
    "${KIT[@]}" stubs "$IMAGE_TXT" "$WHEELS_TXT" "$TMP/stubs"
    "${PIP[@]}" install -q "${OFFLINE[@]}" --no-deps "$TMP"/stubs/*.whl
    # ifneeded: a stand-in for the image's version would decide nothing; install the
    # carried wheel, i.e. check the case where the image's version misses the condition
    mapfile -t ifneeded < <("${KIT[@]}" ifneeded "$WHEELS_TXT")
    "${PIP[@]}" install -q "${OFFLINE[@]}" --no-deps --find-links "$KIT_DIR" "${ifneeded[@]}"
    "${PIP[@]}" install -q "${OFFLINE[@]}" --no-deps "$KIT_DIR"/*.whl
    for sdist in "$KIT_DIR"/*.tar.gz; do
        [[ -e "$sdist" ]] || continue
        say "building $(basename "$sdist") offline without torch (metadata and pure-Python parts only)"
        "${PIP[@]}" wheel "${OFFLINE[@]}" --no-deps --no-build-isolation -w "$TMP/sd" \
            "$sdist" >"$TMP/sd.log" 2>&1 \
            || { tail -n 30 "$TMP/sd.log" >&2; die "$(basename "$sdist") does not build offline"; }
    done
    [[ -d "$TMP/sd" ]] && "${PIP[@]}" install -q "${OFFLINE[@]}" --no-deps "$TMP"/sd/*.whl
    say "pip check (allowed to miss only the skip lines of tools/gpu/wheels.txt)"
    set +e
    "$VPY" -m pip check --disable-pip-version-check >"$TMP/pipcheck.txt" 2>&1
    set -e
    "${KIT[@]}" pipcheck "$WHEELS_TXT" <"$TMP/pipcheck.txt" \
        || die "the wheelhouse is incomplete for the image (NOT SATISFIED lines above)"
    "$VPY" "$HERE/kit.py" image-needs "$WHEELS_TXT" "$KIT_DIR/IMAGE_NEEDS.txt" \
        || die "an ifneeded condition in tools/gpu/wheels.txt is too loose (see above)"
    "$VPY" - <<'EOF' || die "a carried package that needs nothing from the image does not import on 3.12"
import importlib
import sys
import warnings
warnings.simplefilter('ignore')  # pkg_resources' deprecation notice
mods = ('addict termcolor terminaltables ordered_set mat4py wcwidth prettytable ftfy yapf '
        'platformdirs lazy_importer annotated_types typing_inspection pydantic_core '
        'pydantic opentelemetry.trace python_multipart setuptools pkg_resources').split()
bad = []
for m in mods:
    try:
        importlib.import_module(m)
    except Exception as e:  # noqa
        bad.append(f'{m}: {type(e).__name__}: {e}')
print(f'imported {len(mods) - len(bad)}/{len(mods)} carried modules on Python',
      sys.version.split()[0])
for b in bad:
    print('  FAILED', b)
raise SystemExit(1 if bad else 0)
EOF
    say "completeness check passed"
fi

total=$(du -cb "$KIT_DIR"/* | tail -n1 | cut -f1)
tree=$(git -C "$ROOT" ls-files -z -co --exclude-standard | (cd "$ROOT" && du -cb --files0-from=- 2>/dev/null) | tail -n1 | cut -f1)
say "$(ls "$KIT_DIR" | grep -cE '\.(whl|tar\.gz)$') packages, $(awk -v b="$total" 'BEGIN{printf "%.2f", b/1048576}') MiB in $KIT_DIR; with the checkout's other files $(awk -v b="$((total + tree))" 'BEGIN{printf "%.2f", b/1048576}') MiB would travel (limit 64)"
say "done in $(( $(date +%s) - t0 )) s"
