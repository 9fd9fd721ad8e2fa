"""fcemu_schema: validate request bodies against firecracker.yaml the way serde does.

The swagger file says which fields exist, their JSON types, enums and ranges.
It does not say what Firecracker's Rust structs really do, so a few tables
below record the code's behaviour where it differs (from NOTES.md): the Rust
field order used in "expected one of" lists, which fields are Option<T>
(accept null), which Rust integer type a field has (range and wording), and
which structs ignore unknown keys instead of rejecting them.

Errors come out as serde_json's Display text including "at line L column C";
the router wraps them as FC does ("An error occurred when deserializing the
json body of a request: <text>.").
"""

import os

import yaml

import fcemu_json
from fcemu_json import at

# Rust struct name per swagger definition (used in "expected struct X").
STRUCT_NAMES = {
    "BootSource": "BootSourceConfig", "Drive": "BlockDeviceConfig",
    "PartialDrive": "BlockDeviceUpdateConfig", "MachineConfiguration": "MachineConfig",
    "MachineConfiguration_patch": "MachineConfigUpdate",
    "NetworkInterface": "NetworkInterfaceConfig",
    "PartialNetworkInterface": "NetworkInterfaceUpdateConfig",
    "Logger": "LoggerConfig", "Metrics": "MetricsConfig", "InstanceActionInfo": "ActionBody",
    "RateLimiter": "RateLimiterConfig", "TokenBucket": "TokenBucketConfig",
    "Vsock": "VsockDeviceConfig", "Balloon": "BalloonDeviceConfig",
    "BalloonUpdate": "BalloonUpdateConfig", "BalloonStatsUpdate": "BalloonUpdateStatsConfig",
    "Vm": "VmState", "EntropyDevice": "EntropyDeviceConfig", "SerialDevice": "SerialConfig",
    "MmdsConfig": "MmdsConfig", "SnapshotCreateParams": "CreateSnapshotParams",
    "SnapshotLoadParams": "LoadSnapshotConfig", "Pmem": "PmemConfig",
    "MemoryHotplugConfig": "MemoryHotplugConfig", "CpuConfig": "CustomCpuTemplate",
}

# Rust declaration order where it differs from the swagger order.
FIELD_ORDER = {
    "MachineConfiguration": ["vcpu_count", "mem_size_mib", "smt", "cpu_template",
                             "track_dirty_pages", "huge_pages"],
    "MachineConfiguration_patch": ["vcpu_count", "mem_size_mib", "smt", "cpu_template",
                                   "track_dirty_pages", "huge_pages"],
    "BootSource": ["kernel_image_path", "initrd_path", "boot_args"],
    "NetworkInterface": ["iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter",
                         "tx_rate_limiter", "mtu"],
    "PartialNetworkInterface": ["iface_id", "rx_rate_limiter", "tx_rate_limiter"],
    "PartialDrive": ["drive_id", "path_on_host", "rate_limiter"],
    "Logger": ["log_path", "level", "show_level", "show_log_origin", "module"],
    "TokenBucket": ["size", "one_time_burst", "refill_time"],
    "Vsock": ["vsock_id", "guest_cid", "uds_path"],
    "Balloon": ["amount_mib", "deflate_on_oom", "stats_polling_interval_s",
                "free_page_hinting", "free_page_reporting"],
    "SnapshotCreateParams": ["snapshot_type", "snapshot_path", "mem_file_path"],
    "MmdsConfig": ["version", "network_interfaces", "ipv4_address", "imds_compat"],
}

# Option<T> fields (null == absent).  Everything else rejects null, including
# #[serde(default)] scalars such as smt, cache_type, track_dirty_pages.
NULLABLE = {
    "MachineConfiguration": {"cpu_template"},
    "BootSource": {"initrd_path", "boot_args"},
    "Drive": {"partuuid", "is_read_only", "path_on_host", "rate_limiter", "io_engine", "socket"},
    "PartialDrive": {"path_on_host", "rate_limiter"},
    "NetworkInterface": {"guest_mac", "mtu", "rx_rate_limiter", "tx_rate_limiter"},
    "PartialNetworkInterface": {"rx_rate_limiter", "tx_rate_limiter"},
    "Logger": {"log_path", "level", "show_level", "show_log_origin", "module"},
    "RateLimiter": {"bandwidth", "ops"},
    "TokenBucket": {"one_time_burst"},
    "Vsock": {"vsock_id"},
    "Balloon": set(),
    "EntropyDevice": {"rate_limiter"},
    "SerialDevice": {"serial_out_path", "rate_limiter"},
    "MmdsConfig": {"ipv4_address"},
    "SnapshotCreateParams": set(),
    "Pmem": {"rate_limiter"},
    "PartialPmem": {"rate_limiter"},
    "SnapshotLoadParams": {"mem_file_path", "mem_backend", "network_overrides",
                           "vsock_override"},
    "MemoryHotplugConfig": {"total_size_mib"},
    "MachineConfiguration_patch": {"vcpu_count", "mem_size_mib", "smt", "cpu_template",
                                   "track_dirty_pages", "huge_pages"},
}

