"""Bad input, over the CLI and the API: every command and route that takes a
name, a size, a path or a body gets non-ASCII text, bytes that are not
UTF-8, control characters, very long values, wrong JSON types, unknown
fields, `..` and absolute paths where a name goes, negative and huge sizes.

Each must get a clear error (the CLI exits non-zero with `banger: ...`
naming what is wrong; the API answers 400 with a JSON error body whose
message names it), and nothing may change: the VM and image lists and the
state directory's files are the same before and after, and the daemon is
still serving. Each test runs a private daemon in its own netns (conftest).
"""
import json
import os
import socket
import subprocess

import pytest

from conftest import BANGER

LONG = "x" * 10000

# Values for a name, and what the error must say about each (any of).
BAD_NAMES = [
    ("café", ["'é'"]),
    (b"caf\xc3", ["\\xc3"]),
    ("a\nb", ["a\\nb"]),
    ("\x1b[31mred", ["\\x1b[31mred"]),
    (LONG, ["longer than 63", "too long"]),
    ("../x", ["not a path"]),
    ("/etc", ["not a path"]),
    ("Calm", ["'C'"]),
]

BAD_SIZES = [
    ("-1G", ["must be positive"]),
    ("99999999T", ["too large"]),
    ("1.5G", ["fractions"]),
    ("12Q", ["unknown suffix"]),
    ("café", ["not a number"]),
    (b"1\xffG", ["\\xff"]),
    ("1\n", ["unknown suffix"]),
    ("9" * 10000, ["too large", "too long"]),
]


def run_cli(env, *args, timeout=60):
    """banger in the env's netns, with argv given as str or raw bytes."""
    argv = [b"ip", b"netns", b"exec", env.netns.encode(), os.fsencode(BANGER)]
    argv += [a if isinstance(a, bytes) else a.encode() for a in args]
    return subprocess.run(argv, env=env.env, capture_output=True, timeout=timeout)


def raw_request(env, method, path, body=None, timeout=30):
    """One HTTP request over the Unix socket, bytes in and out (curl would
    normalise or refuse some of these paths). Returns (status, JSON or None,
    raw body)."""
    if isinstance(path, str):
        path = path.encode()
    head = method.encode() + b" " + path + b" HTTP/1.1\r\nHost: banger\r\nConnection: close\r\n"
    if body is not None:
        head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    data = head + b"\r\n" + (body or b"")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(env.socket()))
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    head, _, payload = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = None
    return status, parsed, payload


def snapshot(env):
    """What a user can see: VMs, images, and the state directory's files."""
    vms = json.loads(run_cli(env, "vm", "list", "--json").stdout)
    images = json.loads(run_cli(env, "image", "list", "--json").stdout)
    files = sorted(
        os.path.relpath(os.path.join(d, f), env.state)
        for d, _, fs in os.walk(env.state)
        for f in fs
    )
    return vms, images, files


@pytest.fixture
def world(booted):
    """A daemon with the default image and one stopped VM, "keep"."""
    r = booted.banger("vm", "create", "--no-start", "--name", "keep")
    assert r.returncode == 0, r.stderr
    return booted


def show(v):
    return v if isinstance(v, str) and len(v) < 80 else repr(v)[:80]


def check_cli(env, args, expect, problems):
    r = run_cli(env, *args)
    err = r.stderr.decode("utf-8", "replace")
    label = " ".join(show(a) for a in args)
    if r.returncode == 0:
        problems.append(f"{label}: exited 0")
    elif not err.startswith("banger: "):
        problems.append(f"{label}: stderr does not start with 'banger: ': {err[:200]!r}")
    elif not any(x in err for x in expect):
        problems.append(f"{label}: error does not say {expect}: {err[:300]!r}")
    elif "\x1b" in err or "\ufffd" in err:
        problems.append(f"{label}: raw control or invalid bytes in the error: {err[:200]!r}")
    elif len(err) > 3000:
        problems.append(f"{label}: a {len(err)}-character error")


