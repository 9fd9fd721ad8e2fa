"""End to end, shared host directories of a real guest (issue 12): a rw
share and a ro one given at create, read and written from both sides (the
guest's files owned by the directory's owner on the host), writes refused
on the ro share, symlink escapes that reach nothing of the host, `vm ssh`
from inside the share starting at the matching guest path, the shares back
after stop/start and after suspend/resume, and `vm mount`/`vm umount` on
the running VM with its errors. One boot, one restart, one resume."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import alive, netns  # noqa: E402,F401
from test_e2e_qemu import RUNTIME, qenv, ssh  # noqa: E402,F401

pytestmark = pytest.mark.skipif(
    not (RUNTIME / "bundle.json").exists(),
    reason=f"no runtime bundle at {RUNTIME}: run `make runtime-bundle`")

NAME = "e2e-two"  # qenv deletes it at the end
OWNER = 4321  # the rw share's owner: the guest's files must become theirs


def eventually(fn, what, timeout=15):
    """fn() until it is true (host edits show in the guest within sshfs's
    2 s cache), else fail naming what."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.5)


def share_pids(tag):
    r = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True)
    return sorted(int(p) for p in r.stdout.split())


def servers(ssh_pids):
    """The jailed sftp-server of each share session: the ssh's sibling,
    started by the same daemon (so: the same parent) with our command line."""
    out = []
    for p in ssh_pids:
        ppid = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1]
        r = subprocess.run(["pgrep", "-P", ppid, "-f", "^sftp-server -e -l INFO -d /share"],
                           capture_output=True, text=True)
        out += [int(x) for x in r.stdout.split()]
    return sorted(set(out))


def mounts(env):
    return {m["guest"]: m for m in env.vm(NAME)["mounts"]}


def fstype(env, path):
    return ssh(env, NAME, "findmnt", "-n", "-o", "FSTYPE", "--mountpoint", path, check=False)


