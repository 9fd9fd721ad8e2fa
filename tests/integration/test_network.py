"""Networking as a user sees it: the bridge and per-VM taps, address
allocation, NAT rules, cleanup after a daemon crash, the .vm DNS responder,
`banger vm ssh` through a stand-in guest, and `banger ssh-config`.

Everything happens inside the test's network namespace (see conftest.py);
the stand-in guest gets a second namespace of its own (guest_standin.py).
"""
import ipaddress
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import alive
from guest_standin import Guest, build_relay

BRIDGE = "banger0"
GATEWAY = "172.30.77.1"
SUBNET = ipaddress.ip_network("172.30.77.0/24")


# -- what a user would look at ----------------------------------------------
def links(env):
    """name -> `ip -j link` entry, inside the test namespace."""
    out = env.cmd(["ip", "-j", "-d", "link", "show"], check=True).stdout
    return {l["ifname"]: l for l in json.loads(out)}


def tap_of(vm):
    return "bgr" + vm["id"][:12]


def bridge_addrs(env):
    out = env.cmd(["ip", "-j", "-4", "addr", "show", "dev", BRIDGE], check=True).stdout
    return [f"{a['local']}/{a['prefixlen']}" for l in json.loads(out) for a in l["addr_info"]]


def nat_rules(env):
    """vm id -> list of (chain, rule expression) in nft table ip banger; {} when
    the table does not exist."""
    r = env.cmd(["nft", "-j", "list", "table", "ip", "banger"])
    if r.returncode != 0:
        assert "No such file" in r.stderr, r.stderr
        return {}
    rules = {}
    for item in json.loads(r.stdout)["nftables"]:
        rule = item.get("rule")
        if not rule:
            continue
        tag = rule.get("comment", "")
        assert tag.startswith("banger-vm:"), f"untagged rule in table banger: {rule}"
        rules.setdefault(tag[len("banger-vm:"):], []).append(
            (rule["chain"], json.dumps(rule["expr"])))
    return rules


def ip_forward(env):
    return env.cmd(["cat", "/proc/sys/net/ipv4/ip_forward"], check=True).stdout.strip()


def dig(env, name, qtype="A"):
    """(status, answers) of a query to the daemon's responder."""
    r = env.cmd(["dig", f"@{GATEWAY}", name, qtype, "+tries=1", "+time=2", "+noall",
                 "+comments", "+answer"], check=True)
    status = next(l.split("status: ")[1].split(",")[0] for l in r.stdout.splitlines()
                  if "status: " in l)
    answers = [l.split() for l in r.stdout.splitlines() if l and not l.startswith(";")]
    return status, answers


def create(env, name, *args):
    env.banger("vm", "create", "--name", name, *args, check=True)
    return env.vm(name)


# -- fixtures ---------------------------------------------------------------
@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    return build_relay(tmp_path_factory.mktemp("standin"))


@pytest.fixture
def standin_env(env):
    """A booted env whose emulator lets go of the tap after checking it, so
    the relay can attach (set before the daemon, which passes it on, starts)."""
    env.env["FCEMU_RELEASE_TAP"] = "1"
    env.register_default_image()
    return env


# -- 1. bridge and taps -----------------------------------------------------
def test_bridge_and_tap_follow_the_vm(booted):
    env = booted
    idle = create(env, "idle", "--no-start")
    ls = links(env)
    assert ls[BRIDGE]["linkinfo"]["info_kind"] == "bridge"
    assert bridge_addrs(env) == [f"{GATEWAY}/24"]
    assert tap_of(idle) not in ls  # a stopped VM has no tap

    vm = create(env, "web")
    tap = tap_of(vm)
    assert len(tap) == 15 and tap.startswith("bgr")
    l = links(env)[tap]
    assert l["master"] == BRIDGE
    assert l["linkinfo"]["info_kind"] == "tun" and l["linkinfo"]["info_data"]["type"] == "tap"
    assert "UP" in l["flags"]

    env.banger("vm", "stop", "web", check=True)
    assert tap not in links(env)
    env.banger("vm", "start", "web", check=True)
    assert links(env)[tap]["master"] == BRIDGE
    env.banger("vm", "delete", "--force", "web", check=True)
    ls = links(env)
    assert tap not in ls
    assert not [n for n in ls if n.startswith("bgr")]
    assert BRIDGE in ls  # the bridge stays for the next VM


