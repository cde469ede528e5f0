#!/usr/bin/env bash
# Distributed testing with torchrun (GPUs: nccl; CPU-only machine: gloo processes).
#   tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
if [[ -z "$CONFIG" || -z "$CHECKPOINT" || -z "$NPROC" ]]; then
    echo "usage: $0 CONFIG CHECKPOINT NUM_PROCS [test.py args]" >&2
    exit 2
fi
exec "$(dirname "$0")/dist_launch.sh" test.py "$NPROC" "$CONFIG" "$CHECKPOINT" "${@:4}"
