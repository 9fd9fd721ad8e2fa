#!/bin/bash
# runtime-bundle.sh: make ./runtime, the bundle banger boots VMs from.
#
#   scripts/runtime-bundle.sh [--rootfs-only] [--force] [--out DIR]
#
# When runtime-bundle.toml names a url, the published bundle is fetched and
# checked by `banger-bundle fetch` (src/bundle). Otherwise the bundle is built
# here from Debian packages (needs root: mmdebstrap, device nodes, ownership):
#
#   runtime/
#     bundle.json          index: paths, kernel version, SHA-256 of each file
#     vmlinux              ELF kernel (from linux-image-cloud-amd64's vmlinuz)
#     kernel-config        that kernel's config, for reference
#     initrd.img           gzip'd newc cpio: /init = banger-init + virtio,
#                          overlay and net modules, modules.dep for just those
#     modules/<ver>/       the kernel's full modules tree, with depmod's files
#     rootfs.ext4          base image: Debian minbase + systemd, sshd,
#                          networkd (off), packages.apt, /lib/modules/<ver>,
#                          banger-ready.service
#     packages.apt         the extra packages the rootfs was built with
#     firecracker          copied in when `command -v firecracker` finds one
#     .stamps/             input keys of each step (for the cache)
#     .build.log           raw output of the last build
#
# Steps are cached: a step whose inputs (suite, mirrors, package lists,
# banger-init, this script) did not change reuses the previous output, and
# the Debian downloads are cached in ~/.cache/banger/runtime-build. The new
# bundle is built next to ./runtime and swapped in only when complete, so a
# failed build leaves ./runtime as it was.
#
# Environment: BANGER_BUILD_DIR (meson build dir, default ./build),
# BANGER_BUNDLE_SUITE (default bookworm), BANGER_BUNDLE_MIRROR (Debian mirror;
# default: the host's apt mirror).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/scripts/runtime-bundle.sh"
OUT="$ROOT/runtime"
BUILD="${BANGER_BUILD_DIR:-$ROOT/build}"
SUITE="${BANGER_BUNDLE_SUITE:-bookworm}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/banger/runtime-build"
MANIFEST="$ROOT/runtime-bundle.toml"
PACKAGES_FILE="$ROOT/packages.apt"
KERNEL_PKG=linux-image-cloud-amd64
# What the guest needs besides packages.apt (DESIGN "Images and the runtime bundle").
BASE_PKGS="systemd-sysv,openssh-server,iproute2,udev,kmod,ca-certificates,sshfs"
# Initrd modules, in the order that worked (DESIGN "Guest boot").
INITRD_MODS="virtio virtio_ring virtio_mmio virtio_blk overlay failover net_failover virtio_net"
# ext4 and what it needs, added when the kernel builds ext4 as a module.
EXT4_MODS="crc16 mbcache jbd2 crc32c_generic ext4"

ROOTFS_ONLY=0
FORCE=0
LOG=""
WORK=""

usage() {
	sed -n '2,5p' "$SELF" | sed 's/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--rootfs-only) ROOTFS_ONLY=1 ;;
	--force) FORCE=1 ;;
	--out) OUT=$(realpath -m "$2"); shift ;;
	-h|--help) usage ;;
	*) echo "runtime-bundle: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done

