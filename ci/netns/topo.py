"""topo.py: the network of ci/netns/run: network namespaces, veth links, bridges, impairment.

One namespace per host (a bot, or the conformance tester), each with one veth interface and
its own address on a private /16; every host's link ends in the bridge namespace, where two
kernel bridges (A and B) are joined by a trunk veth pair. A partition is the trunk set down:
the hosts of A and those of B stop hearing each other, and each side still hears itself.

Names: every namespace and interface starts with the run's prefix (`ibt<pid>-`); the host
namespace and its interface are PREFIX + host name (`ibt4242-b07`), its peer in the bridge
namespace PREFIX + `p` + index. Nothing is ever created in the namespace the driver runs in
(veths are made directly in their namespaces), and no namespace has a route off its /16: the
traffic of the test never leaves the namespaces it made.

Impairment of a link (delay, jitter, loss; per direction) takes one of two forms:
- `netem`: `tc qdisc replace ... root netem delay D J loss L%` on the veth end that sends in
  that direction (the host's for `up`, the bridge's for `down`);
- `relay`: when the kernel has no netem (no sch_netem, as on the machine this was written
  on), each link passes through ci/netns/relay.py in the bridge namespace: the host's veth
  peer and a second veth pair whose other end is the bridge port, a userspace wire that
  applies the same delay, jitter and loss.
A link set down (`ip link set ... down` on its bridge end) and the partition are the
kernel's in both forms.
"""
import ctypes
import ipaddress
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class NetError(Exception):
    pass


def run(cmd, check=True, quiet=False):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise NetError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def pick_subnet(candidates=("10.231.0.0/16", "10.232.0.0/16", "10.233.0.0/16",
                            "10.234.0.0/16")):
    """The first candidate /16 that no address or route of this namespace overlaps."""
    used = []
    out = run(["ip", "-o", "-4", "addr", "show"]).stdout
    for line in out.splitlines():
        for w in line.split():
            if "/" in w and w[0].isdigit():
                used.append(ipaddress.ip_network(w, strict=False))
    out = run(["ip", "-4", "route", "show", "table", "all"]).stdout
    for line in out.splitlines():
        w = line.split()[0] if line.split() else ""
        if w and w[0].isdigit():
            try:
                used.append(ipaddress.ip_network(w if "/" in w else w + "/32", strict=False))
            except ValueError:
                pass
    for c in candidates:
        net = ipaddress.ip_network(c)
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise NetError("every candidate subnet is in use here: " + ", ".join(candidates))


class Host:
    def __init__(self, net, name, index, group):
        self.name = name
        self.index = index
        self.group = group
        self.ns = net.prefix + name
        self.ifname = net.prefix + name            # the host's veth end, in its namespace
        self.peer = f"{net.prefix}p{index:02d}"    # its other end, in the bridge namespace
        self.relay_if = f"{net.prefix}r{index:02d}"  # relay form: relay's end of pair two
        self.port = f"{net.prefix}q{index:02d}"    # relay form: the bridge port
        self.addr = str(net.subnet.network_address + index)


