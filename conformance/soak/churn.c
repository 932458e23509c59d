/*
 * churn.c - the soak's events: each drawn from the seed among those that the tree's state
 * allows, applied through the public API and the harness, logged one line each so that a
 * failure can show what led to it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "soak.h"

/* How often each kind is drawn, among the kinds the state allows. */
static const unsigned weights[EV__COUNT] = {
	[EV_KILL] = 2,
	[EV_RESTART] = 3,
	[EV_CUT] = 3,
	[EV_REPARENT] = 1,
	[EV_KEY_REMOVE] = 2,
	[EV_KEY_READD] = 2,
	[EV_PUBLISH] = 5,
	[EV_COMMAND] = 3,
	[EV_FETCH] = 2,
};

/* A storm: this many events at most, each this long (virtual) after the one before. */
#define STORM_MAX_EVENTS 8u
#define STORM_MAX_GAP_US (5 * SOAK_SECOND)

static size_t count_if(const struct soak *s, bool (*pred)(const struct soak *s, size_t i))
{
	size_t n = 0;

	for (size_t i = 0; i < s->o.nodes; i++)
		n += pred(s, i);
	return n;
}

/* The index of a node that pred holds for, drawn uniformly; -1 if none. */
static int pick(struct soak *s, bool (*pred)(const struct soak *s, size_t i))
{
	size_t n = count_if(s, pred), which;

	if (n == 0)
		return -1;
	which = soak_below(s, n);
	for (size_t i = 0; i < s->o.nodes; i++)
		if (pred(s, i) && which-- == 0)
			return (int)i;
	return -1;
}

static bool is_alive(const struct soak *s, size_t i)
{
	return soak_alive(s, i);
}

static bool is_dead(const struct soak *s, size_t i)
{
	return !soak_alive(s, i);
}

static bool has_parent(const struct soak *s, size_t i)
{
	return soak_alive(s, i) && ib_node_parent(s->t->nodes[i].node, NULL);
}

/* Node 0 stays the configured root: the others move below it. */
static bool may_move(const struct soak *s, size_t i)
{
	return i != 0 && has_parent(s, i);
}

static bool is_removed(const struct soak *s, size_t i)
{
	return s->nodes[i].removed;
}

static bool not_removed(const struct soak *s, size_t i)
{
	return !s->nodes[i].removed;
}

static bool allowed(const struct soak *s, enum soak_kind k)
{
	switch (k) {
	case EV_KILL:
		return count_if(s, is_dead) < SOAK_MAX_DEAD && count_if(s, is_alive) > 1;
	case EV_RESTART:
		return count_if(s, is_dead) > 0;
	case EV_CUT:
		return count_if(s, has_parent) > 0;
	case EV_REPARENT:
		return s->o.nodes > 2 && count_if(s, may_move) > 0;
	case EV_KEY_REMOVE:
		return count_if(s, is_removed) < SOAK_MAX_REMOVED;
	case EV_KEY_READD:
		return count_if(s, is_removed) > 0;
	case EV_PUBLISH:
	case EV_COMMAND:
	case EV_FETCH:
		return count_if(s, is_alive) > 0;
	default:
		return false;
	}
}

static enum soak_kind draw_kind(struct soak *s)
{
	unsigned total = 0, which;

	for (int k = 0; k < EV__COUNT; k++)
		total += allowed(s, k) ? weights[k] : 0;
	which = (unsigned)soak_below(s, total);
	for (int k = 0; k < EV__COUNT; k++) {
		unsigned w = allowed(s, k) ? weights[k] : 0;

		if (which < w)
			return k;
		which -= w;
	}
	return EV_PUBLISH; /* not reached: publish is always allowed while a node runs */
}

static void count_event(struct soak *s, enum soak_kind k)
{
	s->events++;
	s->by_kind[k]++;
}

/* ---- keys ------------------------------------------------------------------------------ */

/* [MEMBER-1] node i's keyring: every key but those its owner removed (never its own). */
static int keyring_for(const struct soak *s, size_t i, struct ib_keyring **out)
{
	int without[SOAK_MAX_NODES];
	size_t n = 0;

	*out = NULL;
	for (size_t x = 0; x < s->o.nodes; x++)
		if (!soak_trusts(s, i, x))
			without[n++] = (int)x;
	if (n == 0)
		return IB_OK; /* the shared keyring: every key */
	return hn_tree_keyring(s->t, without, n, out);
}

