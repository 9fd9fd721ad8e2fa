"""End to end, suspend and resume (issue 11): one real guest under QEMU/TCG,
booted once, suspended and resumed with its processes and memory, its clock
set right; a daemon killed -9 in the middle of a suspend; and a saved state
that cannot be used, which boots cold without losing the disks."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import netns  # noqa: E402,F401
from test_e2e_qemu import RUNTIME, boot, qenv, report, ssh  # noqa: E402,F401

pytestmark = pytest.mark.skipif(
    not (RUNTIME / "bundle.json").exists(),
    reason=f"no runtime bundle at {RUNTIME}: run `make runtime-bundle`")

NAME = "e2e-one"  # qenv deletes it at the end

COUNTER = ("setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /dev/shm/counter; "
           "sleep 0.2; done' </dev/null >/dev/null 2>&1 & echo $!")


def guest_facts(env):
    """What must survive a resume, read in one ssh."""
    out = ssh(env, NAME, "sh", "-c",
              "cat /proc/sys/kernel/random/boot_id; cat /dev/shm/token; echo; cat /dev/shm/counter")
    boot_id, token, counter = out.split("\n")
    return boot_id, token, int(counter)


def clock_skew(env):
    """Guest time minus host time, bounded by the ssh round trip."""
    before = time.time()
    guest = float(ssh(env, NAME, "date", "+%s.%N"))
    after = time.time()
    if guest < before:
        return guest - before
    if guest > after:
        return guest - after
    return 0.0


def state_files(vm):
    d = Path(vm["dir"])
    return {p.name for p in d.iterdir() if p.name.startswith("suspend")}


def assert_no_vmm_no_tap(env, vm, vmm_pid):
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    assert vm["id"] not in out, out
    assert not os.path.exists(f"/proc/{vmm_pid}") or \
        "zombie" in open(f"/proc/{vmm_pid}/status").read().lower()
    assert env.taps() == set(), env.taps()


def suspend(env):
    t0 = time.monotonic()
    r = env.banger("vm", "suspend", NAME, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "suspended" in r.stdout, r.stdout
    return time.monotonic() - t0


def resume(env):
    t0 = time.monotonic()
    r = env.banger("vm", "start", NAME, timeout=300)
    assert r.returncode == 0, r.stderr
    ssh(env, NAME, "true")
    return time.monotonic() - t0, r.stdout


def test_suspend_resume_crash_and_cold_boot_fallback(qenv, capsys):
    env = qenv
    t_boot = boot(env, NAME)
    report(capsys, f"\ncold boot to SSH: {t_boot:.1f} s")

    # A process that keeps state in memory, and a file only memory holds.
    pid = int(ssh(env, NAME, "sh", "-c", COUNTER))
    ssh(env, NAME, "sh", "-c", "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n' "
        "> /dev/shm/token; echo kept > /root/keep.txt; sync")
    dns_before = ssh(env, NAME, "getent", "hosts", f"{NAME}.vm")
    time.sleep(1)
    boot_id, token, c1 = guest_facts(env)
    vm = env.vm(NAME)
    vmm_pid, mac, addr = vm["pid"], vm["mac"], vm["address"]

    # 1. Suspend: no VMM, no tap; the state is on disk and its size shown.
    t_susp = suspend(env)
    vm = env.vm(NAME)
    assert vm["state"] == "suspended" and vm["pid"] == 0
    assert vm["state_bytes"] > 0
    assert state_files(vm) == {"suspend"}
    assert_no_vmm_no_tap(env, vm, vmm_pid)
    lst = env.banger("vm", "list", check=True).stdout
    assert any(l.split()[:2] == [NAME, "suspended"] for l in lst.splitlines()), lst
    report(capsys, f"suspend: {t_susp:.1f} s, state {vm['state_bytes'] / 2**20:.0f} MiB "
           f"for {vm['memory_mib']} MiB of memory")
    time.sleep(8)  # the guest's clock stands still meanwhile

    # 2. Resume: same kernel (boot id), same process and memory, right clock,
    # same address and MAC, DNS and ssh work.
    t_res, out = resume(env)
    report(capsys, f"resume to SSH: {t_res:.1f} s ({t_res / t_boot:.2f}x cold boot); "
           f"`{out.strip()}`")
    vm = env.vm(NAME)
    assert vm["state"] == "running" and vm["resume_note"].startswith("resumed"), vm
    assert (vm["mac"], vm["address"]) == (mac, addr)
    assert state_files(vm) == set()
    b2, t2, c2 = guest_facts(env)
    assert (b2, t2) == (boot_id, token)
    ssh(env, NAME, "kill", "-0", str(pid))
    time.sleep(1)
    assert guest_facts(env)[2] > c2 >= c1
    skew = clock_skew(env)
    report(capsys, f"guest clock after resume: {skew:+.2f} s from the host")
    assert abs(skew) <= 2.0, skew
    assert ssh(env, NAME, "getent", "hosts", f"{NAME}.vm") == dns_before

    # 3. kill -9 of the daemon during a suspend: after the restart the VM is
    # running (the save rolled back) or suspended with a complete state.
    sus = subprocess.Popen(["ip", "netns", "exec", env.netns, str(env.banger_bin), "vm",
                            "suspend", NAME], env=env.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    env.wait_for(lambda: env.api("GET", f"/v1/vms/{NAME}")[1].get("state") == "suspending",
                 timeout=60, what="suspending")
    os.kill(env.daemon_pid(), signal.SIGKILL)
    sus.wait(timeout=60)
    vm = env.wait_for(lambda: (v := env.vm(NAME))["state"] in ("running", "suspended") and v,
                      timeout=120, what="reconcile")
    report(capsys, f"daemon killed mid-suspend: reconciled as {vm['state']}")
    assert "suspend.tmp" not in state_files(vm)
    if vm["state"] == "suspended":
        assert state_files(vm) == {"suspend"}
        resume(env)
    assert guest_facts(env)[:2] == (boot_id, token)
    ssh(env, NAME, "kill", "-0", str(pid))

    # 4. A state that cannot be used (truncated): a cold boot, said in the
    # log and in vm show; the disks are as they were.
    suspend(env)
    vm = env.vm(NAME)
    state = Path(vm["dir"]) / "suspend"
    big = max(state.iterdir(), key=lambda p: p.stat().st_size)
    os.truncate(big, big.stat().st_size // 2)
    r = env.banger("vm", "start", NAME, timeout=300)
    assert r.returncode == 0, r.stderr
    vm = env.vm(NAME)
    assert vm["resume_note"].startswith("cold boot") and "truncated" in vm["resume_note"], vm
    assert any(l.get("msg") == "saved state not used, booting cold" for l in env.log_lines())
    show = env.banger("vm", "show", NAME, check=True).stdout
    assert "cold boot" in show
    assert ssh(env, NAME, "cat", "/root/keep.txt") == "kept"
    assert ssh(env, NAME, "cat", "/proc/sys/kernel/random/boot_id") != boot_id
    assert state_files(vm) == set()

    # 5. vm stop of a suspended VM discards its state; the next start is cold.
    suspend(env)
    env.banger("vm", "stop", NAME, check=True, timeout=120)
    vm = env.vm(NAME)
    assert vm["state"] == "stopped" and vm["state_bytes"] == 0 and state_files(vm) == set()
