/* cardrenew.conf parsing and precedence: flags > environment > file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"

#ifdef _WIN32
/* msvcrt has no setenv: _putenv_s sets, and with "" removes, a variable. */
static int setenv(const char *name, const char *value, int overwrite)
{
    (void)overwrite;
    return _putenv_s(name, value);
}
static int unsetenv(const char *name)
{
    return _putenv_s(name, "");
}
#endif

static void test_parse(void **state)
{
    (void)state;
    struct cli_config c;
    char err[CLI_ERR_MAX];
    memset(&c, 0, sizeof c);
    c.renew_days = -1;
    assert_int_equal(cli_config_parse("# comment\n\n ca_url = http://ca:80/.well-known/cmp \n"
                                      "ca_cert=/etc/ca.pem\nrenew_days = 42\n"
                                      "module=softhsm2\ntoken=pkcs11:token=A\n"
                                      "exec = /usr/local/bin/after-renewal --all", "t", &c,
                                      err, sizeof err), 0);
    assert_string_equal(c.ca_url, "http://ca:80/.well-known/cmp");
    assert_string_equal(c.ca_cert, "/etc/ca.pem");
    assert_int_equal(c.renew_days, 42);
    assert_string_equal(c.module, "softhsm2");
    assert_string_equal(c.token, "pkcs11:token=A");
    assert_string_equal(c.exec, "/usr/local/bin/after-renewal --all");
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct cli_config c;
    char err[CLI_ERR_MAX];
    memset(&c, 0, sizeof c);
    assert_int_equal(cli_config_parse("ca_url http://x\n", "f.conf", &c, err, sizeof err),
                     RENEW_E_USAGE);
    assert_non_null(strstr(err, "f.conf:1"));
    assert_int_equal(cli_config_parse("\ncolour=blue\n", "f.conf", &c, err, sizeof err),
                     RENEW_E_USAGE);
    assert_non_null(strstr(err, "f.conf:2"));
    assert_int_equal(cli_config_parse("renew_days=lots\n", "f", &c, err, sizeof err),
                     RENEW_E_USAGE);
}

/* The CA's TLS trust and timeout: read, checked, and the environment's
 * timeout over the file's; all of it handed to renew/ as one struct. */
static void test_ca_settings(void **state)
{
    (void)state;
    struct cli_config c;
    struct cli_opts o = { .days = -1 };
    struct cli_settings s;
    char err[CLI_ERR_MAX];
    memset(&c, 0, sizeof c);
    c.renew_days = c.ca_timeout = -1;
    assert_int_equal(cli_config_parse("ca_url = https://ca/cmp\nca_tls_trust = /etc/tls.pem\n"
                                      "ca_timeout = 45\n", "t", &c, err, sizeof err), 0);
    assert_string_equal(c.ca_tls_trust, "/etc/tls.pem");
    assert_int_equal(c.ca_timeout, 45);
    unsetenv("CARDRENEW_CA_TIMEOUT");
    cli_settings_resolve(&o, &c, NULL, NULL, &s);
    struct renew_ca ca = cli_settings_ca(&s);
    assert_string_equal(ca.url, "https://ca/cmp");
    assert_string_equal(ca.tls_trust, "/etc/tls.pem");
    assert_int_equal(ca.timeout, 45);
    setenv("CARDRENEW_CA_TIMEOUT", "7", 1);
    cli_settings_resolve(&o, &c, NULL, NULL, &s);
    assert_int_equal(cli_settings_ca(&s).timeout, 7);
    unsetenv("CARDRENEW_CA_TIMEOUT");
    c.ca_timeout = -1;
    cli_settings_resolve(&o, &c, NULL, NULL, &s);
    assert_int_equal(cli_settings_ca(&s).timeout, 0);     /* renew/'s default */
    static const char *bad[] = { "0", "601", "soon", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "ca_timeout = %s\n", bad[i]);
        assert_int_equal(cli_config_parse(text, "f", &c, err, sizeof err), RENEW_E_USAGE);
        assert_non_null(strstr(err, "ca_timeout"));
    }
}

