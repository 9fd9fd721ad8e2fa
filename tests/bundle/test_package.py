"""scripts/runtime-package.sh (`make runtime-package`): a deterministic
tarball that `banger-bundle fetch` installs, and a clear error without a
bundle."""
import hashlib
import os
import re
import subprocess

from conftest import BUILD, BUNDLE_FILES, PACKAGE_SCRIPT, bundle_json, run, write_manifest


def package(runtime, out):
    env = dict(os.environ, BANGER_BUILD_DIR=str(BUILD))
    return subprocess.run([str(PACKAGE_SCRIPT), str(runtime), str(out)], capture_output=True,
                          text=True, env=env, timeout=120)


def make_runtime(root):
    for name, data in BUNDLE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "bundle.json").write_bytes(bundle_json())
    # Local build leftovers and a user key: never published.
    (root / ".stamps").mkdir()
    (root / ".stamps" / "kernel").write_text("key\n")
    (root / ".build.log").write_text("log\n")
    (root / "id_ed25519").write_text("PRIVATE KEY\n")


def test_package_is_deterministic_and_fetchable(tool, server, tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    make_runtime(runtime)
    out1, out2 = tmp_path / "dist" / "a.tar.gz", tmp_path / "dist" / "b.tar.gz"

    first = package(runtime, out1)
    assert first.returncode == 0, first.stderr
    # Touching the tree's times and repacking gives the same bytes.
    os.utime(runtime / "vmlinux", (1, 1))
    second = package(runtime, out2)
    assert second.returncode == 0, second.stderr

    digest = hashlib.sha256(out1.read_bytes()).hexdigest()
    assert out1.read_bytes() == out2.read_bytes()
    assert f'sha256 = "{digest}"' in first.stdout
    assert re.search(r'^url = ".*"$', first.stdout, re.M)
    assert 'kernel_version = "6.1.0-test"' in first.stdout

    server.files["/a.tar.gz"] = out1.read_bytes()
    dest = tmp_path / "installed"
    manifest = write_manifest(tmp_path / "m.toml", server.url + "/a.tar.gz", digest)
    res = run(tool, "fetch", manifest, dest)
    assert res.returncode == 0, res.stderr
    assert run(tool, "verify", dest).returncode == 0
    assert not (dest / "id_ed25519").exists()
    assert not (dest / ".stamps").exists() and not (dest / ".build.log").exists()


def test_package_without_bundle_json(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    res = package(runtime, tmp_path / "dist" / "x.tar.gz")
    assert res.returncode != 0
    assert "bundle.json is missing" in res.stderr
    assert "run make runtime-bundle first" in res.stderr
    assert not (tmp_path / "dist" / "x.tar.gz").exists()


def test_package_refuses_a_tree_that_does_not_match_its_index(tool, tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    make_runtime(runtime)
    (runtime / "vmlinux").write_bytes(b"changed after bundle.json was written")
    res = package(runtime, tmp_path / "dist" / "x.tar.gz")
    assert res.returncode != 0
    assert "does not match its bundle.json" in res.stderr
