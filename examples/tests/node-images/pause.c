/* The pause program: PID 1 of every pod sandbox the real-node tests run. It holds the pod's
 * namespaces, reaps every child that is handed to it, and exits 0 on SIGINT or SIGTERM.
 * Built statically (gcc -static) by scripts/build-node-software.sh into the pause image. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) {
    (void)sig;
    _exit(0);
}

static void reap(int sig) {
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v') {
        printf("pause (clusterdef tests)\n");
        return 0;
    }
    if (getpid() != 1) {
        fprintf(stderr, "pause: warning: not PID 1\n");
    }
    struct sigaction quit_action = {.sa_handler = quit};
    struct sigaction reap_action = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
    if (sigaction(SIGINT, &quit_action, NULL) < 0 || sigaction(SIGTERM, &quit_action, NULL) < 0 ||
        sigaction(SIGCHLD, &reap_action, NULL) < 0) {
        return 1;
    }
    for (;;) {
        pause();
    }
}
