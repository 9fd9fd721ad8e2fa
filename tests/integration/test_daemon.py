"""bangerd: auto-start, status, stop, single instance, stale socket, peer
credentials, request validation, and its JSON log."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BANGERD, alive


def test_cli_autostarts_daemon_and_status_shows_pid_socket_log(env):
    assert not env.socket().exists()
    r = env.banger("daemon", "status")
    assert r.returncode == 0, r.stderr
    pid = env.daemon_pid()
    assert pid and os.path.exists(f"/proc/{pid}")
    assert f"pid:          {pid}" in r.stdout
    assert str(env.socket()) in r.stdout
    assert str(env.state / "bangerd.log") in r.stdout
    st = env.bjson("daemon", "status")
    assert st["pid"] == pid
    assert st["socket"] == str(env.socket())
    assert st["log"] == str(env.state / "bangerd.log")
    assert oct(os.stat(env.socket()).st_mode & 0o777) == "0o600"


def test_daemon_socket_prints_path_without_starting(env):
    r = env.banger("daemon", "socket", check=True)
    assert r.stdout.strip() == str(env.socket())
    assert env.daemon_pid() is None


def test_daemon_stop_leaves_no_process_and_no_socket(env):
    env.banger("daemon", "status", check=True)
    pid = env.daemon_pid()
    r = env.banger("daemon", "stop", check=True)
    assert "stopped" in r.stdout
    assert not alive(pid)
    assert not env.socket().exists()
    r = env.banger("daemon", "stop", check=True)
    assert "not running" in r.stdout


def test_second_daemon_refuses_to_start(env):
    env.banger("daemon", "status", check=True)
    pid = env.daemon_pid()
    r = env.cmd([BANGERD], timeout=20)
    assert r.returncode != 0
    assert "already running" in r.stderr and str(pid) in r.stderr
    # The first one still serves.
    assert env.bjson("daemon", "status")["pid"] == pid


def test_stale_socket_from_crashed_daemon_is_replaced(env):
    env.banger("daemon", "status", check=True)
    pid = env.daemon_pid()
    os.kill(pid, signal.SIGKILL)
    env.wait_for(lambda: not alive(pid), what="daemon death")
    assert env.socket().exists()  # left behind by the crash
    st = env.bjson("daemon", "status")
    assert st["pid"] != pid


def test_other_uid_gets_403(env):
    env.banger("daemon", "status", check=True)
    # Let another user reach the socket file so SO_PEERCRED is what refuses.
    os.chmod(env.runtime, 0o755)
    os.chmod(env.runtime / "banger", 0o755)
    os.chmod(env.socket(), 0o666)
    r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                        "curl", "-s", "-w", "\n%{http_code}", "--unix-socket", str(env.socket()),
                        "http://banger/v1/vms"], capture_output=True, text=True, timeout=20)
    body, _, code = r.stdout.rpartition("\n")
    assert code == "403"
    assert json.loads(body)["error"]["code"] == "permission"


def test_bad_requests_get_400_json_and_daemon_keeps_serving(env):
    env.banger("daemon", "status", check=True)
    code, body = env.api("POST", "/v1/vms", raw="{not json")
    assert code == 400 and body["error"]["code"] == "invalid"
    assert "malformed JSON" in body["error"]["message"]
    code, body = env.api("POST", "/v1/vms", body={"name": "a", "bogus": 1})
    assert code == 400 and "bogus" in body["error"]["message"]
    code, body = env.api("POST", "/v1/vms", body={"name": 5})
    assert code == 400
    code, body = env.api("POST", "/v1/vms", raw=json.dumps({"name": "x" * 100000}))
    assert code == 400 and "larger than" in body["error"]["message"]
    code, body = env.api("GET", "/v1/nope")
    assert code == 404 and body["error"]["code"] == "not_found"
    code, body = env.api("GET", "/v1/vms/ghost")
    assert code == 404 and "ghost" in body["error"]["message"]
    code, body = env.api("GET", "/v1/vms")
    assert code == 200 and body == {"vms": []}


def test_log_is_json_lines_and_respects_level(env):
    env.banger("daemon", "status", check=True)
    env.api("POST", "/v1/vms", raw="{bad")
    env.banger("daemon", "stop", check=True)
    lines = env.log_lines()
    assert lines, "bangerd.log is empty"
    for l in lines:
        assert {"time", "level", "msg"} <= set(l)
        assert l["time"].endswith("Z") and "." in l["time"]
    assert any(l["msg"] == "daemon started" for l in lines)
    assert any(l["level"] == "debug" for l in lines)
    # At warn level, no info or debug lines are written.
    log = env.state / "bangerd.log"
    log.unlink()
    env.env["BANGER_LOG_LEVEL"] = "warn"
    env.banger("daemon", "status", check=True)
    env.banger("daemon", "stop", check=True)
    lines = env.log_lines()
    assert all(l["level"] in ("warn", "error") for l in lines)


def test_invalid_log_level_is_a_startup_error(env):
    env.env["BANGER_LOG_LEVEL"] = "chatty"
    r = env.banger("daemon", "status")
    assert r.returncode != 0
    assert "chatty" in r.stderr and "bangerd.log" in r.stderr


def test_config_unknown_key_names_file_line_and_key(env):
    env.write_config('log_level = "info"\n\nfirecracker_binary = "/x"\n')
    r = env.banger("daemon", "status")
    assert r.returncode != 0
    assert "config.toml:3" in r.stderr and "firecracker_binary" in r.stderr


def test_config_wrong_type_is_an_error(env):
    env.write_config('stop_timeout = "ten"\n')
    r = env.banger("daemon", "status")
    assert r.returncode != 0
    assert "config.toml:1" in r.stderr and "stop_timeout" in r.stderr and "integer" in r.stderr


def test_help_and_version(env):
    r = env.banger("--help", check=True)
    assert "vm" in r.stdout and "daemon" in r.stdout
    for g in ("vm", "image", "daemon"):
        r = env.banger(g, "--help", check=True)
        assert "usage: banger " + g in r.stdout
    r = env.banger("vm", "create", "--help", check=True)
    assert "--disk-size" in r.stdout
    r = env.banger("--version", check=True)
    assert r.stdout.startswith("banger ")
    r = env.banger("vm", "frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr
