"""`vm stats`, `vm logs` and `daemon logs`: what a user looks at."""
import json
import os
import select
import subprocess
import time

from conftest import BANGER


def test_vm_stats_match_proc_and_stat(booted):
    env = booted
    env.banger("vm", "create", "--name", "watched", check=True)
    vm = env.vm("watched")
    s = env.bjson("vm", "stats", "watched")
    assert s["state"] == "running" and s["pid"] == vm["pid"]
    assert s["vcpu"] == 1 and s["memory_mib"] == 256
    # Resident memory: the same order as /proc/PID/status says.
    with open(f"/proc/{vm['pid']}/status") as f:
        rss_kb = int(next(l for l in f if l.startswith("VmRSS:")).split()[1])
    assert abs(s["rss_bytes"] - rss_kb * 1024) <= max(rss_kb * 1024 // 5, 4 << 20)
    assert 0 <= s["cpu_percent"] <= 200
    for key in ("overlay", "work_disk"):
        st = os.stat(s[key]["path"])
        assert s[key]["apparent_bytes"] == st.st_size
        assert s[key]["allocated_bytes"] == st.st_blocks * 512
        assert s[key]["allocated_bytes"] < s[key]["apparent_bytes"]  # sparse
    assert s["work_disk"]["configured_bytes"] == vm["disk_size"]
    # Firecracker's own counters, flushed on demand.
    assert s["vmm_metrics"] and "block_work" in s["vmm_metrics"]
    r = env.banger("vm", "stats", "watched", check=True)
    assert "vmm cpu" in r.stdout and "work disk" in r.stdout
    env.banger("vm", "stop", "watched", check=True)
    s = env.bjson("vm", "stats", "watched")
    assert s["state"] == "stopped" and s["pid"] == 0 and s["rss_bytes"] == 0


def test_vm_logs_prints_console_and_follows_appends(booted):
    env = booted
    env.banger("vm", "create", "--name", "chatty", check=True)
    vm = env.vm("chatty")
    r = env.banger("vm", "logs", "chatty", check=True)
    assert "--- banger: firecracker start" in r.stdout
    r = env.banger("vm", "logs", "chatty", "-n", "1", check=True)
    assert len(r.stdout.strip().splitlines()) == 1
    p = subprocess.Popen(["ip", "netns", "exec", env.netns, str(BANGER), "vm", "logs", "chatty",
                          "-f", "-n", "0"], env=env.env, stdout=subprocess.PIPE)

    def read_until(needle, seen, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline and needle not in seen:
            rl, _, _ = select.select([p.stdout], [], [], 0.2)
            if rl:
                seen += os.read(p.stdout.fileno(), 65536).decode(errors="replace")
        return seen

    try:
        time.sleep(0.5)
        with open(vm["console_log"], "a") as f:
            f.write("appended after follow started\n")
        seen = read_until("appended after follow", "")
        assert "appended after follow started" in seen
        # It follows across a restart of the VM (same file, new marker).
        env.banger("vm", "restart", "chatty", check=True)
        seen = read_until("--- banger: firecracker start", seen)
        assert "--- banger: firecracker start" in seen
    finally:
        p.kill()
        p.wait()


def test_daemon_logs_readable_filtered_and_raw(booted):
    env = booted
    env.banger("vm", "create", "--name", "logged", "--no-start", check=True)
    env.banger("vm", "create", "--name", "other", "--no-start", check=True)
    r = env.banger("daemon", "logs", check=True)
    assert "daemon started" in r.stdout
    r = env.banger("daemon", "logs", "--vm", "logged", check=True)
    lines = r.stdout.strip().splitlines()
    assert lines and all("vm=logged" in l for l in lines)
    r = env.banger("daemon", "logs", "--level", "warn", check=True)
    assert all(" warn " in l or " error " in l for l in r.stdout.splitlines())
    r = env.banger("daemon", "logs", "--json", check=True)
    for l in r.stdout.splitlines():
        json.loads(l)
    r = env.banger("daemon", "logs", "--level", "loud")
    assert r.returncode != 0 and "loud" in r.stderr