say() {
	printf 'runtime-bundle: %s\n' "$*"
	if [ -n "$LOG" ]; then printf '### %s\n' "$*" >>"$LOG"; fi
}
die() {
	printf 'runtime-bundle: error: %s\n' "$*" >&2
	[ -n "$LOG" ] && [ -s "$LOG" ] && printf 'runtime-bundle: see %s\n' "$LOG" >&2
	exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
hash_str() { printf '%s' "$1" | sha256sum | cut -c1-64; }
hash_file() { sha256sum "$1" | cut -c1-64; }
human() { du -sh --apparent-size "$1" | cut -f1; }

# run STEP-DESCRIPTION CMD...: output into the log; the log's tail on failure.
run() {
	local what=$1
	shift
	printf '\n### %s\n### %s\n' "$what" "$*" >>"$LOG"
	if ! "$@" >>"$LOG" 2>&1; then
		tail -n 15 "$LOG" | sed 's/^/  | /' >&2
		die "$what failed"
	fi
}

cleanup() {
	local rc=$?
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		rm -rf "$WORK"
	fi
	if [ $rc -eq 0 ] && [ -n "$LOG" ]; then
		rm -f "$LOG"
	fi
}
trap cleanup EXIT

# --- download path -----------------------------------------------------------

manifest_url() {
	[ -f "$MANIFEST" ] || return 0
	sed -n 's/^[[:space:]]*url[[:space:]]*=[[:space:]]*"\(.*\)"[[:space:]]*\(#.*\)\{0,1\}$/\1/p' \
		"$MANIFEST" | head -n1
}

url=$(manifest_url)
if [ -n "$url" ]; then
	fetch="$BUILD/src/bundle/banger-bundle"
	[ -x "$fetch" ] || die "$fetch not built; run 'make build' first"
	say "fetching the published bundle named in runtime-bundle.toml"
	exec "$fetch" fetch "$MANIFEST" "$OUT"
fi

# --- local build: preconditions -----------------------------------------------

[ "$(id -u)" -eq 0 ] || die "building the bundle locally needs root (mmdebstrap, device nodes, file ownership); run: sudo make runtime-bundle"
for tool in mmdebstrap:mmdebstrap lz4:lz4 cpio:cpio depmod:kmod mkfs.ext4:e2fsprogs \
	readelf:binutils gzip:gzip sha256sum:coreutils; do
	command -v "${tool%%:*}" >/dev/null 2>&1 ||
		die "'${tool%%:*}' not found: install the Debian package ${tool##*:} (or run scripts/install-deps.sh)"
done
INIT_BIN="$BUILD/src/guest/banger-init"
[ -x "$INIT_BIN" ] || die "$INIT_BIN not built; run 'make build' first"
if readelf -l "$INIT_BIN" | grep -q 'Requesting program interpreter'; then
	die "$INIT_BIN is dynamically linked (a sanitizer build?); build it with a plain 'make build'"
fi
[ -f "$PACKAGES_FILE" ] || die "$PACKAGES_FILE is missing"

# The host's Debian mirror, from deb822 .sources files or sources.list.
host_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk 'tolower($1) == "uris:" && $2 !~ /security/ { print $2; exit }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1 == "deb" && $0 !~ /security/ && $0 ~ /debian/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	echo "http://deb.debian.org/debian"
}
host_security_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk 'tolower($1) == "uris:" && $2 ~ /security/ { print $2; exit }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1 == "deb" && $0 ~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	echo "http://deb.debian.org/debian-security"
}

MIRROR="${BANGER_BUNDLE_MIRROR:-$(host_mirror)}"
SECURITY="$(host_security_mirror)"
# Passed explicitly so mmdebstrap never guesses; updates and security keep
# the guest's packages (and its kernel) current.
MIRRORS=("deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main")
if [ -z "${BANGER_BUNDLE_MIRROR:-}" ]; then
	MIRRORS+=("deb $SECURITY $SUITE-security main")
fi
EXTRA_PKGS=$(sed 's/#.*//' "$PACKAGES_FILE" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u | paste -sd, -)

mkdir -p "$CACHE"
LOG=$(mktemp "${TMPDIR:-/tmp}/banger-runtime-bundle.XXXXXX.log")
WORK=$(mktemp -d "$(dirname "$OUT")/.runtime-build.XXXXXX")
NEW="$WORK/bundle"
mkdir -p "$NEW/.stamps"
T0=$(now)
say "suite $SUITE, mirror $MIRROR; log $LOG"

SCRIPT_HASH=$(hash_file "$SELF")
KERNEL_DL_KEY=$(hash_str "kernel-dl|$SUITE|${MIRRORS[*]}|$KERNEL_PKG")
KERNEL_KEY=$(hash_str "kernel|$KERNEL_DL_KEY|$SCRIPT_HASH")

