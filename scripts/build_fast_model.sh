#!/usr/bin/env bash
# Rebuild the shipped fast model (src/moviegenre/fast_model, `--model fast`): the n-gram model
# (mean word and word-pair vectors, learned word weights, one hidden layer; NumPy to predict),
# its word vectors started from MiniLM static vectors (scripts/static_vectors.py), distilled from
# the cross-fitted default teacher (frozen MiniLM + TF-IDF SVM + BiLSTM, training/distill.py),
# thresholds and calibration tuned on the validation split. Needs the training and MiniLM extras
# (pip install -e '.[all]'). About 20-25 minutes on one thread with empty caches, 1 with warm ones.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/tmdb-overviews/movies.jsonl}
WORK=${WORK:-runs/fast-model}
CACHE=${CACHE:-$HOME/.cache/moviegenre/embeddings}        # MiniLM plot embeddings
TEACHER_CACHE=${TEACHER_CACHE:-$HOME/.cache/moviegenre/teacher}  # the teacher's folds
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$WORK"
python scripts/static_vectors.py --data "$DATA" --dim 64 --out "$WORK/minilm-static-64.txt"
moviegenre train --data "$DATA" --model-type ngram --seed 0 --distill --distill-alpha 0.3 \
  --teacher-cache "$TEACHER_CACHE" --cache-dir "$CACHE" --model-option word_weights=true \
  --model-option "embeddings=$WORK/minilm-static-64.txt" --out "$WORK/ngram"
rm -rf src/moviegenre/fast_model.new
cp -r "$WORK/ngram" src/moviegenre/fast_model.new
rm -rf src/moviegenre/fast_model
mv src/moviegenre/fast_model.new src/moviegenre/fast_model
du -sh src/moviegenre/fast_model
