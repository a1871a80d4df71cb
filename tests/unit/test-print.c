/* SPDX-License-Identifier: MIT */
/*
 * The CLI's printer (cli/print.c): the same calls give the text and the JSON
 * document; PRINT_TEXT and PRINT_JSON keep a field to one form; and verify's
 * printer (cli/output.c) shows every JSON field of a check in its text line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli.h"

typedef void (*printer_fn)(const void *arg);

/* Runs fn under the printer in one mode; returns what it wrote (malloc'ed). */
static char *run(printer_fn fn, const void *arg, bool json, bool quiet) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        print_start(f, json);
        print_quiet(quiet);
        fn(arg);
        assert_int_equal(print_end(), 0);
        fclose(f);
        return buf;
}

static void link_fields(const void *arg) {
        print_string(PRINT_ANY, "name", "%s: ", "vn-lab");
        print_uint(PRINT_ANY, "mtu", "mtu %u ", 1500u);
        print_bool_word(PRINT_ANY, "up", "%s ", true, "UP", "DOWN");
        print_bool(PRINT_ANY, "stp", "stp %s ", false);
        print_int(PRINT_ANY, "deadline", "until %lld ", -5LL);
        print_size(PRINT_ANY, "ports", "ports %zu", (size_t)3);
        print_double(PRINT_ANY, "ms", " %.1f ms", 0.25);
        print_ms(PRINT_ANY, "rtt", " rtt %.1f ms", -1.0, "%s");
        print_string(PRINT_ANY, "alias", " alias %s", NULL);
        print_null(PRINT_ANY, "owner", " owner %s", "-");
        print_text("\n");
        print_open_array("addresses");
        print_string(PRINT_ANY, NULL, "    %s\n", "10.0.0.1/24");
        print_string(PRINT_ANY, NULL, "    %s\n", "10.0.1.1/24");
        print_close_array();
        print_open_object("counters");
        print_uint(PRINT_ANY, "rx", "  rx %u", 7u);
        print_uint(PRINT_ANY, "tx", " tx %u\n", 9u);
        print_close_object();
}

static void test_one_call_two_forms(void **state) {
        _cleanup_free_ char *text = run(link_fields, NULL, false, false);
        _cleanup_free_ char *json = run(link_fields, NULL, true, false);

        assert_string_equal(text, "vn-lab: mtu 1500 UP stp false until -5 ports 3 0.2 ms owner -\n"
                                  "    10.0.0.1/24\n"
                                  "    10.0.1.1/24\n"
                                  "  rx 7 tx 9\n");
        /* Keys in the order of the calls, indented as jansson writes with JSON_INDENT(2), then a newline. */
        assert_string_equal(json, "{\n"
                                  "  \"name\": \"vn-lab\",\n"
                                  "  \"mtu\": 1500,\n"
                                  "  \"up\": true,\n"
                                  "  \"stp\": false,\n"
                                  "  \"deadline\": -5,\n"
                                  "  \"ports\": 3,\n"
                                  "  \"ms\": 0.25,\n"
                                  "  \"rtt\": null,\n"
                                  "  \"alias\": null,\n"
                                  "  \"owner\": null,\n"
                                  "  \"addresses\": [\n"
                                  "    \"10.0.0.1/24\",\n"
                                  "    \"10.0.1.1/24\"\n"
                                  "  ],\n"
                                  "  \"counters\": {\n"
                                  "    \"rx\": 7,\n"
                                  "    \"tx\": 9\n"
                                  "  }\n"
                                  "}\n");
}

static void one_form_fields(const void *arg) {
        print_string(PRINT_ANY, "profile", "profile %s", "lab");
        print_string(PRINT_TEXT, "shown", " (text only %s)", "t");
        print_uint(PRINT_JSON, "generation", NULL, 4u);
        print_text(" -- decoration\n");
}

static void test_one_form_only(void **state) {
        _cleanup_free_ char *text = run(one_form_fields, NULL, false, false);
        _cleanup_free_ char *json = run(one_form_fields, NULL, true, false);
        _cleanup_free_ char *quiet = run(one_form_fields, NULL, false, true);
        _cleanup_free_ char *quiet_json = run(one_form_fields, NULL, true, true);

        assert_string_equal(text, "profile lab (text only t) -- decoration\n");
        assert_string_equal(json, "{\n  \"profile\": \"lab\",\n  \"generation\": 4\n}\n");
        assert_string_equal(quiet, ""); /* -q: no text */
        assert_string_equal(quiet_json, json); /* -q does not touch the JSON document */
}

