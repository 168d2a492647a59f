#!/bin/sh
# Makes the root filesystem of orch's container image (Dockerfile, docs/image.md) in OUT/root: each
# BINARY stripped into /usr/bin, exactly the shared libraries they load (as ldd lists them, with
# the dynamic loader), the CA certificates libcurl reads, the user and group orch (10001) and a
# /tmp. No shell, no package manager: what orch runs, and only that. OUT/state is orch's state
# folder (/var/lib/orch, owned by 10001), kept apart because the Dockerfile's COPY makes what it
# copies root's: it is copied with --chown on its own.
# Runs as root on Debian 12 (the image's build stage, or a Debian 12 host: tests/compose).
# Usage: packaging/image-rootfs.sh OUT BINARY [BINARY...]
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT BINARY [BINARY...]" >&2; exit 64; }
rm -rf "$1"
mkdir -p "$1/state"
chown 10001:10001 "$1/state"
dest=$1/root
shift
mkdir -p "$dest/usr/bin" "$dest/usr/lib" "$dest/usr/lib64" "$dest/etc/ssl/certs" "$dest/var/lib" "$dest/tmp"
# Debian 12 is merged-/usr: /lib and /lib64 are links into /usr, as on the host.
ln -s usr/lib "$dest/lib"
ln -s usr/lib64 "$dest/lib64"
for bin in "$@"; do
  strip --strip-unneeded -o "$dest/usr/bin/$(basename "$bin")" "$bin"
  # "libx.so.1 => /lib/x86_64-linux-gnu/libx.so.1 (0x...)" and the loader's "/lib64/ld-linux-x86-64.so.2 (0x...)"
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
    case "$lib" in
      /lib/* | /lib64/* | /usr/lib/* | /usr/lib64/*) target="$dest/usr${lib#/usr}" ;;
      *) target="$dest/usr/lib/$(basename "$lib")" ;;  # liborch of a build tree: on the loader's default path
    esac
    [ -e "$target" ] && continue
    mkdir -p "$(dirname "$target")"
    strip --strip-unneeded -o "$target" "$lib"
  done
done
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\norch:x:10001:10001:orch:/var/lib/orch:/usr/sbin/nologin\n' >"$dest/etc/passwd"
printf 'root:x:0:\norch:x:10001:\n' >"$dest/etc/group"
chmod 1777 "$dest/tmp"
