/*
 * checkpoint.c - after each storm, the churn stops: the tree must settle into the shape the
 * owners' settings give it, then, while nothing moves, probes check what the spec promises of
 * a still tree: flooding reaches each node of the publisher's part once, elections find the
 * newest item, commands are answered by everyone, stores hold the newest of what reached them.
 *
 * What is not asserted, because the spec does not promise it: that items published while a
 * node was cut off reach it later (flooding only reaches who is linked; an election on fetch
 * is the only way back, [ELECT-*]); that the tree map is exact (section 16 says it may stay
 * stale until the next ANNOUNCE).
 */
#include <inttypes.h>
#include <string.h>

#include "soak.h"

/* [TREE-2][TREE-13][TREE-14] a root retries its parents at least every reconnect_max_ms; an
 * attempt ends within handshake_timeout_ms + hello_timeout_ms ([LINK-12], 10 s each). A node
 * whose parent came back rejoins within their sum (and a second of margin). */
static uint64_t settle_bound_us(const struct soak *s)
{
	return (uint64_t)s->t->base.reconnect_max_ms * 1000 + 21 * SOAK_SECOND;
}

/* Where the probes of one checkpoint wait for a frame to spread, and then for any copy of it
 * to come twice. */
#define DELIVERY_BOUND_US (5 * SOAK_SECOND)
#define LATE_COPY_US SOAK_SECOND
/* Links that close linger for 2 s ([LINK-11]) and map bursts follow joins: the quiet time
 * before the probes. */
#define QUIET_US (3 * SOAK_SECOND)

/* The parent node i has when the tree is settled: its configured one, if both run and trust
 * each other ([TLS-4], [MEMBER-4]); else none (a root, retrying). The configured parents form a tree rooted at
 * node 0, so the settled tree is a forest whose roots are known. */
int soak_expected_parent(const struct soak *s, size_t i)
{
	int p = s->t->nodes[i].parent;

	if (p < 0 || !soak_alive(s, (size_t)p))
		return -1;
	if (!soak_trusts(s, i, (size_t)p) || !soak_trusts(s, (size_t)p, i))
		return -1;
	return p;
}

static size_t root_of(const struct soak *s, size_t i)
{
	for (size_t hops = 0; hops < s->o.nodes; hops++) {
		int p = soak_expected_parent(s, i);

		if (p < 0)
			break;
		i = (size_t)p;
	}
	return i;
}

static bool same_part(const struct soak *s, size_t a, size_t b)
{
	return root_of(s, a) == root_of(s, b);
}

/* Whether node i's parent is the one it should have (none for a root). */
static bool in_place(const struct soak *s, size_t i)
{
	int want = soak_expected_parent(s, i);
	ib_id parent;
	bool has = ib_node_parent(s->t->nodes[i].node, &parent);

	if (want < 0)
		return !has;
	return has && ib_id_equal(&parent, hn_id(s->t, (size_t)want));
}

static bool settled(struct hn_tree *t, void *arg)
{
	const struct soak *s = arg;

	(void)t;
	for (size_t i = 0; i < s->o.nodes; i++)
		if (soak_alive(s, i) && !in_place(s, i))
			return false;
	return true;
}

/* The first node not where it should be, named in a failure. */
static void fail_unsettled(struct soak *s, const char *when)
{
	for (size_t i = 0; i < s->o.nodes; i++) {
		ib_id parent;

		if (!soak_alive(s, i) || in_place(s, i))
			continue;
		soak_fail(s, "TREE-2 TREE-10 TREE-13 TREE-14", "%s: n%zu should have parent n%d, it "
			  "has n%d", when, i, soak_expected_parent(s, i),
			  ib_node_parent(s->t->nodes[i].node, &parent) ? hn_tree_find(s->t, &parent)
								       : -1);
		return;
	}
}

static void settle(struct soak *s)
{
	uint64_t from = s->t->clock.monotonic_us, took;
	char when[64];

	/* What the last event started (a socket shut down, a link closed) is seen first: the
	 * tree must not look settled only because nobody has read the news yet. */
	hn_tree_run_for(s->t, 0);
	if (!hn_tree_run_until(s->t, settled, s, settle_bound_us(s))) {
		snprintf(when, sizeof when, "the tree did not settle within %.0f s",
			 (double)settle_bound_us(s) / 1e6);
		fail_unsettled(s, when);
		return;
	}
	took = s->t->clock.monotonic_us - from;
	if (took > s->settle_max_us)
		s->settle_max_us = took;
	/* Settled, it stays so while nothing happens. */
	hn_tree_run_for(s->t, QUIET_US);
	if (!settled(s->t, s))
		fail_unsettled(s, "the tree changed while nothing happened");
}