# reuse STEP KEY FILE...: hard-links the previous bundle's outputs of STEP into
# the new one when its recorded key matches. Returns 1 when STEP must run.
reuse() {
	local step=$1 key=$2 f
	shift 2
	[ "$FORCE" -eq 0 ] || return 1
	[ "$(cat "$OUT/.stamps/$step" 2>/dev/null)" = "$key" ] || return 1
	for f in "$@"; do
		[ -e "$OUT/$f" ] || return 1
	done
	for f in "$@"; do
		mkdir -p "$(dirname "$NEW/$f")"
		cp -al "$OUT/$f" "$NEW/$f" 2>/dev/null || cp -a "$OUT/$f" "$NEW/$f"
	done
	echo "$key" >"$NEW/.stamps/$step"
	say "$step: up to date"
	return 0
}

# --- kernel: vmlinux, kernel-config, modules/<ver> ------------------------------

# The extracted package, cached across builds (about 6 s and 90 MB to fetch).
# Sets KDIR.
kernel_extract() {
	local dir="$CACHE/kernel" stamp="$CACHE/kernel.stamp"
	KDIR=$dir
	if [ "$FORCE" -eq 0 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$KERNEL_DL_KEY" ] && [ -d "$dir/boot" ]; then
		return
	fi
	rm -rf "$dir" "$stamp"
	# extract: unpack the .debs only, no maintainer scripts, host apt untouched.
	run "download $KERNEL_PKG" mmdebstrap --mode=root --variant=extract \
		--include="$KERNEL_PKG" "$SUITE" "$dir" "${MIRRORS[@]}"
	echo "$KERNEL_DL_KEY" >"$stamp"
}

# vmlinuz is a bzImage whose payload is LZ4 (legacy frame, magic 02 21 4c 18);
# Firecracker and QEMU microvm want the ELF inside it.
extract_vmlinux() {
	local vmlinuz=$1 out=$2 off
	off=$(LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$vmlinuz" | head -n1 | cut -d: -f1 || true)
	[ -n "$off" ] || die "$vmlinuz has no LZ4 payload (magic 02 21 4c 18); is it a Debian cloud kernel?"
	# lz4 complains about the bytes trailing the payload; the ELF check below
	# is what tells success.
	tail -c +$((off + 1)) "$vmlinuz" | lz4 -dc >"$out" 2>>"$LOG" || true
	[ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' ')" = "7f454c46" ] ||
		die "decompressing $vmlinuz did not give an ELF kernel"
}

step_kernel() {
	local dir vmlinuz t
	if reuse kernel "$KERNEL_KEY" vmlinux kernel-config modules; then
		KVER=$(ls "$NEW/modules")
		return
	fi
	t=$(now)
	say "kernel: fetching $KERNEL_PKG"
	kernel_extract
	dir=$KDIR
	vmlinuz=$(ls "$dir"/boot/vmlinuz-* | head -n1)
	[ -f "$vmlinuz" ] || die "$KERNEL_PKG has no /boot/vmlinuz-*"
	KVER=${vmlinuz##*/vmlinuz-}
	[ -d "$dir/lib/modules/$KVER" ] || die "$KERNEL_PKG has no /lib/modules/$KVER"
	extract_vmlinux "$vmlinuz" "$NEW/vmlinux"
	cp "$dir/boot/config-$KVER" "$NEW/kernel-config"
	# The package ships no modules.dep: depmod makes it (and the other index
	# files modprobe needs) in a lib/modules layout, then it moves into place.
	mkdir -p "$WORK/modroot/lib/modules"
	cp -a "$dir/lib/modules/$KVER" "$WORK/modroot/lib/modules/"
	run "depmod $KVER" depmod -b "$WORK/modroot" "$KVER"
	mkdir -p "$NEW/modules"
	mv "$WORK/modroot/lib/modules/$KVER" "$NEW/modules/$KVER"
	echo "$KERNEL_KEY" >"$NEW/.stamps/kernel"
	say "kernel: $KVER, vmlinux $(human "$NEW/vmlinux"), modules $(du -sh "$NEW/modules" | cut -f1) ($(since "$t"))"
}

# --- initrd ---------------------------------------------------------------------

# mod_path NAME: the module's path in modules.dep, "" when built in or absent.
mod_path() {
	awk -F: -v n="$1" '{ p = $1; b = p; sub(/.*\//, "", b); sub(/\.ko.*/, "", b);
		gsub(/-/, "_", b); if (b == n) { print p; exit } }' "$NEW/modules/$KVER/modules.dep"
}
# mod_closure PATH: PATH and everything it depends on.
mod_closure() {
	echo "$1"
	awk -F: -v p="$1" '$1 == p { print $2 }' "$NEW/modules/$KVER/modules.dep" | tr ' ' '\n' | sed '/^$/d'
}

step_initrd() {
	local mods="$INITRD_MODS" init_hash key stage m p t
	init_hash=$(hash_file "$INIT_BIN")
	if grep -q '^CONFIG_EXT4_FS=m' "$NEW/kernel-config"; then
		mods="$EXT4_MODS $mods"
	fi
	key=$(hash_str "initrd|$KERNEL_KEY|$init_hash|$mods")
	reuse initrd "$key" initrd.img && return
	t=$(now)
	stage="$WORK/initrd"
	mkdir -p "$stage"/{dev,proc,sys,mnt,lib/modules/"$KVER"}
	install -m 0755 "$INIT_BIN" "$stage/init"
	# The kernel opens /dev/console for PID 1 before anything is mounted.
	mknod -m 0600 "$stage/dev/console" c 5 1
	for m in $mods; do
		p=$(mod_path "$m")
		if [ -z "$p" ]; then
			grep -q "/$m.ko" "$NEW/modules/$KVER/modules.builtin" ||
				die "kernel $KVER has no module '$m' (neither loadable nor built in)"
			continue
		fi
		for f in $(mod_closure "$p"); do
			mkdir -p "$stage/lib/modules/$KVER/$(dirname "$f")"
			cp "$NEW/modules/$KVER/$f" "$stage/lib/modules/$KVER/$f"
		done
	done
	# modules.dep for exactly the modules in the initrd; banger-init reads only that.
	run "depmod (initrd)" depmod -b "$stage" "$KVER"
	find "$stage/lib/modules/$KVER" -maxdepth 1 -type f ! -name modules.dep -delete
	(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null --create --format=newc --reproducible --owner=0:0 --quiet |
		gzip -9n) >"$NEW/initrd.img" 2>>"$LOG" || die "packing the initrd failed"
	echo "$key" >"$NEW/.stamps/initrd"
	say "initrd: $(grep -c . "$stage/lib/modules/$KVER/modules.dep") modules + banger-init, $(human "$NEW/initrd.img") ($(since "$t"))"
}

# --- rootfs -----------------------------------------------------------------------

# The mmdebstrap tarball, cached by its inputs (it is the slow, networked
# part). Sets ROOTFS_TAR.
rootfs_tar() {
	local pkgs=$1 key tar stamp
	key=$(hash_str "rootfs-tar|$SUITE|${MIRRORS[*]}|$pkgs")
	tar="$CACHE/rootfs.tar"
	ROOTFS_TAR=$tar
	stamp="$CACHE/rootfs.stamp"
	if [ "$FORCE" -eq 1 ] || [ "$(cat "$stamp" 2>/dev/null)" != "$key" ] || [ ! -f "$tar" ]; then
		rm -f "$tar" "$stamp"
		say "rootfs: mmdebstrap $SUITE minbase + $pkgs"
		rm -rf "$tar.part"
		run "mmdebstrap rootfs" mmdebstrap --mode=root --format=tar --variant=minbase \
			--include="$pkgs" "$SUITE" "$tar.part" "${MIRRORS[@]}"
		mv "$tar.part" "$tar"
		echo "$key" >"$stamp"
	fi
}

# What banger turns off in the guest for a fast boot, the same list as
# `banger image build` (src/image/image_guest.c) and README "What banger
# turns off in the guest". Disabled: the [Install] symlinks go (`systemctl
# enable` brings each back). Masked: units with no [Install] section.
GUEST_DISABLE="multi-user.target.wants/e2scrub_reap.service
timers.target.wants/e2scrub_all.timer
sysinit.target.wants/systemd-pstore.service
getty.target.wants/getty@tty1.service
multi-user.target.wants/systemd-networkd.service
sockets.target.wants/systemd-networkd.socket
sysinit.target.wants/systemd-network-generator.service
network-online.target.wants/systemd-networkd-wait-online.service
dbus-org.freedesktop.network1.service"
GUEST_MASK="getty-static.service modprobe@configfs.service modprobe@dm_mod.service
modprobe@efi_pstore.service modprobe@fuse.service modprobe@loop.service
sys-kernel-config.mount sys-fs-fuse-connections.mount dev-hugepages.mount
systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
systemd-sysusers.service systemd-random-seed.service"
# Generators for what a banger VM has not (LUKS, dm-integrity/verity, GPT
# partitions, hibernation, offline updates, EFI boot counting, SysV scripts,
# /etc/rc.local, systemd.run=): a /dev/null link in
# /etc/systemd/system-generators turns one off (the same list as
# generators_off in image_guest.c).
GUEST_GENERATORS_OFF="systemd-cryptsetup-generator systemd-integritysetup-generator
systemd-veritysetup-generator systemd-gpt-auto-generator systemd-hibernate-resume-generator
systemd-system-update-generator systemd-bless-boot-generator systemd-sysv-generator
systemd-rc-local-generator systemd-run-generator"

# The unit that prints banger's readiness line and its script (the same
# text as READY_UNIT and READY_SCRIPT in src/image/image_guest.c).
guest_ready_unit() {
	cat <<'EOF'
# banger: says on the serial console whether the VM is ready, once
# ssh.service's start job is done (Type=notify: sshd listens). bangerd waits
# for that line; without this unit `vm create` waits for boot_timeout.
[Unit]
Description=Tell banger the VM is ready
DefaultDependencies=no
Wants=ssh.service
After=ssh.service
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=oneshot
ExecStart=/usr/lib/banger/banger-ready

[Install]
WantedBy=multi-user.target
EOF
}
guest_ready_script() {
	cat <<'EOF'
#!/bin/sh
# banger-ready: run by banger-ready.service. Writes "banger: ready in <uptime> s"
# or "banger: not ready: ..." to /dev/console, the line bangerd watches for.
# /dev/console rather than /dev/kmsg: printed whatever the console log level
# (quiet, kernel.printk), and never hung up by agetty's vhangup of ttyS0.
listening() {
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] || continue
		while read -r sl local remote st rest; do
			case "$local:$st" in *:0016:0A) return 0 ;; esac
		done <"$f"
	done
	return 1
}
read -r up rest </proc/uptime
if listening; then
	echo "banger: ready in $up s" >/dev/console
else
	echo "banger: not ready: sshd is not listening on port 22 (ssh.service:" \
		"$(systemctl is-active ssh.service 2>/dev/null) $(systemctl is-enabled ssh.service 2>/dev/null))" >/dev/console
fi
EOF
}

