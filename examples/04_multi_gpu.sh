#!/usr/bin/env bash
# Distributed ViKL pretraining with torchrun (DDP): one node with several GPUs, or several nodes.
#
# Usage (from the repository root):
#   MVKL_STORE=mvkl.h5 BERT_DIR=models/bert-base-chinese IMAGENET_WEIGHTS=models/resnet50-0676ba61.pth \
#       bash examples/04_multi_gpu.sh [OUT_DIR]            # one node, every visible GPU
#   NNODES=2 RDZV_ENDPOINT=node0.example:29400 ... bash examples/04_multi_gpu.sh   # the same on every node
#   CPU=1 bash examples/04_multi_gpu.sh                    # no GPU: 2-process gloo smoke run on CPU
#
# OUT_DIR defaults to runs/examples/04_multi_gpu. Without a CUDA GPU the script refuses to run
# unless CPU=1. Expected duration on 2 CPU cores with CPU=1: about 1 minute (measured: 51 s while
# another job used the other core, including synthesising and ingesting a small store unless
# SMOKE_STORE names one). On GPUs: the paper preset is 9,000 steps of batch 64 per process.
#
# Every rank runs the same `mvkl pretrain` command; rank 0 alone writes the run directory and
# prints the summary. --batch-size is per process: the global batch is NPROC x NNODES x it.
# ManiNeg batches are built per rank (each rank draws its own anchors from a shared epoch order);
# with --hard-negatives none/robinson, --gather-negatives contrasts against the global batch.
# Stop with Ctrl-C (every rank checkpoints at the next log step); continue with the same command
# plus --resume.
set -euo pipefail

MVKL="${MVKL:-.venv/bin/mvkl}"
PY="${PY:-.venv/bin/python}"          # the Python of the mvkl environment (used to query torch)
TORCHRUN="${TORCHRUN:-.venv/bin/torchrun}"
OUT="${1:-runs/examples/04_multi_gpu}"
CPU="${CPU:-0}"

MVKL_STORE="${MVKL_STORE:-mvkl.h5}"                        # mvkl ingest of the MVKL release
BERT_DIR="${BERT_DIR:-models/bert-base-chinese}"           # local bert-base-chinese (never downloaded)
IMAGENET_WEIGHTS="${IMAGENET_WEIGHTS:-models/resnet50-0676ba61.pth}"  # torchvision ResNet-50 weights
NNODES="${NNODES:-1}"
RDZV_ENDPOINT="${RDZV_ENDPOINT:-}"                         # host:port of the rendezvous (node 0)
RDZV_ID="${RDZV_ID:-vikl}"                                 # the same on every node of one job
STEPS="${STEPS:-9000}"
BATCH="${BATCH:-64}"                                       # per process

have_cuda() { "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }

if [[ "$CPU" == 1 ]]; then
    # ---- CPU smoke run: 2 processes, gloo backend, tiny preset, a few steps ------------------
    export OMP_NUM_THREADS=1
    STORE="${SMOKE_STORE:-$OUT/smoke/demo.h5}"
    if [[ ! -f "$STORE" ]]; then
        echo "== synthesise and ingest a small store for the smoke run: $STORE"
        export MVKL_KEY_FILE="${MVKL_KEY_FILE:-$OUT/smoke/pseudonym.key}"
        "$MVKL" synth "$OUT/smoke/data" --exams 24 --seed 0 --image-size 256 --quiet --force
        "$MVKL" ingest "$OUT/smoke/data" --format mvkl --out "$STORE" --image-size 64 --quiet --overwrite
    fi
    RUN="$OUT/cpu-ddp"
    echo "== torchrun --standalone --nproc_per_node 2: ViKL (tiny preset, ManiNeg) on CPU/gloo"
    rm -rf "$RUN"
    "$TORCHRUN" --standalone --nproc_per_node 2 -m mvkl pretrain "$STORE" --out "$RUN" \
        --preset tiny --manineg --steps "${SMOKE_STEPS:-6}" --batch-size 4 --image-size 32 \
        --device cpu --workers 0 --log-every 2 --ckpt-every 3
    echo "== the same with random batches, contrasting against the global batch (--gather-negatives)"
    rm -rf "$RUN-gather"
    "$TORCHRUN" --standalone --nproc_per_node 2 -m mvkl pretrain "$STORE" --out "$RUN-gather" \
        --preset tiny --hard-negatives none --gather-negatives --steps "${SMOKE_STEPS:-6}" --batch-size 4 \
        --image-size 32 --device cpu --workers 0 --log-every 2
    echo "done: $RUN and $RUN-gather (config.json records world_size 2; metrics.jsonl the global batch)"
    exit 0
fi

if ! have_cuda; then
    echo "error: no CUDA GPU is visible to $PY, and this script trains on GPUs." >&2
    echo "       Set CPU=1 for a 2-process CPU (gloo) smoke run on the tiny preset, or run" >&2
    echo "       '$MVKL pretrain STORE --out RUN --preset tiny' for a single-process CPU run." >&2
    exit 1
fi
for path in "$MVKL_STORE" "$BERT_DIR" "$IMAGENET_WEIGHTS"; do
    if [[ ! -e "$path" ]]; then
        echo "error: $path does not exist; set MVKL_STORE, BERT_DIR and IMAGENET_WEIGHTS" >&2
        exit 2
    fi
done
NPROC="${NPROC:-$("$PY" -c 'import torch; print(torch.cuda.device_count())')}"
RUN="$OUT/vikl-${NNODES}x${NPROC}"

if [[ "$NNODES" == 1 ]]; then
    # ---- one node: a local rendezvous, one process per GPU ----------------------------------
    echo "== torchrun --standalone --nproc_per_node $NPROC: ViKL with ManiNeg (paper preset)"
    "$TORCHRUN" --standalone --nproc_per_node "$NPROC" -m mvkl pretrain "$MVKL_STORE" --out "$RUN" \
        --manineg --text-model "$BERT_DIR" --image-weights "$IMAGENET_WEIGHTS" \
        --steps "$STEPS" --batch-size "$BATCH"
else
    # ---- several nodes: run this script on every node with the same RDZV_ENDPOINT/RDZV_ID ----
    # The store, BERT_DIR and the weights must be readable at the same paths on every node; OUT
    # must be a shared folder (rank 0 writes it; --resume reads its newest checkpoint).
    if [[ -z "$RDZV_ENDPOINT" ]]; then
        echo "error: NNODES=$NNODES needs RDZV_ENDPOINT=host:port (a node every node can reach)" >&2
        exit 2
    fi
    # With the c10d rendezvous torchrun assigns the node ranks itself (no --node-rank).
    echo "== torchrun --nnodes $NNODES --nproc_per_node $NPROC, c10d rendezvous at $RDZV_ENDPOINT"
    "$TORCHRUN" --nnodes "$NNODES" --nproc_per_node "$NPROC" \
        --rdzv-backend c10d --rdzv-endpoint "$RDZV_ENDPOINT" --rdzv-id "$RDZV_ID" \
        -m mvkl pretrain "$MVKL_STORE" --out "$RUN" \
        --manineg --text-model "$BERT_DIR" --image-weights "$IMAGENET_WEIGHTS" \
        --steps "$STEPS" --batch-size "$BATCH"
fi
echo "done: $RUN (encoder/ for mvkl eval, vikl/ for retrieve/represent/embed)"
