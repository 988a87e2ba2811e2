/* The installed configuration directory follows the binary's prefix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "cli/cli.h"

static const char *dir_for(const char *exe)
{
    static char out[256];
    assert_int_equal(cli_sysconfdir_for(exe, out, sizeof out), 0);
    return out;
}

static void test_prefixes(void **state)
{
    (void)state;
    assert_string_equal(dir_for("/usr/bin/cardrenew"), "/etc");
    assert_string_equal(dir_for("/bin/cardrenew"), "/etc");
    assert_string_equal(dir_for("/usr/local/bin/cardrenew"), "/usr/local/etc");
    assert_string_equal(dir_for("/opt/cr/bin/cardrenew"), "/opt/cr/etc");
    /* Not an installed layout: the build tree, a bare name. */
    assert_string_equal(dir_for("/work/x/build/cardrenew"), "/etc");
    assert_string_equal(dir_for("/opt/cr/sbin/cardrenew"), "/etc");
    assert_string_equal(dir_for("/opt/xbin/cardrenew"), "/etc");
    assert_string_equal(dir_for("cardrenew"), "/etc");
    assert_string_equal(dir_for(""), "/etc");
}

static void test_too_long(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(cli_sysconfdir_for("/opt/long/bin/cardrenew", out, sizeof out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
