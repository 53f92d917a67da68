/* A duplex stream of liblull (struct duplex): one capture and one
 * playback stream on lulld, of one format, and one thread that turns each
 * block of input into a block of output through the application's
 * callback. The application holds a struct lull_stream whose `duplex`
 * points here; the two halves are internal streams, not attached to the
 * connection. Internal to liblull; the API is lull_duplex_* in lull.h. */
#ifndef LULL_DUPLEX_H
#define LULL_DUPLEX_H

#include <stdint.h>

#include "client/lull.h"

struct duplex;

/* Sends a control request (PROTO_STREAM_START/PAUSE/RESUME) to both
 * halves, input first; the first error. */
int duplex_request(struct duplex *d, uint32_t type);
int duplex_set_volume(struct duplex *d, float volume);
/* Waits for the callback to end the stream, then for its last output
 * block to be heard. */
int duplex_drain(struct duplex *d);
uint64_t duplex_overruns(const struct duplex *d);
unsigned duplex_latency_us(const struct duplex *d);
/* Stops the thread, closes both halves, frees d; the first error. */
int duplex_close(struct duplex *d);

#endif