# -- 2. addresses -----------------------------------------------------------
def test_fifty_concurrent_creates_get_unique_addresses_reused_after_delete(booted):
    env = booted
    names = [f"par{i:02d}" for i in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(
            lambda n: env.banger("vm", "create", "--name", n, "--no-start", timeout=240),
            names))
    failed = [(n, r.stderr) for n, r in zip(names, results) if r.returncode != 0]
    assert not failed, failed[:3]
    vms = {v["name"]: v for v in env.bjson("vm", "list")}
    assert sorted(vms) == names
    addrs = [ipaddress.ip_address(v["address"]) for v in vms.values()]
    assert len(set(addrs)) == 50
    for a in addrs:
        assert a in SUBNET and a not in (SUBNET.network_address, SUBNET.broadcast_address)
        assert str(a) != GATEWAY
    # Lowest free first: 50 creates fill .2 .. .51.
    assert sorted(addrs) == [SUBNET.network_address + i for i in range(2, 52)]
    macs = [v["mac"] for v in vms.values()]
    assert len(set(macs)) == 50

    by_addr = {v["address"]: n for n, v in vms.items()}
    for a in ("172.30.77.9", "172.30.77.5"):
        env.banger("vm", "delete", by_addr[a], check=True)
    assert create(env, "late1", "--no-start")["address"] == "172.30.77.5"
    assert create(env, "late2", "--no-start")["address"] == "172.30.77.9"
    assert create(env, "late3", "--no-start")["address"] == "172.30.77.52"


# -- 3. NAT -----------------------------------------------------------------
def test_nat_rules_exist_exactly_while_a_nat_vm_runs(booted):
    env = booted
    assert nat_rules(env) == {}
    assert ip_forward(env) == "0"  # a fresh namespace forwards nothing
    plain = create(env, "plain")
    assert nat_rules(env) == {}

    vm = create(env, "out", "--nat")
    assert vm["nat"] is True
    rules = nat_rules(env)
    assert list(rules) == [vm["id"]]
    chains = sorted(c for c, _ in rules[vm["id"]])
    assert chains == ["forward", "forward", "postrouting"]
    text = " ".join(x for _, x in rules[vm["id"]])
    assert vm["address"] in text and tap_of(vm) in text and "masquerade" in text
    assert ip_forward(env) == "1"  # NAT needs forwarding; banger turned it on

    env.banger("vm", "stop", "out", check=True)
    assert nat_rules(env) == {}
    env.banger("vm", "start", "out", check=True)
    assert list(nat_rules(env)) == [vm["id"]]

    env.banger("vm", "set", "out", "--no-nat", check=True)
    assert nat_rules(env) == {}
    assert env.vm("out")["nat"] is False
    env.banger("vm", "set", "out", "--nat", check=True)  # live, while running
    assert list(nat_rules(env)) == [vm["id"]]
    assert env.vm("out")["nat"] is True

    # Turning NAT on for the other running VM too, then deleting one.
    env.banger("vm", "set", "plain", "--nat", check=True)
    assert sorted(nat_rules(env)) == sorted([vm["id"], plain["id"]])
    env.banger("vm", "delete", "--force", "out", check=True)
    assert list(nat_rules(env)) == [plain["id"]]
    env.banger("vm", "stop", "plain", check=True)
    assert nat_rules(env) == {}
    assert ip_forward(env) == "0"  # and back off with the last rule

    # On a stopped VM, set changes nothing live; the next start follows it.
    env.banger("vm", "set", "plain", "--no-nat", check=True)
    env.banger("vm", "start", "plain", check=True)
    assert nat_rules(env) == {}
    env.banger("vm", "stop", "plain", check=True)
    env.banger("vm", "set", "plain", "--nat", check=True)
    assert nat_rules(env) == {}
    env.banger("vm", "start", "plain", check=True)
    assert list(nat_rules(env)) == [plain["id"]]


