/* WAV files: a writer that keeps its header valid while it grows (so a
 * killed process still leaves a playable file) and a reader for the PCM
 * layouts lull meets (16-, 24-packed, 24-in-32, 32-bit integer, 32-bit
 * float, plain or WAVE_FORMAT_EXTENSIBLE).
 *
 * Frames go in and come out in the in-memory layout of an enum fmt:
 * a 24-bit packed file is read as FMT_S24 (low-aligned in 32 bits). */
#ifndef LULL_WAV_H
#define LULL_WAV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/fmt.h"

struct wav_info {
	enum fmt fmt;
	unsigned rate;
	unsigned channels;
	uint64_t frames;	/* reader: frames in the file; writer: ignored */
};

struct wav_writer;
struct wav_reader;

/* Creates (truncates) path. Returns 0 or negative errno. */
int wav_writer_open(struct wav_writer **out, const char *path,
		    const struct wav_info *info);
/* Appends n frames in info->fmt layout. Returns 0 or negative errno. */
int wav_writer_write(struct wav_writer *w, const void *frames, size_t n);
uint64_t wav_writer_frames(const struct wav_writer *w);
/* Patches the header one last time and closes. Returns 0 or -errno. */
int wav_writer_close(struct wav_writer *w);

/* Returns 0, negative errno, or -EPROTO for a file it cannot parse. */
int wav_reader_open(struct wav_reader **out, const char *path);
const struct wav_info *wav_reader_info(const struct wav_reader *r);
/* Reads up to n frames; returns frames read (0 at the end) or -errno. */
ssize_t wav_reader_read(struct wav_reader *r, void *frames, size_t n);
/* Moves to frame index; returns 0 or -errno. */
int wav_reader_seek(struct wav_reader *r, uint64_t frame);
void wav_reader_close(struct wav_reader *r);

#endif
