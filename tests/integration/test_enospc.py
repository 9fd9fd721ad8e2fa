"""A full state directory: the env's XDG state dir is a small loop-mounted
ext4, filled to the last block once the daemon runs. Then `vm create`,
`image build`, `image register`, `vm stop` and the daemon's own log writes
hit ENOSPC. What the user must see: a clear error ("no space left on
device (state directory PATH)"), nothing half-made (no new record, no new
VM or image directory), existing VMs intact (listed, same state, same disk
contents, a running one still running), a daemon that keeps answering, and
once space is freed, a create that works.

VM disks are sparse, so making one may well succeed on a full filesystem;
the failure comes from mkdir, mkfs, SQLite or the log. The tests assert
the user-visible result, not which write failed.
"""
import errno
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import alive
from test_image_build import GUEST_PKGS, make_base, make_bundle

FS_SIZE = "48M"


@pytest.fixture
def small_state(flavoured_env):
    env = flavoured_env
    image, mnt = env.root / "state.ext4", env.root / "statefs"
    mnt.mkdir()
    subprocess.run(["truncate", "-s", FS_SIZE, str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True)
    env.use_state_home(mnt)
    env.statefs = mnt
    try:
        yield env
    finally:
        # Nothing may hold a file there when it is unmounted.
        env.stop_daemon()
        env.kill_vmms()
        if subprocess.run(["umount", str(mnt)]).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)])


def free_bytes(env):
    st = os.statvfs(env.statefs)
    return st.f_bavail * st.f_frsize


def fill(env, leave=0):
    """Takes every free block of the state filesystem but `leave` bytes: one
    big preallocated file, then (leave=0) small writes until the kernel says
    ENOSPC."""
    big = env.statefs / "filler"
    with open(big, "wb") as f:
        size = free_bytes(env) - leave
        if leave:
            os.posix_fallocate(f.fileno(), 0, size)
            return
        while size > 0:
            try:
                os.posix_fallocate(f.fileno(), 0, size)
                break
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                size -= 1 << 20
    with open(env.statefs / "filler-tail", "wb", buffering=0) as f:
        while True:
            try:
                f.write(b"\0" * 4096)
                os.fsync(f.fileno())
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
    assert os.statvfs(env.statefs).f_bavail == 0


def free(env):
    for n in ("filler", "filler-tail"):
        (env.statefs / n).unlink(missing_ok=True)


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot(env):
    """What must not change: each VM's record fields and disk contents, and
    the VM directories."""
    out = {}
    for v in env.bjson("vm", "list"):
        out[v["name"]] = {
            "state": v["state"], "pid": v["pid"], "disk_size": v["disk_size"],
            "memory_mib": v["memory_mib"], "overlay": digest(v["overlay"]["path"]),
            "work": digest(v["work_disk"]["path"])}
    vms = env.state / "vms"
    return out, sorted(p.name for p in vms.iterdir()) if vms.exists() else []


def assert_clear_enospc(env, r):
    assert r.returncode != 0, r.stdout
    assert "no space left on device" in r.stderr.lower(), r.stderr
    assert f"state directory {env.state}" in r.stderr, r.stderr
    for log in re.findall(r"\(see ([^)]+)\)", r.stderr):
        assert os.path.exists(log), f"the error points at {log}, which does not exist"


