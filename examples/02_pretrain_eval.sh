#!/usr/bin/env bash
# Pretrain tiny ViKL models on the store of 01_synth_ingest.sh, evaluate them against a random-init
# baseline (LP, LE, FT with calibration), and use the results: retrieval, representation quality,
# embeddings, Grad-CAM and predictions on DICOM files.
#
# Usage (from the repository root):
#   bash examples/02_pretrain_eval.sh [OUT_DIR]       # default OUT_DIR: runs/examples/02_pretrain_eval
#   STORE=my.h5 DICOM_DIR=new-studies/ STEPS=300 bash examples/02_pretrain_eval.sh runs/mine
#
# STORE defaults to runs/examples/01_synth_ingest/demo.h5; when it does not exist,
# 01_synth_ingest.sh is run first (into OUT_DIR/01_synth_ingest). Expected duration on 2 CPU cores:
# about 5 minutes with the defaults (measured: 4 min 42 s while another job used the other core;
# plus 25 s when the store has to be created). The tiny numbers are smoke tests of the machinery,
# not results.
#
# Steps:
#   1. mvkl pretrain --preset tiny, three hard-negative modes: --manineg (interrupted with SIGTERM
#      and continued with --resume), --hard-negatives none, --hard-negatives robinson
#   2. mvkl eval: LP of the three runs and of random:resnet18; LE and FT of ViKL (ManiNeg) and of
#      random:resnet18, FT with --save-model (the classifier for cam and predict)
#   3. mvkl retrieve (--task report: Fig. 4 + recall@k; --task manifest: Table 8)
#   4. mvkl represent (alignment/uniformity; --project pca for the 128-d space), mvkl embed
#   5. mvkl cam on the store's test images and on DICOM files; mvkl predict on DICOM files
set -euo pipefail

MVKL="${MVKL:-.venv/bin/mvkl}"
OUT="${1:-runs/examples/02_pretrain_eval}"
STEPS="${STEPS:-40}"           # pretraining steps per run (tiny preset default: 200)
BATCH="${BATCH:-8}"            # lumps per batch (tiny preset default: 16)
SEED="${SEED:-0}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

DEFAULT01="runs/examples/01_synth_ingest"
if [[ -z "${STORE:-}" ]]; then
    if [[ ! -f "$DEFAULT01/demo.h5" ]]; then
        echo "== 0. no store yet: running examples/01_synth_ingest.sh into $OUT/01_synth_ingest"
        bash examples/01_synth_ingest.sh "$OUT/01_synth_ingest"
        DEFAULT01="$OUT/01_synth_ingest"
    fi
    STORE="$DEFAULT01/demo.h5"
    export MVKL_KEY_FILE="${MVKL_KEY_FILE:-$DEFAULT01/pseudonym.key}"
    DICOM_DIR="${DICOM_DIR:-$DEFAULT01/data/batch2}"
fi
if [[ ! -f "$STORE" ]]; then
    echo "error: STORE=$STORE does not exist (run examples/01_synth_ingest.sh or mvkl ingest)" >&2
    exit 2
fi
if [[ -e "$OUT/runs" ]]; then
    echo "error: $OUT already holds a previous run; remove it or pass another folder" >&2
    exit 2
fi
mkdir -p "$OUT"
RUNS="$OUT/runs"
EVAL="$OUT/eval"
VIKL="$RUNS/manineg"
BASELINE="random:resnet18:$SEED"   # the same trunk as the tiny preset, randomly initialised

echo "== 1a. pretrain tiny ViKL with ManiNeg; stop it with SIGTERM part-way, then --resume"
"$MVKL" pretrain "$STORE" --out "$VIKL" --preset tiny --manineg --steps "$STEPS" --batch-size "$BATCH" \
    --seed "$SEED" --workers 0 --log-every 5 --ckpt-every 10 --quiet &
PID=$!
for _ in $(seq 1 1200); do  # wait (at most 120 s) for the first metrics line, or for the end
    [[ -s "$VIKL/metrics.jsonl" ]] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