/* [MEMBER-2] a running node reloads, as its owner's SIGHUP would; a stopped one will start
 * with its owner's keys. */
static void apply_keyring(struct soak *s, size_t i)
{
	struct ib_keyring *kr = NULL;
	int err = keyring_for(s, i, &kr);

	if (err) {
		soak_fail(s, "HARNESS", "keyring of n%zu: %s", i, ib_strerror(err));
		return;
	}
	s->key_reloads++;
	hn_tree_set_start_keyring(s->t, i, kr ? ib_keyring_ref(kr) : NULL);
	if (!soak_alive(s, i)) {
		ib_keyring_free(kr);
		return;
	}
	err = ib_node_set_keyring(s->t->nodes[i].node, kr ? kr : ib_keyring_ref(s->t->shared));
	if (err)
		soak_fail(s, "MEMBER-2", "n%zu refused a keyring: %s", i, ib_strerror(err));
	soak_keys_reloaded(s, i);
}

static void reload_now(struct soak_reload *r)
{
	struct soak *s = r->s;
	uint64_t bit = 1ull << r->key;

	r->timer = 0;
	s->nodes[r->node].distrust = r->remove ? s->nodes[r->node].distrust | bit
					       : s->nodes[r->node].distrust & ~bit;
	soak_log(s, "n%zu reloads its keys: n%zu's %s", r->node, r->key,
		 r->remove ? "removed" : "authorized again");
	apply_keyring(s, r->node);
}

static void reload_due(struct ib_loop *loop, void *arg)
{
	(void)loop;
	reload_now(arg);
}

/* The reloads of key x still due, done now. */
static void flush_key(struct soak *s, size_t x)
{
	for (size_t i = 0; i < s->o.nodes && !s->failed; i++) {
		struct soak_reload *r = &s->reloads[x][i];

		if (!r->timer)
			continue;
		ib_loop_timer_cancel(s->t->loop, r->timer);
		reload_now(r);
	}
}

void soak_flush_reloads(struct soak *s)
{
	for (size_t x = 0; x < s->o.nodes && !s->failed; x++)
		flush_key(s, x);
}

/* Every other owner reloads within RELOAD_SPREAD_US of the decision, each at its own time. */
#define RELOAD_SPREAD_US (10 * SOAK_SECOND)

static void schedule_reloads(struct soak *s, size_t x, bool remove)
{
	flush_key(s, x);
	for (size_t i = 0; i < s->o.nodes && !s->failed; i++) {
		struct soak_reload *r = &s->reloads[x][i];

		if (i == x)
			continue;
		*r = (struct soak_reload){ .s = s, .node = i, .key = x, .remove = remove };
		if (ib_loop_timer_add(s->t->loop, soak_below(s, RELOAD_SPREAD_US), reload_due, r,
				      &r->timer) != IB_OK)
			soak_fail(s, "HARNESS", "no timer for a reload");
	}
}

/* ---- the events ------------------------------------------------------------------------ */

static void kill_node(struct soak *s, size_t i)
{
	soak_log(s, "#%" PRIu64 " kill n%zu", s->events, i);
	count_event(s, EV_KILL);
	soak_slots_of_killed(s, i);
	s->nodes[i].seq_signed = hn_last_seq(s->t, i);
	s->nodes[i].killed_us = s->t->clock.monotonic_us;
	hn_tree_kill(s->t, i);
}

/* A process takes time to start again. The reference takes seq from the clock ([MSG-5]: the
 * microseconds, or the last + 1), and persists no last seq: a node started in the very
 * microsecond it was killed, after a burst, would sign seqs it signed before. No real restart
 * is that fast; a virtual one is, unless told. */
#define RESTART_MIN_US 1000u

static void restart_after_kill(struct soak *s, size_t i)
{
	uint64_t since = s->t->clock.monotonic_us - s->nodes[i].killed_us;

	if (since < RESTART_MIN_US)
		hn_tree_run_for(s->t, RESTART_MIN_US - since);
}

static void restart_node(struct soak *s, size_t i)
{
	int err;

	restart_after_kill(s, i);
	soak_log(s, "#%" PRIu64 " restart n%zu", s->events, i);
	count_event(s, EV_RESTART);
	err = hn_tree_restart(s->t, i);
	if (err) {
		soak_fail(s, "HARNESS", "n%zu cannot start again: %s", i, ib_strerror(err));
		return;
	}
	/* [MSG-5][MAP-4] its first message, the ANNOUNCE of its start, is above all before. */
	if (hn_last_seq(s->t, i) <= s->nodes[i].seq_signed)
		soak_fail(s, "MSG-5", "n%zu started again and signed seq %" PRIu64 ", not above the "
			  "%" PRIu64 " it signed before it was killed", i, hn_last_seq(s->t, i),
			  s->nodes[i].seq_signed);
	soak_forget_instance(s, i);
	soak_watch(s, i);
	soak_check_restarted(s, i);
}

