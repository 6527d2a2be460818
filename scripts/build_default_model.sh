#!/usr/bin/env bash
# Rebuild the shipped default model (src/moviegenre/default_model), the whole of it:
#  1. English plots: a BiLSTM over GloVe (reads every word) distilled from the teacher in
#     scripts/teacher.json (cross-fitted on the train split; folds shared with
#     scripts/build_fast_model.sh), a compact word TF-IDF model, and the shipped fast model
#     (referred to by name and checksum, not copied), averaged with weights and per-genre
#     thresholds tuned on the validation split; all trained on movies-large.jsonl's train split;
#  2. posters: that text model fused with the poster model (the shipped default's poster member,
#     reused as it is; POSTER_RETRAIN=1 trains a new one from the poster index);
#  3. other languages: the multilingual router with the shipped default's `use` head (tuned on
#     its own; HEAD_RETRAIN=1 trains a new one, scripts/build_multilingual.sh).
# Needs the training extras (pip install -e '.[all]'). Build the fast model first; rebuild best
# after (it refers to this one by checksum). About 25 minutes on 2 cores with the teacher's
# folds cached.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/tmdb-overviews/movies-large.jsonl}
POSTERS=${POSTERS:-../shared/data/posters/index.csv}
WORK=${WORK:-runs/tiers}
CACHE=${CACHE:-$HOME/.cache/moviegenre/embeddings}        # MiniLM plot vectors
TEACHER_CACHE=${TEACHER_CACHE:-$HOME/.cache/moviegenre/teacher}  # the teacher's folds
POSTER_CACHE=${POSTER_CACHE:-$HOME/.cache/moviegenre/posters}   # network + poster features
TEACHER=$(cat scripts/teacher.json)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
mkdir -p "$WORK"
# a step whose bundle is in $WORK already is kept (delete the folder to redo it): a rebuild
# that stopped half-way goes on where it stopped
built() { [[ -f "$1/bundle.json" ]] && echo "kept $1"; }
SHIPPED=src/moviegenre/default_model
# what is reused from the shipped default, copied before it is replaced
rm -rf "$WORK/shipped-poster" "$WORK/shipped-head"
cp -r "$SHIPPED/members/0/members/1" "$WORK/shipped-poster"
cp -r "$SHIPPED/members/1" "$WORK/shipped-head"

built "$WORK/lstm" || moviegenre train --data "$DATA" --model-type lstm --seed 0 --distill --teacher "$TEACHER" \
  --teacher-cache "$TEACHER_CACHE" --cache-dir "$CACHE" --checkpoint-dir "$WORK/lstm-ckpt" \
  --resume --out "$WORK/lstm"
built "$WORK/tfidf" || moviegenre train --data "$DATA" --model-type tfidf --model-option classifier=logreg \
  --model-option C=4 --model-option char_max_features=0 --model-option max_features=25000 \
  --model-option half=true \
  --out "$WORK/tfidf"
moviegenre train --data "$DATA" --model-type ensemble \
  --model-option "members=[\"$WORK/lstm\", \"$WORK/tfidf\", {\"shipped\": \"fast\"}]" \
  --out "$WORK/text"

POSTER="$WORK/shipped-poster"
if [[ "${POSTER_RETRAIN:-0}" == 1 ]]; then
  moviegenre train --model-type poster --data "$POSTERS" --cache-dir "$POSTER_CACHE" \
    --out "$WORK/poster"
  POSTER="$WORK/poster"
fi
moviegenre train --model-type fusion --data "$DATA" --posters "$POSTERS" \
  --cache-dir "$POSTER_CACHE" --model-option "text=\"$WORK/text\"" \
  --model-option "poster=\"$POSTER\"" --out "$WORK/english"

if [[ "${HEAD_RETRAIN:-0}" == 1 ]]; then
  ENGLISH="$WORK/english" OUT="$WORK/default" bash scripts/build_multilingual.sh
else
  python -c "
import sys
from moviegenre.training.multilingual import with_language_head
print(with_language_head(sys.argv[1], sys.argv[2], sys.argv[3], 'bash scripts/build_default_model.sh'))
" "$WORK/english" "$WORK/shipped-head" "$WORK/default"
fi
rm -rf "$SHIPPED.new"
cp -r "$WORK/default" "$SHIPPED.new"
rm -rf "$SHIPPED"
mv "$SHIPPED.new" "$SHIPPED"
du -sh "$SHIPPED"
