#!/usr/bin/env bash
# tests/netns/test-live-marks.sh on a kernel with 802.1Q: its VLAN part (a VLAN
# sub-interface carrying the profile's mark is deleted by apply and restored by
# rollback) cannot run on the CI machine's kernel; here it must.
VNC_REQUIRE_8021Q=1 exec bash "$(dirname "$0")/../netns/test-live-marks.sh"
