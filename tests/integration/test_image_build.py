"""`banger image build`: a real mmdebstrap build checked inside the
resulting ext4 with debugfs; image list/show/delete (and delete refused
while a VM uses the image); bad input failing fast and leaving nothing;
a daemon killed mid-build cleaned up at its next start.

bangerd runs inside the test's network namespace, which only has loopback.
The Debian mirror is reached through a small HTTP proxy this file runs: it
listens on 127.0.0.1 inside the namespace and forwards only to the host's
apt mirror (apt honours http_proxy), so nothing about the host's network
changes.
"""
import ctypes
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import BANGER, make_fake_kernel

MMDEBSTRAP = shutil.which("mmdebstrap")
needs_mirror = pytest.mark.skipif(
    MMDEBSTRAP is None, reason="mmdebstrap is not installed (apt-get install mmdebstrap)")

CLONE_NEWNET = 0x40000000
KVER = "6.1.0-99-test"


# -- the mirror proxy ---------------------------------------------------------

def host_mirror_hosts():
    """Host names of the host's own apt mirrors (what bangerd will use)."""
    hosts = set()
    for f in Path("/etc/apt").glob("sources.list.d/*.sources"):
        for line in f.read_text().splitlines():
            if line.lower().startswith("uris:"):
                hosts.update(urllib.parse.urlparse(u).hostname for u in line.split()[1:])
    for f in [Path("/etc/apt/sources.list"), *Path("/etc/apt").glob("sources.list.d/*.list")]:
        if f.exists():
            for line in f.read_text().splitlines():
                m = re.match(r"deb\s+(\[[^\]]*\]\s+)?(\S+)", line)
                if m:
                    hosts.add(urllib.parse.urlparse(m.group(2)).hostname)
    return {h for h in hosts if h} or {"deb.debian.org"}


class MirrorProxy:
    """A forward HTTP proxy listening inside netns, allowing only `allowed`
    hosts. A socket stays in the namespace it was made in, so only the
    listening socket is made there; connections out are made from ours."""

    def __init__(self, netns, allowed):
        self.allowed = allowed
        self.requests = 0
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        target = os.open(f"/var/run/netns/{netns}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the test namespace")
            try:
                self.sock = socket.socket()
                self.sock.bind(("127.0.0.1", 0))
                self.sock.listen(64)
            finally:
                if libc.setns(own, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(own)
            os.close(target)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        up = None
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = c.recv(65536)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, url, _ = line.split(" ", 2)
            u = urllib.parse.urlparse(url)
            if method == "CONNECT" or u.scheme != "http" or u.hostname not in self.allowed:
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            self.requests += 1
            up = socket.create_connection((u.hostname, u.port or 80), timeout=60)
            up.sendall(head)
            # Keep-alive requests that follow keep the absolute form, which
            # HTTP/1.1 servers must accept.
            socks = [c, up]
            while True:
                r, _, _ = select.select(socks, [], [], 120)
                if not r:
                    return
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (up if s is c else c).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            c.close()
            if up:
                up.close()

    def close(self):
        self.stopped = True
        self.sock.close()


# -- fixtures -----------------------------------------------------------------

def make_bundle(root, packages="less\n"):
    """A runtime bundle with what image build takes from it: a kernel (fake:
    nothing boots it here), an initrd, packages.apt and a modules tree."""
    root.mkdir(parents=True, exist_ok=True)
    make_fake_kernel(root / "vmlinux")
    (root / "initrd.img").write_bytes(b"070701" + b"0" * 100)
    (root / "packages.apt").write_text("# extra packages\n" + packages)
    mod = root / "modules" / KVER
    (mod / "kernel" / "fs").mkdir(parents=True)
    (mod / "kernel" / "fs" / "banger_test.ko").write_bytes(b"\0" * 64)
    (mod / "modules.dep").write_text("kernel/fs/banger_test.ko:\n")
    return root


@pytest.fixture
def bundle_env(env):
    bundle = make_bundle(env.root / "bundle")
    env.default_config(extra="")
    text = (env.config_dir / "config.toml").read_text()
    text = re.sub(r'runtime_dir = ".*"', f'runtime_dir = "{bundle}"', text)
    (env.config_dir / "config.toml").write_text(text)
    env.bundle = bundle
    return env


@pytest.fixture
def mirror_env(bundle_env):
    proxy = MirrorProxy(bundle_env.netns, host_mirror_hosts())
    bundle_env.env["http_proxy"] = f"http://127.0.0.1:{proxy.port}"
    bundle_env.proxy = proxy
    try:
        yield bundle_env
    finally:
        proxy.close()


# -- helpers ------------------------------------------------------------------

def debugfs(image, cmd):
    r = subprocess.run(["debugfs", "-R", cmd, str(image)], capture_output=True, text=True)
    return r.stdout, r.stderr


def exists_in(image, path):
    out, err = debugfs(image, f"stat {path}")
    return "Inode:" in out


def images(env):
    return {i["name"]: i for i in env.bjson("image", "list")}


def image_dirs(env):
    d = env.state / "images"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if str(path) in l]


