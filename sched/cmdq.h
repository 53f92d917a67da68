/* A single-producer, single-consumer queue of commands between lulld's
 * control thread and its audio thread, with an eventfd to wake the
 * consumer. Fixed size, no allocation, no locks. */
#ifndef LULL_CMDQ_H
#define LULL_CMDQ_H

#include <stdatomic.h>
#include <stdint.h>

#define CMDQ_SIZE 256

struct stream;
struct recstream;
struct device;

enum cmd_type {
	CMD_ADD = 1,	/* control -> audio: start mixing s */
	CMD_REMOVE,	/* control -> audio: stop at once, hand s back */
	CMD_PAUSE,
	CMD_RESUME,
	CMD_VOLUME,	/* value */
	CMD_DRAIN,	/* token: reply when played */
	EVT_REMOVED,	/* audio -> control: s may be freed */
	EVT_DRAINED,	/* audio -> control: token */
	EVT_LOST,	/* audio -> control: the card failed (token: errno);
			 * dev is the dead card, now the control thread's
			 * to close; the audio thread no longer touches it */
	CMD_DEVICE,	/* control -> audio: dev is a new card to play on */
	EVT_DEVICE,	/* audio -> control: the new card plays; dev (the
			 * struct of CMD_DEVICE) may be freed */
	EVT_CAPTURE,	/* capture -> control: the capture card fails (token:
			 * errno), or works again (token 0) */
	EVT_CLAMPED,	/* audio -> control: the first impossible position
			 * (token: frames; value 1: beyond the buffer,
			 * -1: the pointer went back) */
};

struct cmd {
	uint32_t type;
	uint32_t token;
	union {
		struct stream *s;	/* the playback engine's */
		struct recstream *r;	/* the capture engine's */
		struct device *dev;	/* EVT_LOST, CMD_DEVICE, EVT_DEVICE */
	};
	float value;
};

struct cmdq {
	struct cmd slot[CMDQ_SIZE];
	_Alignas(64) _Atomic uint64_t w;
	_Alignas(64) _Atomic uint64_t r;
	int efd;
};

int cmdq_init(struct cmdq *q);
void cmdq_fini(struct cmdq *q);
/* Returns 0, or -EAGAIN when full. Wakes the consumer. */
int cmdq_push(struct cmdq *q, const struct cmd *c);
/* Returns 0, or -EAGAIN when empty. */
int cmdq_pop(struct cmdq *q, struct cmd *c);
/* Clears the wakeup; call before draining with cmdq_pop. */
void cmdq_ack(struct cmdq *q);

#endif