# -- 4. daemon crash --------------------------------------------------------
def test_daemon_sigkill_then_restart_removes_only_the_dead_vms_tap_and_rules(booted):
    env = booted
    live = create(env, "live", "--nat")
    dead = create(env, "dead", "--nat")
    assert sorted(nat_rules(env)) == sorted([live["id"], dead["id"]])
    os.kill(env.daemon_pid(), signal.SIGKILL)
    os.kill(dead["pid"], signal.SIGKILL)
    env.wait_for(lambda: not alive(dead["pid"]), 5, "the dead VM's VMM to exit")
    # Nothing cleans up while the daemon is down.
    assert tap_of(dead) in links(env)
    # Leftovers of a VM banger no longer knows, and a tap that is not banger's.
    stray_id = "0123456789abcdef"
    env.cmd(["ip", "tuntap", "add", "dev", "bgr" + stray_id[:12], "mode", "tap"], check=True)
    env.cmd(["ip", "tuntap", "add", "dev", "other0", "mode", "tap"], check=True)
    env.cmd(["nft", "add", "rule", "ip", "banger", "forward", "iifname", "bgr" + stray_id[:12],
             "accept", "comment", f'"banger-vm:{stray_id}"'], check=True)
    assert stray_id in nat_rules(env)

    assert env.vm("dead")["state"] == "stopped"  # any command restarts the daemon
    ls = links(env)
    assert tap_of(dead) not in ls
    assert "bgr" + stray_id[:12] not in ls
    assert "other0" in ls
    assert ls[tap_of(live)]["master"] == BRIDGE
    assert list(nat_rules(env)) == [live["id"]]
    assert env.vm("live")["state"] == "running" and alive(live["pid"])

    # The re-adopted VM's network is still managed: stop removes it.
    env.banger("vm", "stop", "live", check=True)
    assert tap_of(live) not in links(env)
    assert nat_rules(env) == {}


# -- 5. DNS -----------------------------------------------------------------
def test_dns_answers_running_vms_only(booted):
    env = booted
    vm = create(env, "named")
    create(env, "resting", "--no-start")
    status, ans = dig(env, "named.vm")
    assert status == "NOERROR"
    assert [(a[0], a[3], a[4]) for a in ans] == [("named.vm.", "A", vm["address"])]
    status, ans = dig(env, "NaMeD.Vm")
    assert status == "NOERROR" and [a[4] for a in ans] == [vm["address"]]
    status, ans = dig(env, "named.vm", "AAAA")
    assert status == "NOERROR" and ans == []
    assert dig(env, "ghost.vm") == ("NXDOMAIN", [])
    assert dig(env, "resting.vm") == ("NXDOMAIN", [])
    env.banger("vm", "stop", "named", check=True)
    assert dig(env, "named.vm") == ("NXDOMAIN", [])
    env.banger("vm", "start", "named", check=True)
    assert [a[4] for a in dig(env, "named.vm")[1]] == [vm["address"]]


