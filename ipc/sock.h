/* The control socket: SOCK_SEQPACKET under $XDG_RUNTIME_DIR/lull/, one
 * packet per message, file descriptors passed with SCM_RIGHTS. */
#ifndef LULL_SOCK_H
#define LULL_SOCK_H

#include <stddef.h>
#include <sys/types.h>

#define SOCK_MAX_FDS 4

/* The socket path: $LULL_SOCKET, else $XDG_RUNTIME_DIR/lull/socket.
 * Returns 0 or -ENOENT (no XDG_RUNTIME_DIR) / -ENAMETOOLONG. */
int sock_default_path(char *buf, size_t len);

/* Server: creates the directory (0700) if needed, refuses with -EADDRINUSE
 * when another server answers on path, removes a stale socket file, binds
 * and listens. Returns the listening fd or -errno. */
int sock_listen(const char *path);
/* Accepts one client (non-blocking, close-on-exec); returns fd or -errno. */
int sock_accept(int listen_fd);
/* The peer's credentials; -EPERM when its uid is not ours. */
int sock_peer_check(int fd, pid_t *pid);

/* Client: connects; returns fd or -errno. */
int sock_connect(const char *path);

/* One message with up to SOCK_MAX_FDS descriptors. Returns bytes or -errno. */
ssize_t sock_send(int fd, const void *msg, size_t len, const int *fds, int nfds);
/* One message; received descriptors go to fds (up to max; any beyond are
 * closed); *nfds says how many. A truncated packet is -EMSGSIZE, end of
 * stream 0. Returns bytes or -errno. */
ssize_t sock_recv(int fd, void *msg, size_t len, int *fds, int max, int *nfds);

#endif
