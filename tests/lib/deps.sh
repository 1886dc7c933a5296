#!/bin/sh
# deps.sh - install the Debian packages rebound needs to build and test.
# A fast no-op when everything is present; otherwise apt-get as root.
set -eu

PACKAGES="
gcc make pkg-config perl python3 util-linux procps time bc
libgmime-3.0-dev libpq-dev libpcre2-dev libmilter-dev libglib2.0-dev
postgresql postgresql-15-pgtap postfix swaks
mandoc miltertest libsisimai-perl
clang libclang-rt-14-dev valgrind
systemd
"

missing=""
for p in $PACKAGES; do
	case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" in
	*" ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root, or install them with apt-get" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix must not ask questions nor configure the system's own instance.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
