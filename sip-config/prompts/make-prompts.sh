#!/usr/bin/env bash
# Generates the demo IVR prompts in this directory: 8000 Hz mono 16-bit PCM WAV, the
# format Lifeline plays (and that `lifeline-config` checks). Speech comes from espeak-ng
# (English voice), tones and music on hold from sox. Output is deterministic, so a rerun
# rewrites identical files; the generated WAVs are committed, and this script is needed
# only to change or add a prompt:
#
#   apt-get install -y espeak-ng sox
#   sip-config/prompts/make-prompts.sh
#
# A prompt's name is its file name without `.wav`; flows in sip-config/flows.toml name
# prompts, and `say` nodes use the digit and number words below (see
# docs/configuration.md, "Reading values out").
set -euo pipefail
cd "$(dirname "$0")"

for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || {
        echo "make-prompts: $tool is missing (apt-get install -y espeak-ng sox)" >&2
        exit 1
    }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

VOICE=en-us
SPEED=160
# Telephone format; `dither -s` is deterministic noise shaping without random dither.
FORMAT=(-r 8000 -c 1 -b 16 -e signed-integer)

# say NAME TEXT [PAD]: speech with silence trimmed from both ends, then PAD seconds of
# silence after (short for words joined into numbers, longer for sentences).
say() {
    local name=$1 text=$2 pad=${3:-0.25}
    espeak-ng -v "$VOICE" -s "$SPEED" -w "$tmp/raw.wav" "$text" 2>/dev/null
    sox -D "$tmp/raw.wav" "${FORMAT[@]}" "$name.wav" \
        silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse \
        gain -6 highpass 200 lowpass 3400 norm -3 pad 0.05 "$pad"
}

# Sentences.
say welcome "Welcome to the one two three three three labour and social security hotline."
say main-menu "For social insurance, press one. For employment services, press two. \
For labour relations, press three. To check your social insurance balance, press nine. \
To speak to an operator, press zero. To hear these options again, press star."
say invalid "Sorry, that is not a valid choice."
say timeout "Sorry, we did not receive your choice."
say enter-id "Please enter your eighteen digit I D number, followed by the pound key."
say invalid-id "Sorry, that I D number is too short."
say balance-is "Your social insurance account balance is" 0.15
say yuan "yuan." 0.4
say not-found "Sorry, we could not find an account for that I D number."
say closed "Our office is closed now. Office hours are Monday to Friday, \
eight thirty A M to five thirty P M, Beijing time."
say leave-message "Please leave your name, your phone number and a short message after the tone. \
We will call you back on the next working day." 0.1
say goodbye "Thank you for calling. Goodbye." 0.5
say transferring "Please wait while we connect you to an agent."
say please-hold "All our agents are busy. Please stay on the line, and the next available agent will answer."
# Queue announcements ("You are caller number three. Your estimated wait is two minutes.")
# and the post-call survey.
say queue-position "You are caller number" 0.1
say queue-wait "Your estimated wait is" 0.1
say minute "minute." 0.4
say minutes "minutes." 0.4
say rate-call "Please rate this call. Press one for very poor, up to five for excellent."
say thank-you "Thank you for your feedback. Goodbye." 0.5
say callback-confirm "Thank you. You keep your place in the queue, and we will call you back. Goodbye." 0.5
# Agent feature codes (*41 to *44).
say agent-logged-in "You are logged in and available for calls."
say agent-logged-out "You are logged out."
say agent-on-break "You are on break."
say agent-available "Welcome back. You are available for calls."

# Words for `say` nodes: digits (as = "digits" and "number") and number words
# (as = "number", read the English way: 3280.5 is "three thousand two hundred eighty
# point five").
words=(zero one two three four five six seven eight nine)
for i in "${!words[@]}"; do
    say "digit-$i" "${words[$i]}" 0.05
done
say star "star" 0.05
say pound "pound" 0.05
for word in ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen \
    nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand \
    million billion point minus; do
    say "$word" "$word" 0.05
done

# The recording tone: 1 kHz for 400 ms.
sox -D -n "${FORMAT[@]}" beep.wav synth 0.4 sine 1000 vol 0.5 fade 0.01 0.4 0.01 pad 0 0.1

# Music on hold: a 16 s loop, a I-vi-IV-V progression (C, A minor, F, G) played twice
# as plucked arpeggios over a soft sine bass, low-passed to sound mellow. Made here, so free of copyright.
note() { awk -v n="$1" 'BEGIN { printf "%.2f", 440 * 2 ^ ((n - 69) / 12) }'; }
chord=0
for notes in "48 60 64 67 72" "45 57 60 64 69" "41 53 57 60 65" "43 55 59 62 67"; do
    set -- $notes
    bass=$1
    shift
    parts=()
    for n in "$@"; do
        sox -D -n -r 8000 -c 1 -b 16 "$tmp/n$n.wav" synth 0.5 pluck "$(note "$n")" vol 0.6
        parts+=("$tmp/n$n.wav")
    done
    sox -D "${parts[@]}" "$tmp/arp.wav"
    sox -D -n -r 8000 -c 1 -b 16 "$tmp/bass.wav" synth 2 sine "$(note "$bass")" vol 0.25 fade 0.2 2 0.4
    sox -D -m "$tmp/arp.wav" "$tmp/bass.wav" "$tmp/chord$chord.wav"
    chord=$((chord + 1))
done
sox -D "$tmp"/chord{0,1,2,3}.wav "$tmp"/chord{0,1,2,3}.wav "${FORMAT[@]}" music-on-hold.wav \
    lowpass 1800 norm -6

echo "make-prompts: $(ls ./*.wav | wc -l) prompts, $(du -ch ./*.wav | tail -1 | cut -f1) in $(pwd)"
