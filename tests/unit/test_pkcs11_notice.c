/* test_pkcs11_notice.c: the change notice this user's processes leave
 * each other (pkcs11/notice.c). Another process's notice with a counter
 * this one has not seen ends the older sessions (the slot's epoch moves)
 * and marks the objects stale; a counter already seen, this process's own
 * notice, or no news at all changes nothing; a notice directory others
 * could write is not used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "pkcs11/p11.h"

static char base[64];
static struct p11_slot slot;
static const char serial[] = "0123456789ABCDEF";

/* A notice written by another process. */
static void publish_elsewhere(uint64_t counter, bool known)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        p11_notice_publish(serial, counter, known);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void slot_with_counter(uint64_t counter)
{
    memset(&slot, 0, sizeof(slot));
    slot.card = (struct card *)&slot;       /* never dereferenced here */
    snprintf(slot.serial, sizeof(slot.serial), "%s", serial);
    slot.have_counter = true;
    slot.counter = counter;
    p11_notice_baseline(&slot);
}

/* First, in a child, before this process has looked for its directory. */
static void test_unsafe_directory_unused(void **state)
{
    (void)state;
    char open_dir[80], notice[160];
    snprintf(open_dir, sizeof(open_dir), "%s/open", base);
    assert_int_equal(mkdir(open_dir, 0700), 0);
    char sub[100];
    snprintf(sub, sizeof(sub), "%s/cardrenew", open_dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    assert_int_equal(chmod(sub, 0777), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("XDG_RUNTIME_DIR", open_dir, 1);
        p11_notice_publish(serial, 7, true);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    snprintf(notice, sizeof(notice), "%s/%s", sub, serial);
    assert_int_not_equal(access(notice, F_OK), 0);
}

static void test_foreign_change_ends_old_sessions(void **state)
{
    (void)state;
    slot_with_counter(4);
    p11_notice_poll(&slot);
    assert_int_equal(slot.epoch, 0);        /* no notice yet */
    publish_elsewhere(5, true);
    p11_notice_poll(&slot);
    assert_int_equal(slot.epoch, 1);
    assert_false(slot.have_counter);        /* objects are read again */
    slot.have_counter = true;
    slot.counter = 5;
    p11_notice_poll(&slot);                 /* the same notice: no news */
    assert_int_equal(slot.epoch, 1);
    publish_elsewhere(6, false);            /* the writer could not count */
    p11_notice_poll(&slot);
    assert_int_equal(slot.epoch, 2);
}

static void test_known_counter_or_own_notice_change_nothing(void **state)
{
    (void)state;
    slot_with_counter(9);
    publish_elsewhere(9, true);             /* what we read already */
    p11_notice_poll(&slot);
    assert_int_equal(slot.epoch, 0);
    assert_true(slot.have_counter);
    p11_notice_publish(serial, 10, true);   /* this process's own */
    p11_notice_poll(&slot);
    assert_int_equal(slot.epoch, 0);
    /* Nothing cached yet: nothing to go stale. */
    slot_with_counter(1);
    slot.have_counter = false;
    publish_elsewhere(2, true);
    p11_notice_poll(&slot);
    assert_int_equal(slot.epoch, 0);
    /* A serial that could name another path is never used. */
    p11_notice_publish("../x", 1, true);
    char odd[160];
    snprintf(odd, sizeof(odd), "%s/x", base);
    assert_int_not_equal(access(odd, F_OK), 0);
}

int main(void)
{
    snprintf(base, sizeof(base), "/tmp/notice-test.XXXXXX");
    if (!mkdtemp(base))
        return 1;
    setenv("XDG_RUNTIME_DIR", base, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsafe_directory_unused),
        cmocka_unit_test(test_foreign_change_ends_old_sessions),
        cmocka_unit_test(test_known_counter_or_own_notice_change_nothing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
