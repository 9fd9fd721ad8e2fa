"""`banger-bundle fetch MANIFEST DESTDIR` against a local HTTP server: what a
user sees when the bundle downloads fine, when it is damaged, cut off, hostile
or missing, and when an earlier download is resumed."""
import json
import tarfile

import pytest

from conftest import (BUNDLE_FILES, add_file, add_special, make_tarball, run, sha256, snapshot,
                      write_manifest)

NAME = "/banger-runtime.tar.gz"


@pytest.fixture
def layout(tmp_path):
    """DESTDIR pre-populated with a marker (an older bundle), in its own parent
    directory so anything left next to it is visible."""
    parent = tmp_path / "lib"
    dest = parent / "runtime"
    dest.mkdir(parents=True)
    (dest / "marker").write_text("the previous bundle\n")
    return tmp_path, dest


def serve(server, data, path=NAME):
    server.files[path] = data
    return server.url + path


def assert_unchanged(dest, extra_ok=()):
    """DESTDIR still holds the old bundle and nothing else was left next to it."""
    assert snapshot(dest) == {"marker": ("file", b"the previous bundle\n")}
    leftovers = sorted(p.name for p in dest.parent.iterdir() if p != dest)
    assert leftovers == sorted(extra_ok), f"left behind next to DESTDIR: {leftovers}"


def test_good_checksum_unpacks_and_replaces(tool, server, layout):
    tmp, dest = layout
    data = make_tarball()
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data),
                              {"kernel_version": "6.1.0-test"})

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 0, res.stderr
    for name, content in BUNDLE_FILES.items():
        assert (dest / name).read_bytes() == content, name
    assert not (dest / "marker").exists(), "the old bundle was replaced, not merged"
    index = json.loads((dest / "bundle.json").read_text())
    assert index["kernel_version"] == "6.1.0-test"
    assert (dest / index["kernel"]).is_file()
    assert [p.name for p in dest.parent.iterdir()] == ["runtime"]
    assert sha256(data) in res.stdout
    # The installed tree checks out against its own index.
    ver = run(tool, "verify", dest)
    assert ver.returncode == 0, ver.stderr
    assert "all 4 files match" in ver.stdout


def test_fetch_into_missing_destdir(tool, server, tmp_path):
    data = make_tarball()
    dest = tmp_path / "new" / "place" / "runtime"
    manifest = write_manifest(tmp_path / "m.toml", serve(server, data), sha256(data))

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 0, res.stderr
    assert (dest / "vmlinux").read_bytes() == BUNDLE_FILES["vmlinux"]
    assert [p.name for p in dest.parent.iterdir()] == ["runtime"]


def test_bad_checksum_names_both_sums_and_keeps_destdir(tool, server, layout):
    tmp, dest = layout
    data = make_tarball()
    wrong = sha256(b"something else")
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), wrong)

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 1
    assert "checksum mismatch" in res.stderr
    assert wrong in res.stderr and sha256(data) in res.stderr
    # A mismatch deletes the download: nothing to resume from.
    assert_unchanged(dest)


def test_truncated_download_fails_then_resumes(tool, server, layout):
    tmp, dest = layout
    data = make_tarball()
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data))
    server.truncate = True

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 1
    assert "run the same command again to resume" in res.stderr, res.stderr
    # Only the partial download is kept, for the next attempt.
    assert_unchanged(dest, extra_ok=["runtime.partial"])
    part = dest.parent / "runtime.partial" / "banger-runtime.tar.gz.part"
    kept = part.stat().st_size
    assert 0 < kept < len(data)

    server.truncate = False
    server.requests.clear()
    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 0, res.stderr
    assert server.requests == [(NAME, f"bytes={kept}-")]
    assert (dest / "rootfs.ext4").read_bytes() == BUNDLE_FILES["rootfs.ext4"]
    assert [p.name for p in dest.parent.iterdir()] == ["runtime"]


def test_resume_continues_existing_partial_file(tool, server, layout):
    tmp, dest = layout
    data = make_tarball()
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data))
    partial = dest.parent / "runtime.partial"
    partial.mkdir()
    half = len(data) // 3
    (partial / "banger-runtime.tar.gz.part").write_bytes(data[:half])

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 0, res.stderr
    assert server.requests == [(NAME, f"bytes={half}-")]
    assert run(tool, "verify", dest).returncode == 0
    assert not partial.exists()


def test_server_without_range_support_starts_over(tool, server, layout):
    tmp, dest = layout
    data = make_tarball()
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data))
    partial = dest.parent / "runtime.partial"
    partial.mkdir()
    (partial / "banger-runtime.tar.gz.part").write_bytes(b"stale bytes of some other file")
    server.ignore_range = True

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 0, res.stderr
    assert (dest / "vmlinux").read_bytes() == BUNDLE_FILES["vmlinux"]


