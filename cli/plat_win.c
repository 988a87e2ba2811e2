/* plat_win.c: cli/plat.h on Windows: the console, whatever stdin and
 * stdout are. */
#include <windows.h>
#include <winscard.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>

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
