"""End to end, files and ports of a real guest (issue 12): `vm cp` both ways
with a 50 MB file and a tree, and its errors (a missing path on either side,
a directory without -r, a full guest disk, a stopped VM); a guest's
`python3 -m http.server` reached on the host's 127.0.0.1 through a published
port, gone after stop, back after start. One boot (and one restart)."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import netns  # noqa: E402,F401
from test_e2e_qemu import RUNTIME, boot, qenv, ssh  # noqa: E402,F401

pytestmark = pytest.mark.skipif(
    not (RUNTIME / "bundle.json").exists(),
    reason=f"no runtime bundle at {RUNTIME}: run `make runtime-bundle`")

NAME = "e2e-two"  # qenv deletes it at the end
CLONE = "e2e-one"  # the clone: a name qenv deletes too


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_tree(root):
    (root / "src" / "deep" / "er").mkdir(parents=True)
    (root / "src" / "a.txt").write_text("alpha\n")
    (root / "src" / "deep" / "b.bin").write_bytes(os.urandom(70000))
    (root / "src" / "deep" / "er" / "c").write_text("")
    os.chmod(root / "src" / "a.txt", 0o640)


def listing(env, where, vm=None):
    cmd = ["sh", "-c", f"cd {where} && find . -printf '%p %s %m\\n' | sort"]
    if vm:
        return ssh(env, vm, *cmd)
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def test_cp_both_ways_and_its_errors(qenv, tmp_path):
    env = qenv
    boot(env, NAME)

    # A 50 MB file up and back.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(50 << 20))
    r = env.banger("vm", "cp", big, f"{NAME}:/root/big.bin", timeout=300)
    assert r.returncode == 0, r.stderr
    assert ssh(env, NAME, "sha256sum", "/root/big.bin").split()[0] == sha(big)
    back = tmp_path / "back.bin"
    env.banger("vm", "cp", f"{NAME}:/root/big.bin", back, check=True, timeout=300)
    assert sha(back) == sha(big)

    # A tree, with -r, both ways; names, sizes and modes kept.
    make_tree(tmp_path)
    env.banger("vm", "cp", "-r", tmp_path / "src", f"{NAME}:/root/tree", check=True, timeout=300)
    assert listing(env, "/root/tree", NAME) == listing(env, tmp_path / "src")
    env.banger("vm", "cp", "-r", f"{NAME}:/root/tree", tmp_path / "again", check=True,
               timeout=300)
    assert listing(env, tmp_path / "again") == listing(env, tmp_path / "src")
    # A relative guest path is under /root.
    env.banger("vm", "cp", tmp_path / "src" / "a.txt", f"{NAME}:rel.txt", check=True)
    assert ssh(env, NAME, "cat", "/root/rel.txt") == "alpha"

    # Errors: each names what is wrong, exits non-zero, copies nothing.
    r = env.banger("vm", "cp", tmp_path / "nope", f"{NAME}:/root/")
    assert r.returncode == 1 and "nope" in r.stderr and "No such file" in r.stderr, r.stderr
    r = env.banger("vm", "cp", tmp_path / "src", f"{NAME}:/root/x")
    assert r.returncode == 1 and "is a directory" in r.stderr and "-r" in r.stderr, r.stderr
    assert ssh(env, NAME, "sh", "-c", "test -e /root/x && echo there || echo absent") == "absent"
    r = env.banger("vm", "cp", f"{NAME}:/root/missing.txt", tmp_path / "m.txt", timeout=120)
    assert r.returncode == 1 and "missing.txt" in r.stderr, r.stderr
    assert not (tmp_path / "m.txt").exists()
    r = env.banger("vm", "cp", big, tmp_path / "local-only")
    assert r.returncode == 2 and "NAME:PATH" in r.stderr, r.stderr

    # A full guest disk: a 4 MiB filesystem in the guest.
    ssh(env, NAME, "sh", "-c", "mkdir -p /mnt/small && mount -t tmpfs -o size=4m tmpfs /mnt/small")
    r = env.banger("vm", "cp", big, f"{NAME}:/mnt/small/big.bin", timeout=300)
    assert r.returncode == 1 and "no space left" in r.stderr and NAME in r.stderr, r.stderr

    # A published port: the guest's web server on the host's 127.0.0.1.
    env.banger("vm", "port", "add", NAME, "18080:8000", check=True)
    serve(env)
    assert fetch(env, 18080, "a.txt") == "alpha\n"
    lst = env.banger("vm", "port", "list", NAME, check=True).stdout
    assert "127.0.0.1:18080" in lst and "8000" in lst and "forwarded" in lst, lst
    r = env.banger("vm", "port", "add", NAME, "18080:9000")
    assert r.returncode == 1 and "18080" in r.stderr and "already publishes" in r.stderr
    # A host port another program holds: refused, naming it.
    holder = subprocess.Popen(["ip", "netns", "exec", env.netns, "python3", "-c",
                               "import socket,time; s=socket.socket(); "
                               "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                               "s.bind(('127.0.0.1', 18081)); s.listen(); time.sleep(60)"])
    try:
        env.wait_for(lambda: env.cmd(["ss", "-Hltn", "sport = :18081"]).stdout.strip(), 10,
                     "the holder listening")
        r = env.banger("vm", "port", "add", NAME, "18081:8000")
        assert r.returncode == 1 and "already in use by another program" in r.stderr, r.stderr
        assert "18081" not in "".join(env.vm(NAME)["ports"])
    finally:
        holder.kill()

    # Gone after stop (and nothing of it listens), back after start.
    env.banger("vm", "stop", NAME, check=True, timeout=180)
    assert fetch(env, 18080, "a.txt") is None
    assert env.cmd(["ss", "-Hltn", "sport = :18080"]).stdout.strip() == ""

    # A stopped VM: a clear error with what to do.
    r = env.banger("vm", "cp", big, f"{NAME}:/root/")
    assert r.returncode == 1 and "stopped" in r.stderr and f"banger vm start {NAME}" in r.stderr

    env.banger("vm", "start", NAME, check=True, timeout=300)
    serve(env)
    assert fetch(env, 18080, "a.txt") == "alpha\n"
    env.banger("vm", "port", "rm", NAME, "18080", check=True)
    assert fetch(env, 18080, "a.txt") is None

    # A disk snapshot, restored after files were changed.
    env.banger("vm", "stop", NAME, check=True, timeout=180)
    env.banger("vm", "snapshot", "create", NAME, "base", check=True, timeout=300)
    env.banger("vm", "start", NAME, check=True, timeout=300)
    ssh(env, NAME, "sh", "-c", "echo changed > /root/rel.txt; touch /root/new.txt; "
        "echo x > /etc/banger-snap; sync")
    env.banger("vm", "stop", NAME, check=True, timeout=180)
    env.banger("vm", "snapshot", "restore", NAME, "base", check=True, timeout=300)
    env.banger("vm", "start", NAME, check=True, timeout=300)
    assert ssh(env, NAME, "cat", "/root/rel.txt") == "alpha"
    assert ssh(env, NAME, "sh", "-c", "ls /root/new.txt /etc/banger-snap 2>&1 | wc -l; "
               "test -e /root/new.txt || test -e /etc/banger-snap || echo gone") .endswith("gone")

    # A clone boots alongside its source with its own address, host key
    # and machine-id, and the source's files.
    env.banger("vm", "stop", NAME, check=True, timeout=180)
    env.banger("vm", "clone", NAME, CLONE, check=True, timeout=300)
    env.banger("vm", "start", NAME, CLONE, check=True, timeout=300)
    a, b = env.vm(NAME), env.vm(CLONE)
    assert a["address"] != b["address"] and a["mac"] != b["mac"]
    assert ssh(env, CLONE, "hostname") == CLONE
    assert ssh(env, CLONE, "cat", "/root/rel.txt") == "alpha"
    ident = "cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub"
    assert ssh(env, NAME, "sh", "-c", ident) != ssh(env, CLONE, "sh", "-c", ident)
    assert ssh(env, CLONE, "cat", "/etc/machine-id") not in ("", "uninitialized")


def serve(env):
    ssh(env, NAME, "sh", "-c", "cd /root/tree && setsid python3 -m http.server 8000 "
        "</dev/null >/dev/null 2>&1 &")
    ssh(env, NAME, "sh", "-c", "for i in $(seq 100); do ss -Hltn 'sport = :8000' | grep -q . "
        "&& exit 0; sleep 0.1; done; exit 1")


def fetch(env, port, path):
    """GET through the published port, in the test's namespace; None if refused."""
    r = env.cmd(["curl", "-s", "--max-time", "30", f"http://127.0.0.1:{port}/{path}"])
    return r.stdout if r.returncode == 0 else None
