#!/usr/bin/env bash
# Distributed testing with torchrun: GPUs (nccl) or, without CUDA, CPU processes (gloo).
#   tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as in OpenMMLab's scripts.
set -e
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
[[ -n "$CONFIG" && -n "$CHECKPOINT" && -n "$NPROC" ]] || { echo "usage: $0 CONFIG CHECKPOINT NUM_PROCS [args]" >&2; exit 2; }
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR="$(cd "$(dirname "$0")" && pwd)"
PY=${PYTHON:-python}
[[ -x "$DIR/../.venv/bin/python" && -z "$PYTHON" ]] && PY="$DIR/../.venv/bin/python"
PYTHONPATH="$DIR/..":$PYTHONPATH \
exec "$PY" -m torch.distributed.run \
    --nnodes=$NNODES --node_rank=$NODE_RANK --master_addr=$MASTER_ADDR \
    --nproc_per_node=$NPROC --master_port=$PORT \
    "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
