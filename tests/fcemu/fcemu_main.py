"""fcemu_main: process lifecycle of the Firecracker emulator.

Parses the command line, loads the swagger spec, binds the API socket (never
unlinked), runs a single-threaded select loop serving HTTP, and acts out the
guest's side: boot console lines at InstanceStart, reboot/poweroff on
SIGUSR1/SIGUSR2 and SendCtrlAltDel according to FCEMU_CONFIG. Exit codes and
log lines follow NOTES.md §1, §7 and §8.
"""

import json
import os
import selectors
import signal
import socket
import sys
import time
import types

import fcemu_cli
from fcemu_api import RequestError, Router
from fcemu_http import Server, error_body, format_response
from fcemu_out import Console, Journal, Logger, Metrics, write_all
from fcemu_schema import LOG_LEVELS, Validator, default_spec_path, load_spec
from fcemu_vmm import ApiError, Vmm

VERSION = "1.16.1"
BEHAVIOUR_DEFAULTS = {"ctrl_alt_del": "exit", "shutdown_delay_ms": 200, "boot_delay_ms": 0,
                      "api_delay_ms": 0, "fail_instance_start": False, "ready": True,
                      "ready_delay_ms": 0, "console_after_boot": [],
                      "fail_snapshot_create": False, "fail_snapshot_load": False,
                      "snapshot_delay_ms": 0}
METRICS_PERIOD_S = 60.0


def die_loudly(msg, code=2):
    write_all(2, f"fcemu: {msg}\n".encode())
    os._exit(code)


def read_behaviour():
    """FCEMU_CONFIG, re-read at each decision point; a broken file is fatal."""
    cfg = dict(BEHAVIOUR_DEFAULTS)
    path = os.environ.get("FCEMU_CONFIG")
    if not path or not os.path.exists(path):
        return cfg
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        die_loudly(f"cannot read FCEMU_CONFIG {path}: {e}")
    if not isinstance(data, dict):
        die_loudly(f"FCEMU_CONFIG {path}: expected a JSON object")
    for k, v in data.items():
        if k not in BEHAVIOUR_DEFAULTS:
            die_loudly(f"FCEMU_CONFIG {path}: unknown key {k!r} "
                       f"(known: {', '.join(BEHAVIOUR_DEFAULTS)})")
        if k == "ctrl_alt_del" and v not in ("exit", "ignore", "crash"):
            die_loudly(f"FCEMU_CONFIG {path}: ctrl_alt_del must be exit|ignore|crash")
        if k.endswith("_ms") and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            die_loudly(f"FCEMU_CONFIG {path}: {k} must be a non-negative integer")
        if k in ("fail_instance_start", "ready", "fail_snapshot_create",
                 "fail_snapshot_load") and not isinstance(v, bool):
            die_loudly(f"FCEMU_CONFIG {path}: {k} must be a boolean")
        if k == "console_after_boot" and (not isinstance(v, list) or
                                          not all(isinstance(x, str) for x in v)):
            die_loudly(f"FCEMU_CONFIG {path}: console_after_boot must be a list of strings")
        cfg[k] = v
    return cfg


