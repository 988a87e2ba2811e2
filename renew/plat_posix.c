/* plat_posix.c: renew/plat.h on Linux (glibc). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string.h>
#include <p11-kit/uri.h>

#include "renew/plat.h"
#include "renew/renew.h"

void *renew_plat_module_open(const char *path, char *err, size_t errlen)
{
    void *m = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m)
        snprintf(err, errlen, "%s", dlerror());
    return m;
}

void *renew_plat_module_sym(void *module, const char *name)
{
    return dlsym(module, name);
}

void renew_plat_module_close(void *module)
{
    dlclose(module);
}

void renew_plat_module_dir(char *out, size_t outlen)
{
    Dl_info info;
    void *sym;
    *(void **)&sym = (void *)p11_kit_uri_new;
    if (dladdr(sym, &info) && info.dli_fname && strrchr(info.dli_fname, '/')) {
        snprintf(out, outlen, "%.*s/pkcs11",
                 (int)(strrchr(info.dli_fname, '/') - info.dli_fname), info.dli_fname);
        return;
    }
    snprintf(out, outlen, "/usr/lib/pkcs11");
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

void renew_plat_kill_self(void)
{
    raise(SIGKILL);
}
