/* plat_win.c: cli/plat.h on Windows: the console, whatever stdin and
 * stdout are; and what Windows does instead of the POSIX services of
 * hooks.c, pinentry.c, notify.c and log.c, which its build leaves out. */
#include <windows.h>
#include <winscard.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/plat.h"

struct cli_tty {
    int in, out;
    HANDLE hin;
    bool changed;
    DWORD old;
};

struct cli_tty *cli_plat_tty_open(void)
{
    struct cli_tty *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    HANDLE in = CreateFileA("CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL,
                            OPEN_EXISTING, 0, NULL);
    HANDLE out = CreateFileA("CONOUT$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_WRITE, NULL,
                             OPEN_EXISTING, 0, NULL);
    DWORD mode;
    t->in = t->out = -1;
    if (in != INVALID_HANDLE_VALUE && GetConsoleMode(in, &mode))
        t->in = _open_osfhandle((intptr_t)in, _O_RDONLY | _O_BINARY);
    if (out != INVALID_HANDLE_VALUE)
        t->out = _open_osfhandle((intptr_t)out, _O_WRONLY | _O_BINARY);
    if (t->in < 0 || t->out < 0) {
        if (t->in >= 0)
            _close(t->in);
        else if (in != INVALID_HANDLE_VALUE)
            CloseHandle(in);
        if (t->out >= 0)
            _close(t->out);
        else if (out != INVALID_HANDLE_VALUE)
            CloseHandle(out);
        free(t);
        return NULL;
    }
    t->hin = in;
    return t;
}

int cli_plat_tty_in(const struct cli_tty *t)
{
    return t->in;
}

int cli_plat_tty_out(const struct cli_tty *t)
{
    return t->out;
}

bool cli_plat_tty_echo(struct cli_tty *t, bool on)
{
    if (!t->changed) {
        if (!GetConsoleMode(t->hin, &t->old))
            return false;
        t->changed = true;
    }
    DWORD now = t->old | ENABLE_LINE_INPUT;
    if (on)
        now |= ENABLE_ECHO_INPUT;
    else
        now &= ~(DWORD)ENABLE_ECHO_INPUT;
    return SetConsoleMode(t->hin, now) != 0;
}

void cli_plat_tty_close(struct cli_tty *t)
{
    if (!t)
        return;
    if (t->changed)
        SetConsoleMode(t->hin, t->old);
    _close(t->in);
    _close(t->out);
    free(t);
}

/* Since Windows 8 the Smart Card service starts when a reader is connected
 * and stops after the last one is removed: SCARD_E_NO_SERVICE there most
 * often means no reader. Whether a reader holds a card is left UNKNOWN. */
enum cli_pcsc_state cli_plat_pcsc_probe(void)
{
    SCARDCONTEXT ctx;
    DWORD len = 0;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_USER, NULL, NULL, &ctx);
    if (rv == SCARD_E_NO_SERVICE)
        return CLI_PCSC_NO_READER;
    if (rv != SCARD_S_SUCCESS)
        return CLI_PCSC_UNKNOWN;
    rv = SCardListReadersA(ctx, NULL, NULL, &len);
    SCardReleaseContext(ctx);
    return rv == SCARD_E_NO_READERS_AVAILABLE ? CLI_PCSC_NO_READER : CLI_PCSC_UNKNOWN;
}

int cli_plat_open_secret(const char *path)
{
    return _open(path, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
}

void cli_plat_unsetenv(const char *name)
{
    /* The process's environment, which CreateProcess hands on. Not the C
     * runtime's copy (the caller wiped the value there): msvcrt's _putenv
     * moves that copy's strings, and pointers from getenv held elsewhere
     * (the CA's URL) would then read freed memory. */
    SetEnvironmentVariableA(name, NULL);
}

void cli_plat_sysconfdir(char *out, size_t outlen)
{
    const char *pd = getenv("PROGRAMDATA");
    snprintf(out, outlen, "%s", pd && *pd ? pd : "C:\\ProgramData");
}

/* No hooks: nothing on Windows runs a command after a renewal yet. Asked
 * for (--exec, the exec setting, CARDRENEW_HOOK_DIR), it is one line each
 * and a failure, never an undone renewal. */
const char *cli_hook_dir(void)
{
    const char *env = getenv("CARDRENEW_HOOK_DIR");
    return env ? env : "";
}

int cli_run_hooks(const char *exec_cmd, const char *dir, const struct renew_result *res)
{
    int failed = 0;
    (void)res;
    if (exec_cmd && *exec_cmd) {
        fprintf(stderr, "cardrenew: --exec (the exec setting) is not available on Windows: "
                        "\"%s\" was not run\n", exec_cmd);
        failed++;
    }
    if (dir && *dir) {
        fprintf(stderr, "cardrenew: hook directories are not available on Windows: nothing "
                        "in %s was run (unset CARDRENEW_HOOK_DIR)\n", dir);
        failed++;
    }
    return failed;
}

int cli_pin_pinentry(char *buf, size_t bufsize, size_t *len, char *err, size_t errlen)
{
    renew_wipe(buf, bufsize);
    *len = 0;
    snprintf(err, errlen, "--pin-source pinentry is not available on Windows: leave out "
                          "--pin-source to type the PIN at the console, or give env:VAR, "
                          "file:PATH or fd:N");
    return RENEW_E_USAGE;
}

/* The reminder of --check --notify: a message on the console, where the
 * desktop notification would be on Linux. */
void cli_remind(const struct cli_opts *o, const struct renew_cert_info *c, size_t n, int rc,
                const char *line)
{
    const struct renew_cert_info *soon = cli_soonest(c, n);
    char d[32];
    (void)o;
    if (!soon || (rc != RENEW_CHECK_DUE && rc != RENEW_CHECK_EXPIRED))
        return;
    cli_date(soon->not_after, d, sizeof d);
    if (rc == RENEW_CHECK_DUE)
        printf("Smartcard expiry notification: the security certificate for your Smartcard "
               "expires on %s (%ld day%s left). Renew it now with cardrenew --renew: it takes "
               "about a minute and needs your PIN.\n", d, soon->days_left,
               soon->days_left == 1 ? "" : "s");
    else
        printf("Your Smartcard has expired: %s\n", line);
    fflush(stdout);
}

/* No system log on Windows (the Event Log is not written): the console
 * output of --renew is the record. */
void cli_log_renewal(int code, const struct renew_result *res, const char *msg)
{
    (void)code;
    (void)res;
    (void)msg;
}
