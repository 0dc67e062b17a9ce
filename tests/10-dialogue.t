#!/bin/sh
# POP3 sessions as send/expect scripts piped into popd: one test per
# script in tests/dialogue/ (format: the top of tests/dialogue.py).
# POPD=/path/to/popd runs them against another build (e.g. ASan).
exec python3 tests/dialogue.py tests/dialogue/*.pop
