# shellcheck shell=bash
# The NFS lab's guest, built by .ci/nfs (sourced; lib.sh's helpers at hand):
# Debian bookworm's kernel (taken from the linux-image .deb with dpkg-deb -x)
# and a debootstrapped minbase root with python3 and the NFS server and
# client, trimmed to the kernel modules the lab loads and packed with /init
# (init, beside this file) as an initramfs. The guest's cache key is the
# sha256 of this file and init: change either and the guest is rebuilt.

GUEST_PACKAGES=python3,python3-venv,nfs-kernel-server,nfs-common,kmod,iproute2,udev,procps
GUEST_MODULES="nfsd nfsv3 nfsv4 9p 9pnet_virtio virtio_net virtio_pci"

guest_build_into() {  # NEW: vmlinuz and initrd.cpio into NEW
    local new=$1 log="$DIR/build.log" here
    here="$(dirname "${BASH_SOURCE[0]}")"
    mkdir -p "$new/deb"
    local mirror
    mirror=$(mirror_or_die "${PLH_NFS_MIRROR:-}")
    echo "nfs: building the guest in $GUEST (kernel .deb, debootstrap of bookworm from $mirror: a few minutes)" >&2
    local kernel
    kernel=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$kernel" ] || { apt-get update -qq >/dev/null 2>&1; kernel=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); }
    [ -n "$kernel" ] || die "cannot find Debian's kernel package (apt-cache depends linux-image-amd64)"
    (cd "$new/deb" && apt-get download "$kernel" >"$log" 2>&1) || die "cannot download $kernel (log: $log)"
    dpkg-deb -x "$new"/deb/*.deb "$new/kernel"
    local kver
    kver=$(ls "$new/kernel/lib/modules")
    cp "$new/kernel/boot/vmlinuz-$kver" "$new/vmlinuz"
    if ! debootstrap --variant=minbase --include="$GUEST_PACKAGES" bookworm "$new/root" "$mirror" >>"$log" 2>&1; then
        die "cannot build the guest: debootstrap failed ($(grep -E '^E:' "$log" | tail -1 || true); log: $log)"
    fi
    # Only the modules the lab loads, and what they need.
    local root="$new/root" m
    mkdir -p "$root/lib/modules"
    cp -a "$new/kernel/lib/modules/$kver" "$root/lib/modules/"
    chroot "$root" depmod "$kver"
    for m in $GUEST_MODULES; do
        chroot "$root" modprobe -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
    done | sort -u >"$new/keep"
    (cd "$root" && find "lib/modules/$kver/kernel" -name '*.ko*' -type f) | while read -r m; do
        grep -qx "/$m" "$new/keep" || rm -f "$root/$m"
    done
    chroot "$root" depmod "$kver"
    rm -rf "$root"/usr/share/{doc,man,info,locale} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
    install -m 755 "$here/init" "$root/init"
    (cd "$root" && find . -xdev | cpio -o -H newc --quiet) >"$new/initrd.cpio"
    rm -rf "$new/deb" "$new/kernel" "$root" "$new/keep"
    echo "nfs: guest ready ($(du -sh "$new/initrd.cpio" | cut -f1) initramfs, kernel $kver)" >&2
}
