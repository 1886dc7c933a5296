#!/usr/bin/python3
"""milter-rcpt-latency.py - RCPT round-trip latency of a running milter.

    /usr/bin/python3 tests/milter-rcpt-latency.py HOST PORT COUNT

Speaks the MTA side of the milter protocol (version 6) over one
connection: option negotiation, MAIL, then COUNT RCPT commands, half of
them to addresses user<N>@example.net (suppressed in the bench's list),
half to addresses that are not.  Each RCPT is preceded by its macros, as
Postfix sends them.  Prints p50, p99 and max of the RCPT round trip in
microseconds: an upper bound for the callback itself, since it includes
the loopback socket.  Standard library only.
"""
import random
import socket
import struct
import sys
import time


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def send(sock, cmd, data=b"", then=None):
    out = packet(cmd, data)
    if then is not None:
        out += packet(*then)
    sock.sendall(out)


def recv(sock):
    def exactly(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("milter closed the connection")
            buf += chunk
        return buf
    (length,) = struct.unpack("!I", exactly(4))
    body = exactly(length)
    return body[:1], body[1:]


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sock = socket.create_connection((host, port))
    # Postfix writes the macros and the command in one go; so do we, and
    # without Nagle's delay.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Version 6, every action Postfix offers (0x1ff), every protocol bit.
    send(sock, b"O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF))
    cmd, data = recv(sock)
    assert cmd == b"O", cmd
    _, _, proto = struct.unpack("!III", data[:12])
    if not proto & 0x1:  # SMFIP_NOCONNECT
        send(sock, b"C", b"client.example\x004\x00\x00127.0.0.1\x00")
        recv(sock)
    if not proto & 0x2:  # SMFIP_NOHELO
        send(sock, b"H", b"client.example\x00")
        recv(sock)
    send(sock, b"M", b"<ann@example.com>\x00")
    if not proto & 0x4000:  # SMFIP_NR_MAIL: no reply to wait for
        cmd, _ = recv(sock)
        assert cmd == b"c", cmd
    rng = random.Random(42)
    times, refused = [], 0
    for i in range(count):
        if i % 2:
            addr = "user%d@example.net" % rng.randrange(1, 1000001)
        else:
            addr = "fresh%d@example.org" % i
        t0 = time.perf_counter_ns()
        send(sock, b"D", b"R{rcpt_mailer}\x00smtp\x00",
             then=(b"R", ("<%s>" % addr).encode() + b"\x00"))
        cmd, _ = recv(sock)
        times.append(time.perf_counter_ns() - t0)
        if cmd == b"y":
            refused += 1
        # A refused RCPT does not end the transaction; nothing to reset.
    send(sock, b"Q")
    sock.close()
    times.sort()
    us = lambda q: times[min(len(times) - 1, int(q * len(times)))] / 1000.0
    print("rcpt_count %d refused %d" % (count, refused))
    print("rcpt_latency_us p50 %.1f p99 %.1f max %.1f" % (us(0.5), us(0.99), times[-1] / 1000.0))


if __name__ == "__main__":
    main()
