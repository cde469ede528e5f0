#!/usr/bin/env bash
# torchrun launcher shared by dist_train.sh and dist_test.sh:
#   dist_launch.sh SCRIPT NUM_PROCS SCRIPT_ARGS...
# GPUs use nccl; without CUDA the same command runs CPU processes with gloo.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as in OpenMMLab's scripts.
set -e
SCRIPT=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR="$(cd "$(dirname "$0")" && pwd)"
PY=${PYTHON:-python}
[[ -z "$PYTHON" && -x "$DIR/../.venv/bin/python" ]] && PY="$DIR/../.venv/bin/python"
PYTHONPATH="$DIR/..":$PYTHONPATH \
exec "$PY" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$DIR/$SCRIPT" "${@:3}" --launcher pytorch
