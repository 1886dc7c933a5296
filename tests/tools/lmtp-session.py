#!/usr/bin/python3
"""lmtp-session.py - talk LMTP to one rebound-pipe --lmtp process, as
Postfix's spawn(8) would start it: the connection on its stdin and stdout.

    lmtp-session.py [--user USER] -- COMMAND [ARG...] < SCRIPT

The socket pair is made by this process, after it became USER (if given),
so that rebound-pipe sees USER as its peer (SO_PEERCRED).  After the
greeting, each script line is sent with CRLF, pipelined, except:

    ?N          wait for N final replies before sending more
    !COMMAND    run a shell command (after the replies waited for)
    @FILE       send FILE's lines, dot-stuffed, then the lone "."

Every line the server sends is printed as it came (CRLF stripped), then
"EXIT n" with the server's exit status.
"""
import os, pwd, socket, subprocess, sys

args = sys.argv[1:]
user = None
if args[:1] == ["--user"]:
    user, args = args[1], args[2:]
if args[:1] == ["--"]:
    args = args[1:]
if user:
    pw = pwd.getpwnam(user)
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
proc = subprocess.Popen(args, stdin=theirs, stdout=theirs, stderr=theirs, close_fds=True)
theirs.close()
ours.settimeout(60)
reader = ours.makefile("rb")
finals = 0


def wait(n):
    global finals
    while finals < n:
        try:
            line = reader.readline()
        except OSError:
            break
        if not line:
            break
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        print(text, flush=True)
        if len(text) >= 4 and text[3] == " ":
            finals += 1
    finals -= min(finals, n)


def send(data):
    """send data; a server that has hung up is seen in its replies"""
    try:
        ours.sendall(data)
    except OSError:
        pass


wait(1)  # the greeting, as a client waits for it
for raw in sys.stdin.read().splitlines():
    if raw.startswith("?"):
        wait(int(raw[1:]))
    elif raw.startswith("!"):
        subprocess.run(raw[1:], shell=True, check=False)
    elif raw.startswith("@"):
        data = b""
        with open(raw[1:], "rb") as f:
            for line in f.read().splitlines():
                data += (b"." if line.startswith(b".") else b"") + line + b"\r\n"
        send(data + b".\r\n")
    else:
        send(raw.encode() + b"\r\n")
try:
    ours.shutdown(socket.SHUT_WR)
except OSError:
    pass
try:
    for line in reader:
        print(line.decode("utf-8", "replace").rstrip("\r\n"), flush=True)
except OSError:
    pass
print("EXIT %d" % proc.wait(), flush=True)
