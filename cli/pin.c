/* pin.c: where the PIN comes from: a no-echo prompt on the terminal,
 * env:VAR, file:PATH, fd:N or a pinentry program (pinentry.c). Never argv. The buffer is the caller's,
 * bounded, and wiped here on every failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/plat.h"

int cli_pin_source_parse(const char *src, enum cli_pin_kind *kind, const char **arg,
                         int *fd, char *err, size_t errlen)
{
    *arg = NULL;
    *fd = -1;
    if (!src) {
        *kind = CLI_PIN_TTY;
        return 0;
    }
    if (strncmp(src, "env:", 4) == 0 && src[4]) {
        *kind = CLI_PIN_ENV;
        *arg = src + 4;
        return 0;
    }
    if (strncmp(src, "file:", 5) == 0 && src[5]) {
        *kind = CLI_PIN_FILE;
        *arg = src + 5;
        return 0;
    }
    if (strcmp(src, "pinentry") == 0) {
        *kind = CLI_PIN_PINENTRY;
        return 0;
    }
    if (strncmp(src, "fd:", 3) == 0 && src[3]) {
        char *end;
        long n = strtol(src + 3, &end, 10);
        if (!*end && n >= 0 && n < 65536) {
            *kind = CLI_PIN_FD;
            *fd = (int)n;
            return 0;
        }
    }
    snprintf(err, errlen, "--pin-source must be env:VAR, file:PATH, fd:N or pinentry "
                          "(never the PIN itself)");
    return RENEW_E_USAGE;
}

/* Reads up to a newline or EOF; at most bufsize-1 bytes are kept. */
static int read_line(int fd, char *buf, size_t bufsize, size_t *len, bool *too_long)
{
    size_t n = 0;
    *too_long = false;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0 || ch == '\n')
            break;
        if (n + 1 < bufsize)
            buf[n++] = ch;
        else
            *too_long = true;
        ch = 0;
    }
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    return 0;
}

static int tty_prompt(const char *prompt, char *buf, size_t bufsize, size_t *len,
                      bool *too_long)
{
    struct cli_tty *t = cli_plat_tty_open();
    if (!t)
        return -1;
    if (write(cli_plat_tty_out(t), prompt, strlen(prompt)) < 0 || !cli_plat_tty_echo(t, false)) {
        cli_plat_tty_close(t);
        return -1;
    }
    int rc = read_line(cli_plat_tty_in(t), buf, bufsize, len, too_long);
    cli_plat_tty_echo(t, true);
    if (write(cli_plat_tty_out(t), "\n", 1) < 0)
        rc = -1;
    cli_plat_tty_close(t);
    return rc;
}

int cli_pin_read(const char *src, char *buf, size_t bufsize, size_t *len,
                 char *err, size_t errlen)
{
    static const struct cli_secret pin = { "the PIN", "--pin-source",
                                           "Smartcard passcode (PIN): " };
    return cli_secret_read(&pin, src, buf, bufsize, len, err, errlen);
}

int cli_secret_read(const struct cli_secret *what, const char *src, char *buf,
                    size_t bufsize, size_t *len, char *err, size_t errlen)
{
    enum cli_pin_kind kind;
    const char *arg;
    int fd, rc;
    bool too_long = false;
    size_t max = bufsize < CLI_PIN_MAX + 1 ? bufsize : CLI_PIN_MAX + 1;
    *len = 0;
    if ((rc = cli_pin_source_parse(src, &kind, &arg, &fd, err, errlen)))
        return rc;
    switch (kind) {
    case CLI_PIN_TTY:
        if (tty_prompt(what->prompt, buf, max, len, &too_long) != 0) {
            snprintf(err, errlen, "no terminal to ask for %s: give %s "
                                  "env:VAR, file:PATH or fd:N", what->name, what->option);
            goto fail;
        }
        break;
    case CLI_PIN_ENV: {
        const char *v = getenv(arg);
        if (!v) {
            snprintf(err, errlen, "%s: the environment variable %s is not set: export it, or use file:PATH or fd:N", what->option, arg);
            goto fail;
        }
        size_t n = strlen(v);
        too_long = n >= max;
        if (!too_long) {
            memcpy(buf, v, n + 1);
            *len = n;
        }
        /* Wipe the environment's copy and keep it from any child process. */
        renew_wipe((char *)v, n);
        cli_plat_unsetenv(arg);
        break;
    }
    case CLI_PIN_FILE:
        fd = cli_plat_open_secret(arg);
        if (fd < 0) {
            snprintf(err, errlen, "%s: cannot read %s: %s (check the path)", what->option, arg, strerror(errno));
            goto fail;
        }
        rc = read_line(fd, buf, max, len, &too_long);
        close(fd);
        if (rc) {
            snprintf(err, errlen, "%s: cannot read %s", what->option, arg);
            goto fail;
        }
        break;
    case CLI_PIN_PINENTRY:
        /* pinentry's dialog asks for the smartcard PIN: no other secret. */
        if (strcmp(what->option, "--pin-source") != 0) {
            snprintf(err, errlen, "%s takes env:VAR, file:PATH or fd:N (pinentry asks for "
                                  "the PIN only)", what->option);
            goto fail;
        }
        if (cli_pin_pinentry(buf, max, len, err, errlen) != 0)
            goto fail;
        break;
    case CLI_PIN_FD:
        if (read_line(fd, buf, max, len, &too_long) != 0) {
            snprintf(err, errlen, "%s: cannot read file descriptor %d: %s", what->option,
                     fd, strerror(errno));
            goto fail;
        }
        break;
    }
    if (too_long) {
        snprintf(err, errlen, "%s is longer than %d characters: check %s", what->name,
                 CLI_PIN_MAX, what->option);
        goto fail;
    }
    if (*len == 0) {
        snprintf(err, errlen, "%s is empty: check %s", what->name, what->option);
        goto fail;
    }
    return 0;
fail:
    renew_wipe(buf, bufsize);
    *len = 0;
    return RENEW_E_USAGE;
}

bool cli_have_tty(void)
{
    struct cli_tty *t = cli_plat_tty_open();
    cli_plat_tty_close(t);
    return t != NULL;
}

bool cli_ask_yes(const char *question)
{
    char ans[16];
    size_t n;
    bool too_long;
    struct cli_tty *t = cli_plat_tty_open();
    if (!t)
        return false;
    bool ok = write(cli_plat_tty_out(t), question, strlen(question)) >= 0 &&
              read_line(cli_plat_tty_in(t), ans, sizeof ans, &n, &too_long) == 0 &&
              (ans[0] == 'y' || ans[0] == 'Y');
    cli_plat_tty_close(t);
    return ok;
}
