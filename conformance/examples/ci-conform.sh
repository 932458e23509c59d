#!/bin/sh
# ci-conform.sh - the interbot conformance suite as one step of your implementation's CI.
#
# Copy it into your repository. It runs interbot-conform against your node, started fresh for
# each test by your adapter (IUT_CMD, see the README's "An adapter"), with your list of known
# failures (EXPECT), and writes a JUnit report that your CI shows per test and a JSON report to
# keep. Its exit status is interbot-conform's, explained in one line at the end:
#
#   0  passed: every test passed, or failed and is listed in EXPECT (XFAIL)
#   1  failed: a test FAILed, TIMEd OUT or CRASHed, or a test listed in EXPECT passed (XPASS:
#      delete its line, so that the list only shrinks)
#   2  usage: the suite's options or the EXPECT file are wrong (its line is named): fix the
#      job, not the node
#   3  harness error: the suite could not run some tests (a port, a file) and nothing failed;
#      not your node's fault: run the job again
#
# Environment (only IUT_CMD is required):
#   IUT_CMD           the command that starts your node on the directory the suite prepared,
#                     with {dir} and the other placeholders: './conform-adapter {dir}'
#   INTERBOT_CONFORM  the suite (default: interbot-conform, from PATH: the Debian package
#                     `interbot`, or build/bin/interbot-conform of a `make` of its repository)
#   EXPECT            your known failures, one `TEST-GLOB reason` per line (default:
#                     conformance-expect.txt if there is one, else none)
#   REPORT_DIR        where conformance.xml (JUnit) and conformance.json go (default: reports)
#   JOBS              tests at once (default 2); TIMEOUT_SCALE for a slow runner (default 1)
# Arguments are passed to interbot-conform: --only ID,FRAME for a quick job, --seed N, -v.
#
#   IUT_CMD='./conform-adapter {dir}' sh ci-conform.sh --only ID,FRAME
set -eu

: "${IUT_CMD:?set IUT_CMD to the command that starts your node, e.g. ./conform-adapter {dir}}"
conform=${INTERBOT_CONFORM:-interbot-conform}
report_dir=${REPORT_DIR:-reports}
expect=${EXPECT-}
if [ -z "${EXPECT+set}" ] && [ -f conformance-expect.txt ]; then
	expect=conformance-expect.txt
fi
mkdir -p "$report_dir"

# The suite's options before the caller's, so that the caller's come last and win.
set -- --iut-cmd "$IUT_CMD" -j "${JOBS:-2}" --timeout-scale "${TIMEOUT_SCALE:-1}" \
	--junit "$report_dir/conformance.xml" --json "$report_dir/conformance.json" "$@"
if [ -n "$expect" ]; then
	set -- --expect "$expect" "$@"
fi
# The command, as it could be pasted into a shell to run it again.
printf 'ci-conform: %s' "$conform"
for arg in "$@"; do
	case $arg in
	*[!A-Za-z0-9_./,:=+-]*) printf " '%s'" "$arg" ;;
	*) printf ' %s' "$arg" ;;
	esac
done
echo

rc=0
NO_COLOR=1 "$conform" "$@" || rc=$?

case $rc in
0)	echo "ci-conform: PASSED (known failures, if any, are XFAIL above); reports in" \
		"$report_dir/" ;;
1)	echo "ci-conform: FAILED: a test failed, timed out or crashed, or a test listed in" \
		"${expect:-the expectations} passed (XPASS: delete its line). Each failure above" \
		"names its requirement and its rerun command; $report_dir/conformance.xml has them" ;;
2)	echo "ci-conform: USAGE ERROR: the options or ${expect:-the expectations file} are" \
		"wrong (said above): fix the job, not the node" ;;
3)	echo "ci-conform: HARNESS ERROR: the suite could not run some tests (said above) and" \
		"none failed: not your node's fault; run the job again" ;;
*)	echo "ci-conform: $conform ended with status $rc (killed by a signal?)" ;;
esac
exit "$rc"
