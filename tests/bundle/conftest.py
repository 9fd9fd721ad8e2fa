"""Fixtures for the runtime bundle tests: the banger-bundle binary, a local
HTTP server on 127.0.0.1 that serves tarballs (with Range support and failure
modes), and tarball builders. No traffic leaves the loopback interface."""
import hashlib
import io
import json
import os
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BANGER_BUILD_DIR", REPO / "build"))
TOOL = BUILD / "src" / "bundle" / "banger-bundle"
PACKAGE_SCRIPT = REPO / "scripts" / "runtime-package.sh"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def tool():
    if not os.access(TOOL, os.X_OK):
        pytest.skip(f"{TOOL} is not built; run `make build` or set BANGER_BUILD_DIR")
    return TOOL


def clean_env():
    """The environment for banger-bundle: no proxy may reroute 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = "*"
    return env


def run(tool, *args):
    return subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True,
                          env=clean_env(), timeout=120)


class Handler(BaseHTTPRequestHandler):
    """Serves server.files[path]; honours "Range: bytes=N-" unless
    server.ignore_range; server.truncate sends only half the body while
    announcing all of it; server.redirects maps a path to a Location."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        if self.path in srv.redirects:
            self.send_response(302)
            self.send_header("Location", srv.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404, "not found")
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and not srv.ignore_range:
            start = int(rng.split("=", 1)[1].split("-", 1)[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.truncate:
            body = body[: len(body) // 2]
        self.wfile.write(body)
        self.wfile.flush()
        # HTTP/1.0: the connection closes here, so a short body is a truncation.


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.redirects, srv.requests = {}, {}, []
    srv.truncate = False
    srv.ignore_range = False
    srv.daemon_threads = True
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def add_file(tar, name, data: bytes, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def add_special(tar, name, kind, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    tar.addfile(info)


# A small bundle: what runtime-bundle.sh writes, with tiny contents.
BUNDLE_FILES = {
    "vmlinux": b"\x7fELF kernel image\n" * 100,
    "initrd.img": b"initrd\n",
    "rootfs.ext4": os.urandom(200_000),  # incompressible: a download of real size
    "packages.apt": b"vim\ncurl\n",
    "modules/6.1.0-test/kernel/virtio_net.ko": b"module\n",
}


def bundle_json(files=BUNDLE_FILES, extra=None):
    doc = {
        "kernel_version": "6.1.0-test",
        "kernel": "vmlinux",
        "initrd": "initrd.img",
        "modules_dir": "modules",
        "rootfs": "rootfs.ext4",
        "packages": "packages.apt",
        "files": {name: {"path": name, "sha256": sha256(data)}
                  for name, data in files.items() if "/" not in name},
    }
    doc.update(extra or {})
    return json.dumps(doc, indent=2).encode()


def make_tarball(extra=None, with_index=True):
    """A tar.gz of BUNDLE_FILES plus bundle.json; extra(tar) adds entries."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        if with_index:
            add_file(tar, "./bundle.json", bundle_json())
        for name, data in BUNDLE_FILES.items():
            add_file(tar, "./" + name, data)
        if extra:
            extra(tar)
    return out.getvalue()


def write_manifest(path: Path, url: str, sum_: str, meta=None):
    text = f'url = "{url}"\nsha256 = "{sum_}"\n'
    if meta:
        text += "\n[bundle_metadata]\n" + "".join(f'{k} = "{v}"\n' for k, v in meta.items())
    path.write_text(text)
    return path


def snapshot(root: Path):
    """Every path under root with its content (files) or target (links)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_file():
            out[rel] = ("file", p.read_bytes())
        else:
            out[rel] = ("dir", None)
    return out
