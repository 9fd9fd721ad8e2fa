"""bangerd under systemd: socket activation (the sd_listen_fds protocol, with
systemd-socket-activate or a tiny wrapper that sets LISTEN_PID itself),
autostart VMs after a daemon restart, and `banger daemon install|uninstall`
against a fake systemctl that records its calls. No systemd manager runs
here: the units are checked as files and through the calls they cause."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BANGER, BANGERD, REPO, alive

SOCKET_ACTIVATE = shutil.which("systemd-socket-activate") or "/lib/systemd/systemd-socket-activate"

# Sets LISTEN_PID to its own pid and execs bangerd with fd 3 as given: what
# systemd does, minus systemd.
WRAPPER = r"""
import os, socket, sys
kind, path = sys.argv[1], sys.argv[2]
if kind == "socket":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    fd = s.fileno()
else:  # a regular file: not a socket at all
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
if fd != 3:
    os.dup2(fd, 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[3], [sys.argv[3]])
"""


def run_dir(env):
    d = env.runtime / "banger"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def socket_activate(env):
    """systemd-socket-activate listening on the CLI's socket path; it execs
    bangerd (same pid) at the first connection. Returns the Popen."""
    if not os.access(SOCKET_ACTIVATE, os.X_OK):
        pytest.skip("systemd-socket-activate is not installed (Debian package systemd)")
    run_dir(env)
    argv = ["ip", "netns", "exec", env.netns, SOCKET_ACTIVATE, "-l", str(env.socket())]
    for k in env.env:
        argv += ["-E", k]
    argv.append(str(BANGERD))
    p = subprocess.Popen(argv, env=env.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    env.wait_for(env.socket().exists, 10, "systemd-socket-activate to listen")
    return p


def socket_inode(pid, fd):
    return os.readlink(f"/proc/{pid}/fd/{fd}")


def test_socket_activated_daemon_serves_the_passed_socket(booted):
    env = booted
    env.banger("daemon", "stop", check=True)
    p = socket_activate(env)
    try:
        # The first request is what makes it exec bangerd.
        st = env.bjson("daemon", "status")
        assert st["socket_activated"] is True
        assert st["socket"] == str(env.socket())
        assert st["pid"] == env.daemon_pid()
        pid = st["pid"]
        passed = socket_inode(pid, 3)
        assert passed.startswith("socket:")
        started = [l for l in env.log_lines() if l["msg"] == "daemon started"]
        assert started[-1]["socket"] == "passed by systemd"
        # The CLI works through it, and what bangerd starts does not inherit
        # the socket or the LISTEN_* variables.
        env.banger("vm", "create", "--name", "sock-vm", check=True)
        vm = env.vm("sock-vm")
        assert vm["state"] == "running"
        fds = [os.readlink(f"/proc/{vm['pid']}/fd/{f}") for f in os.listdir(f"/proc/{vm['pid']}/fd")]
        assert passed not in fds
        environ = Path(f"/proc/{vm['pid']}/environ").read_bytes().split(b"\0")
        assert not [v for v in environ if v.startswith(b"LISTEN_")]
        # A second daemon is still refused by the lock.
        r = env.cmd([BANGERD], timeout=20)
        assert r.returncode != 0 and "already running" in r.stderr
        # `daemon stop` ends bangerd; the socket it did not create stays.
        r = env.banger("daemon", "stop", check=True)
        assert "bangerd.socket still listens" in r.stdout
        assert not alive(pid)
        assert env.socket().exists()
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(10)
    # With nobody listening on it any more, the CLI's own auto-start takes
    # over: it starts a bangerd that binds the socket itself.
    st = env.bjson("daemon", "status")
    assert st["socket_activated"] is False
    assert env.vm("sock-vm")["state"] == "running"  # re-adopted


def test_wrapper_passed_socket_and_bad_descriptor(env):
    sock = run_dir(env) / "bangerd.sock"
    p = subprocess.Popen(["ip", "netns", "exec", env.netns, sys.executable, "-c", WRAPPER,
                          "socket", str(sock), str(BANGERD)], env=env.env,
                         stderr=subprocess.PIPE)
    try:
        env.wait_for(lambda: env.daemon_pid() == p.pid or p.poll() is not None, 20,
                     "bangerd to take the pid lock")
        assert p.poll() is None, p.stderr.read().decode()
        st = env.bjson("daemon", "status")
        assert st["socket_activated"] is True and st["pid"] == p.pid
    finally:
        os.kill(p.pid, signal.SIGTERM)
        p.wait(30)
    assert p.returncode == 0
    assert sock.exists()  # not ours to unlink
    sock.unlink()
    # Descriptor 3 that is no listening socket: a clear startup error.
    r = env.cmd([sys.executable, "-c", WRAPPER, "file", str(env.root / "not-a-socket"),
                 str(BANGERD)], timeout=20)
    assert r.returncode == 1
    assert "descriptor 3" in r.stderr and "not a listening Unix stream socket" in r.stderr
    assert "ListenStream=%t/banger/bangerd.sock" in r.stderr


def wait_state(env, name, want, timeout=20):
    env.wait_for(lambda: env.vm(name)["state"] == want, timeout, f"{name} to be {want}")


def kill_daemon_and_vms(env):
    pid = env.daemon_pid()
    os.kill(pid, signal.SIGKILL)
    env.wait_for(lambda: not alive(pid), 10, "bangerd to die")
    env.kill_vmms()
    env.wait_for(lambda: not env.vmm_processes(), 10, "the VMMs to die")


def test_autostart_vm_comes_back_after_daemon_restart(booted):
    env = booted
    code, vm = env.api("POST", "/v1/vms", body={"name": "auto-a", "autostart": True}, timeout=60)
    assert code == 201, vm
    assert vm["autostart"] is True and vm["state"] == "running"
    code, vm = env.api("POST", "/v1/vms", body={"name": "plain-b"}, timeout=60)
    assert code == 201 and vm["autostart"] is False
    # vm set: on, off, and left alone when absent.
    code, vm = env.api("PATCH", "/v1/vms/plain-b", body={"autostart": True})
    assert code == 200 and vm["autostart"] is True
    code, vm = env.api("PATCH", "/v1/vms/plain-b", body={"nat": False})
    assert code == 200 and vm["autostart"] is True
    code, vm = env.api("PATCH", "/v1/vms/plain-b", body={"autostart": False})
    assert code == 200 and vm["autostart"] is False
    code, err = env.api("PATCH", "/v1/vms/plain-b", body={"autostart": "yes"})
    assert code == 400 and "autostart" in err["error"]["message"]
    assert "autostart      on" in env.banger("vm", "show", "auto-a", check=True).stdout
    assert "autostart      off" in env.banger("vm", "show", "plain-b", check=True).stdout

    kill_daemon_and_vms(env)
    # The next command starts a daemon; its reconcile finds both stopped,
    # then autostart boots auto-a only.
    wait_state(env, "auto-a", "running")
    assert env.vm("plain-b")["state"] == "stopped"
    assert env.vm("auto-a")["autostart"] is True  # kept in the database
    starts = [l for l in env.log_lines() if l["msg"] == "autostart: starting VM"]
    assert [l["vm"] for l in starts] == ["auto-a"]
    assert env.settled_problems() == []


def test_vm_start_that_launches_the_daemon_meets_autostart_without_a_refusal(booted):
    env = booted
    code, vm = env.api("POST", "/v1/vms", body={"name": "auto-c", "autostart": True}, timeout=60)
    assert code == 201, vm
    kill_daemon_and_vms(env)
    # A slow VMM API keeps autostart's boot in "starting" without a pid for
    # a while: the user's own start lands in that window, or just before.
    env.fcemu(api_delay_ms=150)
    r = env.banger("vm", "start", "auto-c")
    assert r.returncode == 0, r.stderr
    wait_state(env, "auto-c", "running")
    assert not [l for l in env.log_lines() if l["msg"] == "autostart failed"]
    assert len(env.vmm_processes()) == 1


def test_autostart_failure_is_recorded_and_others_still_start(booted):
    env = booted
    kernel, rootfs, initrd = env.make_image_files()
    other = env.root / "other-rootfs.ext4"
    shutil.copy(rootfs, other)
    env.banger("image", "register", "--name", "other", "--rootfs", str(other), "--kernel",
               str(kernel), "--initrd", str(initrd), check=True)
    for name, image in (("bad-a", "other"), ("good-b", "default")):
        code, vm = env.api("POST", "/v1/vms", body={"name": name, "image": image,
                                                    "autostart": True}, timeout=60)
        assert code == 201, vm
    kill_daemon_and_vms(env)
    other.unlink()  # bad-a cannot boot any more
    wait_state(env, "good-b", "running")
    env.wait_for(lambda: env.vm("bad-a")["last_error"], 20, "bad-a's autostart to fail")
    bad = env.vm("bad-a")
    assert bad["state"] == "stopped"
    assert bad["last_error"].startswith("autostart: ") and str(other) in bad["last_error"]
    fails = [l for l in env.log_lines() if l["msg"] == "autostart failed"]
    assert [l["vm"] for l in fails] == ["bad-a"]


# -- banger daemon install / uninstall -------------------------------------

FAKE_SYSTEMCTL = """#!/bin/sh
printf '%s\\n' "$*" >> "$SYSTEMCTL_LOG"
if [ -n "$SYSTEMCTL_FAIL" ]; then
    echo "Failed to connect to bus: No medium found" >&2
    exit 1
