/* liblull entry points: connections and error strings. See lull.h. */
#include "client/lull.h"

#include <errno.h>
#include <string.h>

#include "client/conn.h"
#include "client/stream.h"

int lull_connect(struct lull **out, const char *socket, const char *name)
{
	return conn_open(out, socket, name);
}

/* Streams left open are closed first, as lull_stream_close would. */
void lull_disconnect(struct lull *l)
{
	struct conn_node *n;

	if (!l)
		return;
	/* The node is a stream's first member. */
	while ((n = conn_first(l)))
		lull_stream_close((struct lull_stream *)n);
	conn_close(l);
}

const char *lull_strerror(int err)
{
	const char *s;

	switch (err) {
	case 0:
		return "Success";
	case LULL_ENOSERVER:
		return "No lull server is running (nothing answers on its socket)";
	case LULL_EVERSION:
		return "The lull server speaks another protocol version";
	case LULL_EGONE:
		return "The lull server closed the connection";
	case LULL_EPROTO:
		return "The lull server sent a malformed message";
	}
	s = err < 0 ? strerrordesc_np(-err) : NULL;
	return s ? s : "Unknown error";
}
