"""vm clone and vm snapshot against the emulator (issue 12): copies that
cost the data in the disks, a clone's own identity in its overlay, disk
checkpoints taken, listed, restored (with a suspended VM's state) and
deleted, refusals, and a restore cut short by a crash."""
import json
import os
import signal
import subprocess
from pathlib import Path


def debugfs_cat(image, path):
    r = subprocess.run(["debugfs", "-R", f"cat {path}", str(image)], capture_output=True,
                       text=True)
    return r.stdout


def write_into(image, path, text, tmp):
    src = tmp / "payload"
    src.write_text(text)
    subprocess.run(["debugfs", "-w", "-R", f"rm {path}", str(image)], capture_output=True)
    subprocess.run(["debugfs", "-w", "-R", f"write {src} {path}", str(image)],
                   capture_output=True, check=True)


def test_clone_copies_data_and_gets_its_own_identity(booted, tmp_path):
    env = booted
    env.banger("vm", "create", "--name", "origin", "--publish", "14000:80", check=True)
    src = env.vm("origin")
    r = env.banger("vm", "clone", "origin", "copy")
    assert r.returncode == 1 and "stopped or suspended" in r.stderr  # running: refused
    env.banger("vm", "stop", "origin", check=True)
    ov = Path(src["overlay"]["path"])
    write_into(ov, "/upper/etc/machine-id", "0123456789abcdef0123456789abcdef\n", tmp_path)
    r = env.banger("vm", "clone", "origin", "copy", check=True)
    assert "copy: cloned from origin" in r.stdout
    c, s = env.vm("copy"), env.vm("origin")
    assert c["state"] == "stopped" and c["image_id"] == s["image_id"]
    assert (c["vcpu"], c["memory_mib"], c["disk_size"]) == (s["vcpu"], s["memory_mib"],
                                                            s["disk_size"])
    assert c["id"] != s["id"] and c["mac"] != s["mac"] and c["address"] != s["address"]
    assert c["ports"] == []  # host ports stay the source's
    # Its own host key, in its overlay and in known_hosts; no machine-id.
    cov = Path(c["overlay"]["path"])
    key = Path(c["dir"]) / "ssh_host_ed25519_key.pub"
    assert key.read_text() != (Path(s["dir"]) / "ssh_host_ed25519_key.pub").read_text()
    assert debugfs_cat(cov, "/upper/etc/ssh/ssh_host_ed25519_key.pub") == key.read_text()
    assert debugfs_cat(cov, "/upper/etc/machine-id") == ""
    assert "0123456789abcdef" in debugfs_cat(ov, "/upper/etc/machine-id")  # source untouched
    kh = (env.state / "ssh" / "known_hosts").read_text()
    assert key.read_text().split()[1] in kh
    # Sparse: the copy takes what the source takes, not the disk's size.
    assert c["work_disk"]["allocated_bytes"] <= s["work_disk"]["allocated_bytes"] + (1 << 20)
    assert c["work_disk"]["apparent_bytes"] == s["work_disk"]["apparent_bytes"]
    clone_log = [l for l in env.log_lines() if l.get("msg") == "vm cloned"]
    assert clone_log and clone_log[-1]["bytes"] < 64 << 20
    # Both run, side by side.
    env.banger("vm", "start", "origin", "copy", check=True)
    assert env.vm("copy")["state"] == "running" and env.vm("origin")["state"] == "running"
    r = env.banger("vm", "clone", "missing", "x")
    assert r.returncode == 1 and "missing" in r.stderr
    r = env.banger("vm", "clone", "origin", "Bad_Name")
    assert r.returncode != 0 and "Bad_Name" in r.stderr
    assert env.settled_problems() == []