static void empty_containers(const void *arg) {
        print_open_array("checks");
        print_close_array();
        print_open_object("verify");
        print_close_object();
}

static void test_empty(void **state) {
        _cleanup_free_ char *text = run(empty_containers, NULL, false, false);
        _cleanup_free_ char *json = run(empty_containers, NULL, true, false);

        assert_string_equal(text, "");
        assert_string_equal(json, "{\n  \"checks\": [],\n  \"verify\": {}\n}\n");
}

/*
 * Line first+i of text holds every value of element i of arr: strings as they
 * are, booleans as pass/FAIL, reals as "N.N ms" (the renderings of cli/output.c).
 */
static void each_value_in_its_line(json_t *arr, char *text, size_t first) {
        char *save = NULL, *line = strtok_r(text, "\n", &save);

        for (size_t i = 0; i < first; i++)
                line = strtok_r(NULL, "\n", &save);
        for (size_t i = 0; i < json_array_size(arr); i++, line = strtok_r(NULL, "\n", &save)) {
                json_t *o = json_array_get(arr, i), *val;
                const char *key;
                assert_non_null(line);
                json_object_foreach(o, key, val) {
                        char want[128];
                        if (json_is_string(val))
                                snprintf(want, sizeof(want), "%s", json_string_value(val));
                        else if (json_is_boolean(val))
                                snprintf(want, sizeof(want), "%s", json_is_true(val) ? "pass" : "FAIL");
                        else if (json_is_real(val))
                                snprintf(want, sizeof(want), "%.1f ms", json_real_value(val));
                        else
                                continue; /* null: nothing to show */
                        if (!strstr(line, want))
                                fail_msg("element %zu: \"%s\": %s is not in the text line \"%s\"", i, key, want, line);
                }
        }
}

static void verify_result(const void *arg) {
        cli_verify_print(arg);
}

/* Every value of a check's JSON object appears in its text line (the drift that "kind" once was). */
static void test_verify_every_field_in_text(void **state) {
        struct vnc_verify_result v = {0};

        assert_int_equal(vnc_verify_add(&v, "natnet", VNC_CHECK_TARGET_TCP, false, -1, strdup("target 192.0.2.2 tcp/443 answers"),
                                        strdup("TCP not forwarded")),
                         0);
        assert_int_equal(vnc_verify_add(&v, "natnet", VNC_CHECK_MTU, true, 0.5, strdup("mtu 1500 with DF: probe -> host"), NULL), 0);
        _cleanup_free_ char *text = run(verify_result, &v, false, false);
        _cleanup_free_ char *doc = run(verify_result, &v, true, false);

        assert_string_equal(text, "FAIL\n"
                                  "  FAIL  natnet     target-tcp     target 192.0.2.2 tcp/443 answers         "
                                  "           TCP not forwarded\n"
                                  "  pass  natnet     mtu            mtu 1500 with DF: probe -> host          "
                                  "   0.5 ms\n");
        json_t *root = json_loads(doc, 0, NULL);
        assert_non_null(root);
        assert_string_equal(json_string_value(json_object_get(root, "status")), "fail");
        assert_true(json_is_false(json_object_get(root, "ok")));
        json_t *checks = json_object_get(root, "checks");
        assert_int_equal(json_array_size(checks), 2);

        each_value_in_its_line(checks, text, 1);
        json_decref(root);
        vnc_verify_result_done(&v);
}

static void actions(const void *arg) {
        cli_actions_print(PRINT_ANY, "actions", arg, "  ");
}

