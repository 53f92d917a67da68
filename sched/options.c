/* lulld's settings. See options.h. */
#include "sched/options.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"

#define LULL_VERSION "0.1"

static const char options_usage[] =
"usage: lulld [options]\n"
"  -d, --device PCM        ALSA playback device (default \"default\")\n"
"  -D, --capture-device PCM  ALSA capture device (default: the playback\n"
"                          device; \"none\": no recording)\n"
"  -r, --rate HZ           card sample rate (default 48000)\n"
"  -c, --channels N        card channels (default 2)\n"
"  -f, --format FMT        s16, s24, s32, float or best (default best)\n"
"  -b, --buffer-ms MS      hardware buffer (default 2000)\n"
"  -w, --watermark-ms MS   wake when this much is left (default 20, or\n"
"                          more when the probe finds a coarse pointer)\n"
"  -g, --safeguard-us US   never rewind closer to the pointer than this\n"
"                          (default: sized by the probe; without it\n"
"                          max(256 bytes, 1330 us))\n"
"      --probe-ms MS       measure the card's pointer this long at\n"
"                          startup (default 200; 0: no probe)\n"
"      --prefetch FRAMES   the card's DMA fetches this far ahead of its\n"
"                          pointer (default 0: unknown)\n"
"      --probe-loopback PCM  capture end of a loopback of the device:\n"
"                          the probe measures the prefetch through it\n"
"  -i, --idle-ms MS        stop the card after this long with nothing to\n"
"                          play (default 5000; 0: never)\n"
"  -s, --socket PATH       control socket (default $LULL_SOCKET or\n"
"                          $XDG_RUNTIME_DIR/lull/socket)\n"
"      --realtime          try SCHED_FIFO for the audio thread (default)\n"
"      --no-realtime       never ask for real-time scheduling\n"
"      --no-rewind         never rewind (for cards that cannot be trusted\n"
"                          to): the buffer is kept two watermarks full, and\n"
"                          changes are heard once what is written has played\n"
"  -C, --config FILE       read settings from an INI file first\n"
"  -v, --verbose           say more     -q, --quiet   say only errors\n"
"  -h, --help              this text    -V, --version\n"
"The INI file takes the long option names as keys, e.g.\n"
"  [lulld]\n  device = hw:0\n  buffer-ms = 1000\n";

static int options_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long u;

	errno = 0;
	u = strtoul(v, &end, 10);
	if (errno || end == v || *end || u < lo || u > hi || v[0] == '-')
		return -EINVAL;
	*out = (unsigned)u;
	return 0;
}

static int options_format(const char *v, int *out)
{
	enum fmt f;

	if (!strcmp(v, "best")) {
		*out = -1;
		return 0;
	}
	if (fmt_parse(v, &f))
		return -EINVAL;
	*out = (int)f;
	return 0;
}

