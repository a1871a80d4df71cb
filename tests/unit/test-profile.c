/* SPDX-License-Identifier: MIT */
/* Profile parser: examples load, every invalid file fails with its exact line, positions are right. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "jsonpos.h"
#include "model.h"

static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!f)
                return NULL;
        if (getdelim(&buf, &len, '\0', f) < 0) {
                free(buf);
                buf = NULL;
        }
        fclose(f);
        return buf;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of the .json files in dir; caller frees. */
static char **list_json(const char *dir, size_t *ret_n) {
        DIR *d = opendir(dir);
        char **v = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || strstr(de->d_name, ".schema."))
                        continue;
                assert_int_equal(VNC_GROW(v, alloc, n + 2), 0);
                v[n++] = vnc_strdup_printf("%s/%s", dir, de->d_name);
        }
        closedir(d);
        qsort(v, n, sizeof(*v), cmp_str);
        *ret_n = n;
        return v;
}

static void free_list(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static struct vnc_profile *load_ok(const char *path) {
        struct vnc_error e = {0};
        struct vnc_profile *p = NULL;
        int r = vnc_profile_load_file(path, &p, &e);
        if (r < 0) {
                char *s = vnc_error_format(&e);
                print_error("%s: unexpected error: %s\n", path, s);
                free(s);
        }
        assert_int_equal(r, 0);
        vnc_error_clear(&e);
        return p;
}

static char *load_fail(const char *file, const char *text, enum vnc_error_kind *ret_kind) {
        struct vnc_error e = {0};
        struct vnc_profile *p = NULL;
        int r = vnc_profile_load_buffer(file, text, strlen(text), &p, &e);
        assert_true(r < 0);
        assert_null(p);
        if (ret_kind)
                *ret_kind = e.kind;
        char *s = vnc_error_format(&e);
        vnc_error_clear(&e);
        return s;
}

static void test_examples_load(void **state) {
        size_t n;
        char **files = list_json("profiles", &n);

        assert_true(n >= 7);
        for (size_t i = 0; i < n; i++)
                vnc_profile_free(load_ok(files[i]));
        free_list(files, n);
}

static void test_invalid_corpus(void **state) {
        size_t n, failed = 0;
        char **files = list_json("tests/invalid", &n);

        assert_true(n >= 100);
        for (size_t i = 0; i < n; i++) {
                struct vnc_error e = {0};
                struct vnc_profile *p = NULL;
                char *expect_path = vnc_strdup_printf("%.*s.expect", (int)(strlen(files[i]) - 5), files[i]);
                char *expect = read_text(expect_path);
                int r = vnc_profile_load_file(files[i], &p, &e);

                if (!expect) {
                        print_error("%s: missing\n", expect_path);
                        failed++;
                } else {
                        char *nl = strchr(expect, '\n');
                        if (nl)
                                *nl = '\0';
                        char *got = r < 0 ? vnc_error_format(&e) : strdup("(loaded without error)");
                        if (!streq(got, expect)) {
                                print_error("%s:\n  expected: %s\n  got:      %s\n", files[i], expect, got);
                                failed++;
                        }
                        free(got);
                }
                if (r >= 0)
                        vnc_profile_free(p);
                vnc_error_clear(&e);
                free(expect);
                free(expect_path);
        }
        free_list(files, n);
        assert_int_equal(failed, 0);
}

static void test_error_kinds(void **state) {
        struct vnc_error e = {0};
        struct vnc_profile *p = NULL;

        assert_true(vnc_profile_load_file("tests/invalid/tap-owner-unknown.json", &p, &e) < 0);
        assert_int_equal(e.kind, VNC_ERR_CONFLICT);
        vnc_error_clear(&e);
        assert_true(vnc_profile_load_file("tests/invalid/tap-group-unknown.json", &p, &e) < 0);
        assert_int_equal(e.kind, VNC_ERR_CONFLICT);
        vnc_error_clear(&e);
        assert_true(vnc_profile_load_file("tests/invalid/prefix-33.json", &p, &e) < 0);
        assert_int_equal(e.kind, VNC_ERR_PROFILE);
        assert_string_equal(e.path, "networks[0].ipv4.address");
        assert_int_equal(e.line, 9);
        assert_int_equal(e.col, 20);
        vnc_error_clear(&e);
        assert_true(vnc_profile_load_file("tests/invalid/syntax-error.json", &p, &e) < 0);
        assert_int_equal(e.kind, VNC_ERR_PROFILE);
        vnc_error_clear(&e);
        assert_true(vnc_profile_load_file("tests/invalid/no-such-file.json", &p, &e) < 0);
        assert_int_equal(e.kind, VNC_ERR_USAGE);
        vnc_error_clear(&e);
}

static void test_spec_example_line(void **state) {
        /* SPEC section 1: the error line for a /33 at networks[2].ipv4.address, line 12, column 20. */
        const char *text = "{\n"
                           "  \"version\": 1,\n"
                           "  \"name\": \"lab\",\n"
                           "  \"networks\": [\n"
                           "    {\"name\": \"a\", \"mode\": \"isolated\"},\n"
                           "    {\"name\": \"b\", \"mode\": \"isolated\"},\n"
                           "    {\n"
                           "      \"name\": \"c\",\n"
                           "      \"mode\": \"routed\",\n"
                           "      \"ipv4\": {\n"
                           "        \"dummy\": 0,\n"
                           "        \"address\": \"10.0.0.1/33\"\n"
                           "      }\n"
                           "    }\n"
                           "  ]\n"
                           "}\n";
        /* "dummy" would be an unknown key: reported first, in document order. */
        char *s = load_fail("lab.json", text, NULL);
        assert_string_equal(s, "lab.json:11:9: networks[2].ipv4.dummy: unknown key \"dummy\"");
        free(s);

        const char *spec = "{\n"
                           "  \"version\": 1,\n"
                           "  \"name\": \"lab\",\n"
                           "  \"networks\": [\n"
                           "    {\"name\": \"a\", \"mode\": \"isolated\"},\n"
                           "    {\"name\": \"b\", \"mode\": \"isolated\"},\n"
                           "    {\n"
                           "      \"name\": \"c\",\n"
                           "      \"mode\": \"routed\",\n"
                           "      \"ipv4\": {\n"
                           "\n"
                           "        \"address\": \"10.0.0.1/33\"\n"
                           "      }\n"
                           "    }\n"
                           "  ]\n"
                           "}\n";
        s = load_fail("lab.json", spec, NULL);
        assert_string_equal(s, "lab.json:12:20: networks[2].ipv4.address: \"10.0.0.1/33\": prefix length must be 0..32");
        free(s);
}

static void test_syntax_error_position(void **state) {
        enum vnc_error_kind kind;
        char *s = load_fail("x.json", "{\n  \"version\": 1,\n  \"name\": tru\n}\n", &kind);
        assert_string_equal(s, "x.json:3:13: invalid JSON: invalid token near 'tru'");
        assert_int_equal(kind, VNC_ERR_PROFILE);
        free(s);
        s = load_fail("-", "", NULL);
        assert_string_equal(s, "<stdin>:1:0: invalid JSON: '[' or '{' expected near end of file");
        free(s);
}

static void test_model_nat(void **state) {
        struct vnc_profile *p = load_ok("profiles/nat.json");
        const struct vnc_network *n = &p->networks[0];
        char b[16];

        assert_string_equal(p->name, "natlab");
        assert_string_equal(p->file, "profiles/nat.json");
        assert_non_null(p->text);
        assert_int_equal(p->text_len, strlen(p->text));
        assert_string_equal(p->libvirt_uri, "qemu:///system");
        assert_int_equal(p->libvirt_define, VNC_LIBVIRT_AUTO);
        assert_int_equal(p->fw_backend, VNC_FW_AUTO);
        assert_int_equal(p->n_networks, 1);
        assert_string_equal(n->name, "natnet");
        assert_int_equal(n->mode, VNC_MODE_NAT);
        assert_string_equal(n->bridge, "vn-natnet");
        assert_int_equal(n->mtu, 1500);
        assert_true(n->has_ipv4);
        assert_string_equal(vnc_ipv4_str(n->ipv4.addr, b), "10.10.0.1");
        assert_int_equal(n->ipv4.prefix, 24);
        assert_true(n->has_dhcp);
        assert_string_equal(vnc_ipv4_str(n->dhcp.start, b), "10.10.0.100");
        assert_string_equal(vnc_ipv4_str(n->dhcp.end, b), "10.10.0.199");
        assert_int_equal(n->dhcp.lease_seconds, 3600);
        assert_int_equal(n->dhcp.n_hosts, 2);
        assert_memory_equal(n->dhcp.hosts[0].mac, ((uint8_t[]){0x52, 0x54, 0, 0, 0, 0x10}), 6);
        assert_string_equal(n->dhcp.hosts[0].name, "vm1");
        assert_true(n->has_nat);
        assert_string_equal(n->nat.uplink, "eth0");
        assert_int_equal(n->nat.n_forwards, 2);
        assert_int_equal(n->nat.forwards[0].proto, VNC_PROTO_TCP);
        assert_int_equal(n->nat.forwards[0].host_port, 2222);
        assert_int_equal(n->nat.forwards[0].guest_port, 22);
        assert_false(n->nat.forwards[0].has_host_address);
        assert_true(n->nat.forwards[1].has_host_address);
        assert_string_equal(vnc_ipv4_str(n->nat.forwards[1].host_address, b), "192.0.2.10");
        assert_true(n->allow_icmp);
        assert_true(n->libvirt);
        assert_int_equal(n->n_taps, 1);
        assert_string_equal(n->taps[0].name, "vm1-eth0");
        assert_true(n->taps[0].has_owner);
        assert_int_equal(n->taps[0].owner, 1000);
        assert_string_equal(n->taps[0].owner_name, "1000");
        assert_false(n->taps[0].has_group);
        assert_true(n->taps[0].vnet_hdr);
        assert_false(n->taps[0].multi_queue);
        assert_false(n->taps[0].has_mac);
        assert_int_equal(n->verify.n_targets, 1);
        assert_int_equal(n->verify.n_unreachable, 1);
        assert_false(n->verify.has_probe_address);
        vnc_profile_free(p);
}

static void test_model_defaults(void **state) {
        const char *text = "{\"version\": 1, \"name\": \"d\", \"libvirt\": {\"define\": false},"
                           " \"firewall\": {\"backend\": \"nftables\"}, \"networks\": ["
                           " {\"name\": \"abcdefghijkl\", \"mode\": \"host-only\", \"ipv4\": {\"address\": \"10.1.0.1/16\"},"
                           "  \"dhcp\": {\"start\": \"10.1.0.10\", \"end\": \"10.1.0.20\"}, \"allow_icmp\": false,"
                           "  \"taps\": [{\"name\": \"t0\", \"owner\": \"root\", \"group\": \"root\", \"mac\": \"FE:00:00:00:00:01\"}]},"
                           " {\"name\": \"v\", \"mode\": \"vlan\", \"vlan\": {\"id\": 4094, \"trunk\": \"eth1\"}, \"libvirt\": false}]}";
        struct vnc_error e = {0};
        struct vnc_profile *p = NULL;

        assert_int_equal(vnc_profile_load_buffer("-", text, strlen(text), &p, &e), 0);
        assert_string_equal(p->file, "-");
        assert_string_equal(p->libvirt_uri, "qemu:///system");
        assert_int_equal(p->libvirt_define, VNC_LIBVIRT_NO);
        assert_int_equal(p->fw_backend, VNC_FW_NFTABLES);
        assert_string_equal(p->networks[0].bridge, "vn-abcdefghijkl"); /* exactly 15 bytes */
        assert_int_equal(p->networks[0].mtu, 0);
        assert_int_equal(p->networks[0].dhcp.lease_seconds, 3600);
        assert_false(p->networks[0].allow_icmp);
        assert_true(p->networks[0].libvirt);
        assert_int_equal(p->networks[0].taps[0].owner, 0);
        assert_int_equal(p->networks[0].taps[0].group, 0);
        assert_true(p->networks[0].taps[0].has_mac);
        assert_int_equal(p->networks[0].taps[0].mac[0], 0xfe);
        assert_string_equal(p->networks[1].bridge, "vn-v");
        assert_true(p->networks[1].has_vlan);
        assert_string_equal(p->networks[1].vlan.interface, "eth1.4094");
        assert_false(p->networks[1].vlan.routed);
        assert_false(p->networks[1].has_ipv4);
        assert_false(p->networks[1].libvirt);

        int line, col;
        vnc_profile_locate(p, "networks[1].vlan.trunk", &line, &col);
        assert_int_equal(line, 1);
        assert_int_equal(col, (int)(strstr(text, "\"eth1\"") - text) + 1);
        vnc_profile_locate(p, "networks[1].bridge", &line, &col); /* a default: the network's position */
        assert_int_equal(col, (int)(strstr(text, "{\"name\": \"v\"") - text) + 1);
        vnc_profile_free(p);
}

static void test_jsonpos(void **state) {
        const char *text = "{\n"
                           "  \"a\": [1, {\"b\": \"x\"}],\n"
                           "  \"\\u00e9t\\u00e9\": \"\xc3\xa9\", \"c\": {\"d\": [[true], null]},\n"
                           "\t\"e\": -1.5e3\n"
                           "}";
        struct vnc_jsonpos *pos = NULL;
        int line, col;

        assert_int_equal(vnc_jsonpos_build(text, strlen(text), &pos), 0);
        assert_true(vnc_jsonpos_lookup(pos, "", false, &line, &col));
        assert_int_equal(line, 1);
        assert_int_equal(col, 1);
        assert_true(vnc_jsonpos_lookup(pos, "a", false, &line, &col));
        assert_int_equal(line, 2);
        assert_int_equal(col, 8);
        assert_true(vnc_jsonpos_lookup(pos, "a", true, &line, &col));
        assert_int_equal(col, 3);
        assert_true(vnc_jsonpos_lookup(pos, "a[0]", false, &line, &col));
        assert_int_equal(col, 9);
        assert_true(vnc_jsonpos_lookup(pos, "a[1].b", false, &line, &col));
        assert_int_equal(col, 18);
        assert_true(vnc_jsonpos_lookup(pos, "a[1].b", true, &line, &col));
        assert_int_equal(col, 13);
        /* Escaped key decoded; columns count characters, not bytes. */
        assert_true(vnc_jsonpos_lookup(pos, "\xc3\xa9t\xc3\xa9", false, &line, &col));
        assert_int_equal(line, 3);
        assert_int_equal(col, 20);
        assert_true(vnc_jsonpos_lookup(pos, "c", true, &line, &col));
        assert_int_equal(col, 25); /* the value before it is 2 bytes, 1 column */
        assert_true(vnc_jsonpos_lookup(pos, "c.d[0][0]", false, &line, &col));
        assert_int_equal(col, 38);
        assert_true(vnc_jsonpos_lookup(pos, "c.d[1]", false, &line, &col));
        assert_int_equal(col, 45);
        assert_true(vnc_jsonpos_lookup(pos, "e", false, &line, &col));
        assert_int_equal(line, 4);
        assert_int_equal(col, 7);
        assert_false(vnc_jsonpos_lookup(pos, "c.x", false, &line, &col));
        assert_int_equal(line, 0);
        assert_true(vnc_jsonpos_locate_near(pos, "c.x", false, &line, &col));
        assert_int_equal(col, 30);

        char *raw = vnc_jsonpos_raw(pos, text, strlen(text), "e", 64);
        assert_string_equal(raw, "-1.5e3");
        free(raw);
        raw = vnc_jsonpos_raw(pos, text, strlen(text), "a[1]", 8);
        assert_string_equal(raw, "{\"b\":...");
        free(raw);
        vnc_jsonpos_free(pos);

        /* Truncated text: the scan keeps what it saw. */
        assert_int_equal(vnc_jsonpos_build("{\"a\": [1, 2", 11, &pos), 0);
        assert_true(vnc_jsonpos_lookup(pos, "a[1]", false, &line, &col));
        assert_int_equal(col, 11);
        vnc_jsonpos_free(pos);
}

static void test_netaddr(void **state) {
        uint32_t ip;
        struct vnc_ipv4_prefix p, q;
        uint8_t mac[6];
        char b[16];

        assert_int_equal(vnc_ipv4_parse("192.168.1.254", &ip), 0);
        assert_int_equal(ip, 0xc0a801fe);
        assert_string_equal(vnc_ipv4_str(ip, b), "192.168.1.254");
        assert_true(vnc_ipv4_parse("1.2.3", &ip) < 0);
        assert_true(vnc_ipv4_parse("1.2.3.4.", &ip) < 0);
        assert_true(vnc_ipv4_parse("01.2.3.4", &ip) < 0);
        assert_true(vnc_ipv4_parse("1.2.3.256", &ip) < 0);
        assert_true(vnc_ipv4_parse(" 1.2.3.4", &ip) < 0);
        assert_true(vnc_ipv4_parse("1.2.3.4 ", &ip) < 0);
        assert_true(vnc_ipv4_parse("1.2.3.1234", &ip) < 0);
        assert_int_equal(vnc_ipv4_parse("0.0.0.0", &ip), 0);
        assert_int_equal(vnc_ipv4_prefix_parse("10.0.0.1/8", &p), 0);
        assert_int_equal(p.prefix, 8);
        assert_int_equal(vnc_ipv4_prefix_parse("10.0.0.1/0", &p), 0);
        assert_int_equal(vnc_ipv4_prefix_parse("10.0.0.1/32", &p), 0);
        assert_int_equal(vnc_ipv4_prefix_parse("10.0.0.1/33", &p), -ERANGE);
        assert_int_equal(vnc_ipv4_prefix_parse("10.0.0.1/", &p), -ERANGE);
        assert_int_equal(vnc_ipv4_prefix_parse("10.0.0.1/08", &p), -ERANGE);
        assert_int_equal(vnc_ipv4_prefix_parse("10.0.0.1", &p), -EINVAL);
        assert_int_equal(vnc_ipv4_prefix_parse("10.0.0/8", &p), -EINVAL);
        assert_int_equal(vnc_prefix_mask(0), 0);
        assert_int_equal(vnc_prefix_mask(24), 0xffffff00);
        assert_int_equal(vnc_prefix_mask(32), 0xffffffff);
        vnc_ipv4_prefix_parse("10.0.0.1/16", &p);
        vnc_ipv4_prefix_parse("10.0.200.1/24", &q);
        assert_true(vnc_prefix_overlap(&p, &q));
        assert_true(vnc_prefix_overlap(&q, &p));
        assert_true(vnc_ipv4_in(0x0a00ff01, &p));
        assert_false(vnc_ipv4_in(0x0a01ff01, &p));
        vnc_ipv4_prefix_parse("10.1.0.1/16", &q);
        assert_false(vnc_prefix_overlap(&p, &q));
        vnc_ipv4_prefix_parse("0.0.0.0/0", &q);
        assert_true(vnc_prefix_overlap(&p, &q));
        assert_int_equal(vnc_mac_parse("52:54:00:Ab:cD:ef", mac), 0);
        assert_memory_equal(mac, ((uint8_t[]){0x52, 0x54, 0, 0xab, 0xcd, 0xef}), 6);
        assert_true(vnc_mac_parse("52:54:00:ab:cd", mac) < 0);
        assert_true(vnc_mac_parse("52-54-00-ab-cd-ef", mac) < 0);
        assert_true(vnc_mac_parse("52:54:00:ab:cd:ef:", mac) < 0);
        assert_true(vnc_ifname_valid("eth0.100"));
        assert_true(vnc_ifname_valid("vn-abcdefghijkl"));
        assert_false(vnc_ifname_valid("vn-abcdefghijklm"));
        assert_false(vnc_ifname_valid(""));
        assert_false(vnc_ifname_valid("."));
        assert_false(vnc_ifname_valid(".."));
        assert_true(vnc_ifname_valid("..."));
        assert_false(vnc_ifname_valid("a/b"));
        assert_false(vnc_ifname_valid("a:b"));
        assert_true(vnc_name_valid("lab"));
        assert_true(vnc_name_valid("0-a_b"));
        assert_false(vnc_name_valid("_lab"));
        assert_false(vnc_name_valid("Lab"));
        assert_true(vnc_name_valid("abcdefghijklmnopqrstuvwxyz012345"));
        assert_false(vnc_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
        for (int m = 0; m < _VNC_MODE_MAX; m++)
                assert_int_equal(vnc_mode_from_string(vnc_mode_to_string(m)), m);
        assert_int_equal(vnc_mode_from_string("host_only"), _VNC_MODE_INVALID);
        assert_null(vnc_mode_to_string(_VNC_MODE_MAX));
        for (int f = 0; f < _VNC_FW_MAX; f++)
                assert_int_equal(vnc_fw_backend_from_string(vnc_fw_backend_to_string(f)), f);
        assert_int_equal(vnc_fw_backend_from_string("pf"), _VNC_FW_INVALID);
        assert_string_equal(vnc_mode_to_string(VNC_MODE_HOST_ONLY), "host-only");
}

static void test_lab_is_the_readme_demo(void **state) {
        struct vnc_profile *p = load_ok("profiles/lab.json");
        size_t routes = 0;

        assert_int_equal(p->n_networks, 3);
        assert_int_equal(p->networks[0].mode, VNC_MODE_HOST_ONLY);
        assert_int_equal(p->networks[0].n_taps, 2);
        assert_int_equal(p->networks[1].mode, VNC_MODE_ISOLATED);
        assert_int_equal(p->networks[1].n_taps, 1);
        assert_int_equal(p->networks[2].mode, VNC_MODE_ROUTED);
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct vnc_network *n = &p->networks[i];
                assert_memory_equal(n->bridge, "vn-", 3);
                assert_false(n->has_dhcp);
                assert_false(n->has_nat);
                if (n->has_ipv4)
                        assert_int_equal(n->ipv4.addr >> 24, 10);
                routes += n->n_routes;
        }
        assert_int_equal(routes, 1);
        vnc_profile_free(p);
}

static void test_stdin(void **state) {
        int fds[2];
        const char *text = "{\"version\": 1, \"name\": \"s\", \"networks\": [{\"name\": \"i\", \"mode\": \"isolated\"}]}";
        int saved = dup(STDIN_FILENO);
        struct vnc_error e = {0};
        struct vnc_profile *p = NULL;

        assert_int_equal(pipe(fds), 0);
        assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
        close(fds[1]);
        assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
        close(fds[0]);
        assert_int_equal(vnc_profile_load_file("-", &p, &e), 0);
        dup2(saved, STDIN_FILENO);
        close(saved);
        assert_string_equal(p->file, "-");
        assert_int_equal(p->text_len, strlen(text));
        assert_memory_equal(p->text, text, strlen(text));
        vnc_profile_free(p);
}

int main(void) {
        const char *src = getenv("VNC_SOURCE_DIR");
        if (!src)
                src = VNC_SOURCE_DIR;
        if (chdir(src) < 0) {
                perror(src);
                return 1;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_netaddr),
                cmocka_unit_test(test_jsonpos),
                cmocka_unit_test(test_examples_load),
                cmocka_unit_test(test_invalid_corpus),
                cmocka_unit_test(test_error_kinds),
                cmocka_unit_test(test_spec_example_line),
                cmocka_unit_test(test_syntax_error_position),
                cmocka_unit_test(test_model_nat),
                cmocka_unit_test(test_model_defaults),
                cmocka_unit_test(test_lab_is_the_readme_demo),
                cmocka_unit_test(test_stdin),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