# ssh.service's drop-in (the same text as SSH_UNIT_DROPIN in image_guest.c).
guest_ssh_dropin() {
	cat <<'EOF'
# banger: sshd starts as soon as the journal socket is there, not after
# sysinit.target (the whole of early boot, ~7 s under TCG): banger-init
# already mounted the disks and configured eth0. Remove this [Unit] section
# to get Debian's ordering back.
[Unit]
DefaultDependencies=no
After=systemd-journald.socket
RequiresMountsFor=/root
Conflicts=shutdown.target
Before=shutdown.target
# bangerd writes the VM's host key at create; banger-ssh-hostkey.service
# makes one only when it is missing (skipped otherwise, at no cost).
Wants=banger-ssh-hostkey.service
After=banger-ssh-hostkey.service

# No `sshd -t` pre-check: a bad configuration fails sshd itself just the same.
[Service]
ExecStartPre=
EOF
}

# The host key unit the drop-in pulls in (HOSTKEY_UNIT in image_guest.c).
guest_hostkey_unit() {
	cat <<'EOF'
# banger: makes the VM's SSH host key when there is none. bangerd writes one
# into every VM's overlay at create, so this is skipped (no process runs).
[Unit]
Description=Make the SSH host key if the VM has none
DefaultDependencies=no
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
EOF
}

