/* linestamp: runs a command and prints each line of its output (stdout
 * and stderr) prefixed with the wall-clock time it arrived, in seconds with
 * microseconds: the clock of the virtual card's trace, so a step's lines
 * and its APDUs can be matched. First line "<t> START", last "<t> EXIT rc".
 *   linestamp COMMAND [ARGS...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char line[4096];
    int fd[2], st;
    pid_t pid;
    FILE *in;

    if (argc < 2) {
        fprintf(stderr, "usage: linestamp COMMAND [ARGS...]\n");
        return 2;
    }
    if (pipe(fd) != 0)
        return 1;
    printf("%.6f START\n", now());
    fflush(stdout);
    if ((pid = fork()) < 0)
        return 1;
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[1]);
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    close(fd[1]);
    if (!(in = fdopen(fd[0], "r")))
        return 1;
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\n")] = 0;
        printf("%.6f %s\n", now(), line);
        fflush(stdout);
    }
    fclose(in);
    if (waitpid(pid, &st, 0) < 0)
        return 1;
    printf("%.6f EXIT %d\n", now(), WIFEXITED(st) ? WEXITSTATUS(st) : 128);
    return 0;
}
