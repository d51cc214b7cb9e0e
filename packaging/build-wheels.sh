#!/usr/bin/env bash
# Build the ros-init wheel and download binary wheels of its dependencies for a target Python,
# so that an OS image can be given ros-init without network access from inside it.
#   packaging/build-wheels.sh OUTDIR [PYTHON_VERSION]     (PYTHON_VERSION default 3.11)
# Needs pip and PyPI (or a mirror set in pip's configuration) on the build host.
set -euo pipefail
out=${1:?usage: build-wheels.sh OUTDIR [PYTHON_VERSION]}
pyver=${2:-3.11}
src=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
mkdir -p "$out"
"$py" -m pip wheel --quiet --no-deps --no-build-isolation -w "$out" "$src" 2>/dev/null \
    || "$py" -m pip wheel --quiet --no-deps -w "$out" "$src"
mapfile -t deps < <("$py" - "$src/pyproject.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as fh:
    print("\n".join(tomllib.load(fh)["project"]["dependencies"]))
PY
)
"$py" -m pip download --quiet --only-binary :all: --dest "$out" \
    --python-version "$pyver" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform linux_x86_64 "${deps[@]}"
