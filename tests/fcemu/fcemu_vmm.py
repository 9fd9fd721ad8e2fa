"""fcemu_vmm: the emulated microVM — resources, pre/post-boot rules, boot and stop.

Handlers take bodies already validated by fcemu_schema and apply Firecracker's
semantic checks with its fault texts (NOTES.md §2-§4, §6-§7): files and taps
are opened at PUT time and kept open, only one root drive, drive/NIC ordering,
once-only metrics, the kernel command line FC builds at InstanceStart.
Failures raise ApiError(fault_message); the router turns them into 400s.
"""

import fcntl
import hashlib
import json
import os
import socket
import struct

BEFORE = "The requested operation is not supported before starting the microVM."
AFTER = "The requested operation is not supported after starting the microVM."
DEFAULT_CMDLINE = ("reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
                   "i8042.dumbkbd swiotlb=noforce")
CMDLINE_MAX = 2048
MMIO_BASE = 0xC0001000
MMIO_GSI = 5
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR, IFF_MULTI_QUEUE = 0x0002, 0x1000, 0x4000, 0x0100
ELF_MAGIC = b"\x7fELF"


class ApiError(Exception):
    """A request the VMM refuses; str() is FC's fault_message."""


def os_err(e):
    """Rust's io::Error Display: '<strerror> (os error N)'."""
    return f"{os.strerror(e.errno)} (os error {e.errno})"