def test_snapshots_create_list_restore_delete(booted, tmp_path):
    env = booted
    env.banger("vm", "create", "--name", "snappy", check=True)
    r = env.banger("vm", "snapshot", "create", "snappy", "one")
    assert r.returncode == 1 and "stopped or suspended" in r.stderr
    env.banger("vm", "stop", "snappy", check=True)
    vm = env.vm("snappy")
    work = Path(vm["work_disk"]["path"])
    write_into(work, "/note.txt", "before\n", tmp_path)
    r = env.banger("vm", "snapshot", "create", "snappy", "one", check=True)
    assert "snapshot one taken" in r.stdout
    r = env.banger("vm", "snapshot", "create", "snappy", "one")
    assert r.returncode == 1 and "already has a snapshot named one" in r.stderr
    write_into(work, "/note.txt", "after\n", tmp_path)
    lst = json.loads(env.banger("vm", "snapshot", "list", "snappy", "--json", check=True).stdout)
    assert [s["tag"] for s in lst["snapshots"]] == ["one"]
    env.banger("vm", "start", "snappy", check=True)
    r = env.banger("vm", "snapshot", "restore", "snappy", "one")
    assert r.returncode == 1 and "stopped or suspended" in r.stderr  # running: refused
    env.banger("vm", "stop", "snappy", check=True)
    env.banger("vm", "snapshot", "restore", "snappy", "one", check=True)
    assert debugfs_cat(work, "/note.txt") == "before\n"
    assert env.vm("snappy")["state"] == "stopped"
    # A suspended VM's snapshot carries its memory state; restoring it
    # makes the VM suspended again, and start resumes it.
    env.banger("vm", "start", "snappy", check=True)
    env.banger("vm", "suspend", "snappy", check=True)
    env.banger("vm", "snapshot", "create", "snappy", "warm", check=True)
    env.banger("vm", "stop", "snappy", check=True)  # discards the live state
    assert env.vm("snappy")["state"] == "stopped"
    env.banger("vm", "snapshot", "restore", "snappy", "warm", check=True)
    assert env.vm("snappy")["state"] == "suspended"
    env.banger("vm", "start", "snappy", check=True)
    assert env.vm("snappy")["resume_note"].startswith("resumed")
    env.banger("vm", "stop", "snappy", check=True)
    # Restoring a cold snapshot over a suspended VM drops its state.
    env.banger("vm", "snapshot", "restore", "snappy", "warm", check=True)
    env.banger("vm", "snapshot", "restore", "snappy", "one", check=True)
    vm = env.vm("snappy")
    assert vm["state"] == "stopped" and not (Path(vm["dir"]) / "suspend").exists()
    env.banger("vm", "snapshot", "delete", "snappy", "one", check=True)
    r = env.banger("vm", "snapshot", "delete", "snappy", "one")
    assert r.returncode == 1 and "no snapshot named one" in r.stderr
    r = env.banger("vm", "snapshot", "restore", "snappy", "nope")
    assert r.returncode == 1 and "no snapshot named nope" in r.stderr
    assert env.settled_problems() == []


def kill_daemon(env):
    """SIGKILL, then wait until it is gone: a CLI that connects while it dies
    gets a reset, not the next daemon."""
    pid = env.daemon_pid()
    os.kill(pid, signal.SIGKILL)
    env.wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                 "zombie" in open(f"/proc/{pid}/status").read().lower(), 10, "daemon gone")


def test_interrupted_restore_is_finished_or_dropped(booted, tmp_path):
    env = booted
    env.banger("vm", "create", "--name", "crashy", "--no-start", check=True)
    vm = env.vm("crashy")
    work = Path(vm["work_disk"]["path"])
    write_into(work, "/note.txt", "snap\n", tmp_path)
    env.banger("vm", "snapshot", "create", "crashy", "s", check=True)
    write_into(work, "/note.txt", "live\n", tmp_path)
    d = Path(vm["dir"])
    # A restore that had committed (marker written) when the daemon died.
    subprocess.run(["cp", "--sparse=always", d / "snapshots" / "s" / "work.ext4",
                    str(work) + ".restore"], check=True)
    (d / "restore.pending").write_text("s")
    kill_daemon(env)
    env.banger("vm", "list", check=True)
    assert debugfs_cat(work, "/note.txt") == "snap\n"
    assert not (d / "restore.pending").exists() and not Path(str(work) + ".restore").exists()
    # One that had not: its copies go, the disks stay as they were.
    write_into(work, "/note.txt", "live\n", tmp_path)
    subprocess.run(["cp", "--sparse=always", d / "snapshots" / "s" / "work.ext4",
                    str(work) + ".restore"], check=True)
    (d / "snapshots" / ".half.tmp").mkdir()
    kill_daemon(env)
    env.banger("vm", "list", check=True)
    assert debugfs_cat(work, "/note.txt") == "live\n"
    assert not Path(str(work) + ".restore").exists()
    assert not (d / "snapshots" / ".half.tmp").exists()
    assert env.settled_problems() == []
