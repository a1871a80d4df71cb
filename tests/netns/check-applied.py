#!/usr/bin/env python3
"""check-applied.py PROFILE [STATE_DIR]: assert that the host holds what PROFILE asks for.

Reads the profile and `ip -d -j link`, `ip -j addr`, `ip -j route`, and checks
each network's bridge (kind, alias, mtu, up), taps (kind, master, mtu, alias,
up, mac, vnet_hdr, multi_queue, owner, group), the host address, the static
routes and ip_forward; each network's firewall rules (iptables-legacy-save, or
`nft list ruleset` when the nftables backend holds them: the guest<->guest
accept, and the isolation rejects or the masquerade its mode needs); with STATE_DIR, that the profile's dnsmasq runs when a network has
dhcp. Prints one line per failed check; exits 1 if any.
"""
import ipaddress
import json
import subprocess
import sys


def ip_json(*args):
    return json.loads(subprocess.run(["ip", "-j", *args], check=True, capture_output=True, text=True).stdout or "[]")


prof = json.load(open(sys.argv[1]))
links = {l["ifname"]: l for l in ip_json("-d", "link", "show")}
addrs = ip_json("addr", "show")
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


needs_forward = False
for net in prof["networks"]:
    name = net["name"]
    alias = f"vnetcfg:{prof['name']}/{name}"
    br = net.get("bridge", f"vn-{name}")
    mtu = net.get("mtu")
    l = links.get(br)
    check(l is not None, f"bridge {br} missing")
    if l is None:
        continue
    check(l.get("linkinfo", {}).get("info_kind") == "bridge", f"{br}: not a bridge")
    check(l.get("ifalias") == alias, f"{br}: alias {l.get('ifalias')!r} != {alias!r}")
    check("UP" in l["flags"], f"{br}: not up")
    if mtu:
        check(l["mtu"] == mtu, f"{br}: mtu {l['mtu']} != {mtu}")
    for t in net.get("taps", []):
        tl = links.get(t["name"])
        check(tl is not None, f"tap {t['name']} missing")
        if tl is None:
            continue
        info = tl.get("linkinfo", {})
        data = info.get("info_data", {})
        check(info.get("info_kind") == "tun" and data.get("type") == "tap", f"{t['name']}: not a tap")
        check(tl.get("master") == br, f"{t['name']}: master {tl.get('master')} != {br}")
        check(tl.get("ifalias") == alias, f"{t['name']}: alias {tl.get('ifalias')!r}")
        check("UP" in tl["flags"], f"{t['name']}: not up")
        if mtu:
            check(tl["mtu"] == mtu, f"{t['name']}: mtu {tl['mtu']} != {mtu}")
        if "mac" in t:
            check(tl["address"] == t["mac"].lower(), f"{t['name']}: mac {tl['address']} != {t['mac']}")
        else:
            check(tl["address"].startswith("fe:"), f"{t['name']}: random mac {tl['address']} must start with fe")
        check(data.get("vnet_hdr") == t.get("vnet_hdr", False), f"{t['name']}: vnet_hdr {data.get('vnet_hdr')}")
        check(data.get("multi_queue") == t.get("multi_queue", False), f"{t['name']}: multi_queue")
        check(data.get("pi") is False and data.get("persist") is True, f"{t['name']}: pi/persist {data}")
        for key, field in (("owner", "user"), ("group", "group")):
            if key in t:
                want = str(t[key])
                got = str(data.get(field))
                if not want.isdigit():
                    import grp, pwd
                    want = str(pwd.getpwnam(want).pw_uid if key == "owner" else grp.getgrnam(want).gr_gid)
                if not got.isdigit():
                    import grp, pwd
                    got = str(pwd.getpwnam(got).pw_uid if key == "owner" else grp.getgrnam(got).gr_gid)
                check(got == want, f"{t['name']}: {key} {got} != {want}")
            else:
                check(field not in data, f"{t['name']}: {key} set to {data.get(field)} but not asked for")
    v4 = [f"{a['local']}/{a['prefixlen']}" for x in addrs if x["ifname"] == br
          for a in x.get("addr_info", []) if a["family"] == "inet"]
    if net["mode"] == "bridged":
        up = links.get(net["uplink"], {})
        check(up.get("master") == br, f"{net['uplink']}: master {up.get('master')} != {br}")
        check(l.get("address") == up.get("address"), f"{br}: MAC {l.get('address')} != uplink's {up.get('address')}")
        up_v4 = [a for x in addrs if x["ifname"] == net["uplink"] for a in x.get("addr_info", []) if a["family"] == "inet"]
        check(up_v4 == [], f"{net['uplink']}: IPv4 left on the uplink: {up_v4}")
    elif "ipv4" in net:
        check(v4 == [net["ipv4"]["address"]], f"{br}: IPv4 {v4} != [{net['ipv4']['address']}]")
    else:
        check(v4 == [], f"{br}: unexpected IPv4 {v4}")
    routes = ip_json("route", "show", "dev", br)
    for r in net.get("routes", []):
        check(any(x["dst"] == r["to"] and x.get("gateway") == r["via"] and x.get("protocol") == "static"
                  for x in routes), f"{br}: route {r['to']} via {r['via']} missing: {routes}")
    if net["mode"] in ("routed", "nat"):
        needs_forward = True