def check_api(env, method, path, body, expect, problems, status=400):
    code, parsed, raw = raw_request(env, method, path, body)
    label = f"{method} {show(path)} {show(body)}"
    err = (parsed or {}).get("error") if isinstance(parsed, dict) else None
    if code != status:
        problems.append(f"{label}: HTTP {code}, not {status}: {raw[:200]!r}")
    elif not err or err.get("code") != "invalid" or not err.get("message"):
        problems.append(f"{label}: not a JSON error with code and message: {raw[:200]!r}")
    elif not any(x in err["message"] for x in expect):
        problems.append(f"{label}: message does not say {expect}: {err['message'][:300]!r}")


def assert_unchanged(env, before, problems):
    after = snapshot(env)
    code, parsed, _ = raw_request(env, "GET", "/v1/daemon")
    assert code == 200 and parsed["pid"] == env.daemon_pid(), "the daemon stopped serving"
    assert not problems, "\n".join(problems)
    assert after[0] == before[0], "the VM list changed"
    assert after[1] == before[1], "the image list changed"
    assert after[2] == before[2], "the state directory's files changed"


def test_cli_names_sizes_and_paths(world):
    env = world
    before = snapshot(env)
    problems = []
    name_cmds = [
        ["vm", "create", "--no-start", "--name"],
        ["vm", "create", "--no-start", "--image"],
        ["image", "register", "--rootfs", "/r", "--kernel", "/k", "--name"],
        ["image", "build", "--name"],
    ]
    for value, expect in BAD_NAMES:
        if isinstance(value, bytes):
            expect = expect + ["not valid UTF-8"]
        for cmd in name_cmds:
            check_cli(env, cmd + [value], expect, problems)
        # Commands that take the name of an existing VM or image.
        for cmd in (["vm", "show"], ["vm", "start"], ["vm", "stop"], ["vm", "restart"],
                    ["vm", "kill"], ["vm", "delete"], ["vm", "delete", "--force"],
                    ["vm", "ssh"], ["vm", "logs"], ["vm", "stats"], ["image", "show"],
                    ["image", "delete"]):
            check_cli(env, cmd + [value], expect, problems)
        check_cli(env, ["vm", "set", value, "--memory", "512"], expect, problems)
    for value, expect in BAD_SIZES:
        if isinstance(value, bytes):
            expect = expect + ["not valid UTF-8"]
        check_cli(env, ["vm", "create", "--no-start", "--name", "sized", "--disk-size", value],
                  expect, problems)
        check_cli(env, ["vm", "set", "keep", "--disk-size", value], expect, problems)
        check_cli(env, ["image", "build", "--name", "sized", "--size", value], expect, problems)
    for opt in ("--vcpu", "--memory"):
        for value in ("-1", "0", "two", "1.5", LONG):
            check_cli(env, ["vm", "create", "--no-start", "--name", "n", opt, value],
                      ["positive whole number"], problems)
            check_cli(env, ["vm", "set", "keep", opt, value], ["positive whole number"], problems)
    for value in ("café", "\x1b[31m", LONG, b"K\xffILL"):
        check_cli(env, ["vm", "kill", "--signal", value, "keep"],
                  ["unknown signal", "not valid UTF-8", "too long"], problems)
    check_cli(env, ["vm", "create", "--no-start", "--name", "v", "--vmm", "kvm\n"],
              ["unknown VMM \"kvm\\n\""], problems)
    # Paths: what does not exist is named in full; bytes that are not
    # UTF-8 are refused by the CLI.
    for value, expect in (("no-such-rootfs", ["no-such-rootfs"]),
                          ("../x", ["/x"]),
                          (b"caf\xc3", ["not valid UTF-8"]),
                          ("a\x1b[31m", ["\\x1b[31m"]),
                          ("/" + LONG, ["too long", "File name too long"])):
        check_cli(env, ["image", "register", "--name", "reg", "--kernel", "/k", "--rootfs",
                        value], expect, problems)
        check_cli(env, ["image", "build", "--name", "built", "--base-rootfs", value], expect,
                  problems)
        check_cli(env, ["image", "build", "--name", "built", "--packages", value], expect,
                  problems)
    check_cli(env, ["image", "build", "--name", "built", "--suite", "../x"],
              ["not a Debian suite"], problems)
    check_cli(env, ["image", "build", "--name", "built", "--mirror", "a\x1bb"],
              ["not a mirror URL"], problems)
    assert_unchanged(env, before, problems)


