#!/usr/bin/env bash
# Rebuild the shipped default model's multilingual part from the shared corpus: a head on the
# multilingual Universal Sentence Encoder, distilled from a cross-fitted TF-IDF teacher, next to
# the English model (members/0 of the shipped default, copied unchanged). Run after
# scripts/build_default_model.sh when that rebuilds the English model (ENGLISH=its output).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/tmdb-overviews/movies.jsonl}
ENGLISH=${ENGLISH:-src/moviegenre/default_model}
OUT=${OUT:-src/moviegenre/default_model}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
CACHE=${CACHE:-$HOME/.cache/moviegenre/use}  # encoder vectors kept between rebuilds
python -c "
import sys
from moviegenre.training.multilingual import build_multilingual
print(build_multilingual(sys.argv[1], sys.argv[2], sys.argv[3], cache_dir=sys.argv[4]).path)
" "$DATA" "$ENGLISH" "$OUT" "$CACHE"