def test_shares_both_ways_ro_escapes_cwd_restart_resume(qenv, tmp_path):
    env = qenv
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "hello.txt").write_text("hello from the host\n")
    secret = tmp_path / "secret.txt"  # outside the share, on the host only
    secret.write_text("host secret\n")
    os.symlink(str(secret), proj / "esc-abs")
    os.symlink("../secret.txt", proj / "esc-rel")
    for p in (proj, proj / "sub", proj / "hello.txt"):
        os.lchown(p, OWNER, OWNER)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "readme").write_text("read me\n")
    g = str(proj)  # the default guest path: the same as the host's

    r = env.banger("vm", "create", "--name", NAME, "--mount", str(proj),
                   "--mount", f"{docs}:/mnt/docs:ro", timeout=400)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr
    m = mounts(env)
    assert m[g]["state"] == "mounted" and m[g]["ro"] is False and m[g]["host"] == g, m
    assert m["/mnt/docs"]["state"] == "mounted" and m["/mnt/docs"]["ro"] is True, m
    assert fstype(env, g) == "fuse.sshfs"

    # Host -> guest, and the host's owner shows as the guest's root.
    assert ssh(env, NAME, "cat", f"{g}/hello.txt") == "hello from the host"
    assert ssh(env, NAME, "stat", "-c", "%u", f"{g}/hello.txt") == "0"
    # Guest -> host: new files are the share owner's, not root's.
    ssh(env, NAME, "sh", "-c", f"echo from the guest > '{g}/sub/made.txt'")
    made = proj / "sub" / "made.txt"
    assert made.read_text() == "from the guest\n"
    assert made.stat().st_uid == OWNER, made.stat()
    # A host edit and a new host file show in the guest.
    (proj / "hello.txt").write_text("edited on the host\n")
    (proj / "new.txt").write_text("new\n")
    eventually(lambda: ssh(env, NAME, "cat", f"{g}/hello.txt") == "edited on the host",
               "the host's edit in the guest")
    eventually(lambda: "new.txt" in ssh(env, NAME, "ls", g), "the host's new file in the guest")
    # Renames and deletes from the guest reach the host.
    ssh(env, NAME, "mv", f"{g}/new.txt", f"{g}/renamed.txt")
    ssh(env, NAME, "rm", f"{g}/sub/made.txt")
    assert (proj / "renamed.txt").exists() and not (proj / "new.txt").exists()
    assert not made.exists()

    # The ro share: readable, every write refused, the host untouched.
    assert ssh(env, NAME, "cat", "/mnt/docs/readme") == "read me"
    for cmd in (["touch", "/mnt/docs/x"], ["rm", "/mnt/docs/readme"],
                ["sh", "-c", "echo x >> /mnt/docs/readme"], ["mkdir", "/mnt/docs/d"]):
        r = env.banger("vm", "ssh", NAME, "--", *cmd, timeout=120)
        assert r.returncode != 0, cmd
        assert "Read-only file system" in r.stderr or "Permission denied" in r.stderr, r.stderr
    assert sorted(os.listdir(docs)) == ["readme"] and (docs / "readme").read_text() == "read me\n"

    # Escapes: symlinks to host files outside the share reach nothing of the
    # host (the absolute one resolves in the guest; the server never follows).
    for link in ("esc-abs", "esc-rel"):
        out = ssh(env, NAME, "sh", "-c", f"cat '{g}/{link}' 2>&1 || echo refused", check=False)
        assert "host secret" not in out and "refused" in out, (link, out)
    out = ssh(env, NAME, "sh", "-c", f"cat '{g}/../secret.txt' 2>&1 || echo refused", check=False)
    assert "host secret" not in out, out

    # vm ssh from inside the share starts at the matching guest path.
    r = env.banger("vm", "ssh", NAME, "--", "pwd", cwd=proj / "sub", timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"{g}/sub", (r.stdout, r.stderr)
    r = env.banger("vm", "ssh", NAME, "--", "pwd", cwd=tmp_path, timeout=120)
    assert r.stdout.strip() == "/root", r.stdout

    # Stop and start: mounted again at boot, with the host's latest content.
    env.banger("vm", "stop", NAME, check=True, timeout=300)
    assert mounts(env)[g]["state"] == "down"
    (proj / "while-stopped.txt").write_text("written while stopped\n")
    r = env.banger("vm", "start", NAME, timeout=400)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    assert mounts(env)[g]["state"] == "mounted"
    assert ssh(env, NAME, "cat", f"{g}/while-stopped.txt") == "written while stopped"
    assert ssh(env, NAME, "cat", "/mnt/docs/readme") == "read me"

    # Suspend and resume: the guest's old sshfs lost its connection; the
    # share is mounted afresh (one mount, not a stale one under a new one).
    env.banger("vm", "suspend", NAME, check=True, timeout=300)
    (proj / "while-suspended.txt").write_text("written while suspended\n")
    env.banger("vm", "start", NAME, check=True, timeout=300)
    eventually(lambda: mounts(env)[g]["state"] == "mounted", "the share after resume", 60)
    assert ssh(env, NAME, "cat", f"{g}/while-suspended.txt") == "written while suspended"
    n = ssh(env, NAME, "sh", "-c", f"findmnt -rn -o TARGET | grep -cx '{g}'", check=False)
    assert n == "1", n

    # The daemon killed -9: its share processes live on (and so does the
    # guest's mount); the next daemon ends them and mounts afresh.
    eventually(lambda: all(x["state"] == "mounted" for x in mounts(env).values()),
               "both shares after resume", 60)
    tag = f"banger-share={env.state}/"
    old = share_pids(tag)  # the ssh of each share (its jailed server is sftp-server)
    old_servers = servers(old)
    assert len(old) == 2 and len(old_servers) == 2, (old, old_servers)
    pid = env.daemon_pid()
    os.kill(pid, signal.SIGKILL)
    env.wait_for(lambda: not alive(pid), timeout=30, what="the daemon to die")
    assert all(alive(p) for p in old + old_servers)
    env.banger("vm", "list", check=True)  # starts the daemon
    eventually(lambda: all(x["state"] == "mounted" for x in mounts(env).values()),
               "the shares after a daemon restart", 60)
    eventually(lambda: not any(alive(p) for p in old + old_servers),
               "the old daemon's share processes to end")
    assert len(share_pids(tag)) == 2 and len(servers(share_pids(tag))) == 2
    assert ssh(env, NAME, "cat", f"{g}/hello.txt") == "edited on the host"
    n = ssh(env, NAME, "sh", "-c", f"findmnt -rn -o TARGET | grep -cx '{g}'", check=False)
    assert n == "1", n

    # vm umount and vm mount on the running VM.
    r = env.banger("vm", "umount", NAME, "/mnt/docs", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "/mnt/docs" not in mounts(env)
    assert fstype(env, "/mnt/docs") == ""
    r = env.banger("vm", "mount", NAME, str(docs), "/root/docs", "--ro", timeout=120)
    assert r.returncode == 0, r.stderr
    assert mounts(env)["/root/docs"]["state"] == "mounted"
    assert ssh(env, NAME, "cat", "/root/docs/readme") == "read me"
    # Errors change nothing.
    before = env.vm(NAME)["mounts"]
    for args, words in (([str(tmp_path / "nope")], "No such file"),
                        ([str(secret)], "not a directory"),
                        ([str(docs), "/etc"], "system directory"),
                        ([str(docs), "/root/docs"], "already has a share"),
                        ([str(docs), "/root/docs/inner"], "inside one another")):
        r = env.banger("vm", "mount", NAME, *args, timeout=120)
        assert r.returncode != 0 and words in r.stderr, (args, r.stderr)
    assert env.vm(NAME)["mounts"] == before
    r = env.banger("vm", "umount", NAME, "/mnt/nothing")
    assert r.returncode == 1 and "no share at /mnt/nothing" in r.stderr, r.stderr
