/* WAV reader and writer: round trips in every format, hand-made headers in
 * the layouts other programs write, a header that stays valid while the
 * file grows, and files the reader must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fmt.h"
#include "core/wav.h"

/* A private directory per run, under $TMPDIR when the runner gives one. */
struct fixture {
	char dir[PATH_MAX - 64];
	char path[PATH_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/test_wav.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/t.wav", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* --- helpers: hand-built files ---------------------------------------- */

struct blob {
	uint8_t b[512];
	size_t len;
};

static void put(struct blob *x, const void *p, size_t n)
{
	assert_true(x->len + n <= sizeof x->b);
	memcpy(x->b + x->len, p, n);
	x->len += n;
}

static void put16(struct blob *x, unsigned v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(x, b, 2);
}

static void put32(struct blob *x, uint32_t v)
{
	put16(x, v & 0xffff);
	put16(x, v >> 16);
}

/* A RIFF header whose size field is patched by finish(). */
static void riff_begin(struct blob *x)
{
	x->len = 0;
	put(x, "RIFF\0\0\0\0WAVE", 12);
}

static void riff_finish(struct blob *x)
{
	uint32_t n = (uint32_t)x->len - 8;

	memcpy(x->b + 4, &n, 4);	/* tests run on little-endian hosts */
}

struct fmt_chunk {
	unsigned tag, channels, rate, block, bits;
	unsigned ext_valid, ext_tag;	/* ext_tag != 0: extensible */
};

static void put_fmt(struct blob *x, const struct fmt_chunk *c)
{
	static const uint8_t guid_tail[14] = {
		0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
		0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
	};

	put(x, "fmt ", 4);
	put32(x, c->ext_tag ? 40 : 16);
	put16(x, c->ext_tag ? 0xfffe : c->tag);
	put16(x, c->channels);
	put32(x, c->rate);
	put32(x, c->rate * c->block);
	put16(x, c->block);
	put16(x, c->bits);
	if (!c->ext_tag)
		return;
	put16(x, 22);
	put16(x, c->ext_valid);
	put32(x, 0);
	put16(x, c->ext_tag);
	put(x, guid_tail, sizeof guid_tail);
}

static void put_chunk(struct blob *x, const char *id, const void *p,
		      uint32_t n, uint32_t declared)
{
	put(x, id, 4);
	put32(x, declared);
	put(x, p, n);
	if (n & 1)
		put(x, "", 1);	/* RIFF pads odd chunks */
}

static void save(const struct fixture *f, const struct blob *x)
{
	FILE *fp = fopen(f->path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(x->b, 1, x->len, fp), x->len);
	assert_int_equal(fclose(fp), 0);
}

static struct wav_reader *open_ok(const struct fixture *f)
{
	struct wav_reader *r = NULL;

	assert_int_equal(wav_reader_open(&r, f->path), 0);
	assert_non_null(r);
	return r;
}

static void expect_info(struct wav_reader *r, enum fmt fmt, unsigned rate,
			unsigned channels, uint64_t frames)
{
	const struct wav_info *i = wav_reader_info(r);

	assert_int_equal(i->fmt, fmt);
	assert_int_equal(i->rate, rate);
	assert_int_equal(i->channels, channels);
	assert_int_equal(i->frames, frames);
}

static void expect_open_fails(const struct fixture *f, int err)
{
	struct wav_reader *r = NULL;

	assert_int_equal(wav_reader_open(&r, f->path), err);
}

/* --- round trips through the writer ----------------------------------- */

/* Distinct, full-range codes for each format. */
static void fill(enum fmt fmt, void *buf, size_t samples)
{
	for (size_t i = 0; i < samples; i++) {
		int32_t v = (int32_t)(i * 2654435761u);

		if (fmt == FMT_S16)
			((int16_t *)buf)[i] = (int16_t)(v >> 16);
		else if (fmt == FMT_S24)
			((int32_t *)buf)[i] = v >> 8;	/* sign extended */
		else if (fmt == FMT_S32)
			((int32_t *)buf)[i] = v;
		else
			((float *)buf)[i] = (float)v / 2147483648.0f;
	}
}

static void round_trip(const struct fixture *f, enum fmt fmt, unsigned ch,
		       unsigned rate)
{
	enum { FRAMES = 1001 };	/* odd, to catch padding mistakes */
	struct wav_info info = { .fmt = fmt, .rate = rate, .channels = ch };
	size_t bytes = FRAMES * ch * fmt_bytes(fmt);
	uint8_t *in = malloc(bytes), *out = calloc(1, bytes + 64);
	struct wav_writer *w;
	struct wav_reader *r;

	assert_non_null(in);
	assert_non_null(out);
	fill(fmt, in, FRAMES * ch);
	assert_int_equal(wav_writer_open(&w, f->path, &info), 0);
	assert_int_equal(wav_writer_write(w, in, 1), 0);
	assert_int_equal(wav_writer_write(w, (uint8_t *)in + bytes / FRAMES,
					  FRAMES - 1), 0);
	assert_int_equal(wav_writer_frames(w), FRAMES);
	assert_int_equal(wav_writer_close(w), 0);
	r = open_ok(f);
	expect_info(r, fmt, rate, ch, FRAMES);
	assert_int_equal(wav_reader_read(r, out, FRAMES + 10), FRAMES);
	assert_memory_equal(in, out, bytes);
	assert_int_equal(wav_reader_read(r, out, 1), 0);
	wav_reader_close(r);
	free(in);
	free(out);
}

static void test_round_trip_all_formats(void **state)
{
	static const enum fmt fmts[] = { FMT_S16, FMT_S24, FMT_S32, FMT_FLOAT };
	static const unsigned chans[] = { 1, 2, 6, 8 };

	for (size_t i = 0; i < 4; i++)
		for (size_t c = 0; c < 4; c++)
			round_trip(*state, fmts[i], chans[c], 44100 + 3900 * (unsigned)c);
}

static void test_empty_file(void **state)
{
	struct wav_info info = { .fmt = FMT_S16, .rate = 8000, .channels = 1 };
	struct wav_writer *w;
	struct wav_reader *r;
	int16_t s;

	assert_int_equal(wav_writer_open(&w, ((struct fixture *)*state)->path,
					 &info), 0);
	assert_int_equal(wav_writer_write(w, &s, 0), 0);
	assert_int_equal(wav_writer_close(w), 0);
	r = open_ok(*state);
	expect_info(r, FMT_S16, 8000, 1, 0);
	assert_int_equal(wav_reader_read(r, &s, 1), 0);
	wav_reader_close(r);
}

/* The file is a valid WAV after every write, before close: a reader opened
 * meanwhile sees exactly the frames written so far. */
static void test_header_valid_while_open(void **state)
{
	struct fixture *f = *state;
	struct wav_info info = { .fmt = FMT_S32, .rate = 48000, .channels = 2 };
	int32_t in[2 * 300], out[2 * 300];
	struct wav_writer *w;
	struct wav_reader *r;

	fill(FMT_S32, in, 600);
	assert_int_equal(wav_writer_open(&w, f->path, &info), 0);
	r = open_ok(f);
	expect_info(r, FMT_S32, 48000, 2, 0);
	wav_reader_close(r);
	for (unsigned done = 0; done < 300; done += 100) {
		assert_int_equal(wav_writer_write(w, in + done * 2, 100), 0);
		r = open_ok(f);
		expect_info(r, FMT_S32, 48000, 2, done + 100);
		assert_int_equal(wav_reader_read(r, out, 300), done + 100);
		assert_memory_equal(in, out, (done + 100) * 8);
		wav_reader_close(r);
	}
	assert_int_equal(wav_writer_close(w), 0);
}

static void test_writer_errors(void **state)
{
	struct fixture *f = *state;
	struct wav_info bad = { .fmt = FMT_S16, .rate = 48000, .channels = 0 };
	struct wav_info ok = { .fmt = FMT_S16, .rate = 48000, .channels = 2 };
	struct wav_writer *w = NULL;
	char path[PATH_MAX];

	assert_int_equal(wav_writer_open(&w, f->path, &bad), -EINVAL);
	bad.channels = 2;
	bad.rate = 0;
	assert_int_equal(wav_writer_open(&w, f->path, &bad), -EINVAL);
	snprintf(path, sizeof path, "%s/missing/x.wav", f->dir);
	assert_int_equal(wav_writer_open(&w, path, &ok), -ENOENT);
	assert_int_equal(wav_writer_close(NULL), 0);
}

/* --- hand-built headers ------------------------------------------------- */

static void test_plain_pcm16(void **state)
{
	const int16_t data[] = { 1, -2, 32767, -32768, 0, 5 };
	const struct fmt_chunk c = { .tag = 1, .channels = 2, .rate = 22050,
				     .block = 4, .bits = 16 };
	int16_t out[6];
	struct blob x;
	struct wav_reader *r;

	riff_begin(&x);
	put_fmt(&x, &c);
	put_chunk(&x, "data", data, sizeof data, sizeof data);
	riff_finish(&x);
	save(*state, &x);
	r = open_ok(*state);
	expect_info(r, FMT_S16, 22050, 2, 3);
	assert_int_equal(wav_reader_read(r, out, 3), 3);
	assert_memory_equal(out, data, sizeof data);
	wav_reader_close(r);
}

/* 24-bit packed (3 bytes a sample) comes out as low-aligned S24. */
static void test_packed24(void **state)
{
	const uint8_t data[] = { 0x01, 0x00, 0x00,  0xff, 0xff, 0x7f,
				 0x00, 0x00, 0x80,  0xfe, 0xff, 0xff,
				 0x56, 0x34, 0x12,  0xaa, 0xbb, 0xcc };
	const int32_t want[] = { 1, 8388607, -8388608, -2, 0x123456,
				 (int32_t)0xffccbbaa };
	const struct fmt_chunk c = { .tag = 1, .channels = 3, .rate = 96000,
				     .block = 9, .bits = 24 };
	int32_t out[6];
	struct blob x;
	struct wav_reader *r;

	riff_begin(&x);
	put_fmt(&x, &c);
	put_chunk(&x, "data", data, sizeof data, sizeof data);
	riff_finish(&x);
	save(*state, &x);
	r = open_ok(*state);
	expect_info(r, FMT_S24, 96000, 3, 2);
	assert_int_equal(wav_reader_read(r, out, 2), 2);
	assert_memory_equal(out, want, sizeof want);
	/* Again after a seek, which must widen the same way. */
	assert_int_equal(wav_reader_seek(r, 1), 0);
	assert_int_equal(wav_reader_read(r, out, 5), 1);
	assert_memory_equal(out, want + 3, 3 * sizeof(int32_t));
	wav_reader_close(r);
}

/* Extensible, 24 valid bits in a 32-bit container, as the writer makes it. */
/* The WAV standard: 24 valid bits at the top of a 32-bit container. */
static void test_extensible_24_in_32(void **state)
{
	const int32_t want[] = { 1, -1, 8388607, -8388608 };
	const int32_t data[] = { 1 << 8, -(1 << 8), 8388607 << 8, INT32_MIN };
	const struct fmt_chunk c = { .channels = 2, .rate = 48000, .block = 8,
				     .bits = 32, .ext_valid = 24, .ext_tag = 1 };
	int32_t out[4];
	struct blob x;
	struct wav_reader *r;

	riff_begin(&x);
	put_fmt(&x, &c);
	put_chunk(&x, "data", data, sizeof data, sizeof data);
	riff_finish(&x);
	save(*state, &x);
	r = open_ok(*state);
	expect_info(r, FMT_S24, 48000, 2, 2);
	assert_int_equal(wav_reader_read(r, out, 2), 2);
	assert_memory_equal(out, want, sizeof want);
	wav_reader_close(r);
}

/* What arecord writes for S24_LE: bits 24, 4 bytes a sample, low-aligned. */
static void test_arecord_24_in_32(void **state)
{
	const int32_t data[] = { 1, -1, 8388607, -8388608 };
	const struct fmt_chunk c = { .tag = 1, .channels = 2, .rate = 48000,
				     .block = 8, .bits = 24 };
	int32_t out[4];
	struct blob x;
	struct wav_reader *r;

	riff_begin(&x);
	put_fmt(&x, &c);
	put_chunk(&x, "data", data, sizeof data, sizeof data);
	riff_finish(&x);
	save(*state, &x);
	r = open_ok(*state);
	expect_info(r, FMT_S24, 48000, 2, 2);
	assert_int_equal(wav_reader_read(r, out, 2), 2);
	assert_memory_equal(out, data, sizeof data);
	wav_reader_close(r);
}

static void test_extensible_s32_and_float(void **state)
{
	const struct fmt_chunk s32 = { .channels = 1, .rate = 8000, .block = 4,
				       .bits = 32, .ext_valid = 32, .ext_tag = 1 };
	const struct fmt_chunk flt = { .channels = 1, .rate = 8000, .block = 4,
				       .bits = 32, .ext_valid = 32, .ext_tag = 3 };
	const int32_t data[] = { 7, 8 };
	struct blob x;
	struct wav_reader *r;

	riff_begin(&x);
	put_fmt(&x, &s32);
	put_chunk(&x, "data", data, sizeof data, sizeof data);
	riff_finish(&x);
	save(*state, &x);
	r = open_ok(*state);
	expect_info(r, FMT_S32, 8000, 1, 2);
	wav_reader_close(r);

	riff_begin(&x);
	put_fmt(&x, &flt);
	put_chunk(&x, "data", data, sizeof data, sizeof data);
	riff_finish(&x);
	save(*state, &x);
	r = open_ok(*state);
	expect_info(r, FMT_FLOAT, 8000, 1, 2);
	wav_reader_close(r);
}

/* IEEE float (tag 3), with unknown chunks before and after "fmt " -- one
 * of odd length, so its pad byte must be skipped -- and a trailing chunk
 * after the data that must not count as samples. */
static void test_float_with_extra_chunks(void **state)
{
	const float data[] = { 0.5f, -0.25f, 1.0f, -1.0f, 0.0f };
	const struct fmt_chunk c = { .tag = 3, .channels = 1, .rate = 44100,
				     .block = 4, .bits = 32 };
	float out[5];
	struct blob x;
	struct wav_reader *r;

	riff_begin(&x);
	put_chunk(&x, "JUNK", "abc", 3, 3);
	put_fmt(&x, &c);
	put_chunk(&x, "LIST", "INFOxxxxx", 9, 9);
	put_chunk(&x, "data", data, sizeof data, sizeof data);
	put_chunk(&x, "id3 ", "tagtag", 6, 6);
	riff_finish(&x);
	save(*state, &x);
	r = open_ok(*state);
	expect_info(r, FMT_FLOAT, 44100, 1, 5);
	assert_int_equal(wav_reader_read(r, out, 10), 5);
	assert_memory_equal(out, data, sizeof data);
	wav_reader_close(r);
}

/* A data size larger than the file (a killed writer, or a streaming
 * writer's 0xffffffff) is cut to the whole frames actually present. */
static void test_data_size_past_end(void **state)
{
	const int16_t data[] = { 1, 2, 3, 4, 5 };	/* 2.5 stereo frames */
	const struct fmt_chunk c = { .tag = 1, .channels = 2, .rate = 48000,
				     .block = 4, .bits = 16 };
	struct blob x;
	struct wav_reader *r;

	riff_begin(&x);
	put_fmt(&x, &c);
	put_chunk(&x, "data", data, sizeof data, 0xffffffffu);
	riff_finish(&x);
	save(*state, &x);
	r = open_ok(*state);
	expect_info(r, FMT_S16, 48000, 2, 2);
	wav_reader_close(r);
}

static void test_seek(void **state)
{
	struct wav_info info = { .fmt = FMT_S16, .rate = 48000, .channels = 1 };
	int16_t in[100], out[100];
	struct wav_writer *w;
	struct wav_reader *r;

	for (int i = 0; i < 100; i++)
		in[i] = (int16_t)(i * 3);
	assert_int_equal(wav_writer_open(&w, ((struct fixture *)*state)->path,
					 &info), 0);
	assert_int_equal(wav_writer_write(w, in, 100), 0);
	assert_int_equal(wav_writer_close(w), 0);
	r = open_ok(*state);
	assert_int_equal(wav_reader_seek(r, 90), 0);
	assert_int_equal(wav_reader_read(r, out, 50), 10);
	assert_memory_equal(out, in + 90, 10 * sizeof(int16_t));
	assert_int_equal(wav_reader_seek(r, 100), 0);
	assert_int_equal(wav_reader_read(r, out, 1), 0);
	assert_int_equal(wav_reader_seek(r, 101), -EINVAL);
	assert_int_equal(wav_reader_seek(r, 0), 0);
	assert_int_equal(wav_reader_read(r, out, 2), 2);
	assert_int_equal(out[1], 3);
	wav_reader_close(r);
}

/* --- files the reader refuses --------------------------------------------- */

static void good_header(struct blob *x, const struct fmt_chunk *c)
{
	const int16_t data[4] = { 0 };

	riff_begin(x);
	put_fmt(x, c);
	put_chunk(x, "data", data, sizeof data, sizeof data);
	riff_finish(x);
}

static const struct fmt_chunk pcm16 = { .tag = 1, .channels = 2,
					.rate = 48000, .block = 4, .bits = 16 };

static void test_truncated(void **state)
{
	struct blob x;
	size_t full;

	good_header(&x, &pcm16);
	full = x.len;
	/* Cut inside "RIFF", inside "fmt ", and just before "data". */
	for (size_t cut = 0; cut < full - 8; cut += cut < 40 ? 1 : 4) {
		x.len = cut;
		save(*state, &x);
		expect_open_fails(*state, -EPROTO);
	}
}

static void test_garbage(void **state)
{
	struct blob x = { .len = 0 };

	for (int i = 0; i < 200; i++)
		put(&x, "\x5a\xa5", 1 + (i & 1));
	save(*state, &x);
	expect_open_fails(*state, -EPROTO);

	good_header(&x, &pcm16);
	memcpy(x.b + 8, "AVI ", 4);	/* RIFF, but not WAVE */
	save(*state, &x);
	expect_open_fails(*state, -EPROTO);

	good_header(&x, &pcm16);
	memcpy(x.b, "RIFX", 4);		/* big-endian RIFF */
	save(*state, &x);
	expect_open_fails(*state, -EPROTO);
}

static void test_no_data_chunk(void **state)
{
	struct blob x;

	riff_begin(&x);
	put_fmt(&x, &pcm16);
	put_chunk(&x, "LIST", "abcd", 4, 4);
	riff_finish(&x);
	save(*state, &x);
	expect_open_fails(*state, -EPROTO);
}

static void test_data_before_fmt(void **state)
{
	const int16_t data[4] = { 0 };
	struct blob x;

	riff_begin(&x);
	put_chunk(&x, "data", data, sizeof data, sizeof data);
	put_fmt(&x, &pcm16);
	riff_finish(&x);
	save(*state, &x);
	expect_open_fails(*state, -EPROTO);
}

/* Layouts lull has no format for, and inconsistent fields. */
static void test_unsupported_layouts(void **state)
{
	static const struct fmt_chunk bad[] = {
		{ .tag = 1, .channels = 1, .rate = 8000, .block = 1, .bits = 8 },
		{ .tag = 7, .channels = 1, .rate = 8000, .block = 1, .bits = 8 },
		{ .tag = 3, .channels = 1, .rate = 8000, .block = 8, .bits = 64 },
		{ .tag = 1, .channels = 0, .rate = 8000, .block = 0, .bits = 16 },
		{ .tag = 1, .channels = 2, .rate = 0, .block = 4, .bits = 16 },
		{ .tag = 1, .channels = 2, .rate = 8000, .block = 6, .bits = 16 },
		{ .channels = 1, .rate = 8000, .block = 2, .bits = 16,
		  .ext_valid = 16, .ext_tag = 6 },
	};
	struct blob x;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		good_header(&x, &bad[i]);
		save(*state, &x);
		expect_open_fails(*state, -EPROTO);
	}
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct wav_reader *r = NULL;
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/none.wav", f->dir);
	assert_int_equal(wav_reader_open(&r, path), -ENOENT);
	wav_reader_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_all_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_valid_while_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_pcm16, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed24, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extensible_24_in_32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arecord_24_in_32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extensible_s32_and_float, setup, teardown),
		cmocka_unit_test_setup_teardown(test_float_with_extra_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_size_past_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_data_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_before_fmt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
