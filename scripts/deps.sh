#!/bin/sh
# Makes sure the Debian 12 packages lull builds and tests with are installed.
# Quiet when they all are. As root it installs what is missing; otherwise it
# prints the command to run and fails.
set -eu

# alsa-utils (aplay, arecord, speaker-test), perl and python3 are used by
# the end-to-end tests, which skip themselves without them.
PACKAGES="build-essential pkg-config libasound2-dev libsamplerate0-dev
libcmocka-dev libsndfile1-dev libinih-dev alsa-utils valgrind perl python3"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "lull needs these Debian packages:$missing" >&2
	echo "Install them with:" >&2
	echo "  sudo apt-get install$missing" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086  # word splitting of the list is intended
apt-get install -y --no-install-recommends $missing </dev/null
