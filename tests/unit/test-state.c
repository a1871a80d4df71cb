/* SPDX-License-Identifier: MIT */
/* State dir and journal: permissions, write-ahead records, torn lines, generations. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "state.h"

static char base[256];

static int setup(void **state) {
        snprintf(base, sizeof(base), "/tmp/vnc-unit-state.XXXXXX");
        assert_non_null(mkdtemp(base));
        return 0;
}

static int teardown(void **state) {
        char cmd[300];
        /* rm -r without a shell: walk the known layout. */
        snprintf(cmd, sizeof(cmd), "%s/state/profiles/lab", base);
        for (int g = 0; g < 8; g++) {
                char f[400];
                snprintf(f, sizeof(f), "%s/gen-%d.journal", cmd, g);
                unlink(f);
                snprintf(f, sizeof(f), "%s/gen-%d.json", cmd, g);
                unlink(f);
        }
        rmdir(cmd);
        snprintf(cmd, sizeof(cmd), "%s/state/profiles", base);
        rmdir(cmd);
        snprintf(cmd, sizeof(cmd), "%s/state/lock", base);
        unlink(cmd);
        snprintf(cmd, sizeof(cmd), "%s/state", base);
        rmdir(cmd);
        rmdir(base);
        return 0;
}

static void test_refuses_unsafe_dir(void **st) {
        char dir[300];
        struct vnc_state s;
        struct vnc_error e = {0};

        snprintf(dir, sizeof(dir), "%s/state", base);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(dir, 0777), 0);
        assert_true(vnc_state_open(dir, &s, &e) < 0);
        assert_non_null(strstr(e.message, "not writable by group or others"));
        vnc_error_clear(&e);

        assert_int_equal(chmod(dir, 0700), 0);
        assert_int_equal(vnc_state_open(dir, &s, &e), 0);
        struct stat stt;
        char prof[400];
        snprintf(prof, sizeof(prof), "%s/profiles", dir);
        assert_int_equal(stat(prof, &stt), 0);
        assert_int_equal(stt.st_mode & 0777, 0700);
        vnc_state_close(&s);
}

static void test_symlink_state_dir_refused(void **st) {
        char dir[300], link[300];
        struct vnc_state s;
        struct vnc_error e = {0};

        snprintf(dir, sizeof(dir), "%s/state", base);
        snprintf(link, sizeof(link), "%s/link", base);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(symlink(dir, link), 0);
        assert_true(vnc_state_open(link, &s, &e) < 0);
        vnc_error_clear(&e);
        unlink(link);
}

static void test_journal_roundtrip(void **st) {
        char dir[300], path[400];
        struct vnc_state s;
        struct vnc_journal j;
        struct vnc_error e = {0};
        struct vnc_action acts[3], *undo = NULL;
        size_t n = 0;
        bool committed = true;

        snprintf(dir, sizeof(dir), "%s/state", base);
        assert_int_equal(vnc_state_open(dir, &s, &e), 0);
        assert_int_equal(vnc_state_lock(&s, 0, &e), 0);

        vnc_action_init(&acts[0], VNC_ACT_BRIDGE, VNC_OP_CREATE, "lab", "n");
        snprintf(acts[0].ifname, sizeof(acts[0].ifname), "vn-n");
        vnc_action_init(&acts[1], VNC_ACT_TAP, VNC_OP_CREATE, "lab", "n");
        snprintf(acts[1].ifname, sizeof(acts[1].ifname), "t1");
        vnc_action_init(&acts[2], VNC_ACT_ADDR, VNC_OP_CREATE, "lab", "n");
        snprintf(acts[2].ifname, sizeof(acts[2].ifname), "vn-n");
        acts[2].addr = (struct vnc_ipv4_prefix){0x0a000001, 24};

        assert_int_equal(vnc_journal_begin(&s, "lab", 1, &j, &e), 0);
        assert_int_equal(vnc_journal_record(&j, acts, 2, &e), 0);
        /* Before commit: an interrupted generation, whose inverses are all there. */
        assert_int_equal(vnc_journal_read(&s, "lab", 1, &undo, &n, &committed, &e), 0);
        assert_false(committed);
        assert_int_equal(n, 2);
        assert_int_equal(undo[0].op, VNC_OP_DELETE);
        assert_string_equal(undo[1].ifname, "t1");
        free(undo);

        assert_int_equal(vnc_journal_record(&j, acts + 2, 1, &e), 0);
        assert_int_equal(vnc_journal_commit(&j, &e), 0);
        vnc_journal_close(&j);
        assert_int_equal(vnc_journal_read(&s, "lab", 1, &undo, &n, &committed, &e), 0);
        assert_true(committed);
        assert_int_equal(n, 3);
        assert_int_equal(undo[2].kind, VNC_ACT_ADDR);
        assert_int_equal(undo[2].addr.addr, 0x0a000001);
        free(undo);

        snprintf(path, sizeof(path), "%s/profiles/lab/gen-1.journal", dir);
        struct stat stt;
        assert_int_equal(stat(path, &stt), 0);
        assert_int_equal(stt.st_mode & 0777, 0600);

        /* A torn last line (crash in the middle of a write) is ignored. */
        assert_int_equal(vnc_journal_begin(&s, "lab", 2, &j, &e), 0);
        assert_int_equal(vnc_journal_record(&j, acts, 1, &e), 0);
        assert_int_equal(write(j.fd, "do create tap prof", 18), 18);
        vnc_journal_close(&j);
        assert_int_equal(vnc_journal_read(&s, "lab", 2, &undo, &n, &committed, &e), 0);
        assert_int_equal(n, 1);
        assert_false(committed);
        free(undo);

        /* A damaged complete line is an error, never a silent skip. */
        snprintf(path, sizeof(path), "%s/profiles/lab/gen-3.journal", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "vnetcfg-journal 1\nundo delete wat\n", 34), 34);
        close(fd);
        assert_true(vnc_journal_read(&s, "lab", 3, &undo, &n, &committed, &e) < 0);
        assert_non_null(strstr(e.message, "line 2 is damaged"));
        vnc_error_clear(&e);

        unsigned *gens = NULL;
        size_t ng = 0;
        assert_int_equal(vnc_state_generations(&s, "lab", &gens, &ng), 0);
        assert_int_equal(ng, 3);
        assert_int_equal(gens[0], 1);
        assert_int_equal(gens[2], 3);
        free(gens);
        for (unsigned g = 3; g >= 1; g--)
                assert_int_equal(vnc_state_remove_generation(&s, "lab", g), 0);
        char **names = NULL;
        assert_int_equal(vnc_state_profiles(&s, &names, &ng), 0);
        assert_int_equal(ng, 0);
        vnc_strv_free(names, ng);
        vnc_state_close(&s);
}

static void test_lock_excludes(void **st) {
        char dir[300];
        struct vnc_state a, b;
        struct vnc_error e = {0};

        snprintf(dir, sizeof(dir), "%s/state", base);
        assert_int_equal(vnc_state_open(dir, &a, &e), 0);
        assert_int_equal(vnc_state_open(dir, &b, &e), 0);
        assert_int_equal(vnc_state_lock(&a, 0, &e), 0);
        assert_true(vnc_state_lock(&b, 0.1, &e) < 0);
        assert_int_equal(e.kind, VNC_ERR_LOCKED);
        vnc_error_clear(&e);
        vnc_state_close(&a);
        assert_int_equal(vnc_state_lock(&b, 0, &e), 0);
        vnc_state_close(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_refuses_unsafe_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlink_state_dir_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_roundtrip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_excludes, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
