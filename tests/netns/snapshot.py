#!/usr/bin/env python3
"""Print a stable snapshot of the links in this network namespace.

Kept: every attribute a user or vnetcfg sets (name, kind, mtu, master,
admin state, alias, tun flags, MACs of foreign links and of taps, bridge
options...). Dropped: what the kernel changes on its own (timers, carrier,
statistics, promiscuity counts). For links carrying a vnetcfg alias, also
what is derived and cannot be pinned when a rollback re-creates them: the
ifindex, bridge port numbers, and a port-less bridge's random MAC and the
bridge ids built from it. Foreign links keep their ifindex, so a foreign
link deleted and re-created is caught.
"""
import json
import subprocess

VOLATILE = {"operstate", "linkmode", "promiscuity", "allmulti", "stats", "stats64", "link_netnsid",
            "carrier_changes", "carrier_up_count", "carrier_down_count", "qdisc",
            "state"}  # a bridge port's STP state follows its carrier
CARRIER_FLAGS = {"LOWER_UP", "NO-CARRIER", "M-DOWN", "DORMANT"}
DERIVED_OWNED = {"ifindex", "port_id", "port_no", "designated_port", "designated_bridge", "designated_root",
                 "bridge_id", "root_id", "root_port", "designated_cost", "root_path_cost", "link", "id", "no"}


def clean(d, drop):
    if isinstance(d, dict):
        return {k: clean(v, drop) for k, v in sorted(d.items())
                if k not in drop and not k.endswith("_timer")}
    if isinstance(d, list):
        return [clean(x, drop) for x in d]
    return d


links = json.loads(subprocess.run(["ip", "-d", "-j", "link", "show"], check=True,
                                  capture_output=True, text=True).stdout)
for link in sorted(links, key=lambda l: l["ifname"]):
    owned = link.get("ifalias", "").startswith("vnetcfg:")
    drop = set(VOLATILE)
    if owned:
        drop |= DERIVED_OWNED
        if link.get("linkinfo", {}).get("info_kind") == "bridge":
            drop |= {"address"}
    link["flags"] = sorted(f for f in link.get("flags", []) if f not in CARRIER_FLAGS)
    print(json.dumps(clean(link, drop), sort_keys=True))