def banger_procs(path):
    """Processes whose command line mentions path (a build's directory)."""
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if str(path).encode() in (p / "cmdline").read_bytes():
                    found.append(int(p.name))
            except OSError:
                pass
    return found


def start_build(env, *args):
    """`banger image build ARGS` in the background, stderr (progress) piped."""
    return subprocess.Popen(["ip", "netns", "exec", env.netns, str(BANGER), "image", "build",
                             *args], env=env.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_progress(proc, pattern, lines, timeout=300):
    """Reads the CLI's stderr until a line matches pattern."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no progress line matching {pattern!r}:\n{''.join(lines)}")


# -- the build ----------------------------------------------------------------

@needs_mirror
def test_build_check_rootfs_then_list_show_delete(mirror_env):
    env = mirror_env
    # The CLI goes away mid-build: the daemon must finish the build anyway.
    proc = start_build(env, "--name", "devbox")
    lines = []
    first = wait_progress(proc, r"build log: ", lines, timeout=60)
    log = Path(first.split("build log: ", 1)[1].strip())
    assert log.parent == env.state / "image-build"
    assert re.fullmatch(r"devbox-\d{8}T\d{6}Z\.log", log.name)
    wait_progress(proc, r"from scratch with mmdebstrap", lines, timeout=60)
    wait_progress(proc, r"^\.\.\. mmdebstrap: ", lines, timeout=120)
    # While it builds, the image is listed as building and cannot be used.
    img = images(env)["devbox"]
    assert img["state"] == "building" and img["managed"] is True
    r = env.banger("vm", "create", "--name", "early", "--image", "devbox", "--no-start")
    assert r.returncode != 0 and "still being built" in r.stderr
    proc.kill()  # the client disconnects
    proc.wait()

    env.wait_for(lambda: images(env)["devbox"]["state"] != "building", timeout=600,
                 what="the build to finish")
    img = images(env)["devbox"]
    text = log.read_text()
    assert img["state"] == "ready", text[-3000:]
    assert img["vms"] == 0 and img["managed"] is True
    assert "mmdebstrap --mode=root" in text and "from scratch" in text
    # Built files: rootfs plus the kernel and initrd copied from the bundle.
    d = Path(img["rootfs"]).parent
    assert d.parent == env.state / "images" and d.name == img["id"]
    assert sorted(p.name for p in d.iterdir()) == ["initrd.img", "rootfs.ext4", "vmlinux"]
    assert Path(img["kernel"]).read_bytes() == (env.bundle / "vmlinux").read_bytes()
    assert img["initrd"] == str(d / "initrd.img")
    rootfs = Path(img["rootfs"])
    st = rootfs.stat()
    assert st.st_blocks * 512 < st.st_size  # sparse
    assert img["size_bytes"] == st.st_size

    # Inside the image.
    r = subprocess.run(["e2fsck", "-fn", str(rootfs)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert exists_in(rootfs, "/usr/sbin/sshd")
    assert exists_in(rootfs, "/usr/bin/less")  # from the bundle's packages.apt
    out, _ = debugfs(rootfs, "ls -l /etc/ssh")
    assert "sshd_config" in out and "ssh_host_" not in out
    out, _ = debugfs(rootfs, "stat /etc/machine-id")
    assert re.search(r"Size: 0\b", out), out
    # banger-init brings eth0 up itself: networkd is installed but not enabled;
    # the guest announces readiness with banger-ready.service.
    assert exists_in(rootfs, "/lib/systemd/system/systemd-networkd.service")
    assert not exists_in(rootfs, "/etc/systemd/system/multi-user.target.wants/"
                                 "systemd-networkd.service")
    out, _ = debugfs(rootfs, "stat /etc/systemd/system/multi-user.target.wants/"
                             "banger-ready.service")
    assert "Type: symlink" in out and "banger-ready.service" in out, out
    assert exists_in(rootfs, f"/lib/modules/{KVER}/kernel/fs/banger_test.ko")
    out, _ = debugfs(rootfs, f"stat /lib/modules/{KVER}/modules.dep")
    assert "User:     0" in out or re.search(r"User:\s+0\b", out), out
    out, _ = debugfs(rootfs, "cat /etc/ssh/sshd_config.d/banger.conf")
    assert "PasswordAuthentication no" in out
    out, _ = debugfs(rootfs, "cat /etc/shadow")
    assert re.search(r"^root:\*:", out, re.M), out[:200]

    # show, then delete refused while a VM uses it, then allowed.
    r = env.banger("image", "show", "devbox", check=True)
    assert re.search(r"state\s+ready", r.stdout) and str(rootfs) in r.stdout
    env.banger("vm", "create", "--name", "uses-it", "--image", "devbox", "--no-start",
               check=True)
    assert images(env)["devbox"]["vms"] == 1
    r = env.banger("image", "delete", "devbox")
    assert r.returncode != 0 and "used by 1 VM" in r.stderr
    assert rootfs.exists()
    env.banger("vm", "delete", "uses-it", check=True)
    env.banger("image", "delete", "devbox", check=True)
    assert "devbox" not in images(env)
    assert not d.exists()
    assert log.exists()  # the log outlives the image
    assert env.proxy.requests > 0


@needs_mirror
def test_daemon_killed_mid_build_is_cleaned_at_next_start(mirror_env):
    env = mirror_env
    proc = start_build(env, "--name", "doomed", "--packages", "/dev/null")
    lines = []
    wait_progress(proc, r"^\.\.\. mmdebstrap: ", lines, timeout=120)
    img = images(env)["doomed"]
    d = env.state / "images" / img["id"]
    # mmdebstrap makes the tree itself, a moment after its progress line.
    env.wait_for(lambda: (d / "tree").exists(), timeout=60, what="mmdebstrap's tree")
    os.kill(env.daemon_pid(), signal.SIGKILL)
    proc.wait(timeout=30)
    # The bootstrap dies with the daemon, and its mounts never reached the host.
    env.wait_for(lambda: not banger_procs(d), timeout=15, what="mmdebstrap to die")
    assert mounts_under(env.state) == []
    # The next daemon start removes the half-built image.
    assert "doomed" not in images(env)
    assert not d.exists()
    assert image_dirs(env) == []
    assert any(l.get("msg") == "removed an image whose build was interrupted"
               for l in env.log_lines())


# -- fail fast, leave nothing ------------------------------------------------

def assert_nothing_left(env, names=()):
    imgs = images(env)
    for n in names:
        assert n not in imgs
    assert image_dirs(env) == []
    b = env.state / "image-build"
    assert not b.exists() or list(b.iterdir()) == []


def test_bad_input_fails_fast_and_leaves_nothing(bundle_env):
    env = bundle_env
    bad = env.root / "bad.apt"
    bad.write_text("less\n# fine\nvim-tiny\nBad_Name\n")
    r = env.banger("image", "build", "--name", "b1", "--packages", bad, timeout=30)
    assert r.returncode != 0
    assert f'{bad} line 4: "Bad_Name" is not a Debian package name' in r.stderr
    assert "one package per line" in r.stderr
    assert_nothing_left(env, ["b1"])

    shell = env.root / "shell.apt"
    shell.write_text("less; rm -rf /\n")
    r = env.banger("image", "build", "--name", "b2", "--packages", shell, timeout=30)
    assert r.returncode != 0 and "is not a Debian package name" in r.stderr

    r = env.banger("image", "build", "--name", "b3", "--packages", env.root / "nope.apt",
                   timeout=30)
    assert r.returncode != 0 and "nope.apt" in r.stderr

    r = env.banger("image", "build", "--name", "Bad Name", timeout=30)
    assert r.returncode != 0 and "image name" in r.stderr.lower()

    r = env.banger("image", "build", "--name", "b4", "--mirror", "deb.debian.org", timeout=30)
    assert r.returncode != 0 and "not a mirror URL" in r.stderr

    r = env.banger("image", "build", "--name", "b5", "--size", "10M", timeout=30)
    assert r.returncode != 0 and "too small" in r.stderr

    r = env.banger("image", "build", "--name", "b6", "--base-rootfs", env.root / "x.ext4",
                   timeout=30)
    assert r.returncode != 0 and "x.ext4" in r.stderr

    r = env.banger("image", "build", timeout=30)
    assert r.returncode != 0 and "--name is required" in r.stderr
    assert_nothing_left(env, ["b2", "b3", "b4", "b5", "b6"])


def test_existing_name_is_refused_before_any_work(bundle_env):
    env = bundle_env
    kernel, rootfs, initrd = env.make_image_files()
    env.banger("image", "register", "--name", "taken", "--rootfs", rootfs, "--kernel", kernel,
               check=True)
    r = env.banger("image", "build", "--name", "taken", timeout=30)
    assert r.returncode != 0
    assert 'an image named "taken" already exists' in r.stderr
    assert "banger image delete taken" in r.stderr
    imgs = images(env)
    assert list(imgs) == ["taken"] and imgs["taken"]["state"] == "ready"
    assert_nothing_left(env)
    # The API says the same, with a stable code.
    status, body = env.api("POST", "/v1/images/build", {"name": "taken"})
    assert status == 409 and body["error"]["code"] == "conflict"


def test_missing_bundle_kernel_says_make_runtime_bundle(bundle_env):
    env = bundle_env
    (env.bundle / "vmlinux").unlink()
    r = env.banger("image", "build", "--name", "nokernel", timeout=30)
    assert r.returncode != 0
    assert "runtime bundle has no kernel" in r.stderr
    assert str(env.bundle / "vmlinux") in r.stderr
    assert "make runtime-bundle" in r.stderr
    assert_nothing_left(env, ["nokernel"])
    make_fake_kernel(env.bundle / "vmlinux")
    (env.bundle / "initrd.img").unlink()
    r = env.banger("image", "build", "--name", "noinitrd", timeout=30)
    assert r.returncode != 0 and "runtime bundle has no initrd" in r.stderr
    assert "make runtime-bundle" in r.stderr
    assert_nothing_left(env, ["noinitrd"])


@needs_mirror
def test_failed_build_removes_its_image_and_keeps_its_log(bundle_env):
    """A build that fails once under way (here: a mirror that does not exist,
    so no network is needed) leaves no image, no directory, and says where
    its log is."""
    env = bundle_env
    r = env.banger("image", "build", "--name", "broken", "--mirror", "file:///nonexistent/debian",
                   timeout=300)
    assert r.returncode != 0
    assert "... build log: " in r.stderr
    m = re.search(r"\(see (\S+\.log)\)", r.stderr)
    assert m, r.stderr
    log = Path(m.group(1))
    assert log.parent == env.state / "image-build" and log.name.startswith("broken-")
    assert "mmdebstrap failed" in r.stderr
    assert "### mmdebstrap" in log.read_text()
    assert "broken" not in images(env)
    assert image_dirs(env) == []


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
@needs_mirror
def test_build_requests_are_valgrind_clean(bundle_env, tmp_path):
    env = bundle_env
    from conftest import BANGERD
    log = tmp_path / "valgrind.log"
    vg = subprocess.Popen(["ip", "netns", "exec", env.netns, "valgrind", "--leak-check=full",
                           "--show-leak-kinds=definite,indirect", "--track-fds=no",
                           f"--log-file={log}", str(BANGERD)], env=env.env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env.wait_for(lambda: env.socket().exists(), 60, "bangerd under valgrind")
        bad = env.root / "bad.apt"
        bad.write_text("Bad_Name\n")
        assert env.banger("image", "build", "--name", "v1", "--packages", bad).returncode != 0
        assert env.banger("image", "build", "--name", "v2", "--base-rootfs", bad).returncode != 0
        status, _ = env.api("POST", "/v1/images/build", {"name": "v3", "nope": 1})
        assert status == 400
        # Streamed, started, failed in mmdebstrap: the worker thread's path.
        r = env.banger("image", "build", "--name", "v4", "--mirror", "file:///nonexistent",
                       timeout=300)
        assert r.returncode != 0 and "mmdebstrap failed" in r.stderr
        # Not streamed: the same failure as a plain answer.
        status, body = env.api("POST", "/v1/images/build",
                               {"name": "v5", "mirror": "file:///nonexistent"}, timeout=300)
        assert status >= 400 and "mmdebstrap failed" in body["error"]["message"]
        assert "log" in body["error"]
        vg.send_signal(signal.SIGTERM)
        assert vg.wait(120) == 0
    finally:
        if vg.poll() is None:
            vg.kill()
    text = log.read_text()
    assert "ERROR SUMMARY: 0 errors" in text, text[-3000:]
    m = re.search(r"definitely lost: ([\d,]+) bytes", text)
    assert m is None or m.group(1) == "0", text[-3000:]
    m = re.search(r"indirectly lost: ([\d,]+) bytes", text)
    assert m is None or m.group(1) == "0", text[-3000:]


# -- building on a base rootfs -------------------------------------------------

GUEST_PKGS = ["systemd-sysv", "openssh-server", "udev", "iproute2", "kmod", "ca-certificates", "sshfs"]


def make_base(path, packages):
    """A small base rootfs as a previous build would leave it: a dpkg
    database listing `packages`, sshd, networkd enabled, and the leftovers
    a build must clear (host key, machine-id)."""
    stage = path.parent / (path.name + ".d")
    (stage / "var/lib/dpkg").mkdir(parents=True)
    (stage / "var/lib/dpkg/status").write_text("".join(
        f"Package: {p}\nStatus: install ok installed\nVersion: 1\n\n" for p in packages) +
        "Package: removed-one\nStatus: deinstall ok config-files\n\n")
    (stage / "usr/sbin").mkdir(parents=True)
    (stage / "usr/sbin/sshd").write_text("#!/bin/sh\n")
    (stage / "sbin").mkdir()
    (stage / "sbin/init").write_text("#!/bin/sh\n")
    # usr-merged, as Debian is since bookworm: /lib is a link to usr/lib.
    (stage / "usr/lib/systemd/system").mkdir(parents=True)
    (stage / "usr/lib/systemd/system/ssh.service").write_text("[Service]\nExecStart=/usr/sbin/sshd -D\n")
    (stage / "lib").symlink_to("usr/lib")
    wants = stage / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "systemd-networkd.service").symlink_to("/lib/systemd/system/systemd-networkd.service")
    (stage / "etc/ssh").mkdir(parents=True)
    (stage / "etc/ssh/ssh_host_ed25519_key").write_text("secret")
    (stage / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (stage / "etc/base-marker").write_text("from the base\n")
    (stage / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (stage / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    subprocess.run(["truncate", "-s", "64M", str(path)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(stage), str(path)], check=True)


def test_build_from_base_rootfs_without_mmdebstrap(bundle_env):
    """A base that already has every package is copied (no download), then
    made fit for VMs like a fresh build; a base that lacks one is refused
    when given explicitly, and the bundle's base gives way to a build from
    scratch."""
    env = bundle_env
    base = env.root / "base.ext4"
    make_base(base, GUEST_PKGS + ["less"])
    r = env.banger("image", "build", "--name", "based", "--base-rootfs", base, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "building from the base rootfs" in r.stderr
    img = images(env)["based"]
    rootfs = img["rootfs"]
    out, _ = debugfs(rootfs, "cat /etc/base-marker")
    assert "from the base" in out
    assert not exists_in(rootfs, "/etc/ssh/ssh_host_ed25519_key")
    out, _ = debugfs(rootfs, "stat /etc/machine-id")
    assert "Size: 0" in out
    assert exists_in(rootfs, f"/lib/modules/{KVER}/modules.dep")
    logs = list((env.state / "image-build").glob("based-*.log"))
    assert logs and "building from the base rootfs" in logs[0].read_text()

    # An explicit base without docker.io cannot make a --docker image.
    r = env.banger("image", "build", "--name", "nodock", "--docker", "--base-rootfs", base,
                   timeout=300)
    assert r.returncode != 0 and "lacks docker.io" in r.stderr
    assert "nodock" not in images(env)

    # The bundle's own rootfs is the implicit base; lacking a package, the
    # build falls back to mmdebstrap and says so (the bogus mirror then
    # stops it quickly, without any download).
    lacking = env.bundle / "rootfs.ext4"
    make_base(lacking, GUEST_PKGS)  # no "less", which packages.apt asks for
    r = env.banger("image", "build", "--name", "fallback", timeout=300)
    assert r.returncode == 0 or "mmdebstrap" in r.stderr
    logs = list((env.state / "image-build").glob("fallback-*.log"))
    assert logs and "lacks less: building from scratch" in logs[0].read_text()
