#!/usr/bin/env bash
# Synthetic studies -> de-identified HDF5 store, with an interrupted ingest resumed and a second
# batch appended; then a look at the store, its manifestation tables and their Hamming structure.
#
# Usage (from the repository root):
#   bash examples/01_synth_ingest.sh [OUT_DIR]        # default OUT_DIR: runs/examples/01_synth_ingest
#   EXAMS=200 SYNTH_SIZE=1024 STORE_SIZE=256 bash examples/01_synth_ingest.sh runs/bigger
#
# Steps: mvkl synth (with --hostile files and a --preview sheet) -> mvkl ingest --format mvkl,
# killed part-way and continued with --resume -> a second synth batch added with --append ->
# mvkl info --preview -> mvkl manifest validate on the synthetic tables -> mvkl hamming --plot.
# Expected duration on 2 CPU cores: about 25 s with the defaults (measured: 24 s while another job
# used the other core).
#
# Outputs in OUT_DIR: data/batch1 and data/batch2 (synthetic DICOM + annotation tables; the file
# and folder names hold FAKE patient IDs), demo.h5 (the store), pseudonym.key (the key of the
# pseudonyms: keep it to --append later; it is never stored), *.png previews, hamming.png, and
# quarantine.json (LOCAL list of the hostile files with their paths; do not share such a file for
# real data). 02_pretrain_eval.sh continues from this folder.
set -euo pipefail

MVKL="${MVKL:-.venv/bin/mvkl}"
OUT="${1:-runs/examples/01_synth_ingest}"
EXAMS="${EXAMS:-40}"             # exams in the first batch (the second batch has half as many)
SYNTH_SIZE="${SYNTH_SIZE:-512}"  # long side of the synthetic DICOM images (real MG: ~3000-4000 px)
STORE_SIZE="${STORE_SIZE:-64}"   # stored image side (paper: 256)
SEED="${SEED:-0}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# The pseudonym key: ingest creates it (mode 0600) when absent. The default for real data is
# ~/.config/mvkl/pseudonym.key; the example keeps its own key next to its outputs.
export MVKL_KEY_FILE="${MVKL_KEY_FILE:-$OUT/pseudonym.key}"

if [[ -e "$OUT/demo.h5" || -d "$OUT/data" ]]; then
    echo "error: $OUT already holds a previous run; remove it or pass another folder" >&2
    exit 2
fi
mkdir -p "$OUT"
STORE="$OUT/demo.h5"

echo "== 1. synthesise $EXAMS exams (4 views each) with hostile files, and a contact sheet"
"$MVKL" synth "$OUT/data/batch1" --exams "$EXAMS" --seed "$SEED" --image-size "$SYNTH_SIZE" \
    --hostile --preview "$OUT/synth_preview.png"

echo "== 2. ingest: tables are validated first, bad files are quarantined, pixels de-identified"
# Start the ingest in its own process group, kill it (SIGKILL, like a crash or a lost node) once
# a few units are journaled, then continue it with --resume: the store equals an uninterrupted run.
PARTIAL="$STORE.partial"
setsid "$MVKL" ingest "$OUT/data/batch1" --format mvkl --out "$STORE" --image-size "$STORE_SIZE" \
    --seed "$SEED" --workers 1 --quiet >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 600); do  # wait (at most 60 s) for 3 journaled units, or for the end of the run
    if [[ -f "$PARTIAL/journal.jsonl" ]] && (( $(wc -l < "$PARTIAL/journal.jsonl") >= 3 )); then break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
kill -KILL -- "-$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
if [[ -f "$STORE" ]]; then
    echo "   (the ingest finished before it could be killed; nothing to resume)"
    "$MVKL" info "$STORE" >/dev/null
else
    echo "   killed with $(wc -l < "$PARTIAL/journal.jsonl" 2>/dev/null || echo 0) unit(s) journaled in $PARTIAL; resuming"
    "$MVKL" ingest "$OUT/data/batch1" --format mvkl --out "$STORE" --image-size "$STORE_SIZE" \
        --seed "$SEED" --resume --quarantine-report "$OUT/quarantine.json"
fi

echo "== 3. a second batch, appended to the same store (same key, same --dataset namespace)"
"$MVKL" synth "$OUT/data/batch2" --exams "$(( (EXAMS + 1) / 2 ))" --seed "$(( SEED + 1 ))" \
    --image-size "$SYNTH_SIZE" --quiet
"$MVKL" ingest "$OUT/data/batch2" --format mvkl --out "$STORE" --append

echo "== 4. what is in the store (counts per split/label/view, coverage, de-identification)"
"$MVKL" info "$STORE" --preview "$OUT/store_preview.png" --preview-lumps 12

echo "== 5. the synthetic manifestation tables (MVKL release layout) pass the schema checks"
for table in "$OUT"/data/batch1/annotation/*.xlsx "$OUT"/data/batch2/annotation/*.xlsx; do
    "$MVKL" manifest validate "$table"
done

echo "== 6. Hamming-distance structure of the training manifestations, simulated ManiNeg batches"
"$MVKL" hamming "$STORE" --split train --mu 0,4,11 --bounds 1,18 --batch-size 16 --batches 100 \
    --seed "$SEED" --plot "$OUT/hamming.png"

echo
echo "done: store $STORE; previews $OUT/synth_preview.png, $OUT/store_preview.png; $OUT/hamming.png"
echo "next: bash examples/02_pretrain_eval.sh   (uses this store)"
