#!/usr/bin/env bash
# Reproduce the ViKL paper (Wei et al., arXiv 2409.15744): one section per table and figure, with
# the mvkl commands that produce it. At the end a markdown table maps each table/figure to its
# command and output file (also written to OUT_DIR/repro_table.md).
#
# Usage (from the repository root; bash >= 4.4):
#   MVKL_STORE=mvkl.h5 CBIS_STORE=cbis-ddsm.h5 INBREAST_STORE=inbreast.h5 \
#       BERT_DIR=models/bert-base-chinese IMAGENET_WEIGHTS=models/resnet50-0676ba61.pth \
#       bash examples/05_reproduce_paper.sh [OUT_DIR]     # the paper: GPU work (days on one GPU)
#   DRY_RUN=1 bash examples/05_reproduce_paper.sh          # print every command, run nothing
#   SMALL=1 bash examples/05_reproduce_paper.sh            # the same sequence, tiny, synthetic data
#   SECTIONS="table5 fig4" bash examples/05_reproduce_paper.sh   # only some sections (and what they need)
#
# OUT_DIR defaults to runs/examples/05_reproduce_paper (runs/examples/05_reproduce_paper_small with
# SMALL=1). Stores come from `mvkl ingest` (examples/01 and 03); BERT_DIR is a local
# bert-base-chinese (mvkl never downloads) and IMAGENET_WEIGHTS torchvision's ResNet-50 ImageNet
# weights. Finished pretraining runs are kept and interrupted ones resumed when the script is run
# again. Expected duration: SMALL=1 on 2 CPU cores about 10 minutes (measured: 9 min 46 s while
# another job used the other core); DRY_RUN=1 a second; the paper mode is 10 pretraining runs of
# 9,000 steps plus about 120 evaluations of 5 seeds each: GPU days.
#
# In SMALL=1 mode three synthetic stores stand in for MVKL, CBIS-DDSM and INbreast, the tiny
# pretraining preset (ResNet-18, 64 px, a small BERT built from the training reports) runs STEPS
# steps, evaluations use --preset tiny with 2 seeds and 1 epoch, and random:resnet18 stands in for
# the ImageNet model (IM), whose weights are not available offline (the tiny preset starts from
# random weights, so ViKL-R equals ViKL there). Its numbers only show that every step runs; they
# are not results.
set -euo pipefail

MVKL="${MVKL:-.venv/bin/mvkl}"
SMALL="${SMALL:-0}"
DRY_RUN="${DRY_RUN:-0}"
SECTIONS="${SECTIONS:-all}"   # any of: table1 table2 table3 table4 table5 table6 table7 table8 fig3 ... fig8
if [[ "$SMALL" == 1 ]]; then
    OUT="${1:-runs/examples/05_reproduce_paper_small}"
else
    OUT="${1:-runs/examples/05_reproduce_paper}"
fi
RUNS="$OUT/runs"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# ---- inputs and per-mode options --------------------------------------------------------------
if [[ "$SMALL" == 1 ]]; then
    MVKL_STORE="$OUT/data/mvkl-synth.h5"           # synthetic stand-ins (section "data" below)
    CBIS_STORE="$OUT/data/cbis-standin.h5"
    INBREAST_STORE="$OUT/data/inbreast-standin.h5"
    export MVKL_KEY_FILE="${MVKL_KEY_FILE:-$OUT/data/pseudonym.key}"
    STEPS="${STEPS:-20}"
    IM="random:resnet18"                            # stands in for the ImageNet model
    RUN=(--preset tiny --steps "$STEPS" --batch-size 8 --workers 0 --log-every 5)
    TEXT=()                                         # the tiny preset builds its own small BERT
    INIT=()                                         # the tiny preset starts from random weights
    EV=(--preset tiny --seeds 2 --epochs 1 --workers 0)   # every downstream training
    WEIGHTS=()
    BENCH_EVAL=(--n-images 32)
else
    MVKL_STORE="${MVKL_STORE:-mvkl.h5}"
    CBIS_STORE="${CBIS_STORE:-cbis-ddsm.h5}"
    INBREAST_STORE="${INBREAST_STORE:-inbreast.h5}"
    BERT_DIR="${BERT_DIR:-models/bert-base-chinese}"
    IMAGENET_WEIGHTS="${IMAGENET_WEIGHTS:-models/resnet50-0676ba61.pth}"
    IM="imagenet"                                   # ResNet-50 supervised on ImageNet (paper "IM")
    RUN=()                                          # the paper preset (Appendix A): 9000 steps, batch 64
    TEXT=(--text-model "$BERT_DIR")
    INIT=(--image-weights "$IMAGENET_WEIGHTS")
    EV=()                                           # --preset paper: 5 seeds, Appendix A
    WEIGHTS=(--image-weights "$IMAGENET_WEIGHTS")   # for the 'imagenet' model of mvkl eval / bench
    BENCH_EVAL=()
