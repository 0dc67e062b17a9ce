#!/bin/sh
# The manual pages are clean mdoc: no mandoc warning or error.
. tests/lib.sh
for m in man/*.[158]; do
	[ -f "$m" ] || continue
	out=$(mandoc -Tlint -Wwarning "$m" 2>&1)
	if [ -z "$out" ]; then ok "mandoc -Tlint $m"; else nok "mandoc -Tlint $m"; diag "$out"; fi
done
done_testing
