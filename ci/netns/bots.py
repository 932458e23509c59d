"""bots.py: the `interbot run` processes of ci/netns/run, their logs, and `interbot ctl`.

Each bot is one `interbot run DIR --log-level debug` in its own network namespace (started
with `ip netns exec`, which execs the program: the process is the node itself, and signals
reach it). A reader thread takes the lines of every bot's standard error as they come and
stamps each with the monotonic time it arrived: the scenarios time events by these stamps
(a link made, a command run) and never by the nodes' own clocks. `interbot ctl` talks to a
node over DIR/control.sock, a Unix socket in the node directory: it works from any network
namespace, so it runs here, in the driver's.
"""
import json
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time

from topo import die_with_parent

PORT = 7415

# Settings of every bot's node.conf (spec section 18 gives the ranges): short timers, so that
# a lost link is seen in seconds and a root retries its parents often.
SETTINGS = {
    "keepalive_interval_ms": 1000,     # PING every second; a child waits 3 s of silence
    "keepalive_timeout_ms": 5000,      # PONG within 5 s, or the link is lost (at 5 % loss
                                       # and 200 ms round trips, 2 s cut sound links: a
                                       # segment lost twice waits out two TCP timeouts)
    "reconnect_min_ms": 200,           # first wait between two rounds over `parents`
    "reconnect_max_ms": 2000,          # the backoff's cap
    # An election collects offers this long: at 100 ms a hop, the farthest holder of a
    # 15-bot tree of depth 3 (6 hops) answers in 1.2 s, more after a lost segment.
    "election_window_ms": 3000,
}
# Scenario 5's fetcher waits longer, for its TRANSFER too ([ELECT-6]): SELECT and TRANSFER
# cross 12 hops at 5 % loss, and a segment lost twice on a young connection waits 1 + 2 s of
# TCP retransmission timeouts. At 3 s, the second of two runs gave b15 up and elected
# version 1; at 10 s, 6 runs of 6 elected b15. The others keep 3 s (the suite's ELECT tests
# run on b05).
FETCHER = "b08"
FETCHER_SETTINGS = {"election_window_ms": 10000}


