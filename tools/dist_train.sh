#!/usr/bin/env bash
# Distributed training with torchrun (GPUs: nccl; CPU-only machine: gloo processes).
#   tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
CONFIG=$1
NPROC=$2
if [[ -z "$CONFIG" || -z "$NPROC" ]]; then
    echo "usage: $0 CONFIG NUM_PROCS [train.py args]" >&2
    exit 2
fi
exec "$(dirname "$0")/dist_launch.sh" train.py "$NPROC" "$CONFIG" "${@:3}"
