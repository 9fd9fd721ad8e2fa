"""Shared directories without a guest (issue 12): the jailed SFTP server
banger-sftp that serves a share, driven by OpenSSH's own sftp client (as
root, which becomes the directory's owner, and as an unprivileged user, in a
user namespace): nothing outside the share is reachable through "..",
absolute paths or symlinks, a ro share takes no write; and the daemon's
side against the emulator: --mount and vm mount/umount recorded on the VM
(canonical host path, default guest path), every bad input refused with a
clear error and nothing changed, kept across a daemon restart and a clone.
The guest side (sshfs in a real guest) is tests/e2e/test_e2e_share.py."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SFTP_HELPER = REPO / "banger-sftp"
SERVER = Path("/usr/lib/openssh/sftp-server")

pytestmark = pytest.mark.skipif(not SERVER.exists() or not shutil.which("sftp"),
                                reason="needs openssh-sftp-server and openssh-client")


def sftp(share, script, ro=False, user=None):
    """Runs sftp's batch script against banger-sftp serving share; returns
    (exit status, output). A line starting with '-' may fail."""
    helper = f"{SFTP_HELPER} {'--ro ' if ro else ''}{share}"
    argv = ["sftp", "-b", "-", "-D", helper]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
    r = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture
def share(tmp_path):
    """A share owned by uid 4321, next to a host secret and a host dir."""
    root = Path(tempfile.mkdtemp(prefix="banger-share-test-"))
    os.chmod(root, 0o755)
    s = root / "share"
    (s / "sub").mkdir(parents=True)
    (s / "in.txt").write_text("inside\n")
    (root / "secret.txt").write_text("host secret\n")
    os.symlink(str(root / "secret.txt"), s / "abs-link")
    os.symlink("../secret.txt", s / "rel-link")
    os.symlink("/etc", s / "etc-link")
    for p in (s, s / "sub", s / "in.txt"):
        os.lchown(p, 4321, 4321)
    yield s
    shutil.rmtree(root, ignore_errors=True)


def test_jail_keeps_the_server_inside_the_share(share, tmp_path):
    out = tmp_path / "got"
    rc, text = sftp(share, f"""
get in.txt {out}-in
-get /etc/passwd {out}-passwd
-get /etc/shadow {out}-shadow
-get ../secret.txt {out}-dotdot
-get /share/../../secret.txt {out}-dotdot2
-get {share.parent}/secret.txt {out}-hostpath
-get abs-link {out}-abs
-get rel-link {out}-rel
-get etc-link/hostname {out}-etc
ls -1a /
put /etc/hostname made.txt
-put /etc/hostname /outside.txt
-mkdir /etc/new
-rename in.txt ../moved.txt
""")
    assert rc == 0, text
    assert (tmp_path / "got-in").read_text() == "inside\n"
    for name in ("passwd", "shadow", "dotdot", "dotdot2", "hostpath", "abs", "rel", "etc"):
        got = tmp_path / f"got-{name}"
        # /etc/passwd exists in the jail: the one line of the share's user.
        if got.exists():
            body = got.read_text()
            assert "host secret" not in body and "root:" not in body, (name, body)
            assert name == "passwd" and body.startswith("share:x:4321:4321:"), (name, body)
    # The jail's root holds the share and the server's own files only.
    listing = set(text.split())
    assert {"/share", "/etc", "/usr", "/dev"} <= listing, text
    assert "/home" not in listing and "/root" not in listing and "/tmp" not in listing, text
    # Root served the share as its owner: the new file is 4321's.
    made = share / "made.txt"
    assert made.exists() and made.stat().st_uid == 4321 and made.stat().st_gid == 4321
    assert (share / "in.txt").exists() and not (share.parent / "moved.txt").exists()
    assert not (share.parent / "outside.txt").exists()


def test_ro_share_takes_no_write(share):
    before = sorted(os.listdir(share))
    rc, text = sftp(share, """
