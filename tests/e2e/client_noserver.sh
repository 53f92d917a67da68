#!/bin/bash
# lull-play fails clearly: no lulld on the socket (exit 1, says so), no
# socket path at all, a file that is missing or not audio (exit 1), a bad
# option (exit 2). None of this needs lulld, only lull-play.
. "$(dirname "$0")/lib.sh"
need_file "$BUILD/lull-play" "$WAVTOOL"

PLAY=$BUILD/lull-play
wavtool gen "$T/tone.wav" --rate 48000 --channels 2 --seconds 0.1 --freq 440

# expect STATUS PATTERN CMD...: CMD exits STATUS and its stderr matches.
expect() {
	local want=$1 pattern=$2 rc=0
	shift 2
	"$@" 2>"$T/err" || rc=$?
	assert_eq "$rc" "$want" "exit status of $*"
	assert_grep "$pattern" "$T/err" "stderr of $* does not match '$pattern': $(cat "$T/err")"
	note "$*: exit $rc: $(head -1 "$T/err")"
}

# No server: nothing at the path, then a socket file nobody listens on.
LULL_SOCKET=$T/none expect 1 "cannot connect to lulld at $T/none: No lull server" \
	"$PLAY" "$T/tone.wav"
expect 1 "is lulld running" "$PLAY" --socket "$T/none" "$T/tone.wav"
perl -MSocket -e 'socket(my $s, PF_UNIX, SOCK_SEQPACKET, 0) or die;
	bind($s, pack_sockaddr_un($ARGV[0])) or die' "$T/stale" 2>/dev/null ||
	skip "cannot make a stale socket with perl"
expect 1 "No lull server" "$PLAY" --socket "$T/stale" "$T/tone.wav"
(unset LULL_SOCKET XDG_RUNTIME_DIR
 expect 1 "neither LULL_SOCKET nor XDG_RUNTIME_DIR" "$PLAY" "$T/tone.wav")
# The default path under XDG_RUNTIME_DIR.
(unset LULL_SOCKET; export XDG_RUNTIME_DIR=$T
 expect 1 "at $T/lull/socket: No lull server" "$PLAY" "$T/tone.wav")

# Files, before any connection is tried.
expect 1 "missing.wav: .*No such file" "$PLAY" --socket "$T/none" "$T/missing.wav"
echo "not audio at all" >"$T/text.wav"
expect 1 "text.wav: " "$PLAY" --socket "$T/none" "$T/text.wav"

# Usage.
expect 2 "unrecognized option" "$PLAY" --bogus "$T/tone.wav"
expect 2 "no file given" "$PLAY"
expect 2 "bad volume" "$PLAY" --volume 5 "$T/tone.wav"
expect 2 "bad volume" "$PLAY" --volume +13dB "$T/tone.wav"
expect 2 "bad format" "$PLAY" --raw --format s8 -
expect 2 "bad rate" "$PLAY" --raw --rate 100 -
expect 2 "bad channel count" "$PLAY" --raw --channels 9 -
"$PLAY" --help | grep -q "usage: lull-play" || fail "--help prints no usage"
