"""docs/openapi.yaml against the daemon: the document names exactly the
routes the daemon serves, and the answers a real daemon (Firecracker
emulator, own netns) gives match the schema of their route and status."""
import json
import subprocess

import jsonschema
import pytest

import openapi_check as oc
from conftest import UnixHTTPConnection


def call(env, method, path, body=None, raw=None, want=None):
    """One API request; the answer is checked against the document (and
    its status against want) before the test looks at it."""
    if body is not None and want is not None and want < 300:
        oc.check_request(method, path, body)
    status, parsed = env.api(method, path, body=body, raw=raw, timeout=60)
    assert status, f"{method} {path}: no answer"
    if want is not None:
        assert status == want, f"{method} {path}: {status} {parsed}"
    oc.check(method, path, status, parsed)
    return parsed


# -- the document itself -------------------------------------------------------
def test_document_is_valid_openapi_with_valid_schemas():
    doc = oc.spec()
    assert doc["openapi"].startswith("3.")
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
    for path, item in doc["paths"].items():
        for m, op in item.items():
            if m in oc.METHODS:
                assert op.get("responses"), f"{m} {path} has no responses"
                assert any(s.startswith("2") for s in op["responses"]), f"{m} {path}: no 2xx"


def test_every_daemon_route_is_documented_and_nothing_else():
    daemon, doc = oc.daemon_routes(), oc.documented_routes()
    assert len(daemon) >= 18  # the table was found and read
    assert daemon - doc == set(), "routes in src/daemon/routes.c missing from docs/openapi.yaml"
    assert doc - daemon == set(), "docs/openapi.yaml documents routes the daemon does not have"


def test_every_documented_path_is_served_by_the_daemon(env):
    """Asked with a method no route has, a path the daemon serves is 405
    and one it does not is 404: each documented path must be the former."""
    env.banger("daemon", "status", check=True)  # starts it
    for path in sorted(oc.spec()["paths"]):
        url = path.replace("{name}", "some-name")
        status, body = env.api("OPTIONS", url)
        assert status == 405, f"OPTIONS {url}: {status} {body}"
        oc.check("OPTIONS", url, status, body)
    status, body = env.api("OPTIONS", "/v1/not-a-route")
    assert status == 404, (status, body)


def test_request_schemas_are_as_strict_as_the_daemon():
    """Every body schema refuses unknown fields, as req_decode.c does."""
    schemas = oc.spec()["components"]["schemas"]
    for name, s in schemas.items():
        if name.endswith("Request"):
            assert s.get("additionalProperties") is False, name
    with pytest.raises(AssertionError):
        oc.check_request("POST", "/v1/vms", {"name": "x", "memory": 1})
    with pytest.raises(AssertionError):
        oc.check_request("POST", "/v1/images", {"name": "x", "rootfs": "/r"})


def test_checker_refuses_an_answer_the_document_does_not_allow():
    """The checker can fail: a VM without its fields, an undocumented status."""
    with pytest.raises(AssertionError, match="'accel' is a required property"):
        oc.check("GET", "/v1/vms/x", 200, {"name": "x"})
    with pytest.raises(AssertionError, match="not documented"):
        oc.check("GET", "/v1/vms", 418, {"error": {"code": "x", "message": "y"}})
    with pytest.raises(AssertionError):
        oc.check("GET", "/v1/vms", 500, {"error": "flat string"})


