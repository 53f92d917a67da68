/* A stream's shared memory and wake-up pipes. See link.h. */
#include "sched/link.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static void link_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int link_pipes(struct link *k)
{
	int to[2], from[2];

	if (pipe2(to, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(from, O_CLOEXEC) < 0) {
		int err = -errno;
		close(to[0]);
		close(to[1]);
		return err;
	}
	k->to_client = to[1];
	k->peer_to_client = to[0];
	k->from_client = from[0];
	k->peer_from_client = from[1];
	fcntl(k->to_client, F_SETFL, O_NONBLOCK);
	fcntl(k->from_client, F_SETFL, O_NONBLOCK);
	return 0;
}

int link_open(struct link *k, uint64_t ring_frames, uint32_t frame_bytes)
{
	int err;

	*k = (struct link)LINK_INIT;
	if ((err = shm_create(&k->memfd, &k->hdr, &k->bytes, ring_frames, frame_bytes)))
		return err;
	return link_pipes(k);
}

void link_peer_fds(const struct link *k, int fds[3])
{
	fds[0] = k->memfd;
	fds[1] = k->peer_to_client;
	fds[2] = k->peer_from_client;
}

void link_forget_peer(struct link *k)
{
	link_close_fd(&k->peer_to_client);
	link_close_fd(&k->peer_from_client);
}

void link_close(struct link *k)
{
	if (k->hdr)
		shm_unmap(k->hdr, k->bytes);
	k->hdr = NULL;
	link_forget_peer(k);
	link_close_fd(&k->memfd);
	link_close_fd(&k->to_client);
	link_close_fd(&k->from_client);
}

void link_wake_client(const struct link *k)
{
	char one = 1;

	if (write(k->to_client, &one, 1) < 0)
		return;		/* a full pipe: the client has wake-ups waiting */
}