fi
STORES="$MVKL_STORE,$CBIS_STORE,$INBREAST_STORE"

want() { [[ "$SECTIONS" == all || " $SECTIONS " == *" $1 "* ]]; }
wants() { local s; for s in "$@"; do want "$s" && return 0; done; return 1; }

mvkl() {  # run one mvkl command (DRY_RUN=1: only print it); it is echoed on stderr as typed
    local arg line="+ mvkl"
    for arg in "$@"; do
        if [[ "$arg" =~ ^[A-Za-z0-9_./:,=+@%-]+$ ]]; then line+=" $arg"; else line+=" $(printf '%q' "$arg")"; fi
    done
    echo "$line" >&2
    if [[ "$DRY_RUN" != 1 ]]; then "$MVKL" "$@"; fi
}

RESUME=()
STARTED=" "
needs_run() {  # needs_run RUN_DIR: false when it holds a finished run; sets RESUME when interrupted
    RESUME=()
    if [[ "$STARTED" == *" $1 "* ]]; then return 1; fi   # already made by an earlier section
    STARTED+="$1 "
    if [[ "$DRY_RUN" == 1 ]]; then return 0; fi
    if [[ -d "$1/encoder" && -d "$1/vikl" && -f "$1/summary.json" ]]; then
        echo "   $1: finished earlier, kept"
        return 1
    fi
    if compgen -G "$1/checkpoints/step_*.pt" >/dev/null; then RESUME=(--resume); fi
    return 0
}

TABLE_ROWS=()
FIGURE_ROWS=()
row() {  # row ITEM COMMAND OUTPUT NOTES: one line of the final table (tables first, then figures)
    if [[ "$1" == Table* ]]; then TABLE_ROWS+=("| $1 | $2 | $3 | $4 |"); else FIGURE_ROWS+=("| $1 | $2 | $3 | $4 |"); fi
}

section() { echo; echo "==================== $*"; }

if [[ "$DRY_RUN" != 1 ]]; then mkdir -p "$OUT" "$RUNS" "$OUT/configs"; fi

# ---- data (SMALL=1: synthesise three stores; paper: check the inputs) -------------------------
if [[ "$SMALL" == 1 ]]; then
    section "data: three synthetic stores stand in for MVKL, CBIS-DDSM and INbreast"
    if [[ ! -f "$MVKL_STORE" ]]; then
        mvkl synth "$OUT/data/mvkl" --exams 60 --seed 0 --image-size 256 --quiet --force
        mvkl ingest "$OUT/data/mvkl" --format mvkl --out "$MVKL_STORE" --dataset mvkl-synth --image-size 64 --quiet
    fi
    if [[ ! -f "$CBIS_STORE" ]]; then
        mvkl synth "$OUT/data/cbis" --exams 36 --seed 1 --image-size 256 --quiet --force
        mvkl ingest "$OUT/data/cbis" --format mvkl --out "$CBIS_STORE" --dataset cbis-standin --image-size 64 --quiet
    fi
    if [[ ! -f "$INBREAST_STORE" ]]; then
        mvkl synth "$OUT/data/inbreast" --exams 36 --seed 2 --image-size 256 --quiet --force
        mvkl ingest "$OUT/data/inbreast" --format mvkl --out "$INBREAST_STORE" --dataset inbreast-standin \
            --image-size 64 --quiet
    fi
elif [[ "$DRY_RUN" != 1 ]]; then
    missing=0
    for path in "$MVKL_STORE" "$CBIS_STORE" "$INBREAST_STORE" "$BERT_DIR" "$IMAGENET_WEIGHTS"; do
        if [[ ! -e "$path" ]]; then echo "error: $path does not exist" >&2; missing=1; fi
    done
    if (( missing )); then
        echo "Set MVKL_STORE, CBIS_STORE, INBREAST_STORE (mvkl ingest; examples/01 and 03), BERT_DIR and" >&2
        echo "IMAGENET_WEIGHTS; or run SMALL=1 for the synthetic version, DRY_RUN=1 to list the commands." >&2
        exit 2
    fi
