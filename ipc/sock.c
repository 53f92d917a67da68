/* The control socket. See sock.h.
 *
 * Access control is twofold: the socket lives in a directory only our uid
 * can enter, and every peer's SO_PEERCRED uid is checked on top. Every
 * descriptor made or received here is close-on-exec, and every call that
 * can be interrupted by a signal is restarted. */
#include "ipc/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Room for SOCK_MAX_FDS descriptors, aligned as a cmsghdr must be. */
union sock_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * SOCK_MAX_FDS)];
};

int sock_default_path(char *buf, size_t len)
{
	const char *env = getenv("LULL_SOCKET");
	int n;

	if (env && *env) {
		n = snprintf(buf, len, "%s", env);
	} else {
		/* The XDG spec says to ignore a relative runtime dir. */
		env = getenv("XDG_RUNTIME_DIR");
		if (!env || env[0] != '/')
			return -ENOENT;
		n = snprintf(buf, len, "%s/lull/socket", env);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int sock_addr(struct sockaddr_un *a, const char *path)
{
	size_t n = strlen(path);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!n)
		return -EINVAL;	/* would mean the abstract namespace */
	if (n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, n + 1);
	return 0;
}

/* The directory part of path ("." for a bare name) into dir, which has
 * room for any path sock_addr() accepted. */
static void sock_dirname(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (!slash) {
		strcpy(dir, ".");
	} else if (!n) {
		strcpy(dir, "/");
	} else {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
}

/* Only we may enter: ours (-EPERM), no group or other bits (-EACCES). */
static int sock_dir_check(const struct stat *st)
{
	if (st->st_uid != geteuid())
		return -EPERM;
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return -EACCES;
	return 0;
}

/* Creates the directory 0700 if missing and opens it. A symlink in its
 * place is refused (-ENOTDIR): it could point anywhere. */
static int sock_dir_open(const char *dir)
{
	struct stat st;
	int fd, err;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	err = fstat(fd, &st) < 0 ? -errno : sock_dir_check(&st);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Serialises servers starting at once: without it, two could both find
 * the file stale, and the second unlink would orphan the first's socket. */
static int sock_dir_lock(int dir_fd)
{
	int r;

	do
		r = flock(dir_fd, LOCK_EX);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* 0 when something accepts a connection at a, else -errno. Non-blocking,
 * so a live server with a full backlog is -EAGAIN at once, not a hang. */
static int sock_probe(const struct sockaddr_un *a)
{
	int fd, err = 0;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* With the directory locked: nothing there is fine; a socket nobody
 * listens on (ECONNREFUSED) is left over from a dead server and goes; a
 * server that answers, or anything that is not a socket, stays. */
static int sock_clear(const char *path, const struct sockaddr_un *a)
{
	struct stat st;
	int err;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	err = sock_probe(a);
	if (err == -ENOENT)
		return 0;
	if (err == 0 || err == -EAGAIN)
		return -EADDRINUSE;
	if (err != -ECONNREFUSED)
		return err;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* Non-blocking: lulld polls it, and a client gone before accept() must
 * not block the control thread. */
static int sock_bind(const struct sockaddr_un *a)
{
	int fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int sock_listen(const char *path)
{
	struct sockaddr_un a;
	char dir[sizeof(a.sun_path)];
	int dir_fd, err;

	err = sock_addr(&a, path);
	if (err)
		return err;
	sock_dirname(path, dir);
	dir_fd = sock_dir_open(dir);
	if (dir_fd < 0)
		return dir_fd;
	err = sock_dir_lock(dir_fd);
	if (!err)
		err = sock_clear(path, &a);
	if (!err)
		err = sock_bind(&a);
	close(dir_fd);	/* drops the lock */
	return err;
}

int sock_accept(int listen_fd)
{
	int fd;

	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* The credentials are the peer's at connect() time, kept by the kernel:
 * the peer cannot change them afterwards. */
int sock_peer_check(int fd, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred) || cred.uid != geteuid())
		return -EPERM;
	if (pid)
		*pid = cred.pid;
	return 0;
}

/* Retrying after EINTR is right for AF_UNIX: an interrupted wait for
 * room in the server's backlog leaves the socket unconnected. */
int sock_connect(const char *path)
{
	struct sockaddr_un a;
	int fd, r, err;

	err = sock_addr(&a, path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do
		r = connect(fd, (const struct sockaddr *)&a, sizeof(a));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void sock_close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void sock_attach_fds(struct msghdr *m, union sock_cmsg *c,
			    const int *fds, int nfds)
{
	struct cmsghdr *h;
	size_t bytes = sizeof(int) * (size_t)nfds;

	memset(c, 0, sizeof(*c));
	m->msg_control = c->buf;
	m->msg_controllen = CMSG_SPACE(bytes);
	h = CMSG_FIRSTHDR(m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(bytes);
	memcpy(CMSG_DATA(h), fds, bytes);
}

/* MSG_NOSIGNAL: a client gone away is -EPIPE, not a SIGPIPE that kills
 * lulld. A SOCK_SEQPACKET send is all or nothing. */
ssize_t sock_send(int fd, const void *msg, size_t len, const int *fds, int nfds)
{
	union sock_cmsg c;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds < 0 || nfds > SOCK_MAX_FDS || (nfds && !fds))
		return -EINVAL;
	if (nfds)
		sock_attach_fds(&m, &c, fds, nfds);
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Every descriptor the kernel installed for us, into got[SOCK_MAX_FDS];
 * returns how many. Our control buffer has room for SOCK_MAX_FDS, so
 * more cannot arrive, but anything past got[] would be closed, not lost. */
static int sock_take_fds(struct msghdr *m, int *got)
{
	struct cmsghdr *h;
	int n = 0;

	for (h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		size_t k, count;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < count; k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(h) + k * sizeof(int), sizeof(fd));
			if (n < SOCK_MAX_FDS)
				got[n++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

/* Keeps the first `max` of got[] in fds and closes the others. */
static int sock_keep_fds(const int *got, int n, int *fds, int max)
{
	int keep = n < max ? n : max;

	if (keep > 0)
		memcpy(fds, got, sizeof(int) * (size_t)keep);
	else
		keep = 0;
	sock_close_fds(got + keep, n - keep);
	return keep;
}

/* A truncated packet (MSG_TRUNC: data; MSG_CTRUNC: descriptors, the
 * kernel has dropped some) is never half-used: all of it goes, and so do
 * the descriptors that did arrive. So do descriptors riding on an empty
 * packet: 0 means end of stream to the caller, who would not look. */
ssize_t sock_recv(int fd, void *msg, size_t len, int *fds, int max, int *nfds)
{
	union sock_cmsg c;
	struct iovec iov = { .iov_base = msg, .iov_len = len };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = c.buf, .msg_controllen = sizeof(c.buf),
	};
	int got[SOCK_MAX_FDS], n_got;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	n_got = sock_take_fds(&m, got);
	if (n == 0 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		sock_close_fds(got, n_got);
		return n ? -EMSGSIZE : 0;
	}
	*nfds = sock_keep_fds(got, n_got, fds, fds ? max : 0);
	return n;
}
