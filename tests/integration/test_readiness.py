"""Guest readiness against the Firecracker emulator (issue 10): a VM is
"starting" while its guest boots and "running" once the console says
"banger: ready in <s> s"; create and start wait for that line; a boot that
cannot come up (no ready line within boot_timeout, a panic, banger-init or
sshd failing) ends with the console's words and leaves nothing behind;
trouble on the console later goes to last_error; a daemon killed while a
VM starts re-adopts it."""
import os
import re
import signal
import subprocess
import time

from conftest import BANGER, alive

PANIC = "[    2.100000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100"
LOCKUP = "[   31.100000] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [systemd:1]"


def state(env, name):
    return env.vm(name)["state"]


def wait_state(env, name, want, timeout=10):
    env.wait_for(lambda: state(env, name) == want, timeout, f"{name} to be {want}")


def restart_with(env, extra):
    """The daemon reads its config at start: write it, stop the daemon; the
    next command starts a new one."""
    env.default_config(extra)
    env.stop_daemon()


def vmm_pids(env):
    """Emulator processes of this env (found by the run dir in their argv)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(l.split()[0]) for l in out.splitlines()[1:]
            if str(env.runtime) in l and "firecracker" in l and alive(int(l.split()[0]))]


def links(env):
    out = env.cmd(["ip", "-o", "link", "show"], check=True).stdout
    return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()]


def tap_of(vm):
    return "bgr" + vm["id"][:12]


def append_console(vm, line):
    with open(vm["console_log"], "a") as f:
        f.write(line + "\r\n")


def test_create_waits_for_the_ready_line_and_prints_the_boot_time(booted):
    env = booted
    env.fcemu(ready_delay_ms=600)
    r = env.banger("vm", "create", "--name", "calm-otter", check=True)
    assert re.search(r"^calm-otter: running, 172\.30\.77\.\d+ \(ready in \d+\.\d s\)$",
                     r.stdout, re.M), r.stdout
    vm = env.vm("calm-otter")
    assert vm["state"] == "running" and alive(vm["pid"])
    assert vm["guest_ready_ms"] == 950  # the emulator's "ready in 0.95 s"
    assert vm["ready_ms"] >= 600  # the line came after the emulator's delay
    show = env.banger("vm", "show", "calm-otter", check=True).stdout
    assert re.search(r"^boot +ready in \d+\.\d s \(the guest's own figure: 0\.95 s\)$", show,
                     re.M), show
    r = env.banger("vm", "stop", "calm-otter", check=True)
    r = env.banger("vm", "start", "calm-otter", check=True)
    assert re.search(r"^calm-otter: running, .* \(ready in \d+\.\d s\)$", r.stdout, re.M)


def test_no_wait_shows_starting_then_running(booted):
    env = booted
    env.fcemu(ready=False)
    r = env.banger("vm", "create", "--name", "slow", "--no-wait", check=True)
    assert "slow: starting" in r.stdout
    vm = env.vm("slow")
    assert vm["state"] == "starting" and alive(vm["pid"]) and vm["ready_ms"] == 0
    assert tap_of(vm) in links(env)
    lst = env.banger("vm", "list", check=True).stdout
    assert re.search(r"^slow +starting ", lst, re.M), lst
    assert env.api("GET", "/v1/vms/slow")[1]["state"] == "starting"
    # The guest then says it is ready (as banger-ready.service would).
    append_console(vm, "banger: ready in 4.20 s")
    wait_state(env, "slow", "running")
    vm = env.vm("slow")
    assert vm["guest_ready_ms"] == 4200 and vm["ready_ms"] > 0
    kinds = [(l.get("msg"), l.get("vm")) for l in env.log_lines()]
    assert ("vm ready", "slow") in kinds
    # vm start --no-wait after a stop: starting again, and a plain `vm start`
    # of a starting VM waits for the same boot rather than starting twice.
    env.banger("vm", "stop", "slow", check=True)
    r = env.banger("vm", "start", "--no-wait", "slow", check=True)
    assert "slow: starting" in r.stdout
    pid = env.vm("slow")["pid"]
    waiter = subprocess.Popen(["ip", "netns", "exec", env.netns, str(BANGER), "vm", "start",
                               "slow"], env=env.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    assert waiter.poll() is None  # waiting for the guest
    append_console(env.vm("slow"), "banger: ready in 1.00 s")
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert "slow: running" in out and env.vm("slow")["pid"] == pid


def test_no_ready_line_fails_within_boot_timeout_and_leaves_nothing(booted):
    env = booted
    restart_with(env, "boot_timeout = 2\n")
    env.fcemu(ready=False)
    r = env.banger("vm", "create", "--name", "mute", timeout=60)
    assert r.returncode != 0
    assert "did not become ready within 2 s (boot_timeout)" in r.stderr, r.stderr
    assert "no ready line" in r.stderr
    assert "last console lines:" in r.stderr and "mute" in r.stderr
    assert re.search(r"^ +\S+ login: *$", r.stderr, re.M), r.stderr  # the console's last line
    vm = env.vm("mute")
    assert "firecracker.log" in r.stderr and vm["console_log"] in r.stderr
    assert vm["state"] == "stopped" and vm["pid"] == 0
    assert vm["last_error"].startswith("boot failed: the guest did not become ready")
    assert vm["console_log"] in vm["last_error"]
    assert vmm_pids(env) == []
    assert tap_of(vm) not in links(env)
    # --no-wait: the same timeout, in the background.
    r = env.banger("vm", "start", "--no-wait", "mute", check=True)
    assert "mute: starting" in r.stdout
    wait_state(env, "mute", "stopped", timeout=15)
    vm = env.vm("mute")
    assert "did not become ready within 2 s" in vm["last_error"]
    assert vmm_pids(env) == [] and tap_of(vm) not in links(env)


def test_panic_during_boot_fails_at_once_naming_it(booted):
    env = booted
    restart_with(env, "boot_timeout = 600\n")
    env.fcemu(ready=False, console_after_boot=[PANIC])
    # Were the panic not seen, this would wait for 600 s and time out here.
    r = env.banger("vm", "create", "--name", "panicky", timeout=60)
    assert r.returncode != 0
    assert "kernel panic" in r.stderr and "Attempted to kill init!" in r.stderr, r.stderr
    assert "boot_timeout" not in r.stderr.split("hint")[0]
    vm = env.vm("panicky")
    assert vm["state"] == "stopped" and "kernel panic" in vm["last_error"]
    assert vmm_pids(env) == [] and tap_of(vm) not in links(env)


def test_init_and_sshd_failures_fail_the_boot(booted):
    env = booted
    restart_with(env, "boot_timeout = 600\n")
    env.fcemu(ready=False, console_after_boot=[
        "banger-init: error: mount /dev/vda on /run/banger/base: No such device"])
    r = env.banger("vm", "create", "--name", "noinit", timeout=60)
    assert r.returncode != 0 and "banger-init failure" in r.stderr, r.stderr
    assert "mount /dev/vda" in r.stderr
    env.fcemu(ready=False, console_after_boot=["banger: not ready: sshd is not listening on port 22"])
    r = env.banger("vm", "create", "--name", "nossh", timeout=60)
    assert r.returncode != 0 and "sshd failure" in r.stderr, r.stderr
    for name in ("noinit", "nossh"):
        assert state(env, name) == "stopped"
    assert vmm_pids(env) == []


def test_trouble_after_boot_goes_to_last_error(booted):
    env = booted
    env.fcemu(console_after_boot=[LOCKUP])
    env.banger("vm", "create", "--name", "stuck", check=True)
    vm = env.wait_for(lambda: (v := env.vm("stuck"))["last_error"] and v, what="last_error")
    assert vm["state"] == "running"  # a lockup may pass: the VM is not stopped for it
    assert vm["last_error"].startswith("CPU lockup on the console: ")
    assert "soft lockup - CPU#1 stuck for 23s!" in vm["last_error"]
    assert vm["console_log"] in vm["last_error"]
    show = env.banger("vm", "show", "stuck", check=True).stdout
    assert "soft lockup" in show
    # Later console output is watched too (here appended by the test).
    append_console(vm, "[  100.000000] rcu: INFO: rcu_sched self-detected stall on CPU")
    env.wait_for(lambda: "RCU stall" in env.vm("stuck")["last_error"], what="RCU stall")
    assert env.vm("stuck")["state"] == "running"


def test_a_starting_vm_can_be_stopped_killed_and_deleted(booted):
    env = booted
    env.fcemu(ready=False)
    env.banger("vm", "create", "--name", "a", "--no-wait", check=True)
    env.banger("vm", "create", "--name", "b", "--no-wait", check=True)
    env.banger("vm", "create", "--name", "c", "--no-wait", check=True)
    a, b = env.vm("a"), env.vm("b")
    r = env.banger("vm", "stop", "a", check=True)
    assert "a: stopped" in r.stdout and not alive(a["pid"])
    env.banger("vm", "kill", "b", check=True)
    wait_state(env, "b", "stopped")
    assert not alive(b["pid"])
    env.banger("vm", "delete", "--force", "c", check=True)
    assert env.banger("vm", "show", "c").returncode != 0
    assert vmm_pids(env) == []


def test_daemon_killed_while_starting_readopts_and_becomes_running(booted):
    env = booted
    env.fcemu(ready=False)
    env.banger("vm", "create", "--name", "phoenix", "--no-wait", check=True)
    vm = env.vm("phoenix")
    assert vm["state"] == "starting"
    os.kill(env.daemon_pid(), signal.SIGKILL)
    time.sleep(0.2)
    assert alive(vm["pid"])
    append_console(vm, "banger: ready in 3.30 s")  # while no daemon watches
    vm2 = env.vm("phoenix")  # a new daemon re-adopts and re-scans from the start marker
    assert vm2["pid"] == vm["pid"]
    wait_state(env, "phoenix", "running")
    assert env.vm("phoenix")["guest_ready_ms"] == 3300
    assert any(l.get("msg") == "re-adopted starting VM" for l in env.log_lines())
    env.banger("vm", "stop", "phoenix", check=True)
    assert not alive(vm["pid"])