# -- a real daemon -------------------------------------------------------------
def test_vm_lifecycle_answers_match_the_document(booted):
    env = booted
    env.fcemu(shutdown_delay_ms=0)
    call(env, "GET", "/v1/daemon", want=200)
    imgs = call(env, "GET", "/v1/images", want=200)
    assert [i["name"] for i in imgs["images"]] == ["default"]
    call(env, "GET", "/v1/images/default", want=200)

    vm = call(env, "POST", "/v1/vms", {"name": "spec-one", "vcpu": 1, "memory_mib": 256,
                                        "disk_size": "128M"}, want=201)
    assert vm["state"] == "running"
    idle = call(env, "POST", "/v1/vms", {"name": "spec-idle", "no_start": True}, want=201)
    assert idle["state"] == "stopped"
    lst = call(env, "GET", "/v1/vms", want=200)
    assert {v["name"] for v in lst["vms"]} == {"spec-one", "spec-idle"}
    shown = call(env, "GET", "/v1/vms/spec-one", want=200)
    # A real VM with one field gone or one field more no longer matches.
    with pytest.raises(AssertionError, match="'id' is a required property"):
        oc.check("GET", "/v1/vms/spec-one", 200, {k: v for k, v in shown.items() if k != "id"})
    with pytest.raises(AssertionError, match="Additional properties"):
        oc.check("GET", "/v1/vms/spec-one", 200, dict(shown, not_a_field=True))
    stats = call(env, "GET", "/v1/vms/spec-one/stats", want=200)
    assert stats["state"] == "running" and stats["pid"] == vm["pid"]
    call(env, "GET", "/v1/vms/spec-one/stats?flush=0", want=200)
    call(env, "GET", "/v1/vms/spec-idle/stats", want=200)

    assert call(env, "POST", "/v1/vms/spec-one/stop", {}, want=200)["state"] == "stopped"
    assert call(env, "POST", "/v1/vms/spec-one/stop", want=200)["state"] == "stopped"
    setv = call(env, "PATCH", "/v1/vms/spec-one", {"vcpu": 2, "memory_mib": 384, "nat": True},
                want=200)
    assert setv["vcpu"] == 2 and setv["memory_mib"] == 384 and setv["nat"] is True
    assert call(env, "POST", "/v1/vms/spec-one/start", {}, want=200)["state"] == "running"
    assert call(env, "POST", "/v1/vms/spec-one/restart", {}, want=200)["state"] == "running"
    killed = call(env, "POST", "/v1/vms/spec-one/kill", {"signal": "KILL"}, want=200)
    env.wait_for(lambda: call(env, "GET", "/v1/vms/spec-one")["state"] == "stopped", 10,
                 "spec-one to stop after kill")
    assert killed["name"] == "spec-one"

    # Creating with ?stream=1: progress lines, then the result.
    status, text = env.api("POST", "/v1/vms?stream=1", {"name": "spec-streamed"}, timeout=60)
    assert status == 200 and isinstance(text, str), (status, text)
    oc.check("POST", "/v1/vms?stream=1", status, text)
    last = json.loads([l for l in text.splitlines() if l.strip()][-1])
    assert last["result"]["name"] == "spec-streamed"

    assert call(env, "DELETE", "/v1/vms/spec-idle", want=200) == {"deleted": True}
    assert call(env, "DELETE", "/v1/vms/spec-streamed?force=1", want=200) == {"deleted": True}
    assert call(env, "DELETE", "/v1/vms/spec-one", want=200) == {"deleted": True}
    assert call(env, "GET", "/v1/vms", want=200) == {"vms": []}


