/* plat_posix.c: renew/plat.h on Linux (glibc). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string.h>
#include <p11-kit/p11-kit.h>
#include <openssl/x509.h>

#include "renew/plat.h"
#include "renew/renew.h"

static int load_path(const char *path, struct renew_plat_module *m, struct renew_err *e)
{
    m->f = p11_kit_module_load(path, P11_KIT_MODULE_UNMANAGED);
    if (!m->f) {
        const char *why = p11_kit_message();
        return renew_fail(e, RENEW_E_NO_TOKEN,
                          "cannot load the PKCS#11 module %s (%s): install it or give "
                          "--module PATH", path, why ? why : "not found");
    }
    char *file = p11_kit_module_get_filename(m->f);
    snprintf(m->path, sizeof m->path, "%s", file ? file : path);
    free(file);
    return 0;
}

/* A module p11-kit is configured with (its .module files, the user's too
 * when not root), by name; false when there is none of that name. Loading
 * them all is p11-kit's only way to read the configuration; the others
 * are released at once. */
static bool load_configured(const char *name, struct renew_plat_module *m)
{
    CK_FUNCTION_LIST **all = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);
    if (!all)
        return false;
    m->f = p11_kit_module_for_name(all, name);
    for (size_t i = 0; all[i]; i++)
        if (all[i] != m->f)
            p11_kit_module_release(all[i]);
    free(all);
    if (!m->f)
        return false;
    char *file = p11_kit_module_get_filename(m->f);
    snprintf(m->path, sizeof m->path, "%s", file ? file : name);
    free(file);
    return true;
}

int renew_plat_module_load(const char *arg, struct renew_plat_module *m, struct renew_err *e)
{
    memset(m, 0, sizeof *m);
    if (!arg || !*arg) {
        char path[sizeof m->path];
        renew_plat_installed_module(path, sizeof path);
        return load_configured("cardrenew", m) ? 0 : load_path(path, m, e);
    }
    if (strchr(arg, '/'))
        return load_path(arg, m, e);
    if (load_configured(arg, m))
        return 0;
    /* A file name: p11-kit looks in its module folder. */
    if (strstr(arg, ".so"))
        return load_path(arg, m, e);
    return renew_fail(e, RENEW_E_USAGE,
                      "no PKCS#11 module named \"%s\": give --module PATH to the .so", arg);
}

void renew_plat_module_unload(struct renew_plat_module *m)
{
    if (m->f)
        p11_kit_module_release(m->f);
    m->f = NULL;
}

void renew_plat_installed_module(char *out, size_t outlen)
{
    snprintf(out, outlen, "/usr/local/lib/pkcs11/cardrenew-pkcs11.so");
}

int renew_plat_state_dir(char *out, size_t outlen, struct renew_err *e)
{
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    if (x && x[0] == '/')
        n = snprintf(out, outlen, "%s/cardrenew", x);
    else if (home && home[0] == '/')
        n = snprintf(out, outlen, "%s/.local/state/cardrenew", home);
    else
        return renew_fail(e, RENEW_E_USAGE,
                          "cannot find a place for the renewal journal: set HOME or XDG_STATE_HOME");
    if (n < 0 || (size_t)n >= outlen)
        return renew_fail(e, RENEW_E_USAGE, "the state directory path is too long: set a shorter XDG_STATE_HOME");
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int renew_plat_replace_durable(const char *path, const void *data, size_t len, bool *moved)
{
    char tmp[600], dir[600];
    *moved = false;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return ENAMETOOLONG;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    int err = write_all(fd, data, len) != 0 || fsync(fd) != 0 ? errno : 0;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        return err;
    }
    *moved = true;
    /* The rename is durable once the directory is. */
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    err = dfd < 0 || fsync(dfd) != 0 ? errno : 0;
    if (dfd >= 0)
        close(dfd);
    return err;
}

int renew_plat_create_new(const char *path, int *fd)
{
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return *fd < 0 ? errno : 0;
}

int renew_plat_sync(int fd)
{
    return fsync(fd) != 0 ? errno : 0;
}

int renew_plat_lock(const char *path, int *fd)
{
    *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
        return errno;
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        *fd = -1;
        return EWOULDBLOCK;
    }
    return 0;
}

int renew_plat_dir_ready(const char *dir, struct renew_err *e)
{
    char tmp[512];
    struct stat st;
    int n = snprintf(tmp, sizeof tmp, "%s", dir), bad = n < 0 || (size_t)n >= sizeof tmp;
    for (char *p = tmp + 1; !bad && *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        bad = mkdir(tmp, 0700) != 0 && errno != EEXIST;
        *p = '/';
    }
    if (bad || (mkdir(tmp, 0700) != 0 && errno != EEXIST))
        return renew_fail(e, RENEW_E_USAGE, "cannot create the journal directory %s: %s (check XDG_STATE_HOME)",
                          dir, strerror(bad && n >= 0 && (size_t)n >= sizeof tmp ? ENAMETOOLONG : errno));
    if (lstat(dir, &st) != 0)
        return renew_fail(e, RENEW_E_USAGE, "cannot read the journal directory %s: %s", dir,
                          strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return renew_fail(e, RENEW_E_USAGE,
                          "the journal directory %s is not a directory (a link?): remove it and retry", dir);
    if (st.st_uid != geteuid() || (st.st_mode & 022))
        return renew_fail(e, RENEW_E_USAGE,
                          "the journal directory %s belongs to someone else or others may write to it: "
                          "make it yours with mode 0700 (chmod 700)", dir);
    return 0;
}

int renew_plat_read_own(const char *path, size_t max, char **text, size_t *len)
{
    struct stat st;
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = 0;
    char *buf = NULL;
    ssize_t n = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
        err = EPERM;
    else if ((size_t)st.st_size > max)
        err = EFBIG;
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        err = ENOMEM;
    else if ((n = read(fd, buf, (size_t)st.st_size)) != st.st_size)
        err = EIO;
    close(fd);
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *text = buf;
    *len = (size_t)n;
    return 0;
}

int renew_plat_move_new(const char *from, const char *to)
{
    /* link + unlink: link never replaces what is there. */
    if (link(from, to) != 0)
        return errno;
    return unlink(from) != 0 ? errno : 0;
}

int renew_plat_default_trust(X509_STORE *store)
{
    return X509_STORE_set_default_paths(store);
}

void renew_plat_kill_self(void)
{
    raise(SIGKILL);
}
