#!/usr/bin/env bash
# Rebuild the shipped fast model (src/moviegenre/fast_model, `--model fast`): the n-gram model
# (weighted mean word and word-pair vectors, one hidden layer; NumPy to predict) trained on
# movies-large.jsonl's train split, its word vectors started from MiniLM static vectors
# (scripts/static_vectors.py), distilled from a teacher cross-fitted on the same split (the frozen
# int8 MiniLM with an MLP and neighbour votes, and a word + character TF-IDF SVM), int8 tables,
# thresholds and calibration tuned on the validation split (the hard labels' share and the token
# dropout chosen on valid micro-F1, docs/fast.md). Needs the training extras
# (pip install -e '.[all]'). About 25 minutes on 2 cores with empty caches (the teacher's five
# folds are most of it; scripts/build_default_model.sh reuses them), 4 with warm ones.
# Then rebuild the default and best tiers, which refer to this one by checksum.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/tmdb-overviews/movies-large.jsonl}
WORK=${WORK:-runs/tiers}
CACHE=${CACHE:-$HOME/.cache/moviegenre/embeddings}        # MiniLM plot vectors
TEACHER_CACHE=${TEACHER_CACHE:-$HOME/.cache/moviegenre/teacher}  # the teacher's folds
TEACHER=$(cat scripts/teacher.json)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
mkdir -p "$WORK"
# a step whose bundle is in $WORK already is kept (delete the folder to redo it): a rebuild
# that stopped half-way goes on where it stopped
built() { [[ -f "$1/bundle.json" ]] && echo "kept $1"; }
[[ -f "$WORK/minilm-static-64.txt" ]] ||
  python scripts/static_vectors.py --data "$DATA" --dim 64 --out "$WORK/minilm-static-64.txt"
built "$WORK/ngram" || moviegenre train --data "$DATA" --model-type ngram --seed 0 --distill \
  --distill-alpha 0.2 --teacher "$TEACHER" --teacher-cache "$TEACHER_CACHE" --cache-dir "$CACHE" \
  --model-option word_weights=true --model-option int8_tables=true --model-option max_pairs=40000 \
  --model-option token_dropout=0.3 \
  --model-option "embeddings=$WORK/minilm-static-64.txt" --checkpoint-dir "$WORK/ngram-ckpt" \
  --resume --out "$WORK/ngram"
rm -rf src/moviegenre/fast_model.new
cp -r "$WORK/ngram" src/moviegenre/fast_model.new
rm -rf src/moviegenre/fast_model
mv src/moviegenre/fast_model.new src/moviegenre/fast_model
du -sh src/moviegenre/fast_model
