"""Shutting the daemon down while work is under way: `banger daemon stop`
and SIGTERM during a `vm create` and during an `image build`, and a guest
reboot that races with shutdown.

Each test runs its own bangerd (the ASan/UBSan build when build-asan has
one at least as new as ./bangerd) so it sees the exit status and every
sanitizer report. What a user would check afterwards: the daemon exited 0
with no sanitizer error; after the next start no record is half-made
(VMs "running" or "stopped", images "ready"), no VM or image directory lacks
a record, every tap belongs to a running VM, and every VMM process left is
the one a running VM's record names.
"""
import json
import os
import re
import signal
import subprocess
import threading

import pytest

from conftest import BANGER, BANGERD, REPO, alive
from test_image_build import make_bundle, start_build, wait_progress

ASAN_BANGERD = REPO / "build-asan" / "src" / "daemon" / "bangerd"
SANITIZER_ERRORS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def daemon_binary():
    if ASAN_BANGERD.exists() and ASAN_BANGERD.stat().st_mtime >= BANGERD.stat().st_mtime:
        return ASAN_BANGERD
    return BANGERD


class OwnDaemon:
    """bangerd started by the test (not by the CLI), so its exit status and
    stderr (sanitizer reports) can be read."""

    def __init__(self, env, path):
        env.banger("daemon", "stop", check=True)  # the one a fixture may have started
        self.env = env
        self.stderr_path = path
        self.stderr = open(path, "w")
        senv = dict(env.env, ASAN_OPTIONS="detect_leaks=1:exitcode=99",
                    UBSAN_OPTIONS="print_stacktrace=1")
        self.proc = subprocess.Popen(["ip", "netns", "exec", env.netns, str(daemon_binary())],
                                     env=senv, stdout=subprocess.DEVNULL, stderr=self.stderr)
        env.wait_for(lambda: env.api("GET", "/v1/daemon")[0] == 200, 60, "bangerd to answer")

    def wait_exit(self, timeout=60):
        """The exit status, after checking stderr for sanitizer reports."""
        rc = self.proc.wait(timeout)
        self.stderr.close()
        text = self.stderr_path.read_text()
        for needle in SANITIZER_ERRORS:
            assert needle not in text, text[-4000:]
        return rc

    def stop(self, how):
        """`banger daemon stop` ("cli") or SIGTERM ("sigterm"); returns the
        daemon's exit status. The CLI waits until the daemon is gone, and
        only our wait() reaps it, so both run at once."""
        if how == "sigterm":
            self.proc.send_signal(signal.SIGTERM)
            return self.wait_exit()
        stopper = subprocess.Popen(["ip", "netns", "exec", self.env.netns, str(BANGER),
                                    "daemon", "stop"], env=self.env.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        rc = self.wait_exit()
        out, err = stopper.communicate(timeout=60)
        assert stopper.returncode == 0, err
        assert "bangerd stopped" in out
        return rc


# -- what a user would look at ----------------------------------------------
def vmm_pids(env):
    """Live VMM processes of this env (their API sockets are in its runtime dir)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    pids = set()
    for line in out.splitlines()[1:]:
        pid, _, args = line.strip().partition(" ")
        if str(env.runtime) in args and "firecracker" in args and alive(int(pid)):
            pids.add(int(pid))
    return pids


def taps(env):
    out = env.cmd(["ip", "-j", "link", "show"], check=True).stdout
    return {l["ifname"] for l in json.loads(out) if l["ifname"].startswith("bgr")}


def listing(env, what):
    d = env.state / what
    return set(os.listdir(d)) if d.exists() else set()


def assert_reconciled(env):
    """After a daemon start: every record settled and matching the host."""
    vms = env.bjson("vm", "list")
    for vm in vms:
        assert vm["state"] in ("running", "stopped"), vm
    running = [vm for vm in vms if vm["state"] == "running"]
    assert vmm_pids(env) == {vm["pid"] for vm in running}
    assert listing(env, "vms") == {vm["id"] for vm in vms}
    assert taps(env) == {"bgr" + vm["id"][:12] for vm in running}
    imgs = env.bjson("image", "list")
    for img in imgs:
        assert img["state"] == "ready", img
    managed = {img["id"] for img in imgs if str(env.state / "images") in img["rootfs"]}
    assert listing(env, "images") == managed
    return {vm["name"]: vm for vm in vms}


def wait_vm_state(env, name, want, timeout=30):
    def check():
        r = env.banger("vm", "show", name, "--json")
        return r.returncode == 0 and json.loads(r.stdout)["state"] == want
    env.wait_for(check, timeout, f"{name} to be {want}")


def start_create(env, how, name):
    """A `vm create` in the background: the CLI (a streamed create, run by a
    daemon worker) or a plain API call (run on the request's own thread).
    Returns a function that waits for it and says (ok, output)."""
    if how == "cli":
        p = subprocess.Popen(["ip", "netns", "exec", env.netns, str(BANGER), "vm", "create",
                              "--name", name], env=env.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)

        def done():
            out, err = p.communicate(timeout=90)
            return p.returncode == 0, out + err
        return done
    result = {}
    t = threading.Thread(target=lambda: result.update(
        r=env.api("POST", "/v1/vms", body={"name": name}, timeout=90)))
    t.start()

    def done():
        t.join(90)
        status, body = result["r"]
        return status == 201, json.dumps(body)
    return done


# -- vm create ---------------------------------------------------------------
@pytest.mark.parametrize("create,stop", [("cli", "cli"), ("cli", "sigterm"), ("api", "sigterm")])
def test_stop_during_create_finishes_it(booted, tmp_path, create, stop):
    """The create under way when shutdown begins runs to its end (each step
    is bounded; cutting it short would leave a VMM no record names), then
    the daemon exits 0; the VM is there, running, after the next start."""
    env = booted
    d = OwnDaemon(env, tmp_path / "bangerd.stderr")
    env.fcemu(boot_delay_ms=3000)  # InstanceStart answers after 3 s
    done = start_create(env, create, "slowboot")
    wait_vm_state(env, "slowboot", "starting")
    assert d.stop(stop) == 0
    ok, out = done()
    assert ok, out
    env.fcemu()
    vms = assert_reconciled(env)
    assert vms["slowboot"]["state"] == "running"
    assert any(l.get("msg") == "daemon stopped" and l.get("pid") == d.proc.pid
               for l in env.log_lines())


def test_requests_during_shutdown_are_refused_clearly(booted, tmp_path):
    """While the daemon drains, new work is refused with a 503 that says
    why; `banger daemon status` still answers."""
    env = booted
    d = OwnDaemon(env, tmp_path / "bangerd.stderr")
    env.fcemu(boot_delay_ms=3000)
    done = start_create(env, "cli", "keeps-it-busy")
    wait_vm_state(env, "keeps-it-busy", "starting")
    status, body = env.api("POST", "/v1/daemon/stop")
    assert status == 200 and body == {"stopping": True}
    status, body = env.api("POST", "/v1/vms", body={"name": "too-late"})
    assert status == 503, body
    assert body["error"]["code"] == "unavailable"
    assert body["error"]["message"] == "the daemon is shutting down"
    status, body = env.api("GET", "/v1/daemon")
    assert status == 200 and body["pid"] == d.proc.pid
    assert d.wait_exit() == 0
    ok, out = done()
    assert ok, out
    env.fcemu()
    vms = assert_reconciled(env)
    assert "too-late" not in vms


def test_event_stream_ends_at_shutdown(booted, tmp_path):
    """A client following /v1/events does not hold the daemon up."""
    env = booted
    d = OwnDaemon(env, tmp_path / "bangerd.stderr")
    follower = subprocess.Popen(["curl", "-sN", "--unix-socket", str(env.socket()),
                                 "http://banger/v1/events"], stdout=subprocess.PIPE, text=True)
    assert '"hello"' in follower.stdout.readline()
    assert d.stop("sigterm") == 0
    follower.communicate(timeout=10)  # the stream ended, so curl did


# -- guest reboot ------------------------------------------------------------
def test_guest_reboot_during_shutdown_does_not_start_the_vm(booted, tmp_path):
    """A guest that reboots once shutdown has begun stays stopped (its VMM
    exited; nothing starts a new one), and no VMM appears after the daemon
    said it stopped."""
    env = booted
    d = OwnDaemon(env, tmp_path / "bangerd.stderr")
    env.banger("vm", "create", "--name", "rebooter", check=True)
    old = env.vm("rebooter")["pid"]
    # Keep the daemon draining: a create whose boot takes 6 s.
    env.fcemu(boot_delay_ms=6000)
    done = start_create(env, "cli", "holds-shutdown")
    wait_vm_state(env, "holds-shutdown", "starting")
    status, _ = env.api("POST", "/v1/daemon/stop")
    assert status == 200
    env.wait_for(lambda: env.api("GET", "/v1/vms")[0] == 503, 10, "shutdown to begin")
    os.kill(old, signal.SIGUSR1)  # emulator: guest reboot, exit 0
    assert d.wait_exit() == 0
    ok, out = done()
    assert ok, out
    left = vmm_pids(env)
    assert old not in left and len(left) == 1  # holds-shutdown's VMM only
    log = env.log_lines()
    assert any(l.get("msg") == "not restarting after guest reboot" for l in log)
    env.fcemu()
    vms = assert_reconciled(env)
    assert vms["rebooter"]["state"] == "stopped"
    assert vms["rebooter"]["last_exit"] == "guest rebooted"
    assert vmm_pids(env) == left  # the next start did not start it either


# -- image build -------------------------------------------------------------
FAKE_MMDEBSTRAP = """#!/bin/sh
# Stands in for mmdebstrap: says what it does like the real one, then works
# "forever" in a child that carries the same arguments (the tree path) and,
# like a stubborn tool, ignores SIGTERM: only SIGKILL to the group ends it.
trap '' TERM
echo "I: fake mmdebstrap: downloading"
sh -c 'sleep 600' fake-mmdebstrap-child "$@" &
wait
"""


@pytest.fixture
def build_env(env):
    bundle = make_bundle(env.root / "bundle")
    text = (env.config_dir / "config.toml").read_text()
    (env.config_dir / "config.toml").write_text(
        re.sub(r'runtime_dir = ".*"', f'runtime_dir = "{bundle}"', text))
    fake = env.root / "fakebin"
    fake.mkdir()
    (fake / "mmdebstrap").write_text(FAKE_MMDEBSTRAP)
    (fake / "mmdebstrap").chmod(0o755)
    env.env["PATH"] = f"{fake}:{env.env['PATH']}"
    return env


def procs_mentioning(path):
    found = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    if str(path).encode() in f.read():
                        found.append(int(p))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("stop", ["cli", "sigterm"])
def test_stop_during_image_build_kills_it_and_next_start_removes_it(build_env, tmp_path, stop):
    env = build_env
    d = OwnDaemon(env, tmp_path / "bangerd.stderr")
    proc = start_build(env, "--name", "halfway", "--packages", "/dev/null",
                       "--mirror", "file:///nonexistent/debian")
    lines = []
    wait_progress(proc, r"mmdebstrap: fake mmdebstrap: downloading", lines, timeout=60)
    img = {i["name"]: i for i in env.bjson("image", "list")}["halfway"]
    assert img["state"] == "building"
    imgdir = env.state / "images" / img["id"]
    assert procs_mentioning(imgdir)
    assert d.stop(stop) == 0
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "stopped because the daemon is shutting down" in "".join(lines) + err
    # The bootstrap and its child were killed before the daemon exited.
    assert procs_mentioning(imgdir) == []
    assert any(l.get("msg") == "image build stopped by shutdown" for l in env.log_lines())
    # The next start removes the half-built image, record and files.
    assert_reconciled(env)
    assert "halfway" not in {i["name"] for i in env.bjson("image", "list")}
    assert not imgdir.exists()


# -- a drain that cannot finish -----------------------------------------------
def test_shutdown_that_cannot_drain_exits_and_next_start_reconciles(booted, tmp_path):
    """A `vm stop` that waits longer than the drain bound (a guest that
    ignores Ctrl+Alt+Del, stop_timeout 120 s): the daemon logs what was
    still running and exits 1 without closing the store under it; the next
    start finishes the interrupted stop."""
    env = booted
    cfg = env.config_dir / "config.toml"
    cfg.write_text(cfg.read_text().replace("stop_timeout = 2", "stop_timeout = 120"))
    d = OwnDaemon(env, tmp_path / "bangerd.stderr")
    env.banger("vm", "create", "--name", "stubborn", check=True)
    pid = env.vm("stubborn")["pid"]
    env.fcemu(ctrl_alt_del="ignore")
    stopper = subprocess.Popen(["ip", "netns", "exec", env.netns, str(BANGER), "vm", "stop",
                                "stubborn"], env=env.env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait_vm_state(env, "stubborn", "stopping")
    assert d.stop("sigterm") == 1
    stopper.communicate(timeout=30)
    assert stopper.returncode != 0
    log = env.log_lines()
    assert any(l.get("msg") == "request still running at shutdown" and
               l.get("request") == "POST /v1/vms/stubborn/stop" for l in log)
    assert any(l.get("msg") == "shutdown timed out: exiting without closing the state database"
               for l in log)
    assert not any(l.get("msg") == "daemon stopped" and l.get("pid") == d.proc.pid for l in log)
    assert alive(pid)  # the VMM was never ours to kill at shutdown
    # The next start finishes the stop (SIGTERM to the VMM) and settles it.
    wait_vm_state(env, "stubborn", "stopped")
    assert not alive(pid)
    assert_reconciled(env)
