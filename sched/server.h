/* lulld's control thread: the socket, the clients, one handler per
 * protocol message, and the building and freeing of streams (the audio
 * thread only ever gets streams that are complete). */
#ifndef LULL_SERVER_H
#define LULL_SERVER_H

#include "sched/capture.h"
#include "sched/engine.h"

struct server;

/* path: where to listen. Returns 0 or -errno (-EADDRINUSE: another lulld
 * is serving there). */
int server_new(struct server **out, const char *path, struct engine *e);
/* Capture streams go to cap (not set: they are refused with -ENODEV). */
void server_set_capture(struct server *sv, struct capture *cap);
/* How to reopen the playback card if it fails (not set: a failed card
 * stays silent). Call after engine_init. */
void server_set_device(struct server *sv, const struct device_cfg *cfg);
/* Serves until SIGINT/SIGTERM (blocked by the caller, read via stop_fd). */
int server_run(struct server *s, int stop_fd);
/* After the engine's thread has stopped. */
void server_free(struct server *s);

#endif
