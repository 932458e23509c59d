#!/bin/sh
# Installs the Debian packages interbot needs to build and test.
# Root: installs what is missing. Not root: prints the one apt-get line to run.
# Exit 0 when everything needed is present (or was installed), 1 otherwise; a wanted package
# (WANTED below) that is missing is only reported when not root.
# --eggdrop: Eggdrop is needed too (`make bench-eggdrop`, ci/bench-eggdrop), opt-in: nothing
# else uses it, and the benchmark says it skipped without it.
set -eu

eggdrop=""
for arg in "$@"; do
	case $arg in
	--eggdrop) eggdrop=1 ;;
	*) echo "usage: ci/deps.sh [--eggdrop]" >&2; exit 2 ;;
	esac
done

# package:probe  (probe = a pkg-config module, cmd/NAME for a program, deb/NAME for a
# package that has neither, checked with dpkg). ci/test-symbols reads the header with gcc
# (-aux-info) and the library with binutils' nm and readelf; ci/test-install checks the unit
# with systemd-analyze (the package, not a running systemd). ci/test-html renders the HTML
# reports in headless chromium and checks them with tidy (HTML5). `make deb` builds the Debian
# packages with dpkg-buildpackage (dpkg-dev; debhelper; build-essential, which
# dpkg-checkbuilddeps requires) and checks them with lintian; debian/rules needs no root, so
# no fakeroot.
# `make valgrind-check` runs the unit tests and the suite's nodes under valgrind's memcheck.
# interbot-conform sets a spawned IUT's clock back with libfaketime ([MSG-14]'s test in cmd
# mode, which the mutation runs use).
NEEDED="libssl-dev:openssl
libcunit1-dev:cunit
libpcap-dev:libpcap
libjansson-dev:jansson
pkg-config:cmd/pkg-config
make:cmd/make
clang:cmd/clang
libclang-rt-14-dev:deb/libclang-rt-14-dev
openssl:cmd/openssl
python3:cmd/python3
libxml2-utils:cmd/xmllint
python3-jsonschema:deb/python3-jsonschema
groff-base:cmd/groff
man-db:cmd/man
gcc:cmd/gcc
binutils:cmd/readelf
systemd:cmd/systemd-analyze
clang-tidy:cmd/clang-tidy
cppcheck:cmd/cppcheck
chromium:cmd/chromium
tidy:cmd/tidy
dpkg-dev:cmd/dpkg-buildpackage
debhelper:cmd/dh
build-essential:deb/build-essential
lintian:cmd/lintian
valgrind:cmd/valgrind
libfaketime:deb/libfaketime"
[ -z "$eggdrop" ] || NEEDED="$NEEDED
eggdrop:cmd/eggdrop"
# Wanted, not needed: a test that uses one says SKIP without it (tshark: ci/test-trace;
# mandoc: the `mandoc -T lint` of ci/test-man; ip, tc and ethtool: `make netns-test`, which
# runs as root only; spin: `make model`, ci/model).
WANTED="tshark:cmd/tshark mandoc:cmd/mandoc iproute2:cmd/ip ethtool:cmd/ethtool spin:cmd/spin"

missing=""
wanted=""
for entry in $NEEDED $WANTED; do
	pkg=${entry%%:*}
	probe=${entry#*:}
	case $probe in
	cmd/*)  command -v "${probe#cmd/}" >/dev/null 2>&1 && continue ;;
	deb/*)  dpkg-query -W -f='${Status}' "${probe#deb/}" 2>/dev/null |
			grep -q 'install ok installed' && continue ;;
	*)      command -v pkg-config >/dev/null 2>&1 &&
		pkg-config --exists "$probe" 2>/dev/null && continue ;;
	esac
	case " $WANTED " in
	*" $entry "*) wanted="$wanted $pkg" ;;
	*) missing="$missing $pkg" ;;
	esac
done

if [ -z "$missing$wanted" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	if [ -n "$wanted" ]; then
		echo "ci/deps.sh: not installed:$wanted (the tests that use it are skipped);" \
			"sudo apt-get install -y$wanted" >&2
	fi
	[ -z "$missing" ] && exit 0
	echo "ci/deps.sh: missing packages:$missing" >&2
	echo "run: sudo apt-get install -y$missing" >&2
	exit 1
fi
missing="$missing$wanted"

echo "ci/deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark's wireshark-common asks whether non-root users may capture: no, and do not ask.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections 2>/dev/null || true
apt-get install -y -q --no-install-recommends $missing >&2 ||
	{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends $missing >&2; }
