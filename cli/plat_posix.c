/* plat_posix.c: cli/plat.h on Linux. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <PCSC/winscard.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/plat.h"

struct cli_tty {
    int fd;
    bool changed;
    struct termios old;
};

struct cli_tty *cli_plat_tty_open(void)
{
    struct cli_tty *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (t->fd < 0) {
        free(t);
        return NULL;
    }
    return t;
}

int cli_plat_tty_in(const struct cli_tty *t)
{
    return t->fd;
}

int cli_plat_tty_out(const struct cli_tty *t)
{
    return t->fd;
}

bool cli_plat_tty_echo(struct cli_tty *t, bool on)
{
    struct termios now;
    if (!t->changed) {
        if (tcgetattr(t->fd, &t->old) != 0)
            return false;
        t->changed = true;
    }
    now = t->old;
    if (!on)
        now.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    now.c_lflag |= ICANON;
    return tcsetattr(t->fd, TCSAFLUSH, &now) == 0;
}

void cli_plat_tty_close(struct cli_tty *t)
{
    if (!t)
        return;
    if (t->changed)
        tcsetattr(t->fd, TCSAFLUSH, &t->old);
    close(t->fd);
    free(t);
}

/* pcsc-lite answers SCARD_E_NO_SERVICE when pcscd is not running (and its
 * socket cannot start it), SCARD_E_NO_READERS_AVAILABLE when it has no
 * reader. */
enum cli_pcsc_state cli_plat_pcsc_probe(void)
{
    SCARDCONTEXT ctx;
    SCARD_READERSTATE st[8];
    char *names = NULL;
    DWORD len = SCARD_AUTOALLOCATE, n = 0;
    enum cli_pcsc_state r = CLI_PCSC_UNKNOWN;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv == SCARD_E_NO_SERVICE)
        return CLI_PCSC_NO_SERVICE;
    if (rv != SCARD_S_SUCCESS)
        return CLI_PCSC_UNKNOWN;
    rv = SCardListReaders(ctx, NULL, (LPSTR)&names, &len);
    if (rv == SCARD_E_NO_READERS_AVAILABLE || (rv == SCARD_S_SUCCESS && (!names || !*names)))
        r = CLI_PCSC_NO_READER;
    else if (rv == SCARD_E_NO_SERVICE)
        r = CLI_PCSC_NO_SERVICE;
    else if (rv == SCARD_S_SUCCESS) {
        for (const char *p = names; *p && n < sizeof st / sizeof st[0]; p += strlen(p) + 1)
            st[n++] = (SCARD_READERSTATE){ .szReader = p, .dwCurrentState = SCARD_STATE_UNAWARE };
        r = CLI_PCSC_NO_CARD;
        if (SCardGetStatusChange(ctx, 0, st, n) == SCARD_S_SUCCESS) {
            for (DWORD i = 0; i < n; i++)
                if (st[i].dwEventState & SCARD_STATE_PRESENT)
                    r = CLI_PCSC_CARD;
        } else {
            r = CLI_PCSC_UNKNOWN;
        }
    }
    if (names)
        SCardFreeMemory(ctx, names);
    SCardReleaseContext(ctx);
    return r;
}

int cli_plat_open_secret(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC);
}

void cli_plat_unsetenv(const char *name)
{
    unsetenv(name);
}

void cli_plat_sysconfdir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    if (cli_sysconfdir_for(exe, out, outlen) != 0)
        snprintf(out, outlen, "/etc");
}
