# shellcheck shell=bash
# Shared by the tests of vnetcfg beside a real host firewall (test-hostfw-*.sh).
# Sourcing it re-executes the test in its own network, mount and PID namespaces
# (the PID namespace ends every daemon with the test), with a tmpfs on /run,
# then sources lib.sh. The firewalls run only here, on bind-mounted copies of
# their /etc files; the machine's /etc is never written.
#
# Topology (inside the sandbox, which plays the host):
#   upstream ns "up": eth0 192.0.2.2/24, TCP listener :8080 answering with the peer's address
#        |
#   uplink0 192.0.2.1/24
#   vn-hf 10.77.0.1/24 nat via uplink0, DHCP (52:54:00:00:00:10 -> 10.77.0.10 "vm1"),
#         port forward tcp 192.0.2.1:2222 -> 10.77.0.10:22
#      |- ns "g1" (MAC 52:54:00:00:00:10, address by DHCP, listener :22)
#   vn-ho 10.78.0.1/24 host-only with DHCP; vn-iso isolated
if [ -z "${VNC_SANDBOXED:-}" ]; then
        exec unshare -n -m -p -f --mount-proc --propagation private -- \
                env VNC_SANDBOXED=1 VNC_HOSTFW_PIDNS=1 bash "$0" "$@"
fi
# A private /run always (on most hosts /run is itself a tmpfs mount: never write into it).
[ -n "${VNC_HOSTFW_PIDNS:-}" ] || { echo "FAIL: hostfw-lib.sh must start the sandbox itself" >&2; exit 1; }
mount -t tmpfs tmpfs /run
# shellcheck source=tests/netns/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HF_W="$TMP/w" # scratch for copies of /etc files
mkdir -p "$HF_W"

# Bind a private copy of a file or directory of the machine's /etc over it.
hf_private_etc() { # path
        local copy="$HF_W/etc-$(echo "$1" | tr / _)"
        cp -a "$1" "$copy"
        mount --bind "$copy" "$1"
}

# Wait until a command succeeds (a daemon getting ready), up to $2 seconds.
hf_wait() { # "command" seconds what
        local i
        for ((i = 0; i < $2 * 5; i++)); do
                eval "$1" >/dev/null 2>&1 && return 0
                sleep 0.2
        done
        fail "$3 not ready after $2 s"
}

# shellcheck source=guests.sh
. "$(dirname "${BASH_SOURCE[0]}")/guests.sh"

# What the listener said (the source it saw), or nothing; a few tries on a loaded machine.
hf_connect() { # ns addr port
        ip netns exec "$1" python3 -c '
import socket, sys, time
for _ in range(3):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); print(s.recv(100).decode().strip()); break
    except OSError:
        time.sleep(0.5)' "$2" "$3"
}
hf_pings() { ip netns exec "$1" busybox ping -c 2 -W 2 "$2" >/dev/null 2>&1; }

hf_topology() {
        make_upstream
        listen up 8080
        # A legacy table, once instantiated in a namespace, stays (empty) for its life: let
        # both exist from the start, so snapshots compare rules, not whether libiptc looked.
        iptables-legacy -t filter -S >/dev/null 2>&1
        iptables-legacy -t nat -S >/dev/null 2>&1
        cat >"$TMP/hf.json" <<'JSON'
{"version": 1, "name": "hf", "networks": [
  {"name": "n", "mode": "nat", "bridge": "vn-hf", "ipv4": {"address": "10.77.0.1/24"}, "allow_icmp": true,
   "dhcp": {"start": "10.77.0.100", "end": "10.77.0.150",
            "hosts": [{"mac": "52:54:00:00:00:10", "ip": "10.77.0.10", "name": "vm1"}]},
   "nat": {"uplink": "uplink0",
           "port_forwards": [{"proto": "tcp", "host_port": 2222, "guest": "10.77.0.10", "guest_port": 22}]},
   "verify": {"targets": ["192.0.2.2"]}},
  {"name": "ho", "mode": "host-only", "bridge": "vn-ho", "ipv4": {"address": "10.78.0.1/24"}, "allow_icmp": true,
   "dhcp": {"start": "10.78.0.100", "end": "10.78.0.150"}},
  {"name": "iso", "mode": "isolated", "bridge": "vn-iso"}]}
JSON
}

# What of the nft ruleset a snapshot compares (a test may narrow it, as firewalld's does).
hf_nft_filter() { cat; }
# lib.sh's snapshot compares the whole nft ruleset too: narrow it the same way.
nft_rules_filter() { hf_nft_filter; }