/* ---- the shape ------------------------------------------------------------------------- */

/* [TREE-6][TREE-19][TREE-22] a root's path is itself; a child's is its parent's and itself;
 * no node twice. */
static void check_path(struct soak *s, size_t i)
{
	static ib_id path[IB_MAX_PATH], above[IB_MAX_PATH];
	size_t len = ib_node_path(s->t->nodes[i].node, path, IB_MAX_PATH), plen = 0;
	int p = soak_expected_parent(s, i);

	if (p >= 0)
		plen = ib_node_path(s->t->nodes[p].node, above, IB_MAX_PATH);
	if (len == 0 || !ib_id_equal(&path[len - 1], hn_id(s->t, i)))
		soak_fail(s, "TREE-19", "n%zu's path does not end with itself", i);
	else if (len != plen + 1 || (plen && memcmp(path, above, plen * sizeof *path) != 0))
		soak_fail(s, "TREE-6", "n%zu's path (%zu ids) is not its parent n%d's (%zu ids) and "
			  "itself", i, len, p, plen);
	for (size_t a = 0; a < len && !s->failed; a++)
		for (size_t b = a + 1; b < len; b++)
			if (ib_id_equal(&path[a], &path[b]))
				soak_fail(s, "TREE-22", "n%zu's path names a node twice: a loop", i);
}

static size_t expected_links(const struct soak *s, size_t i)
{
	size_t n = soak_expected_parent(s, i) >= 0;

	for (size_t j = 0; j < s->o.nodes; j++)
		n += soak_alive(s, j) && soak_expected_parent(s, j) == (int)i;
	return n;
}

/* [TREE-8][TREE-11] one link per pair of neighbours, a parent link to the parent only, and
 * no link besides those of the tree. */
static void check_links(struct soak *s, size_t i)
{
	static struct ib_link_info links[SOAK_MAX_NODES + 1];
	size_t n = ib_node_links(s->t->nodes[i].node, links, SOAK_MAX_NODES + 1);

	if (n != expected_links(s, i)) {
		char names[256] = "";
		size_t used = 0;

		for (size_t l = 0; l < n && l <= SOAK_MAX_NODES && used < sizeof names; l++)
			used += (size_t)snprintf(names + used, sizeof names - used, " n%d(%s)",
						 hn_tree_find(s->t, &links[l].peer),
						 links[l].is_parent ? "parent" : "child");
		soak_fail(s, "TREE-8 TREE-11", "n%zu has %zu open links,%s; the tree gives it %zu", i,
			  n, names, expected_links(s, i));
		return;
	}
	for (size_t l = 0; l < n; l++) {
		int j = hn_tree_find(s->t, &links[l].peer);
		bool ok = j >= 0 && (links[l].is_parent ? soak_expected_parent(s, i) == j
						       : soak_expected_parent(s, (size_t)j) == (int)i);

		if (!ok)
			soak_fail(s, "TREE-8 TREE-11", "n%zu has a %s link with n%d", i,
				  links[l].is_parent ? "parent" : "child", j);
	}
}

/* [MEMBER-2][MEMBER-4] no link with a removed key; [MEMBER-6] none of its items kept. */
static void check_removed(struct soak *s, size_t r, size_t x)
{
	static struct ib_link_info links[SOAK_MAX_NODES + 1];
	size_t n = ib_node_links(s->t->nodes[r].node, links, SOAK_MAX_NODES + 1);

	for (size_t l = 0; l < n && l <= SOAK_MAX_NODES; l++)
		if (ib_id_equal(&links[l].peer, hn_id(s->t, x)))
			soak_fail(s, "MEMBER-2 MEMBER-4", "n%zu keeps a link with n%zu, whose key it "
				  "removed", r, x);
	for (size_t k = 0; k < SOAK_KEYS; k++) {
		struct soak_item it = soak_item_of(s, r, k);

		if (it.held && ib_id_equal(&it.writer, hn_id(s->t, x)))
			soak_fail(s, "MEMBER-6", "n%zu still holds %s of n%zu, whose key it removed",
				  r, soak_key(k), x);
	}
}

