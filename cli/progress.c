/* progress.c: what every long-running command shows while it works: each
 * step with the time since it started (not with --quiet), engine detail
 * on stderr with --verbose, and the one-line error. */
#include <stdio.h>
#include <time.h>
#include "cli/cli.h"

void cli_progress_start(struct cli_progress *p, const struct cli_opts *o)
{
    p->o = o;
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
}

double cli_progress_elapsed(const struct cli_progress *p)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - p->t0.tv_sec) + (t.tv_nsec - p->t0.tv_nsec) / 1e9;
}

void cli_progress_step(void *arg, const char *what)
{
    const struct cli_progress *p = arg;
    if (!p->o->quiet) {
        printf("[%5.1fs] %s\n", cli_progress_elapsed(p), what);
        fflush(stdout);
    }
}

void cli_progress_debug(void *arg, const char *line)
{
    const struct cli_progress *p = arg;
    if (p->o->verbose)
        fprintf(stderr, "cardrenew: [%5.1fs] %s\n", cli_progress_elapsed(p), line);
}

int cli_fail(int code, const char *msg)
{
    fprintf(stderr, "cardrenew: %s\n", msg);
    return code;
}