# Rust type of integer/string fields: decides ranges and serde's "expected".
RUST_TYPES = {
    ("MachineConfiguration", "vcpu_count"): "u8",
    ("MachineConfiguration", "mem_size_mib"): "usize",
    ("MachineConfiguration_patch", "vcpu_count"): "u8",
    ("MachineConfiguration_patch", "mem_size_mib"): "usize",
    ("NetworkInterface", "mtu"): "u16",
    ("Vsock", "guest_cid"): "u32",
    ("Balloon", "amount_mib"): "u32",
    ("Balloon", "stats_polling_interval_s"): "u16",
    ("BalloonUpdate", "amount_mib"): "u32",
    ("BalloonStatsUpdate", "stats_polling_interval_s"): "u16",
    ("Logger", "log_path"): "PathBuf",
    ("Metrics", "metrics_path"): "PathBuf",
    ("SerialDevice", "serial_out_path"): "PathBuf",
    ("SnapshotCreateParams", "snapshot_path"): "PathBuf",
    ("SnapshotCreateParams", "mem_file_path"): "PathBuf",
    ("SnapshotLoadParams", "snapshot_path"): "PathBuf",
    ("SnapshotLoadParams", "mem_file_path"): "PathBuf",
    ("Vsock", "uds_path"): "String",
    ("NetworkInterface", "guest_mac"): "MacAddr",
    ("MmdsConfig", "ipv4_address"): "Ipv4Addr",
    ("Logger", "level"): "LevelFilter",
    ("CpuidLeafModifier", "flags"): "u32",
    ("VcpuFeatures", "index"): "u32",
}

# Structs without deny_unknown_fields in 1.16.1 (NOTES.md §2).
LENIENT = {"Metrics", "TokenBucket", "NetworkOverride", "VsockOverride",
           "MmdsContentsObject", "FullVmConfiguration"}

INT_RANGES = {
    "u8": (0, 255), "u16": (0, 65535), "u32": (0, 2**32 - 1), "u64": (0, 2**64 - 1),
    "usize": (0, 2**64 - 1), "i32": (-2**31, 2**31 - 1), "i64": (-2**63, 2**63 - 1),
}

# Bounds that Firecracker validates after deserializing, with its own text.
VMM_CHECKED = {("MachineConfiguration", "vcpu_count"),
               ("MachineConfiguration_patch", "vcpu_count")}

LOG_LEVELS = {"off": "Off", "error": "Error", "warning": "Warn", "warn": "Warn",
              "info": "Info", "debug": "Debug", "trace": "Trace"}


class SchemaError(Exception):
    """A body serde would refuse; str() is serde_json's Display text."""


def default_spec_path():
    """FCEMU_SPEC, else ../../../shared/firecracker/firecracker.yaml from this file."""
    env = os.environ.get("FCEMU_SPEC")
    if env:
        return env
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "firecracker",
                                         "firecracker.yaml"))


def load_spec(path):
    """Load the swagger file; raises OSError / yaml.YAMLError loudly."""
    with open(path, encoding="utf-8") as f:
        # The C loader is ~5x faster; startup time matters to the tests.
        spec = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(spec, dict) or "definitions" not in spec:
        raise ValueError(f"{path}: not a swagger file with definitions")
    return spec


def _quote_list(names):
    names = [f"`{n}`" for n in names]
    if not names:
        return "there are no fields"
    if len(names) == 1:
        return f"expected {names[0]}"
    if len(names) == 2:
        return f"expected {names[0]} or {names[1]}"
    return "expected one of " + ", ".join(names)


