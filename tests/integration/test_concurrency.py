"""50 concurrent `vm set` / `vm start` / `vm stop` on the same three VMs.

Each VM gets one slow stopped-only `vm set --disk-size D --memory M` (a
large work-disk grow takes a while), one `vm set --vcpu V`, one
`vm set --nat|--no-nat`, and a crowd of starts and stops launched while the
grow runs. Whatever order the daemon picks, the end must be consistent:
- every VM running or stopped, matching its VMM process, taps, NAT rules
  and work disk (Env.reality_problems): a `vm start` that won while a
  stopped-only `vm set` ran is not written back to "stopped" with a live
  process;
- no lost update: a `vm set` that succeeded shows its value in the final
  record, and one that failed changed nothing.
Rounds use fresh VMs; BANGER_CONC_SEED=N reproduces the launch schedule.
"""
import os
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

OPS = 50
VMS = 3
ROUNDS = int(os.environ.get("BANGER_CONC_ROUNDS", "3"))
GROW = "48G"  # from 128M: long enough for starts to land during the grow


def schedule(rng, names, rnd):
    """(delay s, argv, field expectations) for OPS commands: the three sets
    per VM come first, starts and stops are spread over the grow."""
    plan = []
    for k, n in enumerate(names):
        mem = 384 + 128 * (k + VMS * rnd)
        plan.append((rng.uniform(0, 0.03), ["vm", "set", n, "--disk-size", GROW, "--memory",
                                            str(mem)],
                     {"disk_size": 48 << 30, "memory_mib": mem}))
        plan.append((rng.uniform(0, 0.03), ["vm", "set", n, "--vcpu", str(2 + k)],
                     {"vcpu": 2 + k}))
        nat = rng.random() < 0.5
        plan.append((rng.uniform(0, 0.2), ["vm", "set", n, "--nat" if nat else "--no-nat"],
                     {"nat": nat}))
    while len(plan) < OPS:
        n = names[len(plan) % len(names)]
        verb = "start" if rng.random() < 0.6 else "stop"
        plan.append((rng.uniform(0.01, 0.4), ["vm", verb, n], {}))
    return plan


def run_burst(env, plan):
    """Runs every command of the plan at once (each after its delay);
    returns [(argv, expect, returncode, stderr)]."""
    go = threading.Barrier(len(plan))

    def one(item):
        delay, argv, expect = item
        go.wait()
        time.sleep(delay)
        r = env.banger(*argv, timeout=120)
        return argv, expect, r.returncode, r.stderr.strip()

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        return list(pool.map(one, plan))


def lost_updates(env, before, results):
    """Fields whose final value is not what the successful `vm set` wrote
    (or, for a failed one, not what was there before)."""
    problems = []
    for argv, expect, rc, err in results:
        if not expect:
            continue
        name = argv[2]
        final = env.vm(name)
        for field, want in expect.items():
            was = before[name][field]
            if rc == 0 and final[field] != want:
                problems.append(f"`banger {' '.join(argv)}` succeeded but {name}.{field} is "
                                f"{final[field]} (wanted {want})")
            elif rc != 0 and final[field] != was:
                problems.append(f"`banger {' '.join(argv)}` failed ({err}) but {name}.{field} "
                                f"changed from {was} to {final[field]}")
    return problems


def test_concurrent_set_start_stop_lose_nothing(booted):
    env = booted
    env.fcemu(shutdown_delay_ms=0)
    seed = int(os.environ.get("BANGER_CONC_SEED") or secrets.randbits(32))
    rng = random.Random(seed)
    print(f"concurrency: BANGER_CONC_SEED={seed}, {ROUNDS} rounds of {OPS} commands")
    for rnd in range(ROUNDS):
        names = [f"r{rnd}v{k}" for k in range(VMS)]
        for n in names:
            env.banger("vm", "create", "--no-start", "--name", n, check=True)
        before = {n: env.vm(n) for n in names}
        results = run_burst(env, schedule(rng, names, rnd))
        wins = sum(1 for _, e, rc, _ in results if e and rc == 0)
        print(f"round {rnd}: {wins} of {VMS * 3} sets succeeded, "
              f"{sum(1 for a, e, rc, _ in results if not e and rc == 0)} starts/stops did")
        problems = env.settled_problems(timeout=10) + lost_updates(env, before, results)
        assert not problems, f"seed {seed} round {rnd}:\n  " + "\n  ".join(problems) + \
            "\ncommands:\n  " + "\n  ".join(f"{' '.join(a)} -> {rc} {err[:160]}"
                                             for a, _, rc, err in results)
        for n in names:
            env.banger("vm", "delete", "--force", n, check=True)
    assert env.settled_problems() == []
