#!/usr/bin/env bash
# Install ros-init, its boot units and its initramfs integration into an OS image root.
#
#   packaging/install-into-root.sh ROOT [--wheels DIR] [--settings FILE] [--rebuild-initramfs]
#
# ROOT          the image root (a debootstrap tree, a mounted image, / in a Dockerfile RUN step)
# --wheels DIR  install offline from wheels made by packaging/build-wheels.sh (default: this
#               source tree, and the dependencies from PyPI)
# --settings F  copy F to ROOT/etc/ros-init/ros-init.yaml (the image settings)
# --rebuild-initramfs  regenerate the initramfs in ROOT (chroot update-initramfs or dracut)
#
# ros-init goes into ROOT/usr/lib/ros-init with all its dependencies (nothing shared with the
# image's own Python packages), run by the image's /usr/bin/python3 through ROOT/usr/bin/ros-init.
# The units are enabled statically under /usr/lib/systemd/system/*.wants (immutable images keep
# /etc on an overlay); turn ros-init off with `ros-init.disabled` on the kernel command line or
# the file /etc/ros-init/ros-init.disabled.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
root=
wheels=
settings=
rebuild=
while [ $# -gt 0 ]; do
    case "$1" in
        --wheels) wheels=$(cd "$2" && pwd); shift 2 ;;
        --settings) settings=$2; shift 2 ;;
        --rebuild-initramfs) rebuild=1; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        -*) echo "install-into-root: unknown option $1" >&2; exit 2 ;;
        *) root=$1; shift ;;
    esac
done
[ -n "$root" ] || { echo "usage: install-into-root.sh ROOT [--wheels DIR] [--settings FILE] [--rebuild-initramfs]" >&2; exit 2; }
root=$(cd "$root" && pwd)
py=${PYTHON:-python3}

# The image's Python decides the wheels' ABI.
target_py=$(readlink -f "$root/usr/bin/python3" || true)
case "$(basename "${target_py:-none}")" in
    python3.[0-9]*) pyver=$(basename "$target_py" | sed 's/^python//') ;;
    *) echo "install-into-root: $root/usr/bin/python3 is missing: install python3 in the image first" >&2; exit 1 ;;
esac

lib="$root/usr/lib/ros-init"
rm -rf "$lib"
mkdir -p "$lib"
pip_target=(--target "$lib" --python-version "$pyver" --implementation cp --only-binary :all:
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
            --platform manylinux2014_x86_64 --platform linux_x86_64 --no-compile --quiet)
if [ -n "$wheels" ] && ! "$py" -m pip --version >/dev/null 2>&1; then
    # No pip (a minimal base image, or a Dockerfile RUN step): the wheels were made for this
    # image's Python by build-wheels.sh, one per distribution, so installing them is unpacking them.
    for whl in "$wheels"/*.whl; do
        "$py" -m zipfile -e "$whl" "$lib"
    done
    find "$lib" -maxdepth 1 -name '*.data' -exec rm -rf {} +
elif [ -n "$wheels" ]; then
    "$py" -m pip install "${pip_target[@]}" --no-index --find-links "$wheels" ros-init
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$py" -m pip wheel --quiet --no-deps -w "$tmp" "$src"
    "$py" -m pip install "${pip_target[@]}" --find-links "$tmp" ros-init
fi
rm -rf "$lib/bin"
# Byte-compile with the image's own interpreter when it can run here (same ABI, faster start).
if [ "$(id -u)" = 0 ] && chroot "$root" /usr/bin/python3 -c pass 2>/dev/null; then
    chroot "$root" /usr/bin/python3 -m compileall -q -j 0 /usr/lib/ros-init >/dev/null || true
fi

install -d "$root/usr/bin" "$root/usr/libexec/ros-init" "$root/usr/share/doc/ros-init" \
    "$root/etc/ros-init" "$root/var/lib/ros-init"
cat > "$root/usr/bin/ros-init" <<'PY'
#!/usr/bin/python3 -IS
# ros-init, installed by packaging/install-into-root.sh: its own copy of its dependencies in
# /usr/lib/ros-init; -I -S: no environment, no site-packages scan (faster start at boot).
import sys

sys.path.insert(0, "/usr/lib/ros-init")
from ros_init.cli import main

sys.exit(main())
PY
chmod 0755 "$root/usr/bin/ros-init"
install -m 0755 "$here/libexec/on-failure" "$here/libexec/need-network" "$root/usr/libexec/ros-init/"
[ -f "$src/docs/boot-integration.md" ] && install -m 0644 "$src/docs/boot-integration.md" "$root/usr/share/doc/ros-init/"
[ -n "$settings" ] && install -m 0644 "$settings" "$root/etc/ros-init/ros-init.yaml"

units="$root/usr/lib/systemd/system"
install -d "$units/sysinit.target.wants" "$units/multi-user.target.wants"
install -m 0644 "$here"/systemd/*.service "$units/"
ln -sf ../ros-init-boot.service "$units/sysinit.target.wants/ros-init-boot.service"
ln -sf ../ros-init-network.service "$units/multi-user.target.wants/ros-init-network.service"

# Initramfs integration: whichever generator the image has.
if [ -d "$root/usr/share/initramfs-tools" ]; then
    install -D -m 0755 "$here/initramfs-tools/hooks/ros-init" "$root/usr/share/initramfs-tools/hooks/ros-init"
    install -D -m 0755 "$here/initramfs-tools/scripts/local-bottom/ros-init" \
        "$root/usr/share/initramfs-tools/scripts/local-bottom/ros-init"
fi
if [ -d "$root/usr/lib/dracut/modules.d" ]; then
    install -d "$root/usr/lib/dracut/modules.d/40ros-init"
    install -m 0755 "$here/dracut/40ros-init/module-setup.sh" "$root/usr/lib/dracut/modules.d/40ros-init/"
    install -m 0644 "$here"/dracut/40ros-init/*.service "$root/usr/lib/dracut/modules.d/40ros-init/"
    install -m 0755 "$here/dracut/40ros-init/ros-init-sysroot-rw.sh" "$root/usr/lib/dracut/modules.d/40ros-init/"
fi
if [ -n "$rebuild" ]; then
    if [ -x "$root/usr/sbin/update-initramfs" ]; then
        chroot "$root" update-initramfs -u -k all
    elif [ -x "$root/usr/bin/dracut" ]; then
        chroot "$root" dracut -f --regenerate-all
    else
        echo "install-into-root: no update-initramfs or dracut in $root: initramfs not rebuilt" >&2
    fi
fi
echo "install-into-root: ros-init $(PYTHONPATH="$lib" "$py" -c 'import ros_init; print(ros_init.__version__)' 2>/dev/null || echo '?') installed into $root (python$pyver)"
