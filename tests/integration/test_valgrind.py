"""bangerd under valgrind: a full VM lifecycle, bad requests and a clean
shutdown give no memory errors and no leaks."""
import re
import shutil
import signal
import subprocess

import pytest

from conftest import BANGERD


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
def test_daemon_is_valgrind_clean(booted, tmp_path):
    env = booted
    env.banger("daemon", "stop", check=True)
    log = tmp_path / "valgrind.log"
    vg = subprocess.Popen(["ip", "netns", "exec", env.netns, "valgrind", "--leak-check=full",
                           "--show-leak-kinds=definite,indirect", "--track-fds=no",
                           f"--log-file={log}", str(BANGERD)], env=env.env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env.wait_for(lambda: env.socket().exists(), 60, "bangerd under valgrind")
        env.banger("vm", "create", "--name", "vg-one", check=True, timeout=300)
        env.api("POST", "/v1/vms", raw="{broken")
        env.api("POST", "/v1/vms", body={"name": "x", "nope": 1})
        env.bjson("vm", "stats", "vg-one")
        env.banger("vm", "stop", "vg-one", check=True, timeout=300)
        env.banger("vm", "delete", "vg-one", check=True, timeout=300)
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
