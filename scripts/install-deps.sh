#!/bin/sh
# Installs every Debian package that the build, the tests and the demo need
# (dpkg-dev for make deb, systemd for systemd-analyze in the unit's test).
# Does nothing (no apt-get at all) when they are all present already.
# Also creates the two system users the tests and the demo run as:
# "vmail" (mail storage of the Dovecot test backends) and "director"
# (the unprivileged user directord drops to).
set -eu

PACKAGES="build-essential pkg-config clang clang-format libclang-rt-14-dev
libevent-dev libssl-dev libbsd-dev libcmocka-dev
dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-managesieved
sieve-connect
python3 python3-pytest python3-prometheus-client curl swaks openssl procps iproute2
dpkg-dev systemd iptables"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages:$missing" >&2
		echo "install-deps: run as root to install them" >&2
		exit 1
	fi
	echo "install-deps: installing$missing"
	# Debian starts a freshly installed dovecot on the standard ports;
	# the tests start their own instances, so keep the packaged service
	# from starting while apt runs.
	policy=/usr/sbin/policy-rc.d
	own_policy=no
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=yes
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || true
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
	if [ "$own_policy" = yes ]; then
		rm -f "$policy"
	fi
fi

if [ "$(id -u)" -eq 0 ]; then
	for u in vmail director; do
		if ! getent passwd "$u" >/dev/null; then
			useradd --system --no-create-home \
			    --shell /usr/sbin/nologin "$u"
		fi
	done
fi
exit 0
