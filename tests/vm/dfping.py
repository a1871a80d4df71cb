#!/usr/bin/env python3
"""ICMP echo with Don't-Fragment: dfping.py ADDR PAYLOAD_BYTES [TRIES].

The socket uses IP_PMTUDISC_DO, so the kernel sets DF and refuses to fragment:
an echo larger than the path MTU is never answered (or fails to send with
EMSGSIZE). Exit 0 when an echo reply of the full size came back, 1 otherwise,
with the reason on stderr.
"""
import os
import socket
import struct
import sys
import time

IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    addr, size = sys.argv[1], int(sys.argv[2])
    tries = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    s.settimeout(2)
    ident = os.getpid() & 0xFFFF
    payload = bytes(i & 0xFF for i in range(size))
    for seq in range(1, tries + 1):
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), ident, seq) + payload
        try:
            s.sendto(pkt, (addr, 0))
        except OSError as e:
            print("dfping: send %d bytes to %s: %s" % (size, addr, e), file=sys.stderr)
            return 1
        end = time.monotonic() + 2
        while time.monotonic() < end:
            try:
                data, src = s.recvfrom(65535)
            except socket.timeout:
                break
            ihl = (data[0] & 0x0F) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if src[0] == addr and typ == 0 and rid == ident and rseq == seq:
                if data[ihl + 8:] == payload:
                    return 0
                print("dfping: reply of %d bytes, expected %d" % (len(data) - ihl - 8, size), file=sys.stderr)
                return 1
    print("dfping: no reply from %s to %d bytes with DF after %d tries" % (addr, size, tries), file=sys.stderr)
    return 1


sys.exit(main())
