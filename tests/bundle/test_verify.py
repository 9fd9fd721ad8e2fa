"""`banger-bundle verify DIR` and `banger-bundle info DIR` on an installed
bundle: a damaged file is named with both sums; info resolves the paths the
daemon boots from."""
import json
import os
import shutil

import pytest

from conftest import BUNDLE_FILES, bundle_json, run, sha256


@pytest.fixture
def bundle(tmp_path):
    root = tmp_path / "runtime"
    for name, data in BUNDLE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "bundle.json").write_bytes(bundle_json())
    return root


def test_verify_ok(tool, bundle):
    res = run(tool, "verify", bundle)
    assert res.returncode == 0, res.stderr
    assert "all 4 files match bundle.json" in res.stdout


def test_verify_names_changed_and_missing_files(tool, bundle):
    (bundle / "vmlinux").write_bytes(b"tampered")
    (bundle / "packages.apt").unlink()

    res = run(tool, "verify", bundle)

    assert res.returncode == 1
    assert "2 of 4 files failed verification" in res.stderr
    want = sha256(BUNDLE_FILES["vmlinux"])
    assert f"vmlinux: expected sha256 {want}, got {sha256(b'tampered')}" in res.stderr
    assert "packages.apt: missing" in res.stderr


def test_verify_refuses_paths_outside_the_bundle(tool, bundle):
    doc = json.loads(bundle_json())
    doc["files"]["passwd"] = {"path": "../../../etc/passwd", "sha256": "0" * 64}
    (bundle / "bundle.json").write_text(json.dumps(doc))

    res = run(tool, "verify", bundle)

    assert res.returncode == 1
    assert "passwd: bad entry" in res.stderr


def test_verify_without_bundle_json(tool, bundle):
    (bundle / "bundle.json").unlink()
    res = run(tool, "verify", bundle)
    assert res.returncode == 1
    assert "has no bundle.json" in res.stderr and "make runtime-bundle" in res.stderr


def info(tool, root):
    res = run(tool, "info", root)
    assert res.returncode == 0, res.stderr
    return dict(line.split("=", 1) for line in res.stdout.splitlines())


def test_info_resolves_absolute_paths(tool, bundle):
    got = info(tool, bundle)
    assert got["kernel_version"] == "6.1.0-test"
    assert got["kernel"] == str(bundle / "vmlinux")
    assert got["initrd"] == str(bundle / "initrd.img")
    assert got["modules_dir"] == str(bundle / "modules")
    assert got["rootfs"] == str(bundle / "rootfs.ext4")
    assert got["packages"] == str(bundle / "packages.apt")
    assert got["firecracker"] == ""


def test_info_falls_back_to_docker_rootfs_and_finds_firecracker(tool, bundle):
    (bundle / "bundle.json").write_text(json.dumps({"kernel_version": "6.1.0-test"}))
    (bundle / "rootfs.ext4").rename(bundle / "rootfs-docker.ext4")
    shutil.copy("/bin/true", bundle / "firecracker")

    got = info(tool, bundle)

    assert got["rootfs"] == str(bundle / "rootfs-docker.ext4")
    assert got["firecracker"] == str(bundle / "firecracker")
    assert os.access(got["firecracker"], os.X_OK)


def test_info_reports_missing_kernel(tool, bundle):
    (bundle / "vmlinux").unlink()
    res = run(tool, "info", bundle)
    assert res.returncode == 1
    assert "bundle.json names kernel 'vmlinux'" in res.stderr and "is missing" in res.stderr


def test_info_refuses_kernel_outside(tool, bundle):
    doc = json.loads(bundle_json())
    doc["kernel"] = "/boot/vmlinuz"
    (bundle / "bundle.json").write_text(json.dumps(doc))
    res = run(tool, "info", bundle)
    assert res.returncode == 1
    assert "leaves the bundle directory" in res.stderr
