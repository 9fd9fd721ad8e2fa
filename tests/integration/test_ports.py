"""Published ports against the emulator (issue 12): recorded on the VM,
forwarded by the daemon from 127.0.0.1 to a stand-in guest's sshd while the
VM runs, closed when it stops, back after a start and a daemon restart; a
host port another VM publishes is refused, naming it."""
import os

import pytest

from guest_standin import Guest, build_relay


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    return build_relay(tmp_path_factory.mktemp("standin"))


@pytest.fixture
def standin_env(env):
    env.env["FCEMU_RELEASE_TAP"] = "1"
    env.register_default_image()
    return env


def banner(env, port):
    """What the published port answers first, read in the daemon's namespace."""
    r = env.cmd(["timeout", "10", "bash", "-c",
                 f"exec 3<>/dev/tcp/127.0.0.1/{port} && head -c 4 <&3"])
    return r.stdout if r.returncode == 0 else None


def test_published_port_follows_the_vm(standin_env, relay):
    env = standin_env
    env.banger("vm", "create", "--name", "webby", "--publish", "12222:22", check=True)
    vm = env.vm("webby")
    assert vm["ports"] == ["127.0.0.1:12222:22"]
    key = os.path.join(vm["dir"], "ssh_host_ed25519_key")
    with Guest(env, vm, relay) as g:
        g.start_sshd(key)
        assert banner(env, 12222) == "SSH-"
        lst = env.banger("vm", "port", "list", "webby", check=True).stdout
        assert "127.0.0.1:12222" in lst and "forwarded" in lst
        # The daemon restarts; the VM runs on and so does its forward.
        env.stop_daemon()
        assert banner(env, 12222) is None
        env.banger("vm", "list", check=True)
        assert banner(env, 12222) == "SSH-"
    env.banger("vm", "stop", "webby", check=True)
    assert banner(env, 12222) is None
    assert env.cmd(["ss", "-Hltn", "sport = :12222"]).stdout.strip() == ""
    env.banger("vm", "start", "webby", check=True)
    with Guest(env, env.vm("webby"), relay) as g:
        g.start_sshd(key)
        assert banner(env, 12222) == "SSH-"
        env.banger("vm", "port", "rm", "webby", "12222", check=True)
        assert banner(env, 12222) is None
    assert env.vm("webby")["ports"] == []


def test_publish_conflicts_and_bad_specs(booted):
    env = booted
    env.banger("vm", "create", "--name", "first", "--publish", "13000:80", "--no-start",
               check=True)
    r = env.banger("vm", "create", "--name", "second", "--publish", "13000:81", "--no-start")
    assert r.returncode == 1 and "already published by VM first" in r.stderr, r.stderr
    assert [v["name"] for v in env.bjson("vm", "list")] == ["first"]  # nothing made
    r = env.banger("vm", "create", "--name", "second", "--publish", "0.0.0.0:13000:81",
                   "--no-start")
    assert r.returncode == 1 and "first" in r.stderr  # the wildcard takes 127.0.0.1 too
    r = env.banger("vm", "port", "add", "first", "13000:90")
    assert r.returncode == 1 and "already publishes host port 13000" in r.stderr
    for bad in ("80", "0:80", "70000:80", "a:b", "1.2.3:80:80"):
        r = env.banger("vm", "port", "add", "first", bad)
        assert r.returncode != 0 and "HOSTPORT:GUESTPORT" in r.stderr or "IPv4" in r.stderr, bad
    r = env.banger("vm", "port", "add", "first", "10.1.2.3:13001:81")
    assert r.returncode == 1 and "not an address of this host" in r.stderr
    env.banger("vm", "port", "add", "first", "127.0.0.2:13001:81", check=True)
    assert env.vm("first")["ports"] == ["127.0.0.1:13000:80", "127.0.0.2:13001:81"]
    env.banger("vm", "port", "rm", "first", "13000", check=True)
    r = env.banger("vm", "port", "rm", "first", "13000")
    assert r.returncode == 1 and "publishes no host port 13000" in r.stderr
    r = env.banger("vm", "port", "list", "first", "--json", check=True)
    assert r.stdout.strip().startswith("[") and "13001" in r.stdout
