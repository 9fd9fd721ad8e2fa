"""`banger tui` driven through tmux: the live table, keys that start, stop
and delete VMs, the create form, the filter, a resize to 80x24, and a
daemon outage. Each test has its own tmux server (TMUX_TMPDIR in the
test's temp dir) that is always killed afterwards."""
import re
import secrets
import shlex
import subprocess
import time

import pytest

from conftest import BANGER


class Tui:
    def __init__(self, env, tmp, width=120, height=40, extra_env=None):
        self.env = env
        self.sock = "tui-" + secrets.token_hex(3)
        self.tenv = {"PATH": env.env["PATH"], "TMUX_TMPDIR": str(tmp)}
        variables = dict(env.env, TERM="screen", **(extra_env or {}))
        inner = ["env", "-i"] + [f"{k}={v}" for k, v in variables.items()] + \
            ["ip", "netns", "exec", env.netns, str(BANGER), "tui"]
        # The pane outlives the TUI so a crash leaves its message visible.
        shell = shlex.join(inner) + '; echo "TUI EXITED $?"; sleep 600'
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), shell)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", *args],
                              env=self.tenv, capture_output=True, text=True, check=True,
                              timeout=30)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "t", "-l", text)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "t").stdout

    def lines(self):
        return self.screen().split("\n")

    def wait(self, pred, what, timeout=15):
        deadline = time.time() + timeout
        while True:
            text = self.screen()
            if pred(text):
                return text
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{text}")
            time.sleep(0.1)

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], env=self.tenv,
                       capture_output=True, timeout=30)


def row_state(text, name):
    """The STATE cell of NAME's table row (rows start at column 0 with the
    name), or None when the table has no such row."""
    m = re.search(rf"^{re.escape(name)}\s+(\w+)", text, re.M)
    return m.group(1) if m else None


def has_row(name):
    return lambda text: row_state(text, name) is not None


def state_is(name, want):
    return lambda text: row_state(text, name) == want


@pytest.fixture
def tui(booted, tmp_path):
    opened = []

    def start(**kw):
        t = Tui(booted, tmp_path, **kw)
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()


def test_table_follows_vms_and_keys_start_stop(booted, tui):
    env = booted
    env.banger("vm", "create", "--name", "alpha-one", check=True)
    env.banger("vm", "create", "--name", "beta-two", "--no-start", check=True)
    t = tui()
    text = t.wait(lambda s: row_state(s, "alpha-one") == "running" and
                  row_state(s, "beta-two") == "stopped", "both VMs in the table")
    assert re.search(r"^NAME\s+STATE\s+ADDRESS", text, re.M)
    assert "2 VMs" in text
    # The first row is selected: S stops it, s starts it again.
    t.keys("S")
    t.wait(state_is("alpha-one", "stopped"), "alpha-one stopped on screen")
    assert env.vm("alpha-one")["state"] == "stopped"
    t.keys("s")
    t.wait(state_is("alpha-one", "running"), "alpha-one running on screen")
    assert env.vm("alpha-one")["state"] == "running"
    # z suspends it, s resumes it.
    t.keys("z")
    t.wait(lambda s: state_is("alpha-one", "suspended")(s) and " of saved state (s resumes it)"
           in s, "alpha-one suspended on screen, with its saved state's size")
    assert env.vm("alpha-one")["state"] == "suspended"
    t.keys("s")
    t.wait(state_is("alpha-one", "running"), "alpha-one resumed on screen")
    assert env.vm("alpha-one")["resume_note"].startswith("resumed")
    # j moves down to beta-two; s starts that one.
    t.keys("j")
    t.wait(lambda s: "-- beta-two " in s, "details of beta-two")
    t.keys("s")
    t.wait(state_is("beta-two", "running"), "beta-two running on screen")
    # A VM created elsewhere shows up through the event stream.
    env.banger("vm", "create", "--name", "gamma-three", "--no-start", check=True)
    text = t.wait(state_is("gamma-three", "stopped"), "gamma-three in the table")
    assert "3 VMs" in text


def test_delete_needs_the_name_typed(booted, tui):
    env = booted
    env.banger("vm", "create", "--name", "doomed", check=True)
    env.banger("vm", "create", "--name", "keeper", "--no-start", check=True)
    t = tui()
    t.wait(has_row("doomed"), "doomed in the table")
    t.keys("d")
    t.wait(lambda s: "type its name to confirm" in s, "the confirmation prompt")
    t.type("keeper")
    t.keys("Enter")
    t.wait(lambda s: "delete cancelled" in s, "the cancellation")
    assert env.vm("doomed")["state"] == "running"
    assert env.vm("keeper")["state"] == "stopped"
    assert row_state(t.screen(), "doomed") == "running"
    t.keys("d")
    t.wait(lambda s: "type its name to confirm" in s, "the confirmation prompt")
    t.type("doomed")
    t.keys("Enter")
    text = t.wait(lambda s: not has_row("doomed")(s), "doomed gone from the table")
    assert row_state(text, "keeper") == "stopped"
    assert env.banger("vm", "show", "doomed").returncode != 0


def test_filter_narrows_the_list(booted, tui):
    env = booted
    for n in ("web-1", "web-2", "db-main"):
        env.banger("vm", "create", "--name", n, "--no-start", check=True)
    t = tui()
    t.wait(lambda s: all(has_row(n)(s) for n in ("web-1", "web-2", "db-main")), "all VMs")
    t.keys("/")
    t.type("web")
    text = t.wait(lambda s: not has_row("db-main")(s), "db-main filtered out")
    assert has_row("web-1")(text) and has_row("web-2")(text)
    t.keys("Enter")
    text = t.wait(lambda s: "2 of 3 VMs (filter: web)" in s, "the filter in the title")
    assert not has_row("db-main")(text)
    # Esc clears the filter.
    t.keys("Escape")
    t.wait(has_row("db-main"), "db-main back")


