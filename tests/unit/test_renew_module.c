/* --module through p11-kit's module loading: a configured module by its
 * name, a file name in p11-kit's module folder, a path; $CARDRENEW_MODULE;
 * a name that is no module (usage) and a file that cannot be loaded (no
 * token), each with a line that names it. p11-kit's own trust module
 * (Debian's p11-kit package configures it) is the real module loaded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "renew/p11.h"

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* Loaded, it answers as a PKCS#11 module. */
static void assert_module(struct renew_plat_module *m)
{
    CK_INFO info;
    assert_non_null(m->f);
    assert_true(ends_with(m->path, "/p11-kit-trust.so"));
    assert_int_equal(m->f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(m->f->C_GetInfo(&info), CKR_OK);
    assert_int_equal(m->f->C_Finalize(NULL), CKR_OK);
    renew_plat_module_unload(m);
    assert_null(m->f);
}

static void test_by_name_file_and_path(void **state)
{
    (void)state;
    struct renew_plat_module m;
    struct renew_err e;
    assert_int_equal(renew_plat_module_load("p11-kit-trust", &m, &e), 0);
    char path[sizeof m.path];
    strcpy(path, m.path);
    assert_module(&m);
    assert_int_equal(renew_plat_module_load("p11-kit-trust.so", &m, &e), 0);
    assert_string_equal(m.path, path);
    assert_module(&m);
    assert_int_equal(renew_plat_module_load(path, &m, &e), 0);
    assert_module(&m);
}

static void test_errors(void **state)
{
    (void)state;
    struct renew_plat_module m;
    struct renew_err e;
    assert_int_equal(renew_plat_module_load("no-such-module-name", &m, &e), RENEW_E_USAGE);
    assert_non_null(strstr(e.msg, "no PKCS#11 module named \"no-such-module-name\""));
    assert_null(m.f);
    assert_int_equal(renew_plat_module_load("/nonexistent/x.so", &m, &e), RENEW_E_NO_TOKEN);
    assert_non_null(strstr(e.msg, "cannot load the PKCS#11 module /nonexistent/x.so"));
    assert_null(m.f);
    /* A file that is not a PKCS#11 module. */
    assert_int_equal(renew_plat_module_load("/etc/hostname", &m, &e), RENEW_E_NO_TOKEN);
    assert_null(m.f);
}

static void test_environment(void **state)
{
    (void)state;
    struct renew_p11 p;
    struct renew_err e;
    setenv("CARDRENEW_MODULE", "/nonexistent/env.so", 1);
    assert_int_equal(renew_p11_load(&p, NULL, &e), RENEW_E_NO_TOKEN);
    assert_non_null(strstr(e.msg, "/nonexistent/env.so"));
    /* A --module given wins over the environment. */
    assert_int_equal(renew_p11_load(&p, "p11-kit-trust", &e), 0);
    assert_true(ends_with(p.mod.path, "/p11-kit-trust.so"));
    renew_p11_unload(&p);
    unsetenv("CARDRENEW_MODULE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_name_file_and_path),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
