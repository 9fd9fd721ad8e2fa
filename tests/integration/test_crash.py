"""Crash injection: bangerd is SIGKILLed at a random point of `vm create`,
`vm start`, `vm stop`, `vm delete`, `vm set` (disk grow, NAT), `image
register` and `image build` (the cheap path: from a base rootfs that has
every package, no mmdebstrap). The next banger command starts a new daemon;
once it answers, what banger says must match the host: every VM running or
stopped (none left creating/starting/stopping/deleting), a running VM's VMM
alive (not a zombie) under its pid, a stopped VM with none, no orphan VMM,
no tap or NAT rule of a VM that is not running, disks matching the record,
no VM or image directory without a record (see Env.reality_problems).

One env (daemon, netns, emulator) serves every trial of an operation. The
emulator answers slowly (api_delay_ms, boot_delay_ms, shutdown_delay_ms) so
kills land inside the configuration sequence, the boot and the shutdown.
Each operation is timed first without a kill; the kill then comes after a
delay drawn from 0 to 1.2 times that duration. The random source is seeded:
BANGER_CRASH_SEED=N reproduces a run (the seed is in every failure message
and printed). BANGER_CRASH_TRIALS sets the trials per operation.
bench/crash-soak runs the same trials, mixed, many more times.
"""
import fcntl
import os
import random
import re
import secrets
import signal
import subprocess
import time

import pytest

from conftest import proc_state
from test_image_build import GUEST_PKGS, make_base, make_bundle

OPS = ["create", "create-no-start", "start", "stop", "delete", "set-disk", "set-nat",
       "image-register", "image-build"]
# 9 operations x 12 = 108 trials with the normal build; fewer under ASan,
# which only has to show that the same paths are clean.
TRIALS = int(os.environ.get("BANGER_CRASH_TRIALS", "12"))
ASAN_TRIALS = int(os.environ.get("BANGER_CRASH_ASAN_TRIALS", "4"))
MAX_VMS = 4
MAX_IMAGES = 3
EMULATOR = {"api_delay_ms": 8, "boot_delay_ms": 60, "shutdown_delay_ms": 80}