class Net:
    """Builds and tears down the topology; every command it runs is logged to `log`."""

    def __init__(self, prefix, subnet, backend="auto", log=None):
        self.prefix = prefix
        self.subnet = subnet
        self.backend = backend
        self.log = log or (lambda s: None)
        self.brns = prefix + "br"
        self.namespaces = []        # made by us, in order
        self.hosts = {}
        self.relay = None
        self.ns_inodes = set()
        self.impair_state = {}

    # -- commands -------------------------------------------------------------------------
    def sh(self, *cmd, ns=None, check=True):
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        self.log("$ " + " ".join(full))
        return run(full, check=check)

    def add_ns(self, name):
        self.sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        try:
            self.ns_inodes.add(os.stat(f"/run/netns/{name}").st_ino)
        except OSError:
            pass
        self.sh("ip", "-n", name, "link", "set", "lo", "up")
        # No IPv6 at all: no router solicitations or DAD on the links, only the test's frames.
        for key in ("all", "default"):
            self.sh("sh", "-c", f"echo 1 > /proc/sys/net/ipv6/conf/{key}/disable_ipv6",
                    ns=name, check=False)

    def veth(self, a, ns_a, b, ns_b):
        self.sh("ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b,
                "netns", ns_b)

    def no_offloads(self, ifname, ns):
        # Whole frames with their checksums, so that the relay can pass them on unchanged.
        self.sh("ethtool", "-K", ifname, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
                "gro", "off", ns=ns, check=False)

    # -- the topology ---------------------------------------------------------------------
    def netem_available(self):
        """Whether this kernel has netem: a qdisc tried on the trunk, then removed."""
        p = self.sh("tc", "qdisc", "add", "dev", self.prefix + "xA", "root", "netem",
                    "delay", "1ms", ns=self.brns, check=False)
        if p.returncode != 0:
            return False, p.stderr.strip()
        self.sh("tc", "qdisc", "del", "dev", self.prefix + "xA", "root", ns=self.brns,
                check=False)
        return True, ""

    def build(self, hosts):
        """hosts: [(name, index, group)] with group "A" or "B"."""
        if self.brns not in self.namespaces:
            self.add_ns(self.brns)
        for g in ("A", "B"):
            self.sh("ip", "-n", self.brns, "link", "add", self.prefix + "br" + g, "type",
                    "bridge", "stp_state", "0", "forward_delay", "0")
            self.sh("ip", "-n", self.brns, "link", "set", self.prefix + "br" + g, "up")
        self.veth(self.prefix + "xA", self.brns, self.prefix + "xB", self.brns)
        for g in ("A", "B"):
            self.sh("ip", "-n", self.brns, "link", "set", self.prefix + "x" + g, "master",
                    self.prefix + "br" + g)
            self.sh("ip", "-n", self.brns, "link", "set", self.prefix + "x" + g, "up")
        have_netem, why = self.netem_available()
        if self.backend == "auto":
            self.backend = "netem" if have_netem else "relay"
            self.backend_why = ("the kernel has netem" if have_netem else
                                f"no netem in this kernel ({why}): userspace relay")
        elif self.backend == "netem" and not have_netem:
            raise NetError(f"--backend netem, but this kernel has no netem: {why}")
        else:
            self.backend_why = f"--backend {self.backend}"
        for name, index, group in hosts:
            h = Host(self, name, index, group)
            self.hosts[name] = h
            self.add_ns(h.ns)
            self.veth(h.ifname, h.ns, h.peer, self.brns)
            self.sh("ip", "-n", h.ns, "addr", "add", f"{h.addr}/{self.subnet.prefixlen}",
                    "dev", h.ifname)
            bridge = self.prefix + "br" + group
            if self.backend == "netem":
                self.sh("ip", "-n", self.brns, "link", "set", h.peer, "master", bridge)
            else:
                self.veth(h.relay_if, self.brns, h.port, self.brns)
                self.sh("ip", "-n", self.brns, "link", "set", h.port, "master", bridge)
                for i in (h.peer, h.relay_if, h.port):
                    self.no_offloads(i, self.brns)
                    self.sh("ip", "-n", self.brns, "link", "set", i, "up")
                self.no_offloads(h.ifname, h.ns)
            self.sh("ip", "-n", self.brns, "link", "set", h.peer, "up")
            self.sh("ip", "-n", h.ns, "link", "set", h.ifname, "up")
        if self.backend == "relay":
            self.start_relay()

    def start_relay(self):
        wires = [f"{h.name}={h.peer},{h.relay_if}" for h in self.hosts.values()]
        cmd = ["ip", "netns", "exec", self.brns, sys.executable, os.path.join(HERE, "relay.py")]
        self.log("$ " + " ".join(cmd + wires))
        self.relay = subprocess.Popen(cmd + wires, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1, preexec_fn=die_with_parent)
        self.relay_ask("ready")

    def relay_ask(self, line):
        self.relay.stdin.write(line + "\n")
        self.relay.stdin.flush()
        answer = self.relay.stdout.readline().strip()
        if not answer.startswith(("ok", "stats")):
            raise NetError(f"relay: {line}: {answer or 'no answer (exited?)'}")
        return answer

    # -- impairments ----------------------------------------------------------------------
    def impair(self, name, delay_ms=0, jitter_ms=0, loss_pct=0, direction="up"):
        """Delay, jitter and loss on a host's link, in direction up (what the host sends),
        down (what it receives) or both. All zero: no impairment."""
        h = self.hosts[name]
        dirs = ["up", "down"] if direction == "both" else [direction]
        for d in dirs:
            self.impair_state[(name, d)] = (delay_ms, jitter_ms, loss_pct)
            if self.backend == "relay":
                self.relay_ask(f"set {name} {d} {delay_ms} {jitter_ms} {loss_pct}")
                continue
            dev, ns = (h.ifname, h.ns) if d == "up" else (h.peer, self.brns)
            if not (delay_ms or jitter_ms or loss_pct):
                self.sh("tc", "qdisc", "del", "dev", dev, "root", ns=ns, check=False)
                continue
            args = ["delay", f"{delay_ms}ms"] + ([f"{jitter_ms}ms"] if jitter_ms else [])
            if loss_pct:
                args += ["loss", f"{loss_pct}%"]
            # a limit well above what a link holds in flight at these delays
            self.sh("tc", "qdisc", "replace", "dev", dev, "root", "netem", *args,
                    "limit", "10000", ns=ns)

    def link(self, name, up):
        """A host's link down (nothing passes either way) or up again: its bridge end."""
        h = self.hosts[name]
        self.sh("ip", "-n", self.brns, "link", "set", h.peer, "up" if up else "down")

    def partition(self, cut):
        """The trunk between bridges A and B down (two parts) or up (healed)."""
        self.sh("ip", "-n", self.brns, "link", "set", self.prefix + "xA",
                "down" if cut else "up")

    def relay_stats(self):
        return self.relay_ask("stats") if self.relay else ""

    def netns_pids(self, ns):
        p = run(["ip", "netns", "pids", ns], check=False)
        return [int(x) for x in p.stdout.split() if x.isdigit()]

    # -- teardown -------------------------------------------------------------------------
    def teardown(self):
        """Every process in our namespaces killed, every namespace deleted (their veths and
        bridges go with them). Returns the errors, never raises."""
        errors = []
        if self.relay and self.relay.poll() is None:
            try:
                self.relay.stdin.close()        # EOF: the relay exits
                self.relay.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired):
                self.relay.kill()
                self.relay.wait()
        for ns in reversed(self.namespaces):
            for pid in self.netns_pids(ns):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5
        for ns in reversed(self.namespaces):
            while self.netns_pids(ns) and time.monotonic() < deadline:
                time.sleep(0.02)   # a killed process takes a moment to leave its namespace
            p = run(["ip", "netns", "del", ns], check=False)
            if p.returncode != 0 and "No such file" not in p.stderr:
                errors.append(f"ip netns del {ns}: {p.stderr.strip()}")
        return errors

    def leftovers(self, extra_marks=()):
        """What of this run is still there: namespaces, interfaces and processes."""
        left = []
        out = run(["ip", "netns", "list"], check=False).stdout
        left += [f"netns {l.split()[0]}" for l in out.splitlines()
                 if l.startswith(self.prefix)]
        out = run(["ip", "-o", "link", "show"], check=False).stdout
        for line in out.splitlines():
            parts = line.split(":")
            if len(parts) > 1 and parts[1].strip().split("@")[0].startswith(self.prefix):
                left.append(f"link {parts[1].strip()}")
        marks = (self.prefix,) + tuple(extra_marks)
        me = os.getpid()
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == me:
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
                ns_ino = os.stat(f"/proc/{pid}/ns/net").st_ino
            except OSError:
                continue
            if ns_ino in self.ns_inodes or any(m in cmd for m in marks):
                left.append(f"process {pid}: {cmd.strip()[:120]}")
        return left


def die_with_parent():
    """In a child, before exec: SIGKILL when the driver dies, however it dies."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)       # PR_SET_PDEATHSIG


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None