class LogHub:
    """One thread reading every bot's stderr; lines stamped on arrival."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.cond = threading.Condition()
        self.stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def add(self, bot, fd):
        with self.cond:
            self.sel.register(fd, selectors.EVENT_READ, (bot, [b""]))

    def _loop(self):
        while not self.stop:
            with self.cond:
                registered = bool(self.sel.get_map())
            if not registered:
                time.sleep(0.02)
                continue
            for key, _ in self.sel.select(timeout=0.1):
                bot, partial = key.data
                try:
                    chunk = os.read(key.fd, 65536)
                except OSError:
                    chunk = b""
                now = time.monotonic()
                with self.cond:
                    if not chunk:
                        self.sel.unregister(key.fd)
                        os.close(key.fd)
                        if partial[0]:
                            bot.add_line(now, partial[0].decode("utf-8", "replace"))
                        self.cond.notify_all()
                        continue
                    partial[0] += chunk
                    *done, partial[0] = partial[0].split(b"\n")
                    for line in done:
                        bot.add_line(now, line.decode("utf-8", "replace"))
                    self.cond.notify_all()

    def wait(self, pred, deadline):
        """Waits until pred() (called under the lock) is true or deadline passes."""
        with self.cond:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    return v
                self.cond.wait(min(left, 0.2))

    def close(self):
        self.stop = True
        self.thread.join(timeout=2)


class Bot:
    def __init__(self, tb, name, host, parents, group):
        self.tb = tb
        self.name = name
        self.host = host               # topo.Host: namespace and address
        self.parents = parents         # names, in order of preference
        self.group = group
        self.dir = os.path.join(tb.workdir, name)
        self.addr = f"{host.addr}:{PORT}"
        self.proc = None
        self.lines = []                # (monotonic time, text) of every run of this bot
        self.log = open(os.path.join(tb.workdir, name + ".log"), "a", encoding="utf-8")
        self.id = None

    def add_line(self, t, text):
        self.lines.append((t, text))
        self.log.write(f"{t - self.tb.t_origin:10.3f} {text}\n")
        self.log.flush()

    def init(self, extra_commands=False):
        cmd = [self.tb.interbot, "init", self.dir, "--name", self.name, "--listen", self.addr]
        for p in self.parents:
            cmd += ["--parent", self.tb.bots[p].addr]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        conf = os.path.join(self.dir, "node.conf")
        with open(conf, encoding="utf-8") as f:
            lines = f.read().splitlines()
        settings = dict(SETTINGS)
        if self.name == FETCHER:
            settings.update(FETCHER_SETTINGS)
        if extra_commands:
            settings["commands"] = "ib.ping,ib.info,ib.get,ib.fetch,ib.publish"
        out = []
        for line in lines:
            key = line.split("=")[0].strip()
            out.append(f"{key} = {settings[key]}" if key in settings else line)
        with open(conf, "w", encoding="utf-8") as f:
            f.write("\n".join(out) + "\n")
        self.id = subprocess.run([self.tb.interbot, "id", self.dir], check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.strip()

    def start(self):
        cmd = ["ip", "netns", "exec", self.host.ns, self.tb.interbot, "run", self.dir,
               "--log-level", "debug"]
        with self.tb.hub.cond:
            self.add_line(time.monotonic(), "=== ci/netns: started")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        fd = os.dup(self.proc.stderr.fileno())
        self.proc.stderr.close()
        self.tb.hub.add(self, fd)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout=5.0):
        """SIGTERM, as an owner stops a node; returns its exit status."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed after SIGTERM timeout"

    def mark(self):
        with self.tb.hub.cond:
            return len(self.lines)

    def find(self, needle, since=0):
        """The first (time, line) after index since that holds needle (lock held)."""
        for t, line in self.lines[since:]:
            if needle in line:
                return t, line
        return None

    def key_file(self, other):
        return os.path.join(self.dir, "authorized", other.name + ".pub")


class Ctl:
    def __init__(self, interbot, timeout_scale=1.0):
        self.interbot = interbot
        self.scale = timeout_scale

    def cmdline(self, bot, *args, timeout_ms=None):
        cmd = [self.interbot, "ctl", bot.dir, "--json"]
        if timeout_ms is not None:
            cmd += ["--timeout", str(int(timeout_ms))]
        return cmd + [str(a) for a in args]

    def one(self, bot, *args, timeout_ms=None):
        """One request; its JSON answer, or {"ok": False, "error": ...}."""
        p = subprocess.run(self.cmdline(bot, *args, timeout_ms=timeout_ms),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=180)
        return parse(p)

    def many(self, bots, *args):
        """The same request to many bots at once: {name: answer}."""
        procs = {}
        out = {}
        try:
            for b in bots:
                procs[b.name] = subprocess.Popen(self.cmdline(b, *args), stdout=subprocess.PIPE,
                                                 stderr=subprocess.PIPE, text=True)
            for name, p in procs.items():
                stdout, stderr = p.communicate(timeout=60)
                p.stdout_text, p.stderr_text = stdout, stderr
                out[name] = parse(p)
        finally:
            for p in procs.values():        # interrupted: none outlives the request
                if p.poll() is None:
                    p.kill()
                    p.wait()
        return out


def parse(p):
    text = getattr(p, "stdout_text", None)
    if text is None:
        text = p.stdout
    err = getattr(p, "stderr_text", None)
    if err is None:
        err = p.stderr
    try:
        answer = json.loads(text)
    except ValueError:
        return {"ok": False, "error": (err or text or f"exit {p.returncode}").strip()}
    if not isinstance(answer, dict):
        return {"ok": False, "error": f"not an object: {text!r}"}
    return answer


def copy_key(src_bot, dst_bot):
    shutil.copy(os.path.join(src_bot.dir, "identity.pub"), dst_bot.key_file(src_bot))