def test_suspend_ports_clone_snapshot_answers_match_the_document(booted):
    env = booted
    env.fcemu(shutdown_delay_ms=0)
    vm = call(env, "POST", "/v1/vms", {"name": "spec-src", "publish": ["13100:80"],
                                        "suspend_on_stop": False}, want=201)
    assert vm["ports"] and vm["suspend_on_stop"] is False
    sus = call(env, "POST", "/v1/vms/spec-src/suspend", {}, want=200)
    assert sus["state"] == "suspended" and sus["state_bytes"] > 0
    snap = call(env, "POST", "/v1/vms/spec-src/snapshots", {"tag": "first"}, want=201)
    assert snap["tag"] == "first" and snap["suspended"] is True
    call(env, "POST", "/v1/vms/spec-src/snapshots", {"tag": "first"}, want=409)
    lst = call(env, "GET", "/v1/vms/spec-src/snapshots", want=200)
    assert [x["tag"] for x in lst["snapshots"]] == ["first"]
    resumed = call(env, "POST", "/v1/vms/spec-src/start", {}, want=200)
    assert resumed["state"] == "running" and resumed["resume_note"]
    port = call(env, "POST", "/v1/vms/spec-src/ports", {"spec": "13101:81"}, want=200)
    assert len(port["ports"]) == 2
    call(env, "POST", "/v1/vms/spec-src/ports", {"spec": "not a port"}, want=400)
    call(env, "DELETE", "/v1/vms/spec-src/ports", want=400)  # no ?port=
    assert len(call(env, "DELETE", "/v1/vms/spec-src/ports?port=13101", want=200)["ports"]) == 1
    call(env, "POST", "/v1/vms/spec-src/snapshots/restore?tag=first", want=409)  # running
    call(env, "POST", "/v1/vms/spec-src/stop", want=200)
    restored = call(env, "POST", "/v1/vms/spec-src/snapshots/restore?tag=first", want=200)
    assert restored["state"] in ("stopped", "suspended")
    call(env, "POST", "/v1/vms/spec-src/snapshots/restore", want=400)  # no ?tag=
    clone = call(env, "POST", "/v1/vms/spec-src/clone", {"name": "spec-clone"}, want=201)
    assert clone["name"] == "spec-clone" and clone["id"] != vm["id"]
    call(env, "POST", "/v1/vms/spec-src/clone", {"name": "spec-clone"}, want=409)
    call(env, "POST", "/v1/vms/spec-src/clone", {}, want=400)
    assert call(env, "DELETE", "/v1/vms/spec-src/snapshots?tag=first", want=200) == \
        {"deleted": True}
    call(env, "DELETE", "/v1/vms/spec-src/snapshots?tag=first", want=404)
    assert call(env, "PATCH", "/v1/vms/spec-clone", {"suspend_on_stop": True, "force": False},
                want=200)["suspend_on_stop"] is True
    for name in ("spec-clone", "spec-src"):
        call(env, "DELETE", f"/v1/vms/{name}?force=1", want=200)


def test_image_answers_match_the_document(booted):
    env = booted
    kernel, rootfs, initrd = env.images / "vmlinux", env.images / "rootfs.ext4", \
        env.images / "initrd.img"
    img = call(env, "POST", "/v1/images", {"name": "spec-img", "rootfs": str(rootfs),
                                           "kernel": str(kernel)}, want=201)
    assert img["name"] == "spec-img" and img["state"] == "ready" and img["initrd"] == ""
    call(env, "POST", "/v1/images", {"name": "spec-img", "rootfs": str(rootfs),
                                     "kernel": str(kernel), "initrd": str(initrd)}, want=409)
    call(env, "POST", "/v1/images/build", {"name": "spec-img"}, want=409)
    call(env, "POST", "/v1/images/build", {"name": "spec-img", "tarball": "x"}, want=400)
    # A missing file is not_found, for a build (streamed or not) and a register.
    call(env, "POST", "/v1/images", {"name": "spec-gone", "kernel": str(kernel),
                                     "rootfs": str(env.images / "missing.ext4")}, want=404)
    for q in ("", "?stream=1"):
        err = call(env, "POST", "/v1/images/build" + q,
                   {"name": "spec-built", "base_rootfs": str(env.images / "missing.ext4")},
                   want=404)
        assert "missing.ext4" in err["error"]["message"], err
    assert call(env, "GET", "/v1/images/spec-img", want=200)["vms"] == 0
    call(env, "POST", "/v1/vms", {"name": "uses-img", "image": "spec-img", "no_start": True},
         want=201)
    call(env, "DELETE", "/v1/images/spec-img", want=409)
    call(env, "DELETE", "/v1/vms/uses-img", want=200)
    assert call(env, "DELETE", "/v1/images/spec-img", want=200) == {"deleted": True}
    call(env, "GET", "/v1/images/spec-img", want=404)
    call(env, "DELETE", "/v1/images/spec-img", want=404)


