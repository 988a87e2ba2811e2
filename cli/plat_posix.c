/* plat_posix.c: cli/plat.h on Linux. */
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

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