# Boot-time trimming and the ready unit in the tree at $1.
tune_guest() {
	local r=$1 u sd="$1/etc/systemd/system"
	for u in $GUEST_DISABLE; do
		rm -f "$sd/$u"
	done
	for u in $GUEST_MASK; do
		ln -sfn /dev/null "$sd/$u"
	done
	mkdir -p "$r/etc/systemd/system-generators"
	for u in $GUEST_GENERATORS_OFF; do
		ln -sfn /dev/null "$r/etc/systemd/system-generators/$u"
	done
	guest_ready_unit >"$r/usr/lib/systemd/system/banger-ready.service"
	guest_hostkey_unit >"$r/usr/lib/systemd/system/banger-ssh-hostkey.service"
	mkdir -p "$r/usr/lib/banger"
	guest_ready_script >"$r/usr/lib/banger/banger-ready"
	chmod 0755 "$r/usr/lib/banger/banger-ready"
	mkdir -p "$sd/multi-user.target.wants"
	ln -sfn /usr/lib/systemd/system/banger-ready.service \
		"$sd/multi-user.target.wants/banger-ready.service"
}

# Guest essentials on top of the Debian tree in $1 (see the report in the
# header): no identity baked in, root by SSH key only, a fast boot.
customize_rootfs() {
	local r=$1
	# systemd-networkd stays installed but off: banger-init configures eth0
	# before systemd starts (src/guest/guest_net.h).
	tune_guest "$r"
	# Each VM gets its own machine-id: systemd makes one at first boot when
	# the file is empty, and commits it to the (writable) overlay.
	: >"$r/etc/machine-id"
	rm -f "$r/var/lib/dbus/machine-id"
	# Host keys are per VM: bangerd writes /etc/ssh/ssh_host_ed25519_key{,.pub}
	# into the VM's overlay at create. Debian's ssh.service does not generate
	# missing keys (only the package's postinst does), so sshd would fail
	# without one; banger-ssh-hostkey.service, pulled in by the drop-in below,
	# makes an ed25519 key only when none was provided.
	rm -f "$r"/etc/ssh/ssh_host_*
	mkdir -p "$r/etc/systemd/system/ssh.service.d"
	guest_ssh_dropin >"$r/etc/systemd/system/ssh.service.d/banger.conf"
	mkdir -p "$r/etc/ssh/sshd_config.d"
	cat >"$r/etc/ssh/sshd_config.d/banger.conf" <<'EOF'
# banger: root logs in with the key banger installs, never with a password.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
EOF
	# Lock root's password ("*": no password matches; unlike "!", sshd still
	# allows key logins whatever UsePAM says).
	sed -i 's/^root:[^:]*:/root:*:/' "$r/etc/shadow"
	# banger-init writes hostname, hosts, resolv.conf and the network at every
	# boot from the kernel command line; these are only the image's defaults.
	echo banger >"$r/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tbanger\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' >"$r/etc/hosts"
	rm -f "$r/etc/resolv.conf"
	: >"$r/etc/resolv.conf"
	# The overlay disk stays mounted under the overlay root, out of systemd's
	# sight, so systemd-shutdown cannot remount it read-only and its journal
	# would be left dirty. This hook (run after systemd's own unmounting)
	# does it, so a stopped VM's overlay is clean for host tools (debugfs -w).
	mkdir -p "$r/usr/lib/systemd/system-shutdown"
	cat >"$r/usr/lib/systemd/system-shutdown/banger-overlay-ro" <<'EOF'
#!/bin/sh
# banger: remount the VM's overlay disk (/dev/vdb, kept mounted by the overlay
# root) read-only at shutdown so its ext4 journal is clean. A second mount of
# the device shares its superblock; remounting that read-only covers both.
[ -b /dev/vdb ] || exit 0
d=/dev/.banger-overlay
mkdir -p "$d" && mount -t ext4 /dev/vdb "$d" 2>/dev/null || exit 0
mount -o remount,ro "$d"
umount "$d"
exit 0
EOF
	chmod 0755 "$r/usr/lib/systemd/system-shutdown/banger-overlay-ro"
	# The full modules tree of the bundle's kernel, so modprobe works in the guest.
	mkdir -p "$r/lib/modules"
	cp -a "$NEW/modules/$KVER" "$r/lib/modules/$KVER"
}

