/* hooks.c: what runs after a successful renewal, so that whatever trusted
 * the old public key (ssh authorized_keys, an ssh-agent, a pam_p11
 * mapping) can follow the new one: the --exec command (or the "exec"
 * setting) through /bin/sh -c, then every executable file of the hook
 * directory in name order. Each gets CARDRENEW_NEW_CERT and
 * CARDRENEW_OLD_CERT (PEM files, removed afterwards), CARDRENEW_SERIAL and
 * CARDRENEW_NOT_AFTER. A failing hook is reported in one line and never
 * undoes the renewal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "cli/cli.h"

const char *cli_hook_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("CARDRENEW_HOOK_DIR");
    if (env && *env)
        return env;
    snprintf(dir, sizeof dir, "%s/cardrenew/renewed.d", cli_sysconfdir());
    return dir;
}

/* DER -> PEM file; 0, or -1 when there is nothing to write or it fails. */
static int write_pem(const char *path, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = len ? d2i_X509(NULL, &p, (long)len) : NULL;
    int fd = x ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f && PEM_write_X509(f, x);
    if (f)
        ok = fclose(f) == 0 && ok;
    else if (fd >= 0)
        close(fd);
    X509_free(x);
    return ok ? 0 : -1;
}

/* Runs argv[0] with the hook environment; its exit status (or -1). */
static int run_one(char *const argv[], char *const envp[])
{
    pid_t pid = fork();
    int st;
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        for (size_t i = 0; envp[i]; i++)
            putenv(envp[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

static bool report(const char *what, int st)
{
    if (st == 0)
        return true;
    if (st == -1)
        fprintf(stderr, "cardrenew: the hook %s could not be run: the renewal itself is "
                        "done\n", what);
    else if (WIFSIGNALED(st))
        fprintf(stderr, "cardrenew: the hook %s was killed by signal %d: the renewal itself "
                        "is done\n", what, WTERMSIG(st));
    else
        fprintf(stderr, "cardrenew: the hook %s failed (exit %d): the renewal itself is "
                        "done\n", what, WEXITSTATUS(st));
    return false;
}

/* A file the hook directory runs: executable, not hidden, not a package
 * manager's or editor's leftover. */
static bool runnable(const char *dir, const char *name, char *path, size_t pathlen)
{
    size_t n = strlen(name);
    struct stat sb;
    if (name[0] == '.' || name[n - 1] == '~' || strstr(name, ".dpkg-") ||
        (int)pathlen <= snprintf(path, pathlen, "%s/%s", dir, name))
        return false;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int cli_run_hooks(const char *exec_cmd, const char *dir, const struct renew_result *res)
{
    char base[PATH_MAX], np[PATH_MAX + 8], op[PATH_MAX + 8], when[32];
    char e_new[PATH_MAX + 32], e_old[PATH_MAX + 32], e_serial[64], e_after[64];
    char *envp[5];
    size_t ne = 0;
    int failed = 0;
    const char *t = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/cardrenew-hook.XXXXXX", t && *t == '/' ? t : "/tmp");
    if (!mkdtemp(base)) {
        fprintf(stderr, "cardrenew: cannot make a directory for the hooks' certificates: "
                        "%s; no hook was run (the renewal itself is done)\n", strerror(errno));
        return 1;
    }
    snprintf(np, sizeof np, "%s/new.pem", base);
    snprintf(op, sizeof op, "%s/old.pem", base);
    if (write_pem(np, res->new_cert, res->new_cert_len) == 0) {
        snprintf(e_new, sizeof e_new, "CARDRENEW_NEW_CERT=%s", np);
        envp[ne++] = e_new;
    }
    if (write_pem(op, res->old_cert, res->old_cert_len) == 0) {
        snprintf(e_old, sizeof e_old, "CARDRENEW_OLD_CERT=%s", op);
        envp[ne++] = e_old;
    }
    snprintf(e_serial, sizeof e_serial, "CARDRENEW_SERIAL=%s", res->serial);
    envp[ne++] = e_serial;
    cli_iso_date(res->new_not_after, when, sizeof when);
    snprintf(e_after, sizeof e_after, "CARDRENEW_NOT_AFTER=%s", when);
    envp[ne++] = e_after;
    envp[ne] = NULL;

    if (exec_cmd && *exec_cmd) {
        char *argv[] = { "/bin/sh", "-c", (char *)exec_cmd, NULL };
        char what[600];
        snprintf(what, sizeof what, "--exec \"%s\"", exec_cmd);
        failed += !report(what, run_one(argv, envp));
    }
    struct dirent **ents = NULL;
    int n = dir ? scandir(dir, &ents, NULL, by_name) : -1;
    if (n < 0 && dir && errno != ENOENT) {
        fprintf(stderr, "cardrenew: cannot read the hook directory %s: %s (the renewal "
                        "itself is done)\n", dir, strerror(errno));
        failed++;
    }
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (runnable(dir, ents[i]->d_name, path, sizeof path)) {
            char *argv[] = { path, NULL };
            failed += !report(path, run_one(argv, envp));
        }
        free(ents[i]);
    }
    free(ents);
    unlink(np);
    unlink(op);
    rmdir(base);
    return failed;
}