kill -TERM "$PID" 2>/dev/null || true
status=0
wait "$PID" || status=$?
if (( status == 130 )); then  # 130: stopped by a signal after writing a checkpoint
    echo "   stopped at $(ls "$VIKL/checkpoints" | tail -1); continuing with --resume"
    "$MVKL" pretrain "$STORE" --out "$VIKL" --resume
elif (( status == 0 )); then
    echo "   (the run finished before the signal arrived; nothing to resume)"
else
    echo "error: mvkl pretrain failed with exit code $status" >&2
    exit "$status"
fi

for mode in none robinson; do
    echo "== 1b. pretrain tiny ViKL, hard negatives: $mode"
    "$MVKL" pretrain "$STORE" --out "$RUNS/$mode" --preset tiny --hard-negatives "$mode" --steps "$STEPS" \
        --batch-size "$BATCH" --seed "$SEED" --workers 0
done

echo "== 2a. linear probe (LP) of the three ViKL runs and of the random-init baseline"
for model in "$VIKL" "$RUNS/none" "$RUNS/robinson" "$BASELINE"; do
    name="$(basename "${model//:/-}")"
    "$MVKL" eval "$model" "$STORE" --protocol lp --preset tiny --seeds 2 --workers 0 --out "$EVAL/$name-lp"
done

echo "== 2b. linear evaluation (LE) and fine-tuning (FT), ViKL (ManiNeg) vs random init"
for model in "$VIKL" "$BASELINE"; do
    name="$(basename "${model//:/-}")"
    "$MVKL" eval "$model" "$STORE" --protocol le --preset tiny --seeds 2 --workers 0 --out "$EVAL/$name-le"
    "$MVKL" eval "$model" "$STORE" --protocol ft --preset tiny --seeds 2 --workers 0 --out "$EVAL/$name-ft" \
        --thresholds 0.87,0.74,0.5 --save-model
done
CLASSIFIER="$EVAL/manineg-ft/classifier"

echo "== 3. cross-modal retrieval in the shared space"
"$MVKL" retrieve "$VIKL" "$STORE" --task report --out "$OUT/retrieval"
"$MVKL" retrieve "$VIKL" "$STORE" --task manifest --t-distance 0.4 --t-cls 0.12,0.15,0.25 \
    --out "$OUT/manifest_estimation"

echo "== 4. representation quality and embeddings"
"$MVKL" represent "$VIKL" "$STORE" --compare "$RUNS/none" --project pca --out "$OUT/represent"
for modality in image text manifest; do
    "$MVKL" embed "$VIKL" "$STORE" --modality "$modality" --split all --output "$OUT/embeddings/$modality.parquet"
done

echo "== 5. Grad-CAM and predictions with the saved FT classifier"
"$MVKL" cam "$CLASSIFIER" "$STORE" --split test --label all --limit 12 --layer layer3 --out "$OUT/cams"
if [[ -n "${DICOM_DIR:-}" && -d "$DICOM_DIR" ]]; then
    # DICOM inputs go through the ingest pixel pipeline; they are printed as #position + keyed hash
    # (the file names of real studies hold patient IDs), and bad files are listed as quarantined.
    "$MVKL" predict "$CLASSIFIER" "$DICOM_DIR" --sensitivity 0.9
    "$MVKL" predict "$CLASSIFIER" "$DICOM_DIR" --operating-point youden --json > "$OUT/predictions.json"
    "$MVKL" cam "$CLASSIFIER" "$DICOM_DIR" --out "$OUT/cams-dicom" --save-arrays
else
    echo "   (no DICOM_DIR: skipping mvkl predict and Grad-CAM on DICOM files)"
fi

echo
echo "done: runs in $RUNS, evaluations in $EVAL (results.md, roc.png, reliability.png each),"
echo "      $OUT/retrieval, $OUT/manifest_estimation, $OUT/represent, $OUT/embeddings, $OUT/cams"
