/* The control socket, in a private temporary directory named through
 * LULL_SOCKET: the default path, listen/connect/accept, peer credentials,
 * descriptors passed and never leaked (extra, truncated or unwanted ones
 * are closed), a live server refused, a stale socket file recovered, and
 * the socket directory's ownership and mode enforced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc/proto.h"
#include "ipc/sock.h"

struct fix {
	char dir[200];		/* private, 0700, removed afterwards */
	char path[256];		/* dir/lull/socket */
};

/* sun_path holds 107 characters: a long $TMPDIR falls back to /tmp. */
static const char *tmp_base(void)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp || strlen(tmp) > 60)
		return "/tmp";
	return tmp;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/lull-sock-XXXXXX", tmp_base());
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/lull/socket", f->dir);
	setenv("LULL_SOCKET", f->path, 1);
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fix *f = *state;

	chmod(f->dir, 0700);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("LULL_SOCKET");
	free(f);
	return 0;
}

/* Open descriptors of this process, to prove none leaked. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* listen + connect + accept: *srv is lulld's end, *cli the client's. */
static int serve(const char *path, int *srv, int *cli)
{
	int l = sock_listen(path);

	assert_true(l >= 0);
	*cli = sock_connect(path);
	assert_true(*cli >= 0);
	*srv = sock_accept(l);
	assert_true(*srv >= 0);
	return l;
}

static void close3(int a, int b, int c)
{
	close(a);
	close(b);
	close(c);
}

