#!/usr/bin/env bash
# Distributed training with torchrun: GPUs (nccl) or, without CUDA, CPU processes (gloo).
#   tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as in OpenMMLab's scripts.
set -e
CONFIG=$1
NPROC=$2
[[ -n "$CONFIG" && -n "$NPROC" ]] || { echo "usage: $0 CONFIG NUM_PROCS [args]" >&2; exit 2; }
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
    "$DIR/train.py" "$CONFIG" --launcher pytorch "${@:3}"
