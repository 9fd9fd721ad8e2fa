"""End to end: real guests from the runtime bundle, booted by the QEMU
driver under TCG, reached over real SSH, inside a network namespace made for
the test. Needs ./runtime (make runtime-bundle)."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import REPO, Env, alive, netns  # noqa: E402,F401

RUNTIME = Path(os.environ.get("BANGER_E2E_RUNTIME", REPO / "runtime"))

pytestmark = pytest.mark.skipif(
    not (RUNTIME / "bundle.json").exists(),
    reason=f"no runtime bundle at {RUNTIME}: run `make runtime-bundle`")


@pytest.fixture
def qenv(tmp_path, netns):
    e = Env(tmp_path, netns)
    e.write_config('log_level = "debug"\n'
                   'vmm = "qemu"\n'
                   f'runtime_dir = "{RUNTIME}"\n'
                   'default_memory = 768\n'
                   'default_vcpu = 2\n'
                   'stop_timeout = 60\n')
    e.env["BANGER_SSH_WAIT"] = "300"
    try:
        yield e
    finally:
        for vm in ("e2e-one", "e2e-two", "e2e-nossh", "e2e-noinit"):
            e.banger("vm", "delete", "--force", vm, timeout=180)
        e.stop_daemon()
        e.kill_vmms()


def ssh(env, name, *cmd, check=True, timeout=300):
    r = env.banger("vm", "ssh", name, "--", *cmd, timeout=timeout)
    if check:
        assert r.returncode == 0, f"ssh {name} {cmd}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout.strip()


def boot(env, name):
    """Creates and boots a VM; returns seconds from `vm create` to SSH."""
    t0 = time.monotonic()
    r = env.banger("vm", "create", "--name", name, timeout=300)
    assert r.returncode == 0, r.stderr
    ssh(env, name, "true")
    return time.monotonic() - t0


def report(capsys, line):
    """Prints a figure into pytest's output even when output is captured."""
    with capsys.disabled():
        print(line, flush=True)


def test_two_vms_boot_persist_resize_and_find_each_other(qenv, capsys):
    env = qenv
    bundle = json.loads((RUNTIME / "bundle.json").read_text())

    # 1. Boot; the bundle's kernel; hostname; /root is the work disk; / is an overlay.
    t_one = boot(env, "e2e-one")
    report(capsys, f"\nboot-to-SSH e2e-one: {t_one:.1f} s ({env.vm('e2e-one')['accel']})")
    vm = env.vm("e2e-one")
    assert vm["vmm"] == "qemu" and vm["accel"] in ("tcg", "kvm")
    assert ssh(env, "e2e-one", "uname", "-r") == bundle["kernel_version"]
    assert ssh(env, "e2e-one", "hostname") == "e2e-one"
    assert ssh(env, "e2e-one", "findmnt", "-n", "-o", "SOURCE", "/root") == "/dev/vdc"
    assert ssh(env, "e2e-one", "findmnt", "-n", "-o", "FSTYPE", "/") == "overlay"

    # 2. Files under /root and /etc survive stop/start.
    ssh(env, "e2e-one", "sh", "-c", "echo work > /root/persist.txt; echo sys > /etc/banger-e2e")
    env.banger("vm", "stop", "e2e-one", check=True, timeout=180)
    assert env.vm("e2e-one")["state"] == "stopped"
    env.banger("vm", "start", "e2e-one", check=True, timeout=300)
    assert ssh(env, "e2e-one", "cat", "/root/persist.txt") == "work"
    assert ssh(env, "e2e-one", "cat", "/etc/banger-e2e") == "sys"

    # 3. Grow the work disk while stopped; df shows it, the file is still there.
    env.banger("vm", "stop", "e2e-one", check=True, timeout=180)
    env.banger("vm", "set", "e2e-one", "--disk-size", "20G", check=True, timeout=300)
    env.banger("vm", "start", "e2e-one", check=True, timeout=300)
    size = int(ssh(env, "e2e-one", "df", "-B1", "--output=size", "/root").splitlines()[-1])
    assert 19 << 30 < size <= 20 << 30
    assert ssh(env, "e2e-one", "cat", "/root/persist.txt") == "work"

    # 4. A second VM from the same image: its own overlay, and the two find each other.
    t_two = boot(env, "e2e-two")
    report(capsys, f"boot-to-SSH e2e-two: {t_two:.1f} s (while e2e-one runs)")
    r = ssh(env, "e2e-two", "cat", "/etc/banger-e2e", check=False)
    assert "banger-e2e" not in r and "sys" not in r
    one, two = env.vm("e2e-one")["address"], env.vm("e2e-two")["address"]
    for src, dst in (("e2e-one", two), ("e2e-two", one), ("e2e-one", "e2e-two.vm"),
                     ("e2e-two", "e2e-one.vm")):
        ssh(env, src, "bash", "-c", f"exec 3<>/dev/tcp/{dst}/22 && head -c 4 <&3")
    for name, addr in (("e2e-one", one), ("e2e-two", two)):
        r = env.cmd(["dig", "+short", "@172.30.77.1", f"{name}.vm"], check=True)
        assert r.stdout.strip() == addr

    # 5. Delete both: nothing of them remains.
    dirs = [env.vm(n)["dir"] for n in ("e2e-one", "e2e-two")]
    pids = [env.vm(n)["pid"] for n in ("e2e-one", "e2e-two")]
    for n in ("e2e-one", "e2e-two"):
        env.banger("vm", "delete", "--force", n, check=True, timeout=180)
    assert env.bjson("vm", "list") == []
    assert not any(os.path.exists(d) for d in dirs)
    assert not any(alive(p) for p in pids)
    links = env.cmd(["ip", "-o", "link", "show"], check=True).stdout
    assert not re.search(r"\bbgr[0-9a-f]+", links)
    rules = env.cmd(["nft", "list", "ruleset"]).stdout
    assert "banger-vm:" not in rules