def test_create_form(booted, tui):
    env = booted
    t = tui()
    t.wait(lambda s: "no VMs yet" in s, "the empty table")
    t.keys("n")
    t.wait(lambda s: "new VM name" in s, "the name question")
    t.type("made-here")
    t.keys("Enter")
    t.wait(lambda s: "vCPUs [1]" in s, "the vCPU question with the config's default")
    t.type("x")
    t.keys("Enter")
    t.wait(lambda s: "not a positive whole number" in s and "vCPUs [1]" in s, "re-asked")
    t.type("2")
    t.keys("Enter")
    t.wait(lambda s: "memory in MiB [256]" in s, "the memory question")
    t.keys("Enter")
    t.wait(lambda s: "work disk size [128M]" in s, "the disk question")
    t.keys("Enter")
    t.wait(lambda s: "NAT" in s, "the NAT question")
    t.keys("Enter")
    t.wait(state_is("made-here", "running"), "made-here running", timeout=30)
    vm = env.vm("made-here")
    assert vm["vcpu"] == 2 and vm["memory_mib"] == 256 and not vm["nat"]


def test_resize_to_80x24_stays_readable(booted, tui):
    env = booted
    env.banger("vm", "create", "--name", "a-rather-long-vm-name-for-layout", check=True)
    t = tui()
    t.wait(has_row("a-rather-long-vm-name-for-layout"), "the VM row")
    t.tmux("resize-window", "-t", "t", "-x", "80", "-y", "24")

    def readable(s):
        lines = s.split("\n")
        return len(lines) >= 24 and lines[0].startswith(" banger tui") and \
            re.match(r"^NAME\s+STATE\s+ADDRESS", lines[1]) and \
            re.match(r"^a-rather-long-vm\S*\s+running\s+\S+", lines[2]) and \
            lines[23].startswith(" q:quit ?:help") and "l:log" in lines[23]
    text = t.wait(readable, "the 80x24 layout")
    lines = text.split("\n")
    assert all(len(l) <= 80 for l in lines)
    # Drawn once: one header, one row, nothing left over from 120 columns.
    assert sum(1 for l in lines if re.match(r"^NAME\s", l)) == 1
    assert sum(1 for l in lines if l.startswith("a-rather-long")) == 1
    assert "CPU%" in lines[1] and "UPTIME" in lines[1]
    # And back to wide.
    t.tmux("resize-window", "-t", "t", "-x", "120", "-y", "40")
    t.wait(lambda s: re.search(r"^a-rather-long-vm-name-for-layout\s+running", s, re.M),
           "the full name at 120 columns")


def tail_shown(path):
    """A predicate: one of the log file's last lines (its start) is on screen."""
    def pred(text):
        with open(path, errors="replace") as f:
            last = [l.rstrip("\n")[:60] for l in f.readlines()[-3:] if l.strip()]
        return any(l in text for l in last)
    return pred


def test_help_and_log_screens(booted, tui):
    env = booted
    env.banger("vm", "create", "--name", "logged", check=True)
    log = env.vm("logged")["console_log"]
    t = tui(extra_env={"NO_COLOR": "1"})
    t.wait(has_row("logged"), "the VM row")
    # The console log pane tails the VM's log.
    t.wait(tail_shown(log), "the console log pane")
    t.keys("?")
    t.wait(lambda s: "keys" in s and "type its name to confirm" in s, "the help screen")
    t.keys("x")
    t.wait(has_row("logged"), "back at the table")
    t.keys("l")
    t.wait(lambda s: "console log: logged" in s and tail_shown(log)(s), "the full-screen log")
    t.keys("g")  # scrolled to the top: the first lines of the log
    t.wait(lambda s: "--- banger: firecracker start" in s, "the top of the log")
    t.keys("q")
    t.wait(has_row("logged"), "back at the table")
    t.keys("q")
    t.wait(lambda s: "TUI EXITED 0" in s, "a clean exit")


def test_ssh_runs_the_cli_and_comes_back(booted, tui):
    env = booted
    env.banger("vm", "create", "--name", "resting", "--no-start", check=True)
    t = tui()
    t.wait(has_row("resting"), "the VM row")
    t.keys("c")
    # `banger vm ssh resting` runs in the terminal; its error stays readable.
    t.wait(lambda s: "the VM is stopped" in s and "Press Enter to return" in s,
           "the ssh child's error")
    t.keys("Enter")
    text = t.wait(has_row("resting"), "back at the table")
    assert "ssh resting failed" in text


def test_daemon_outage_is_shown_and_recovered(booted, tui):
    env = booted
    env.banger("vm", "create", "--name", "survivor", "--no-start", check=True)
    t = tui()
    t.wait(has_row("survivor"), "the VM row")
    env.banger("daemon", "stop", check=True)
    t.wait(lambda s: "daemon not reachable, retrying" in s, "the outage message")
    # The TUI does not bring the daemon back by itself.
    time.sleep(2)
    assert not env.socket().exists() or env.api("GET", "/v1/vms")[0] == 0
    env.banger("vm", "list", check=True)  # any command starts it again
    text = t.wait(lambda s: "daemon not reachable" not in s and has_row("survivor")(s),
                  "the table back after the restart")
    assert "bangerd connected" in text
    # Still live: an event after the reconnect reaches the table.
    env.banger("vm", "start", "survivor", check=True)
    t.wait(state_is("survivor", "running"), "survivor running on screen")