# Everything a rollback must give back: lib.sh's snapshot, both rulesets, the conf sysctls.
hf_snap() { # name
        snap "$1"
        {
                echo "## nft"
                nft -s list ruleset 2>&1 | hf_nft_filter
                echo "## iptables-legacy"
                iptables-legacy-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9:]*\]//'
                echo "## conf"
                local d
                for d in /proc/sys/net/ipv4/conf/*; do
                        echo "${d##*/} forwarding=$(cat "$d/forwarding") accept_redirects=$(cat "$d/accept_redirects")"
                done
        } >>"$TMP/snap.$1"
}

# The host firewall's own rules as iptables-nft prints them, without vnetcfg's marked ones.
hf_foreign() { # file
        iptables-save 2>/dev/null | grep -v '^#' | grep -v 'vnetcfg:' | sed 's/\[[0-9:]*\]//' >"$1"
}

# The openings as `iptables -S` (the host's iptables-nft) prints them; nothing it cannot read.
# (A test may define its own after sourcing this file, as firewalld's does.)
hf_openings() {
        iptables -S 2>&1 | grep 'vnetcfg:' || true
}
# Drop every opening, as a reload that flushes the chains would.
hf_drop_openings() {
        iptables -S | grep 'vnetcfg:' | sed 's/^-A/-D/' | while read -r rule; do eval "iptables $rule"; done
}
hf_no_unsupported() {
        ! iptables-save 2>&1 | grep -qi 'unsupported' || fail "iptables-nft cannot read a rule: $(iptables-save 2>&1 | grep -i unsupported)"
}

# The guest: reserved lease, a DNS answer, ping both ways, TCP out masqueraded, in through the forward.
hf_guest_checks() { # what
        local lease
        rm -f "$TMP/lease"
        ip netns exec g1 ip addr flush dev eth0
        ip netns exec g1 env LEASE_OUT="$TMP/lease" busybox udhcpc -i eth0 -n -q -f -t 8 -T 2 \
                -s "$TMP/udhcpc.sh" >/dev/null 2>&1 || fail "$1: the guest got no DHCP lease"
        lease=$(cat "$TMP/lease")
        assert_eq "$lease" 10.77.0.10 "$1: the guest's reserved lease"
        ip -n g1 addr add 10.77.0.10/24 dev eth0
        ip -n g1 route replace default via 10.77.0.1
        ip netns exec g1 python3 -c '
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x03vm1\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
for _ in range(3):
    try:
        s.sendto(q, ("10.77.0.1", 53)); r = s.recv(512); break
    except OSError:
        r = b""
ok = r[:2] == b"\x12\x34" and (r[3] & 15) == 0 and struct.unpack(">H", r[6:8])[0] >= 1 and r.endswith(bytes([10, 77, 0, 10]))
sys.exit(0 if ok else 1)' || fail "$1: no DNS answer for vm1 from 10.77.0.1"
        hf_pings g1 10.77.0.1 || fail "$1: the guest cannot ping the host"
        busybox ping -c 2 -W 2 10.77.0.10 >/dev/null 2>&1 || fail "$1: the host cannot ping the guest"
        assert_eq "$(hf_connect g1 192.0.2.2 8080)" 192.0.2.1 "$1: guest -> upstream TCP, seen as"
        assert_eq "$(hf_connect up 192.0.2.1 2222)" 192.0.2.2 "$1: upstream -> port forward -> guest, seen as"
}

hf_guest() {
        ip netns add g1
        defer "ip netns del g1"
        ip -n g1 link set lo up
        hf_guest_port
        listen g1 22
        cat >"$TMP/udhcpc.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && echo "$ip" >"$LEASE_OUT"
exit 0
SH
        chmod +x "$TMP/udhcpc.sh"
}
# The guest's port on vn-hf (gone again with hf_guest_unplug, as when the VM stops).
hf_guest_port() {
        ip link add g1-h type veth peer name eth0 netns g1
        ip -n g1 link set eth0 address 52:54:00:00:00:10
        ip link set g1-h master vn-hf up
        ip -n g1 link set eth0 up
}
hf_guest_unplug() {
        ip link del g1-h
}

# Assertions shared by the tests' hf_check_openings, on the openings `iptables -S` shows (in FILE).
hf_expect_dhcp_input() { # FILE: the nat network's DHCP opened in INPUT
        grep -q -- '-A INPUT -i vn-hf -p udp -m udp --dport 67 -m comment --comment "vnetcfg:hf/n #' "$1" ||
                fail "no DHCP opening in INPUT: $(cat "$1")"
}
hf_expect_egress() { # FILE: the nat network's way out opened in FORWARD
        grep -q -- '-A FORWARD -s 10.77.0.0/24 -i vn-hf -o uplink0 -m comment --comment "vnetcfg:hf/n #' "$1" ||
                fail "no egress opening in FORWARD: $(cat "$1")"
}
hf_expect_contained() { # FILE: host-only and isolated get nothing forwarded beyond their own bridge
        ! grep -- '-A FORWARD' "$1" | grep -E 'vn-(ho|iso)' | grep -vE -- '-i (vn-ho|vn-iso) -o (vn-ho|vn-iso) ' ||
                fail "host-only/isolated got forwarding opened"
}
hf_expect_no_isolated_input() { # FILE: isolated reaches no host address, so no INPUT opening
        ! grep -q -- '-A INPUT.*vn-iso' "$1" || fail "isolated got an INPUT opening"
}