fi
# Label smoothing off (Table 6 "LS" column, Fig. 7 "w/o LS"): a configuration file, applied after the preset.
if [[ "$DRY_RUN" != 1 ]]; then printf 'label_smoothing = 0.0\n' > "$OUT/configs/no-label-smoothing.toml"; fi
NO_LS="$OUT/configs/no-label-smoothing.toml"

# ---- pretraining runs (each made once, by the first section that needs it) ---------------------
# ViKL = image + text + manifestation, label smoothing, ManiNeg (paper preset, Appendix A).
pretrain_vikl() {
    if needs_run "$RUNS/vikl"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/vikl" --manineg "${TEXT[@]}" "${INIT[@]}" "${RUN[@]}" "${RESUME[@]}"
    fi
}
# The Robinson et al. hard-negative weighting (Table 6 "△"). The released code trained this variant
# with tau 0.7 everywhere (--preset code-compat); the paper's Table 4 "ViKL" row equals Table 6's "△"
# row (spec B48), so Table 4 lists both runs.
pretrain_robinson() {
    if needs_run "$RUNS/vikl-robinson"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/vikl-robinson" --hard-negatives robinson "${TEXT[@]}" "${INIT[@]}" \
            "${RUN[@]}" "${RESUME[@]}"
    fi
}

# ---- Table 1: the manifestation schema --------------------------------------------------------
if want table1; then
    section "Table 1: the 35-dimension manifestation schema"
    mvkl manifest show
fi
row 'Table 1 (manifestation schema)' '`mvkl manifest show`' 'stdout' '`--lang zh` for the Chinese labels'

# ---- Table 2: data set category distribution ---------------------------------------------------
if want table2; then
    section "Table 2: benign/malignant counts per split of each store"
    for store in "$MVKL_STORE" "$CBIS_STORE" "$INBREAST_STORE"; do
        mvkl info "$store"
    done
fi
row 'Table 2 (category distribution)' '`mvkl info mvkl.h5` (each store)' 'stdout (`--json` for a file)' \
    'counts in lumps and in images per split and label'

# ---- Table 3: a glance on the MVKL data set (each modality alone) -------------------------------
if want table3; then
    section "Table 3: a glance on MVKL (image, text and manifestation rows)"
    # The paper trains each untrained encoder with a linear layer. The image row is fine-tuning from
    # random initialisation; `mvkl eval random:resnet50 mvkl.h5 --protocol le` is the other
    # reading (frozen random trunk). The text and manifestation rows come from `mvkl info --glance`:
    # logistic regression on character n-grams of the reports and on the manifestation vectors
    # (linear probes of the raw modality, not trained-from-scratch encoders).
    if [[ "$SMALL" == 1 ]]; then image_model="random:resnet18"; else image_model="random:resnet50"; fi
    mvkl eval "$image_model" "$MVKL_STORE" --protocol ft --out "$OUT/table3/image-ft" "${EV[@]}"
    if [[ "$DRY_RUN" == 1 ]]; then
        mvkl info "$MVKL_STORE" --glance --json
    else
        mkdir -p "$OUT/table3"
        mvkl info "$MVKL_STORE" --glance --json > "$OUT/table3/glance.json"
        mvkl info "$MVKL_STORE" --glance | tail -n 8
    fi
fi
row 'Table 3 (glance: each modality)' '`mvkl eval random:resnet50 mvkl.h5 --protocol ft`; `mvkl info mvkl.h5 --glance`' \
    '`table3/image-ft/results.md` (image row), `table3/glance.json` (text and manifestation rows)' \
    'AUC and accuracy, sensitivity, specificity, F1 at 0.5; text/manifestation rows are linear models on the raw modality'

# ---- Table 4: cross-dataset evaluation (LP) -----------------------------------------------------
if want table4; then
    section "Table 4: cross-dataset LP; supervised rows fine-tune $IM on each store"
    pretrain_vikl
    pretrain_robinson
    mvkl bench cross-dataset --models "$RUNS/vikl,$RUNS/vikl-robinson" --stores "$STORES" --protocol lp \
        --supervised-baselines --baseline-init "$IM" --out "$OUT/table4" "${WEIGHTS[@]}" "${EV[@]}"
fi
row 'Table 4 (cross-dataset, LP)' \
    '`mvkl bench cross-dataset --models runs/vikl,runs/vikl-robinson --stores mvkl.h5,cbis-ddsm.h5,inbreast.h5 --protocol lp --supervised-baselines --baseline-init imagenet --image-weights $IMAGENET_WEIGHTS`' \
    '`table4/cross-dataset.md`' 'the paper'"'"'s ViKL row matches its Robinson (△) model (spec B48): both rows are run'

