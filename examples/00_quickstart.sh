#!/usr/bin/env bash
# Quick start: what `make demo` runs. Usage: bash examples/00_quickstart.sh [OUT_DIR]
# Uses only built-in data; every step prints its results on stdout.
set -euo pipefail
OUT="${1:-demo-run}"
MVKL="${MVKL:-.venv/bin/mvkl}"
mkdir -p "$OUT"

echo "== the 35-dim manifestation schema (paper Table 1)"
"$MVKL" manifest show

echo "== validate, encode and decode a readable manifestation table"
"$MVKL" manifest validate examples/data/lumps_readable.csv
"$MVKL" manifest encode examples/data/lumps_readable.csv -o "$OUT/lumps_wide.xlsx"
"$MVKL" manifest decode "$OUT/lumps_wide.xlsx" -o "$OUT/lumps_readable_zh.csv" --lang zh
"$MVKL" manifest textualize "$OUT/lumps_wide.xlsx"

echo "== Hamming distances from one vector to 1,000,000 (packed uint64 popcount)"
"$MVKL" bench hamming --n 1000000
