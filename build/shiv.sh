#!/usr/bin/env bash
# Build the single file dist/k3trio-<arch>: a shiv zipapp that runs on any Linux machine of
# that architecture with CPython (one of arch/pythons) as python3, from any directory.
#
#   build/shiv.sh [ARCH]        ARCH as `uname -m` names it; default: this machine's
#
# Inputs: arch/pythons (CPython versions carried), arch/<arch>/platforms (wheel tags),
# arch/<arch>/requirements.txt (exact pins with hashes, from build/lock.py), src/k3trio.
# The binary wheels of every carried CPython version are downloaded (hash-checked, cached
# in build/_work/wheels/) and unpacked together by build/stage.py; shiv packs the result.
#
# Environment: K3TRIO_BUILD_PYTHON  interpreter that runs pip, stage.py and shiv (>= 3.11;
#              default .venv/bin/python if present, else python3). If it lacks shiv, a
#              tools venv with a pinned shiv is made under build/_work/.
#              SOURCE_DATE_EPOCH    zip timestamps (default: fixed, the build is reproducible).
#              K3TRIO_MAX_MIB       size limit (default 20).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ARCH=${1:-$(uname -m)}
case "$ARCH" in
    arm64) ARCH=aarch64 ;;
    amd64) ARCH=x86_64 ;;
    armv8l|armhf) ARCH=armv7l ;;
esac
SHIV_VERSION=1.0.8
MAX_MIB=${K3TRIO_MAX_MIB:-20}
ENTRY=k3trio._frozen:main
REQ=arch/$ARCH/requirements.txt
WORK=build/_work
OUT=dist/k3trio-$ARCH

die() { echo "build/shiv.sh: $*" >&2; exit 1; }

[[ -f arch/$ARCH/platforms && -f $REQ ]] || die "no arch/$ARCH/{platforms,requirements.txt}; known: $(ls -d arch/*/ | xargs -n1 basename | tr '\n' ' ')"
if grep -q '^# missing:' "$REQ"; then
    die "cannot build $ARCH: $(sed -n 's/^# missing: //p' "$REQ") have no binary wheel for $ARCH (see arch/README.md)"
fi

PY=${K3TRIO_BUILD_PYTHON:-}
if [[ -z $PY ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "$PY is older than Python 3.11"

SHIV=("$PY" -m shiv)
if ! "$PY" -c 'import shiv' 2>/dev/null; then
    if [[ ! -x $WORK/tools/bin/shiv ]]; then
        "$PY" -m venv "$WORK/tools"
        "$WORK/tools/bin/pip" install --quiet --disable-pip-version-check "shiv==$SHIV_VERSION" \
            2> >(grep -v "^WARNING: Location 'file:" >&2)
    fi
    SHIV=("$WORK/tools/bin/shiv")
fi

start=$(date +%s)
mapfile -t PYTHONS < <(grep -v '^\s*#' arch/pythons | grep -v '^\s*$')
mapfile -t PLATFORMS < <(grep -v '^\s*#' "arch/$ARCH/platforms" | grep -v '^\s*$')
plat_args=()
for p in "${PLATFORMS[@]}"; do plat_args+=(--platform "$p"); done

# Download: one directory per CPython version, so stage.py sees which wheels each one uses.
for v in "${PYTHONS[@]}"; do
    dest=$WORK/wheels/$ARCH/$v
    mkdir -p "$dest"
    "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --require-hashes --implementation cp --python-version "$v" "${plat_args[@]}" \
        -r "$REQ" -d "$dest" 2> >(grep -v "^WARNING: Location 'file:" >&2) \
        || die "downloading the wheels for CPython $v on $ARCH failed"
    # Drop wheels a previous lock left behind, so the tree matches the pins exactly.
    "$PY" - "$REQ" "$dest" <<'EOF'
import re, sys
from pathlib import Path
pins = {re.sub(r"[-_.]+", "_", m.group(1)).lower() + "-" + m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+)", Path(sys.argv[1]).read_text(), re.M)}
for whl in Path(sys.argv[2]).glob("*.whl"):
    name, version = whl.name.split("-")[:2]
    if f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}" not in pins:
        whl.unlink()
EOF
done

# A strip that understands the target's ELF: the cross binutils, the host's own strip for
# a native build, or llvm-strip (any architecture).
case "$ARCH" in
    x86_64) triple=x86_64-linux-gnu ;;
    aarch64) triple=aarch64-linux-gnu ;;
    armv7l) triple=arm-linux-gnueabihf ;;
    *) triple=$ARCH-linux-gnu ;;
esac
STRIP=
candidates=("$triple-strip")
[[ $ARCH == "$(uname -m)" ]] && candidates+=(strip)
candidates+=(llvm-strip)
for s in "${candidates[@]}"; do
    if command -v "$s" >/dev/null; then STRIP=$(command -v "$s"); break; fi
done

SITE=$WORK/$ARCH/site-packages
"$PY" build/stage.py --arch "$ARCH" --wheels "$WORK/wheels/$ARCH" --out "$SITE" \
    --src src/k3trio --pythons "$(IFS=,; echo "${PYTHONS[*]}")" --strip "$STRIP"

mkdir -p dist
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-315554400}
"${SHIV[@]}" --site-packages "$SITE" --compressed --reproducible \
    --python '/usr/bin/env python3' --entry-point "$ENTRY" --output-file "$OUT.tmp"
chmod 0755 "$OUT.tmp"

bytes=$(stat -c %s "$OUT.tmp")
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
if (( bytes > MAX_MIB * 1048576 )); then
    rm -f "$OUT.tmp"
    die "$OUT would be $mib MiB, over the $MAX_MIB MiB limit"
fi
mv -f "$OUT.tmp" "$OUT"
echo "$OUT: $bytes bytes ($mib MiB), CPython ${PYTHONS[*]}, built in $(( $(date +%s) - start ))s"
