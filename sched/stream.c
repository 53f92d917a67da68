/* A playback stream inside lulld. See stream.h. */
#include "sched/stream.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mix.h"

#define STREAM_IN_MAX 8192	/* client frames converted at a time */
#define NS 1000000000.0

/* --- latency ------------------------------------------------------------------ */

/* A requested latency L is split in two: half waits in the card's buffer
 * (so lulld wakes every L/2 - watermark), half in the client's ring (so
 * the client refills while the card plays). The card part never drops
 * below two watermarks, nor exceeds the buffer; the default is a full
 * buffer, which is the fewest wakeups. */
static void stream_size(struct stream *s, const struct stream_cfg *cfg)
{
	double dev_s = (double)cfg->dev_buffer / cfg->dev_rate;
	double wm_s = (double)cfg->watermark / cfg->dev_rate;
	double want = cfg->latency_ns ? cfg->latency_ns / NS / 2 : dev_s;
	double card = fmin(fmax(want, 2 * wm_s), dev_s);
	double ring = fmax(card, (double)STREAM_CHUNK / cfg->dev_rate);

	s->fill_target = (uint64_t)llround(card * cfg->dev_rate);
	/* Exactly the ring part: a client keeps its ring full, so every
	 * frame more would be latency the grant does not count. */
	s->ring_frames = (uint64_t)ceil(ring * cfg->rate);
	s->request_frames = s->ring_frames;
	s->latency_ns = (uint64_t)((card + ring) * NS);
}

/* --- lifecycle ------------------------------------------------------------------- */

static int stream_alloc_dsp(struct stream *s)
{
	int err = resampler_new(&s->rs, s->rate, s->dev_rate, s->dev_channels,
				RESAMPLER_FAST);

	if (err)
		return err;
	s->in_max = STREAM_IN_MAX;
	s->raw = malloc(s->in_max * s->frame_bytes);
	s->in_f = malloc(s->in_max * s->channels * sizeof(float));
	s->in_map = malloc(s->in_max * s->dev_channels * sizeof(float));
	s->out = malloc(STREAM_CHUNK * s->dev_channels * sizeof(float));
	s->cache = malloc(s->cache_cap * s->dev_channels * sizeof(float));
	return s->raw && s->in_f && s->in_map && s->out && s->cache ? 0 : -ENOMEM;
}

static int stream_alloc_shm(struct stream *s)
{
	int err = link_open(&s->link, s->ring_frames, (uint32_t)s->frame_bytes);

	if (err)
		return err;
	ring_init_consumer(&s->ring, &s->link.hdr->ring, shm_data(s->link.hdr),
			   s->ring_frames, (uint32_t)s->frame_bytes);
	atomic_store(&s->link.hdr->request_frames, s->request_frames);
	atomic_store(&s->link.hdr->want_signal, 1);
	return 0;
}

int stream_new(struct stream **out, const struct stream_cfg *cfg)
{
	struct stream *s = calloc(1, sizeof *s);
	int err;

	if (!s)
		return -ENOMEM;
	*s = (struct stream){
		.id = cfg->id, .rate = cfg->rate, .channels = cfg->channels,
		.fmt = cfg->fmt, .frame_bytes = fmt_bytes(cfg->fmt) * cfg->channels,
		.dev_rate = cfg->dev_rate, .dev_channels = cfg->dev_channels,
		.link = LINK_INIT,
		.cache_cap = cfg->dev_buffer + 4 * STREAM_CHUNK,
		.paused = cfg->paused,
		.gain_from = cfg->volume, .gain_to = cfg->volume,
	};
	stream_size(s, cfg);
	err = stream_alloc_dsp(s);
	if (!err)
		err = stream_alloc_shm(s);
	if (err) {
		stream_free(s);
		return err;
	}
	*out = s;
	return 0;
}

void stream_free(struct stream *s)
{
	if (!s)
		return;
	link_close(&s->link);
	resampler_free(s->rs);
	free(s->raw);
	free(s->in_f);
	free(s->in_map);
	free(s->out);
	free(s->cache);
	free(s);
}

/* --- conversion into the render cache --------------------------------------------- */

static void stream_cache_put(struct stream *s, const float *src, uint64_t n)
{
	uint64_t at = s->cache_w % s->cache_cap;
	uint64_t first = n < s->cache_cap - at ? n : s->cache_cap - at;
	size_t ch = s->dev_channels;

	memcpy(s->cache + at * ch, src, first * ch * sizeof(float));
	memcpy(s->cache, src + first * ch, (n - first) * ch * sizeof(float));
	s->cache_w += n;
}

