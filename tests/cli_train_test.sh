#!/usr/bin/env bash
# cli_train_test.sh: `difft train/sample/eval/info/plot` end to end, through the real command.
#   exact resume: 2N steps == N steps + resume N (losses and checkpoint files bit for bit)
#   bad input: one-line error, non-zero exit, existing checkpoints untouched
#   SIGTERM: saves a checkpoint and exits cleanly
# Usage: cli_train_test.sh <path to difft> <repo root>
set -euo pipefail
difft=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DIFFT_NUM_THREADS=${DIFFT_NUM_THREADS:-2}
fail() { echo "FAIL: $*" >&2; exit 1; }

head -c 60000 "$root/data/tinyshakespeare.txt" > "$work/corpus.txt"
tiny=(--data "$work/corpus.txt" --d-model 32 --layers 2 --heads 4 --seq 32 --batch 4 --eval-every 5 --eval-batches 2
      --save-every 5 --log-every 5 --warmup 2 --lr 3e-3)

# ---- exact resume -----------------------------------------------------------------------
"$difft" train "${tiny[@]}" --out "$work/a" --steps 20 > "$work/a.out"
"$difft" train "${tiny[@]}" --out "$work/b" --steps 20 --stop-at 10 > /dev/null
"$difft" train "${tiny[@]}" --out "$work/b" --steps 20 --resume "$work/b" > "$work/b.out"
grep -q "resumed from" "$work/b.out" || fail "resume did not say so"
losses() { grep -o '"loss":[^,]*' "$1/log.jsonl"; }
[[ $(losses "$work/a" | wc -l) == 20 ]] || fail "run a logged $(losses "$work/a" | wc -l) steps, not 20"
diff <(losses "$work/a") <(losses "$work/b") > /dev/null || fail "resumed losses differ from the uninterrupted run"
cmp "$work/a/last/model.safetensors" "$work/b/last/model.safetensors" || fail "resumed weights differ"
cmp "$work/a/last/train_state.safetensors" "$work/b/last/train_state.safetensors" || fail "resumed optimizer state differs"
echo "ok: 20 steps == 10 + resumed 10, bit for bit"

# ---- the other commands on that run ---------------------------------------------------------
"$difft" sample --ckpt "$work/a" --tokens 40 --prompt "ROMEO:" --seed 1 > "$work/s1"
"$difft" sample --ckpt "$work/a" --tokens 40 --prompt "ROMEO:" --seed 1 > "$work/s2"
cmp "$work/s1" "$work/s2" || fail "sampling with one seed is not reproducible"
[[ $(head -c 6 "$work/s1") == "ROMEO:" ]] || fail "sample does not start with the prompt"
"$difft" eval --ckpt "$work/a/best" --data "$work/corpus.txt" --max-windows 8 | grep -q "bits per byte" || fail "eval"
"$difft" info --ckpt "$work/a" | grep -q "layers.1.attn.lambda_q1" || fail "info lacks the parameter table"
"$difft" plot --runs "$work/a,$work/b" --out "$work/loss.svg" > /dev/null
grep -q "<polyline" "$work/loss.svg" || fail "plot wrote no curve"
echo "ok: sample, eval, info, plot"

# ---- bad input: one line, non-zero exit, nothing lost ----------------------------------------
before=$(sha256sum "$work/a/last/model.safetensors")
expect_error() {  # expect_error "<part of the message>" difft args...
  local want=$1
  shift
  if "$difft" "$@" > "$work/err.out" 2> "$work/err"; then fail "succeeded: difft $*"; fi
  [[ $(wc -l < "$work/err") == 1 ]] || { cat "$work/err"; fail "error is not one line: difft $*"; }
  grep -q -- "$want" "$work/err" || { cat "$work/err"; fail "error lacks '$want': difft $*"; }
}
: > "$work/empty.txt"
printf 'short' > "$work/short.txt"
expect_error "does not exist" train --data "$work/missing.txt" --out "$work/x" --steps 1
expect_error "empty" train --data "$work/empty.txt" --out "$work/x" --steps 1
expect_error "window" train --data "$work/short.txt" --out "$work/x" --steps 1
expect_error "--layers" train "${tiny[@]}" --layers 0 --out "$work/x" --steps 1
expect_error "n_heads" train "${tiny[@]}" --heads 3 --out "$work/x" --steps 1
expect_error "--lr" train "${tiny[@]}" --lr -1 --out "$work/x" --steps 1
expect_error "unknown flag" train "${tiny[@]}" --bogus 1 --out "$work/x" --steps 1
expect_error "checkpoint is a diff" train "${tiny[@]}" --model transformer --resume "$work/a" --steps 30
expect_error "d_model=32" train "${tiny[@]}" --d-model 64 --resume "$work/a" --steps 30
expect_error "output folder" train "${tiny[@]}" --out "$work/corpus.txt/sub" --steps 1
expect_error "no model.safetensors" sample --ckpt "$work"
[[ $(sha256sum "$work/a/last/model.safetensors") == "$before" ]] || fail "a failed command changed an existing checkpoint"
echo "ok: bad input gives one-line errors and keeps checkpoints"

# ---- a non-finite loss names itself and stops when asked ---------------------------------------
if "$difft" train "${tiny[@]}" --out "$work/n" --steps 50 --lr 1e12 --warmup 0 --clip 0 --on-nonfinite stop > "$work/n.out" 2>&1; then
  fail "a diverging run did not stop"
fi
grep -q "non-finite values in" "$work/n.out" || { cat "$work/n.out"; fail "no non-finite message"; }
echo "ok: non-finite values stop the run: $(grep -o 'non-finite values in [^;]*' "$work/n.out")"

# ---- SIGTERM saves and exits cleanly ------------------------------------------------------------
"$difft" train "${tiny[@]}" --out "$work/c" --steps 100000 --save-every 100000 > "$work/c.out" &
pid=$!
for _ in $(seq 1 300); do [[ -s "$work/c/log.jsonl" ]] && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid" || fail "SIGTERM: exit status $?"
grep -q "terminated at step" "$work/c.out" || fail "SIGTERM: no message"
[[ -f "$work/c/last/model.safetensors" ]] || fail "SIGTERM: no checkpoint"
echo "ok: SIGTERM saved a checkpoint"
echo "1 passed, 0 failed"