# ---- Table 5: comparison with the supervised IM model (LP / LE / FT on three stores) -------------
if want table5; then
    section "Table 5: IM vs ViKL-R vs ViKL, LP / LE / FT on MVKL, CBIS-DDSM, INbreast"
    pretrain_vikl
    if needs_run "$RUNS/vikl-r"; then  # ViKL-R: the image branch starts from random weights
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/vikl-r" --manineg --random-init "${TEXT[@]}" "${RUN[@]}" "${RESUME[@]}"
    fi
    # Each cell is a full `mvkl eval MODEL STORE --protocol P` results directory (OUT/table5/P/ROW/STORE).
    for protocol in lp le ft; do
        mvkl bench cross-dataset --models "$IM,$RUNS/vikl-r,$RUNS/vikl" --stores "$STORES" --protocol "$protocol" \
            --out "$OUT/table5/$protocol" "${WEIGHTS[@]}" "${EV[@]}"
    done
    # Not in mvkl: the off-the-shelf models (CLIP, ALBEF, BLIP, Vlmo, BEiT3, MedCLIP, MedKLIP,
    # PubMedCLIP, BiomedCLIP) and their "-M" versions pretrained on MVKL; `mvkl manifest textualize`
    # writes the textualised manifestations those "-M" runs append to the reports.
fi
row 'Table 5 (IM / ViKL-R / ViKL)' \
    '`mvkl pretrain mvkl.h5 --out runs/vikl-r --manineg --random-init --text-model $BERT_DIR`; `mvkl bench cross-dataset --models imagenet,runs/vikl-r,runs/vikl --stores mvkl.h5,cbis-ddsm.h5,inbreast.h5 --protocol lp --image-weights $IMAGENET_WEIGHTS` (and `--protocol le`, `--protocol ft`)' \
    '`table5/{lp,le,ft}/cross-dataset.md`' 'off-the-shelf VLP models and their -M versions are not in mvkl'

# ---- Table 6: ablations (modalities, label smoothing, hard negatives) ---------------------------
if want table6; then
    section "Table 6: ablations (I, M, T; label smoothing; hard negatives)"
    pretrain_vikl
    pretrain_robinson
    # The text extraction of Table 6 loses which column each check mark is in; these are the seven
    # rows the paper's text describes: image only, image + manifestation, image + text, all three
    # without and with label smoothing, + Robinson (△), + ManiNeg (= ViKL).
    if needs_run "$RUNS/abl-i"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/abl-i" --modalities image "${INIT[@]}" "${RUN[@]}" "${RESUME[@]}"
    fi
    if needs_run "$RUNS/abl-im"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/abl-im" --modalities image,manifest "${INIT[@]}" "${RUN[@]}" \
            "${RESUME[@]}"
    fi
    if needs_run "$RUNS/abl-it"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/abl-it" --modalities image,text "${TEXT[@]}" "${INIT[@]}" "${RUN[@]}" \
            "${RESUME[@]}"
    fi
    if needs_run "$RUNS/abl-imt-nols"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/abl-imt-nols" --hard-negatives none --config "$NO_LS" "${TEXT[@]}" \
            "${INIT[@]}" "${RUN[@]}" "${RESUME[@]}"
    fi
    if needs_run "$RUNS/abl-imt"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/abl-imt" --hard-negatives none "${TEXT[@]}" "${INIT[@]}" "${RUN[@]}" \
            "${RESUME[@]}"
    fi
    ABLATIONS="$RUNS/abl-i,$RUNS/abl-im,$RUNS/abl-it,$RUNS/abl-imt-nols,$RUNS/abl-imt,$RUNS/vikl-robinson,$RUNS/vikl"
    for protocol in lp le ft; do
        mvkl bench cross-dataset --models "$ABLATIONS" --stores "$STORES" --protocol "$protocol" \
            --out "$OUT/table6/$protocol" "${EV[@]}"
    done
