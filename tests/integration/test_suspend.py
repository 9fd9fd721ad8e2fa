"""Suspend and resume against the strict Firecracker emulator (issue 11):
the API sequence on both sides, what is left on the host, the saved state's
checks and the cold-boot fallback, vm stop / set / delete of a suspended VM,
suspend_on_stop, a daemon killed mid-suspend, and a host reboot."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from conftest import alive


def puts(env, vm_id, since=0):
    """(method, path) of the API writes in a VM's journal, from entry since."""
    return [(x["method"], x["path"]) for x in env.journal_of(vm_id)[since:]
            if x.get("method") in ("PUT", "PATCH")]


def suspend_dir(vm):
    return Path(vm["dir"]) / "suspend"


def suspend(env, name, **kw):
    r = env.banger("vm", "suspend", name, **kw)
    return r


def test_suspend_then_resume_with_the_emulator(booted):
    env = booted
    env.banger("vm", "create", "--name", "calm-otter", check=True)
    vm = env.vm("calm-otter")
    pid, mac, addr = vm["pid"], vm["mac"], vm["address"]
    n0 = len(env.journal_of(vm["id"]))

    r = suspend(env, "calm-otter", check=True)
    assert "calm-otter: suspended" in r.stdout and "banger vm start calm-otter" in r.stdout
    vm = env.vm("calm-otter")
    assert vm["state"] == "suspended" and vm["pid"] == 0 and vm["state_bytes"] > 0
    assert not alive(pid) and env.taps() == set() and env.vmm_processes() == {}
    assert puts(env, vm["id"], n0)[:2] == [("PATCH", "/vm"), ("PUT", "/snapshot/create")]
    create = next(x["body"] for x in env.journal_of(vm["id"]) if x.get("path") ==
                  "/snapshot/create")
    assert create["snapshot_type"] == "Full"
    files = {p.name for p in suspend_dir(vm).iterdir()}
    assert files == {"manifest.json", "vmstate", "memory"}
    assert (suspend_dir(vm) / "memory").stat().st_size == 256 << 20
    lst = env.banger("vm", "list", check=True).stdout
    assert any(l.split()[:2] == ["calm-otter", "suspended"] for l in lst.splitlines())
    show = env.banger("vm", "show", "calm-otter", check=True).stdout
    assert "saved state" in show
    assert env.settled_problems() == []

    n1 = len(env.journal_of(vm["id"]))
    r = env.banger("vm", "start", "calm-otter", check=True)
    assert "resumed in" in r.stdout
    vm = env.vm("calm-otter")
    assert vm["state"] == "running" and vm["resume_note"].startswith("resumed")
    assert (vm["mac"], vm["address"]) == (mac, addr)
    # A fresh process: the logger and metrics, then the load; no boot.
    assert puts(env, vm["id"], n1) == [("PUT", "/logger"), ("PUT", "/metrics"),
                                       ("PUT", "/snapshot/load")]
    load = next(x for x in env.journal_of(vm["id"])[n1:] if x.get("path") == "/snapshot/load")
    assert load["status"] == 204 and load["body"]["resume_vm"] is True
    assert load["body"]["mem_backend"]["backend_type"] == "File"
    assert not suspend_dir(vm).exists()
    assert env.settled_problems() == []
    # The resumed VM stops like any other.
    env.banger("vm", "stop", "calm-otter", check=True)
    assert env.vm("calm-otter")["state"] == "stopped"


def test_stop_set_and_delete_of_a_suspended_vm(booted):
    env = booted
    for n in ("one", "two", "three"):
        env.banger("vm", "create", "--name", n, check=True)
        suspend(env, n, check=True)
    # stop discards the state: the next start boots cold.
    vm = env.vm("one")
    env.banger("vm", "stop", "one", check=True)
    vm = env.vm("one")
    assert vm["state"] == "stopped" and vm["state_bytes"] == 0
    assert not suspend_dir(vm).exists()
    n = len(env.journal_of(vm["id"]))
    env.banger("vm", "start", "one", check=True)
    assert ("PUT", "/actions") in puts(env, vm["id"], n)
    assert env.vm("one")["resume_note"] == ""
    # set of memory/vCPU/disk asks for force, and changes nothing without it.
    r = env.banger("vm", "set", "two", "--memory", "512")
    assert r.returncode == 1 and "discards its saved state" in r.stderr and "--force" in r.stderr
    assert env.vm("two")["state"] == "suspended" and env.vm("two")["memory_mib"] == 256
    env.banger("vm", "set", "two", "--memory", "512", "--force", check=True)
    body = env.vm("two")
    assert body["state"] == "stopped" and body["memory_mib"] == 512
    assert not suspend_dir(body).exists()
    # NAT and suspend_on_stop change without discarding.
    code, body = env.api("PATCH", "/v1/vms/three", {"nat": True})
    assert code == 200 and body["state"] == "suspended"
    # delete removes the VM with its state.
    d = env.vm("three")["dir"]
    env.banger("vm", "delete", "three", check=True)
    assert not os.path.exists(d)
    assert env.settled_problems() == []