def test_create_on_full_state_dir_fails_cleanly_and_changes_nothing(small_state):
    env = small_state
    env.register_default_image()
    env.banger("vm", "create", "--name", "runner", check=True)
    room = free_bytes(env)
    env.banger("vm", "create", "--name", "idler", "--no-start", check=True)
    cost = room - free_bytes(env)  # what one VM's record, keys and disks take
    before = snapshot(env)
    runner_pid = env.vm("runner")["pid"]

    # Room for a third of a VM: the disks run out midway. Then nothing at all.
    for leave in (cost // 3, 0):
        fill(env, leave)
        r = env.banger("vm", "create", "--name", "newbie")
        assert_clear_enospc(env, r)
        r = env.banger("vm", "create", "--name", "newbie2", "--no-start")
        assert_clear_enospc(env, r)
        # The daemon still serves; nothing was added, nothing changed.
        assert snapshot(env) == before, f"left {leave} bytes free"
        assert alive(runner_pid)
        assert env.vm("runner")["state"] == "running"
        assert env.settled_problems() == []
        free(env)

    r = env.banger("vm", "create", "--name", "newbie")
    assert r.returncode == 0, r.stderr
    assert env.vm("newbie")["state"] == "running"
    assert env.settled_problems() == []
    env.assert_sanitizer_clean()


def test_stop_on_full_state_dir_fails_clearly_or_stops(small_state):
    """`vm stop` must write the new state: it either stops the VM (and says
    so truthfully) or refuses with the ENOSPC error and leaves it running."""
    env = small_state
    env.fcemu(shutdown_delay_ms=0)
    env.register_default_image()
    env.banger("vm", "create", "--name", "halter", check=True)
    pid = env.vm("halter")["pid"]
    fill(env)
    r = env.banger("vm", "stop", "halter")
    vm = env.vm("halter")
    if r.returncode == 0:
        assert vm["state"] == "stopped" and not alive(pid)
    else:
        assert_clear_enospc(env, r)
        assert vm["state"] == "running" and vm["pid"] == pid and alive(pid)
    assert env.settled_problems() == []
    free(env)
    env.banger("vm", "stop", "halter", check=True)
    env.banger("vm", "start", "halter", check=True)
    assert env.settled_problems() == []
    env.assert_sanitizer_clean()


def bundle_config(env):
    bundle = make_bundle(env.root / "bundle")
    make_base(bundle / "rootfs.ext4", GUEST_PKGS + ["less"])
    text = (env.config_dir / "config.toml").read_text()
    (env.config_dir / "config.toml").write_text(
        re.sub(r'runtime_dir = ".*"', f'runtime_dir = "{bundle}"', text))


def image_dirs(env):
    d = env.state / "images"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_image_build_and_register_on_full_state_dir(small_state):
    env = small_state
    bundle_config(env)  # image build copies the bundle's base: no mmdebstrap
    kernel, rootfs, initrd = env.register_default_image()
    fill(env)

    r = env.banger("image", "build", "--name", "fresh", timeout=120)
    assert_clear_enospc(env, r)
    assert [i["name"] for i in env.bjson("image", "list")] == ["default"]
    assert image_dirs(env) == []

    # Registering only writes the database, which may still have room in
    # its write-ahead log: either it works, or it fails clearly.
    r = env.banger("image", "register", "--name", "extra", "--rootfs", rootfs, "--kernel",
                   kernel, "--initrd", initrd)
    names = [i["name"] for i in env.bjson("image", "list")]
    if r.returncode == 0:
        assert "extra" in names and env.bjson("image", "show", "extra")["state"] == "ready"
    else:
        assert_clear_enospc(env, r)
        assert names == ["default"]
    assert image_dirs(env) == []
    assert env.settled_problems() == []

    free(env)
    r = env.banger("image", "build", "--name", "fresh", timeout=120)
    assert r.returncode == 0, r.stderr
    assert env.bjson("image", "show", "fresh")["state"] == "ready"
    assert env.settled_problems() == []
    env.assert_sanitizer_clean()


def parsed_lines(path):
    """The log's lines that are whole JSON objects (a write cut short by
    ENOSPC may leave a partial one)."""
    out = []
    for line in Path(path).read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_daemon_keeps_serving_when_its_log_cannot_be_written(small_state):
    env = small_state
    env.register_default_image()
    env.banger("vm", "create", "--name", "steady", "--no-start", check=True)
    pid = env.daemon_pid()
    fill(env)
    log = env.state / "bangerd.log"
    # Each request logs (the config's level is debug): together far more
    # than the slack left in the log's last block.
    for i in range(60):
        status, body = env.api("GET", "/v1/vms")
        assert status == 200 and [v["name"] for v in body["vms"]] == ["steady"]
        status, body = env.api("POST", "/v1/vms", raw="{broken")
        assert status == 400 and body["error"]["code"] == "invalid"
    assert os.statvfs(env.statefs).f_bavail == 0
    assert env.daemon_pid() == pid and alive(pid)
    assert env.vm("steady")["state"] == "stopped"

    free(env)
    env.api("GET", "/v1/vms/steady-marker-after-free")
    assert any(l.get("path") == "/v1/vms/steady-marker-after-free"
               or "steady-marker-after-free" in str(l) for l in parsed_lines(log)), \
        "logging did not resume once space was free"
    env.banger("vm", "start", "steady", check=True)
    assert env.daemon_pid() == pid
    assert env.settled_problems() == []
    env.assert_sanitizer_clean()


def test_suspend_without_room_for_the_memory_is_refused(small_state):
    """The guest's 256 MiB cannot fit in the 48 MiB state filesystem: the
    suspend is refused before anything is written, naming the space needed
    and what to do, and the VM runs on."""
    env = small_state
    env.register_default_image()
    env.banger("vm", "create", "--name", "sleepy", check=True)
    vm = env.vm("sleepy")
    r = env.banger("vm", "suspend", "sleepy")
    assert r.returncode == 1, r.stdout
    assert "not enough space to save the guest's state" in r.stderr
    assert "MiB needed" in r.stderr and "banger vm stop sleepy" in r.stderr
    after = env.vm("sleepy")
    assert after["state"] == "running" and after["pid"] == vm["pid"] and alive(vm["pid"])
    assert not any(p.name.startswith("suspend") for p in Path(vm["dir"]).iterdir())
    assert env.settled_problems() == []
    env.assert_sanitizer_clean()
