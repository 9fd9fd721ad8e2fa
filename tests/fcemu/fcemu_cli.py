"""fcemu_cli: Firecracker v1.16.1's own argument parser rules (NOTES.md §1).

Each value is a separate argv element, `--x=y` is an unknown argument, a value
may not start with `--`, a repeated flag is an error, everything after a bare
`--` is ignored. Parse errors exit 153 with a message on stderr.
"""

# name -> takes a value
ARGS = {
    "api-sock": True, "id": True, "log-path": True, "level": True, "module": True,
    "metrics-path": True, "config-file": True, "metadata": True, "seccomp-filter": True,
    "http-api-max-payload-size": True, "mmds-size-limit": True, "start-time-us": True,
    "start-time-cpu-us": True, "parent-cpu-time-us": True, "describe-snapshot": True,
    "show-level": False, "show-log-origin": False, "boot-timer": False, "no-api": False,
    "no-seccomp": False, "enable-pci": False, "version": False, "help": False,
    "snapshot-version": False,
}
INTEGER_ARGS = ("http-api-max-payload-size", "mmds-size-limit", "start-time-us",
                "start-time-cpu-us", "parent-cpu-time-us")


class ArgError(Exception):
    """Bad command line; str() is the message FC prints."""


def parse(argv):
    """Parse argv[1:] into {name: value-or-True}; raises ArgError."""
    out = {}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--":
            break
        name = a[2:] if a.startswith("--") else None
        if name not in ARGS:
            raise ArgError(f"Found argument '{a}' which wasn't expected, or isn't valid in "
                           "this context.")
        if name in out:
            raise ArgError(f"The argument '{name}' was provided more than once.")
        if ARGS[name]:
            if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                raise ArgError(f"The argument '{name}' requires a value, but none was "
                               "supplied.")
            out[name] = argv[i + 1]
            i += 2
        else:
            out[name] = True
            i += 1
    if "no-api" in out and "config-file" not in out:
        raise ArgError("Argument 'config-file' required, but not found.")
    if "seccomp-filter" in out and "no-seccomp" in out:
        raise ArgError("Argument 'seccomp-filter' cannot be used together with argument "
                       "'no-seccomp'.")
    for name in INTEGER_ARGS:
        if name in out and not out[name].isdigit():
            raise ArgError(f"Invalid value for argument '{name}': {out[name]}")
    return out


def valid_instance_id(s):
    """FC's validate_instance_id: 1-64 chars of [A-Za-z0-9-]."""
    return 1 <= len(s) <= 64 and all(c == "-" or (c.isascii() and c.isalnum()) for c in s)


HELP = """firecracker v1.16.1 (fcemu, a test emulator)

Launch a microvm.

Arguments:
  --api-sock <api-sock>  Path to unix domain socket used by the API. [default: "/run/firecracker.socket"]
  --id <id>  MicroVM unique identifier. [default: "anonymous-instance"]
  --config-file <config-file>  Path to a file that contains the microVM configuration in JSON format.
  --no-api  Optional parameter which allows starting and using a microVM without an active API socket.
  --log-path <log-path>  Path to a fifo or a file used for configuring the logger on startup.
  --level <level>  Set the logger level.
  --module <module>  Set the logger module filter.
  --show-level  Whether or not to output the level in the logs.
  --show-log-origin  Whether or not to include the file path and line number of the log's origin.
  --metrics-path <metrics-path>  Path to a fifo or a file used for configuring the metrics on startup.
  --metadata <metadata>  Path to a file that contains metadata in JSON format to add to the mmds.
  --boot-timer  Whether or not to load boot timer device for logging elapsed time since InstanceStart command.
  --seccomp-filter <seccomp-filter>  Optional parameter which allows specifying the path to a custom seccomp filter.
  --no-seccomp  Optional parameter which allows starting and using a microVM without seccomp filtering.
  --enable-pci  Enables PCIe support.
  --http-api-max-payload-size <http-api-max-payload-size>  Http API request payload max size, in bytes. [default: "51200"]
  --mmds-size-limit <mmds-size-limit>  Mmds data store limit, in bytes.
  --version  Print the binary version number.
  --snapshot-version  Print the supported data format version.
  --describe-snapshot <describe-snapshot>  Print the data format version of the provided snapshot state file.
  --help  Show the help message.
"""