def test_cli_vm_create_cafe_names_the_character(env):
    """The report of issue 15: this used to answer "the daemon ended the
    request without a result"."""
    r = env.banger("vm", "create", "--no-start", "--name", "café")
    assert r.returncode != 0
    assert r.stderr.startswith("banger: ")
    assert "VM name \"café\" contains 'é'" in r.stderr
    assert "without a result" not in r.stderr


# Route, method, and a body that decodes for it but for the field under test.
BODY_ROUTES = [
    ("POST", "/v1/vms", {"no_start": True}),
    ("PATCH", "/v1/vms/keep", {}),
    ("POST", "/v1/vms/keep/kill", {}),
    ("POST", "/v1/images", {"name": "reg", "rootfs": "/r", "kernel": "/k"}),
    ("POST", "/v1/images/build", {"name": "built"}),
]

# Bodies that no route takes.
BAD_BODIES = [
    (b'{"name": "caf\xc3"}', ["malformed JSON", "unable to decode"]),
    (b'{"name": "a\x1bb"}', ["malformed JSON"]),
    (b"{", ["malformed JSON"]),
    (b"[1]", ["must be a JSON object"]),
    (b'"x"', ["must be a JSON object"]),
    (b"null", ["must be a JSON object"]),
    (b'{"name": "a", "name": "b"}', ["duplicate"]),
    (b'{"name": "a\\u0000b"}', ["\\u0000"]),
    (b'{"vcpu": 99999999999999999999}', ["too big"]),
    (b'{"bogus": 1}', ["unknown field \"bogus\""]),
    (b'{"caf\xc3\xa9\\n": 1}', ['unknown field "café\\n"']),
    (b'{"' + LONG.encode() + b'": 1}', ["unknown field \"xxx"]),
]

# (route index, field, value, what the message must say)
BAD_FIELDS = [
    (0, "vcpu", "2", 'field "vcpu" must be an integer, got a string'),
    (0, "memory_mib", 1.5, 'field "memory_mib" must be an integer, got a number with a fraction'),
    (0, "vcpu", -1, 'field "vcpu": must not be negative'),
    (0, "nat", "yes", 'field "nat" must be true or false, got a string'),
    (0, "name", None, 'field "name" must be a string, got null'),
    (0, "image", ["x"], 'field "image" must be a string, got an array'),
    (0, "vmm", "kvm", 'unknown VMM "kvm"'),
    (0, "vmm", LONG, 'field "vmm" is too long'),
    (1, "nat", 1, 'field "nat" must be true or false, got an integer'),
    (1, "memory_mib", "512", 'field "memory_mib" must be an integer'),
    (1, "memory", 512, 'unknown field "memory" in the request body; accepted: vcpu, memory_mib, '
                       'disk_size, nat, suspend_on_stop, force, autostart'),
    (2, "signal", 9, 'field "signal" must be a string, got an integer'),
    (2, "signal", "\x1b[31m", 'unknown signal "\\x1b[31m"'),
    (3, "kernel", {"a": 1}, 'field "kernel" must be a string, got an object'),
    (3, "rootfs", "rootfs.ext4", 'field "rootfs": must be an absolute path'),
    (3, "rootfs", "../x", 'field "rootfs": must be an absolute path'),
    (3, "initrd", "café", 'field "initrd": must be an absolute path'),
    (4, "docker", "yes", 'field "docker" must be true or false'),
    (4, "packages_file", "../x", 'field "packages_file": must be an absolute path'),
    (4, "base_rootfs", "rel", 'field "base_rootfs": must be an absolute path'),
    (4, "size", 2, 'field "size" must be a string, got an integer'),
    (4, "suite", "../x", "not a Debian suite"),
]


