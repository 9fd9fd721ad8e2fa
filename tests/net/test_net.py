"""Host tests of banger's networking through the privileged helper banger-netd.

Each test creates its own network namespace (``ip netns add banger-test-<random>``)
and deletes it afterwards; banger-netd runs inside it with ``ip netns exec``, so the
host's own links, routes, firewall and ip_forward are never touched. Needs root;
skips otherwise.

The helper binary is found, in this order, at:
  $BANGER_NETD                      (meson's test() sets this)
  $BANGER_BUILD_DIR/src/net/banger-netd
  ./build/src/net/banger-netd       (relative to the repository root)
Run by hand:  BANGER_BUILD_DIR=/tmp/build-net /usr/bin/python3 -m pytest tests/net
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VM_ID = "0123456789abcdef"
VM_ID2 = "fedcba9876543210"
TAP = "bgr0123456789ab"
TAP2 = "bgrfedcba987654"
SUBNET = "172.30.77.0/24"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")


def find_netd():
    candidates = []
    if os.environ.get("BANGER_NETD"):
        candidates.append(Path(os.environ["BANGER_NETD"]))
    if os.environ.get("BANGER_BUILD_DIR"):
        candidates.append(Path(os.environ["BANGER_BUILD_DIR"]) / "src/net/banger-netd")
    candidates.append(REPO / "build/src/net/banger-netd")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    pytest.skip("banger-netd not built (set BANGER_NETD or BANGER_BUILD_DIR)")


class Netns:
    """A throw-away network namespace and a helper runner inside it."""

    def __init__(self, netd, run_dir):
        self.name = "banger-test-" + secrets.token_hex(4)
        self.netd = netd
        self.run_dir = run_dir
        subprocess.run(["ip", "netns", "add", self.name], check=True)

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False)

    def sh(self, *argv, check=True):
        """Runs a command inside the namespace."""
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], check=check,
                              capture_output=True, text=True)

    def netd_run(self, *args):
        env = dict(os.environ, BANGER_NETD_RUN_DIR=self.run_dir)
        env.pop("SUDO_UID", None)
        return subprocess.run(["ip", "netns", "exec", self.name, self.netd, *args],
                              capture_output=True, text=True, env=env)

    def netd_ok(self, *args):
        r = self.netd_run(*args)
        assert r.returncode == 0, f"banger-netd {' '.join(args)}: {r.stderr}"
        return r

    def link(self, name):
        r = self.sh("ip", "-j", "-d", "link", "show", "dev", name, check=False)
        return json.loads(r.stdout)[0] if r.returncode == 0 else None

    def addrs(self, name):
        r = self.sh("ip", "-j", "-4", "addr", "show", "dev", name)
        return [(a["local"], a["prefixlen"]) for a in json.loads(r.stdout)[0]["addr_info"]]

    def nat_rules(self):
        """[(chain, comment, rule text)] of table ip banger, or None without the table."""
        r = self.sh("nft", "list", "table", "ip", "banger", check=False)
        if r.returncode != 0:
            return None
        rules, chain = [], None
        for line in r.stdout.splitlines():
            line = line.strip()
            if line.startswith("chain "):
                chain = line.split()[1]
            elif chain and line and not line.startswith(("type ", "}")):
                comment = line.split('comment "', 1)[1].rstrip('"') if "comment" in line else None
                rules.append((chain, comment, line))
        return rules

    def ip_forward(self):
        return self.sh("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()


@pytest.fixture
def ns():
    netd = find_netd()
    run_dir = tempfile.mkdtemp(prefix="banger-netd-test-")
    n = Netns(netd, run_dir)
    try:
        yield n
    finally:
        n.delete()
        shutil.rmtree(run_dir, ignore_errors=True)


def test_bridge_up_has_address_and_is_idempotent(ns):
    ns.netd_ok("bridge-up", "banger0", SUBNET)
    ns.netd_ok("bridge-up", "banger0", SUBNET)
    link = ns.link("banger0")
    assert link["linkinfo"]["info_kind"] == "bridge"
    assert "UP" in link["flags"]
    assert ns.addrs("banger0") == [("172.30.77.1", 24)]


def test_bridge_moves_to_new_subnet_and_goes_down(ns):
    ns.netd_ok("bridge-up", "banger0", SUBNET)
    ns.netd_ok("bridge-up", "banger0", "10.123.0.0/16")
    assert ns.addrs("banger0") == [("10.123.0.1", 16)]
    ns.netd_ok("bridge-down", "banger0")
    assert ns.link("banger0") is None
    ns.netd_ok("bridge-down", "banger0")  # already gone: fine


def test_overlapping_subnet_refused(ns):
    ns.sh("ip", "route", "add", "blackhole", "172.30.0.0/16")
    r = ns.netd_run("bridge-up", "banger0", SUBNET)
    assert r.returncode == 3
    assert "overlaps the host route" in r.stderr
    assert "172.30.0.0/16" in r.stderr
    assert "`subnet`" in r.stderr
    assert "error-code: conflict" in r.stderr
    assert ns.link("banger0") is None
    # A free range works next to it.
    ns.netd_ok("bridge-up", "banger0", "172.31.77.0/24")


def test_tap_owned_attached_and_removed(ns):
    ns.netd_ok("bridge-up", "banger0", SUBNET)
    ns.netd_ok("tap-add", TAP, "banger0", "1234")
    ns.netd_ok("tap-add", TAP, "banger0", "1234")  # idempotent
    link = ns.link(TAP)
    assert link["linkinfo"]["info_kind"] == "tun"
    assert link["linkinfo"]["info_data"]["type"] == "tap"
    assert link["linkinfo"]["info_data"]["multi_queue"] is False
    assert link["master"] == "banger0"
    assert "UP" in link["flags"]
    assert ns.sh("cat", f"/sys/class/net/{TAP}/owner").stdout.strip() == "1234"

    # Another owner: the tap is recreated for that user.
    ns.netd_ok("tap-add", TAP, "banger0", "4321")
    assert ns.sh("cat", f"/sys/class/net/{TAP}/owner").stdout.strip() == "4321"
    assert ns.link(TAP)["master"] == "banger0"

    ns.netd_ok("tap-del", TAP)
    assert ns.link(TAP) is None
    ns.netd_ok("tap-del", TAP)  # already gone: fine


def test_tap_needs_the_bridge(ns):
    r = ns.netd_run("tap-add", TAP, "banger0", "1234")
    assert r.returncode == 3
    assert "bridge banger0 does not exist" in r.stderr
    assert ns.link(TAP) is None  # no orphan tap left behind


def test_vpn_catch_all_routes_do_not_block_the_bridge(ns):
    # What OpenVPN/WireGuard install instead of replacing the default route.
    ns.sh("ip", "route", "add", "blackhole", "0.0.0.0/1")
    ns.sh("ip", "route", "add", "blackhole", "128.0.0.0/1")
    ns.netd_ok("bridge-up", "banger0", SUBNET)
    assert ns.addrs("banger0") == [("172.30.77.1", 24)]


def nat_add(ns, vm_id=VM_ID, tap=TAP, ip="172.30.77.2"):
    return ns.netd_ok("nat-add", vm_id, tap, ip, "banger0", SUBNET)


def test_nat_rules_one_set_per_vm_and_removed(ns):
    ns.netd_ok("bridge-up", "banger0", SUBNET)
    assert ns.nat_rules() is None
    nat_add(ns)
    nat_add(ns)  # again: replaces, never duplicates
    rules = ns.nat_rules()
    tag = f"banger-vm:{VM_ID}"
    assert sorted(c for c, _, _ in rules) == ["forward", "forward", "postrouting"]
    assert all(comment == tag for _, comment, _ in rules)
    post = [t for c, _, t in rules if c == "postrouting"][0]
    assert post.startswith('ip saddr 172.30.77.2 oifname != "banger0" masquerade')
    assert ns.netd_ok("nat-list").stdout.split() == [VM_ID]

    # A second VM gets its own set; removing the first leaves the second.
    nat_add(ns, VM_ID2, TAP2, "172.30.77.3")
    assert sorted(ns.netd_ok("nat-list").stdout.split()) == sorted([VM_ID, VM_ID2])
    ns.netd_ok("nat-del", VM_ID)
    rules = ns.nat_rules()
    assert len(rules) == 3 and all(c == f"banger-vm:{VM_ID2}" for _, c, _ in rules)
    assert ns.netd_ok("nat-list").stdout.split() == [VM_ID2]

    ns.netd_ok("nat-del", VM_ID2)
    assert ns.nat_rules() is None  # the empty table is gone too
    assert ns.netd_ok("nat-list").stdout == ""
    ns.netd_ok("nat-del", VM_ID2)  # nothing left: fine


def test_nat_readd_with_new_address_replaces_rules(ns):
    nat_add(ns, ip="172.30.77.2")
    nat_add(ns, ip="172.30.77.9")
    rules = ns.nat_rules()
    assert len(rules) == 3
    assert all("172.30.77.9" in t for _, _, t in rules)
    ns.netd_ok("nat-del", VM_ID)


def test_ip_forward_on_with_nat_and_back_off(ns):
    assert ns.ip_forward() == "0"
    nat_add(ns)
    assert ns.ip_forward() == "1"
    nat_add(ns, VM_ID2, TAP2, "172.30.77.3")
    ns.netd_ok("nat-del", VM_ID)
    assert ns.ip_forward() == "1"  # a NAT VM is still there
    ns.netd_ok("nat-del", VM_ID2)
    assert ns.ip_forward() == "0"


def test_ip_forward_left_on_when_banger_did_not_turn_it_on(ns):
    ns.sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    nat_add(ns)
    ns.netd_ok("nat-del", VM_ID)
    assert ns.ip_forward() == "1"


def test_parallel_nat_changes_keep_every_live_vm(ns):
    """Removing the last VM's rules while another VM is added must not take
    the new VM's rules (or forwarding) away with the table."""
    for _ in range(5):
        nat_add(ns)
        env = dict(os.environ, BANGER_NETD_RUN_DIR=ns.run_dir)
        base = ["ip", "netns", "exec", ns.name, ns.netd]
        procs = [subprocess.Popen(base + ["nat-del", VM_ID], env=env),
                 subprocess.Popen(base + ["nat-add", VM_ID2, TAP2, "172.30.77.3", "banger0",
                                          SUBNET], env=env)]
        assert [p.wait() for p in procs] == [0, 0]
        assert ns.netd_ok("nat-list").stdout.split() == [VM_ID2]
        assert len(ns.nat_rules()) == 3
        assert ns.ip_forward() == "1"
        ns.netd_ok("nat-del", VM_ID2)
        assert ns.ip_forward() == "0"