def test_suspend_on_stop(booted):
    env = booted
    env.banger("vm", "create", "--name", "lazy", check=True)
    r = env.banger("vm", "set", "lazy", "--suspend-on-stop", check=True)
    assert "on stop: suspend" in r.stdout
    assert env.vm("lazy")["suspend_on_stop"] is True
    env.banger("vm", "stop", "lazy", check=True)
    assert env.vm("lazy")["state"] == "suspended"
    env.banger("vm", "start", "lazy", check=True)
    assert env.vm("lazy")["resume_note"].startswith("resumed")
    # restart is a real reboot, whatever the setting.
    vm = env.vm("lazy")
    n = len(env.journal_of(vm["id"]))
    env.banger("vm", "restart", "lazy", check=True)
    assert ("PUT", "/actions") in puts(env, vm["id"], n)
    assert env.vm("lazy")["state"] == "running"
    # A config default for new VMs.
    cfg = env.config_dir / "config.toml"
    cfg.write_text(cfg.read_text() + "suspend_on_stop = true\n")
    env.stop_daemon()
    env.banger("vm", "create", "--name", "lazier", "--no-start", check=True)
    assert env.vm("lazier")["suspend_on_stop"] is True
    env.banger("vm", "create", "--name", "eager", "--no-start", check=True)
    env.banger("vm", "set", "eager", "--no-suspend-on-stop", check=True)
    assert env.vm("eager")["suspend_on_stop"] is False


def test_unusable_state_boots_cold_and_says_why(booted):
    env = booted
    kernel = env.images / "vmlinux"
    for name in ("flip", "kern", "load"):
        env.banger("vm", "create", "--name", name, check=True)
        suspend(env, name, check=True)
    # A flipped byte in the memory file.
    mem = suspend_dir(env.vm("flip")) / "memory"
    with open(mem, "r+b") as f:
        f.seek(4096)
        f.write(b"\x01")
    r = env.banger("vm", "start", "flip", check=True)
    vm = env.vm("flip")
    assert vm["state"] == "running" and "corrupt" in vm["resume_note"], vm["resume_note"]
    assert vm["resume_note"].startswith("cold boot")
    assert "cold boot" in env.banger("vm", "show", "flip", check=True).stdout
    assert any(l.get("msg") == "saved state not used, booting cold" and l.get("vm") == "flip"
               for l in env.log_lines())
    # Firecracker refuses the state: still a cold boot, never a lost VM.
    env.fcemu(fail_snapshot_load=True)
    env.banger("vm", "start", "load", check=True)
    vm = env.vm("load")
    assert vm["state"] == "running" and "fail_snapshot_load" in vm["resume_note"]
    env.fcemu()
    # The kernel rebuilt since the suspend.
    os.utime(kernel, (time.time() + 5, time.time() + 5))
    env.banger("vm", "start", "kern", check=True)
    assert "kernel changed" in env.vm("kern")["resume_note"]
    assert env.settled_problems() == []


def test_failed_suspend_lets_the_guest_run_on(booted):
    env = booted
    env.banger("vm", "create", "--name", "stays", check=True)
    env.fcemu(fail_snapshot_create=True)
    vm = env.vm("stays")
    n = len(env.journal_of(vm["id"]))
    r = suspend(env, "stays")
    assert r.returncode == 1 and "fail_snapshot_create" in r.stderr
    vm = env.vm("stays")
    assert vm["state"] == "running" and alive(vm["pid"])
    assert puts(env, vm["id"], n) == [("PATCH", "/vm"), ("PUT", "/snapshot/create"),
                                      ("PATCH", "/vm")]
    resumed = [x["body"] for x in env.journal_of(vm["id"])[n:] if x.get("path") == "/vm"]
    assert resumed[-1] == {"state": "Resumed"}
    assert not (Path(vm["dir"]) / "suspend.tmp").exists()
    assert env.settled_problems() == []


def test_daemon_killed_mid_suspend_then_host_reboot(booted):
    env = booted
    env.banger("vm", "create", "--name", "mid", check=True)
    env.banger("vm", "create", "--name", "keep", check=True)
    suspend(env, "keep", check=True)
    env.fcemu(snapshot_delay_ms=3000)
    sus = subprocess.Popen(["ip", "netns", "exec", env.netns, str(env.banger_bin), "vm",
                            "suspend", "mid"], env=env.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    env.wait_for(lambda: env.api("GET", "/v1/vms/mid")[1].get("state") == "suspending", 10,
                 "suspending")
    time.sleep(0.5)
    os.kill(env.daemon_pid(), signal.SIGKILL)
    sus.wait(timeout=30)
    env.fcemu()
    # The restart rolls the suspend back: the guest runs on, nothing is left.
    vm = env.wait_for(lambda: (v := env.vm("mid"))["state"] == "running" and v, 20,
                      "mid running again")
    assert alive(vm["pid"])
    assert env.journal_of(vm["id"])[-1].get("body") == {"state": "Resumed"} or any(
        x.get("body") == {"state": "Resumed"} for x in env.journal_of(vm["id"])[-5:])
    assert env.settled_problems() == []

    # A host reboot: every process and the bridge gone; the state is on disk.
    env.stop_daemon()
    env.kill_vmms()
    env.cmd(["ip", "link", "del", "banger0"])
    vm = env.vm("keep")
    assert vm["state"] == "suspended"
    n = len(env.journal_of(vm["id"]))
    env.banger("vm", "start", "keep", check=True)
    assert env.vm("keep")["resume_note"].startswith("resumed")
    assert ("PUT", "/snapshot/load") in puts(env, vm["id"], n)
    assert env.vm("mid")["state"] == "stopped"  # its VMM died with the "host"


def test_autostart_resumes_a_suspended_vm(booted):
    env = booted
    env.banger("vm", "create", "--name", "comeback", check=True)
    code, body = env.api("PATCH", "/v1/vms/comeback", {"autostart": True})
    assert code == 200 and body["autostart"] is True
    suspend(env, "comeback", check=True)
    env.stop_daemon()
    env.banger("daemon", "status", check=True)  # a new daemon: autostart runs
    vm = env.wait_for(lambda: (v := env.vm("comeback"))["state"] == "running" and v, 20,
                      "comeback resumed by autostart")
    assert vm["resume_note"].startswith("resumed")