static void check_shape(struct soak *s)
{
	for (size_t i = 0; i < s->o.nodes && !s->failed; i++) {
		if (!soak_alive(s, i))
			continue;
		check_path(s, i);
		check_links(s, i);
		for (size_t x = 0; x < s->o.nodes; x++)
			if (!soak_trusts(s, i, x))
				check_removed(s, i, x);
	}
}

/* ---- probes ---------------------------------------------------------------------------- */

static uint64_t counter(const struct soak *s, size_t i, enum ib_counter c)
{
	return soak_alive(s, i) ? ib_node_counter(s->t->nodes[i].node, c) : 0;
}

static uint64_t busy_total(const struct soak *s)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < s->o.nodes; i++)
		sum += counter(s, i, IB_CNT_BUSY);
	return sum;
}

static bool slot_done(struct hn_tree *t, void *arg)
{
	(void)t;
	return ((const struct soak_slot *)arg)->done;
}

/* Node a fetches key k and the election ends: false (and a failure) if it does not. */
static bool fetch_now(struct soak *s, size_t a, size_t k, struct soak_slot *result)
{
	struct soak_slot *slot = soak_slot_new(s, a, true);
	struct ib_slice key = { (const uint8_t *)soak_key(k), strlen(soak_key(k)) };
	bool ended;

	if (!slot) {
		soak_fail(s, "HARNESS", "no free slot for a fetch");
		return false;
	}
	slot->keep = true;
	slot->key = k;
	ended = ib_node_fetch(s->t->nodes[a].node, key, soak_on_fetch, slot) == IB_OK &&
		hn_tree_run_until(s->t, slot_done, slot, 30 * SOAK_SECOND);
	if (!ended)
		soak_fail(s, "ELECT-2 ELECT-6", "n%zu's fetch of %s did not end in 30 s", a,
			  soak_key(k));
	*result = *slot;
	slot->used = false;
	return ended;
}

/* [ELECT-1][ELECT-2][ELECT-9][ELECT-10] in a still tree every holder offers and the newest
 * (version, writer) of the part ends in the fetcher's store; [ELECT-8] nobody else's store
 * changes. A holder too busy to answer ([LINK-21]) is allowed to stay silent: then only the
 * second holds. */
static void check_fetch(struct soak *s, size_t a, size_t k, const struct soak_item *pre)
{
	uint64_t busy = busy_total(s);
	struct soak_slot fetched;
	struct soak_item newest = pre[a], got;
	size_t holders = 0;

	if (!fetch_now(s, a, k, &fetched))
		return;
	got = soak_item_of(s, a, k);
	for (size_t n = 0; n < s->o.nodes; n++) {
		if (!soak_alive(s, n) || !same_part(s, a, n) || !pre[n].held)
			continue;
		holders += n != a;
		if (!newest.held || ib_item_compare(pre[n].version, &pre[n].writer, 0, newest.version,
						    &newest.writer, 0) > 0)
			newest = pre[n];
	}
	for (size_t n = 0; n < s->o.nodes; n++) {
		struct soak_item now = soak_item_of(s, n, k);

		if (n != a && soak_alive(s, n) && soak_item_compare(&now, &pre[n]) != 0)
			soak_fail(s, "ELECT-8", "n%zu's fetch of %s changed n%zu's store", a,
				  soak_key(k), n);
	}
	if (busy_total(s) != busy)
		return;
	if (fetched.report.offers != holders)
		soak_fail(s, "ELECT-1", "n%zu's fetch of %s got %zu offers from %zu holders", a,
			  soak_key(k), fetched.report.offers, holders);
	if (newest.held != got.held ||
	    (got.held && ib_item_compare(got.version, &got.writer, 0, newest.version,
					 &newest.writer, 0) != 0))
		soak_fail(s, "ELECT-2 ELECT-9 ELECT-10", "n%zu's fetch of %s ended with %s%" PRIu64
			  ", the newest of its part is %s%" PRIu64, a, soak_key(k),
			  got.held ? "v" : "none ", got.version, newest.held ? "v" : "none ",
			  newest.version);
}

static bool probe_spread(struct hn_tree *t, void *arg)
{
	const struct soak *s = arg;

	(void)t;
	for (size_t n = 0; n < s->o.nodes; n++)
		if (soak_alive(s, n) && n != s->probe.origin && same_part(s, n, s->probe.origin) &&
		    s->probe.got[n] == 0)
			return false;
	return true;
}