step_rootfs() {
	local pkgs key tar r bytes files size t
	pkgs="$BASE_PKGS${EXTRA_PKGS:+,$EXTRA_PKGS}"
	key=$(hash_str "rootfs|$SUITE|${MIRRORS[*]}|$pkgs|$KERNEL_KEY|$SCRIPT_HASH")
	if [ "$ROOTFS_ONLY" -eq 0 ] && reuse rootfs "$key" rootfs.ext4 packages.apt; then
		return
	fi
	t=$(now)
	rootfs_tar "$pkgs"
	tar=$ROOTFS_TAR
	say "rootfs: Debian tree ready ($(since "$t")), customizing"
	r="$WORK/rootfs"
	mkdir -p "$r"
	run "unpack rootfs" tar -C "$r" --numeric-owner --xattrs --xattrs-include='*' -xpf "$tar"
	customize_rootfs "$r"
	# Content plus ~30% headroom (ext4 metadata, journal), whole MiB; inodes
	# for every file plus half again, since mkfs's default ratio is tuned for
	# bigger files than a system tree has.
	bytes=$(du -sb "$r" | cut -f1)
	files=$(find "$r" -xdev | wc -l)
	size=$(((bytes * 13 / 10 + 64 * 1048576) / 1048576))
	run "mkfs.ext4 rootfs" mkfs.ext4 -F -q -L banger-base -N $((files * 3 / 2 + 4096)) \
		-E lazy_itable_init=0,lazy_journal_init=0 -d "$r" "$NEW/rootfs.ext4" "${size}M"
	run "e2fsck rootfs" e2fsck -fn "$NEW/rootfs.ext4"
	cp "$PACKAGES_FILE" "$NEW/packages.apt"
	echo "$key" >"$NEW/.stamps/rootfs"
	say "rootfs: $(human "$NEW/rootfs.ext4") image ($(du -sh "$NEW/rootfs.ext4" | cut -f1) allocated), $((bytes / 1048576)) MB in $files files ($(since "$t"))"
}

