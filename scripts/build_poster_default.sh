#!/usr/bin/env bash
# The poster part of the shipped default model: a poster model (frozen EfficientNet-Lite0 on ONNX
# Runtime, int8, and a logistic head) trained on ../shared/data/posters, fused with a text model
# bundle, written to src/moviegenre/default_model. Retrains neither the text model nor, when its
# cache is warm, the image features: TEXT may be any text bundle, or a fusion bundle (the default
# itself), whose text model is kept.
#   bash scripts/build_poster_default.sh [TEXT_BUNDLE]
# Needs the poster extras (pip install -e '.[posters]') for the first conversion of the network.
set -euo pipefail
cd "$(dirname "$0")/.."
TEXT=${1:-src/moviegenre/default_model}
DATA=${DATA:-../shared/data/tmdb-overviews/movies.jsonl}
POSTERS=${POSTERS:-../shared/data/posters/index.csv}
WORK=${WORK:-runs/default-model}
POSTER_CACHE=${POSTER_CACHE:-$HOME/.cache/moviegenre/posters}  # network + features between runs
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
moviegenre train --model-type poster --data "$POSTERS" --cache-dir "$POSTER_CACHE" \
  --out "$WORK/poster"
moviegenre train --model-type fusion --data "$DATA" --posters "$POSTERS" \
  --cache-dir "$POSTER_CACHE" --model-option "text=\"$TEXT\"" \
  --model-option "poster=\"$WORK/poster\"" --out src/moviegenre/default_model
du -sh src/moviegenre/default_model