/* Cuts i's link to its parent, as a network failure would; returns the parent's index. */
static int cut_parent(struct soak *s, size_t i)
{
	ib_id parent;
	int err, p;

	ib_node_parent(s->t->nodes[i].node, &parent);
	p = hn_tree_find(s->t, &parent);
	err = hn_tree_cut(s->t, i, &parent);
	if (err)
		soak_fail(s, "HARNESS", "cannot cut n%zu - n%d: %s", i, p, ib_strerror(err));
	return p;
}

static void cut_parent_link(struct soak *s, size_t i)
{
	ib_id parent;

	ib_node_parent(s->t->nodes[i].node, &parent);
	soak_log(s, "#%" PRIu64 " cut n%zu - n%d", s->events, i, hn_tree_find(s->t, &parent));
	count_event(s, EV_CUT);
	cut_parent(s, i);
}

/* Whether j is i or below i in the configured tree (a parent there would make a loop). */
static bool configured_below(const struct soak *s, size_t j, size_t i)
{
	for (int at = (int)j, hops = 0; at >= 0 && hops <= (int)s->o.nodes; hops++) {
		if ((size_t)at == i)
			return true;
		at = s->t->nodes[at].parent;
	}
	return false;
}

/* The owner of i gives it another parent, then its link to the present one is cut: i joins
 * the new one ([TREE-10]: a new round from the first address of the new list). The new
 * parent is outside i's subtree, so the configured parents stay a tree rooted at node 0. */
static void reparent(struct soak *s, size_t i)
{
	size_t choices = 0, which;
	int old = s->t->nodes[i].parent, j = -1;
	char addr[64];
	const char *list[1] = { addr };

	for (size_t c = 0; c < s->o.nodes; c++)
		choices += (int)c != old && !configured_below(s, c, i);
	if (choices == 0)
		return;
	which = soak_below(s, choices);
	for (size_t c = 0; c < s->o.nodes && j < 0; c++)
		if ((int)c != old && !configured_below(s, c, i) && which-- == 0)
			j = (int)c;
	soak_log(s, "#%" PRIu64 " reparent n%zu from n%d to n%d (its parent link cut)", s->events, i,
		 old, j);
	count_event(s, EV_REPARENT);
	s->t->nodes[i].parent = j;
	snprintf(addr, sizeof addr, "127.0.0.1:%u", s->t->nodes[j].port);
	if (ib_node_set_parents(s->t->nodes[i].node, list, 1) != IB_OK) {
		soak_fail(s, "HARNESS", "n%zu refused the parents list %s", i, addr);
		return;
	}
	cut_parent(s, i);
}

static void remove_key(struct soak *s, size_t x)
{
	soak_log(s, "#%" PRIu64 " key_remove n%zu", s->events, x);
	count_event(s, EV_KEY_REMOVE);
	s->nodes[x].removed = true;
	schedule_reloads(s, x, true);
}

static void readd_key(struct soak *s, size_t x)
{
	soak_log(s, "#%" PRIu64 " key_readd n%zu", s->events, x);
	count_event(s, EV_KEY_READD);
	s->nodes[x].removed = false;
	schedule_reloads(s, x, false);
}

int soak_publish_value(struct soak *s, size_t i, size_t k)
{
	char value[SOAK_VALUE_LEN + 1];
	struct ib_slice key = { (const uint8_t *)soak_key(k), strlen(soak_key(k)) };
	int err;

	/* A fixed length: a replaced item takes the room of the one before. */
	snprintf(value, sizeof value, "%-*" PRIu64, (int)SOAK_VALUE_LEN, s->events);
	err = ib_node_publish(s->t->nodes[i].node, key,
			      (struct ib_slice){ (const uint8_t *)value, SOAK_VALUE_LEN }, NULL);
	if (err)
		soak_fail(s, "DATA-3 DATA-14", "n%zu could not publish %s: %s", i, soak_key(k),
			  ib_strerror(err));
	return err;
}