fi
exit 0
"""


def fake_systemctl(env, fail=False):
    bindir = env.root / "fakebin"
    bindir.mkdir(exist_ok=True)
    f = bindir / "systemctl"
    f.write_text(FAKE_SYSTEMCTL)
    f.chmod(0o755)
    log = env.root / "systemctl.log"
    env.env["PATH"] = f"{bindir}:{env.env['PATH']}"
    env.env["SYSTEMCTL_LOG"] = str(log)
    if fail:
        env.env["SYSTEMCTL_FAIL"] = "1"
    return log


def calls(log):
    return log.read_text().splitlines() if log.exists() else []


def test_daemon_install_writes_units_and_enables_them(env):
    log = fake_systemctl(env)
    units = env.home / ".config" / "systemd" / "user"
    # A bangerd that bound the socket itself is stopped first.
    env.banger("daemon", "status", check=True)
    old = env.daemon_pid()
    r = env.banger("daemon", "install", check=True)
    assert calls(log) == ["--user show-environment", "--user daemon-reload",
                          "--user enable --now bangerd.socket", "--user enable bangerd.service"]
    assert not alive(old) and "its VMs keep running" in r.stdout
    sock = (units / "bangerd.socket").read_text()
    svc = (units / "bangerd.service").read_text()
    # The CLI's socket is under its XDG_RUNTIME_DIR: %t in the manager.
    assert "ListenStream=%t/banger/bangerd.sock" in sock
    assert "SocketMode=0600" in sock and "DirectoryMode=0700" in sock
    assert f'ExecStart="{BANGERD.resolve()}"' in svc
    assert f'Environment="XDG_STATE_HOME={env.env["XDG_STATE_HOME"]}"' in svc
    assert f'Environment="XDG_CONFIG_HOME={env.env["XDG_CONFIG_HOME"]}"' in svc
    assert "KillMode=process" in svc and "WantedBy=default.target" in svc
    # Same directives as the units `make install` ships.
    shipped = (REPO / "data" / "systemd" / "bangerd.service.in").read_text()
    for line in ("KillMode=process", "Requires=bangerd.socket", "After=bangerd.socket",
                 "TimeoutStopSec=35", "Also=bangerd.socket"):
        assert line in shipped and line in svc
    assert "ListenStream=%t/banger/bangerd.sock" in (REPO / "data" / "systemd" /
                                                    "bangerd.socket").read_text()
    # systemd itself accepts both files (man pages aside: bangerd(8) may
    # not be installed here).
    analyze = shutil.which("systemd-analyze")
    if analyze:
        r = subprocess.run([analyze, "verify", "--man=no", str(units / "bangerd.socket"),
                            str(units / "bangerd.service")], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    log.unlink()
    r = env.banger("daemon", "uninstall", check=True)
    assert calls(log) == ["--user show-environment",
                          "--user disable --now bangerd.socket bangerd.service",
                          "--user daemon-reload"]
    assert not (units / "bangerd.socket").exists() and not (units / "bangerd.service").exists()
    assert "removed" in r.stdout


def test_daemon_install_without_a_user_manager_says_so_and_writes_nothing(env):
    log = fake_systemctl(env, fail=True)
    r = env.banger("daemon", "install")
    assert r.returncode == 1
    assert "systemctl --user is unavailable" in r.stderr
    assert "No medium found" in r.stderr
    assert "any banger command starts it" in r.stderr
    assert calls(log) == ["--user show-environment"]
    assert not (env.home / ".config" / "systemd").exists()
    # And without systemctl at all (it fails before any daemon or bridge
    # could start, so no netns is needed: `ip` is not on this PATH).
    r = subprocess.run([str(BANGER), "daemon", "install"], capture_output=True, text=True,
                       env=dict(env.env, PATH=str(env.root / "empty-path")), timeout=30)
    assert r.returncode == 1 and "systemctl is not installed" in r.stderr
    assert "any banger command starts it" in r.stderr


def test_daemon_uninstall_when_nothing_is_installed(env):
    log = fake_systemctl(env)
    # The fake succeeds at disable; nothing to remove is still fine then.
    r = env.banger("daemon", "uninstall", check=True)
    assert "disabled" in r.stdout
    assert calls(log)[-1] == "--user daemon-reload"