/* [FLOOD-1][FLOOD-2][FLOOD-7] a PUBLISH sent into a still tree is delivered once by every
 * node of the sender's part, never by the sender, never outside the part; [DATA-2][DATA-7]
 * each of those nodes then holds the newer of its item and the published one. */
static void check_spread(struct soak *s, size_t a, size_t k, const struct soak_item *before)
{
	struct soak_item sent = soak_item_of(s, a, k);

	s->probe = (struct soak_probe){ .active = true, .origin = a, .seq = sent.seq };
	hn_tree_run_until(s->t, probe_spread, s, DELIVERY_BOUND_US);
	hn_tree_run_for(s->t, LATE_COPY_US);
	s->probe.active = false;
	for (size_t n = 0; n < s->o.nodes && !s->failed; n++) {
		bool reached = soak_alive(s, n) && n != a && same_part(s, a, n);
		struct soak_item want = before[n], now = soak_item_of(s, n, k);

		if (s->probe.got[n] != (reached ? 1 : 0))
			soak_fail(s, "FLOOD-1 FLOOD-2 FLOOD-7", "the PUBLISH of %s by n%zu was "
				  "delivered %u time(s) by n%zu, which is %s", soak_key(k), a,
				  s->probe.got[n], n, reached ? "linked to it" : "not linked to it");
		if (n == a || (reached && soak_item_compare(&sent, &want) > 0))
			want = sent;
		if (soak_alive(s, n) && soak_item_compare(&now, &want) != 0)
			soak_fail(s, "DATA-2 DATA-7", "after the PUBLISH of %s v%" PRIu64 " by n%zu, "
				  "n%zu holds %s%" PRIu64 ", not %s%" PRIu64, soak_key(k),
				  sent.version, a, n, now.held ? "v" : "none ", now.version,
				  want.held ? "v" : "none ", want.version);
	}
}

/* A fetch, then a publish of one key by node a: the publish is the newest item of a's part,
 * so every store there converges on it. */
static void probe_key(struct soak *s, size_t a, size_t k)
{
	struct soak_item items[SOAK_MAX_NODES] = { 0 };

	s->probes++;
	snprintf(s->phase, sizeof s->phase, "checkpoint %" PRIu64 ": probe %s from n%zu",
		 s->checkpoints, soak_key(k), a);
	for (size_t n = 0; n < s->o.nodes; n++)
		items[n] = soak_item_of(s, n, k);
	check_fetch(s, a, k, items);
	for (size_t n = 0; n < s->o.nodes; n++)
		items[n] = soak_item_of(s, n, k);
	if (s->failed || soak_publish_value(s, a, k) != IB_OK)
		return;
	check_spread(s, a, k, items);
}

/* [CMD-1] a COMMAND to everyone is answered once by every other node of the part, one to a
 * node by that node; [CMD-3] the answers say what the nodes hold (watch.c). */
static void probe_command(struct soak *s, size_t a, int dest, const char *name, size_t k)
{
	struct soak_slot *slot = soak_slot_new(s, a, false);
	struct ib_slice arg = { (const uint8_t *)soak_key(k), strlen(soak_key(k)) };
	uint64_t want = 0, answered;
	size_t expected = 0, results;
	bool ended;

	if (!slot) {
		soak_fail(s, "HARNESS", "no free slot for a command");
		return;
	}
	*slot = (struct soak_slot){ .s = s, .used = true, .keep = true, .requester = a,
				    .dest = dest, .key = k, .name = name };
	ended = ib_node_command(s->t->nodes[a].node, dest < 0 ? NULL : hn_id(s->t, (size_t)dest),
				name, &arg, strcmp(name, "ib.get") == 0 ? 1 : 0,
				SOAK_COMMAND_TIMEOUT_MS, soak_on_result, slot) == IB_OK &&
		hn_tree_run_until(s->t, slot_done, slot, 2 * SOAK_COMMAND_TIMEOUT_MS * 1000ull);
	answered = slot->answered;
	results = slot->results;
	slot->used = false;
	if (!ended) {
		soak_fail(s, "CMD-7", "n%zu's %s did not end", a, name);
		return;
	}
	for (size_t n = 0; n < s->o.nodes; n++) {
		if (soak_alive(s, n) && n != a && same_part(s, a, n) && (dest < 0 || (int)n == dest)) {
			want |= 1ull << n;
			expected++;
		}
	}
	if (answered != want)
		soak_fail(s, "CMD-1", "n%zu's %s to %s%d was answered by %zu nodes, %zu expected", a,
			  name, dest < 0 ? "all" : "n", dest, results, expected);
}