def test_api_bad_bodies_types_and_fields(world):
    env = world
    before = snapshot(env)
    problems = []
    for method, path, _ in BODY_ROUTES + [("POST", "/v1/vms/keep/start", {}),
                                          ("POST", "/v1/vms/keep/stop", {}),
                                          ("POST", "/v1/vms/keep/restart", {})]:
        for body, expect in BAD_BODIES:
            check_api(env, method, path, body, expect, problems)
    check_api(env, "POST", "/v1/vms/keep/stop", b'{"force": true}',
              ['unknown field "force" in the request body; this request takes no fields'],
              problems)
    for path in ("/v1/vms/keep/start", "/v1/vms/keep/restart"):
        check_api(env, "POST", path, b'{"force": true}',
                  ['unknown field "force" in the request body; accepted: no_wait'], problems)
        check_api(env, "POST", path, b'{"no_wait": "yes"}',
                  ['field "no_wait" must be true or false, got a string'], problems)
    check_api(env, "POST", "/v1/vms", b'{"memory": 512}',
              ['unknown field "memory" in the request body; accepted: name, image, vcpu, '
               'memory_mib, disk_size, vmm, nat, no_start, no_wait, suspend_on_stop, publish, mount, '
               'autostart'], problems)
    for i, field, value, expect in BAD_FIELDS:
        method, path, good = BODY_ROUTES[i]
        body = dict(good, **{field: value})
        check_api(env, method, path, json.dumps(body).encode(), [expect], problems)
    # Required fields.
    check_api(env, "POST", "/v1/images", b'{"name": "reg", "kernel": "/k"}',
              ['field "rootfs" is required'], problems)
    check_api(env, "POST", "/v1/images/build", b"{}", ['field "name" is required'], problems)
    # Names and sizes inside bodies.
    for value, expect in BAD_NAMES:
        if isinstance(value, bytes):
            continue  # not JSON text: BAD_BODIES has it
        for i, field in ((0, "name"), (0, "image"), (3, "name"), (4, "name")):
            method, path, good = BODY_ROUTES[i]
            body = json.dumps(dict(good, **{field: value})).encode()
            check_api(env, method, path, body, expect, problems)
    for value, expect in BAD_SIZES:
        if isinstance(value, bytes):
            continue
        for i, field in ((0, "disk_size"), (1, "disk_size"), (4, "size")):
            method, path, good = BODY_ROUTES[i]
            body = json.dumps(dict(good, **{field: value})).encode()
            check_api(env, method, path, body, expect, problems)
    # Too big a body.
    check_api(env, "POST", "/v1/vms", json.dumps({"name": "x" * 100000}).encode(),
              ["larger than"], problems)
    assert_unchanged(env, before, problems)


# {name} in a path, as sent on the wire (percent-encoded, or raw bytes).
BAD_PATH_NAMES = [
    (b"caf%C3%A9", ["'é'"]),
    (b"caf\xc3\xa9", ["'é'"]),
    (b"caf%C3", ["\\xc3"]),
    (b"caf\xc3", ["\\xc3"]),
    (b"a%0Ab", ["a\\nb"]),
    (b"%1B%5B31m", ["\\x1b[31m"]),
    (b"a" * 10000, ["longer than 63"]),
    (b"%2E%2E%2Fx", ["not a path"]),
    (b"%2Fetc", ["not a path"]),
    (b"a%00b", ["NUL"]),
    (b"..", ["'.'"]),
    (b"%", ["'%'"]),
]

PATH_ROUTES = [
    ("GET", "/v1/vms/{}"), ("PATCH", "/v1/vms/{}"), ("DELETE", "/v1/vms/{}"),
    ("DELETE", "/v1/vms/{}?force=1"), ("POST", "/v1/vms/{}/start"),
    ("POST", "/v1/vms/{}/stop"), ("POST", "/v1/vms/{}/restart"), ("POST", "/v1/vms/{}/kill"),
    ("GET", "/v1/vms/{}/stats"), ("GET", "/v1/images/{}"), ("DELETE", "/v1/images/{}"),
]


def test_api_bad_names_in_paths(world):
    env = world
    before = snapshot(env)
    problems = []
    for raw, expect in BAD_PATH_NAMES:
        for method, pattern in PATH_ROUTES:
            path = pattern.encode().replace(b"{}", raw)
            body = b"{}" if method in ("POST", "PATCH") else None
            check_api(env, method, path, body, expect, problems)
    assert_unchanged(env, before, problems)
