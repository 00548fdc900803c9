#!/usr/bin/env bash
# `llada chat` as a new user meets it, on the shipped model: default flags answer the first
# message; the conversation keeps going past the model's context (oldest turns dropped, and said);
# /help and /reset; --system; an answer equals `llada generate --chat` for the same first message.
# Usage: bash chat.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: chat.sh <llada-cli> <source-dir>}
SRC=${2:?usage: chat.sh <llada-cli> <source-dir>}
MODEL="$SRC/models/llada-poetry"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

Q1="床前明月光的下一句是什么？ 直接输出句子即可。"
Q2="白日依山尽的下一句是什么？ 直接输出句子即可。"
printf '%s\n/help\n%s\n%s\n/reset\n%s\n' "$Q1" "$Q2" "$Q2" "$Q1" |
  "$LLADA" chat --model "$MODEL" --threads 2 >"$WORK/out" 2>"$WORK/err" || fail "chat exited $?: $(tail -3 "$WORK/err")"
# Answer lines: the output without the "> " prompts, notes "(...)" and the /help text.
sed 's/^> //' "$WORK/out" | grep -v -e '^(' -e '^commands:' -e '^Ctrl-C' -e '^$' >"$WORK/answers"
answers=$(wc -l <"$WORK/answers")
[ "$answers" -ge 4 ] || fail "expected 4 answers, got $answers: $(cat "$WORK/out")"
grep -q "dropped the 1 oldest turn" "$WORK/out" || fail "the full context was not trimmed (and said): $(cat "$WORK/out")"
grep -q "/reset (forget" "$WORK/out" || fail "/help printed nothing"
grep -q "(conversation forgotten)" "$WORK/out" || fail "/reset said nothing"
# The first answer (default chat flags: gen_length 64, block 32) equals generate's.
want=$("$LLADA" generate --model "$MODEL" --chat --prompt "$Q1" --gen-length 64 --block-length 32 --threads 2 2>/dev/null)
first=$(head -1 "$WORK/answers")
[ "$first" = "$want" ] || fail "first answer '$first' != generate '$want'"
last=$(tail -1 "$WORK/answers")
[ "$last" = "$want" ] || fail "after /reset the same question gave '$last', expected '$want'"
# A system message changes the prompt (and is accepted).
echo "$Q1" | "$LLADA" chat --model "$MODEL" --system "你是诗人。" --threads 2 >"$WORK/sys" 2>&1 || fail "--system: $(cat "$WORK/sys")"
# A length that leaves no room for a prompt is refused up front, naming the flag.
echo x | "$LLADA" chat --model "$MODEL" --gen-length 128 >/dev/null 2>"$WORK/e" && fail "--gen-length 128 accepted"
grep -q -- "--gen-length" "$WORK/e" || fail "no --gen-length in: $(cat "$WORK/e")"

[ "$failures" -eq 0 ] && echo "ok" || { echo "$failures failure(s)"; exit 1; }
