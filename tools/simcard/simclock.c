/* The simulated card's clock. See simclock.h.
 *
 *   true position      pos(t) = frame0 + (t - t0) * rate * (1 + ppm/1e6)
 *   reported position  floor(pos(t') / G) * G,   t' = t - stall phase + jitter
 *
 * Products are taken in 128 bits: ns * micro-frames/s overflows 64 bits
 * after about a minute at 192 kHz. */
#include "tools/simcard/simclock.h"

#include <math.h>

#define NS_PER_S 1000000000LL
#define UHZ_SCALE 1000000ULL	/* rate_uhz = rate * UHZ_SCALE * (1 + drift) */

void simclock_init(struct simclock *c, const struct simclock_cfg *cfg)
{
	*c = (struct simclock){ .cfg = *cfg };
	if (c->cfg.granularity < 1)
		c->cfg.granularity = 1;
	c->rate_uhz = (uint64_t)llround((double)cfg->rate * UHZ_SCALE *
					(1.0 + cfg->drift_ppm / 1e6));
	c->rng = 0x9e3779b97f4a7c15ULL ^ cfg->seed;
}

void simclock_start(struct simclock *c, int64_t now, uint64_t frame)
{
	c->running = 1;
	c->t0 = now;
	c->frame0 = frame;
	c->run_start = now;
	c->last_report = frame - frame % c->cfg.granularity;
}

void simclock_stop(struct simclock *c, uint64_t frame)
{
	c->running = 0;
	c->frame0 = frame;
}

uint64_t simclock_pos(const struct simclock *c, int64_t now)
{
	unsigned __int128 f;

	if (!c->running || now <= c->t0)
		return c->frame0;
	f = (unsigned __int128)(now - c->t0) * c->rate_uhz;
	return c->frame0 + (uint64_t)(f / ((unsigned __int128)NS_PER_S * UHZ_SCALE));
}

int64_t simclock_when(const struct simclock *c, uint64_t frame)
{
	unsigned __int128 num, den = (unsigned __int128)NS_PER_S * UHZ_SCALE;

	if (frame <= c->frame0)
		return c->t0;
	num = (unsigned __int128)(frame - c->frame0) * den;
	return c->t0 + (int64_t)((num + c->rate_uhz - 1) / c->rate_uhz);
}

/* xorshift64*: cheap, seeded, reproducible. Returns [0, 1). */
static double simclock_uniform(struct simclock *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (double)((c->rng * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

/* A stalled pointer reads as it did when the stall began. */
static int64_t simclock_stall_time(const struct simclock *c, int64_t now)
{
	int64_t every = (int64_t)c->cfg.stall_every_ms * 1000000;
	int64_t len = (int64_t)c->cfg.stall_ms * 1000000;
	int64_t phase;

	if (!every || !len || now <= c->run_start)
		return now;
	phase = (now - c->run_start) % every;
	return phase < len && now - c->run_start >= every ? now - phase : now;
}

static int64_t simclock_jitter(struct simclock *c, int64_t t)
{
	double u;

	if (!c->cfg.jitter_us)
		return t;
	u = simclock_uniform(c) * 2.0 - 1.0;
	return t + (int64_t)(u * c->cfg.jitter_us * 1000.0);
}

/* For the first 2 ms of each jump period every read reports jump_frames
 * too many: long enough that a caller reading twice in a row (alsa-lib's
 * snd_pcm_avail does: hwsync, then avail_update) sees it too. ALSA counts
 * positions modulo its boundary, so the next honest read moves it back. */
#define SIMCLOCK_JUMP_NS 2000000

static uint64_t simclock_jump(const struct simclock *c, int64_t now)
{
	int64_t every = (int64_t)c->cfg.jump_every_ms * 1000000;

	if (!every || now - c->run_start < every)
		return 0;
	return (now - c->run_start) % every < SIMCLOCK_JUMP_NS ? c->cfg.jump_frames : 0;
}

uint64_t simclock_report(struct simclock *c, int64_t now)
{
	uint64_t p, g = c->cfg.granularity;

	if (!c->running)
		return c->last_report > c->frame0 ? c->last_report :
		       c->frame0 - c->frame0 % g;
	p = simclock_pos(c, simclock_jitter(c, simclock_stall_time(c, now)));
	p -= p % g;
	if (p < c->last_report)
		p = c->last_report;
	c->last_report = p;
	return p + simclock_jump(c, now);
}
