/* WAV reader and writer. See wav.h.
 *
 * File layout written (little endian):
 *   "RIFF" size "WAVE"  "fmt " 16|40 <fmt>  "data" size <frames>
 * The two size fields are rewritten after every append, so the file is valid
 * at any moment, even if the writing process is killed. */
#include "core/wav.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	WAV_TAG_PCM = 1,
	WAV_TAG_FLOAT = 3,
	WAV_TAG_EXTENSIBLE = 0xfffe,
	WAV_MAX_DATA = 0xffffffffu - 64,	/* what 32-bit RIFF sizes allow */
};

#define WAV_SCRATCH 4096	/* samples shifted at a time for S24 */

struct wav_writer {
	int fd;
	struct wav_info info;
	uint32_t header_bytes;
	uint64_t frames;
	int32_t scratch[WAV_SCRATCH];
};

struct wav_reader {
	int fd;
	struct wav_info info;
	unsigned file_bytes;	/* bytes per sample in the file: 2, 3 or 4 */
	int high24;		/* 24 valid bits at the top of 32 */
	off_t data_offset;
	uint64_t pos;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static size_t wav_frame_bytes(const struct wav_info *info)
{
	return fmt_bytes(info->fmt) * info->channels;
}

/* Plain PCM/float for the common stereo cases; WAVE_FORMAT_EXTENSIBLE when
 * a reader needs the valid-bits field (S24 in 32) or more than 2 channels. */
static int wav_needs_extensible(const struct wav_info *info)
{
	return info->fmt == FMT_S24 || info->channels > 2;
}

static void wav_put_subformat(uint8_t *p, uint16_t tag)
{
	static const uint8_t guid_tail[14] = {
		0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
		0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
	};

	put16(p, tag);
	memcpy(p + 2, guid_tail, sizeof guid_tail);
}

/* Builds the header into h (at least 68 bytes); returns its length. */
static uint32_t wav_build_header(uint8_t *h, const struct wav_info *info)
{
	int ext = wav_needs_extensible(info);
	uint16_t tag = info->fmt == FMT_FLOAT ? WAV_TAG_FLOAT : WAV_TAG_PCM;
	uint32_t fmt_len = ext ? 40 : 16;
	uint32_t bps = (uint32_t)fmt_bytes(info->fmt);
	uint32_t block = bps * info->channels;

	memcpy(h, "RIFF", 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	put32(h + 16, fmt_len);
	put16(h + 20, ext ? WAV_TAG_EXTENSIBLE : tag);
	put16(h + 22, (uint16_t)info->channels);
	put32(h + 24, info->rate);
	put32(h + 28, info->rate * block);
	put16(h + 32, (uint16_t)block);
	put16(h + 34, (uint16_t)(bps * 8));
	if (ext) {
		put16(h + 36, 22);
		put16(h + 38, info->fmt == FMT_S24 ? 24 : (uint16_t)(bps * 8));
		put32(h + 40, 0);	/* no channel mask: order as written */
		wav_put_subformat(h + 44, tag);
	}
	memcpy(h + 20 + fmt_len, "data", 4);
	return 28 + fmt_len;
}

static int wav_write_all(int fd, const void *buf, size_t len, off_t at)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = at < 0 ? write(fd, p, len) : pwrite(fd, p, len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		if (at >= 0)
			at += n;
	}
	return 0;
}

static int wav_patch_sizes(struct wav_writer *w)
{
	uint64_t data = w->frames * wav_frame_bytes(&w->info);
	uint8_t b[4];
	int err;

	if (data > WAV_MAX_DATA)
		data = WAV_MAX_DATA;
	put32(b, (uint32_t)(data + w->header_bytes - 8));
	err = wav_write_all(w->fd, b, 4, 4);
	if (err)
		return err;
	put32(b, (uint32_t)data);
	return wav_write_all(w->fd, b, 4, w->header_bytes - 4);
}

int wav_writer_open(struct wav_writer **out, const char *path,
		    const struct wav_info *info)
{
	uint8_t h[72] = { 0 };
	struct wav_writer *w;
	int err;

	if (info->channels < 1 || info->channels > 64 || info->rate < 1)
		return -EINVAL;
	w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->info = *info;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		err = -errno;
		free(w);
		return err;
	}
	w->header_bytes = wav_build_header(h, info);
	err = wav_write_all(w->fd, h, w->header_bytes, -1);
	if (!err)
		err = wav_patch_sizes(w);
	if (err) {
		close(w->fd);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

/* WAV keeps 24 valid bits in a 32-bit container at the top (the low byte
 * padding); ALSA's S24_LE keeps them at the bottom. */
static int wav_write_s24(struct wav_writer *w, const int32_t *src, size_t samples)
{
	while (samples > 0) {
		size_t m = samples < WAV_SCRATCH ? samples : WAV_SCRATCH;
		int err;

		for (size_t i = 0; i < m; i++)
			w->scratch[i] = (int32_t)((uint32_t)src[i] << 8);
		err = wav_write_all(w->fd, w->scratch, m * 4, -1);
		if (err)
			return err;
		src += m;
		samples -= m;
	}
	return 0;
}

int wav_writer_write(struct wav_writer *w, const void *frames, size_t n)
{
	int err;

	if (n == 0)
		return 0;
	if (w->info.fmt == FMT_S24)
		err = wav_write_s24(w, frames, n * w->info.channels);
	else
		err = wav_write_all(w->fd, frames, n * wav_frame_bytes(&w->info), -1);
	if (err)
		return err;
	w->frames += n;
	return wav_patch_sizes(w);
}

uint64_t wav_writer_frames(const struct wav_writer *w)
{
	return w->frames;
}

int wav_writer_close(struct wav_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = wav_patch_sizes(w);
	if (close(w->fd) < 0 && !err)
		err = -errno;
	free(w);
	return err;
}

/* --- reader --------------------------------------------------------------- */

static int wav_read_exact(int fd, void *buf, size_t len, off_t at)
{
	ssize_t n = pread(fd, buf, len, at);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPROTO;
}

/* Maps (tag, container bytes, bits, valid bits) to an in-memory format.
 * 24-bit audio comes three ways: packed in 3 bytes; at the top of 4 (the
 * WAV standard, extensible with 24 valid bits); or at the bottom of 4 with
 * bits = 24 (what arecord writes for S24_LE). */
static int wav_pick_fmt(struct wav_reader *r, uint16_t tag, unsigned bytes,
			unsigned bits, unsigned valid)
{
	r->file_bytes = bytes;
	if (tag == WAV_TAG_FLOAT && bits == 32 && bytes == 4)
		r->info.fmt = FMT_FLOAT;
	else if (tag == WAV_TAG_PCM && bits == 16 && bytes == 2)
		r->info.fmt = FMT_S16;
	else if (tag == WAV_TAG_PCM && bits == 24 && (bytes == 3 || bytes == 4))
		r->info.fmt = FMT_S24;
	else if (tag == WAV_TAG_PCM && bits == 32 && bytes == 4 && valid == 24) {
		r->info.fmt = FMT_S24;
		r->high24 = 1;
	} else if (tag == WAV_TAG_PCM && bits == 32 && bytes == 4)
		r->info.fmt = FMT_S32;
	else
		return -EPROTO;
	return 0;
}

static int wav_parse_fmt(struct wav_reader *r, off_t at, uint32_t len)
{
	uint8_t f[40] = { 0 };
	uint16_t tag;
	unsigned bits, valid;
	int err;

	if (len < 16)
		return -EPROTO;
	err = wav_read_exact(r->fd, f, len < 40 ? len : 40, at);
	if (err)
		return err;
	tag = get16(f);
	r->info.channels = get16(f + 2);
	r->info.rate = get32(f + 4);
	bits = get16(f + 14);
	valid = bits;
	if (tag == WAV_TAG_EXTENSIBLE) {
		if (len < 40)
			return -EPROTO;
		valid = get16(f + 18);
		tag = get16(f + 24);
	}
	if (r->info.channels < 1 || r->info.channels > 64 || r->info.rate < 1)
		return -EPROTO;
	if (get16(f + 12) % r->info.channels)
		return -EPROTO;
	return wav_pick_fmt(r, tag, get16(f + 12) / r->info.channels, bits, valid);
}

/* Walks the chunks after "WAVE". A data size that runs past the end of the
 * file (a writer killed between append and patch, or a streaming writer's
 * 0xffffffff) is cut to what the file holds. */
static int wav_parse(struct wav_reader *r, off_t file_size)
{
	uint8_t c[12];
	off_t at = 12;
	int have_fmt = 0, err;

	err = wav_read_exact(r->fd, c, 12, 0);
	if (err || memcmp(c, "RIFF", 4) || memcmp(c + 8, "WAVE", 4))
		return -EPROTO;
	for (;;) {
		uint32_t len;

		if (wav_read_exact(r->fd, c, 8, at))
			return -EPROTO;
		len = get32(c + 4);
		at += 8;
		if (!memcmp(c, "fmt ", 4)) {
			err = wav_parse_fmt(r, at, len);
			if (err)
				return err;
			have_fmt = 1;
		} else if (!memcmp(c, "data", 4)) {
			uint64_t avail = (uint64_t)(file_size - at);
			uint64_t bytes = len < avail ? len : avail;
			if (!have_fmt)
				return -EPROTO;
			r->data_offset = at;
			r->info.frames = bytes / (r->file_bytes * r->info.channels);
			return 0;
		}
		at += len + (len & 1);
		if (at >= file_size)
			return -EPROTO;
	}
}

int wav_reader_open(struct wav_reader **out, const char *path)
{
	struct wav_reader *r;
	struct stat st;
	int err;

	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		err = -errno;
		free(r);
		return err;
	}
	err = fstat(r->fd, &st) < 0 ? -errno : wav_parse(r, st.st_size);
	if (err) {
		wav_reader_close(r);
		return err;
	}
	*out = r;
	return 0;
}

const struct wav_info *wav_reader_info(const struct wav_reader *r)
{
	return &r->info;
}

/* 24-bit packed samples widen in place, from the end backwards. */
static void wav_widen24(uint8_t *buf, size_t samples)
{
	for (size_t i = samples; i-- > 0;) {
		const uint8_t *s = buf + i * 3;
		int32_t v = (int32_t)((uint32_t)s[0] << 8 | (uint32_t)s[1] << 16 |
				      (uint32_t)s[2] << 24) >> 8;
		memcpy(buf + i * 4, &v, 4);
	}
}

ssize_t wav_reader_read(struct wav_reader *r, void *frames, size_t n)
{
	size_t fbytes = (size_t)r->file_bytes * r->info.channels;
	ssize_t got;

	if (n > r->info.frames - r->pos)
		n = (size_t)(r->info.frames - r->pos);
	if (n == 0)
		return 0;
	got = pread(r->fd, frames, n * fbytes,
		    r->data_offset + (off_t)(r->pos * fbytes));
	if (got < 0)
		return -errno;
	n = (size_t)got / fbytes;
	if (r->file_bytes == 3)
		wav_widen24(frames, n * r->info.channels);
	if (r->high24)
		for (size_t i = 0; i < n * r->info.channels; i++)
			((int32_t *)frames)[i] >>= 8;	/* arithmetic: keeps the sign */
	r->pos += n;
	return (ssize_t)n;
}

int wav_reader_seek(struct wav_reader *r, uint64_t frame)
{
	if (frame > r->info.frames)
		return -EINVAL;
	r->pos = frame;
	return 0;
}

void wav_reader_close(struct wav_reader *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r);
}