void soak_publish(struct soak *s, size_t i, size_t k)
{
	soak_log(s, "#%" PRIu64 " publish n%zu %s", s->events, i, soak_key(k));
	count_event(s, EV_PUBLISH);
	soak_publish_value(s, i, k);
}

/* ib.ping to everyone, or ib.get or ib.info to one node (the default `commands`). */
static void command(struct soak *s, size_t i)
{
	struct soak_slot *slot = soak_slot_new(s, i, false);
	size_t what = soak_below(s, 3), k = soak_below(s, SOAK_KEYS);
	struct ib_slice arg = { (const uint8_t *)soak_key(k), strlen(soak_key(k)) };
	int dest = -1, err;

	if (!slot)
		return;
	if (what != 0) /* another node than i */
		dest = (int)((i + 1 + soak_below(s, s->o.nodes - 1)) % s->o.nodes);
	slot->dest = dest;
	slot->key = k;
	slot->name = what == 0 ? "ib.ping" : what == 1 ? "ib.get" : "ib.info";
	soak_log(s, "#%" PRIu64 " command n%zu %s to %s%d", s->events, i, slot->name,
		 dest < 0 ? "all" : "n", dest);
	count_event(s, EV_COMMAND);
	err = ib_node_command(s->t->nodes[i].node, dest < 0 ? NULL : hn_id(s->t, (size_t)dest),
			      slot->name, &arg, what == 1 ? 1 : 0, SOAK_COMMAND_TIMEOUT_MS,
			      soak_on_result, slot);
	if (err) {
		slot->used = false;
		soak_fail(s, "CMD-1", "n%zu could not send %s: %s", i, slot->name, ib_strerror(err));
	}
}

static void fetch(struct soak *s, size_t i)
{
	struct soak_slot *slot = soak_slot_new(s, i, true);
	size_t k = soak_below(s, SOAK_KEYS);
	int err;

	if (!slot)
		return;
	slot->key = k;
	soak_log(s, "#%" PRIu64 " fetch n%zu %s", s->events, i, soak_key(k));
	count_event(s, EV_FETCH);
	err = ib_node_fetch(s->t->nodes[i].node,
			    (struct ib_slice){ (const uint8_t *)soak_key(k), strlen(soak_key(k)) },
			    soak_on_fetch, slot);
	if (err) {
		slot->used = false;
		soak_fail(s, "ELECT-2", "n%zu could not fetch %s: %s", i, soak_key(k),
			  ib_strerror(err));
	}
}

static void apply(struct soak *s, enum soak_kind k)
{
	switch (k) {
	case EV_KILL:
		kill_node(s, (size_t)pick(s, is_alive));
		break;
	case EV_RESTART:
		restart_node(s, (size_t)pick(s, is_dead));
		break;
	case EV_CUT:
		cut_parent_link(s, (size_t)pick(s, has_parent));
		break;
	case EV_REPARENT:
		reparent(s, (size_t)pick(s, may_move));
		break;
	case EV_KEY_REMOVE:
		remove_key(s, (size_t)pick(s, not_removed));
		break;
	case EV_KEY_READD:
		readd_key(s, (size_t)pick(s, is_removed));
		break;
	case EV_PUBLISH:
		soak_publish(s, (size_t)pick(s, is_alive), soak_below(s, SOAK_KEYS));
		break;
	case EV_COMMAND:
		command(s, (size_t)pick(s, is_alive));
		break;
	case EV_FETCH:
		fetch(s, (size_t)pick(s, is_alive));
		break;
	default:
		break;
	}
}

void soak_storm(struct soak *s)
{
	size_t n = 1 + soak_below(s, STORM_MAX_EVENTS);

	snprintf(s->phase, sizeof s->phase, "a storm of %zu events", n);
	for (size_t e = 0; e < n && !s->failed; e++) {
		if (s->o.max_events && s->events >= s->o.max_events)
			break;
		hn_tree_run_for(s->t, soak_below(s, STORM_MAX_GAP_US));
		if (!s->failed)
			apply(s, draw_kind(s));
	}
}

/* Every node running and every key authorized again, each a logged event. */
void soak_heal(struct soak *s)
{
	for (size_t i = 0; i < s->o.nodes && !s->failed; i++)
		if (!soak_alive(s, i))
			restart_node(s, i);
	for (size_t x = 0; x < s->o.nodes && !s->failed; x++)
		if (s->nodes[x].removed)
			readd_key(s, x);
	soak_flush_reloads(s);
}
