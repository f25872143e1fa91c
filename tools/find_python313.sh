#!/bin/sh
# Prints the path of a CPython 3.13 interpreter, the runtime Lambda runs (python3.13): the build
# compiles the bytecode it ships with it, and `make test` runs the unit and integration tiers on it.
# Looks, in order, at: $PYTHON313 (if set, it must be CPython 3.13), `python3.13` on PATH if it
# actually runs (a pyenv shim refuses unless its version is selected), then every 3.13.x that pyenv
# has installed, newest first. Prints nothing and exits 1 if none is found.
set -u

runs313() {
    "$1" -c 'import sys
assert sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 13)
print(sys.executable)' 2>/dev/null
}

if [ -n "${PYTHON313:-}" ]; then
    runs313 "$PYTHON313" && exit 0
    echo "PYTHON313=$PYTHON313 is not a CPython 3.13 interpreter" >&2
    exit 1
fi
if command -v python3.13 >/dev/null 2>&1 && runs313 python3.13; then
    exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
    for version in $(pyenv versions --bare --skip-aliases 2>/dev/null | grep -E '^3\.13\.[0-9]+$' | sort -t. -k3,3nr); do
        prefix=$(pyenv prefix "$version" 2>/dev/null) && runs313 "$prefix/bin/python3.13" && exit 0
    done
fi
exit 1