static void probe_commands(struct soak *s)
{
	size_t a = soak_below(s, s->o.nodes), b;

	while (!soak_alive(s, a))
		a = (a + 1) % s->o.nodes;
	snprintf(s->phase, sizeof s->phase, "checkpoint %" PRIu64 ": commands from n%zu",
		 s->checkpoints, a);
	probe_command(s, a, -1, "ib.ping", 0);
	b = soak_below(s, s->o.nodes);
	if (!s->failed && b != a && soak_alive(s, b) && same_part(s, a, b))
		probe_command(s, a, (int)b, "ib.get", soak_below(s, SOAK_KEYS));
}

/* [FLOOD-1][FLOOD-2] in a still tree each frame crosses each link once: no node finds one
 * twice (counted as replay) while the probes run. */
static void check_no_replay(struct soak *s, const uint64_t *before)
{
	for (size_t n = 0; n < s->o.nodes; n++)
		if (soak_alive(s, n) && counter(s, n, IB_CNT_REPLAY) != before[n])
			soak_fail(s, "FLOOD-1 FLOOD-2", "n%zu dropped %" PRIu64 " frame(s) as replays "
				  "while the tree was still: a frame reached it twice", n,
				  counter(s, n, IB_CNT_REPLAY) - before[n]);
}

/* After the last checkpoint's probes every node runs, in one tree, and each key was just
 * published as the newest: every store holds the same items. */
static void check_converged(struct soak *s)
{
	for (size_t k = 0; k < SOAK_KEYS; k++) {
		struct soak_item first = soak_item_of(s, 0, k);

		for (size_t n = 0; n < s->o.nodes; n++) {
			struct soak_item it = soak_item_of(s, n, k);

			if (!it.held || soak_item_compare(&it, &first) != 0)
				soak_fail(s, "DATA-2 DATA-7", "after the last probes n%zu and n0 hold "
					  "different items of %s", n, soak_key(k));
		}
	}
}

static bool everything_runs(const struct soak *s)
{
	for (size_t i = 0; i < s->o.nodes; i++)
		if (!soak_alive(s, i) || s->nodes[i].removed || s->nodes[i].distrust)
			return false;
	return true;
}

static size_t random_live_node(struct soak *s)
{
	size_t a = soak_below(s, s->o.nodes);

	while (!soak_alive(s, a))
		a = (a + 1) % s->o.nodes;
	return a;
}

void soak_checkpoint(struct soak *s, bool heal, bool final)
{
	uint64_t replays[SOAK_MAX_NODES] = { 0 };
	size_t nprobes = final ? SOAK_KEYS : 2, first_key = soak_below(s, SOAK_KEYS);

	s->checkpoints++;
	snprintf(s->phase, sizeof s->phase, "checkpoint %" PRIu64 "%s", s->checkpoints,
		 heal ? " (healed)" : "");
	soak_log(s, "checkpoint %" PRIu64 "%s", s->checkpoints, heal ? ", healed first" : "");
	soak_flush_reloads(s);
	if (heal)
		soak_heal(s);
	if (!s->failed)
		settle(s);
	if (!s->failed)
		check_shape(s);
	for (size_t n = 0; n < s->o.nodes; n++)
		replays[n] = counter(s, n, IB_CNT_REPLAY);
	for (size_t p = 0; p < nprobes && !s->failed; p++)
		probe_key(s, random_live_node(s), (first_key + p * 7) % SOAK_KEYS);
	if (!s->failed)
		probe_commands(s);
	if (!s->failed)
		check_no_replay(s, replays);
	if (!s->failed && final)
		check_converged(s);
	if (!s->failed && everything_runs(s)) {
		s->full_checkpoints++;
		snprintf(s->phase, sizeof s->phase, "checkpoint %" PRIu64 ": the heap", s->checkpoints);
		hn_tree_run_for(s->t, QUIET_US); /* the probes' links drain, their timers end */
		soak_heap_sample(s);
	}
}
