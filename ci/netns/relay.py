#!/usr/bin/env python3
"""relay.py: the impaired wires of ci/netns when the kernel has no netem.

Run inside the bridge namespace (`ip netns exec NS python3 relay.py WIRE...`), where each
WIRE is `NAME=IF_BOT,IF_SWITCH`: two veth ends of that namespace, the one whose peer is the
bot's interface and the one whose peer is a port of the kernel bridge. Every Ethernet frame
read on one is written on the other after the wire's impairment for that direction: a delay
(plus a jitter drawn uniformly in +-jitter, frames never reordered: each leaves at the
earliest at the one before it), a loss probability, or dropped altogether while the wire is
"down". `up` is the bot's sending direction (IF_BOT -> IF_SWITCH), `down` the other.

Control, one line at a time on standard input, one answer line on standard output each:
    set NAME up|down|both DELAY_MS JITTER_MS LOSS_PCT     -> ok
    cut NAME | heal NAME                                  -> ok   (drop everything / stop)
    stats                                                 -> stats NAME:fwd_up/drop_up/fwd_down/drop_down ...
    ready                                                 -> ok   (the sockets are bound)
The relay exits when its standard input closes, so it never outlives the driver that feeds
it. Standard library only; the frames must be whole (the driver turns the bots' checksum
and segmentation offloads off, so that no frame is larger than the MTU or lacks its
checksum).
"""
import heapq
import os
import random
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class Direction:
    def __init__(self):
        self.delay = 0.0
        self.jitter = 0.0
        self.loss = 0.0
        self.cut = False
        self.last = 0.0            # when the last frame queued leaves: no reordering
        self.fwd = 0
        self.drop = 0


class Wire:
    def __init__(self, name, if_bot, if_sw):
        self.name = name
        self.socks = {}
        self.up, self.down = Direction(), Direction()
        for ifname in (if_bot, if_sw):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            s.bind((ifname, 0))
            s.setblocking(False)
            self.socks[ifname] = s
        self.bot, self.sw = self.socks[if_bot], self.socks[if_sw]


def main():
    wires = {}
    by_fd = {}
    for arg in sys.argv[1:]:
        name, _, ifs = arg.partition("=")
        if_bot, if_sw = ifs.split(",")
        w = Wire(name, if_bot, if_sw)
        wires[name] = w
        by_fd[w.bot.fileno()] = (w, w.up, w.sw)
        by_fd[w.sw.fileno()] = (w, w.down, w.bot)
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))
    queue = []                     # (when, order, out socket, frame, direction)
    order = 0
    stdin = sys.stdin.buffer.raw
    pending = b""
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    poller.register(stdin.fileno(), select.POLLIN)

    def answer(text):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def control(line):
        words = line.split()
        if not words:
            return
        try:
            if words[0] == "ready":
                answer("ok")
            elif words[0] == "set":
                w = wires[words[1]]
                dirs = {"up": [w.up], "down": [w.down], "both": [w.up, w.down]}[words[2]]
                for d in dirs:
                    d.delay = float(words[3]) / 1000.0
                    d.jitter = float(words[4]) / 1000.0
                    d.loss = float(words[5]) / 100.0
                answer("ok")
            elif words[0] in ("cut", "heal"):
                w = wires[words[1]]
                w.up.cut = w.down.cut = words[0] == "cut"
                answer("ok")
            elif words[0] == "stats":
                answer("stats " + " ".join(
                    f"{n}:{w.up.fwd}/{w.up.drop}/{w.down.fwd}/{w.down.drop}"
                    for n, w in sorted(wires.items())))
            else:
                answer(f"error unknown request {words[0]}")
        except (KeyError, IndexError, ValueError) as e:
            answer(f"error {e!r}")

    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame, d = heapq.heappop(queue)
            try:
                out.send(frame)
                d.fwd += 1
            except OSError:        # the interface went away or is down: the frame is lost
                d.drop += 1
        timeout = -1 if not queue else max(0, int((queue[0][0] - now) * 1000.0 + 0.999))
        for fd, _ in poller.poll(timeout):
            if fd == stdin.fileno():
                chunk = os.read(fd, 4096)
                if not chunk:
                    return 0
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    control(line.decode())
                continue
            w, d, out = by_fd[fd]
            sock = w.bot if d is w.up else w.sw
            for _ in range(256):   # drain what is there, then look at the others again
                try:
                    frame, addr = sock.recvfrom(65536)
                except BlockingIOError:
                    break
                except OSError:    # ENETDOWN once after the interface went down
                    break
                if addr[2] == PACKET_OUTGOING:     # what we wrote on this interface
                    continue
                if d.cut or (d.loss and rng.random() < d.loss):
                    d.drop += 1
                    continue
                now = time.monotonic()
                when = now + d.delay
                if d.jitter:
                    when += rng.uniform(-d.jitter, d.jitter)
                when = max(when, d.last, now)
                d.last = when
                order += 1
                heapq.heappush(queue, (when, order, out, frame, d))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
