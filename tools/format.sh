#!/usr/bin/env bash
# Formats the C++ sources in place: Google style, 100 columns.
# Usage: tools/format.sh [files...]   (default: every .h/.cpp in the library, tests, examples, bench)
set -euo pipefail
cd "$(dirname "$0")/.."
style='{BasedOnStyle: Google, ColumnLimit: 100, AllowShortFunctionsOnASingleLine: All}'
if [ $# -eq 0 ]; then
  set -- $(git ls-files '*.h' '*.cpp' | grep -v '^tests/golden/')
fi
clang-format -i -style="$style" "$@"
