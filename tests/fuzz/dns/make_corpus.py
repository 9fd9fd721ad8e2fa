#!/usr/bin/python3
"""Writes the fuzzer's seed corpus (corpus/*.bin): a few valid DNS queries
covering each reply path. Run again after changing it; the files are
checked in so tests/fuzz/run.sh needs nothing but clang."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def name(dotted):
    out = b""
    for label in dotted.split(".") if dotted else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qname, qtype, qid=0x1234, flags=0x0100, qd=1, opt=None, extra=b""):
    ar = 1 if opt is not None else 0
    pkt = struct.pack(">HHHHHH", qid, flags, qd, 0, 0, ar)
    pkt += name(qname) + struct.pack(">HH", qtype, 1) + extra
    if opt is not None:
        pkt += b"\0" + struct.pack(">HHIH", 41, 1232, opt << 16, 0)
    return pkt


SEEDS = {
    "a_vm": query("calm-otter.vm", 1),
    "a_vm_case": query("Alpha-ONE.VM", 1),
    "aaaa_vm": query("alpha.vm", 28),
    "any_vm": query("alpha.vm", 255),
    "nx_vm": query("nobody.vm", 1),
    "soa_apex": query("vm", 6),
    "ns_apex": query("vm", 2),
    "other_zone": query("example.com", 1),
    "edns_a": query("alpha.vm", 1, opt=0),
    "edns_badvers": query("alpha.vm", 1, opt=1),
    "qdcount2": query("alpha.vm", 1, qd=2) + name("beta.vm") + struct.pack(">HH", 1, 1),
    "notify": query("vm", 6, flags=(4 << 11)),
    # An answer record using a compression pointer back to the question.
    "with_answer": struct.pack(">HHHHHH", 7, 0x0100, 1, 1, 0, 0)
    + name("alpha.vm") + struct.pack(">HH", 1, 1)
    + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + b"\x0a\x00\x00\x01",
}

os.makedirs(os.path.join(HERE, "corpus"), exist_ok=True)
for key, pkt in SEEDS.items():
    with open(os.path.join(HERE, "corpus", key + ".bin"), "wb") as f:
        f.write(pkt)
