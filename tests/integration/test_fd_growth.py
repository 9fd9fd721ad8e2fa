"""bangerd's open file descriptors (/proc/PID/fd) do not grow over
create/start/stop/delete cycles against the emulator (no delays), driven
over the API on a fresh Unix-socket connection per request, as the CLI
does. The count after WARMUP cycles is compared with the count after
CYCLES; a small constant slack allows for a lazily opened file.

1,000 cycles take about six minutes here, too long for `make check`: the
test runs BANGER_FD_CYCLES (default 150) and bench/fd-soak runs 1,000.
"""
import os

from conftest import unix_api

CYCLES = int(os.environ.get("BANGER_FD_CYCLES", "150"))
WARMUP = 50
SLACK = 3


def daemon_fds(pid):
    """{fd number: what it points at} of the daemon."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def cycle(sock, name):
    """create, start, stop, delete one VM; fails on any unexpected answer."""
    status, vm = unix_api(sock, "POST", "/v1/vms", {"name": name, "no_start": True})
    assert status == 201 and vm["state"] == "stopped", vm
    status, vm = unix_api(sock, "POST", f"/v1/vms/{name}/start", {})
    assert status == 200 and vm["state"] == "running", vm
    status, vm = unix_api(sock, "POST", f"/v1/vms/{name}/stop", {})
    assert status == 200 and vm["state"] == "stopped", vm
    status, body = unix_api(sock, "DELETE", f"/v1/vms/{name}")
    assert status == 200 and body == {"deleted": True}, body


def run_cycles(env, start, end):
    sock = env.socket()
    for i in range(start, end):
        cycle(sock, f"fd{i}")


def test_daemon_fds_do_not_grow_over_vm_cycles(booted):
    env = booted
    env.fcemu(shutdown_delay_ms=0, boot_delay_ms=0, api_delay_ms=0)
    env.banger("daemon", "status", check=True)
    pid = env.daemon_pid()
    run_cycles(env, 0, WARMUP)
    base = daemon_fds(pid)
    run_cycles(env, WARMUP, CYCLES)
    after = daemon_fds(pid)
    assert env.daemon_pid() == pid
    print(f"fds: {len(base)} after {WARMUP} cycles, {len(after)} after {CYCLES}")
    grown = sorted(set(after.values()) - set(base.values()))
    assert len(after) <= len(base) + SLACK, \
        f"{len(base)} fds after {WARMUP} cycles, {len(after)} after {CYCLES}; new: {grown[:40]}"
    assert env.bjson("vm", "list") == []
    assert env.settled_problems() == []