# -- broken guests: the boot fails with the console's words (issue 10) ---------

def broken_image(env, name, *debugfs_cmds):
    """Registers a copy of the bundle's rootfs changed by debugfs commands."""
    rootfs = env.root / f"{name}.ext4"
    subprocess.run(["cp", "--sparse=always", str(RUNTIME / "rootfs.ext4"), str(rootfs)],
                   check=True)
    for c in debugfs_cmds:
        r = subprocess.run(["debugfs", "-w", "-R", c, str(rootfs)], capture_output=True,
                           text=True, check=True)
        assert "rror" not in r.stderr.split("\n", 1)[-1], r.stderr
    env.banger("image", "register", "--name", name, "--rootfs", rootfs,
               "--kernel", RUNTIME / "vmlinux", "--initrd", RUNTIME / "initrd.img",
               "--modules-dir", RUNTIME / "modules", check=True)


def assert_failed_boot(env, name, r, kind, words):
    assert r.returncode != 0, r.stdout
    assert kind in r.stderr and words in r.stderr, r.stderr
    assert "last console lines:" in r.stderr
    vm = env.vm(name)
    assert vm["console_log"] in r.stderr
    assert vm["state"] == "stopped" and vm["pid"] == 0
    assert kind in vm["last_error"]
    lst = env.banger("vm", "list", check=True).stdout
    assert not any(l.split()[:2] == [name, "running"] for l in lst.splitlines())
    links = env.cmd(["ip", "-o", "link", "show"], check=True).stdout
    assert "bgr" + vm["id"][:12] not in links
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert vm["id"] not in out  # no VMM left


def test_broken_sshd_and_init_fail_clearly_within_boot_timeout(qenv, capsys):
    env = qenv
    cfg = env.config_dir / "config.toml"
    cfg.write_text(cfg.read_text() + "boot_timeout = 240\n")
    broken_image(env, "nossh", "symlink /etc/systemd/system/ssh.service /dev/null")
    broken_image(env, "noinit", "rm /usr/sbin/init")

    t0 = time.monotonic()
    r = env.banger("vm", "create", "--name", "e2e-nossh", "--image", "nossh", timeout=400)
    report(capsys, f"\nsshd masked: failed after {time.monotonic() - t0:.1f} s")
    assert_failed_boot(env, "e2e-nossh", r, "sshd failure", "banger: not ready")

    t0 = time.monotonic()
    r = env.banger("vm", "create", "--name", "e2e-noinit", "--image", "noinit", timeout=400)
    report(capsys, f"no /sbin/init: failed after {time.monotonic() - t0:.1f} s")
    assert_failed_boot(env, "e2e-noinit", r, "banger-init failure", "/sbin/init")