static void test_default_path(void **state)
{
	char buf[128];

	(void)state;
	setenv("LULL_SOCKET", "/x/y.sock", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_int_equal(sock_default_path(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/x/y.sock");
	assert_int_equal(sock_default_path(buf, 9), -ENAMETOOLONG);
	unsetenv("LULL_SOCKET");
	assert_int_equal(sock_default_path(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/user/1000/lull/socket");
	assert_int_equal(sock_default_path(buf, 20), -ENAMETOOLONG);
	setenv("XDG_RUNTIME_DIR", "relative", 1);
	assert_int_equal(sock_default_path(buf, sizeof(buf)), -ENOENT);
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(sock_default_path(buf, sizeof(buf)), -ENOENT);
}

static void test_roundtrip(void **state)
{
	struct fix *f = *state;
	struct proto_hello hello = { .hdr = { sizeof(hello), PROTO_HELLO, 1, 0 },
				     .version = PROTO_VERSION, .name = "test" };
	struct proto_hello got;
	char path[300];
	struct stat st;
	pid_t pid = 0;
	int l, s, c, nfds = -1;

	assert_int_equal(sock_default_path(path, sizeof(path)), 0);
	assert_string_equal(path, f->path);
	l = serve(path, &s, &c);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	snprintf(path, sizeof(path), "%s/lull", f->dir);
	assert_int_equal(stat(path, &st), 0);		/* created 0700 */
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(fcntl(l, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(s, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(s, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);

	assert_int_equal(sock_peer_check(s, &pid), 0);
	assert_int_equal(pid, getpid());
	assert_int_equal(sock_peer_check(c, NULL), 0);

	assert_int_equal(sock_recv(s, &got, sizeof(got), NULL, 0, &nfds), -EAGAIN);
	assert_int_equal(sock_send(c, &hello, sizeof(hello), NULL, 0), sizeof(hello));
	assert_int_equal(sock_recv(s, &got, sizeof(got), NULL, 0, &nfds), sizeof(hello));
	assert_int_equal(nfds, 0);
	assert_memory_equal(&got, &hello, sizeof(hello));
	assert_int_equal(sock_accept(l), -EAGAIN);	/* nobody else waiting */

	close(c);					/* hangup: end of stream */
	assert_int_equal(sock_recv(s, &got, sizeof(got), NULL, 0, &nfds), 0);
	assert_int_equal(sock_send(s, &hello, sizeof(hello), NULL, 0), -EPIPE);
	close(s);
	close(l);
}

static void same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(sa.st_dev, sb.st_dev);
	assert_int_equal(sa.st_ino, sb.st_ino);
}

/* The three descriptors a PROTO_STREAM_NEW reply carries. */
static void make3(int fds[3])
{
	fds[0] = memfd_create("test", MFD_CLOEXEC);
	fds[1] = eventfd(0, EFD_CLOEXEC);
	fds[2] = eventfd(0, EFD_CLOEXEC);
	assert_true(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
}

static const struct proto_stream_made made = {
	.hdr = { sizeof(made), PROTO_STREAM_MADE, 7, 3 },
	.ring_frames = 4800, .shm_bytes = 4096 + 4800 * 4,
};

static void test_fds(void **state)
{
	struct fix *f = *state;
	struct proto_stream_made got;
	int l, s, c, fds[3], in[SOCK_MAX_FDS], nfds, before;

	l = serve(f->path, &s, &c);
	make3(fds);
	before = open_fds();
	assert_int_equal(sock_send(s, &made, sizeof(made), fds, 3), sizeof(made));
	assert_int_equal(sock_recv(c, &got, sizeof(got), in, SOCK_MAX_FDS, &nfds),
			 sizeof(made));
	assert_memory_equal(&got, &made, sizeof(made));
	assert_int_equal(nfds, 3);
	assert_int_equal(open_fds(), before + 3);
	for (int i = 0; i < 3; i++) {
		same_file(in[i], fds[i]);
		assert_true(fcntl(in[i], F_GETFD) & FD_CLOEXEC);
		close(in[i]);
	}
	close3(fds[0], fds[1], fds[2]);
	close3(l, s, c);
}

/* Room for fewer than were sent: the rest are closed, not leaked. */
static void test_fds_extra(void **state)
{
	struct fix *f = *state;
	struct proto_stream_made got;
	int l, s, c, fds[3], in[1], nfds, before;

	l = serve(f->path, &s, &c);
	make3(fds);
	before = open_fds();
	assert_int_equal(sock_send(s, &made, sizeof(made), fds, 3), sizeof(made));
	assert_int_equal(sock_recv(c, &got, sizeof(got), in, 1, &nfds), sizeof(made));
	assert_int_equal(nfds, 1);
	assert_int_equal(open_fds(), before + 1);
	same_file(in[0], fds[0]);
	close(in[0]);

	assert_int_equal(sock_send(s, &made, sizeof(made), fds, 3), sizeof(made));
	assert_int_equal(sock_recv(c, &got, sizeof(got), NULL, 4, &nfds), sizeof(made));
	assert_int_equal(nfds, 0);
	assert_int_equal(open_fds(), before);

	assert_int_equal(sock_send(s, &made, sizeof(made), fds, SOCK_MAX_FDS + 1),
			 -EINVAL);
	assert_int_equal(sock_send(s, &made, sizeof(made), fds, -1), -EINVAL);
	assert_int_equal(sock_send(s, &made, sizeof(made), NULL, 1), -EINVAL);
	close3(fds[0], fds[1], fds[2]);
	close3(l, s, c);
}

/* A packet longer than the buffer is refused whole, its descriptors
 * closed; the packet after it is intact. */
static void test_truncated(void **state)
{
	struct fix *f = *state;
	struct proto_stream_made got;
	int l, s, c, fds[3], in[SOCK_MAX_FDS], nfds = -1, before;

	l = serve(f->path, &s, &c);
	make3(fds);
	before = open_fds();
	assert_int_equal(sock_send(s, &made, sizeof(made), fds, 3), sizeof(made));
	assert_int_equal(sock_send(s, &made, sizeof(made), NULL, 0), sizeof(made));
	assert_int_equal(sock_recv(c, &got, sizeof(struct proto_hdr), in,
				   SOCK_MAX_FDS, &nfds), -EMSGSIZE);
	assert_int_equal(nfds, 0);
	assert_int_equal(open_fds(), before);
	assert_int_equal(sock_recv(c, &got, sizeof(got), in, SOCK_MAX_FDS, &nfds),
			 sizeof(made));
	assert_int_equal(nfds, 0);
	close3(fds[0], fds[1], fds[2]);
	close3(l, s, c);
}

static void test_live_server(void **state)
{
	struct fix *f = *state;
	char b[16];
	int l, s, nfds;

	l = sock_listen(f->path);
	assert_true(l >= 0);
	assert_int_equal(sock_listen(f->path), -EADDRINUSE);
	/* The probe was a real connection: lulld sees it hang up at once. */
	s = sock_accept(l);
	assert_true(s >= 0);
	assert_int_equal(sock_recv(s, b, sizeof(b), NULL, 0, &nfds), 0);
	close(s);
	close(l);
	/* Now only the file is left: stale, replaced. */
	l = sock_listen(f->path);
	assert_true(l >= 0);
	close(l);
}

/* A socket file left by a server that died without unlinking it. */
static void test_stale(void **state)
{
	struct fix *f = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[300];
	int fd, l, c, s;

	snprintf(dir, sizeof(dir), "%s/lull", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	strcpy(a.sun_path, f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	assert_int_equal(sock_connect(f->path), -ECONNREFUSED);
	l = serve(f->path, &s, &c);
	close3(l, s, c);
}

static void test_refusals(void **state)
{
	struct fix *f = *state;
	char dir[300], path[300];
	int fd;

	assert_int_equal(sock_connect(f->path), -ENOENT);
	/* Something that is not a socket is never removed. */
	snprintf(dir, sizeof(dir), "%s/lull", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sock_listen(f->path), -EEXIST);
	assert_int_equal(access(f->path, F_OK), 0);

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(sock_listen(path), -ENAMETOOLONG);
	assert_int_equal(sock_connect(path), -ENAMETOOLONG);
	assert_int_equal(sock_listen(""), -EINVAL);
}

/* The directory must be ours and closed to everyone else. */
static void test_dir_checks(void **state)
{
	struct fix *f = *state;
	char dir[300], path[300], link[300];
	int l;

	snprintf(dir, sizeof(dir), "%s/lull", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0750), 0);
	assert_int_equal(sock_listen(f->path), -EACCES);
	assert_int_equal(chmod(dir, 0701), 0);
	assert_int_equal(sock_listen(f->path), -EACCES);
	assert_int_equal(chmod(dir, 0700), 0);
	l = sock_listen(f->path);
	assert_true(l >= 0);
	close(l);

	/* A symlink to a perfectly good directory is still refused. */
	snprintf(link, sizeof(link), "%s/link", f->dir);
	snprintf(path, sizeof(path), "%s/link/socket", f->dir);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(sock_listen(path), -ENOTDIR);

	/* Someone else's directory (needs root to arrange). */
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(sock_listen(f->path), -EPERM);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_extra, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_checks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
