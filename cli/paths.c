/* paths.c: where the installed configuration lives. make install puts
 * cardrenew in PREFIX/bin and its configuration in PREFIX/etc (/etc when
 * PREFIX is /usr), so the one binary finds its sysconfdir from where it
 * runs: an install under /opt/cr reads /opt/cr/etc, a package reads /etc.
 * A binary outside a bin/ directory (the build tree) reads /etc. On
 * Windows it is %PROGRAMDATA% (cli/plat.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/plat.h"

int cli_sysconfdir_for(const char *exe, char *out, size_t outlen)
{
    const char *slash = strrchr(exe, '/');
    size_t dir = slash ? (size_t)(slash - exe) : 0;
    int n;
    if (dir >= 4 && strncmp(exe + dir - 4, "/bin", 4) == 0) {
        size_t prefix = dir - 4;
        if ((prefix == 4 && strncmp(exe, "/usr", 4) == 0) || prefix == 0)
            n = snprintf(out, outlen, "/etc");
        else
            n = snprintf(out, outlen, "%.*s/etc", (int)prefix, exe);
    } else {
        n = snprintf(out, outlen, "/etc");
    }
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

const char *cli_sysconfdir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0])
        cli_plat_sysconfdir(dir, sizeof dir);
    return dir;
}