fi
row 'Table 6 (ablations)' \
    '`mvkl pretrain mvkl.h5 --out runs/abl-im --modalities image,manifest --image-weights $IMAGENET_WEIGHTS` (also `--modalities image`, `--modalities image,text`, `--hard-negatives none --config no-label-smoothing.toml`, `--hard-negatives none`, `--hard-negatives robinson`, `--manineg`); `mvkl bench cross-dataset --models runs/abl-i,...,runs/vikl --stores mvkl.h5,cbis-ddsm.h5,inbreast.h5 --protocol lp` (and le, ft)' \
    '`table6/{lp,le,ft}/cross-dataset.md`' '`no-label-smoothing.toml` holds `label_smoothing = 0.0`'

# ---- Table 7 and Fig. 3: operating points of the fine-tuned ViKL; its ROC -----------------------
if wants table7 fig3 fig6 fig7; then
    section "Table 7 / Fig. 3: ViKL fine-tuned on MVKL at thresholds 0.87, 0.74, 0.50; ROC"
    pretrain_vikl
    mvkl eval "$RUNS/vikl" "$MVKL_STORE" --protocol ft --thresholds 0.87,0.74,0.5 --save-model \
        --out "$OUT/table7" "${EV[@]}"
    # "Time" column: images/s of feature extraction and epoch times on this machine.
    mvkl bench eval "${BENCH_EVAL[@]}"
    # Not in mvkl: the radiologists' rows of Table 7 and their points on the ROC of Fig. 3 (a reader
    # study on the MVKL test split).
fi
row 'Table 7 (thresholds 0.87 / 0.74 / 0.50)' \
    '`mvkl eval runs/vikl mvkl.h5 --protocol ft --thresholds 0.87,0.74,0.5 --save-model`; `mvkl bench eval` (time per image)' \
    '`table7/results.md`' 'the radiologists'"'"' rows are a reader study, not in mvkl'
row 'Fig. 3 (ROC)' '(the Table 7 run)' '`table7/roc.png` (thresholds marked)' \
    'the radiologists'"'"' points are not in mvkl'

# ---- Table 8: manifestation estimation by retrieval ---------------------------------------------
if want table8; then
    section "Table 8: manifestations estimated from neighbouring training manifestations"
    pretrain_vikl
    mvkl retrieve "$RUNS/vikl" "$MVKL_STORE" --task manifest --t-distance 0.4 --t-cls 0.12,0.15,0.25 \
        --out "$OUT/table8"
fi
row 'Table 8 (manifestation estimation)' \
    '`mvkl retrieve runs/vikl mvkl.h5 --task manifest --t-distance 0.4 --t-cls 0.12,0.15,0.25`' \
    '`table8/manifest_estimation.json`, `table8/manifest_per_dimension.csv`' \
    'empty neighbourhoods: `--empty nearest` (the paper does not say)'

# ---- Fig. 4: image-to-report retrieval ---------------------------------------------------------
if want fig4; then
    section "Fig. 4: BI-RADS of the nearest training report vs the image's own"
    pretrain_vikl
    mvkl retrieve "$RUNS/vikl" "$MVKL_STORE" --task report --out "$OUT/fig4"
fi
row 'Fig. 4 (image-report retrieval)' '`mvkl retrieve runs/vikl mvkl.h5 --task report`' \
    '`fig4/report_confusion.png` (+ `.csv`, recall@k in `report_retrieval.json`)' ''

# ---- Fig. 5: fine-tuning on 20-100 % of the training split --------------------------------------
if want fig5; then
    section "Fig. 5: FT on 20/40/60/80/100 % of the MVKL training split, ViKL vs IM"
    pretrain_vikl
    mvkl bench data-fraction --store "$MVKL_STORE" --models "$RUNS/vikl,$IM" --fractions 0.2,0.4,0.6,0.8,1.0 \
        --protocol ft --out "$OUT/fig5" "${WEIGHTS[@]}" "${EV[@]}"
fi
row 'Fig. 5 (data fraction)' \
    '`mvkl bench data-fraction --store mvkl.h5 --models runs/vikl,imagenet --image-weights $IMAGENET_WEIGHTS`' \
    '`fig5/data-fraction.png`, `fig5/data-fraction.md`' 'fractions are seeded, stratified, patient-aware and nested'

# ---- Fig. 6: Grad-CAM of the fine-tuned ViKL ---------------------------------------------------
if want fig6; then
    section "Fig. 6: Grad-CAM at layer3 of the fine-tuned ViKL, malignant test images"
    mvkl cam "$OUT/table7/classifier" "$MVKL_STORE" --split test --label malignant --limit 12 --layer layer3 \
        --out "$OUT/fig6"
    # Not in mvkl: the radiologists' lump outlines drawn over the maps (the store keeps no masks).
