"""VM lifecycle against the strict Firecracker emulator: create, list, show,
start, stop, restart, kill, delete, set; persistence; crashes; guest
reboot and poweroff; daemon restarts; bad input."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BANGER, FCEMU, alive


def state(env, name):
    return env.vm(name)["state"]


def wait_state(env, name, want, timeout=10):
    env.wait_for(lambda: state(env, name) == want, timeout, f"{name} to be {want}")


def test_create_boots_and_configures_firecracker_in_order(booted):
    env = booted
    r = env.banger("vm", "create", "--name", "calm-otter", check=True)
    assert "calm-otter: running" in r.stdout
    assert "banger vm ssh calm-otter" in r.stdout
    vm = env.vm("calm-otter")
    assert vm["state"] == "running" and vm["vmm"] == "firecracker"
    assert alive(vm["pid"])
    j = env.journal_of(vm["id"])
    reqs = [(x["method"], x["path"]) for x in j if "method" in x]
    puts = [p for m, p in reqs if m in ("PUT", "PATCH")]
    assert puts == ["/logger", "/metrics", "/machine-config", "/boot-source", "/drives/base",
                    "/drives/overlay", "/drives/work"] + \
        [p for p in puts if p.startswith("/network-interfaces")] + ["/actions"]
    assert all(x["status"] in (200, 204) for x in j if "method" in x)
    mc = next(x["body"] for x in j if x.get("path") == "/machine-config")
    assert mc["vcpu_count"] == 1 and mc["mem_size_mib"] == 256
    drives = {x["body"]["drive_id"]: x["body"] for x in j
              if x.get("path", "").startswith("/drives/")}
    assert drives["base"]["is_root_device"] and drives["base"]["is_read_only"]
    assert not drives["overlay"]["is_read_only"] and not drives["work"]["is_read_only"]
    assert drives["overlay"]["path_on_host"] == vm["overlay"]["path"]
    boot = next(x["body"] for x in j if x.get("path") == "/boot-source")
    assert "banger.hostname=calm-otter" in boot["boot_args"]
    assert "console=ttyS0" in boot["boot_args"]
    # The console and Firecracker's own lines land in firecracker.log.
    log = open(vm["console_log"]).read()
    assert "--- banger: firecracker start" in log
    assert "Running Firecracker" in log


def test_create_no_start_list_show(booted):
    env = booted
    env.banger("vm", "create", "--name", "idle-one", "--no-start", "--vcpu", "2",
               "--memory", "512", "--disk-size", "256M", check=True)
    vm = env.vm("idle-one")
    assert vm["state"] == "stopped" and vm["pid"] == 0
    assert vm["vcpu"] == 2 and vm["memory_mib"] == 512 and vm["disk_size"] == 256 << 20
    assert os.path.getsize(vm["work_disk"]["path"]) == 256 << 20
    # Sparse: a fresh disk allocates a few MB at most.
    assert vm["work_disk"]["allocated_bytes"] < 16 << 20
    assert vm["overlay"]["allocated_bytes"] < 16 << 20
    lst = env.bjson("vm", "list")
    assert [v["name"] for v in lst] == ["idle-one"]
    r = env.banger("vm", "list", check=True)
    assert "idle-one" in r.stdout and "stopped" in r.stdout and "NAME" in r.stdout
    r = env.banger("vm", "show", "idle-one", check=True)
    assert vm["dir"] in r.stdout and "firecracker.log" in r.stdout


def test_generated_name_is_adjective_animal(booted):
    r = booted.banger("vm", "create", "--no-start", "--json", check=True)
    name = json.loads(r.stdout)["name"]
    a, _, b = name.partition("-")
    assert a and b and name.islower()


def test_stop_start_keeps_disks_untouched(booted):
    env = booted
    env.banger("vm", "create", "--name", "keeper", check=True)
    vm = env.vm("keeper")
    before = {p: os.stat(vm[k]["path"]).st_ino for k, p in (("overlay", "o"), ("work_disk", "w"))}
    with open(vm["work_disk"]["path"], "r+b") as f:  # a "guest write"
        f.seek(50 << 20)
        f.write(b"persist-me")
    r = env.banger("vm", "stop", "keeper", check=True)
    assert "keeper: stopped" in r.stdout
    vm2 = env.vm("keeper")
    assert vm2["state"] == "stopped" and not alive(vm["pid"])
    assert not os.path.exists(vm["api_socket"])
    env.banger("vm", "start", "keeper", check=True)
    vm3 = env.vm("keeper")
    assert vm3["state"] == "running" and vm3["pid"] != vm["pid"]
    after = {p: os.stat(vm3[k]["path"]).st_ino for k, p in (("overlay", "o"), ("work_disk", "w"))}
    assert before == after
    with open(vm3["work_disk"]["path"], "rb") as f:
        f.seek(50 << 20)
        assert f.read(10) == b"persist-me"
    # Stop used SendCtrlAltDel.
    j = env.journal_of(vm["id"])
    assert any(x.get("body") == {"action_type": "SendCtrlAltDel"} for x in j)
    r = env.banger("vm", "restart", "keeper", check=True)
    assert "keeper: running" in r.stdout


def test_stop_escalates_when_guest_ignores_ctrl_alt_del(booted):
    env = booted
    env.fcemu(ctrl_alt_del="ignore")
    env.banger("vm", "create", "--name", "stubborn", check=True)
    pid = env.vm("stubborn")["pid"]
    t0 = time.time()
    env.banger("vm", "stop", "stubborn", check=True)
    assert not alive(pid)
    vm = env.vm("stubborn")
    assert vm["state"] == "stopped"
    msgs = [l["msg"] for l in env.log_lines()]
    assert "guest did not shut down, sending SIGTERM" in msgs


def test_vmm_crash_is_seen_with_status_and_log(booted):
    env = booted
    env.banger("vm", "create", "--name", "crashy", check=True)
    vm = env.vm("crashy")
    os.kill(vm["pid"], signal.SIGSEGV)
    wait_state(env, "crashy", "stopped", timeout=2)
    vm = env.vm("crashy")
    assert "signal 11" in vm["last_error"]
    assert vm["console_log"] in vm["last_error"]
    r = env.banger("vm", "show", "crashy", check=True)
    assert "signal 11" in r.stdout


def test_guest_reboot_restarts_the_vm(booted):
    env = booted
    env.banger("vm", "create", "--name", "rebooter", check=True)
    vm = env.vm("rebooter")
    os.kill(vm["pid"], signal.SIGUSR1)  # emulator: guest reboot, exit 0
    env.wait_for(lambda: env.vm("rebooter")["pid"] not in (0, vm["pid"]) and
                 env.vm("rebooter")["state"] == "running", 10, "reboot")
    assert env.vm("rebooter")["last_exit"] == "guest rebooted"


def test_guest_poweroff_stops_the_vmm(booted):
    env = booted
    env.banger("vm", "create", "--name", "sleepy", check=True)
    vm = env.vm("sleepy")
    os.kill(vm["pid"], signal.SIGUSR2)  # emulator: "reboot: Power down", stays alive
    wait_state(env, "sleepy", "stopped", timeout=5)
    assert not alive(vm["pid"])
    assert env.vm("sleepy")["last_exit"] == "guest powered off"


def test_kill_sends_the_signal(booted):
    env = booted
    env.banger("vm", "create", "--name", "target", check=True)
    pid = env.vm("target")["pid"]
    r = env.banger("vm", "kill", "--signal", "TERM", "target", check=True)
    assert not alive(pid)
    assert env.vm("target")["state"] == "stopped"
    r = env.banger("vm", "kill", "--signal", "BOGUS", "target")
    assert r.returncode != 0 and "BOGUS" in r.stderr


def test_delete_refuses_running_unless_forced_and_removes_everything(booted):
    env = booted
    env.banger("vm", "create", "--name", "doomed", check=True)
    vm = env.vm("doomed")
    r = env.banger("vm", "delete", "doomed")
    assert r.returncode != 0 and "running" in r.stderr and "--force" in r.stderr
    assert os.path.isdir(vm["dir"])
    r = env.banger("vm", "delete", "--force", "doomed", check=True)
    assert "doomed: deleted" in r.stdout
    assert not os.path.exists(vm["dir"])
    assert not alive(vm["pid"])
    assert env.bjson("vm", "list") == []
    assert "doomed" not in (env.state / "ssh" / "known_hosts").read_text()


def test_several_names_each_get_a_line(booted):
    env = booted
    for n in ("aa", "bb"):
        env.banger("vm", "create", "--name", n, "--no-start", check=True)
    r = env.banger("vm", "start", "aa", "ghost", "bb")
    assert r.returncode == 3  # partly done: ghost failed, aa and bb started
    assert "aa: running" in r.stdout and "bb: running" in r.stdout
    assert "ghost" in r.stderr
    r = env.banger("vm", "stop", "aa", "bb", check=True)
    assert r.stdout.count("stopped") == 2


def test_set_grows_work_disk_and_refuses_while_running(booted):
    env = booted
    env.banger("vm", "create", "--name", "grower", "--disk-size", "128M", check=True)
    r = env.banger("vm", "set", "grower", "--memory", "512")
    assert r.returncode != 0 and "stopped" in r.stderr
    env.banger("vm", "stop", "grower", check=True)
    env.banger("vm", "set", "grower", "--disk-size", "256M", "--memory", "512", "--vcpu", "2",
               check=True)
    vm = env.vm("grower")
    assert vm["disk_size"] == 256 << 20 and vm["memory_mib"] == 512 and vm["vcpu"] == 2
    out = subprocess.run(["dumpe2fs", "-h", vm["work_disk"]["path"]], capture_output=True,
                         text=True).stdout
    fields = dict(l.split(":", 1) for l in out.splitlines() if ":" in l)
    blocks = int(fields["Block count"]) * int(fields["Block size"])
    assert blocks == 256 << 20
    r = env.banger("vm", "set", "grower", "--disk-size", "128M")
    assert r.returncode != 0 and "shrink" in r.stderr
    env.banger("vm", "start", "grower", check=True)
    j = env.journal_of(vm["id"])
    mcs = [x["body"] for x in j if x.get("path") == "/machine-config"]
    assert mcs[-1] == {"vcpu_count": 2, "mem_size_mib": 512, "smt": False}


def test_daemon_sigkill_and_restart_keeps_vms_running_and_manageable(booted):
    env = booted
    env.banger("vm", "create", "--name", "survivor", check=True)
    vm = env.vm("survivor")
    os.kill(env.daemon_pid(), signal.SIGKILL)
    time.sleep(0.2)
    assert alive(vm["pid"])
    vm2 = env.vm("survivor")  # auto-starts a new daemon, which re-adopts
    assert vm2["state"] == "running" and vm2["pid"] == vm["pid"]
    env.banger("vm", "stop", "survivor", check=True)
    assert not alive(vm["pid"])
    assert env.vm("survivor")["state"] == "stopped"


def test_vm_that_died_while_daemon_was_down_is_stopped(booted):
    env = booted
    env.banger("vm", "create", "--name", "orphan", check=True)
    vm = env.vm("orphan")
    env.stop_daemon()
    os.kill(vm["pid"], signal.SIGKILL)
    time.sleep(0.2)
    vm2 = env.vm("orphan")
    assert vm2["state"] == "stopped"
    assert vm2["last_exit"] == "exited while the daemon was down"


@pytest.mark.parametrize("args,needle", [
    (["--name", "Bad_Name"], "contains"),
    (["--name", "-lead"], "hyphen"),
    (["--name", "a" * 64], "longer than 63"),
    (["--disk-size", "0"], "greater than zero"),
    (["--disk-size", "-5G"], "positive"),
    (["--disk-size", "99999999999T"], "too large"),
    (["--disk-size", "12Q"], "unknown suffix"),
    (["--disk-size", "1.5G"], "fractions"),
    (["--vcpu", "0"], "positive"),
    (["--memory", "lots"], "positive"),
    (["--image", "nope"], "nope"),
])
def test_bad_create_input_is_refused_and_creates_nothing(booted, args, needle):
    env = booted
    r = env.banger("vm", "create", "--no-start", *args)
    assert r.returncode != 0
    assert needle in r.stderr
    assert env.bjson("vm", "list") == []
    vms = env.state / "vms"
    assert not vms.exists() or os.listdir(vms) == []


def test_duplicate_name_is_refused(booted):
    env = booted
    env.banger("vm", "create", "--name", "twin", "--no-start", check=True)
    r = env.banger("vm", "create", "--name", "twin", "--no-start")
    assert r.returncode != 0 and "already exists" in r.stderr
    assert len(env.bjson("vm", "list")) == 1


def test_missing_image_file_is_refused(booted):
    env = booted
    (env.images / "vmlinux").unlink()
    r = env.banger("vm", "create", "--name", "nokernel", "--no-start")
    assert r.returncode != 0 and "vmlinux" in r.stderr
    assert env.bjson("vm", "list") == []


def test_missing_firecracker_binary_is_refused(booted):
    env = booted
    cfg = (env.config_dir / "config.toml").read_text().replace(str(FCEMU), "/nonexistent/fc")
    env.write_config(cfg)
    env.banger("daemon", "stop", check=True)
    r = env.banger("vm", "create", "--name", "nofc", "--no-start")
    assert r.returncode != 0 and "firecracker" in r.stderr and "firecracker_bin" in r.stderr
    assert env.bjson("vm", "list") == []


def test_boot_failure_names_stage_fault_and_log(booted):
    env = booted
    env.fcemu(fail_instance_start=True)
    r = env.banger("vm", "create", "--name", "broken")
    assert r.returncode != 0
    assert "vm start broken" in r.stderr
    assert "firecracker.log" in r.stderr
    vm = env.vm("broken")
    assert vm["state"] == "stopped" and vm["last_error"]
    assert not os.path.exists(vm["api_socket"])


def vmm_pids(vm_id):
    """Pids of live VMM processes started for this VM (its id is in their argv)."""
    out = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout
    pids = []
    for line in out.splitlines()[1:]:
        pid, stat, args = (line.split(None, 2) + ["", ""])[:3]
        if vm_id in args and not stat.startswith("Z"):
            pids.append(int(pid))
    return pids


def test_set_disk_size_holds_the_vm_against_a_concurrent_start(booted, tmp_path):
    """A `vm start` (or delete) that comes while `vm set --disk-size` grows the
    disk is refused, and the set does not write back a stale record over it:
    at the end the record says what the host shows."""
    import shutil
    import threading
    env = booted
    env.banger("vm", "create", "--name", "racer", "--no-start", check=True)
    vm = env.vm("racer")
    # e2fsck, the first step of growing the disk, waits on a gate the test
    # opens: the window between the set's check and its write is held open.
    shim = tmp_path / "shim"
    shim.mkdir()
    inside, gate = tmp_path / "in-e2fsck", tmp_path / "go"
    real = shutil.which("e2fsck") or "/sbin/e2fsck"
    (shim / "e2fsck").write_text(
        f"#!/bin/sh\ntouch {inside}\nwhile [ ! -e {gate} ]; do sleep 0.05; done\n"
        f"exec {real} \"$@\"\n")
    os.chmod(shim / "e2fsck", 0o755)
    env.banger("daemon", "stop", check=True)
    env.env["PATH"] = f"{shim}:{env.env['PATH']}"
    result = {}
    setter = threading.Thread(target=lambda: result.update(
        set=env.banger("vm", "set", "racer", "--disk-size", "256M")))
    setter.start()
    try:
        env.wait_for(inside.exists, 30, "vm set to be growing the disk")
        start = env.banger("vm", "start", "racer")
        delete = env.banger("vm", "delete", "--force", "racer")
    finally:
        gate.touch()
        setter.join(60)
    assert result["set"].returncode == 0, result["set"].stderr
    assert delete.returncode != 0 and "busy" in delete.stderr
    final = env.vm("racer")
    assert final["disk_size"] == 256 << 20
    if start.returncode == 0:
        # A start that got in must still be what the record says.
        assert final["state"] == "running" and alive(final["pid"])
        assert vmm_pids(vm["id"]) == [final["pid"]]
    else:
        assert "vm start racer: the VM is busy" in start.stderr
        assert "try again" in start.stderr
        assert final["state"] == "stopped" and final["pid"] == 0
        assert vmm_pids(vm["id"]) == []
        # Once the set is done the VM starts, with the grown disk.
        env.banger("vm", "start", "racer", check=True)
        assert env.vm("racer")["state"] == "running"
    assert os.path.getsize(final["work_disk"]["path"]) == 256 << 20


def test_impossible_moves_name_the_state_and_a_way_out(booted):
    env = booted
    env.banger("vm", "create", "--name", "idle", "--no-start", check=True)
    r = env.banger("vm", "kill", "idle")
    assert r.returncode != 0
    assert "vm kill idle: the VM is stopped" in r.stderr
    assert "banger vm start idle" in r.stderr
    # Starting a running VM and stopping a stopped one are no-ops.
    env.banger("vm", "stop", "idle", check=True)
    env.banger("vm", "start", "idle", check=True)
    pid = env.vm("idle")["pid"]
    env.banger("vm", "start", "idle", check=True)
    assert env.vm("idle")["pid"] == pid
    status, body = env.api("POST", "/v1/vms/idle/stop", {})
    assert status == 200 and body["state"] == "stopped"


def test_create_on_a_full_state_directory_says_so_and_leaves_nothing(booted):
    """The state directory on a small tmpfs (in a mount namespace of its own,
    so the host's mounts are untouched), filled up: a create fails with the
    one "no space left" error, leaves no record and no directory, the other
    VM and the daemon carry on, and once space is freed create works."""
    env = booted
    env.banger("daemon", "stop", check=True)
    st = env.env["XDG_STATE_HOME"]
    img = env.images
    script = f"""
mount -t tmpfs -o size=16m tmpfs {st} || exit 99
B={BANGER}
$B image register --name default --rootfs {img}/rootfs.ext4 --kernel {img}/vmlinux \
   --initrd {img}/initrd.img >/dev/null || exit 98
$B vm create --name first --no-start --disk-size 64M >/dev/null || exit 97
dd if=/dev/zero of={st}/filler bs=64k 2>/dev/null
echo "== full"
$B vm create --name second --no-start --disk-size 64M
echo "== rc=$?"
$B vm list --json
echo "== dirs"
ls {st}/banger/vms
rm {st}/filler
echo "== freed"
$B vm create --name third --no-start --disk-size 64M >/dev/null; echo "== rc=$?"
$B daemon stop >/dev/null
"""
    r = subprocess.run(["ip", "netns", "exec", env.netns, "unshare", "-m", "--propagation",
                        "private", "sh", "-c", script], env=env.env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    # Sections of the output: "full", "rc=N" (then the list), "dirs", "freed", "rc=N".
    names = [p.split("\n", 1)[0] for p in r.stdout.split("== ")[1:]]
    assert names == ["full", "rc=1", "dirs", "freed", "rc=0"], r.stdout + r.stderr
    parts = dict(p.split("\n", 1) for p in r.stdout.split("== ")[1:])
    assert (f"banger: vm create second: no space left on device (state directory "
            f"{st}/banger)") in r.stderr
    assert "free some space" in r.stderr
    listed = json.loads(parts["rc=1"])
    assert [v["name"] for v in listed] == ["first"]
    assert listed[0]["state"] == "stopped"
    assert len(parts["dirs"].split()) == 1 and listed[0]["id"] in parts["dirs"]


def test_vmm_exit_on_a_full_state_directory_is_not_lost(booted):
    """A VMM dies while the state directory is full, so its exit may not be
    written: the API still shows the VM stopped (with why), a start says the
    disk is full, and once space is freed the start records the exit and
    boots."""
    env = booted
    env.banger("daemon", "stop", check=True)
    st = env.env["XDG_STATE_HOME"]
    img = env.images
    show = "import json,sys; v=json.load(sys.stdin); print(v['state'], v['pid'], v['last_exit'])"
    script = f"""
mount -t tmpfs -o size=16m tmpfs {st} || exit 99
B={BANGER}
$B image register --name default --rootfs {img}/rootfs.ext4 --kernel {img}/vmlinux \
   --initrd {img}/initrd.img >/dev/null || exit 98
$B vm create --name fragile --disk-size 64M >/dev/null 2>&1 || exit 97
P=$($B vm show fragile --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
dd if=/dev/zero of={st}/filler bs=4k 2>/dev/null
kill -SEGV $P
while kill -0 $P 2>/dev/null; do sleep 0.05; done
sleep 0.5
echo "== full"
$B vm show fragile --json | python3 -c "{show}"
$B vm start fragile; echo "== rc=$?"
rm {st}/filler
$B vm start fragile >/dev/null; echo "== freed rc=$?"
$B vm show fragile --json | python3 -c "{show}"
$B daemon stop >/dev/null
"""
    r = subprocess.run(["ip", "netns", "exec", env.netns, "unshare", "-m", "--propagation",
                        "private", "sh", "-c", script], env=env.env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    parts = r.stdout.split("== ")[1:]
    assert [p.split("\n", 1)[0] for p in parts] == ["full", "rc=1", "freed rc=0"], r.stdout
    assert parts[0].split("\n")[1] == "stopped 0 firecracker was killed by signal 11 " \
        "(Segmentation fault)"
    assert f"no space left on device (state directory {st}/banger)" in r.stderr
    state, pid, _ = parts[2].split("\n")[1].split(" ", 2)
    assert state == "running" and alive(int(pid))


def _vmm_pids(env):
    """Pids of live emulator processes whose API socket is in env's run dir."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
            state = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(a.startswith(str(env.runtime).encode()) for a in argv):
            out.append(int(d))
    return out


def test_daemon_killed_mid_boot_leaves_no_unrecorded_vmm(booted):
    env = booted
    env.banger("vm", "create", "--name", "keeper", check=True)
    keeper = env.vm("keeper")
    env.fcemu(boot_delay_ms=4000)
    p = subprocess.Popen(["ip", "netns", "exec", env.netns, str(BANGER), "vm", "create",
                          "--name", "midboot"], env=env.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    env.wait_for(lambda: len(_vmm_pids(env)) == 2, timeout=20, what="the second VMM spawned")
    os.kill(env.daemon_pid(), signal.SIGKILL)
    p.communicate(timeout=30)
    # A planted process that looks like a VMM of a VM banger never had.
    stray = subprocess.Popen(["sh", "-c", "sleep 600", "vmm", f"{env.runtime}/banger/{'ab' * 8}.sock"])
    assert stray.poll() is None
    try:
        env.fcemu()
        vm = env.vm("midboot")  # restarts the daemon, which reconciles
        assert vm["state"] == "stopped", vm
        assert env.vm("keeper")["state"] == "running"
        env.wait_for(lambda: _vmm_pids(env) == [keeper["pid"]], timeout=10,
                     what="only the recorded VMM left")
        env.wait_for(lambda: stray.poll() is not None, timeout=10, what="stray killed")
        assert any("no VM record owns" in json.dumps(line) for line in env.log_lines())
        # The VM stopped mid-boot starts cleanly again.
        env.banger("vm", "start", "midboot", check=True)
        assert env.vm("midboot")["state"] == "running"
    finally:
        stray.kill()
