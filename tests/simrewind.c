/* Rewinds on the simulated card, checked against what its DAC played.
 *
 *   simrewind DEVICE OUT.wav MARGIN PREFETCH
 *
 * Plays a ramp (A: +1, +2, ... per frame), rewinds to MARGIN frames past
 * the play position and rewrites from there with a negative ramp (B). In
 * the card's WAV, A must run unbroken up to the first B frame, B must be
 * exact from there on, and the frames between the rewind point and the
 * first B frame (the "late" ones) must number max(0, PREFETCH - MARGIN),
 * give or take the few frames that pass between measuring and rewinding. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <alsa/asoundlib.h>

#include "core/wav.h"

#define RATE 48000
#define BUFFER 24000
#define SLACK 48	/* 1 ms: the card moves while we measure and rewind */

static int16_t pattern_a(uint64_t k) { return (int16_t)(k % 30000 + 1); }
static int16_t pattern_b(uint64_t k) { return (int16_t)-(int16_t)(k % 30000 + 1); }

static int open_pcm(snd_pcm_t **pcm, const char *dev)
{
	snd_pcm_hw_params_t *hw;
	snd_pcm_sw_params_t *sw;
	snd_pcm_uframes_t boundary;
	int err = snd_pcm_open(pcm, dev, SND_PCM_STREAM_PLAYBACK, 0);

	if (err < 0)
		return err;
	snd_pcm_hw_params_alloca(&hw);
	snd_pcm_hw_params_any(*pcm, hw);
	snd_pcm_hw_params_set_access(*pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED);
	snd_pcm_hw_params_set_format(*pcm, hw, SND_PCM_FORMAT_S16_LE);
	snd_pcm_hw_params_set_channels(*pcm, hw, 1);
	snd_pcm_hw_params_set_rate(*pcm, hw, RATE, 0);
	snd_pcm_hw_params_set_buffer_size(*pcm, hw, BUFFER);
	snd_pcm_hw_params_set_period_size(*pcm, hw, BUFFER / 4, 0);
	err = snd_pcm_hw_params(*pcm, hw);
	if (err < 0)
		return err;
	snd_pcm_sw_params_alloca(&sw);
	snd_pcm_sw_params_current(*pcm, sw);
	snd_pcm_sw_params_get_boundary(sw, &boundary);
	snd_pcm_sw_params_set_start_threshold(*pcm, sw, BUFFER);
	snd_pcm_sw_params_set_stop_threshold(*pcm, sw, boundary);
	return snd_pcm_sw_params(*pcm, sw);
}

static int write_pattern(snd_pcm_t *pcm, uint64_t from, uint64_t n,
			 int16_t (*pat)(uint64_t))
{
	int16_t buf[1024];

	while (n > 0) {
		snd_pcm_uframes_t m = n < 1024 ? n : 1024;
		for (snd_pcm_uframes_t i = 0; i < m; i++)
			buf[i] = pat(from + i);
		if (snd_pcm_writei(pcm, buf, m) != (snd_pcm_sframes_t)m)
			return -EIO;
		from += m;
		n -= m;
	}
	return 0;
}

/* Finds the first B frame and checks A before it and B after it. */
static int check_wav(const char *path, uint64_t rewind_at, uint64_t *first_b)
{
	struct wav_reader *r;
	int16_t s;
	uint64_t k = 0, bad = 0;
	int in_b = 0;

	if (wav_reader_open(&r, path) < 0)
		return -1;
	while (wav_reader_read(r, &s, 1) == 1) {
		if (!in_b && s < 0) {
			in_b = 1;
			*first_b = k;
		}
		bad += s != (in_b ? pattern_b(k) : pattern_a(k));
		k++;
	}
	wav_reader_close(r);
	if (!in_b || bad || *first_b < rewind_at) {
		fprintf(stderr, "WAV: %llu frames, %llu wrong, B %s\n",
			(unsigned long long)k, (unsigned long long)bad,
			in_b ? "found" : "never heard");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	snd_pcm_t *pcm;
	snd_pcm_sframes_t delay, n;
	uint64_t written = BUFFER, play, at, first_b = 0, late, want;
	struct timespec ms100 = { 0, 100000000 };

	if (argc != 5) {
		fprintf(stderr, "usage: simrewind DEVICE OUT.wav MARGIN PREFETCH\n");
		return 2;
	}
	if (open_pcm(&pcm, argv[1]) < 0 || write_pattern(pcm, 0, BUFFER, pattern_a))
		return fprintf(stderr, "cannot play on %s\n", argv[1]), 1;
	nanosleep(&ms100, NULL);
	snd_pcm_avail(pcm);
	snd_pcm_delay(pcm, &delay);
	play = written - (uint64_t)delay;
	at = play + strtoull(argv[3], NULL, 0);
	n = snd_pcm_rewind(pcm, written - at);
	if (n != (snd_pcm_sframes_t)(written - at))
		return fprintf(stderr, "rewind returned %ld\n", (long)n), 1;
	if (write_pattern(pcm, at, BUFFER / 2, pattern_b) || snd_pcm_drain(pcm) < 0)
		return fprintf(stderr, "rewrite failed\n"), 1;
	snd_pcm_close(pcm);
	if (check_wav(argv[2], at, &first_b))
		return 1;
	late = first_b - at;
	want = strtoull(argv[4], NULL, 0) > strtoull(argv[3], NULL, 0) ?
	       strtoull(argv[4], NULL, 0) - strtoull(argv[3], NULL, 0) : 0;
	printf("rewound to %llu (play position %llu): %llu frames late, expected %llu\n",
	       (unsigned long long)at, (unsigned long long)play,
	       (unsigned long long)late, (unsigned long long)want);
	return late >= want && late <= want + SLACK ? 0 : 1;
}
