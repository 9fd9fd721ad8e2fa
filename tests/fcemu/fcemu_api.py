"""fcemu_api: route one HTTP request like Firecracker's ParsedRequest and run it.

Mirrors src/firecracker/src/api_server/parsed_request.rs: the first path token
selects the resource, a GET with a body, an empty PUT/PATCH, bad resource ids,
id mismatches and serde errors fail before the VMM sees the request; the VMM
then applies state and device checks. Every failure is a 400 with
{"fault_message": ...}; successes are 204, or 200 with JSON for GETs.
"""

import json

from fcemu_out import rust_debug_str
from fcemu_schema import SchemaError
from fcemu_vmm import ApiError

API_MODULE = "firecracker::api_server::parsed_request"
API_ORIGIN = "src/firecracker/src/api_server/parsed_request.rs:75"


class RequestError(Exception):
    """Parse-stage failure (FC's RequestError); str() is the fault message."""


def abs_path(uri):
    """micro-http's Uri::get_abs_path."""
    if uri.startswith("http://"):
        rest = uri[len("http://"):]
        i = rest.find("/")
        return rest[i:] if i >= 0 else ""
    return uri if uri.startswith("/") else ""


def checked_id(token):
    if token is None or token == "":
        raise RequestError("The ID cannot be empty.")
    if not all(c == "_" or c.isalnum() for c in token):
        raise RequestError("API Resource IDs can only contain alphanumeric characters and "
                           "underscores.")
    return token


def fault(msg):
    return json.dumps({"fault_message": msg}, separators=(",", ":"))


