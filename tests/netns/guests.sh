# shellcheck shell=bash
# Guests and listeners for the netns tests (source after lib.sh): a guest is a
# namespace with a veth port on a bridge.
ns_add() { # name bridge [addr/prefix] [gateway] [mac]
        ip netns add "$1"
        defer "ip netns del $1"
        ip link add "$1-h" type veth peer name eth0 netns "$1"
        [ -n "${5:-}" ] && ip -n "$1" link set eth0 address "$5"
        ip link set "$1-h" master "$2" up
        ip -n "$1" link set lo up
        ip -n "$1" link set eth0 up
        if [ -n "${3:-}" ]; then
                ip -n "$1" addr add "$3" dev eth0
                [ -n "${4:-}" ] && ip -n "$1" route add default via "$4"
        fi
        return 0
}

# A TCP listener in a namespace that answers each connection with the peer's address.
listen() { # ns port
        ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
while True:
    c, a = s.accept(); c.sendall(("%s\n" % a[0]).encode()); c.close()' "$2" &
        defer "kill $!"
}
connect() { # ns addr port -> prints what the listener said (the source it saw), or nothing
        ip netns exec "$1" python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2); print(s.recv(100).decode().strip())
except OSError:
    pass' "$2" "$3"
}
# A process that exited but is not reaped yet (a zombie) has an empty cmdline.
alive() { [ -n "$(tr -d '\0' <"/proc/$1/cmdline" 2>/dev/null)" ]; }
pings() { ip netns exec "$1" busybox ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

