/* plat_posix.c: card/plat.h on Linux (glibc). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card/plat.h"

const char *plat_getenv(const char *name)
{
    return secure_getenv(name);
}

long plat_pid(void)
{
    return (long)getpid();
}

void plat_atfork_child(void (*fn)(void))
{
    pthread_atfork(NULL, NULL, fn);
}

void plat_now(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

void plat_sleep_ms(unsigned ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

void plat_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

int plat_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *t)
{
    return pthread_cond_timedwait(cv, m, t);
}

static void keep_loaded(void)
{
    Dl_info info;
    if (dladdr((void *)keep_loaded, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

static pthread_once_t keep_once = PTHREAD_ONCE_INIT;

int plat_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    /* Signals stay with the application's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        pthread_once(&keep_once, keep_loaded);
    return rc;
}

FILE *plat_fopen_append(const char *path)
{
    return fopen(path, "ae");
}

void plat_file_lock(FILE *f)
{
    flockfile(f);
}

void plat_file_unlock(FILE *f)
{
    funlockfile(f);
}

FILE *plat_fopen_read(const char *path)
{
    return fopen(path, "re");
}

bool plat_private_dir(const char *name, char *out, size_t n, const char **why)
{
    static char reason[300];
    const char *x = secure_getenv("XDG_RUNTIME_DIR");
    int len;
    *why = NULL;
    if (x && x[0] == '/')
        len = snprintf(out, n, "%s/%s", x, name);
    else
        len = snprintf(out, n, "/tmp/%s-%u", name, (unsigned)getuid());
    if (len < 0 || (size_t)len >= n)
        return false;
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        snprintf(reason, sizeof(reason), "cannot make %s", out);
        *why = reason;
        return false;
    }
    struct stat st;
    if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 077)) {
        snprintf(reason, sizeof(reason), "%s is not a private directory", out);
        *why = reason;
        return false;
    }
    return true;
}

bool plat_replace_file(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return false;
    bool ok = write(fd, data, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
    /* rename: a reader sees the old content or the new, never half. */
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return false;
    }
    return true;
}

void plat_stamp_of(const char *path, struct plat_stamp *out)
{
    struct stat st;
    memset(out, 0, sizeof(*out));
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    out->exists = true;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->size = (unsigned long long)st.st_size;
    out->mtime_s = st.st_mtim.tv_sec;
    out->mtime_ns = st.st_mtim.tv_nsec;
    out->ctime_s = st.st_ctim.tv_sec;
    out->ctime_ns = st.st_ctim.tv_nsec;
}