fi
row 'Fig. 6 (Grad-CAM)' '`mvkl cam table7/classifier mvkl.h5 --split test --label malignant --layer layer3`' \
    '`fig6/cam_sheet.png`' 'lump outlines are not drawn (the store keeps no masks)'

# ---- Fig. 7: calibration, ViKL with and without label smoothing, IM -----------------------------
if want fig7; then
    section "Fig. 7: reliability diagrams and ECE of fine-tuned ViKL w/ LS, w/o LS and IM"
    # ViKL w/ LS is the Table 7 run; w/o LS is the same pretraining with label smoothing 0.
    if needs_run "$RUNS/vikl-nols"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/vikl-nols" --manineg --config "$NO_LS" "${TEXT[@]}" "${INIT[@]}" \
            "${RUN[@]}" "${RESUME[@]}"
    fi
    mvkl eval "$RUNS/vikl-nols" "$MVKL_STORE" --protocol ft --out "$OUT/fig7/vikl-nols" "${EV[@]}"
    mvkl eval "$IM" "$MVKL_STORE" --protocol ft --out "$OUT/fig7/im" "${WEIGHTS[@]}" "${EV[@]}"
    # Not in mvkl: the three curves in one plot; each run has its own reliability.png and its ECE
    # (10 bins, bins < 10 samples excluded) in results.md.
fi
row 'Fig. 7 (calibration)' \
    '`mvkl pretrain mvkl.h5 --out runs/vikl-nols --manineg --config no-label-smoothing.toml ...`; `mvkl eval runs/vikl-nols mvkl.h5 --protocol ft`; `mvkl eval imagenet mvkl.h5 --protocol ft --image-weights $IMAGENET_WEIGHTS`' \
    '`table7/reliability.png`, `fig7/vikl-nols/reliability.png`, `fig7/im/reliability.png` (ECE in each `results.md`)' \
    'one diagram per model; mvkl does not overlay them'

# ---- Fig. 8: alignment and uniformity of a 2-D embedding space ----------------------------------
if want fig8; then
    section "Fig. 8: alignment and uniformity of ViKL trained with a 2-D embedding"
    if needs_run "$RUNS/vikl-2d"; then
        mvkl pretrain "$MVKL_STORE" --out "$RUNS/vikl-2d" --manineg --embed-dim 2 "${TEXT[@]}" "${INIT[@]}" "${RUN[@]}" \
            "${RESUME[@]}"
    fi
    mvkl represent "$RUNS/vikl-2d" "$MVKL_STORE" --split test --pairs cc-mlo --out "$OUT/fig8"
    # Not in mvkl: panel (a), a 2-D model trained with supervision on the labels.
fi
row 'Fig. 8 (alignment, uniformity)' \
    '`mvkl pretrain mvkl.h5 --out runs/vikl-2d --manineg --embed-dim 2 ...`; `mvkl represent runs/vikl-2d mvkl.h5`' \
    '`fig8/alignment_uniformity.png`, `fig8/represent.json`' 'panel (a), the supervised 2-D model, is not in mvkl'

# ---- the map from paper items to commands and outputs -----------------------------------------
TABLE="$(
    echo "Paths: stores as given to mvkl ingest (mvkl.h5, cbis-ddsm.h5, inbreast.h5), runs/ and outputs under"
    echo "the script's output folder; \`...\` stands for \`--text-model \$BERT_DIR --image-weights \$IMAGENET_WEIGHTS\`."
    echo
    echo "| paper | mvkl command(s) | output | not reproduced / notes |"
    echo "|---|---|---|---|"
    echo '| pretraining (Tables 4-8, Figs. 3-8) | `mvkl pretrain mvkl.h5 --out runs/vikl --manineg --text-model $BERT_DIR --image-weights $IMAGENET_WEIGHTS` | `runs/vikl/` (`encoder/`, `vikl/`) | ViKL = I + M + T, label smoothing, ManiNeg |'
    echo '| (Table 4, Table 6 △) | `mvkl pretrain mvkl.h5 --out runs/vikl-robinson --hard-negatives robinson ...` | `runs/vikl-robinson/` | |'
    printf '%s\n' "${TABLE_ROWS[@]}" "${FIGURE_ROWS[@]}"
)"
echo
echo "==================== map of the paper's tables and figures"
echo "$TABLE"
if [[ "$DRY_RUN" != 1 ]]; then
    printf '%s\n' "$TABLE" > "$OUT/repro_table.md"
    echo
    echo "written: $OUT/repro_table.md"
fi