@pytest.mark.parametrize("args, needle", [
    (["bridge-up", "eth0", SUBNET], '"eth0"'),
    (["tap-add", "eth0", "banger0", "0"], '"eth0"'),
    (["tap-del", "eth0"], '"eth0"'),
    (["nat-add", VM_ID, TAP, "10.1.2.3", "banger0", SUBNET], "not a guest address"),
    (["nat-add", VM_ID, TAP, "172.30.77.1", "banger0", SUBNET], "not a guest address"),
    (["bridge-up", "banger0", "8.8.8.0/24"], "not private"),
    (["nat-add", VM_ID, TAP, "8.8.8.2", "banger0", "8.8.8.0/24"], "not private"),
    (["nat-del", "xyz"], "VM id"),
    (["nat-add", "0123456789ABCDEF", TAP, "172.30.77.2", "banger0", SUBNET], "VM id"),
    (["flush-everything"], "unknown operation"),
])
def test_helper_refuses(ns, args, needle):
    r = ns.netd_run(*args)
    assert r.returncode == 2
    assert needle in r.stderr
    assert "error-code: invalid" in r.stderr
    # Nothing was created in the namespace.
    links = json.loads(ns.sh("ip", "-j", "link", "show").stdout)
    assert [l["ifname"] for l in links] == ["lo"]
    assert ns.nat_rules() is None