-put /etc/hostname new.txt
-rm in.txt
-mkdir d
-rename in.txt other.txt
-chmod 777 in.txt
get in.txt /dev/null
""", ro=True)
    assert rc == 0, text
    assert sorted(os.listdir(share)) == before
    assert (share / "in.txt").read_text() == "inside\n"
    assert oct((share / "in.txt").stat().st_mode & 0o777) != "0o777"


def test_jail_as_an_unprivileged_user(share, tmp_path):
    """bangerd run by a user: banger-sftp takes a user namespace for the
    mounts and stays that user."""
    shutil.chown(share, 65534, 65534)
    rc, text = sftp(share, "put /etc/hostname mine.txt\n-get /etc/shadow /dev/null\nls -1 /\n",
                    user=65534)
    assert rc == 0, text
    assert (share / "mine.txt").stat().st_uid == 65534
    assert "/tmp" not in text.split()


def test_helper_errors_are_clear(tmp_path):
    r = subprocess.run([SFTP_HELPER, "relative"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr
    r = subprocess.run([SFTP_HELPER, str(tmp_path / "missing")], capture_output=True, text=True)
    assert r.returncode == 1 and "missing" in r.stderr and "No such file" in r.stderr, r.stderr
    r = subprocess.run([SFTP_HELPER, str(tmp_path)], capture_output=True, text=True,
                       env={**os.environ, "BANGER_SFTP_SERVER": "/nonexistent/sftp-server"})
    assert r.returncode == 1 and "openssh-sftp-server" in r.stderr, r.stderr


# -- the daemon's side, with the emulator -----------------------------------

def test_mount_records_checks_and_keeps(booted, tmp_path):
    env = booted
    proj = tmp_path / "proj"
    proj.mkdir()
    (tmp_path / "link").symlink_to(proj)
    docs = tmp_path / "docs"
    docs.mkdir()
    afile = tmp_path / "file.txt"
    afile.write_text("x")

    # --mount: a relative or symlinked host path is recorded as the real
    # directory; the guest path defaults to it.
    r = env.banger("vm", "create", "--name", "sharer", "--no-start",
                   "--mount", "link", "--mount", f"{docs}:/mnt/docs:ro", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    m = env.vm("sharer")["mounts"]
    assert m == [{"host": str(proj), "guest": str(proj), "ro": False, "state": "down",
                  "error": ""},
                 {"host": str(docs), "guest": "/mnt/docs", "ro": True, "state": "down",
                  "error": ""}], m
    show = env.banger("vm", "show", "sharer", check=True).stdout
    assert f"{docs} -> /mnt/docs (ro)" in show, show

    # Bad --mount specs: a clear error each, and no VM made.
    bad = [
        ([str(tmp_path / "nope")], "No such file"),
        ([str(afile)], "not a directory"),
        ([f"{proj}:/etc"], "system directory"),
        ([f"{proj}:relative"], "not absolute"),
        ([f"{proj}:/mnt/x:rx"], "ro or rw"),
        ([f"{proj}:/mnt/a/../b"], "not a clean path"),
        ([f"{proj}:/mnt/x", f"{docs}:/mnt/x"], "already has a share"),
        ([f"{proj}:/mnt/x", f"{docs}:/mnt/x/y"], "inside one another"),
        (["/tmp"], "give a guest path"),
    ]
    for specs, words in bad:
        args = []
        for s in specs:
            args += ["--mount", s]
        r = env.banger("vm", "create", "--name", "badshare", "--no-start", *args)
        assert r.returncode != 0 and words in r.stderr, (specs, r.stderr)
    assert "badshare" not in env.banger("vm", "list", check=True).stdout

    # vm mount / umount of a stopped VM: recorded, refused with reasons.
    other = tmp_path / "other"
    other.mkdir()
    r = env.banger("vm", "mount", "sharer", str(other), "/root/other", "--ro")
    assert r.returncode == 0, r.stderr
    before = env.vm("sharer")["mounts"]
    assert before[-1]["guest"] == "/root/other" and before[-1]["ro"] is True
    for args, words in (([str(other), "/root/other"], "already has a share"),
                        ([str(other), "/root"], "system directory"),
                        ([str(tmp_path / "nope")], "No such file"),
                        ([str(other), "/root/other/deeper"], "inside one another")):
        r = env.banger("vm", "mount", "sharer", *args)
        assert r.returncode != 0 and words in r.stderr, (args, r.stderr)
    r = env.banger("vm", "mount", "nosuchvm", str(other))
    assert r.returncode != 0 and "nosuchvm" in r.stderr
    assert env.vm("sharer")["mounts"] == before
    # umount by guest path, or by host directory as typed here.
    env.banger("vm", "umount", "sharer", "/root/other", check=True)
    r = env.banger("vm", "umount", "sharer", "docs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [x["guest"] for x in env.vm("sharer")["mounts"]] == [str(proj)]
    r = env.banger("vm", "umount", "sharer", "/mnt/docs")
    assert r.returncode == 1 and "no share at /mnt/docs" in r.stderr, r.stderr

    # The API refuses what the CLI would not send.
    st, body = env.api("POST", "/v1/vms/sharer/mounts", {"host": "relative/dir"})
    assert st == 400 and "absolute" in body["error"]["message"], body
    st, body = env.api("POST", "/v1/vms/sharer/mounts", {"host": str(other), "rw": True})
    assert st == 400 and "rw" in body["error"]["message"], body
    st, body = env.api("POST", "/v1/vms", {"name": "apishare", "no_start": True,
                                           "mount": ["relative:/mnt/x"]})
    assert st == 400 and "absolute" in body["error"]["message"], body
    st, body = env.api("DELETE", "/v1/vms/sharer/mounts")
    assert st == 400 and "path" in body["error"]["message"], body

    # Kept across a daemon restart, and by a clone.
    env.stop_daemon()
    assert [x["guest"] for x in env.vm("sharer")["mounts"]] == [str(proj)]
    env.banger("vm", "clone", "sharer", "sharer-two", check=True)
    assert [x["host"] for x in env.vm("sharer-two")["mounts"]] == [str(proj)]
