"""`banger doctor`: a healthy setup passes, and each planted fault (missing
tool, corrupt bundle file, subnet taken, no space, broken config) gives a
FAIL line with its fix and exit status 1. Every run is inside the test's own
network namespace, HOME and runtime dir; the doctor must start no daemon and
create no bridge."""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FCEMU, make_fake_kernel


def make_bundle(d):
    """A small runtime bundle with a correct bundle.json."""
    d.mkdir()
    make_fake_kernel(d / "vmlinux")
    (d / "rootfs.ext4").write_bytes(b"rootfs" * 5000)
    (d / "initrd.img").write_bytes(b"070701" + b"0" * 100)
    files = {n: {"path": n, "sha256": hashlib.sha256((d / n).read_bytes()).hexdigest()}
             for n in ("vmlinux", "rootfs.ext4", "initrd.img")}
    (d / "bundle.json").write_text(json.dumps(
        {"kernel": "vmlinux", "rootfs": "rootfs.ext4", "initrd": "initrd.img",
         "files": files}))
    return d


@pytest.fixture
def denv(env):
    """env with a healthy configuration: the emulator as Firecracker (so
    the VMM check passes whatever the host has), vmm = auto, a fake bundle."""
    env.bundle = make_bundle(env.root / "bundle")
    env.write_config(f'firecracker_bin = "{FCEMU}"\nvmm = "auto"\n'
                     f'runtime_dir = "{env.bundle}"\n')
    return env


def doctor(env, *args):
    r = env.banger("doctor", *args)
    lines = {}
    for line in r.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] in ("ok", "warn", "FAIL"):
            cur = parts[1]
            lines[cur] = {"status": parts[0], "detail": parts[2] if len(parts) > 2 else "",
                          "fix": ""}
        elif line.strip().startswith("fix: "):
            lines[cur]["fix"] = line.strip()[len("fix: "):]
    return r, lines


def assert_untouched(env):
    """No daemon started, no bridge created."""
    assert not env.socket().exists(), "doctor started the daemon"
    links = json.loads(env.cmd(["ip", "-j", "link", "show"], check=True).stdout)
    assert [l["ifname"] for l in links] == ["lo"], links


def test_healthy(denv):
    r, checks = doctor(denv)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not [n for n, c in checks.items() if c["status"] == "FAIL"], r.stdout
    for name in ("config", "kvm", "firecracker", "qemu", "bundle", "e2fsprogs",
                 "network-tools", "ssh", "image-build-tools", "subnet", "dns", "netd",
                 "disk-space", "daemon"):
        assert name in checks, f"no {name} line in:\n{r.stdout}"
    assert checks["firecracker"]["status"] == "ok"
    assert "1.16.1" in checks["firecracker"]["detail"]
    assert checks["bundle"]["status"] == "ok"
    assert "3 files" in checks["bundle"]["detail"]
    assert checks["subnet"]["status"] == "ok"
    # Every warning says what to do.
    for n, c in checks.items():
        if c["status"] == "warn":
            assert c["fix"], f"{n} warns without a fix: {r.stdout}"
    assert_untouched(denv)