class CrashRig:
    """Runs crash trials against one env. prepare() brings the env to a
    state where op makes sense (with ordinary, un-killed commands) and
    returns its argv; trial() runs it and kills the daemon midway."""

    def __init__(self, env, seed):
        self.env = env
        self.seed = seed
        self.rng = random.Random(seed)
        self.duration = {}
        self.n = 0
        setup_crash_env(env)

    # -- helpers -------------------------------------------------------------
    def vms(self):
        return self.env.bjson("vm", "list")

    def fresh(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def make_vm(self, start):
        name = self.fresh("c")
        self.env.banger("vm", "create", "--name", name, *([] if start else ["--no-start"]),
                        check=True)
        return self.env.vm(name)

    def room_for_vm(self):
        vms = self.vms()
        while len(vms) >= MAX_VMS:
            self.env.banger("vm", "delete", "--force", self.rng.choice(vms)["name"], check=True)
            vms = self.vms()

    def pick(self, state, start_if_none):
        vms = [v for v in self.vms() if v["state"] == state]
        if vms:
            return self.rng.choice(vms)
        self.room_for_vm()
        return self.make_vm(start_if_none)

    def room_for_image(self):
        extra = [i for i in self.env.bjson("image", "list") if i["name"] != "default"]
        for i in extra[:max(0, len(extra) - MAX_IMAGES + 1)]:
            self.env.banger("image", "delete", i["name"], check=True)

    # -- the operations ---------------------------------------------------------
    def prepare(self, op):
        env = self.env
        if op in ("create", "create-no-start"):
            self.room_for_vm()
            return ["vm", "create", "--name", self.fresh("c")] + \
                (["--no-start"] if op == "create-no-start" else [])
        if op == "start":
            return ["vm", "start", self.pick("stopped", False)["name"]]
        if op == "stop":
            return ["vm", "stop", self.pick("running", True)["name"]]
        if op == "delete":
            vms = self.vms()
            v = self.rng.choice(vms) if vms else self.make_vm(self.rng.random() < 0.5)
            return ["vm", "delete", "--force", v["name"]]
        if op == "set-disk":
            v = self.pick("stopped", False)
            if v["disk_size"] >= 16 << 30:  # keep grows cheap: start over
                env.banger("vm", "delete", v["name"], check=True)
                v = self.make_vm(False)
            grow = self.rng.randint(1, 4) << 30
            return ["vm", "set", v["name"], "--disk-size", f"{(v['disk_size'] + grow) >> 20}M"]
        if op == "set-nat":
            v = self.pick("running" if self.rng.random() < 0.75 else "stopped", True)
            return ["vm", "set", v["name"], "--no-nat" if v["nat"] else "--nat"]
        if op == "image-register":
            self.room_for_image()
            k, r, i = env.images / "vmlinux", env.images / "rootfs.ext4", env.images / "initrd.img"
            return ["image", "register", "--name", self.fresh("r"), "--rootfs", r, "--kernel", k,
                    "--initrd", i]
        if op == "image-build":
            self.room_for_image()
            return ["image", "build", "--name", self.fresh("b")]
        raise ValueError(op)

    def calibrate(self, op):
        """The op's duration without a kill (the slower of two runs)."""
        worst = 0.0
        for _ in range(2):
            argv = self.prepare(op)
            t0 = time.perf_counter()
            r = self.env.banger(*argv)
            worst = max(worst, time.perf_counter() - t0)
            assert r.returncode == 0, f"{argv}: {r.stderr}"
        self.duration[op] = worst
        return worst

    def daemon(self):
        """The running daemon's pid (started if needed)."""
        self.env.banger("daemon", "status", check=True)
        return self.env.daemon_pid()

    def trial(self, op, i):
        """One kill. Returns (description, problems found after the restart)."""
        env = self.env
        if op not in self.duration:
            self.calibrate(op)
        argv = self.prepare(op)
        delay = self.rng.uniform(0, 1.2 * self.duration[op])
        what = (f"seed {self.seed} trial {i}: `banger {' '.join(map(str, argv))}` killed after "
                f"{delay * 1000:.0f} ms (op takes ~{self.duration[op] * 1000:.0f} ms)")
        pid = self.daemon()
        p = subprocess.Popen(["ip", "netns", "exec", env.netns, str(env.banger_bin),
                              *map(str, argv)], env=env.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        if not self.wait_dead(pid):
            return what, ["the killed daemon's single-instance lock is still held after 10 s"]
        try:
            p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return what, ["the CLI did not return within 60 s of the daemon's death"]
        return what, env.settled_problems(timeout=10)

    def wait_dead(self, pid, timeout=10):
        """Waits until every thread of the killed daemon is gone: its leader
        shows as a zombie while a thread blocked in I/O still exits, and
        until then the kernel keeps its flock on the pid file. A kill that
        lands before the CLI connects makes that CLI start a new daemon,
        which then holds the lock: that is fine too."""
        pidfile = self.env.runtime / "banger" / "bangerd.pid"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc_state(pid) in (None, "Z"):
                try:
                    with open(pidfile) as f:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except FileNotFoundError:
                    return True
                except BlockingIOError:
                    now = self.env.daemon_pid()
                    if now and now != pid and proc_state(now) not in (None, "Z"):
                        return True
            time.sleep(0.01)
        return False

    def log_tail(self, n=15):
        lines = [l for l in self.env.log_lines() if l.get("msg") != "api request"]
        return "\n".join(f"  {l.get('level')}: {l.get('msg')} "
                         f"{ {k: v for k, v in l.items() if k not in ('time', 'level', 'msg')} }"
                         for l in lines[-n:])

    def wind_down(self):
        """Every VM left must stop and delete cleanly; then nothing remains."""
        env = self.env
        for v in self.vms():
            env.banger("vm", "delete", "--force", v["name"], check=True)
        for i in env.bjson("image", "list"):
            if i["name"] != "default":
                env.banger("image", "delete", i["name"], check=True)
        return env.settled_problems()


def setup_crash_env(env):
    """A bundle whose rootfs has every package (image build copies it: no
    mmdebstrap), the default image, and a slow emulator."""
    bundle = make_bundle(env.root / "bundle")
    make_base(bundle / "rootfs.ext4", GUEST_PKGS + ["less"])
    text = (env.config_dir / "config.toml").read_text()
    text = re.sub(r'runtime_dir = ".*"', f'runtime_dir = "{bundle}"', text)
    (env.config_dir / "config.toml").write_text(text)
    env.fcemu(**EMULATOR)
    env.register_default_image()


def seed_from_env():
    s = os.environ.get("BANGER_CRASH_SEED")
    return int(s) if s else secrets.randbits(32)


@pytest.mark.parametrize("op", OPS)
def test_daemon_killed_during_op_leaves_consistent_state(flavoured_env, op):
    env = flavoured_env
    seed = seed_from_env()
    trials = ASAN_TRIALS if env.flavour == "asan" else TRIALS
    print(f"crash {op} ({env.flavour}): BANGER_CRASH_SEED={seed}, {trials} trials")
    rig = CrashRig(env, seed)
    for i in range(trials):
        what, problems = rig.trial(op, i)
        assert not problems, f"{what}:\n  " + "\n  ".join(problems) + \
            f"\nlast daemon log lines:\n{rig.log_tail()}"
    problems = rig.wind_down()
    assert not problems, f"seed {seed}, after all trials:\n  " + "\n  ".join(problems)
    env.assert_sanitizer_clean()