class Vmm:
    """State of one emulated microVM."""

    def __init__(self, instance_id, out, enable_pci=False):
        self.id = instance_id
        self.out = out  # namespace with logger, console, metrics
        self.enable_pci = enable_pci
        self.state = "Not started"
        self.guest = None  # None | "running" | "halted"
        self.machine = {"vcpu_count": 1, "mem_size_mib": 128, "smt": False,
                        "track_dirty_pages": False, "huge_pages": "None"}
        self.cpu_template = None
        self.boot = None
        self.kernel_fd = None
        self.initrd_fd = None
        self.drives = []  # dicts with "_fd"
        self.nets = []  # dicts with "_fd"
        self.vsock = None
        self.vsock_sock = None
        self.balloon = None
        self.entropy = None
        self.mmds_config = None
        self.mmds_data = None
        self.cpu_config = None
        self.pmem = []
        self.hotplug = None
        self.metrics_ready = False
        self.configured_boot_resources = False
        self.cmdline = None

    # -- state rules ---------------------------------------------------------

    @property
    def started(self):
        return self.state != "Not started"

    def require_preboot(self):
        if self.started:
            raise ApiError(AFTER)

    def require_postboot(self):
        if not self.started:
            raise ApiError(BEFORE)

    # -- GETs ----------------------------------------------------------------

    def instance_info(self):
        return {"id": self.id, "state": self.state, "vmm_version": "1.16.1",
                "app_name": "Firecracker"}

    def machine_config(self):
        cfg = dict(self.machine)
        if self.cpu_template:
            cfg["cpu_template"] = self.cpu_template
        return cfg

    def vm_config(self):
        def public(d):
            return {k: v for k, v in d.items() if not k.startswith("_")}
        return {
            "balloon": self.balloon,
            "drives": [public(d) for d in self.drives],
            "boot-source": ({"kernel_image_path": self.boot["kernel_image_path"],
                             "initrd_path": self.boot.get("initrd_path"),
                             "boot_args": self.boot.get("boot_args")}
                            if self.boot else None),
            "cpu-config": self.cpu_config,
            "logger": None,
            "machine-config": self.machine_config(),
            "metrics": None,
            "mmds-config": self.mmds_config,
            "network-interfaces": [public(n) for n in self.nets],
            "vsock": self.vsock,
            "entropy": self.entropy,
            "pmem": [public(p) for p in self.pmem],
            "memory-hotplug": self.hotplug,
        }

    # -- pre-boot configuration ---------------------------------------------

    def put_machine_config(self, cfg, patch=False):
        self.require_preboot()
        new = dict(self.machine)
        if not patch:
            new.update({"smt": False, "track_dirty_pages": False, "huge_pages": "None"})
        for k in ("vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "huge_pages"):
            if k in cfg:
                new[k] = cfg[k]
        vcpus, smt = new["vcpu_count"], new["smt"]
        if vcpus == 0 or vcpus > 32 or (smt and vcpus > 1 and vcpus % 2 == 1):
            raise ApiError("Machine config error: The number of vCPUs must be greater than 0, "
                           "less than 32 and must be 1 or an even number if SMT is enabled.")
        mem, hp = new["mem_size_mib"], new["huge_pages"]
        if mem == 0 or (hp == "2M" and mem % 2):
            raise ApiError("Machine config error: The memory size (MiB) is either 0, or not a "
                           "multiple of the configured page size.")
        if hp != "None" and self.balloon is not None:
            raise ApiError("Machine config error: Firecracker's huge pages support is "
                           "incompatible with memory ballooning.")
        self.machine = new
        if "cpu_template" in cfg:
            self.cpu_template = None if cfg["cpu_template"] == "None" else cfg["cpu_template"]
        self.configured_boot_resources = True

    def put_boot_source(self, cfg):
        self.require_preboot()
        path = cfg["kernel_image_path"]
        try:
            kfd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise ApiError(f"Boot source error: The kernel file cannot be opened: {os_err(e)}")
        ifd = None
        if cfg.get("initrd_path") is not None:
            try:
                ifd = os.open(cfg["initrd_path"], os.O_RDONLY | os.O_CLOEXEC)
            except OSError as e:
                os.close(kfd)
                raise ApiError("Boot source error: The initrd file cannot be opened due to "
                               f"invalid path or invalid permissions. {os_err(e)}")
        args = cfg.get("boot_args")
        if args is not None:
            bad = _cmdline_problem(args)
            if bad:
                os.close(kfd)
                if ifd is not None:
                    os.close(ifd)
                raise ApiError(f"Boot source error: The kernel command line is invalid: {bad}")
        for fd in (self.kernel_fd, self.initrd_fd):
            if fd is not None:
                os.close(fd)
        self.kernel_fd, self.initrd_fd = kfd, ifd
        self.boot = {"kernel_image_path": path, "initrd_path": cfg.get("initrd_path"),
                     "boot_args": args}
        self.configured_boot_resources = True

    def put_drive(self, cfg, from_hotplug=False):
        if self.started and not from_hotplug:
            if not self.enable_pci:
                raise ApiError("PCI is not enabled")
        drive_id = cfg["drive_id"]
        pos = next((i for i, d in enumerate(self.drives) if d["drive_id"] == drive_id), None)
        has_root = any(d["is_root_device"] for d in self.drives)
        root = cfg["is_root_device"]
        if root and has_root and pos != 0:
            raise ApiError("Drive config error: A root block device already exists!")
        if cfg.get("socket") is not None:
            raise ApiError("Drive config error: Unable to create the vhost-user-block device: "
                           "fcemu does not emulate vhost-user-block (the `socket` field)")
        path = cfg.get("path_on_host")
        if path is None:
            raise ApiError("Drive config error: Unable to create the virtio block device: "
                           "Virtio backend error: `path_on_host` is required for virtio-block")
        ro = bool(cfg.get("is_read_only") or False)
        fd = self._open_backing(path, ro)
        try:
            size = os.fstat(fd).st_size
        except OSError:
            size = 0
        if size % 512:
            self.out.logger.log("Warn", "fc_api", f"Disk size {size} is not a multiple of "
                                "sector size 512; the remainder will not be visible to the guest.",
                                module="vmm::devices::virtio::block")
        drive = {"drive_id": drive_id, "partuuid": cfg.get("partuuid"),
                 "is_root_device": root, "cache_type": cfg.get("cache_type", "Unsafe"),
                 "is_read_only": ro, "path_on_host": path,
                 "rate_limiter": cfg.get("rate_limiter"),
                 "io_engine": cfg.get("io_engine") or "Sync", "socket": None, "_fd": fd}
        if pos is not None:
            old = self.drives[pos]
            os.close(old["_fd"])
            self.drives[pos] = drive
            if pos != 0 and root:
                self.drives[0], self.drives[pos] = self.drives[pos], self.drives[0]
        elif root:
            self.drives.insert(0, drive)
        else:
            self.drives.append(drive)
        self.configured_boot_resources = True

    @staticmethod
    def _open_backing(path, ro):
        try:
            return os.open(path, (os.O_RDONLY if ro else os.O_RDWR) | os.O_CLOEXEC)
        except OSError as e:
            raise ApiError("Drive config error: Unable to create the virtio block device: "
                           "Virtio backend error: Error manipulating the backing file: "
                           f"{os_err(e)} {path}")

    def put_net(self, cfg):
        if self.started and not self.enable_pci:
            raise ApiError("PCI is not enabled")
        mac = cfg.get("guest_mac")
        if mac is not None:
            for n in self.nets:
                if n["iface_id"] != cfg["iface_id"] and n["guest_mac"] and \
                        n["guest_mac"].lower() == mac.lower():
                    raise ApiError("Network config error: The MAC address is already in use: "
                                   f"{mac.lower()}")
        # FC swap_removes an updated iface before opening the new tap.
        pos = next((i for i, n in enumerate(self.nets) if n["iface_id"] == cfg["iface_id"]),
                   None)
        if pos is not None:
            old = self.nets[pos]
            self.nets[pos] = self.nets[-1]
            self.nets.pop()
            if old["_fd"] is not None:
                os.close(old["_fd"])
        fd = open_tap(cfg["host_dev_name"])
        self.nets.append({"iface_id": cfg["iface_id"], "host_dev_name": cfg["host_dev_name"],
                          "guest_mac": mac.lower() if mac else None, "mtu": cfg.get("mtu"),
                          "rx_rate_limiter": cfg.get("rx_rate_limiter"),
                          "tx_rate_limiter": cfg.get("tx_rate_limiter"), "_fd": fd})
        self.configured_boot_resources = True

    def put_logger(self, cfg):
        self.require_preboot()
        try:
            self.out.logger.configure(cfg.get("log_path"), cfg.get("level"),
                                      cfg.get("show_level"), cfg.get("show_log_origin"),
                                      cfg.get("module"))
        except OSError as e:
            raise ApiError(f"Logger error: Failed to open target file: {os_err(e)}")

    def init_metrics(self, path):
        if self.metrics_ready:
            raise ApiError("Metrics error: Cannot initialize the metrics system due to bad user "
                           "input: Reinitialization of metrics not allowed.")
        try:
            self.out.metrics.init(path)
        except OSError as e:
            raise ApiError("Metrics error: Cannot initialize the metrics system due to bad user "
                           f"input: {os_err(e)}")
        self.metrics_ready = True

    def put_metrics(self, cfg):
        self.require_preboot()
        self.init_metrics(cfg["metrics_path"])

    def put_serial(self, cfg):
        self.require_preboot()
        if cfg.get("serial_out_path") is not None:
            try:
                self.out.console.redirect(cfg["serial_out_path"])
            except OSError as e:
                raise ApiError(f"Failed to open the serial output file: {os_err(e)}")

    def put_vsock(self, cfg):
        self.require_preboot()
        path = cfg["uds_path"]
        if self.vsock_sock is not None:
            self.vsock_sock.close()
            try:
                os.unlink(self.vsock["uds_path"])
            except OSError:
                pass
            self.vsock_sock = None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(path)
            s.listen(16)
        except OSError as e:
            s.close()
            raise ApiError("Vsock config error: Cannot create backend for vsock device: Error "
                           f"binding to the host-side Unix socket: {os_err(e)}")
        self.vsock_sock = s
        self.vsock = {"guest_cid": cfg["guest_cid"], "uds_path": path}
        self.configured_boot_resources = True

    def put_balloon(self, cfg):
        self.require_preboot()
        if self.machine["huge_pages"] != "None":
            raise ApiError("Balloon config error: Firecracker's huge pages support is "
                           "incompatible with memory ballooning.")
        if cfg["amount_mib"] > self.machine["mem_size_mib"]:
            raise ApiError("Balloon config error: Amount of pages requested is too large.")
        self.balloon = {"amount_mib": cfg["amount_mib"], "deflate_on_oom": cfg["deflate_on_oom"],
                        "stats_polling_interval_s": cfg.get("stats_polling_interval_s", 0),
                        "free_page_hinting": cfg.get("free_page_hinting", False),
                        "free_page_reporting": cfg.get("free_page_reporting", False)}
        self.configured_boot_resources = True

    def put_entropy(self, cfg):
        self.require_preboot()
        self.entropy = {"rate_limiter": cfg.get("rate_limiter")}
        self.configured_boot_resources = True

    def put_mmds_config(self, cfg):
        self.require_preboot()
        ifaces = cfg["network_interfaces"]
        if not ifaces:
            raise ApiError("The list of network interface IDs that allow forwarding MMDS "
                           "requests is empty.")
        known = {n["iface_id"] for n in self.nets}
        if any(i not in known for i in ifaces):
            raise ApiError("The list of network interface IDs provided contains at least one "
                           "ID that does not correspond to any existing network interface.")
        ip = cfg.get("ipv4_address", "169.254.169.254")
        if not ip.startswith("169.254."):
            raise ApiError("The MMDS IPv4 address is not link local.")
        self.mmds_config = {"version": cfg.get("version", "V1"), "network_interfaces": ifaces,
                            "ipv4_address": ip, "imds_compat": cfg.get("imds_compat", False)}

    def put_cpu_config(self, cfg):
        self.require_preboot()
        self.cpu_config = cfg

    def put_pmem(self, cfg):
        if self.started and not self.enable_pci:
            raise ApiError("PCI is not enabled")
        ro = bool(cfg.get("read_only", False))
        try:
            fd = os.open(cfg["path_on_host"], (os.O_RDONLY if ro else os.O_RDWR) | os.O_CLOEXEC)
        except OSError as e:
            raise ApiError(f"Pmem config error: Unable to open the backing file: {os_err(e)}")
        if cfg.get("root_device") and (any(d["is_root_device"] for d in self.drives) or any(
                p["root_device"] and p["id"] != cfg["id"] for p in self.pmem)):
            os.close(fd)
            raise ApiError("Pmem config error: A root device already exists!")
        entry = {"id": cfg["id"], "path_on_host": cfg["path_on_host"],
                 "root_device": bool(cfg.get("root_device", False)), "read_only": ro,
                 "rate_limiter": cfg.get("rate_limiter"), "_fd": fd}
        for i, p in enumerate(self.pmem):
            if p["id"] == cfg["id"]:
                os.close(p["_fd"])
                self.pmem[i] = entry
                break
        else:
            self.pmem.append(entry)
        self.configured_boot_resources = True

    def put_hotplug_memory(self, cfg):
        self.require_preboot()
        self.hotplug = {"total_size_mib": cfg.get("total_size_mib"),
                        "slot_size_mib": cfg.get("slot_size_mib", 128),
                        "block_size_mib": cfg.get("block_size_mib", 2)}

    # -- post-boot updates ---------------------------------------------------

    def patch_drive(self, cfg):
        self.require_postboot()
        drive = next((d for d in self.drives if d["drive_id"] == cfg["drive_id"]), None)
        if drive is None:
            raise ApiError("Drive config error: Unable to patch the block device: Device "
                           f"not found: {cfg['drive_id']} Please verify the request arguments.")
        if cfg.get("path_on_host") is not None:
            fd = self._open_backing(cfg["path_on_host"], drive["is_read_only"])
            os.close(drive["_fd"])
            drive["_fd"] = fd
            drive["path_on_host"] = cfg["path_on_host"]
        if cfg.get("rate_limiter") is not None:
            drive["rate_limiter"] = cfg["rate_limiter"]

    def patch_net(self, cfg):
        self.require_postboot()
        net = next((n for n in self.nets if n["iface_id"] == cfg["iface_id"]), None)
        if net is None:
            raise ApiError("Network config error: Invalid interface ID - not found.")
        for k in ("rx_rate_limiter", "tx_rate_limiter"):
            if cfg.get(k) is not None:
                merged = dict(net[k] or {})
                merged.update(cfg[k])
                net[k] = merged

    def patch_vm(self, cfg):
        self.require_postboot()
        self.state = "Paused" if cfg["state"] == "Paused" else "Running"

    @property
    def paused(self):
        return self.state == "Paused"

    def patch_balloon(self, cfg):
        self.require_postboot()
        if self.balloon is None:
            raise ApiError("Balloon config error: No balloon device found.")
        self.balloon.update(cfg)

    def get_balloon(self):
        if self.balloon is None:
            raise ApiError("Balloon config error: No balloon device found.")
        return self.balloon

    def create_snapshot(self, cfg):
        """A Full snapshot as real files: the vmstate (what a load needs to
        rebuild this VM, with a checksum) and a memory file of mem_size_mib
        MiB (sparse but for a header naming the vmstate it belongs to)."""
        self.require_postboot()
        if self.state != "Paused":
            raise ApiError("Create snapshot error: Cannot save the microVM state: The microVM "
                           "must be paused before creating a snapshot.")
        if cfg.get("snapshot_type", "Full") == "Diff" and not self.machine["track_dirty_pages"]:
            raise ApiError("Create snapshot error: Diff snapshots are not allowed on uVMs with "
                           "dirty page tracking disabled.")
        state = snapshot_state(self)
        text = json.dumps(state, sort_keys=True)
        body = {"fcemu_vmstate": 1, "state": state,
                "sha256": hashlib.sha256(text.encode()).hexdigest()}
        try:
            with open(cfg["snapshot_path"], "w", encoding="utf-8") as f:
                json.dump(body, f, sort_keys=True)
            with open(cfg["mem_file_path"], "wb") as f:
                f.write(memory_header(body["sha256"]))
                f.truncate(self.machine["mem_size_mib"] << 20)
        except OSError as e:
            raise ApiError(f"Create snapshot error: {os_err(e)}")

    def load_snapshot(self, cfg):
        """PUT /snapshot/load on a fresh process: rebuilds the VM from the
        files create_snapshot wrote, opening its disks and taps as PUTs
        would. Raises ApiError (the caller then ends the process, as FC
        does after a failed load)."""
        prefix = "Load snapshot error: Cannot build a microVM from snapshot: "
        if ("mem_backend" in cfg) == ("mem_file_path" in cfg):
            raise ApiError("Load snapshot error: exactly one of mem_backend and mem_file_path "
                           "must be given")
        backend = cfg.get("mem_backend") or {"backend_type": "File",
                                             "backend_path": cfg["mem_file_path"]}
        if backend["backend_type"] != "File":
            raise ApiError("Load snapshot error: fcemu does not emulate the Uffd memory backend")
        try:
            with open(cfg["snapshot_path"], encoding="utf-8") as f:
                body = json.load(f)
            state = body["state"]
            ok = body.get("fcemu_vmstate") == 1 and body["sha256"] == hashlib.sha256(
                json.dumps(state, sort_keys=True).encode()).hexdigest()
        except OSError as e:
            raise ApiError(prefix + f"Failed to open the snapshot file: {os_err(e)}")
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise ApiError(prefix + "Failed to load the microVM state: the snapshot file is "
                           "not one fcemu wrote, or it is corrupt (CRC mismatch)")
        try:
            size = os.stat(backend["backend_path"]).st_size
            with open(backend["backend_path"], "rb") as f:
                head = f.read(len(memory_header(body["sha256"])))
        except OSError as e:
            raise ApiError(prefix + f"Failed to load guest memory: {os_err(e)}")
        if size != state["machine"]["mem_size_mib"] << 20 or head != memory_header(body["sha256"]):
            raise ApiError(prefix + "Failed to load guest memory: the memory file does not "
                           f"match the snapshot ({size} bytes, "
                           f"{state['machine']['mem_size_mib'] << 20} expected)")
        overrides = {o["iface_id"]: o["host_dev_name"] for o in cfg.get("network_overrides", [])}
        for iface in overrides:
            if not any(n["iface_id"] == iface for n in state["nets"]):
                raise ApiError(prefix + f"Invalid network override: no interface {iface}")
        self.machine = dict(state["machine"])
        self.boot = state["boot"]
        try:  # disks and taps must be there as at snapshot time
            for d in state["drives"]:
                d = dict(d, _fd=self._open_backing(d["path_on_host"], d["is_read_only"]))
                self.drives.append(d)
            for n in state["nets"]:
                n = dict(n, host_dev_name=overrides.get(n["iface_id"], n["host_dev_name"]))
                n["_fd"] = open_tap(n["host_dev_name"])
                self.nets.append(n)
        except ApiError as ex:
            raise ApiError(prefix + str(ex)) from None
        self.cmdline = state["cmdline"]
        self.state = "Running" if cfg.get("resume_vm") else "Paused"
        self.guest = "running"

    # -- boot ----------------------------------------------------------------

    def build_cmdline(self):
        """Kernel command line as FC finalizes it at InstanceStart (x86_64)."""
        args = self.boot["boot_args"]
        base = DEFAULT_CMDLINE if args is None else args
        init_args = ""
        if " -- " in base:
            base, init_args = base.split(" -- ", 1)
            init_args = " -- " + init_args
        extra = []
        if not self.enable_pci:
            extra.append("pci=off")
        root = self.drives[0] if self.drives and self.drives[0]["is_root_device"] else None
        if root:
            extra.append(f"root=PARTUUID={root['partuuid']}" if root["partuuid"]
                         else "root=/dev/vda")
            extra.append("ro" if root["is_read_only"] else "rw")
        if not self.enable_pci:
            n_dev = (1 if self.balloon else 0) + len(self.drives) + len(self.nets) + \
                len(self.pmem) + (1 if self.vsock else 0) + (1 if self.entropy else 0) + \
                (1 if self.hotplug else 0)
            for i in range(n_dev):
                extra.append(f"virtio_mmio.device=4K@0x{MMIO_BASE + i * 0x1000:08x}:"
                             f"{MMIO_GSI + i}")
        parts = [p for p in [base.strip()] + extra if p]
        return " ".join(parts) + init_args

    def check_startable(self):
        """InstanceStart's checks; returns the cmdline or raises ApiError."""
        self.require_preboot()
        if self.boot is None:
            raise ApiError("Start microvm error: Cannot start microvm without kernel "
                           "configuration.")
        magic = os.pread(self.kernel_fd, 4, 0)
        if magic != ELF_MAGIC:
            raise ApiError("Start microvm error: Cannot load kernel due to invalid memory "
                           "configuration or invalid kernel image: Kernel Loader: failed to "
                           "load ELF kernel image")
        cmdline = self.build_cmdline()
        if len(cmdline.encode()) + 1 > CMDLINE_MAX:
            raise ApiError("Start microvm error: Invalid kernel command line: Command line "
                           "overflowed")
        return cmdline

    def console_enabled(self, cmdline):
        return "console=ttyS0" in cmdline.split() and "8250.nr_uarts=0" not in cmdline.split()

    def boot_lines(self, cmdline):
        m = self.machine
        lines = [
            "[    0.000000] Linux version 6.1.0-fcemu (fcemu@banger) (gcc (Debian 12.2.0-14) "
            "12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC",
            f"[    0.000000] Command line: {cmdline}",
            "[    0.000000] DMI not present or invalid.",
            "[    0.000000] Hypervisor detected: KVM",
            f"[    0.004000] Memory: {m['mem_size_mib'] * 1024}K available",
            f"[    0.010000] smpboot: Allowing {m['vcpu_count']} CPUs, 0 hotplug CPUs",
            "[    0.020000] Serial: 8250/16550 driver, 1 ports, IRQ sharing disabled",
            "[    0.020100] serial8250: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) "
            "is a U6_16550A",
        ]
        t = 0.1
        for i, d in enumerate(self.drives):
            lines.append(f"[    {t:.6f}] virtio_blk virtio{i}: [vd{chr(97 + i)}] "
                         f"{'read-only ' if d['is_read_only'] else ''}disk")
            t += 0.001
        for i, _ in enumerate(self.nets):
            lines.append(f"[    {t:.6f}] virtio_net: eth{i} registered")
            t += 0.001
        lines += [
            "[    0.300000] EXT4-fs (vda): mounted filesystem with ordered data mode."
            if self.drives and self.drives[0]["is_root_device"] else
            "[    0.300000] Unpacking initramfs...",
            "[    0.310000] Run /sbin/init as init process",
            "",
            "Debian GNU/Linux 12 fcemu ttyS0",
            "",
            f"{self.id} login: ",
        ]
        return lines

    def mark_started(self, cmdline):
        self.state = "Running"
        self.guest = "running"
        self.cmdline = cmdline


def snapshot_state(vmm):
    """What a load needs to rebuild vmm: its configuration, no open files."""
    def public(d):
        return {k: v for k, v in d.items() if not k.startswith("_")}
    return {"id": vmm.id, "machine": dict(vmm.machine), "boot": vmm.boot,
            "cmdline": vmm.cmdline, "drives": [public(d) for d in vmm.drives],
            "nets": [public(n) for n in vmm.nets]}


def memory_header(sha):
    return f"fcemu guest memory for vmstate {sha}\n".encode()


def _cmdline_problem(args):
    if len(args.encode()) + 1 > CMDLINE_MAX:
        return "Command line overflowed"
    if any(not (0x20 <= ord(c) < 0x7F) for c in args):
        return "String contains an invalid character"
    return None


def open_tap(name):
    """Open tap `name` the way FC does; returns an fd (or None) or raises ApiError.

    A name that is not a network device yet is refused with EPERM, which is
    what an unprivileged (jailed) Firecracker gets: banger must create taps.
    When /dev/net/tun is usable, TUNSETIFF is really issued (single queue,
    IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) and the fd is held, so a busy or
    multi-queue tap or a non-tap device fails like it does under FC.
    """
    prefix = "Network config error: Could not create the network device: Open tap device failed: "
    if len(name.encode()) >= 16:
        raise ApiError(prefix + "Invalid interface name")

    def ifreq_err(errno_):
        return ApiError(prefix + "Error while creating ifreq structure: "
                        f"{os.strerror(errno_)} (os error {errno_}). Invalid TUN/TAP Backend "
                        f"provided by {name}. Check our documentation on setting up the network "
                        "devices.")

    if "/" in name or name in (".", "..") or not os.path.exists(f"/sys/class/net/{name}"):
        raise ifreq_err(1)
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        fd = None
    if fd is None:
        flags_path = f"/sys/class/net/{name}/tun_flags"
        try:
            with open(flags_path, encoding="ascii") as f:
                flags = int(f.read().strip(), 16)
        except OSError:
            raise ifreq_err(22) from None
        if not flags & IFF_TAP or flags & IFF_MULTI_QUEUE:
            raise ifreq_err(22)
        return None
    req = struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
    try:
        fcntl.ioctl(fd, TUNSETIFF, req)
    except OSError as e:
        os.close(fd)
        raise ifreq_err(e.errno) from None
    if os.environ.get("FCEMU_RELEASE_TAP") == "1":
        # Tests that put a stand-in guest behind the tap attach to it
        # themselves: check like FC, then let go of the device.
        os.close(fd)
        return None
    return fd
