# shellcheck shell=bash
# Profiles shared by several netns tests.
write_lab() { # file [mtu] [taps-of-ho]
        local mtu=${2:-1500} taps=${3:-'{"name": "vm1-eth0"}, {"name": "vm2-eth0"}, {"name": "vm3-eth0"}'}
        cat >"$1" <<JSON
{
  "version": 1,
  "name": "lab",
  "networks": [
    {"name": "ho", "mode": "host-only", "mtu": $mtu, "ipv4": {"address": "10.10.0.1/24"},
     "taps": [$taps]},
    {"name": "rt", "mode": "routed", "ipv4": {"address": "10.20.0.1/24"},
     "routes": [{"to": "10.21.0.0/24", "via": "10.20.0.254"}, {"to": "10.22.0.0/16", "via": "10.20.0.253"}]},
    {"name": "iso", "mode": "isolated", "taps": [{"name": "iso-a"}, {"name": "iso-b", "owner": "0", "group": "0"}]}
  ]
}
JSON
}

# write_lab, pinned to one firewall backend (iptables or nftables).
write_lab_fw() { # file backend [mtu] [taps]
        local file=$1 fw=$2
        shift 2
        write_lab "$file" "$@"
        sed -i "s/\"name\": \"lab\",/\"name\": \"lab\", \"firewall\": {\"backend\": \"$fw\"},/" "$file"
}
