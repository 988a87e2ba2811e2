/* The terminal prompt (cli/pin.c through cli/plat.h) on a real
 * pseudo-terminal: the PIN typed is read and never echoed, the terminal's
 * echo is back on afterwards, and a yes/no question reads the answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pty.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "cli/cli.h"

/* Runs fn in a child whose controlling terminal is a new pty; types
 * input into it after the prompt (and, when quiet, once the echo is off)
 * and returns what the terminal showed, and the child's exit status. */
static int on_pty(int (*fn)(void), bool quiet, const char *input, char *shown, size_t n)
{
    int master, slave;
    assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(master);
        alarm(30);      /* a prompt that never comes ends the child */
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        _exit(fn());
    }
    close(slave);
    /* Typed only once the prompt is there: the echo is off by then. */
    size_t got = 0;
    bool typed = false;
    for (;;) {
        ssize_t k = read(master, shown + got, n - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        shown[got] = '\0';
        if (!typed && strchr(shown, ':')) {
            /* The prompt comes before the echo goes off, and turning it
             * off (TCSAFLUSH) drops what was typed before: wait for it. */
            struct termios t;
            for (int i = 0; quiet && i < 5000; i++) {
                if (tcgetattr(master, &t) == 0 && !(t.c_lflag & ECHO))
                    break;
                usleep(1000);
            }
            assert_int_equal(write(master, input, strlen(input)), (ssize_t)strlen(input));
            typed = true;
        }
    }
    close(master);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static int read_pin_then_check_echo(void)
{
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t len;
    if (cli_pin_read(NULL, pin, sizeof pin, &len, err, sizeof err) != 0)
        return 1;
    if (len != 6 || strcmp(pin, "246810") != 0)
        return 2;
    struct termios t;
    int fd = open("/dev/tty", O_RDWR);
    if (fd < 0 || tcgetattr(fd, &t) != 0 || !(t.c_lflag & ECHO))
        return 3;       /* the echo must be back on */
    return 0;
}

static void test_pin_prompt_does_not_echo(void **state)
{
    (void)state;
    char shown[512];
    assert_int_equal(on_pty(read_pin_then_check_echo, true, "246810\n", shown, sizeof shown), 0);
    assert_non_null(strstr(shown, "PIN"));
    assert_null(strstr(shown, "246810"));
}

static int ask(void)
{
    return cli_ask_yes("Renew now? [y/N]: ") ? 0 : 1;
}

static void test_yes_no_question(void **state)
{
    (void)state;
    char shown[512];
    assert_int_equal(on_pty(ask, false, "y\n", shown, sizeof shown), 0);
    assert_int_equal(on_pty(ask, false, "n\n", shown, sizeof shown), 1);
}

static int no_tty(void)
{
    return cli_have_tty() ? 1 : 0;
}

static void test_no_terminal(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();       /* no controlling terminal at all */
        _exit(no_tty());
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_prompt_does_not_echo),
        cmocka_unit_test(test_yes_no_question),
        cmocka_unit_test(test_no_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