def _unexpected(node):
    """serde's Unexpected rendering of a JSON value."""
    k = node.kind
    if k == "string":
        return 'string "' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if k == "integer":
        return f"integer `{node.value}`"
    if k == "float":
        v = node.value
        txt = repr(v) if ("e" in repr(v) or "." in repr(v)) else repr(v) + ".0"
        return f"floating point `{txt}`"
    if k == "bool":
        return f"boolean `{'true' if node.value else 'false'}`"
    if k == "null":
        return "null"
    if k == "array":
        return "sequence"
    return "map"


class Validator:
    """Validates parsed bodies against one loaded swagger spec."""

    def __init__(self, spec):
        self.spec = spec
        self.defs = dict(spec["definitions"])
        # PATCH /machine-config deserializes MachineConfigUpdate: same fields,
        # all Option<T>, none required.
        if "MachineConfiguration" in self.defs:
            patch = dict(self.defs["MachineConfiguration"])
            patch.pop("required", None)
            self.defs["MachineConfiguration_patch"] = patch

    def resolve(self, schema):
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/definitions/"):
                raise ValueError(f"unsupported $ref {ref}")
            name = ref[len("#/definitions/"):]
            if name not in self.defs:
                raise ValueError(f"dangling $ref {ref}")
            schema = dict(self.defs[name], __def__=name)
            seen += 1
            if seen > 20:
                raise ValueError(f"$ref loop at {ref}")
        return schema

    def validate_body(self, text, defname):
        """Parse `text` and check it against definition `defname`.

        Returns the plain Python value (nulls of Option fields dropped).
        Raises SchemaError with serde-like text (syntax or data errors).
        """
        try:
            node = fcemu_json.parse(text)
        except fcemu_json.JsonSyntaxError as e:
            raise SchemaError(str(e)) from None
        schema = self.resolve({"$ref": f"#/definitions/{defname}"})
        return self._value(text, node, schema, None, None)

    # -- internals -----------------------------------------------------------

    def _expected(self, schema, owner, field):
        rtype = RUST_TYPES.get((owner, field))
        t = schema.get("type")
        if "__def__" in schema and schema.get("type", "object") == "object" \
                and "enum" not in schema:
            return "struct " + STRUCT_NAMES.get(schema["__def__"], schema["__def__"])
        if rtype in INT_RANGES:
            return rtype
        if rtype == "PathBuf":
            return "path string"
        if t == "boolean":
            return "a boolean"
        if t == "integer":
            return self._int_type(schema, owner, field)
        if t == "number":
            return "f64"
        if t == "array":
            return "a sequence"
        if t == "object":
            return "a map"
        return "a string"

    def _int_type(self, schema, owner, field):
        rtype = RUST_TYPES.get((owner, field))
        if rtype in INT_RANGES:
            return rtype
        if schema.get("format") == "int32":
            return "u32"
        return "u64"

    def _value(self, text, node, schema, owner, field):
        schema = self.resolve(schema)
        t = schema.get("type", "object" if "properties" in schema else None)
        if "enum" in schema:
            return self._enum(text, node, schema, owner, field)
        if t == "object":
            if "properties" in schema:
                return self._struct(text, node, schema)
            if node.kind != "object":
                raise SchemaError(f"invalid type: {_unexpected(node)}, expected a map "
                                  f"{at(text, node.end)}")
            return node.to_py()
        if t == "array":
            if node.kind != "array":
                raise SchemaError(f"invalid type: {_unexpected(node)}, expected a sequence "
                                  f"{at(text, self._err_end(node))}")
            return [self._value(text, n, schema.get("items", {}), owner, field)
                    for n in node.value]
        if t == "boolean":
            if node.kind != "bool":
                raise SchemaError(f"invalid type: {_unexpected(node)}, expected a boolean "
                                  f"{at(text, self._err_end(node))}")
            return node.value
        if t == "integer":
            rtype = self._int_type(schema, owner, field)
            if node.kind != "integer":
                raise SchemaError(f"invalid type: {_unexpected(node)}, expected {rtype} "
                                  f"{at(text, self._err_end(node))}")
            lo, hi = INT_RANGES[rtype]
            if not lo <= node.value <= hi:
                raise SchemaError(f"invalid value: {_unexpected(node)}, expected {rtype} "
                                  f"{at(text, node.end)}")
            # The spec's own bounds; vcpu_count is range-checked by the VMM
            # with FC's "Machine config error" text instead.
            if (owner, field) not in VMM_CHECKED:
                lo = schema.get("minimum", lo)
                hi = schema.get("maximum", hi)
                if not lo <= node.value <= hi:
                    raise SchemaError(f"invalid value: {_unexpected(node)}, expected {rtype} "
                                      f"in range {lo}..={hi} {at(text, node.end)}")
            return node.value
        if t == "number":
            if node.kind not in ("integer", "float"):
                raise SchemaError(f"invalid type: {_unexpected(node)}, expected f64 "
                                  f"{at(text, self._err_end(node))}")
            return node.value
        if t == "string":
            rtype = RUST_TYPES.get((owner, field))
            exp = "path string" if rtype == "PathBuf" else "a string"
            if node.kind != "string":
                raise SchemaError(f"invalid type: {_unexpected(node)}, expected {exp} "
                                  f"{at(text, self._err_end(node))}")
            if rtype == "MacAddr" and not _is_mac(node.value):
                raise SchemaError("The provided MAC address is not valid. "
                                  f"{at(text, node.end)}")
            if rtype == "Ipv4Addr" and not _is_ipv4(node.value):
                raise SchemaError(f"invalid IPv4 address syntax {at(text, node.end)}")
            return node.value
        # No type in the schema: accept any JSON.
        return node.to_py()

    @staticmethod
    def _err_end(node):
        # serde reports maps/sequences at their opening byte (peek), others after them.
        if node.kind in ("object", "array"):
            return node.start + 1
        return node.end

    def _enum(self, text, node, schema, owner, field):
        variants = [str(v) for v in schema["enum"]]
        if RUST_TYPES.get((owner, field)) == "LevelFilter":
            if node.kind != "string":
                raise SchemaError(f"invalid type: {_unexpected(node)}, expected a string "
                                  f"{at(text, self._err_end(node))}")
            if node.value.lower() not in LOG_LEVELS:
                raise SchemaError(f"unknown variant `{node.value}`, "
                                  f"{_quote_list(['Off', 'Trace', 'Debug', 'Info', 'Warn', 'Error'])} "
                                  f"{at(text, node.end)}")
            return LOG_LEVELS[node.value.lower()]
        if node.kind != "string":
            raise SchemaError(f"invalid type: {_unexpected(node)}, expected a string "
                              f"{at(text, self._err_end(node))}")
        if node.value not in variants:
            raise SchemaError(f"unknown variant `{node.value}`, {_quote_list(variants)} "
                              f"{at(text, node.end)}")
        return node.value

    def _struct(self, text, node, schema):
        name = schema.get("__def__", "")
        if node.kind != "object":
            exp = "struct " + STRUCT_NAMES.get(name, name)
            raise SchemaError(f"invalid type: {_unexpected(node)}, expected {exp} "
                              f"{at(text, self._err_end(node))}")
        props = schema.get("properties", {})
        order = FIELD_ORDER.get(name, list(props))
        nullable = NULLABLE.get(name)
        if nullable is None:
            # Heuristic for definitions not in the table: optional fields
            # without a default are Option<T>.
            nullable = {f for f, s in props.items()
                        if f not in schema.get("required", []) and "default" not in s}
        deny = name not in LENIENT and schema.get("additionalProperties") is not True
        out, seen = {}, set()
        for key, key_end, val in node.items:
            if key in seen and key in props:
                raise SchemaError(f"duplicate field `{key}` {at(text, key_end)}")
            seen.add(key)
            if key not in props:
                if deny:
                    raise SchemaError(f"unknown field `{key}`, {_quote_list(order)} "
                                      f"{at(text, key_end)}")
                continue
            if val.kind == "null":
                if key in nullable:
                    continue
                exp = self._expected(self.resolve(props[key]), name, key)
                raise SchemaError(f"invalid type: null, expected {exp} {at(text, val.end)}")
            out[key] = self._value(text, val, props[key], name, key)
        for req in sorted(schema.get("required", []), key=lambda f: order.index(f)
                          if f in order else 99):
            if req not in out and req not in nullable:
                raise SchemaError(f"missing field `{req}` {at(text, node.end)}")
        return out


def _is_mac(s):
    parts = s.split(":")
    return len(parts) == 6 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts)


def _is_ipv4(s):
    parts = s.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or (len(p) > 1 and p[0] == "0") or int(p) > 255:
            return False
    return True