def test_json_shape(denv):
    r = denv.banger("doctor", "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert set(j) == {"checks", "ok"} and j["ok"] is True
    assert len(j["checks"]) >= 14
    for c in j["checks"]:
        assert set(c) == {"name", "status", "detail", "fix"}
        assert c["status"] in ("ok", "warn", "fail")
        assert c["detail"]
        assert (c["fix"] == "") == (c["status"] == "ok"), c


def test_json_failure(denv):
    (denv.bundle / "bundle.json").unlink()
    r = denv.banger("doctor", "--json")
    assert r.returncode == 1
    j = json.loads(r.stdout)
    assert j["ok"] is False
    b = [c for c in j["checks"] if c["name"] == "bundle"][0]
    assert b["status"] == "fail" and "make runtime-bundle" in b["fix"]


def test_usage_error(denv):
    r = denv.banger("doctor", "--bogus")
    assert r.returncode == 2
    assert "--bogus" in r.stderr and "usage: banger doctor" in r.stderr


def test_missing_tool(denv, tmp_path):
    """PATH without mkfs.ext4: everything else is still there."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for d in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            if f != "mkfs.ext4" and not (bindir / f).exists():
                (bindir / f).symlink_to(os.path.join(d, f))
    denv.env["PATH"] = str(bindir)
    r, checks = doctor(denv)
    assert r.returncode == 1, r.stdout
    c = checks["e2fsprogs"]
    assert c["status"] == "FAIL" and "mkfs.ext4" in c["detail"], r.stdout
    assert "resize2fs" not in c["detail"]
    assert c["fix"] == "sudo apt-get install e2fsprogs"
    assert checks["network-tools"]["status"] == "ok"


def test_missing_image_build_tool_only_warns(denv, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for d in ("/usr/bin", "/usr/sbin"):
        for f in os.listdir(d):
            if f != "mmdebstrap" and not (bindir / f).exists():
                (bindir / f).symlink_to(os.path.join(d, f))
    denv.env["PATH"] = str(bindir)
    r, checks = doctor(denv)
    c = checks["image-build-tools"]
    assert c["status"] == "warn" and "mmdebstrap" in c["detail"], r.stdout
    assert "apt-get install mmdebstrap" in c["fix"]
    assert r.returncode == 0, r.stdout


def test_corrupt_bundle_file(denv):
    copy = denv.root / "bundle-copy"
    shutil.copytree(denv.bundle, copy)
    data = bytearray((copy / "rootfs.ext4").read_bytes())
    data[1234] ^= 0x01
    (copy / "rootfs.ext4").write_bytes(bytes(data))
    denv.write_config(f'firecracker_bin = "{FCEMU}"\nvmm = "auto"\nruntime_dir = "{copy}"\n')
    r, checks = doctor(denv)
    assert r.returncode == 1, r.stdout
    c = checks["bundle"]
    assert c["status"] == "FAIL" and "rootfs.ext4: expected sha256" in c["detail"], r.stdout
    assert "vmlinux" not in c["detail"]
    assert "make runtime-bundle" in c["fix"]


@pytest.mark.parametrize("how", ["address", "route"])
def test_subnet_taken(denv, how):
    ns = denv.netns
    sh = lambda *a: subprocess.run(["ip", "netns", "exec", ns, "ip", *a], check=True)
    sh("link", "add", "d0", "type", "bridge")  # no dummy module here
    sh("link", "set", "d0", "up")
    if how == "address":
        sh("addr", "add", "172.30.77.9/24", "dev", "d0")
    else:
        sh("route", "add", "172.30.77.128/25", "dev", "d0")
    r, checks = doctor(denv)
    assert r.returncode == 1, r.stdout
    c = checks["subnet"]
    assert c["status"] == "FAIL", r.stdout
    assert "d0" in c["detail"] and "172.30.77.0/24" in c["detail"]
    assert 'subnet = "172.31.77.0/24"' in c["fix"], c


def test_subnet_taken_suggests_a_free_one(denv):
    """The suggestion itself must be free."""
    ns = denv.netns
    sh = lambda *a: subprocess.run(["ip", "netns", "exec", ns, "ip", *a], check=True)
    sh("link", "add", "d0", "type", "bridge")  # no dummy module here
    sh("link", "set", "d0", "up")
    sh("addr", "add", "172.30.77.9/24", "dev", "d0")
    sh("addr", "add", "172.31.77.9/24", "dev", "d0")
    r, checks = doctor(denv)
    assert 'subnet = "172.29.77.0/24"' in checks["subnet"]["fix"], r.stdout


def test_own_bridge_is_not_a_conflict(denv):
    """banger's bridge carries the subnet's first address: not a collision."""
    ns = denv.netns
    sh = lambda *a: subprocess.run(["ip", "netns", "exec", ns, "ip", *a], check=True)
    sh("link", "add", "banger0", "type", "bridge")
    sh("addr", "add", "172.30.77.1/24", "dev", "banger0")
    sh("link", "set", "banger0", "up")
    r, checks = doctor(denv)
    assert checks["subnet"]["status"] == "ok", r.stdout
    assert r.returncode == 0, r.stdout


@pytest.fixture
def small_fs(tmp_path):
    mounts = []

    def mount(size):
        m = tmp_path / f"fs-{size}"
        m.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(m)],
                       check=True)
        mounts.append(m)
        return m

    yield mount
    for m in mounts:
        subprocess.run(["umount", str(m)], check=False)


def test_no_space(denv, small_fs):
    m = small_fs("64M")
    # Fill most of it, as a real state directory would be.
    subprocess.run(["fallocate", "-l", "40M", str(m / "filler")], check=True)
    denv.use_state_home(m)
    r, checks = doctor(denv)
    assert r.returncode == 1, r.stdout
    c = checks["disk-space"]
    assert c["status"] == "FAIL" and str(m) in c["detail"], r.stdout
    assert "XDG_STATE_HOME" in c["fix"]


def test_low_space_warns(denv, small_fs):
    m = small_fs("3G")  # tmpfs: the size is a limit, not memory taken
    denv.use_state_home(m)
    r, checks = doctor(denv)
    assert checks["disk-space"]["status"] == "warn", r.stdout
    assert r.returncode == 0, r.stdout


def test_broken_config_fails_but_others_run(denv):
    denv.write_config('subnet = 5\n')
    r, checks = doctor(denv)
    assert r.returncode == 1
    assert checks["config"]["status"] == "FAIL" and "subnet" in checks["config"]["detail"]
    assert "config.toml" in checks["config"]["fix"]
    assert checks["e2fsprogs"]["status"] == "ok"


def test_no_vmm_at_all(denv):
    denv.write_config(f'firecracker_bin = "{denv.root}/none/firecracker"\n'
                      f'qemu_bin = "{denv.root}/none/qemu"\nvmm = "auto"\n'
                      f'runtime_dir = "{denv.bundle}"\n')
    r, checks = doctor(denv)
    assert r.returncode == 1, r.stdout
    assert checks["firecracker"]["status"] == "FAIL", r.stdout
    assert "Firecracker 1.8" in checks["firecracker"]["fix"]
    assert checks["qemu"]["status"] == "FAIL"
    assert "apt-get install qemu-system-x86" in checks["qemu"]["fix"]


@pytest.mark.skipif(not shutil.which("qemu-system-x86_64"), reason="QEMU not installed")
def test_old_firecracker_warns_when_qemu_stands_in(denv):
    old = denv.root / "old-fc"
    old.write_text("#!/bin/sh\necho 'Firecracker v1.7.0'\n")
    old.chmod(0o755)
    denv.write_config(f'firecracker_bin = "{old}"\nvmm = "auto"\n'
                      f'runtime_dir = "{denv.bundle}"\n')
    r, checks = doctor(denv)
    c = checks["firecracker"]
    assert c["status"] == "warn" and "1.7.0" in c["detail"], r.stdout
    assert "banger will use QEMU" in c["detail"]
    assert checks["qemu"]["status"] == "ok"
    assert r.returncode == 0, r.stdout
    # With vmm = "firecracker" nothing stands in: a failure.
    denv.write_config(f'firecracker_bin = "{old}"\nvmm = "firecracker"\n'
                      f'runtime_dir = "{denv.bundle}"\n')
    r, checks = doctor(denv)
    assert checks["firecracker"]["status"] == "FAIL", r.stdout
    assert r.returncode == 1