/* A plan's actions: every JSON field in the text line, the network too (once JSON only). */
static void test_actions_every_field_in_text(void **state) {
        struct vnc_action a[2] = {
                {.kind = VNC_ACT_BRIDGE, .op = VNC_OP_CREATE, .profile = "lab", .network = "natnet",
                 .ifname = "vn-natnet", .mtu = 1500, .up = true},
                {.kind = VNC_ACT_SYSCTL, .op = VNC_OP_CREATE, .profile = "lab", .network = ""},
        };
        struct vnc_plan plan = {.actions = a, .n_actions = 2};
        _cleanup_free_ char *text = run(actions, &plan, false, false);
        _cleanup_free_ char *doc = run(actions, &plan, true, false);

        json_t *root = json_loads(doc, 0, NULL);
        assert_non_null(root);
        json_t *arr = json_object_get(root, "actions");
        assert_int_equal(json_array_size(arr), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "network")), "natnet");
        assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "network")), "");
        assert_non_null(strstr(text, "(network natnet)\n"));
        assert_null(strstr(text, "(network )")); /* a profile-wide action names no network */
        each_value_in_its_line(arr, text, 0);
        json_decref(root);
}

static void libvirt(const void *arg) {
        cli_status_libvirt(arg);
}

/* status's libvirt part: the daemon line (uri, error) and a network line each, found or missing. */
static void test_status_libvirt(void **state) {
        struct vnc_network nets[2] = {
                {.name = "labnet", .bridge = "vn-labnet", .libvirt = true},
                {.name = "gone", .bridge = "vn-gone", .libvirt = true},
        };
        struct vnc_profile p = {.name = "lab", .libvirt_define = VNC_LIBVIRT_AUTO, .networks = nets, .n_networks = 2};
        struct vnc_live_lvnet ln = {.name = "labnet", .bridge = "vn-labnet", .owner = "lab/labnet", .active = false,
                                    .persistent = true, .autostart = true};
        struct vnc_status_entry en = {.name = "lab", .applied = &p,
                                      .lv = {.state = VNC_LV_OK, .uri = "qemu:///system", .nets = &ln, .n_nets = 1}};
        _cleanup_free_ char *text = run(libvirt, &en, false, false);
        _cleanup_free_ char *doc = run(libvirt, &en, true, false);

        assert_string_equal(text, "  libvirt \"qemu:///system\": daemon answers\n"
                                  "  libvirt network labnet: defined, inactive, autostart on, bridge vn-labnet (drift: "
                                  "apply repairs it)\n"
                                  "  libvirt network gone: missing (undefined by someone; apply defines it again)\n");
        json_t *root = json_loads(doc, 0, NULL);
        assert_non_null(root);
        json_t *lv = json_object_get(root, "libvirt");
        assert_string_equal(json_string_value(json_object_get(lv, "daemon")), "answers");
        assert_true(json_is_null(json_object_get(lv, "error")));
        json_t *n0 = json_array_get(json_object_get(lv, "networks"), 0);
        json_t *n1 = json_array_get(json_object_get(lv, "networks"), 1);
        assert_string_equal(json_string_value(json_object_get(n0, "state")), "inactive");
        assert_true(json_is_false(json_object_get(n0, "active")));
        assert_true(json_is_true(json_object_get(n0, "drift")));
        assert_string_equal(json_string_value(json_object_get(n1, "state")), "missing");
        assert_true(json_is_null(json_object_get(n1, "bridge")));
        json_decref(root);

        /* No daemon: one line saying why; JSON still lists the networks, their state unknown. */
        en.lv.state = VNC_LV_UNREACHABLE;
        en.lv.error = "connection refused";
        _cleanup_free_ char *text2 = run(libvirt, &en, false, false);
        _cleanup_free_ char *doc2 = run(libvirt, &en, true, false);
        assert_string_equal(text2, "  libvirt \"qemu:///system\": daemon unreachable (connection refused)\n");
        root = json_loads(doc2, 0, NULL);
        assert_non_null(root);
        lv = json_object_get(root, "libvirt");
        assert_string_equal(json_string_value(json_object_get(lv, "error")), "connection refused");
        assert_string_equal(
                json_string_value(json_object_get(json_array_get(json_object_get(lv, "networks"), 1), "state")),
                "unknown");
        json_decref(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_call_two_forms),
                cmocka_unit_test(test_one_form_only),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_verify_every_field_in_text),
                cmocka_unit_test(test_actions_every_field_in_text),
                cmocka_unit_test(test_status_libvirt),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