# --- firecracker, bundle.json, swap -----------------------------------------------------

step_firecracker() {
	local fc
	fc=$(command -v firecracker || true)
	if [ -n "$fc" ]; then
		cp "$fc" "$NEW/firecracker"
		say "firecracker: copied $fc ($("$fc" --version 2>/dev/null | head -n1))"
	else
		say "firecracker: not found on this host; VMs will use QEMU"
	fi
}

write_bundle_json() {
	local f entries="" sep="" role_fc=""
	for f in vmlinux initrd.img rootfs.ext4 packages.apt kernel-config firecracker; do
		[ -f "$NEW/$f" ] || continue
		entries+="$sep    \"$f\": {\"path\": \"$f\", \"sha256\": \"$(hash_file "$NEW/$f")\"}"
		sep=$',\n'
	done
	[ -f "$NEW/firecracker" ] && role_fc=$'\n  "firecracker": "firecracker",'
	cat >"$NEW/bundle.json" <<EOF
{
  "kernel_version": "$KVER",
  "kernel": "vmlinux",
  "initrd": "initrd.img",
  "modules_dir": "modules",
  "rootfs": "rootfs.ext4",
  "packages": "packages.apt",$role_fc
  "suite": "$SUITE",
  "files": {
$entries
  }
}
EOF
}

# For --rootfs-only: everything else comes from the current bundle as is.
if [ "$ROOTFS_ONLY" -eq 1 ]; then
	[ -f "$OUT/bundle.json" ] || die "--rootfs-only needs an existing $OUT; run without it first"
fi

step_kernel
step_initrd
step_rootfs
step_firecracker
write_bundle_json
cp "$LOG" "$NEW/.build.log"

# Swap in the new bundle: two renames on one filesystem.
if [ -e "$OUT" ]; then
	mv "$OUT" "$WORK/old"
fi
mv "$NEW" "$OUT"
say "done: $OUT ($(du -sh "$OUT" | cut -f1) on disk) in $(since "$T0")"
