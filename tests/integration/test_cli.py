"""The command line as a whole, from the CLI's own command table (`banger
__commands`): every command parses `--opt=value` and `--opt value` alike,
rejects unknown options with exit status 2 and its usage line, exits 3 when
a command given several names failed for some; `--json` prints the API
objects; the generated bash completion completes commands, flags and VM
names; the man pages document every command, option and config key.
Commands that need a daemon run against a private one in a netns (conftest).
"""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BANGER, REPO

BUILD = REPO / __import__("os").environ.get("BUILD", "build")
MAN_DIR = REPO / "docs" / "man"


def table():
    r = subprocess.run([str(BANGER), "__commands"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [c for c in json.loads(r.stdout) if not c["hidden"]]


def key(c):
    return f"{c['group']} {c['name']}" if c["group"] else c["name"]


def placeholders(c):
    """Positional arguments for a command: a made-up name where it wants one."""
    args = c["args"]
    if not args or args.startswith("["):
        return []
    if c["name"] == "completion":
        return ["bash"]
    return ["nosuch"]


def test_every_command_rejects_an_unknown_option_with_usage(env):
    for c in table():
        r = env.banger(*key(c).split(), *placeholders(c), "--bogus-option")
        assert r.returncode == 2, f"{key(c)}: {r.returncode}\n{r.stdout}{r.stderr}"
        assert "--bogus-option" in r.stderr and "usage: banger " + key(c) in r.stderr, key(c)
    assert env.daemon_pid() is None  # a usage error never starts the daemon


# Per command: the extra arguments and the value option to give both ways;
# any other command with a value option gets its first one with "x".
CHOICES = {
    "vm create": (["--no-start"], "name", ["form-eq", "form-sp"]),
    "vm set": (["nosuch"], "memory", ["300", "300"]),
    "vm kill": (["nosuch"], "signal", ["TERM", "TERM"]),
    "vm logs": (["nosuch"], "lines", ["5", "5"]),
    "daemon logs": ([], "level", ["error", "error"]),
    "image build": (["--name", "b1"], "mirror", ["not-a-url", "not-a-url"]),
}


def test_every_value_option_takes_both_forms(booted):
    env = booted
    kernel, rootfs, _ = env.make_image_files()
    choices = dict(CHOICES)
    choices["image register"] = (["--rootfs", str(rootfs), "--kernel", str(kernel)], "name",
                                 ["reg-eq", "reg-sp"])
    tried = 0
    for c in table():
        k = key(c)
        valued = [o for o in c["opts"] if o["value"]]
        if not valued:
            continue
        extra, opt, vals = choices.get(k, (placeholders(c), valued[0]["name"], ["x", "x"]))
        a = env.banger(*k.split(), *extra, f"--{opt}={vals[0]}", timeout=60)
        b = env.banger(*k.split(), *extra, f"--{opt}", vals[1], timeout=60)
        for r in (a, b):
            assert r.returncode != 2, f"{k} --{opt}: usage error\n{r.stderr}"
        assert a.returncode == b.returncode, f"{k}: {a.stderr} / {b.stderr}"
        assert a.stderr.replace(vals[0], "V") == b.stderr.replace(vals[1], "V"), k
        tried += 1
    assert tried >= 7
    # The values arrived: both VMs and both images exist.
    names = {v["name"] for v in env.bjson("vm", "list")}
    assert {"form-eq", "form-sp"} <= names
    images = {i["name"] for i in env.bjson("image", "list")}
    assert {"reg-eq", "reg-sp"} <= images
    # Short options and flags anywhere, as on every command.
    env.banger("vm", "set", "-m", "320", "form-eq", check=True)
    assert env.vm("form-eq")["memory_mib"] == 320
    env.banger("vm", "set", "form-eq", "--memory=330", check=True)
    assert env.vm("form-eq")["memory_mib"] == 330


def test_option_errors_are_clear_usage_errors(env):
    cases = [
        (["vm", "create", "--name"], "--name needs a value"),
        (["vm", "create", "--name", "a", "--name", "b"], "--name given twice"),
        (["vm", "create", "--json=yes"], "--json takes no value"),
        (["vm", "set", "x", "--memory=lots"], "--memory needs a positive whole number"),
        (["vm", "set", "x", "--nat", "--no-nat"], "contradict"),
        (["vm", "create", "--name", "--json"], "--name needs a value"),
        (["vm", "ssh", "x", "ls"], 'put the command after "--"'),
    ]
    for argv, needle in cases:
        r = env.banger(*argv)
        assert r.returncode == 2 and needle in r.stderr, f"{argv}: {r.returncode} {r.stderr}"
        assert "usage: banger " in r.stderr
    assert env.daemon_pid() is None
    # "--" ends the options: what follows is an argument (here one too many).
    r = env.banger("vm", "show", "a", "--", "--json")
    assert r.returncode == 2 and 'unexpected argument "--json"' in r.stderr


def test_exit_status_3_when_only_some_names_failed(booted):
    env = booted
    for n in ("aa", "bb"):
        env.banger("vm", "create", "--name", n, check=True)
    r = env.banger("vm", "stop", "aa", "ghost", "bb")
    assert r.returncode == 3, r.stderr
    assert "ghost" in r.stderr and r.stdout.count("stopped") == 2
    r = env.banger("vm", "stop", "ghost")
    assert r.returncode == 1
    r = env.banger("vm", "delete", "ghost", "ghost2")
    assert r.returncode == 1
    assert "exit status" in env.banger("--help", check=True).stdout


def test_json_prints_the_api_objects(booted):
    env = booted
    vm = env.bjson("vm", "create", "--name", "js", "--no-start")
    assert vm["name"] == "js" and vm["state"] == "stopped"
    vm = env.bjson("vm", "start", "js")
    assert vm["name"] == "js" and vm["state"] == "running"
    assert vm["id"] == env.api("GET", "/v1/vms/js")[1]["id"]
    vm = env.bjson("vm", "set", "js", "--nat")
    assert vm["nat"] is True
    vm = env.bjson("vm", "restart", "js")
    assert vm["state"] == "running"
    vm = env.bjson("vm", "stop", "js")
    assert vm["state"] == "stopped"
    env.banger("vm", "create", "--name", "js2", "--no-start", check=True)
    both = env.bjson("vm", "start", "js", "js2")
    assert [v["name"] for v in both] == ["js", "js2"]
    kernel, rootfs, _ = env.make_image_files()
    img = env.bjson("image", "register", "--name", "jsimg", "--rootfs", rootfs,
                    "--kernel", kernel)
    assert img["name"] == "jsimg" and img["rootfs"] == str(rootfs)
    st = env.bjson("daemon", "status")
    assert st["pid"] == env.daemon_pid()


# -- completions ---------------------------------------------------------

def complete(env, words, cword=None):
    """COMPREPLY of the generated bash completion for words (the last one
    being completed unless cword says otherwise)."""
    script = subprocess.run([str(BANGER), "completion", "bash"], capture_output=True,
                            text=True, check=True).stdout
    words = [str(BANGER)] + words
    cword = len(words) - 1 if cword is None else cword
    prog = (script + "\nCOMP_WORDS=(" + " ".join(f"'{w}'" for w in words) + ")\n"
            f"COMP_CWORD={cword}\n_banger\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    r = env.cmd(["bash", "-c", prog], check=True)
    return [l for l in r.stdout.splitlines() if l]


def test_bash_completion_of_commands_flags_and_names(env):
    assert {"vm", "image", "daemon", "completion", "tui"} <= set(complete(env, [""]))
    assert complete(env, ["vm", "cr"]) == ["create"]
    assert set(complete(env, ["daemon", ""])) >= {"status", "socket", "stop", "logs"}
    assert complete(env, ["vm", "create", "--me"]) == ["--memory"]
    assert set(complete(env, ["vm", "set", "x", "--no-"])) == {"--no-nat", "--no-autostart",
                                                                "--no-suspend-on-stop"}
    assert complete(env, ["vm", "create", "--vmm", ""]) == ["auto", "firecracker", "qemu"]
    assert complete(env, ["completion", ""]) == ["bash", "zsh", "fish"]
    # No daemon yet: no names, and completing does not start one.
    assert complete(env, ["vm", "start", "c"]) == []
    assert env.daemon_pid() is None
    env.register_default_image()
    env.banger("vm", "create", "--name", "calm-otter", "--no-start", check=True)
    assert complete(env, ["vm", "start", "ca"]) == ["calm-otter"]
    assert complete(env, ["vm", "show", ""]) == ["calm-otter"]
    assert complete(env, ["vm", "create", "--image", ""]) == ["default"]
    assert complete(env, ["vm", "create", "--image", "=", "de"]) == ["default"]
    # After "--" the words are the guest command's: nothing is offered.
    assert complete(env, ["vm", "ssh", "calm-otter", "--", ""]) == []


def test_zsh_and_fish_scripts_name_every_command():
    for sh in ("zsh", "fish"):
        text = subprocess.run([str(BANGER), "completion", sh], capture_output=True,
                              text=True, check=True).stdout
        for c in table():
            assert c["name"] in text, (sh, key(c))
            for o in c["opts"]:
                assert o["name"] in text, (sh, key(c), o["name"])
    r = subprocess.run([str(BANGER), "completion", "tcsh"], capture_output=True, text=True)
    assert r.returncode == 2 and "bash, zsh or fish" in r.stderr


# -- man pages -----------------------------------------------------------

def test_man_page_documents_every_command_and_option(tmp_path):
    src = subprocess.run([str(BANGER), "__man", str(MAN_DIR / "banger.1.scd")],
                         capture_output=True, text=True, check=True).stdout
    sections = re.split(r"^## ", src, flags=re.M)
    by_cmd = {s.split("\n", 1)[0]: s for s in sections[1:]}
    for c in table():
        assert key(c) in by_cmd, f"banger(1) has no section for {key(c)}"
        for o in c["opts"]:
            assert f"*--{o['name']}*" in by_cmd[key(c)], (key(c), o["name"])
    assert "# EXIT STATUS" in src and "*3*" in src
    # scdoc accepts it (the build makes the same page).
    r = subprocess.run(["scdoc"], input=src, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (BUILD / "docs" / "man" / "banger.1").exists()


def test_config_man_page_documents_every_key_default_and_variable():
    text = (MAN_DIR / "banger-config.5.scd").read_text()
    config_c = (REPO / "src" / "config" / "config.c").read_text()
    table_text = config_c[config_c.index("keys[] = {"):]
    keys = re.findall(r"\b[SI]\((\w+)\)", table_text[:table_text.index("};")])
    assert len(keys) > 20
    for k in keys:
        m = re.search(r"^\*" + k + r"\* \((string|integer), default[^;]*; \*BANGER_" +
                      k.upper() + r"\*\)$", text, flags=re.M)
        assert m, f"banger-config(5) lacks {k} with its default and BANGER_{k.upper()}"
    for page in ("banger-config.5", "bangerd.8"):
        r = subprocess.run(["scdoc"], input=(MAN_DIR / (page + ".scd")).read_text(),
                           capture_output=True, text=True)
        assert r.returncode == 0, (page, r.stderr)


def test_fish_and_zsh_scripts_work_where_installed():
    import shutil
    fish = shutil.which("fish")
    zsh = shutil.which("zsh")
    if not fish and not zsh:
        pytest.skip("neither fish nor zsh is installed")
    if fish:
        script = subprocess.run([str(BANGER), "completion", "fish"], capture_output=True,
                                text=True, check=True).stdout
        r = subprocess.run([fish, "-c", "source; complete -C 'banger vm create --vmm '"],
                           input=script, capture_output=True, text=True)
        assert [l.split("\t")[0] for l in r.stdout.splitlines()] == [
            "auto", "firecracker", "qemu"], r.stderr
        r = subprocess.run([fish, "-c", "source; complete -C 'banger vm cr'"],
                           input=script, capture_output=True, text=True)
        assert r.stdout.split("\t")[0] == "create", r.stderr
    if zsh:
        script = subprocess.run([str(BANGER), "completion", "zsh"], capture_output=True,
                                text=True, check=True).stdout
        r = subprocess.run([zsh, "-n"], input=script, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