def test_http_404_fails_clearly(tool, server, layout):
    tmp, dest = layout
    manifest = write_manifest(tmp / "runtime-bundle.toml", server.url + "/missing.tar.gz",
                              sha256(b"x"))

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 1
    assert "HTTP 404" in res.stderr and "/missing.tar.gz" in res.stderr
    assert_unchanged(dest)


def test_redirect_is_followed(tool, server, layout):
    tmp, dest = layout
    data = make_tarball()
    serve(server, data, "/real/bundle.tar.gz")
    server.redirects["/latest.tar.gz"] = "/real/bundle.tar.gz"
    manifest = write_manifest(tmp / "runtime-bundle.toml", server.url + "/latest.tar.gz",
                              sha256(data))

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 0, res.stderr
    assert (dest / "initrd.img").read_bytes() == BUNDLE_FILES["initrd.img"]


def _dotdot(tar):
    add_file(tar, "../evil", b"escaped\n")


def _dotdot_deep(tar):
    add_file(tar, "modules/../../../evil", b"escaped\n")


def _symlink_out(tar):
    add_special(tar, "modules/escape", tarfile.SYMTYPE, "../../evil")


def _symlink_abs(tar):
    add_special(tar, "etc-passwd", tarfile.SYMTYPE, "/etc/passwd")


def _hardlink_abs(tar):
    add_special(tar, "shadow", tarfile.LNKTYPE, "/etc/shadow")


def _device(tar):
    add_special(tar, "dev-null", tarfile.CHRTYPE)


@pytest.mark.parametrize("extra, entry, why", [
    (_dotdot, "../evil", "'..'"),
    (_dotdot_deep, "modules/../../../evil", "'..'"),
    (_symlink_out, "modules/escape", "points outside"),
    (_symlink_abs, "etc-passwd", "points outside"),
    (_hardlink_abs, "shadow", "hard link"),
    (_device, "dev-null", "device node"),
])
def test_hostile_entry_is_refused(tool, server, layout, extra, entry, why):
    tmp, dest = layout
    data = make_tarball(extra)
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data))
    before = snapshot(tmp)

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 1
    assert f"refusing entry '{entry}'" in res.stderr, res.stderr
    assert why in res.stderr
    assert_unchanged(dest)
    assert snapshot(tmp) == before, "something was written outside DESTDIR"
    assert not (tmp / "evil").exists() and not (tmp.parent / "evil").exists()


def test_absolute_path_entry_is_refused(tool, server, layout):
    tmp, dest = layout
    target = tmp / "abs-evil"
    data = make_tarball(lambda tar: add_file(tar, str(target), b"escaped\n"))
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data))

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 1
    assert f"refusing entry '{target}': absolute path" in res.stderr, res.stderr
    assert not target.exists()
    assert_unchanged(dest)


def test_tarball_without_bundle_json_is_refused(tool, server, layout):
    tmp, dest = layout
    data = make_tarball(with_index=False)
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data))

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 1
    assert "no bundle.json" in res.stderr
    assert_unchanged(dest)


def test_not_a_tarball_is_refused(tool, server, layout):
    tmp, dest = layout
    data = b"<html>a captive portal page, not a bundle</html>"
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data))

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 1
    assert "banger-runtime.tar.gz.part" in res.stderr
    assert_unchanged(dest)


def test_bad_manifest_is_reported_with_its_line(tool, layout):
    tmp, dest = layout
    manifest = tmp / "runtime-bundle.toml"
    manifest.write_text('url = "http://127.0.0.1:9/x.tar.gz"\nsha256 = "abc"\n')

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 1
    assert "runtime-bundle.toml" in res.stderr and "not 64 hex digits" in res.stderr
    assert_unchanged(dest)


def test_complete_partial_file_is_fetched_again(tool, server, layout):
    # A .part as long as the file gets a 416 for its Range: start over once.
    tmp, dest = layout
    data = make_tarball()
    manifest = write_manifest(tmp / "runtime-bundle.toml", serve(server, data), sha256(data))
    partial = dest.parent / "runtime.partial"
    partial.mkdir()
    (partial / "banger-runtime.tar.gz.part").write_bytes(b"x" * len(data))

    res = run(tool, "fetch", manifest, dest)

    assert res.returncode == 0, res.stderr
    assert [r for _, r in server.requests] == [f"bytes={len(data)}-", None]
    assert (dest / "vmlinux").read_bytes() == BUNDLE_FILES["vmlinux"]