class Router:
    """Turns (method, uri, body) into (status, body_text, extra_headers)."""

    def __init__(self, vmm, validator, app):
        self.vmm = vmm
        self.validator = validator
        self.app = app  # main controller: boot/stop actions, metrics flush, logger

    def log(self, level, msg):
        self.app.out.logger.log(level, "fc_api", msg, module=API_MODULE, origin=API_ORIGIN)

    def handle(self, method, uri, body):
        path = abs_path(uri)
        mname = method.capitalize()
        if body is None or path == "/mmds":
            self.log("Info", f"The API server received a {mname} request on "
                     f"{rust_debug_str(path)}.")
        else:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            self.log("Info", f"The API server received a {mname} request on "
                     f"{rust_debug_str(path)} with body {rust_debug_str(text)}.")
        self.app.out.metrics.inc(f"{method.lower()}_api_requests", "count")
        try:
            action, deprecated = self.parse(method, path, body)
        except RequestError as e:
            self.log("Error", str(e))
            return 400, fault(str(e)), []
        headers = ["Deprecation: true"] if deprecated else []
        try:
            result = action()
        except ApiError as e:
            self.log("Error", f"Received Error. Status code: 400 Bad Request. Message: {e}")
            return 400, fault(str(e)), headers
        if result is None:
            self.log("Info", "The request was executed successfully. Status code: 204 No Content.")
            return 204, None, headers
        self.log("Info", "The request was executed successfully. Status code: 200 OK.")
        return 200, json.dumps(result, separators=(",", ":")), headers

    # -- parsing ---------------------------------------------------------------

    def body(self, body, defname):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("An error occurred when deserializing the json body of a "
                               "request: invalid unicode code point at line 1 column 1.") from None
        try:
            return self.validator.validate_body(text, defname)
        except SchemaError as e:
            raise RequestError("An error occurred when deserializing the json body of a "
                               f"request: {e}.") from None

    def parse(self, method, path, body):
        tokens = [t for t in path.lstrip("/").split("/")]
        if tokens and tokens[-1] == "" and len(tokens) > 1:
            tokens.pop()  # split_terminator drops one trailing empty piece
        head, rest = tokens[0], tokens[1:]
        nxt = rest[0] if rest else None
        v, app = self.vmm, self.app
        if method == "GET":
            if body is None:
                if head == "":
                    return (v.instance_info, False)
                if head == "version":
                    return (lambda: {"firecracker_version": "1.16.1"}, False)
                if head == "vm" and nxt == "config":
                    return (v.vm_config, False)
                if head == "machine-config":
                    return (v.machine_config, False)
                if head == "mmds":
                    return (lambda: v.mmds_data if v.mmds_data is not None else {}, False)
                if head == "hotplug" and nxt == "memory":
                    return (app.get_hotplug_memory, False)
                if head == "balloon":
                    return (self.get_balloon(rest), False)
            else:
                raise RequestError("GET request cannot have a body.")
        elif method == "PUT":
            if body is None:
                raise RequestError("Empty PUT request.")
            simple = {
                "actions": ("InstanceActionInfo", app.action),
                "balloon": ("Balloon", v.put_balloon),
                "boot-source": ("BootSource", v.put_boot_source),
                "cpu-config": ("CpuConfig", v.put_cpu_config),
                "logger": ("Logger", v.put_logger),
                "serial": ("SerialDevice", v.put_serial),
                "machine-config": ("MachineConfiguration", v.put_machine_config),
                "metrics": ("Metrics", v.put_metrics),
                "vsock": ("Vsock", v.put_vsock),
                "entropy": ("EntropyDevice", v.put_entropy),
            }
            if head in simple:
                defname, fn = simple[head]
                cfg = self.body(body, defname)
                depr = ("cpu_template" in cfg and head == "machine-config") or \
                    ("vsock_id" in cfg and head == "vsock")
                return (lambda: fn(cfg), depr)
            if head in ("drives", "network-interfaces", "pmem"):
                ident = checked_id(nxt)
                defname, key, fn = {"drives": ("Drive", "drive_id", v.put_drive),
                                    "network-interfaces": ("NetworkInterface", "iface_id",
                                                           v.put_net),
                                    "pmem": ("Pmem", "id", v.put_pmem)}[head]
                cfg = self.body(body, defname)
                if cfg[key] != ident:
                    raise RequestError("The id from the path does not match the id from the "
                                       "body!")
                return (lambda: fn(cfg), False)
            if head == "mmds":
                if nxt is None:
                    cfg = self.body(body, "MmdsContentsObject")
                    return (lambda: app.put_mmds(cfg), False)
                if nxt == "config":
                    cfg = self.body(body, "MmdsConfig")
                    return (lambda: v.put_mmds_config(cfg), False)
                raise RequestError(f"Unrecognized PUT request path `{nxt}`.")
            if head == "snapshot":
                if nxt == "create":
                    cfg = self.body(body, "SnapshotCreateParams")
                    return (lambda: app.create_snapshot(cfg), False)
                if nxt == "load":
                    cfg = self.body(body, "SnapshotLoadParams")
                    depr = "mem_file_path" in cfg or "enable_diff_snapshots" in cfg
                    return (lambda: app.load_snapshot(cfg), depr)
                raise RequestError(f"Invalid request method and/or path: PUT snapshot/{nxt}.")
            if head == "hotplug" and nxt == "memory":
                cfg = self.body(body, "MemoryHotplugConfig")
                return (lambda: v.put_hotplug_memory(cfg), False)
        elif method == "PATCH":
            if head == "balloon":
                return (self.patch_balloon(rest, body), False)
            if body is None:
                raise RequestError("Empty PATCH request.")
            if head in ("drives", "network-interfaces", "pmem"):
                ident = checked_id(nxt)
                defname, key, fn = {"drives": ("PartialDrive", "drive_id", v.patch_drive),
                                    "network-interfaces": ("PartialNetworkInterface",
                                                           "iface_id", v.patch_net),
                                    "pmem": ("PartialPmem", "id", app.patch_pmem)}[head]
                cfg = self.body(body, defname)
                if cfg[key] != ident:
                    raise RequestError("The id from the path does not match the id from the "
                                       "body!")
                return (lambda: fn(cfg), False)
            if head == "machine-config":
                cfg = self.body(body, "MachineConfiguration_patch")
                if not cfg:
                    raise RequestError("Empty PATCH request.")
                return (lambda: v.put_machine_config(cfg, patch=True),
                        "cpu_template" in cfg)
            if head == "mmds":
                cfg = self.body(body, "MmdsContentsObject")
                return (lambda: app.patch_mmds(cfg), False)
            if head == "vm":
                cfg = self.body(body, "Vm")
                return (lambda: v.patch_vm(cfg), False)
            if head == "hotplug" and nxt == "memory":
                cfg = self.body(body, "MemoryHotplugSizeUpdate")
                return (lambda: app.patch_hotplug_memory(cfg), False)
        raise RequestError(f"Invalid request method and/or path: {method} {head}.")

    def get_balloon(self, rest):
        v = self.vmm
        if not rest:
            return v.get_balloon
        if rest == ["statistics"]:
            return self.app.balloon_stats
        if rest[:2] == ["hinting", "status"]:
            return self.app.balloon_hinting_status
        raise RequestError(f"Unrecognized GET request path `{'/'.join(rest)}`.")

    def patch_balloon(self, rest, body):
        v = self.vmm
        if rest[:2] == ["hinting", "stop"]:
            return self.app.balloon_hinting
        if rest[:2] == ["hinting", "start"]:
            if body is not None:
                self.body(body, "BalloonStartCmd")
            return self.app.balloon_hinting
        if body is None:
            raise RequestError("Empty PATCH request.")
        if not rest:
            cfg = self.body(body, "BalloonUpdate")
            return lambda: v.patch_balloon(cfg)
        if rest == ["statistics"]:
            cfg = self.body(body, "BalloonStatsUpdate")
            return lambda: self.app.patch_balloon_stats(cfg)
        raise RequestError(f"Unrecognized PATCH request path `{'/'.join(rest)}`.")
