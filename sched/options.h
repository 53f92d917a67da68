/* lulld's settings: built-in defaults, then a config file (INI), then the
 * command line, each overriding the one before. */
#ifndef LULL_OPTIONS_H
#define LULL_OPTIONS_H

struct options {
	char device[256];
	char capture_device[256];	/* empty: device; "none": no capture */
	unsigned rate, channels;
	int format;		/* enum fmt, -1: the best the card offers */
	unsigned buffer_ms;
	unsigned watermark_ms;	/* 0: sized from the probe (20 ms without) */
	unsigned safeguard_us;	/* 0: sized from the probe (sched/devprobe.h) */
	unsigned probe_ms;	/* pointer probe at startup; 0: none */
	unsigned prefetch;	/* frames the DMA fetches ahead; 0: unknown */
	char probe_loopback[256];	/* capture end of a loopback; empty: none */
	unsigned idle_ms;	/* stop the card after this long unused; 0 never */
	char socket[108];	/* empty: the default path */
	int realtime;
	int no_rewind;		/* never rewind */
	int verbose;		/* -1 quiet, 0 normal, 1+ more */
};

/* Returns 0; 1 when --help/--version was handled (exit 0); -EINVAL after
 * printing what was wrong (exit 2). */
int options_parse(struct options *o, int argc, char **argv);

#endif