def test_error_answers_match_the_document(booted):
    env = booted
    err = call(env, "GET", "/v1/vms/nobody-here", want=404)
    assert err["error"]["code"] == "not_found" and "nobody-here" in err["error"]["message"]
    call(env, "GET", "/v1/vms/nobody-here/stats", want=404)
    call(env, "POST", "/v1/vms/nobody-here/start", {}, want=404)
    call(env, "PATCH", "/v1/vms/nobody-here", {"vcpu": 2}, want=404)
    call(env, "DELETE", "/v1/vms/nobody-here", want=404)
    bad = call(env, "POST", "/v1/vms", raw="{not json", want=400)
    assert bad["error"]["code"] == "invalid" and "malformed JSON" in bad["error"]["message"]
    unk = call(env, "POST", "/v1/vms", {"name": "x-y", "memory": 512}, want=400)
    assert 'unknown field "memory"' in unk["error"]["message"]
    call(env, "POST", "/v1/vms", {"vcpu": "two"}, want=400)
    call(env, "POST", "/v1/vms", raw="[1]", want=400)
    call(env, "POST", "/v1/images", {"name": "no-paths"}, want=400)
    call(env, "POST", "/v1/images", {"name": "rel", "rootfs": "r", "kernel": "/k"}, want=400)
    call(env, "GET", "/v1/vms/..%2Fx", want=400)
    call(env, "POST", "/v1/vms/nobody-here/kill", {"signal": 9}, want=400)
    call(env, "POST", "/v1/vms/nobody-here/stop", {"force": True}, want=400)
    call(env, "POST", "/v1/vms", {"name": "twice", "no_start": True}, want=201)
    call(env, "POST", "/v1/vms", {"name": "twice", "no_start": True}, want=409)
    # Router errors: an unknown path and a known path with another method.
    call(env, "GET", "/v1/nothing", want=404)
    call(env, "PUT", "/v1/vms", want=405)
    call(env, "DELETE", "/v1/daemon", want=405)


def test_event_stream_lines_match_the_document(booted):
    env = booted
    c = UnixHTTPConnection(env.socket(), timeout=20)
    try:
        c.request("GET", "/v1/events")
        r = c.getresponse()
        assert r.status == 200
        assert r.getheader("Content-Type") == "application/x-ndjson"
        lines = []

        def next_event():
            while True:
                line = r.readline().decode()
                assert line, "event stream ended"
                if line.strip():
                    oc.check("GET", "/v1/events", 200, line)
                    lines.append(json.loads(line))
                    return lines[-1]

        assert next_event() == {"type": "hello"}
        call(env, "POST", "/v1/vms", {"name": "ev-one", "no_start": True}, want=201)
        call(env, "PATCH", "/v1/vms/ev-one", {"vcpu": 2}, want=200)
        call(env, "DELETE", "/v1/vms/ev-one", want=200)
        while next_event()["type"] != "vm.deleted":
            pass
        types = {l["type"] for l in lines}
        assert {"vm.created", "vm.updated", "vm.deleted"} <= types, types
    finally:
        c.close()


def test_daemon_stop_then_unavailable_match_the_document(booted):
    """While a shutdown drains a slow create, /v1/daemon still answers and
    everything else is 503: both as documented."""
    env = booted
    env.fcemu(boot_delay_ms=4000)
    slow = subprocess.Popen(["curl", "-s", "--unix-socket", str(env.socket()), "-X", "POST",
                             "-d", '{"name": "slow-one"}', "http://banger/v1/vms"],
                            stdout=subprocess.PIPE, text=True)
    try:
        env.wait_for(lambda: any(v["state"] == "starting" for v in
                                 call(env, "GET", "/v1/vms", want=200)["vms"]),
                     10, "slow-one to be starting")
        assert call(env, "POST", "/v1/daemon/stop", want=200) == {"stopping": True}
        err = call(env, "GET", "/v1/vms", want=503)
        assert err["error"]["code"] == "unavailable"
        call(env, "GET", "/v1/daemon", want=200)
        out, _ = slow.communicate(timeout=30)
        oc.check("POST", "/v1/vms", 201, json.loads(out))
    finally:
        if slow.poll() is None:
            slow.kill()
