#!/bin/bash
# dracut module: the ros-init initramfs phase as a systemd unit of the initrd. Only the units go
# into the initrd; ros-init and its Python run from the real root (RootDirectory=/sysroot).

check() {
    require_binaries systemctl || return 1
    return 0
}

depends() {
    echo systemd
}

install() {
    inst_simple "$moddir/ros-init-initramfs.service" "$systemdsystemunitdir/ros-init-initramfs.service"
    inst_simple "$moddir/ros-init-initramfs-failure.service" \
        "$systemdsystemunitdir/ros-init-initramfs-failure.service"
    inst_simple "$moddir/ros-init-sysroot-rw.service" "$systemdsystemunitdir/ros-init-sysroot-rw.service"
    inst_script "$moddir/ros-init-sysroot-rw.sh" /usr/sbin/ros-init-sysroot-rw
    inst_multiple mount
    $SYSTEMCTL -q --root "$initdir" add-wants initrd.target ros-init-initramfs.service
    # Seed volumes are read in this phase: the CD-ROM, ISO 9660 and FAT drivers (modules on
    # stock kernels; ros-init loads them with modprobe, the kernel's own requests use the initrd's).
    instmods isofs udf vfat nls_cp437 nls_ascii nls_utf8 nls_iso8859-1 sr_mod cdrom
    inst_multiple modprobe
}
