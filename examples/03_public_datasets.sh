#!/usr/bin/env bash
# Public data sets: ingest CBIS-DDSM, INbreast and VinDr-Mammo from their download layouts
# (docs/public-datasets.md), then the cross-dataset benchmark (paper Table 4) and fine-tuning on
# fractions of the training split (paper Fig. 5).
#
# Usage (from the repository root):
#   CBIS_DIR=data/cbis INBREAST_DIR=data/INbreast VINDR_DIR=data/vindr \
#       MODELS=runs/vikl IMAGENET_WEIGHTS=models/resnet50-0676ba61.pth \
#       bash examples/03_public_datasets.sh [OUT_DIR]      # default OUT_DIR: runs/examples/03_public_datasets
#   FIXTURES=1 bash examples/03_public_datasets.sh          # the same on tiny fixture trees (tests/datasets)
#
# Each data set is skipped, with a message, when its folder does not exist; the benchmarks use
# every store that has benign and malignant images in train, val and test (plus MVKL_STORE when it
# exists). Expected duration on 2 CPU cores: a second when every folder is missing; FIXTURES=1
# about 40 s (measured: 39 s while another job used the other core). The real data sets: ingest
# time is decoding full-field DICOM (`mvkl bench ingest` measures images/s per worker on this
# machine); the paper-setting benchmarks are GPU work (hours).
#
# Expected layouts (details and the manifestation mapping: docs/public-datasets.md):
#   CBIS_DIR/     {mass,calc}_case_description_{train,test}_set.csv, metadata.csv (optional),
#                 CBIS-DDSM/<Mass-Training_P_00001_LEFT_CC>/<StudyUID>/<SeriesUID>/*.dcm
#   INBREAST_DIR/ INbreast.xls (or INbreast.csv with ';'), AllDICOMs/*.dcm, AllXML/ and
#                 MedicalReports/ (optional)
#   VINDR_DIR/    breast-level_annotations.csv, finding_annotations.csv, images/<study>/<image>.dicom
set -euo pipefail

MVKL="${MVKL:-.venv/bin/mvkl}"
PY="${PY:-.venv/bin/python}"           # the Python of the mvkl environment (fixtures, store checks)
OUT="${1:-runs/examples/03_public_datasets}"
FIXTURES="${FIXTURES:-0}"

CBIS_DIR="${CBIS_DIR:-data/cbis-ddsm}"
INBREAST_DIR="${INBREAST_DIR:-data/INbreast}"
VINDR_DIR="${VINDR_DIR:-data/vindr-mammo}"
MVKL_STORE="${MVKL_STORE:-mvkl.h5}"    # optional: the MVKL store, as the first benchmark column
IMAGENET_WEIGHTS="${IMAGENET_WEIGHTS:-models/resnet50-0676ba61.pth}"
IMAGE_SIZE="${IMAGE_SIZE:-256}"        # stored image side (paper: 256)
SETTING="${SETTING:-paper}"            # paper (Appendix A hyperparameters) or tiny (CPU minutes)
VAL_FRACTION="${VAL_FRACTION:-0.1}"    # CBIS-DDSM / VinDr: share of official-train patients for val
FRACTIONS="${FRACTIONS:-0.2,0.4,0.6,0.8,1.0}"
SEED="${SEED:-0}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# The key of the pseudonyms (never stored); for real data keep one key per project
# (default ~/.config/mvkl/pseudonym.key) and give each data set its own --dataset namespace.
export MVKL_KEY_FILE="${MVKL_KEY_FILE:-$OUT/pseudonym.key}"

