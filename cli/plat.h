/* plat.h: what the CLI does differently on POSIX and on Windows. One file
 * per platform, chosen by the Makefile: plat_posix.c (Linux) and
 * plat_win.c (Windows). The Windows build leaves out hooks.c, pinentry.c,
 * notify.c and log.c (fork and exec, D-Bus, syslog): plat_win.c has their
 * entry points of cli.h, which say what Windows does instead. */
#ifndef CARDRENEW_CLI_PLAT_H
#define CARDRENEW_CLI_PLAT_H

#include <stdbool.h>
#include <stddef.h>

/* The terminal the user types at, whatever stdin and stdout are: /dev/tty,
 * or the console (CONIN$ and CONOUT$). NULL when there is none. */
struct cli_tty;
struct cli_tty *cli_plat_tty_open(void);
int cli_plat_tty_in(const struct cli_tty *t);       /* a descriptor to read */
int cli_plat_tty_out(const struct cli_tty *t);      /* a descriptor to write */
/* Whole lines, echoed or not (a PIN is not); false when it cannot be set. */
bool cli_plat_tty_echo(struct cli_tty *t, bool on);
/* Closes it, with the echo as it was. */
void cli_plat_tty_close(struct cli_tty *t);

/* What PC/SC itself says, asked when a PKCS#11 module shows no smartcard:
 * whether the service runs, whether it has readers, and whether one holds
 * a card. UNKNOWN when it cannot tell. */
enum cli_pcsc_state {
    CLI_PCSC_UNKNOWN, CLI_PCSC_NO_SERVICE, CLI_PCSC_NO_READER, CLI_PCSC_NO_CARD, CLI_PCSC_CARD
};
enum cli_pcsc_state cli_plat_pcsc_probe(void);

/* A file holding a secret, opened to read and kept from child processes:
 * a descriptor, or -1 with errno set. */
int cli_plat_open_secret(const char *path);
/* Removes a variable from this process's environment and its children's. */
void cli_plat_unsetenv(const char *name);
/* The installed configuration directory: PREFIX/etc from where cardrenew
 * runs (cli_sysconfdir_for); %PROGRAMDATA% on Windows. */
void cli_plat_sysconfdir(char *out, size_t outlen);

#endif