/* One step: client frames -> float -> card channels -> card rate. Returns
 * frames produced, 0 when the ring is dry. */
static uint64_t stream_convert(struct stream *s, uint64_t want)
{
	uint64_t avail = ring_readable(&s->ring);
	size_t in = resampler_input_for(s->rs, (size_t)want), used = 0;
	long made;

	if (avail == 0)
		return 0;
	if (in > avail)
		in = (size_t)avail;
	if (in > s->in_max)
		in = s->in_max;
	ring_peek(&s->ring, 0, s->raw, in);
	fmt_to_float(s->fmt, s->raw, s->in_f, in * s->channels);
	mix_map_channels(s->in_f, s->channels, s->in_map, s->dev_channels, in);
	made = resampler_process(s->rs, s->in_map, in, &used, s->out, (size_t)want);
	ring_release(&s->ring, used);
	s->in_used += used;
	s->consumed_since_signal += used;
	if (made <= 0)
		return used ? 1 : 0;	/* the filter is still filling up */
	stream_cache_put(s, s->out, (uint64_t)made);
	return (uint64_t)made;
}

/* A drained stream's last frames are still inside the resampler, which
 * holds back its look-ahead: push silence through until they are out.
 * Returns frames produced, 0 when there is nothing left to flush. */
static uint64_t stream_flush(struct stream *s, uint64_t want)
{
	size_t in, used = 0;
	long made;

	if (!s->draining || s->cache_w >= s->drain_end)
		return 0;
	if (want > s->drain_end - s->cache_w)
		want = s->drain_end - s->cache_w;
	in = resampler_input_for(s->rs, (size_t)want);
	if (in > s->in_max)
		in = s->in_max;
	memset(s->in_map, 0, in * s->dev_channels * sizeof(float));
	made = resampler_process(s->rs, s->in_map, in, &used, s->out, (size_t)want);
	if (made <= 0)
		return used ? 1 : 0;
	stream_cache_put(s, s->out, (uint64_t)made);
	return (uint64_t)made;
}

/* Converts until the cache holds `need` unmixed frames or the ring is dry.
 * Returns the unmixed frames available. */
static uint64_t stream_pull(struct stream *s, uint64_t need)
{
	while (s->cache_w - s->cache_r < need) {
		uint64_t want = need - (s->cache_w - s->cache_r);
		if (want > STREAM_CHUNK)
			want = STREAM_CHUNK;
		if (stream_convert(s, want) == 0 && stream_flush(s, want) == 0)
			break;
	}
	return s->cache_w - s->cache_r;
}

void stream_drain(struct stream *s, uint32_t token)
{
	s->draining = 1;
	s->drain_token = token;
	s->drain_until = s->in_used + ring_readable(&s->ring);
	s->drain_end = (uint64_t)ceil((double)s->drain_until * resampler_ratio(s->rs));
}

/* Device frame at which cache frame c is (or will be) heard: the journal
 * knows where it went; 0 if it has not been mixed. */
static uint64_t stream_device_of(const struct stream *s, uint64_t c)
{
	for (unsigned i = s->nseg; i-- > 0;) {
		const struct stream_seg *g = &s->seg[i];
		if (c >= g->c0 && c < g->c0 + g->len)
			return g->d0 + (c - g->c0);
	}
	return 0;
}

int64_t stream_drain_end(const struct stream *s)
{
	if (s->in_used < s->drain_until || s->cache_r < s->drain_end)
		return -1;
	if (s->drain_end == 0)
		return 0;
	return (int64_t)stream_device_of(s, s->drain_end - 1) + 1;
}

int stream_has_data(struct stream *s)
{
	return s->cache_w > s->cache_r || ring_readable(&s->ring) > 0 ||
	       (s->draining && s->cache_w < s->drain_end);
}

/* --- mixing ------------------------------------------------------------------------- */

/* Gain at device frame d: gain_from before the ramp, gain_to after it. */
static float stream_gain_at(const struct stream *s, uint64_t d)
{
	if (d >= s->ramp_start + s->ramp_len)
		return s->gain_to;
	if (d < s->ramp_start)
		return s->gain_from;
	return s->gain_from + (s->gain_to - s->gain_from) *
	       (float)(d - s->ramp_start) / (float)s->ramp_len;
}

/* Adds cache frames [cache_r, cache_r + n) for device frames [d, d + n),
 * split where the cache wraps and where a volume ramp ends. */