static int options_copy(char *dst, size_t len, const char *v)
{
	if (strlen(v) >= len)
		return -ENAMETOOLONG;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* One setting by its long name; shared by the INI reader and getopt. */
static int options_set(struct options *o, const char *key, const char *v)
{
	if (!strcmp(key, "device"))
		return options_copy(o->device, sizeof o->device, v);
	if (!strcmp(key, "capture-device"))
		return options_copy(o->capture_device, sizeof o->capture_device, v);
	if (!strcmp(key, "rate"))
		return options_uint(v, 8000, 384000, &o->rate);
	if (!strcmp(key, "channels"))
		return options_uint(v, 1, 8, &o->channels);
	if (!strcmp(key, "format"))
		return options_format(v, &o->format);
	if (!strcmp(key, "buffer-ms"))
		return options_uint(v, 10, 10000, &o->buffer_ms);
	if (!strcmp(key, "watermark-ms"))
		return options_uint(v, 1, 5000, &o->watermark_ms);
	if (!strcmp(key, "safeguard-us"))
		return options_uint(v, 1, 1000000, &o->safeguard_us);
	if (!strcmp(key, "probe-ms"))
		return options_uint(v, 0, 2000, &o->probe_ms);
	if (!strcmp(key, "prefetch"))
		return options_uint(v, 0, 1000000, &o->prefetch);
	if (!strcmp(key, "probe-loopback"))
		return options_copy(o->probe_loopback, sizeof o->probe_loopback, v);
	if (!strcmp(key, "idle-ms"))
		return options_uint(v, 0, 86400000, &o->idle_ms);
	if (!strcmp(key, "socket"))
		return options_copy(o->socket, sizeof o->socket, v);
	if (!strcmp(key, "no-rewind"))	/* no value: the command line flag */
		return o->no_rewind = !v || (strcmp(v, "no") && strcmp(v, "0") &&
					     strcmp(v, "false")), 0;
	if (!strcmp(key, "realtime"))
		return o->realtime = strcmp(v, "no") && strcmp(v, "0") &&
				     strcmp(v, "false"), 0;
	return -ENOENT;
}

static int options_ini_line(void *user, const char *section, const char *key,
			    const char *value)
{
	int err = options_set(user, key, value);

	if (err)
		fprintf(stderr, "lulld: config [%s] %s = %s: %s\n", section, key, value,
			err == -ENOENT ? "unknown setting" : "bad value");
	return err == 0;
}

static int options_file(struct options *o, const char *path)
{
	int line = ini_parse(path, options_ini_line, o);

	if (line < 0) {
		fprintf(stderr, "lulld: cannot read config %s\n", path);
		return -EINVAL;
	}
	if (line > 0) {
		fprintf(stderr, "lulld: config %s: error on line %d\n", path, line);
		return -EINVAL;
	}
	return 0;
}

static const struct option options_long[] = {
	{ "device", required_argument, NULL, 'd' },
	{ "capture-device", required_argument, NULL, 'D' },
	{ "rate", required_argument, NULL, 'r' },
	{ "channels", required_argument, NULL, 'c' },
	{ "format", required_argument, NULL, 'f' },
	{ "buffer-ms", required_argument, NULL, 'b' },
	{ "watermark-ms", required_argument, NULL, 'w' },
	{ "safeguard-us", required_argument, NULL, 'g' },
	{ "probe-ms", required_argument, NULL, 0x1d0 },
	{ "prefetch", required_argument, NULL, 0x1d1 },
	{ "probe-loopback", required_argument, NULL, 0x1d2 },
	{ "idle-ms", required_argument, NULL, 'i' },
	{ "socket", required_argument, NULL, 's' },
	{ "realtime", no_argument, NULL, 'T' },
	{ "no-realtime", no_argument, NULL, 'N' },
	{ "no-rewind", no_argument, NULL, 0x1e0 },
	{ "config", required_argument, NULL, 'C' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

static void options_defaults(struct options *o)
{
	*o = (struct options){
		.rate = 48000, .channels = 2, .format = -1, .buffer_ms = 2000,
		.watermark_ms = 0, .probe_ms = 200, .idle_ms = 5000, .realtime = 1,
	};
	strcpy(o->device, "default");
}

/* The config file comes first whatever its place on the command line. */
static int options_find_config(struct options *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-C") || !strcmp(a, "--config")) && i + 1 < argc)
			return options_file(o, argv[i + 1]);
		if (!strncmp(a, "--config=", 9))
			return options_file(o, a + 9);
	}
	return 0;
}

static int options_opt(struct options *o, int c, const char *arg)
{
	const struct option *l;

	switch (c) {
	case 'T': o->realtime = 1; return 0;
	case 'N': o->realtime = 0; return 0;
	case 'C': return 0;
	case 'v': o->verbose++; return 0;
	case 'q': o->verbose = -1; return 0;
	case 'h': fputs(options_usage, stdout); return 1;
	case 'V': puts("lulld " LULL_VERSION); return 1;
	}
	for (l = options_long; l->name; l++)
		if (l->val == c)
			return options_set(o, l->name, arg) ? -EINVAL : 0;
	return -EINVAL;
}

int options_parse(struct options *o, int argc, char **argv)
{
	int c, err;

	options_defaults(o);
	if (options_find_config(o, argc, argv))
		return -EINVAL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:D:r:c:f:b:w:g:i:s:C:vqhV",
				options_long, NULL)) != -1) {
		if (c == '?') {
			fputs("Try 'lulld --help'.\n", stderr);
			return -EINVAL;
		}
		err = options_opt(o, c, optarg);
		if (err < 0)
			fprintf(stderr, "lulld: bad value '%s' for -%c\n", optarg, c);
		if (err)
			return err;
	}
	if (optind < argc) {
		fprintf(stderr, "lulld: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