class App:
    """One emulated Firecracker process."""

    def __init__(self, args, argv):
        self.args = args
        self.id = args.get("id", "anonymous-instance")
        self.out = types.SimpleNamespace(logger=Logger(self.id), console=Console(),
                                         metrics=Metrics())
        self.journal = Journal(os.environ.get("FCEMU_JOURNAL_DIR"), self.id)
        self.vmm = Vmm(self.id, self.out, enable_pci="enable-pci" in args)
        self.sel = selectors.DefaultSelector()
        self.timers = []  # (deadline, fn)
        self.signals = []
        self.server = None
        self.next_metrics = None
        self.journal.record({"event": "start", "argv": argv})

    # -- logging helpers -------------------------------------------------------

    def log_main(self, level, msg):
        self.out.logger.log(level, "main", msg, module="firecracker",
                            origin="src/firecracker/src/main.rs:0")

    def flush_metrics(self):
        self.out.metrics.flush([d["drive_id"] for d in self.vmm.drives],
                               [n["iface_id"] for n in self.vmm.nets])

    def exit(self, code):
        self.journal.record({"event": "exit", "code": code})
        os._exit(code)

    def stop_vmm(self):
        """Guest-initiated reset: FC's orderly shutdown, exit 0."""
        self.log_main("Info", "Vmm is stopping.")
        self.flush_metrics()
        self.log_main("Info", "Firecracker exiting successfully. exit_code=0")
        self.exit(0)

    def fatal_signal(self, signo, code):
        self.log_main("Error", f"Shutting down VM after intercepting signal {signo}, code 0.")
        self.flush_metrics()
        self.exit(code)

    # -- actions ---------------------------------------------------------------

    def action(self, cfg):
        kind = cfg["action_type"]
        if kind == "FlushMetrics":
            self.flush_metrics()
            return None
        if kind == "InstanceStart":
            return self.instance_start()
        # SendCtrlAltDel
        self.vmm.require_postboot()
        self.out.metrics.inc("i8042", "reset_count", 0)
        behaviour = read_behaviour()
        if self.vmm.guest != "running" or self.vmm.paused:
            return None  # a halted or paused guest ignores the keyboard
        delay = behaviour["shutdown_delay_ms"] / 1000.0
        if behaviour["ctrl_alt_del"] == "exit":
            self.schedule(delay, self.guest_reboot)
        elif behaviour["ctrl_alt_del"] == "crash":
            self.schedule(delay, lambda: self.fatal_signal(11, 150))
        return None

    def instance_start(self):
        cmdline = self.vmm.check_startable()
        behaviour = read_behaviour()
        if behaviour["boot_delay_ms"]:
            time.sleep(behaviour["boot_delay_ms"] / 1000.0)
        behaviour = read_behaviour()
        if behaviour["fail_instance_start"]:
            raise ApiError("Start microvm error: fcemu: fail_instance_start is set in "
                           "FCEMU_CONFIG")
        self.vmm.mark_started(cmdline)
        self.out.console.enabled = self.vmm.console_enabled(cmdline)
        self.flush_metrics()
        self.next_metrics = time.monotonic() + METRICS_PERIOD_S
        self.out.console.lines(self.vmm.boot_lines(cmdline))
        if "boot-timer" in self.args:
            self.log_main("Info", "Guest-boot-time =    310000 us    310 ms,    290000 CPU us"
                          "    290 CPU ms")
        self.schedule(behaviour["ready_delay_ms"] / 1000.0,
                      lambda: self.after_boot(behaviour))
        return None

    def after_boot(self, behaviour):
        """What a banger guest prints once userspace is up: banger-ready.service's line
        (unless "ready" is false), then the configured extra lines (a panic, a lockup)."""
        if self.vmm.guest != "running":
            return
        lines = []
        if behaviour["ready"]:
            up = 0.35 + behaviour["ready_delay_ms"] / 1000.0
            lines.append(f"banger: ready in {up:.2f} s")
        self.out.console.lines(lines + behaviour["console_after_boot"])

    def guest_reboot(self):
        if self.vmm.guest != "running":
            return
        self.out.console.lines(["[  OK  ] Reached target reboot.target - System Reboot.",
                                "[   12.000000] reboot: Restarting system"])
        self.stop_vmm()

    def guest_poweroff(self):
        if self.vmm.guest != "running":
            return
        self.out.console.lines(["[  OK  ] Reached target poweroff.target - System Power Off.",
                                "[   12.000000] reboot: Power down"])
        self.vmm.guest = "halted"

    def schedule(self, delay, fn):
        self.timers.append((time.monotonic() + delay, fn))

    # -- small resources handled here because they touch process state ----------

    def put_mmds(self, data):
        self.vmm.mmds_data = data

    def patch_mmds(self, patch):
        def merge(target, p):
            if not isinstance(p, dict):
                return p
            target = dict(target) if isinstance(target, dict) else {}
            for k, v in p.items():
                if v is None:
                    target.pop(k, None)
                else:
                    target[k] = merge(target.get(k), v)
            return target
        self.vmm.mmds_data = merge(self.vmm.mmds_data or {}, patch)

    def load_snapshot(self, cfg):
        if self.vmm.started or self.vmm.configured_boot_resources:
            raise ApiError("Load snapshot error: Loading a microVM snapshot not allowed after "
                           "configuring boot-specific resources.")
        behaviour = read_behaviour()
        try:
            if behaviour["fail_snapshot_load"]:
                raise ApiError("Load snapshot error: fcemu: fail_snapshot_load is set in "
                               "FCEMU_CONFIG")
            self.vmm.load_snapshot(cfg)
        except ApiError as e:
            # FC terminates when a load fails, after answering.
            msg = str(e)
            self.schedule(0.0, lambda: (write_all(2, f"Error: RunWithApi({msg!r})\n".encode()),
                                        self.exit(1)))
            raise
        self.out.console.enabled = self.vmm.console_enabled(self.vmm.cmdline)
        self.flush_metrics()
        self.next_metrics = time.monotonic() + METRICS_PERIOD_S
        # A restored guest is already up: no boot lines, no second ready line.
        self.log_main("Info", "Loaded the microVM state from the snapshot.")
        return None

    def create_snapshot(self, cfg):
        if read_behaviour()["fail_snapshot_create"]:
            raise ApiError("Create snapshot error: fcemu: fail_snapshot_create is set in "
                           "FCEMU_CONFIG")
        delay = read_behaviour()["snapshot_delay_ms"]
        if delay:
            time.sleep(delay / 1000.0)
        self.vmm.create_snapshot(cfg)

    def balloon_stats(self):
        b = self.vmm.get_balloon()
        if not b["stats_polling_interval_s"]:
            raise ApiError("Balloon config error: Statistics for the balloon device are not "
                           "enabled")
        mib = b["amount_mib"]
        return {"target_pages": mib * 256, "actual_pages": mib * 256, "target_mib": mib,
                "actual_mib": mib}

    def patch_balloon_stats(self, cfg):
        self.vmm.require_postboot()
        b = self.vmm.get_balloon()
        if not b["stats_polling_interval_s"] or not cfg["stats_polling_interval_s"]:
            raise ApiError("Balloon config error: Cannot enable/disable the statistics after "
                           "boot.")
        b["stats_polling_interval_s"] = cfg["stats_polling_interval_s"]

    def balloon_hinting(self):
        self.vmm.require_postboot()
        b = self.vmm.get_balloon()
        if not b["free_page_hinting"]:
            raise ApiError("Balloon config error: Free page hinting was not enabled when the "
                           "device was configured.")

    def balloon_hinting_status(self):
        self.balloon_hinting()
        return {"host_cmd": 0, "guest_cmd": 0}

    def get_hotplug_memory(self):
        self.vmm.require_postboot()
        h = self.vmm.hotplug
        if h is None:
            raise ApiError("Memory hotplug error: The memory hotplug device is not configured.")
        return dict(h, plugged_size_mib=h.get("requested_size_mib", 0),
                    requested_size_mib=h.get("requested_size_mib", 0))

    def patch_hotplug_memory(self, cfg):
        self.vmm.require_postboot()
        if self.vmm.hotplug is None:
            raise ApiError("Memory hotplug error: The memory hotplug device is not configured.")
        self.vmm.hotplug["requested_size_mib"] = cfg.get("requested_size_mib", 0)

    def patch_pmem(self, cfg):
        self.vmm.require_postboot()
        p = next((p for p in self.vmm.pmem if p["id"] == cfg["id"]), None)
        if p is None:
            raise ApiError("Pmem config error: Device not found.")
        if cfg.get("rate_limiter") is not None:
            p["rate_limiter"] = cfg["rate_limiter"]

    # -- HTTP glue ---------------------------------------------------------------

    def on_request(self, conn, method, uri, body):
        delay = read_behaviour()["api_delay_ms"]
        if delay:
            # A slow VMM: crash tests use it to land a kill between requests.
            time.sleep(delay / 1000.0)
        status, text, headers = self.router.handle(method, uri, body)
        conn.send(format_response(status, text, headers))
        self.journal.record({"method": method, "path": uri, "body": _json_or_raw(body),
                             "status": status, "response": _json_or_raw(text)})

    def on_http_error(self, conn, msg):
        conn.send(format_response(400, error_body(msg)))
        self.journal.record({"method": None, "path": None, "body": None, "status": 400,
                             "response": None, "http_error": msg})

    # -- startup -----------------------------------------------------------------

    def apply_config_file(self, path):
        """--config-file: configure everything, then boot; any failure exits 1."""
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            cfg = json.loads(text)
            if not isinstance(cfg, dict):
                raise ValueError("top level must be an object")
        except (OSError, ValueError) as e:
            self.config_fail(f"{e}")
        singles = [("logger", "logger"), ("metrics", "metrics"),
                   ("machine-config", "machine-config"), ("cpu-config", "cpu-config"),
                   ("boot-source", "boot-source")]
        reqs = [f"/{p}" for k, p in singles if k in cfg and cfg[k] is not None]
        bodies = [cfg[k] for k, _ in singles if k in cfg and cfg[k] is not None]
        if "boot-source" not in cfg or "drives" not in cfg:
            self.config_fail("missing field `boot-source` or `drives`")
        for key, idkey, prefix in (("drives", "drive_id", "drives"),
                                   ("pmem", "id", "pmem"),
                                   ("network-interfaces", "iface_id", "network-interfaces")):
            for item in cfg.get(key) or []:
                reqs.append(f"/{prefix}/{item.get(idkey, '') if isinstance(item, dict) else ''}")
                bodies.append(item)
        for key, p in (("vsock", "vsock"), ("balloon", "balloon"), ("mmds-config", "mmds/config"),
                       ("entropy", "entropy"), ("memory-hotplug", "hotplug/memory")):
            if cfg.get(key) is not None:
                reqs.append(f"/{p}")
                bodies.append(cfg[key])
        reqs.append("/actions")
        bodies.append({"action_type": "InstanceStart"})
        for path_, body in zip(reqs, bodies):
            try:
                action, _ = self.router.parse("PUT", path_, json.dumps(body).encode())
                action()
            except (RequestError, ApiError) as e:
                self.config_fail(str(e))
        self.log_main("Info", "Successfully started microvm that was configured from one single "
                      "json")

    def config_fail(self, msg):
        self.log_main("Error", f"Building VMM configured from cmdline json failed: {msg}")
        write_all(2, f"Error: RunWithApi(BuildFromJson({msg!r}))\n".encode())
        self.exit(1)

    def start(self, spec):
        self.router = Router(self.vmm, Validator(spec), self)
        a = self.args
        if "log-path" in a or "level" in a or "show-level" in a or "show-log-origin" in a \
                or "module" in a:
            try:
                self.out.logger.configure(a.get("log-path"), LOG_LEVELS[a["level"].lower()]
                                          if "level" in a else None,
                                          True if "show-level" in a else None,
                                          True if "show-log-origin" in a else None,
                                          a.get("module"))
            except OSError as e:
                write_all(2, f"Error: LoggerInitialization({e.strerror!r})\n".encode())
                self.exit(1)
        self.log_main("Info", f"Running Firecracker v{VERSION}")
        if "metrics-path" in a:
            try:
                self.vmm.init_metrics(a["metrics-path"])
            except ApiError as e:
                write_all(2, f"Error: MetricsInitialization({str(e)!r})\n".encode())
                self.exit(1)
        if "metadata" in a:
            try:
                with open(a["metadata"], encoding="utf-8") as f:
                    self.vmm.mmds_data = json.load(f)
            except (OSError, ValueError) as e:
                write_all(2, f"Error: RunWithApi(MmdsMetadata({str(e)!r}))\n".encode())
                self.exit(1)
        limit = int(a.get("http-api-max-payload-size", "51200"))
        if "no-api" not in a:
            sock_path = a.get("api-sock", "/run/firecracker.socket")
            try:
                self.server = Server(sock_path, limit)
            except OSError:
                self.log_main("Error", f"Failed to open the API socket at: {sock_path}. Check "
                              "that it is not already used.")
                write_all(2, f'Error: RunWithApi(FailedToBindSocket("{sock_path}"))\n'.encode())
                self.exit(1)
            self.out.logger.log("Info", "fc_api", f'Listening on API socket ("{sock_path}").',
                                module="firecracker::api_server")
            self.out.logger.log("Info", "fc_api", "API server started.",
                                module="firecracker::api_server")
            self.sel.register(self.server.listener, selectors.EVENT_READ, "listen")
        if "config-file" in a:
            self.apply_config_file(a["config-file"])
        self.loop()

    # -- event loop ----------------------------------------------------------------

    def on_signal(self, signo, _frame):
        self.signals.append(signo)

    def handle_signal(self, signo):
        if signo == signal.SIGHUP:
            self.fatal_signal(1, 156)
        elif signo in (signal.SIGUSR1, signal.SIGUSR2):
            if self.vmm.guest != "running":
                write_all(2, f"fcemu: {signal.Signals(signo).name} ignored: no running guest\n"
                          .encode())
            elif signo == signal.SIGUSR1:
                self.guest_reboot()
            else:
                self.guest_poweroff()

    def loop(self):
        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
            signal.signal(s, self.on_signal)
        self.sel.register(rfd, selectors.EVENT_READ, "signal")
        while True:
            now = time.monotonic()
            deadlines = [d for d, _ in self.timers]
            if self.next_metrics is not None:
                deadlines.append(self.next_metrics)
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            for key, _ in self.sel.select(timeout):
                tag = key.data
                if tag == "signal":
                    try:
                        os.read(rfd, 512)
                    except BlockingIOError:
                        pass
                elif tag == "listen":
                    conn = self.server.accept()
                    if conn is not None:
                        self.sel.register(conn.sock, selectors.EVENT_READ, conn)
                elif tag == "vsock":
                    try:
                        c, _ = key.fileobj.accept()
                        c.close()
                    except OSError:
                        pass
                else:
                    self.read_conn(tag)
            while self.signals:
                self.handle_signal(self.signals.pop(0))
            now = time.monotonic()
            due = [t for t in self.timers if t[0] <= now]
            self.timers = [t for t in self.timers if t[0] > now]
            for _, fn in due:
                fn()
            if self.next_metrics is not None and now >= self.next_metrics:
                if self.vmm.state == "Running":
                    self.flush_metrics()
                self.next_metrics = now + METRICS_PERIOD_S
            self.watch_vsock()

    def watch_vsock(self):
        s = self.vmm.vsock_sock
        registered = getattr(self, "_vsock_registered", None)
        if registered is not s:
            if registered is not None:
                try:
                    self.sel.unregister(registered)
                except (KeyError, ValueError):
                    pass
            if s is not None:
                self.sel.register(s, selectors.EVENT_READ, "vsock")
            self._vsock_registered = s

    def read_conn(self, conn):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, socket.timeout):
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(conn.sock)
            self.server.close(conn)
            return
        conn.feed(data, self.server.limit, self.on_request, self.on_http_error)


