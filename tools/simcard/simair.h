/* The simulated card's loopback: "the air" between its output and input.
 *
 * A POSIX shared-memory ring (/dev/shm/lullsim-NAME) indexed by air frame
 * g = CLOCK_MONOTONIC ns * rate / 1e9. The playback side stores each frame
 * it plays at the air frame of the moment it is heard; the capture side, in
 * the same or another process, reads the air frame of the moment it samples.
 * Every slot is stamped with its g so a reader can tell live audio from an
 * old lap or from nothing at all (which it hears as silence). */
#ifndef LULL_SIMAIR_H
#define LULL_SIMAIR_H

#include <stddef.h>
#include <stdint.h>

#include "core/fmt.h"

struct simair;

struct simair_geom {
	unsigned rate, channels;
	enum fmt fmt;
};

/* Playback side: creates or takes over the ring, with this geometry. */
int simair_create(struct simair **out, const char *name,
		  const struct simair_geom *g);
/* Capture side: attaches lazily; a missing ring reads as silence. */
int simair_attach(struct simair **out, const char *name);
void simair_close(struct simair *a);

/* Geometry of the ring as the writer set it; NULL when not attached. */
const struct simair_geom *simair_geom(struct simair *a);

/* Writer: n frames in the ring's format, heard from air frame g on. */
void simair_put(struct simair *a, uint64_t g, const void *frames, size_t n);
/* Writer: everything before air frame g is written; active=0 when the
 * output stopped (so readers need not wait for it). */
void simair_publish(struct simair *a, uint64_t g, int active);

/* Reader: how far the writer got, or UINT64_MAX when it is not playing
 * (then nothing more is coming and silence may be read at once). */
uint64_t simair_horizon(struct simair *a);
/* Reader: one frame at air frame g, in the ring's format. Returns 0, or
 * -ENOENT when that slot holds nothing live (caller hears silence). */
int simair_get(struct simair *a, uint64_t g, void *frame);

#endif