# The whole run beside one firewall, once it is up. The test defines:
#   hf_check_openings FILE   assertions on the openings `iptables -S` shows (in FILE)
#   hf_reload                the firewall's own reload (ufw reload, a dockerd restart...)
#   HF_NAME                  the firewall's name, for messages
hf_flow() {
        hf_openings >"$TMP/open.0"
        hf_foreign "$TMP/foreign.before"
        hf_snap before
        expect_rc 0 apply "$TMP/hf.json"
        hf_no_unsupported
        hf_openings >"$TMP/open.1"
        hf_check_openings "$TMP/open.1"
        hf_foreign "$TMP/foreign.during"
        diff -u "$TMP/foreign.before" "$TMP/foreign.during" || fail "$HF_NAME's rules changed"
        ok "$HF_NAME: apply with verify; openings readable by iptables -S; $HF_NAME's own rules intact"

        hf_guest
        hf_guest_checks "with $HF_NAME"
        ok "$HF_NAME: guest gets its reserved lease and a DNS answer, pings the host both ways, TCP out masqueraded, in through the port forward"

        expect_rc 0 doctor hf
        ok "$HF_NAME: doctor is clean"

        local had_filter=0
        nft list table ip filter >/dev/null 2>&1 && had_filter=1
        iptables -I FORWARD 1 -j DROP
        expect_rc 3 doctor hf
        echo "$OUT$ERR" | grep -q forward-blocked || fail "doctor did not name forward-blocked: $OUT $ERR"
        iptables -D FORWARD 1
        [ $had_filter = 1 ] || nft delete table ip filter
        ok "$HF_NAME: an admin's DROP at the top of FORWARD: doctor names forward-blocked (exit 3)"

        expect_rc 0 apply "$TMP/hf.json"
        echo "$OUT" | grep -q 'nothing to change' || fail "second apply changed something: $OUT"
        ok "$HF_NAME: a second apply changes nothing"

        hf_guest_unplug # the guest's port on the bridge was not there before either
        expect_rc 0 rollback --all hf
        hf_snap after
        same_snap before after
        hf_foreign "$TMP/foreign.after"
        diff -u "$TMP/foreign.before" "$TMP/foreign.after" || fail "$HF_NAME's rules changed by rollback"
        ok "$HF_NAME: rollback gives the exact pre-apply host: rulesets (nft and legacy), sysctls, links"

        # Reloads: the firewall drops or keeps the openings as it likes; status and one apply follow.
        expect_rc 0 apply "$TMP/hf.json"
        hf_guest_port
        hf_reload
        if [ "$(hf_openings | sort)" != "$(sort "$TMP/open.1")" ]; then
                expect_rc 0 status
                echo "$OUT" | grep -q 'fw-open' || fail "the reload dropped openings and status shows no drift: $OUT"
                echo "# $HF_NAME's reload dropped the openings; status showed the drift"
        fi
        # A reload that drops them all (a flush of the chains) is repaired by one apply too.
        hf_drop_openings
        [ "$(hf_openings)" = "$(cat "$TMP/open.0")" ] || fail "could not drop the openings: $(hf_openings)"
        expect_rc 0 status
        echo "$OUT" | grep -q 'fw-open' || fail "status shows no drift without the openings: $OUT"
        expect_rc 0 apply --no-verify "$TMP/hf.json"
        hf_openings | sort >"$TMP/open.2"
        diff -u <(sort "$TMP/open.1") "$TMP/open.2" || fail "apply did not restore the same openings"
        hf_guest_checks "after $HF_NAME's reload and apply"
        ok "$HF_NAME: after a reload, status shows the drift and one apply restores the openings and guest traffic"

        hf_foreign "$TMP/foreign.reloaded"
        hf_guest_unplug
        expect_rc 0 rollback --all hf
        ! { nft list ruleset; iptables-legacy-save; } 2>/dev/null | grep -q 'vnetcfg' || fail "vnetcfg rules left after rollback"
        hf_foreign "$TMP/foreign.end"
        diff -u "$TMP/foreign.reloaded" "$TMP/foreign.end" || fail "$HF_NAME's rules changed by the last rollback"
        ok "$HF_NAME: the last rollback leaves no mark and $HF_NAME's rules as its reload made them"
}
