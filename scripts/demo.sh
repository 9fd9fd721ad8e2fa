#!/usr/bin/env bash
# The README's main job: install what is missing, build, make the runtime
# bundle, boot a VM, run a command in it over SSH, and show how to go on.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME="${BANGER_DEMO_VM:-demo-vm}"
say() { printf '\n==> %s\n' "$*"; }

say "installing missing Debian packages (scripts/install-deps.sh)"
./scripts/install-deps.sh

say "building banger"
make build

if [ ! -f runtime/bundle.json ]; then
	say "making the runtime bundle (kernel, initrd, base image; a few minutes the first time)"
	make runtime-bundle
fi

say "checking the host (banger doctor)"
if ! ./banger doctor; then
	echo "demo: banger doctor found a problem: run the fix: lines above, then make demo again." >&2
	exit 1
fi

if command -v firecracker >/dev/null 2>&1 || [ -x runtime/firecracker ]; then
	if [ -w /dev/kvm ]; then
		say "VMM: Firecracker"
	else
		say "VMM: Firecracker was found but /dev/kvm is not usable; using QEMU"
		export BANGER_VMM=qemu
	fi
else
	if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
		echo "demo: no VMM available: Firecracker is not installed and QEMU is missing." >&2
		echo "demo: install QEMU with: sudo apt-get install qemu-system-x86" >&2
		exit 1
	fi
	if [ -e /sys/module/kvm_pvm ] || [ ! -w /dev/kvm ]; then
		say "VMM: QEMU with TCG (no usable /dev/kvm: software emulation, boot takes ~15-60 s)"
	else
		say "VMM: QEMU with KVM (Firecracker not found)"
	fi
fi

state=$(./banger vm show "$NAME" --json 2>/dev/null | sed -n 's/.*"state": "\([a-z]*\)".*/\1/p' || true)
if [ -z "$state" ]; then
	say "creating VM $NAME"
	./banger vm create --name "$NAME"
elif [ "$state" != "running" ]; then
	say "starting VM $NAME"
	./banger vm start "$NAME"
fi

say "running a command in $NAME over SSH"
./banger vm ssh "$NAME" -- sh -c 'echo "hello from $(hostname): $(uname -sr), root on $(findmnt -n -o FSTYPE /), /root on $(findmnt -n -o SOURCE /root)"'

say "banger vm list"
./banger vm list

cat <<EOT

Your VM is running.
  shell:    ./banger vm ssh $NAME
  TUI:      ./banger tui
  status:   ./banger vm show $NAME
  stop:     ./banger vm stop $NAME      (keeps its disks; ./banger vm start $NAME boots it again)
  remove:   ./banger vm delete --force $NAME
EOT