def nft_rules():
    """table ip vnetcfg as iptables-save-like lines: "-A CHAIN <nft rule text>"."""
    out = subprocess.run(["nft", "list", "table", "ip", "vnetcfg"], capture_output=True, text=True).stdout
    lines, chain = [], None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("chain ") and line.endswith("{"):
            chain = line.split()[1]
        elif line == "}":
            chain = None
        elif chain and line:
            lines.append(f"-A {chain} {line}")
    return lines


legacy = subprocess.run(["iptables-legacy-save"], check=True, capture_output=True, text=True).stdout.splitlines()
nft = nft_rules()
mark = f"vnetcfg:{prof['name']}/"
in_legacy, in_nft = any(mark in r for r in legacy), any(mark in r for r in nft)
check(not (in_legacy and in_nft), "rules of the profile in both the legacy tables and nftables")
rules = nft if in_nft else legacy
for net in prof["networks"]:
    br = net.get("bridge", f"vn-{net['name']}")
    mine = [r for r in rules if f"vnetcfg:{prof['name']}/{net['name']} #" in r]
    if in_nft:
        def has(chain, match, verdict):
            return any(r.startswith(f"-A {chain} {match}") and f" {verdict} comment " in r for r in mine)
        check(has("VNETCFG_FWX", f'iifname "{br}" oifname "{br}"', "accept"), f"{br}: no guest<->guest accept in VNETCFG_FWX")
        if net["mode"] in ("host-only", "isolated"):
            check(has("VNETCFG_FWO", f'iifname "{br}"', "reject"), f"{br}: egress not rejected")
            check(has("VNETCFG_FWI", f'oifname "{br}"', "reject"), f"{br}: ingress not rejected")
        if net["mode"] == "nat":
            check(has("VNETCFG_POST", "", "masquerade"), f"{br}: no masquerade")
            for pf in net.get("nat", {}).get("port_forwards", []):
                to = f"dnat to {pf['guest']}:{pf['guest_port']} comment"
                check(sum(1 for r in mine if to in r) == 2, f"{br}: {to} not in PREROUTING and OUTPUT")
        continue
    check(any(r.startswith(f"-A VNETCFG_FWX -i {br} -o {br} ") and r.endswith("-j ACCEPT") for r in mine),
          f"{br}: no guest<->guest accept in VNETCFG_FWX")
    if net["mode"] in ("host-only", "isolated"):
        check(any(r.startswith(f"-A VNETCFG_FWO -i {br} ") and "-j REJECT" in r for r in mine), f"{br}: egress not rejected")
        check(any(r.startswith(f"-A VNETCFG_FWI -o {br} ") and "-j REJECT" in r for r in mine), f"{br}: ingress not rejected")
    if net["mode"] == "nat":
        check(any(r.startswith("-A VNETCFG_POST") and r.endswith("-j MASQUERADE") for r in mine), f"{br}: no masquerade")
        for pf in net.get("nat", {}).get("port_forwards", []):
            to = f"--to-destination {pf['guest']}:{pf['guest_port']}"
            check(sum(1 for r in mine if r.endswith(to)) == 2, f"{br}: DNAT {to} not in PREROUTING and OUTPUT")
if len(sys.argv) > 2 and any("dhcp" in n for n in prof["networks"]):
    import os
    pidfile = os.path.join(sys.argv[2], "dnsmasq", prof["name"] + ".pid")
    try:
        pid = int(open(pidfile).read().strip())
        check(os.path.exists(f"/proc/{pid}") and b"dnsmasq" in open(f"/proc/{pid}/cmdline", "rb").read(),
              f"dnsmasq {pid} not running")
    except OSError as e:
        check(False, f"dnsmasq pid file: {e}")

fwd = open("/proc/sys/net/ipv4/ip_forward").read().strip()
if needs_forward:
    check(fwd == "1", f"ip_forward {fwd} != 1")

for e in errors:
    print(f"check-applied {sys.argv[1]}: {e}")
sys.exit(1 if errors else 0)