static void test_precedence(void **state)
{
    (void)state;
    struct cli_config c;
    struct cli_opts o;
    struct cli_settings s;
    memset(&c, 0, sizeof c);
    memset(&o, 0, sizeof o);
    o.days = -1;
    c.renew_days = -1;
    cli_settings_resolve(&o, &c, NULL, NULL, &s);
    assert_null(s.ca_url);
    assert_null(s.ca_cert);
    assert_int_equal(s.days, RENEW_DEFAULT_DAYS);

    strcpy(c.ca_url, "http://file/");
    strcpy(c.ca_cert, "file.pem");
    c.renew_days = 40;
    cli_settings_resolve(&o, &c, NULL, NULL, &s);
    assert_string_equal(s.ca_url, "http://file/");
    assert_string_equal(s.ca_cert, "file.pem");
    assert_int_equal(s.days, 40);

    cli_settings_resolve(&o, &c, "http://env/", "env.pem", &s);
    assert_string_equal(s.ca_url, "http://env/");
    assert_string_equal(s.ca_cert, "env.pem");

    o.ca_url = "http://flag/";
    o.ca_cert = "flag.pem";
    o.days = 7;
    cli_settings_resolve(&o, &c, "http://env/", "env.pem", &s);
    assert_string_equal(s.ca_url, "http://flag/");
    assert_string_equal(s.ca_cert, "flag.pem");
    assert_int_equal(s.days, 7);
}

static void test_load(void **state)
{
    (void)state;
    char path[] = "/tmp/test_cli_config.XXXXXX", err[CLI_ERR_MAX];
    struct cli_config c;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "ca_url=http://a/\n", 17), 17);
    close(fd);
    assert_int_equal(cli_config_load(path, &c, err, sizeof err), 0);
    assert_string_equal(c.ca_url, "http://a/");
    assert_int_equal(c.renew_days, -1);
    unlink(path);
    /* An explicit file that is missing is an error; a default one is not. */
    assert_int_equal(cli_config_load(path, &c, err, sizeof err), RENEW_E_USAGE);
    setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
    setenv("HOME", "/nonexistent", 1);
    assert_int_equal(cli_config_load(NULL, &c, err, sizeof err), 0);
}

/* A new file from a mkstemp template, or the named file rewritten. */
static void write_file(char *path, const char *text)
{
    size_t n = strlen(path);
    int fd = n >= 6 && strcmp(path + n - 6, "XXXXXX") == 0
                 ? mkstemp(path) : open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* The system's file, then the user's over it key by key: what the user
 * sets wins, what the user does not set stays the system's, an empty value
 * unsets one; a missing file of either is no error, a broken one is. */
static void test_layers(void **state)
{
    (void)state;
    char sys[] = "/tmp/test_cli_config_sys.XXXXXX", user[] = "/tmp/test_cli_config_user.XXXXXX";
    char err[CLI_ERR_MAX];
    struct cli_config c;
    struct cli_opts o = { .days = -1 };
    struct cli_settings s;
    write_file(sys, "ca_url = http://ca.nhs.example/cmp\nca_cert = /etc/ca.pem\n"
                    "renew_days = 42\nexec = /usr/local/bin/site-hook\n");
    write_file(user, "# mine\nca_cert = /home/jane/ca.pem\nexec =\n");
    assert_int_equal(cli_config_load_layers(sys, user, &c, err, sizeof err), 0);
    assert_string_equal(c.ca_url, "http://ca.nhs.example/cmp");
    assert_string_equal(c.ca_cert, "/home/jane/ca.pem");
    assert_int_equal(c.renew_days, 42);
    cli_settings_resolve(&o, &c, NULL, NULL, &s);
    assert_null(s.exec);
    assert_string_equal(s.ca_url, "http://ca.nhs.example/cmp");
    assert_int_equal(s.days, 42);
    /* Only one of them. */
    assert_int_equal(cli_config_load_layers(sys, "/nonexistent/cardrenew.conf", &c, err,
                                            sizeof err), 0);
    assert_string_equal(c.ca_cert, "/etc/ca.pem");
    assert_string_equal(c.exec, "/usr/local/bin/site-hook");
    assert_int_equal(cli_config_load_layers(NULL, user, &c, err, sizeof err), 0);
    assert_string_equal(c.ca_url, "");
    assert_int_equal(c.renew_days, -1);
    /* A broken user file is an error that names it, not a silent fallback. */
    write_file(user, "renew_days = soon\n");
    assert_int_equal(cli_config_load_layers(sys, user, &c, err, sizeof err), RENEW_E_USAGE);
    assert_non_null(strstr(err, user));
    unlink(sys);
    unlink(user);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_layers),
        cmocka_unit_test(test_ca_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