def _json_or_raw(data):
    if data is None:
        return None
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    try:
        return json.loads(data)
    except ValueError:
        return None


def main(argv):
    try:
        args = fcemu_cli.parse(argv)
    except fcemu_cli.ArgError as e:
        write_all(2, f"Arguments parsing error: {e}\n\nFor more information try --help.\n"
                  .encode())
        return 153
    if "help" in args:
        write_all(1, fcemu_cli.HELP.encode())
        return 0
    if "version" in args:
        write_all(1, f"Firecracker v{VERSION}\n".encode())
        return 0
    if "snapshot-version" in args:
        write_all(1, "v8.0.0\n".encode())
        return 0
    if "describe-snapshot" in args:
        write_all(2, "fcemu: --describe-snapshot is not emulated\n".encode())
        return 1
    instance_id = args.get("id", "anonymous-instance")
    if not fcemu_cli.valid_instance_id(instance_id):
        write_all(2, ("thread 'main' panicked at src/firecracker/src/main.rs:\n"
                      f"Invalid instance ID: {instance_id!r}\n").encode())
        signal.signal(signal.SIGABRT, signal.SIG_DFL)
        os.abort()
    if "level" in args and args["level"].lower() not in LOG_LEVELS:
        write_all(2, f"Invalid value for logger level: {args['level']}.Possible values: "
                  "[Error, Warning, Info, Debug]\n".encode())
        return 152
    spec_path = default_spec_path()
    try:
        spec = load_spec(spec_path)
    except Exception as e:  # the emulator is useless without its spec: fail loudly
        die_loudly(f"cannot load the Firecracker API spec {spec_path} "
                   f"(set FCEMU_SPEC): {e}")
    App(args, argv).start(spec)
    return 0
