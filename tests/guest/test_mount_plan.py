"""banger-init's mount plan, for real: three ext4 images on loop devices.

Runs banger-init-plan (the host build of banger-init's plan executor and
file writer) as root in a private mount namespace, then checks what a user
of the guest would see: the overlay root, /root on the work disk, the
per-boot files (read back from the overlay image with debugfs after
unmount), and that a second boot keeps the first boot's changes.

Needs root (loop devices, mounts). The binary is found through
$BANGER_INIT_PLAN, else build/src/guest/banger-init-plan in the repo.
"""
import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def plan_binary():
    env = os.environ.get("BANGER_INIT_PLAN")
    if env:
        return pathlib.Path(env)
    return REPO / "build" / "src" / "guest" / "banger-init-plan"


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for loop devices and mounts"),
    pytest.mark.skipif(not plan_binary().exists(),
                       reason=f"{plan_binary()} not built (set BANGER_INIT_PLAN)"),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("mkfs.ext4", "losetup", "debugfs",
                                                          "unshare", "findmnt")),
                       reason="needs e2fsprogs, util-linux"),
]


def mkfs(path, label, content_dir=None, size="32M"):
    cmd = ["mkfs.ext4", "-q", "-F", "-L", label]
    if content_dir:
        cmd += ["-d", str(content_dir)]
    subprocess.run(cmd + [str(path), size], check=True, capture_output=True)


def debugfs_cat(image, path):
    """File content inside an unmounted ext4 image, or None when absent."""
    r = subprocess.run(["debugfs", "-R", f"cat {path}", str(image)],
                       capture_output=True, text=True)
    if "File not found" in r.stderr or r.returncode != 0:
        return None
    return r.stdout


@pytest.fixture
def disks(tmp_path):
    base_root = tmp_path / "base-root"
    for d in ("sbin", "etc/systemd/network", "root", "lib/modules"):
        (base_root / d).mkdir(parents=True)
    (base_root / "sbin/init").write_text("#!/bin/sh\necho fake init\n")
    (base_root / "sbin/init").chmod(0o755)
    (base_root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n10.1.2.3\tdb.internal\n")
    (base_root / "etc/hostname").write_text("image-default\n")
    # Debian images with systemd-resolved ship this; it dangles at boot.
    os.symlink("../run/systemd/resolve/stub-resolv.conf", base_root / "etc/resolv.conf")
    work_root = tmp_path / "work-root"
    work_root.mkdir()
    (work_root / "notes.txt").write_text("kept on the work disk\n")

    imgs = {"base": tmp_path / "base.ext4", "overlay": tmp_path / "overlay.ext4",
            "work": tmp_path / "work.ext4"}
    mkfs(imgs["base"], "banger-base", base_root)
    mkfs(imgs["overlay"], "banger-overlay")
    mkfs(imgs["work"], "banger-work", work_root)

    loops = {}
    try:
        for name, img in imgs.items():
            ro = ["--read-only"] if name == "base" else []
            out = subprocess.run(["losetup", "--find", "--show", *ro, str(img)],
                                 check=True, capture_output=True, text=True).stdout.strip()
            loops[name] = out
        yield {"imgs": imgs, "loops": loops, "tmp": tmp_path}
    finally:
        for dev in loops.values():
            subprocess.run(["losetup", "-d", dev], check=False)


def boot(disks, cmdline, then=""):
    """One 'boot': run the plan in a throw-away mount namespace, then the shell
    snippet `then` with $R set to the new root, then unmount everything like
    a clean shutdown. Returns the completed process (stdout has the report)."""
    stage = disks["tmp"] / "stage"
    stage.mkdir(exist_ok=True)
    l = disks["loops"]
    script = f"""
set -e
R=$("$PLAN" {l['base']} {l['overlay']} {l['work']} "$STAGE" "$CMDLINE")
echo "root=$R"
findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS | grep " *$STAGE" | sed 's/^/mnt=/'
{then}
umount -R "$R"
"""
    env = dict(os.environ, PLAN=str(plan_binary()), STAGE=str(stage), CMDLINE=cmdline)
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                          env=env, capture_output=True, text=True, timeout=60)


def mounts(out):
    """{target: (source, fstype, options)} from the boot report."""
    res = {}
    for line in out.splitlines():
        if line.startswith("mnt="):
            target, source, fstype, opts = line[4:].split(" ", 3)
            res[target] = (source, fstype, opts)
    return res


FIRST = ("console=ttyS0 banger.hostname=calm-otter banger.ip=172.30.0.5/24 "
         "banger.gw=172.30.0.1 banger.dns=172.30.0.1,9.9.9.9")


