# Sourced by scripts/docker-base-image and scripts/docker-postgres-image: registry-free Debian images.
#   make_rootfs PACKAGES   a bookworm minbase tree with PACKAGES in $ROOTFS (removed when the script exits)
#   import_rootfs TAG [--change INSTRUCTION]...   clean the tree and docker import it as TAG
# Needs root, debootstrap and a running docker engine; the mirror comes from $DEBIAN_MIRROR.

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ROOTFS="$(mktemp -d /tmp/cdr-rootfs.XXXXXX)"

_remove_rootfs() {
  # debootstrap mounts /proc and /sys inside the tree while it works; never delete through a mount
  for m in proc sys dev/pts dev; do umount "$ROOTFS/$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$ROOTFS"
}
trap _remove_rootfs EXIT

make_rootfs() {
  debootstrap --variant=minbase --include="ca-certificates,$1" bookworm "$ROOTFS" "$MIRROR"
  # trust what this host trusts: CAs added locally (e.g. a TLS-intercepting proxy's) are copied in
  shopt -s nullglob
  local cas=(/usr/local/share/ca-certificates/*.crt)
  shopt -u nullglob
  if ((${#cas[@]})); then
    cp "${cas[@]}" "$ROOTFS/usr/local/share/ca-certificates/"
    chroot "$ROOTFS" update-ca-certificates
  fi
}

import_rootfs() {
  local tag="$1"
  shift
  chroot "$ROOTFS" apt-get clean
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/cache/debconf/*-old
  tar -C "$ROOTFS" --numeric-owner -c . | docker import --change 'ENV LANG=C.UTF-8' "$@" - "$tag"
  echo "imported $tag"
}
