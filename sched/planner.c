/* Wakeup planning. See planner.h. */
#include "sched/planner.h"

int64_t planner_time_after(int64_t t_ns, double frames, double rate)
{
	if (frames <= 0 || rate <= 0)
		return t_ns;
	return t_ns + (int64_t)(frames * 1e9 / rate);
}

void planner_plan(const struct plan_in *in, struct plan_out *out)
{
	int64_t fill = in->fill < 0 ? 0 : in->fill;
	uint64_t target = in->target < in->buffer ? in->target : in->buffer;
	uint64_t after;

	/* A bogus fill beyond the buffer writes nothing; the engine has
	 * already logged it. */
	out->write = (uint64_t)fill < target ? target - (uint64_t)fill : 0;
	after = (uint64_t)fill + out->write;
	out->wake_ns = planner_time_after(in->t_ns,
		after > in->watermark ? (double)(after - in->watermark) : 0,
		in->rate);
}
