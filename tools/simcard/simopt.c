/* Settings of the simulated card. See simopt.h.
 *
 * Every key may be given as a string or a number; an empty string means
 * "not set" so the ALSA @args defaults can all be "". */
#include "tools/simcard/simopt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct simopt_key {
	const char *name;
	int (*set)(struct simopt *o, const char *v);
};

static int simopt_num(const char *v, double lo, double hi, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < lo || d > hi)
		return -EINVAL;
	*out = d;
	return 0;
}

static int simopt_uint(const char *v, double hi, uint64_t *out)
{
	double d;

	if (simopt_num(v, 0, hi, &d) || d != floor(d))
		return -EINVAL;
	*out = (uint64_t)d;
	return 0;
}

static int simopt_uns(const char *v, double hi, unsigned *out)
{
	uint64_t u;

	if (simopt_uint(v, hi, &u))
		return -EINVAL;
	*out = (unsigned)u;
	return 0;
}

static int simopt_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int set_out(struct simopt *o, const char *v) { return simopt_str(&o->out, v); }
static int set_events(struct simopt *o, const char *v) { return simopt_str(&o->events, v); }
static int set_loop(struct simopt *o, const char *v) { return simopt_str(&o->loop, v); }
static int set_freq(struct simopt *o, const char *v) { return simopt_num(v, 0, 1e6, &o->src.freq); }
static int set_amp(struct simopt *o, const char *v) { return simopt_num(v, 0, 1, &o->src.amp); }
static int set_jitter(struct simopt *o, const char *v) { return simopt_uns(v, 1e7, &o->jitter_us); }
static int set_prefetch(struct simopt *o, const char *v) { return simopt_uint(v, 1 << 24, &o->prefetch); }
static int set_fifo(struct simopt *o, const char *v) { return simopt_uint(v, 1 << 24, &o->fifo); }
static int set_drift(struct simopt *o, const char *v) { return simopt_num(v, -1e5, 1e5, &o->drift_ppm); }
static int set_xrun(struct simopt *o, const char *v) { return simopt_uns(v, 1e8, &o->xrun_ms); }
static int set_jump(struct simopt *o, const char *v) { return simopt_uns(v, 1e8, &o->jump_ms); }
static int set_jumpsize(struct simopt *o, const char *v) { return simopt_uint(v, 1e12, &o->jump_frames); }
static int set_stall(struct simopt *o, const char *v) { return simopt_uns(v, 1e8, &o->stall_ms); }
static int set_stall_every(struct simopt *o, const char *v) { return simopt_uns(v, 1e8, &o->stall_every_ms); }

static int set_suspend(struct simopt *o, const char *v) { return simopt_uns(v, 1e8, &o->suspend_ms); }
static int set_fail(struct simopt *o, const char *v) { return simopt_uns(v, 1e8, &o->fail_ms); }

static int simopt_bool(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcasecmp(v, "no"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

static int set_norewind(struct simopt *o, const char *v) { return simopt_bool(v, &o->norewind); }
static int set_resume(struct simopt *o, const char *v) { return simopt_bool(v, &o->resume); }
static int set_append(struct simopt *o, const char *v) { return simopt_bool(v, &o->append); }

static int set_failerr(struct simopt *o, const char *v)
{
	if (!strcasecmp(v, "nodev"))
		o->fail_err = ENODEV;
	else if (!strcasecmp(v, "io"))
		o->fail_err = EIO;
	else
		return -EINVAL;
	return 0;
}

static int set_seed(struct simopt *o, const char *v)
{
	uint64_t s;

	if (simopt_uint(v, 4294967295.0, &s))
		return -EINVAL;
	o->seed = (uint32_t)s;
	return 0;
}

static int set_granularity(struct simopt *o, const char *v)
{
	if (!strcmp(v, "period")) {
		o->granularity = SIMOPT_GRAN_PERIOD;
		return 0;
	}
	if (simopt_uint(v, 1 << 24, &o->granularity) || o->granularity < 1)
		return -EINVAL;
	return 0;
}

static int set_capture(struct simopt *o, const char *v)
{
	if (!strcmp(v, "sine"))
		o->src.kind = SIMSRC_SINE;
	else if (!strcmp(v, "silence"))
		o->src.kind = SIMSRC_SILENCE;
	else if (!strcmp(v, "loop"))
		o->src.kind = SIMSRC_LOOP;
	else if (!strncmp(v, "wav:", 4) && v[4]) {
		o->src.kind = SIMSRC_WAV;
		return simopt_str(&o->capture_path, v + 4);
	} else
		return -EINVAL;
	return 0;
}

static const struct simopt_key simopt_keys[] = {
	{ "out", set_out },		{ "events", set_events },
	{ "capture", set_capture },	{ "freq", set_freq },
	{ "amp", set_amp },		{ "loop", set_loop },
	{ "granularity", set_granularity }, { "jitter", set_jitter },
	{ "seed", set_seed },		{ "prefetch", set_prefetch },
	{ "fifo", set_fifo },		{ "drift", set_drift },
	{ "xrun", set_xrun },		{ "jump", set_jump },
	{ "jumpsize", set_jumpsize },	{ "stall", set_stall },
	{ "stall_every", set_stall_every },
	{ "norewind", set_norewind },	{ "suspend", set_suspend },
	{ "resume", set_resume },	{ "fail", set_fail },
	{ "failerr", set_failerr },	{ "append", set_append },
};

static int simopt_set(struct simopt *o, const char *id, const char *v)
{
	for (size_t i = 0; i < sizeof simopt_keys / sizeof simopt_keys[0]; i++) {
		if (strcasecmp(id, simopt_keys[i].name))
			continue;
		if (!*v)
			return 0;
		if (simopt_keys[i].set(o, v) < 0) {
			SNDERR("lullsim: bad value '%s' for %s", v, id);
			return -EINVAL;
		}
		return 0;
	}
	SNDERR("lullsim: unknown setting %s", id);
	return -EINVAL;
}

static void simopt_defaults(struct simopt *o)
{
	*o = (struct simopt){
		.src = { .kind = SIMSRC_SINE, .freq = 1000, .amp = 0.5 },
		.granularity = 1, .seed = 1, .resume = 1, .fail_err = ENODEV,
	};
}

int simopt_parse(struct simopt *o, snd_config_t *conf)
{
	snd_config_iterator_t i, next;

	simopt_defaults(o);
	snd_config_for_each(i, next, conf) {
		snd_config_t *n = snd_config_iterator_entry(i);
		const char *id;
		char *v;
		int err;

		if (snd_config_get_id(n, &id) < 0 || !strcmp(id, "comment") ||
		    !strcmp(id, "type") || !strcmp(id, "hint"))
			continue;
		if (snd_config_get_ascii(n, &v) < 0) {
			SNDERR("lullsim: %s must be a string or a number", id);
			simopt_free(o);
			return -EINVAL;
		}
		err = simopt_set(o, id, v);
		free(v);
		if (err) {
			simopt_free(o);
			return err;
		}
	}
	o->src.path = o->capture_path;
	o->src.loop = o->loop ? o->loop : "lullsim";
	return 0;
}

void simopt_free(struct simopt *o)
{
	free(o->out);
	free(o->events);
	free(o->loop);
	free(o->capture_path);
	o->out = o->events = o->loop = o->capture_path = NULL;
}