def test_first_boot_assembles_root_and_writes_settings(disks):
    r = boot(disks, FIRST, then="""
cat "$R/sbin/init" | sed 's/^/init=/'
cat "$R/root/notes.txt" | sed 's/^/rootfile=/'
cat "$R/etc/hostname" | sed 's/^/hostname=/'
echo written-at-first-boot > "$R/etc/first-boot"
echo in-root > "$R/root/created.txt"
if touch "$R/media/root-ro/etc/x" 2>/dev/null; then echo base=writable; else echo base=readonly; fi
ls "$R/media/root-rw" | sed 's/^/rwdir=/'
""")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    stage = str(disks["tmp"] / "stage")
    root = stage + "/root"
    assert f"root={root}" in out
    m = mounts(out)
    assert m[root][1] == "overlay"
    assert f"lowerdir={stage}/base" in m[root][2]
    assert m[root + "/root"][0] == disks["loops"]["work"]
    assert m[root + "/media/root-ro"][0] == disks["loops"]["base"]
    assert m[root + "/media/root-ro"][2].startswith("ro")
    assert m[root + "/media/root-rw"][0] == disks["loops"]["overlay"]
    assert m[root + "/media/root-rw"][2].startswith("rw")
    assert "init=echo fake init" in out  # the base image shows through
    assert "rootfile=kept on the work disk" in out  # /root is the work disk
    assert "hostname=calm-otter" in out
    assert "base=readonly" in out
    assert "rwdir=upper" in out and "rwdir=work" in out

    ovl, base, work = (disks["imgs"][k] for k in ("overlay", "base", "work"))
    assert debugfs_cat(ovl, "/upper/etc/hostname") == "calm-otter\n"
    hosts = debugfs_cat(ovl, "/upper/etc/hosts")
    assert "127.0.1.1\tcalm-otter\n" in hosts
    assert "10.1.2.3\tdb.internal\n" in hosts  # the image's own lines survive
    net = debugfs_cat(ovl, "/upper/etc/systemd/network/10-banger-eth0.network")
    assert "Name=eth0\n" in net
    assert "Address=172.30.0.5/24\n" in net
    assert "Gateway=172.30.0.1\n" in net
    assert "DNS=172.30.0.1\nDNS=9.9.9.9\n" in net
    resolv = debugfs_cat(ovl, "/upper/etc/resolv.conf")
    assert "nameserver 172.30.0.1\nnameserver 9.9.9.9\n" in resolv
    assert debugfs_cat(ovl, "/upper/etc/first-boot") == "written-at-first-boot\n"
    # Changes land in the overlay and on the work disk, never in the base.
    assert debugfs_cat(base, "/etc/hostname") == "image-default\n"
    assert debugfs_cat(base, "/etc/first-boot") is None
    assert debugfs_cat(work, "/created.txt") == "in-root\n"
    assert debugfs_cat(ovl, "/upper/root/created.txt") is None


def test_second_boot_keeps_changes_and_applies_new_settings(disks):
    r = boot(disks, FIRST, then='echo from-boot-1 > "$R/etc/first-boot"; '
                                'echo mine > "$R/root/mine.txt"')
    assert r.returncode == 0, r.stderr
    # Second boot: the VM was renamed and lost its static address (vm set).
    r = boot(disks, "banger.hostname=renamed banger.dns=1.1.1.1", then="""
cat "$R/etc/first-boot" | sed 's/^/kept=/'
cat "$R/root/mine.txt" | sed 's/^/rootkept=/'
test -e "$R/etc/systemd/network/10-banger-eth0.network" && echo net=present || echo net=absent
""")
    assert r.returncode == 0, r.stderr
    assert "kept=from-boot-1" in r.stdout
    assert "rootkept=mine" in r.stdout
    assert "net=absent" in r.stdout
    ovl = disks["imgs"]["overlay"]
    assert debugfs_cat(ovl, "/upper/etc/hostname") == "renamed\n"
    hosts = debugfs_cat(ovl, "/upper/etc/hosts")
    assert "127.0.1.1\trenamed\n" in hosts and "calm-otter" not in hosts
    assert "nameserver 1.1.1.1\n" in debugfs_cat(ovl, "/upper/etc/resolv.conf")


def test_bad_parameter_fails_before_mounting(disks):
    r = boot(disks, "banger.ip=172.30.0.5")
    assert r.returncode != 0
    assert "banger.ip=172.30.0.5" in r.stderr
    assert "mnt=" not in r.stdout


def test_missing_disk_is_reported(disks):
    stage = disks["tmp"] / "stage"
    stage.mkdir()
    l = disks["loops"]
    r = subprocess.run(["unshare", "-m", "--propagation", "private", str(plan_binary()),
                        l["base"], l["overlay"], "/dev/banger-no-such-disk", str(stage), ""],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "mount the work disk at /root" in r.stderr
    assert "/dev/banger-no-such-disk" in r.stderr