# -- 6. ssh -----------------------------------------------------------------
def test_vm_ssh_runs_the_command_through_the_tap(standin_env, relay):
    env = standin_env
    vm = create(env, "shelly")
    host_key = os.path.join(vm["dir"], "ssh_host_ed25519_key")
    with Guest(env, vm, relay) as g:
        g.start_sshd(host_key)
        r = env.banger("vm", "ssh", "shelly", "--", "echo", "ok", timeout=60)
        assert r.returncode == 0, r.stderr + g.sshd_log.read_text()
        assert r.stdout == "ok\n"
        # The guest's side saw the connection come from the bridge address.
        r = env.banger("vm", "ssh", "shelly", "--", "sh", "-c", "echo $SSH_CLIENT",
                       timeout=60)
        assert r.returncode == 0 and r.stdout.split()[0] == GATEWAY
        # Each argument stays one argument, quotes and all.
        r = env.banger("vm", "ssh", "shelly", "--", "printf", "%s|", "a b", "it's", "$HOME",
                       timeout=60)
        assert r.returncode == 0 and r.stdout == "a b|it's|$HOME|"


def test_vm_ssh_fails_closed_on_a_wrong_host_key(standin_env, relay):
    env = standin_env
    vm = create(env, "spoofed")
    with Guest(env, vm, relay) as g:
        impostor = g.dir / "impostor_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)],
                       check=True)
        g.start_sshd(impostor)
        marker = g.dir / "ran"
        r = env.banger("vm", "ssh", "spoofed", "--", "touch", str(marker), timeout=60)
        assert r.returncode != 0
        assert "host key" in r.stderr.lower()
        assert not marker.exists()


def test_vm_ssh_refuses_a_stopped_vm(booted):
    env = booted
    create(env, "off", "--no-start")
    r = env.banger("vm", "ssh", "off", "--", "echo", "ok")
    assert r.returncode != 0 and "stopped" in r.stderr and "banger vm start off" in r.stderr
    assert r.stdout == ""


def test_ssh_config_has_a_block_per_vm(booted):
    env = booted
    a = create(env, "alpha")
    b = create(env, "beta", "--no-start")
    out = env.banger("ssh-config", check=True).stdout
    key = str(env.state / "ssh" / "id_ed25519")
    kh = str(env.state / "ssh" / "known_hosts")
    blocks = {}
    for chunk in out.split("\nHost ")[1:]:
        lines = chunk.strip().splitlines()
        opts = dict(l.strip().split(None, 1) for l in lines[1:])
        blocks[lines[0].split()[0]] = (lines[0].split(), opts)
    assert sorted(blocks) == ["alpha", "beta"]
    for vm in (a, b):
        hosts, opts = blocks[vm["name"]]
        assert hosts == [vm["name"], vm["name"] + ".vm"]
        assert opts["HostName"] == vm["address"]
        assert opts["User"] == "root"
        assert opts["IdentityFile"] == key and os.path.exists(key)
        assert opts["UserKnownHostsFile"] == kh
        assert opts["StrictHostKeyChecking"] == "yes"
    # known_hosts pins each VM's own host key under its name and address.
    pins = {}
    for line in open(kh).read().splitlines():
        hosts, ktype, k = line.split()
        pins[frozenset(hosts.split(","))] = (ktype, k)
    for vm in (a, b):
        pub = open(os.path.join(vm["dir"], "ssh_host_ed25519_key.pub")).read().split()
        assert pins[frozenset([vm["name"], vm["name"] + ".vm", vm["address"]])] == \
            (pub[0], pub[1])


def test_running_vms_are_published_to_mapdns_data_file(env):
    """Seed compatibility: with mapdns_data_file set, running VMs appear in
    mapdns's JSON zone file, and the user's own entries stay."""
    data = env.root / "mapdns.json"
    data.write_text(json.dumps({"mine.example.": {"A": "10.9.9.9"}}))
    env.default_config(f'mapdns_data_file = "{data}"\n')
    env.register_default_image()
    env.banger("vm", "create", "--name", "published", check=True)
    addr = env.vm("published")["address"]
    zone = json.loads(data.read_text())
    assert zone["published.vm."] == {"A": addr}
    assert zone["mine.example."] == {"A": "10.9.9.9"}
    env.banger("vm", "stop", "published", check=True)
    zone = json.loads(data.read_text())
    assert "published.vm." not in zone and "mine.example." in zone
