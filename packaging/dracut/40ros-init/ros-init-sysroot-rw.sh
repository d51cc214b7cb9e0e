#!/bin/sh
# ros-init-sysroot-rw rw|restore: the initramfs phase writes into the real root, which the
# initrd usually mounts read-only ("ro" on the kernel command line). "rw" remounts /sysroot
# read-write when it is read-only and remembers it; "restore" puts it back (ExecStop= of
# ros-init-sysroot-rw.service). A root already read-write (RancherOS's overlays) is left as it is.
flag=/run/ros-init-sysroot-was-ro
case "$1" in
rw)
    while read -r _dev mnt _type opts _rest; do
        [ "$mnt" = /sysroot ] || continue
        case ",$opts," in
            *,ro,*)
                mount -o remount,rw /sysroot || { echo "ros-init: cannot remount /sysroot read-write" >&2; exit 1; }
                : > "$flag" ;;
        esac
    done < /proc/mounts
    ;;
restore)
    if [ -e "$flag" ]; then
        mount -o remount,ro /sysroot
        rm -f "$flag"
    fi
    ;;
esac
exit 0