static void stream_add(struct stream *s, float *dst, uint64_t d, size_t n)
{
	while (n > 0) {
		uint64_t at = s->cache_r % s->cache_cap;
		uint64_t m = n < s->cache_cap - at ? n : s->cache_cap - at;
		uint64_t ramp_end = s->ramp_start + s->ramp_len;
		if (d < ramp_end && d + m > ramp_end)
			m = ramp_end - d;
		mix_add(dst, s->cache + at * s->dev_channels, m, s->dev_channels,
			stream_gain_at(s, d), stream_gain_at(s, d + m));
		dst += m * s->dev_channels;
		s->cache_r += m;
		d += m;
		n -= m;
	}
}

static void stream_journal(struct stream *s, uint64_t d, uint64_t c, uint64_t n)
{
	struct stream_seg *last = s->nseg ? &s->seg[s->nseg - 1] : NULL;

	if (last && last->d0 + last->len == d && last->c0 + last->len == c) {
		last->len += n;
		return;
	}
	if (s->nseg == STREAM_SEGS) {
		/* Out of room: the oldest segment is long played. */
		memmove(s->seg, s->seg + 1, (STREAM_SEGS - 1) * sizeof s->seg[0]);
		s->nseg--;
	}
	s->seg[s->nseg++] = (struct stream_seg){ .d0 = d, .c0 = c, .len = n };
}

size_t stream_mix(struct stream *s, float *dst, uint64_t d, size_t n)
{
	uint64_t have, c = s->cache_r;

	if (s->paused)
		return 0;
	have = stream_pull(s, n);
	if (have > n)
		have = n;
	if (have == 0)
		return 0;
	stream_add(s, dst, d, (size_t)have);
	stream_journal(s, d, c, have);
	s->started = 1;
	return (size_t)have;
}

/* --- rewinds and positions ---------------------------------------------------------- */

void stream_rewind(struct stream *s, uint64_t r)
{
	uint64_t c = s->cache_r;

	while (s->nseg > 0) {
		struct stream_seg *g = &s->seg[s->nseg - 1];
		if (g->d0 >= r) {	/* wholly after r: undone */
			c = g->c0;
			s->nseg--;
			continue;
		}
		if (g->d0 + g->len > r) {	/* straddles r: cut */
			g->len = r - g->d0;
			c = g->c0 + g->len;
		}
		break;
	}
	s->cache_r = c;
}

void stream_prune(struct stream *s, uint64_t p)
{
	unsigned drop = 0;

	/* Keep the last segment even if played: it tells where a stream that
	 * ran dry should continue. */
	while (drop + 1 < s->nseg && s->seg[drop].d0 + s->seg[drop].len <= p)
		drop++;
	if (drop) {
		memmove(s->seg, s->seg + drop, (s->nseg - drop) * sizeof s->seg[0]);
		s->nseg -= drop;
	}
}

uint64_t stream_mixed_end(const struct stream *s)
{
	const struct stream_seg *g = s->nseg ? &s->seg[s->nseg - 1] : NULL;

	return g ? g->d0 + g->len : 0;
}

/* Cache frame c back to the client's frame count. libsamplerate does not
 * shift the signal (it holds back its look-ahead instead): client frame j
 * comes out as cache frame j * ratio. */
static double stream_cache_to_client(const struct stream *s, double c)
{
	return c / resampler_ratio(s->rs);
}

double stream_client_frame(const struct stream *s, uint64_t p, int *inside)
{
	for (unsigned i = 0; i < s->nseg; i++) {
		const struct stream_seg *g = &s->seg[i];
		if (p < g->d0 + g->len) {
			*inside = p >= g->d0;
			return stream_cache_to_client(s, (double)g->c0 +
				(p >= g->d0 ? (double)(p - g->d0) : 0));
		}
	}
	*inside = 0;
	return stream_cache_to_client(s, (double)s->cache_r);
}

void stream_publish(struct stream *s, uint64_t p, int64_t t_ns, double ratio)
{
	int inside;
	double f = stream_client_frame(s, p, &inside);
	uint32_t flags = SHM_POS_VALID | (inside && !s->paused ? SHM_POS_RUNNING : 0);

	if (f < 0)
		f = 0;
	shm_position_write(&s->link.hdr->pos, flags, (uint64_t)llround(f), t_ns,
			   (uint64_t)llround(ratio * 1e6), s->latency_ns);
}

void stream_set_gain(struct stream *s, float g, uint64_t d, uint64_t ramp)
{
	s->gain_from = stream_gain_at(s, d);
	s->gain_to = g;
	s->ramp_start = d;
	s->ramp_len = ramp;
}