mkdir -p "$OUT"
EXTRA=()        # extra benchmark options (FIXTURES mode: a CPU-sized run)
if [[ "$FIXTURES" == 1 ]]; then
    echo "== FIXTURES=1: building tiny CBIS-DDSM, INbreast and VinDr-Mammo trees in $OUT/fixtures"
    rm -rf "$OUT/fixtures" "$OUT"/*.h5
    "$PY" -c 'import sys; from pathlib import Path
from tests.sources._layouts import make_cbis, make_inbreast, make_vindr
root = Path(sys.argv[1])
make_cbis(root / "cbis-ddsm"); make_inbreast(root / "INbreast"); make_vindr(root / "vindr-mammo")' "$OUT/fixtures"
    CBIS_DIR="$OUT/fixtures/cbis-ddsm"
    INBREAST_DIR="$OUT/fixtures/INbreast"
    VINDR_DIR="$OUT/fixtures/vindr-mammo"
    IMAGE_SIZE=64
    SETTING=tiny
    VAL_FRACTION=0.3        # a handful of patients: keep both classes in the validation split
    FRACTIONS=0.5,1.0       # 20 % of six training images would empty a class
    EXTRA=(--seeds 2 --epochs 1 --workers 0)
fi
# Rows of the benchmarks: encoders to compare (ViKL run directories, exports, imagenet, random).
if [[ -f "$IMAGENET_WEIGHTS" ]]; then
    MODELS="${MODELS:-imagenet}"
    BASELINE_INIT="${BASELINE_INIT:-imagenet}"   # the paper's supervised rows start from ImageNet
    EXTRA+=(--image-weights "$IMAGENET_WEIGHTS" --arch resnet50)
else
    echo "   note: $IMAGENET_WEIGHTS not found; rows start from random:resnet18 (set IMAGENET_WEIGHTS)"
    MODELS="${MODELS:-random:resnet18}"
    BASELINE_INIT="${BASELINE_INIT:-random:resnet18}"
fi

STORES=()
ready() {  # ready NAME DIR: true when DIR exists and OUT/NAME.h5 has to be made (the store is then listed)
    if [[ ! -d "$2" ]]; then
        echo "   skipped $1: folder $2 does not exist (set it at the top or in the environment)"
        return 1
    fi
    STORES+=("$OUT/$1.h5")
    if [[ -f "$OUT/$1.h5" ]]; then
        echo "   $OUT/$1.h5 exists; kept (delete it to ingest again)"
        return 1
    fi
}
# Every ingest: its own --dataset namespace (pseudonyms never collide across data sets), and a
# LOCAL quarantine report naming the source files that could not be used (do not share it).

echo "== 1. CBIS-DDSM: one lump per image (mass and calc rows of a view merged); official test"
echo "      split kept, VAL_FRACTION of the official-train patients drawn (seeded) for validation"
if ready cbis-ddsm "$CBIS_DIR"; then
    "$MVKL" ingest "$CBIS_DIR" --format cbis-ddsm --out "$OUT/cbis-ddsm.h5" --dataset cbis-ddsm \
        --image-size "$IMAGE_SIZE" --seed "$SEED" --adapter-option "val_fraction=$VAL_FRACTION" \
        --quarantine-report "$OUT/cbis-ddsm-quarantine.json"
fi

echo "== 2. INbreast: BI-RADS 1-3 benign, 4a-6 malignant (BI-RADS read as text); FB views"
echo "      quarantined; patients split 7:1:2 (seeded)"
if ready inbreast "$INBREAST_DIR"; then
    "$MVKL" ingest "$INBREAST_DIR" --format inbreast --out "$OUT/inbreast.h5" --dataset inbreast \
        --image-size "$IMAGE_SIZE" --seed "$SEED" --split 7:1:2 --quarantine-report "$OUT/inbreast-quarantine.json"
fi

echo "== 3. VinDr-Mammo: breast BI-RADS as the label proxy (birads3=benign; birads3=unknown keeps"
echo "      BI-RADS 3 images for pretraining only); official split, VAL_FRACTION of training studies"
if ready vindr-mammo "$VINDR_DIR"; then
    "$MVKL" ingest "$VINDR_DIR" --format vindr --out "$OUT/vindr-mammo.h5" --dataset vindr-mammo \
        --image-size "$IMAGE_SIZE" --seed "$SEED" --adapter-option "val_fraction=$VAL_FRACTION" \
        --adapter-option birads3=benign --quarantine-report "$OUT/vindr-mammo-quarantine.json"
fi

for store in ${STORES[@]+"${STORES[@]}"}; do
    echo "== $store"
    "$MVKL" info "$store" --preview "${store%.h5}-preview.png"
done

# The benchmarks need benign and malignant images in every split of every evaluation store.
evaluable() {
    "$MVKL" info "$1" --json --quiet | "$PY" -c 'import json, sys
d = json.load(sys.stdin)["splits"]
sys.exit(0 if all(min(d[s]["image_labels"]["benign"], d[s]["image_labels"]["malignant"]) > 0
                  for s in ("train", "val", "test")) else 1)'
}
COLUMNS=()
for store in "$MVKL_STORE" ${STORES[@]+"${STORES[@]}"}; do
    [[ -f "$store" ]] || continue
    if evaluable "$store"; then
        COLUMNS+=("$store")
    else
        echo "   $store lacks benign or malignant images in train, val or test: left out of the benchmarks"
    fi
done
if (( ${#COLUMNS[@]} == 0 )); then
    echo "no store to benchmark (give CBIS_DIR, INBREAST_DIR, VINDR_DIR or MVKL_STORE); done"
    exit 0
fi
STORE_LIST="$(IFS=,; echo "${COLUMNS[*]}")"

echo "== 4. cross-dataset benchmark (paper Table 4): LP of each encoder on every store, plus a"
echo "      supervised row per store ($BASELINE_INIT fine-tuned on it), columns: $STORE_LIST"
"$MVKL" bench cross-dataset --models "$MODELS" --stores "$STORE_LIST" --protocol lp \
    --supervised-baselines --baseline-init "$BASELINE_INIT" --preset "$SETTING" \
    --out "$OUT/cross-dataset" "${EXTRA[@]}"

echo "== 5. fine-tuning on fractions $FRACTIONS of the training split (paper Fig. 5), on ${COLUMNS[0]}"
"$MVKL" bench data-fraction --store "${COLUMNS[0]}" --models "$MODELS" --fractions "$FRACTIONS" \
    --protocol ft --preset "$SETTING" --out "$OUT/data-fraction" "${EXTRA[@]}"

echo
echo "done: stores in $OUT; $OUT/cross-dataset/cross-dataset.md; $OUT/data-fraction"
