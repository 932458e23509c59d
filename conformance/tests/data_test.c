/*
 * data_test.c - shared data, version election and commands across trees of reference nodes
 * and tester peers (spec sections 13, 14, 15), on virtual time.
 */
#include "harness.h"
#include "ib_test.h"
#include "peer.h"
#include "node_internal.h" /* seq and clock of a node */
#include "seq_reserve.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SECOND 1000000ull
#define KEY(s) ((struct ib_slice){ (const uint8_t *)(s), sizeof(s) - 1 })

static bool has_parent_2(struct hn_tree *t, void *arg)
{
	return ib_node_parent(t->nodes[*(size_t *)arg].node, NULL);
}

static struct hn_tree *tree_with_peer(const char *shape, uint64_t seed, struct hn_peer **p,
				      size_t attach_to)
{
	struct hn_tree *t = NULL;

	IB_ASSERT_OK(hn_tree_new(&t, shape, seed));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	t->base.election_window_ms = 200;
	if (p)
		IB_ASSERT_OK(hn_tree_new_peer(t, p));
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_tree_run_until(t, hn_tree_formed, NULL, 10 * SECOND));
	if (p)
		CU_ASSERT_FATAL(hn_attach_child(t, *p, attach_to));
	return t;
}

static uint64_t version_at(struct hn_tree *t, size_t i, struct ib_slice key, ib_id *writer)
{
	struct ib_item item;

	if (ib_store_get(ib_node_store(t->nodes[i].node), key, &item) != IB_OK)
		return 0;
	if (writer)
		*writer = item.writer;
	return item.version;
}

struct version_wait {
	struct ib_slice key;
	uint64_t version;
};

static bool all_at_version(struct hn_tree *t, void *arg)
{
	const struct version_wait *w = arg;

	for (size_t i = 0; i < t->count; i++)
		if (version_at(t, i, w->key, NULL) != w->version)
			return false;
	return true;
}

/* [DATA-7][DATA-3][DATA-2] an item reaches every store; the next writer goes one higher;
 * every store converges on the newest. */
static void test_publish_replicates_and_versions_grow(void)
{
	struct hn_tree *t = tree_with_peer("chain:4", 41, NULL, 0);
	struct version_wait w = { KEY("motd"), 1 };
	uint64_t version = 0;
	ib_id writer;

	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, w.key, KEY("hello"), &version));
	CU_ASSERT_EQUAL(version, 1);
	CU_ASSERT(hn_tree_run_until(t, all_at_version, &w, 5 * SECOND));
	IB_ASSERT_OK(ib_node_publish(t->nodes[3].node, w.key, KEY("hello again"), &version));
	CU_ASSERT_EQUAL(version, 2);
	w.version = 2;
	CU_ASSERT(hn_tree_run_until(t, all_at_version, &w, 5 * SECOND));
	CU_ASSERT_EQUAL(version_at(t, 1, w.key, &writer), 2);
	CU_ASSERT(ib_id_equal(&writer, hn_id(t, 3)));
	hn_tree_free(t);
}

/* A PUBLISH signed by the peer, to everyone or to one node only. */
static void peer_publish(struct hn_peer *p, const char *key, uint64_t version, const char *value,
			 const ib_id *dest, struct ib_buf *frame)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PUBLISH;
	if (dest)
		m.h.dest = *dest;
	m.u.publish.key = (struct ib_slice){ (const uint8_t *)key, strlen(key) };
	m.u.publish.version = version;
	m.u.publish.value = (struct ib_slice){ (const uint8_t *)value, strlen(value) };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, frame));
}

/* [DATA-2][DATA-4] an older PUBLISH does not replace a newer item; the store keeps the
 * writer's frame byte for byte. */
static void test_older_publish_ignored_frame_kept(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("chain:2", 42, &p, 1);
	struct ib_buf v2 = { 0 };
	struct ib_item item;

	peer_publish(p, "k", 2, "two", NULL, &v2);
	hn_tree_run_for(t, SECOND);
	peer_publish(p, "k", 1, "one", NULL, NULL);
	hn_tree_run_for(t, SECOND);
	IB_ASSERT_OK(ib_store_get(ib_node_store(t->nodes[0].node), KEY("k"), &item));
	CU_ASSERT_EQUAL(item.version, 2);
	CU_ASSERT_EQUAL(item.frame.len, v2.len);
	CU_ASSERT(memcmp(item.frame.ptr, v2.ptr, v2.len) == 0);
	ib_buf_free(&v2);
	hn_peer_free(p);
	hn_tree_free(t);
}

struct fetch_result {
	bool done;
	int status;
	struct ib_election_report report;
	uint64_t version;
	ib_id writer;
};

static void on_fetch(struct ib_node *n, int status, const struct ib_item *item,
		     const struct ib_election_report *report, void *ctx)
{
	struct fetch_result *r = ctx;

	(void)n;
	r->report = *report;
	r->done = true;
	r->status = status;
	if (item) {
		r->version = item->version;
		r->writer = item->writer;
	}
}

static bool fetch_done(struct hn_tree *t, void *arg)
{
	(void)t;
	return ((struct fetch_result *)arg)->done;
}

/* [ELECT-1][ELECT-2][ELECT-3][ELECT-5][ELECT-8] holders of different versions offer; the
 * newest is selected (and only its holder gets SELECT), transferred, checked and kept; the
 * other holders' stores do not change. star:3 (0 over 1 and 2), the peer under 0. */
static void test_fetch_elects_newest(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("star:3", 43, &p, 0);
	struct fetch_result r = { 0 };

	/* Directed PUBLISHes make the holders differ: v1 at node 1, v2 at node 2. */
	peer_publish(p, "doc", 1, "old", hn_id(t, 1), NULL);
	peer_publish(p, "doc", 2, "new", hn_id(t, 2), NULL);
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_EQUAL(version_at(t, 1, KEY("doc"), NULL), 1);
	CU_ASSERT_EQUAL(version_at(t, 2, KEY("doc"), NULL), 2);
	CU_ASSERT_EQUAL(version_at(t, 0, KEY("doc"), NULL), 0);

	IB_ASSERT_OK(ib_node_fetch(t->nodes[0].node, KEY("doc"), on_fetch, &r));
	CU_ASSERT(hn_tree_run_until(t, fetch_done, &r, 5 * SECOND));
	IB_ASSERT_OK(r.status);
	CU_ASSERT_EQUAL(r.version, 2);
	CU_ASSERT_EQUAL(version_at(t, 0, KEY("doc"), NULL), 2);
	CU_ASSERT_EQUAL(version_at(t, 1, KEY("doc"), NULL), 1); /* not flooded */
	CU_ASSERT_EQUAL(t->nodes[1].delivered_type[IB_MSG_OFFER], 0);
	CU_ASSERT_EQUAL(t->nodes[1].delivered_type[IB_MSG_SELECT], 0);
	CU_ASSERT_EQUAL(t->nodes[2].delivered_type[IB_MSG_SELECT], 1);
	CU_ASSERT_EQUAL(t->nodes[0].delivered_type[IB_MSG_OFFER], 2);
	CU_ASSERT_EQUAL(hn_peer_count(p, IB_MSG_SELECT), 0);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* Step 8: nobody holds it. */
static void test_fetch_not_found(void)
{
	struct hn_tree *t = tree_with_peer("chain:3", 44, NULL, 0);
	struct fetch_result r = { 0 };

	IB_ASSERT_OK(ib_node_fetch(t->nodes[2].node, KEY("nothing"), on_fetch, &r));
	CU_ASSERT(hn_tree_run_until(t, fetch_done, &r, 5 * SECOND));
	IB_ASSERT_ERR(r.status, IB_ERR_NOT_FOUND);
	hn_tree_free(t);
}

static bool got_type(struct hn_peer *p, uint8_t type)
{
	return hn_peer_count(p, type) > 0;
}

static bool peer_got_query(struct hn_tree *t, void *arg)
{
	(void)t;
	return got_type(arg, IB_MSG_QUERY);
}

static bool peer_got_select(struct hn_tree *t, void *arg)
{
	(void)t;
	return got_type(arg, IB_MSG_SELECT);
}

/* The query_id of the last QUERY the peer received. */
static uint64_t last_query_id(struct hn_peer *p)
{
	const struct hn_got *g = hn_peer_last(p, IB_MSG_QUERY);
	struct ib_frame f;
	struct ib_msg m;

	if (!g || ib_frame_parse(&f, g->raw.ptr, g->raw.len, IB_MAX_MESSAGE_LIMIT) ||
	    ib_msg_decode(&m, f.msg.ptr, f.msg.len))
		return 0;
	return m.u.query.query_id;
}

static void peer_offer(struct hn_peer *p, const ib_id *to, uint64_t query_id, const char *key,
		       uint64_t version)
{
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_OFFER;
	m.h.dest = *to;
	m.u.offer = (struct ib_offer){ query_id, { (const uint8_t *)key, strlen(key) }, version,
				       *ib_identity_id(hn_peer_identity(p)) };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
}

/* [ELECT-6] a holder that offers the newest version and never delivers is skipped after
 * election_window_ms; the next holder's item is taken. chain:2, peer under node 1. */
static void test_silent_holder_skipped(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("chain:2", 45, &p, 1);
	struct fetch_result r = { 0 };

	/* Only node 1 holds the key (a PUBLISH directed to it). */
	peer_publish(p, "only1", 1, "real", hn_id(t, 1), NULL);
	hn_tree_run_for(t, SECOND);
	IB_ASSERT_OK(ib_node_fetch(t->nodes[0].node, KEY("only1"), on_fetch, &r));
	CU_ASSERT_FATAL(hn_tree_run_until(t, peer_got_query, p, SECOND));
	peer_offer(p, hn_id(t, 0), last_query_id(p), "only1", 9);
	CU_ASSERT(hn_tree_run_until(t, peer_got_select, p, 5 * SECOND));
	/* The peer keeps quiet. */
	CU_ASSERT(hn_tree_run_until(t, fetch_done, &r, 5 * SECOND));
	IB_ASSERT_OK(r.status);
	CU_ASSERT_EQUAL(r.version, 1);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_HOLDER_FAILED), 1);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [ELECT-5] a TRANSFER whose embedded frame does not verify is rejected; the next holder. */
static void test_forged_transfer_rejected(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("chain:2", 46, &p, 1);
	struct fetch_result r = { 0 };
	struct ib_buf forged = { 0 };
	struct ib_msg m;
	uint64_t qid;

	peer_publish(p, "doc", 1, "real", hn_id(t, 1), NULL);
	hn_tree_run_for(t, SECOND);
	IB_ASSERT_OK(ib_node_fetch(t->nodes[0].node, KEY("doc"), on_fetch, &r));
	CU_ASSERT_FATAL(hn_tree_run_until(t, peer_got_query, p, SECOND));
	qid = last_query_id(p);
	peer_offer(p, hn_id(t, 0), qid, "doc", 7);
	CU_ASSERT_FATAL(hn_tree_run_until(t, peer_got_select, p, 5 * SECOND));
	/* A version-7 PUBLISH by the peer, its signature broken. */
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_PUBLISH;
	m.h.version = 1;
	m.h.seq = 1;
	m.u.publish = (struct ib_publish){ KEY("doc"), 7, KEY("forged") };
	{
		struct ib_buf msg = { 0 };

		IB_ASSERT_OK(ib_msg_encode(&msg, &m));
		IB_ASSERT_OK(ib_frame_sign(&forged, hn_peer_identity(p), msg.ptr, msg.len));
		ib_buf_free(&msg);
	}
	forged.ptr[IB_FRAME_HEADER_LEN + 3] ^= 1;
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_TRANSFER;
	m.h.dest = *hn_id(t, 0);
	m.u.transfer = (struct ib_transfer){ qid, { forged.ptr, forged.len } };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(t, fetch_done, &r, 5 * SECOND));
	IB_ASSERT_OK(r.status);
	CU_ASSERT_EQUAL(r.version, 1);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_HOLDER_FAILED), 1);
	ib_buf_free(&forged);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [ELECT-5] a TRANSFER older than its holder's offer (a genuine frame, but stale) is
 * rejected like a forged one; the next holder is taken. */
static void test_stale_transfer_rejected(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("chain:2", 56, &p, 1);
	struct fetch_result r = { 0 };
	struct ib_buf old = { 0 };
	struct ib_msg m;
	uint64_t qid;

	/* Node 1 holds v2; the peer keeps a genuine v1 frame of its own. */
	{
		struct ib_buf msg = { 0 };

		memset(&m, 0, sizeof m);
		m.h.version = 1;
		m.h.type = IB_MSG_PUBLISH;
		m.h.seq = 1;
		m.u.publish = (struct ib_publish){ KEY("doc"), 1, KEY("old") };
		IB_ASSERT_OK(ib_msg_encode(&msg, &m));
		IB_ASSERT_OK(ib_frame_sign(&old, hn_peer_identity(p), msg.ptr, msg.len));
		ib_buf_free(&msg);
	}
	peer_publish(p, "doc", 2, "current", hn_id(t, 1), NULL);
	hn_tree_run_for(t, SECOND);
	IB_ASSERT_OK(ib_node_fetch(t->nodes[0].node, KEY("doc"), on_fetch, &r));
	CU_ASSERT_FATAL(hn_tree_run_until(t, peer_got_query, p, SECOND));
	qid = last_query_id(p);
	peer_offer(p, hn_id(t, 0), qid, "doc", 9);
	CU_ASSERT_FATAL(hn_tree_run_until(t, peer_got_select, p, 5 * SECOND));
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_TRANSFER;
	m.h.dest = *hn_id(t, 0);
	m.u.transfer = (struct ib_transfer){ qid, { old.ptr, old.len } };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(t, fetch_done, &r, 5 * SECOND));
	IB_ASSERT_OK(r.status);
	CU_ASSERT_EQUAL(r.version, 2);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_HOLDER_FAILED), 1);
	CU_ASSERT_EQUAL(version_at(t, 0, KEY("doc"), NULL), 2);
	ib_buf_free(&old);
	hn_peer_free(p);
	hn_tree_free(t);
}

static bool peer_got_transfer(struct hn_tree *t, void *arg)
{
	(void)t;
	return got_type(arg, IB_MSG_TRANSFER);
}

/* [ELECT-4] SELECT for a query the holder never saw: it answers with what it holds now, and
 * an empty frame for a key it does not hold. [ELECT-7] an OFFER for no election is counted. */
static void test_select_answers_current_item(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("chain:1", 47, &p, 0);
	struct ib_item item;
	struct ib_msg m;
	const struct hn_got *g;
	struct ib_frame f;
	struct ib_msg got;

	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, KEY("x"), KEY("v1"), NULL));
	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, KEY("x"), KEY("v2"), NULL));
	hn_tree_run_for(t, SECOND);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_SELECT;
	m.h.dest = *hn_id(t, 0);
	m.u.select = (struct ib_select){ 1234, KEY("x"), 1 };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	CU_ASSERT_FATAL(hn_tree_run_until(t, peer_got_transfer, p, SECOND));
	g = hn_peer_last(p, IB_MSG_TRANSFER);
	IB_ASSERT_OK(ib_frame_parse(&f, g->raw.ptr, g->raw.len, IB_MAX_MESSAGE_LIMIT));
	IB_ASSERT_OK(ib_msg_decode(&got, f.msg.ptr, f.msg.len));
	IB_ASSERT_OK(ib_store_get(ib_node_store(t->nodes[0].node), KEY("x"), &item));
	CU_ASSERT_EQUAL(item.version, 2);
	CU_ASSERT_EQUAL(got.u.transfer.query_id, 1234);
	CU_ASSERT(got.u.transfer.frame.len == item.frame.len &&
		  memcmp(got.u.transfer.frame.ptr, item.frame.ptr, item.frame.len) == 0);

	m.u.select = (struct ib_select){ 1235, KEY("absent"), 1 };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	hn_tree_run_for(t, 1000);
	CU_ASSERT_EQUAL(hn_peer_count(p, IB_MSG_TRANSFER), 2);
	g = hn_peer_last(p, IB_MSG_TRANSFER);
	IB_ASSERT_OK(ib_frame_parse(&f, g->raw.ptr, g->raw.len, IB_MAX_MESSAGE_LIMIT));
	IB_ASSERT_OK(ib_msg_decode(&got, f.msg.ptr, f.msg.len));
	CU_ASSERT_EQUAL(got.u.transfer.frame.len, 0);

	peer_offer(p, hn_id(t, 0), 99, "x", 5);
	hn_tree_run_for(t, 1000);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_LATE_OFFER), 1);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [DATA-5][DATA-6] items written to disk come back when the node starts again. */
static void test_publish_survives_restart(void)
{
	struct hn_tree *t = NULL;
	struct version_wait w = { KEY("kept"), 1 };

	IB_ASSERT_OK(hn_tree_new(&t, "chain:2", 51));
	t->persist = true;
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_tree_run_until(t, hn_tree_formed, NULL, 10 * SECOND));
	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, w.key, KEY("on disk"), NULL));
	CU_ASSERT(hn_tree_run_until(t, all_at_version, &w, 5 * SECOND));
	hn_tree_kill(t, 1);
	IB_ASSERT_OK(hn_tree_restart(t, 1));
	/* Straight from its disk, before any link is up again. */
	CU_ASSERT_EQUAL(version_at(t, 1, w.key, NULL), 1);
	hn_tree_free(t);
}

struct reject_log {
	size_t lines;     /* "item not loaded" lines at WARN */
	char last[512];
};

static void count_reject_lines(void *ctx, enum ib_log_level level, const char *line)
{
	struct reject_log *rl = ctx;

	if (level == IB_LOG_WARN && strstr(line, "store: item not loaded:")) {
		rl->lines++;
		snprintf(rl->last, sizeof rl->last, "%s", line);
	}
}

static int log_rejects_of(struct hn_tree *t, size_t i, struct ib_node *n, void *ctx)
{
	(void)t;
	(void)i;
	ib_node_set_log(n, count_reject_lines, ctx, IB_LOG_WARN);
	return IB_OK;
}

/* [DATA-6] An item whose writer is not in the keyring when the node starts is not loaded,
 * and the node reports it: one warning naming the file and the reason (the spec leaves the
 * form of the report to the node; the wire cannot show it). */
static void test_start_reports_rejected_items(void)
{
	static const int without_writer[1] = { 1 };
	struct hn_tree *t = NULL;
	struct ib_keyring *kr = NULL;
	struct reject_log rl = { 0 };
	struct version_wait w = { KEY("dropped"), 1 };

	IB_ASSERT_OK(hn_tree_new(&t, "chain:2", 55));
	t->persist = true;
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_tree_run_until(t, hn_tree_formed, NULL, 10 * SECOND));
	IB_ASSERT_OK(ib_node_publish(t->nodes[1].node, w.key, KEY("by 1"), NULL));
	CU_ASSERT(hn_tree_run_until(t, all_at_version, &w, 5 * SECOND));
	hn_tree_kill(t, 0);
	IB_ASSERT_OK(hn_tree_keyring(t, without_writer, 1, &kr));
	hn_tree_set_start_keyring(t, 0, kr);
	t->on_node = log_rejects_of;
	t->on_node_ctx = &rl;
	IB_ASSERT_OK(hn_tree_restart(t, 0));
	t->on_node = NULL;
	CU_ASSERT_EQUAL(version_at(t, 0, w.key, NULL), 0);
	CU_ASSERT_EQUAL(rl.lines, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(rl.last, "unknown_origin"));
	hn_tree_free(t);
}

static void count_keep_failures(void *ctx, enum ib_log_level level, const char *line)
{
	struct reject_log *rl = ctx;

	if (level == IB_LOG_ERROR && strstr(line, "cannot keep")) {
		rl->lines++;
		snprintf(rl->last, sizeof rl->last, "%s", line);
	}
}

/* [DATA-19][DATA-5] An item received in a batch whose file cannot be put in place (a
 * directory stands at its name in node 0's store) is taken back, counted store_failed and
 * reported; the PUBLISH was still forwarded ([DATA-13]), so the writer holds it. */
static void test_batch_failure_counted(void)
{
	struct hn_tree *t = NULL;
	struct reject_log rl = { 0 };
	char path[700];

	IB_ASSERT_OK(hn_tree_new(&t, "chain:2", 56));
	t->persist = true;
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_tree_run_until(t, hn_tree_formed, NULL, 10 * SECOND));
	/* "blocked" in hex: the file name the reference gives the key (store.c). */
	snprintf(path, sizeof path, "%s/%s/626c6f636b6564.item", t->store_root,
		 t->nodes[0].name);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
	ib_node_set_log(t->nodes[0].node, count_keep_failures, &rl, IB_LOG_ERROR);
	IB_ASSERT_OK(ib_node_publish(t->nodes[1].node, KEY("blocked"), KEY("v"), NULL));
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_EQUAL(version_at(t, 1, KEY("blocked"), NULL), 1);
	CU_ASSERT_EQUAL(version_at(t, 0, KEY("blocked"), NULL), 0);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_STORE_FAILED), 1);
	CU_ASSERT_EQUAL(rl.lines, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(rl.last, "cannot keep 1 item"));
	hn_tree_free(t);
}

static uint64_t reservation_of(struct hn_tree *t, size_t i)
{
	char dir[512];
	uint64_t r = 0;

	snprintf(dir, sizeof dir, "%s/%s", t->store_root, t->nodes[i].name);
	IB_ASSERT_OK(ib_seq_reserve_load(dir, &r, NULL));
	return r;
}

/* [MSG-14][MSG-5] A node records a reservation above every seq it sends, takes it as its
 * floor when it starts again with its clock 2 minutes back, and, when it cannot record one
 * (its store's directory gone), counts and logs it and still sends. */
static void test_seq_reservation(void)
{
	struct hn_tree *t = NULL;
	struct fetch_result r = { 0 };
	uint64_t before, reserved;
	char path[600];

	IB_ASSERT_OK(hn_tree_new(&t, "forest:1", 54));
	t->persist = true;
	IB_ASSERT_OK(hn_tree_start(t));
	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, KEY("a"), KEY("1"), NULL));
	before = t->nodes[0].node->seq.last;
	reserved = reservation_of(t, 0);
	CU_ASSERT(before > 0);
	CU_ASSERT(reserved > before);
	hn_tree_kill(t, 0);
	IB_ASSERT_OK(hn_tree_restart(t, 0));
	ib_node_set_clock_skew(t->nodes[0].node, -120 * (int64_t)SECOND);
	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, KEY("a"), KEY("2"), NULL));
	CU_ASSERT(t->nodes[0].node->seq.last > reserved);
	CU_ASSERT(reservation_of(t, 0) > t->nodes[0].node->seq.last);
	/* No directory to record in: reported, and the QUERY still goes (with a seq above the
	 * last). */
	snprintf(path, sizeof path, "%s/%s", t->store_root, t->nodes[0].name);
	hn_remove_tree(path);
	ib_node_set_clock_skew(t->nodes[0].node, 0);
	hn_tree_run_for(t, 3 * IB_SEQ_RESERVE_US); /* past the reservation */
	before = t->nodes[0].node->seq.last;
	IB_ASSERT_OK(ib_node_fetch(t->nodes[0].node, KEY("b"), on_fetch, &r));
	CU_ASSERT(t->nodes[0].node->seq.last > before);
	CU_ASSERT(ib_node_counter(t->nodes[0].node, IB_CNT_SEQ_RESERVE_FAILED) >= 1);
	hn_tree_run_for(t, SECOND);
	hn_tree_free(t);
}

/* [DATA-1] two writers publish the same version at once: every node keeps the same one,
 * the larger writer id. */
static void test_concurrent_writers_converge(void)
{
	struct hn_tree *t = tree_with_peer("chain:5", 52, NULL, 0);
	struct version_wait w = { KEY("race"), 1 };
	size_t winner;
	ib_id writer;

	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, w.key, KEY("from 0"), NULL));
	IB_ASSERT_OK(ib_node_publish(t->nodes[4].node, w.key, KEY("from 4"), NULL));
	CU_ASSERT(hn_tree_run_until(t, all_at_version, &w, 5 * SECOND));
	hn_tree_run_for(t, SECOND);
	winner = ib_id_compare(hn_id(t, 0), hn_id(t, 4)) > 0 ? 0 : 4;
	for (size_t i = 0; i < t->count; i++) {
		CU_ASSERT_EQUAL(version_at(t, i, w.key, &writer), 1);
		CU_ASSERT(ib_id_equal(&writer, hn_id(t, winner)));
	}
	hn_tree_free(t);
}

/* [ELECT-2][ELECT-6] holders of versions 3, 5, 5 and 4: a holder of 5 is chosen, never 3
 * or 4; the first holder of 5 dies before it answers, and the other 5 is taken. tree:2x2:
 * node 0 over 1 and 2; 1 over 3 and 4; 2 over 5 and 6. Node 1 (v5) answers first, being
 * nearer than node 5 (v5); node 3 holds v3 and node 6 v4. */
static void test_election_picks_newest_and_falls_back(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("tree:2x2", 53, &p, 4);
	struct fetch_result r = { 0 };

	peer_publish(p, "v", 5, "five-a", hn_id(t, 1), NULL);
	peer_publish(p, "v", 5, "five-a", hn_id(t, 5), NULL);
	peer_publish(p, "v", 3, "three", hn_id(t, 3), NULL);
	peer_publish(p, "v", 4, "four", hn_id(t, 6), NULL);
	hn_tree_run_for(t, SECOND);
	IB_ASSERT_OK(ib_node_fetch(t->nodes[0].node, KEY("v"), on_fetch, &r));
	hn_tree_run_for(t, 100000); /* offers are in; the window (200 ms) is still open */
	CU_ASSERT_EQUAL(t->nodes[0].delivered_type[IB_MSG_OFFER], 4);
	hn_tree_kill(t, 1);
	CU_ASSERT(hn_tree_run_until(t, fetch_done, &r, 5 * SECOND));
	IB_ASSERT_OK(r.status);
	CU_ASSERT_EQUAL(r.version, 5);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_HOLDER_FAILED), 1);
	CU_ASSERT_EQUAL(t->nodes[5].delivered_type[IB_MSG_SELECT], 1);
	CU_ASSERT_EQUAL(t->nodes[6].delivered_type[IB_MSG_SELECT], 0);
	/* The report: four offers, node 1's first and failed, the item from node 5. */
	CU_ASSERT_EQUAL(r.report.offers, 4);
	CU_ASSERT(ib_id_equal(&r.report.offer[0].holder, hn_id(t, 1)));
	CU_ASSERT(r.report.offer[0].failed);
	CU_ASSERT(r.report.transferred && ib_id_equal(&r.report.holder, hn_id(t, 5)));
	hn_peer_free(p);
	hn_tree_free(t);
}

/* A node that joins after an item was published gets it by election. */
static void test_late_joiner_fetches(void)
{
	struct hn_tree *t = tree_with_peer("forest:3", 54, NULL, 0);
	struct fetch_result r = { 0 };
	char addr[64];
	const char *list[1] = { addr };
	size_t two = 2;

	hn_addr(t, 0, addr, sizeof addr);
	IB_ASSERT_OK(ib_node_set_parents(t->nodes[1].node, list, 1));
	hn_tree_run_for(t, SECOND);
	IB_ASSERT_OK(ib_node_publish(t->nodes[0].node, KEY("news"), KEY("old news"), NULL));
	hn_tree_run_for(t, SECOND);
	hn_addr(t, 1, addr, sizeof addr);
	IB_ASSERT_OK(ib_node_set_parents(t->nodes[2].node, list, 1));
	CU_ASSERT_FATAL(hn_tree_run_until(t, has_parent_2, &two, 5 * SECOND));
	CU_ASSERT_EQUAL(version_at(t, 2, KEY("news"), NULL), 0);
	IB_ASSERT_OK(ib_node_fetch(t->nodes[2].node, KEY("news"), on_fetch, &r));
	CU_ASSERT(hn_tree_run_until(t, fetch_done, &r, 5 * SECOND));
	IB_ASSERT_OK(r.status);
	CU_ASSERT_EQUAL(version_at(t, 2, KEY("news"), NULL), 1);
	hn_tree_free(t);
}

/* ---- commands ------------------------------------------------------------------------ */

struct result_log {
	size_t count;
	bool expired;
	uint16_t status;
	uint8_t output[2048];
	size_t output_len;
};

/* Sends COMMAND name(args) from the peer to node 0 and returns the RESULT's status and
 * output. */
static uint16_t peer_command(struct hn_tree *t, struct hn_peer *p, const char *name,
			     const struct ib_slice *args, size_t nargs, struct ib_buf *output)
{
	static uint64_t cmd_id = 100;
	struct ib_buf blob = { 0 };
	const struct hn_got *g;
	struct ib_frame f;
	struct ib_msg m;
	size_t before = hn_peer_count(p, IB_MSG_RESULT);

	for (size_t i = 0; i < nargs; i++)
		ib_args_put(&blob, args[i]);
	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.h.dest = *hn_id(t, 0);
	m.u.command = (struct ib_command){ ++cmd_id, { (const uint8_t *)name, strlen(name) },
					   { blob.ptr, blob.len } };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	ib_buf_free(&blob);
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_EQUAL_FATAL(hn_peer_count(p, IB_MSG_RESULT), before + 1);
	g = hn_peer_last(p, IB_MSG_RESULT);
	IB_ASSERT_OK(ib_frame_parse(&f, g->raw.ptr, g->raw.len, IB_MAX_MESSAGE_LIMIT));
	IB_ASSERT_OK(ib_msg_decode(&m, f.msg.ptr, f.msg.len));
	CU_ASSERT_EQUAL(m.u.result.cmd_id, cmd_id);
	if (output) {
		ib_buf_reset(output);
		ib_buf_put(output, m.u.result.output.ptr, m.u.result.output.len);
	}
	return m.u.result.status;
}

static bool output_is(const struct ib_buf *b, const char *text)
{
	return b->len == strlen(text) && memcmp(b->ptr, text, b->len) == 0;
}

static bool output_has_line(const struct ib_buf *b, const char *prefix)
{
	const char *p = (const char *)b->ptr;
	size_t n = strlen(prefix);

	for (size_t i = 0; i + n <= b->len; i++)
		if ((i == 0 || p[i - 1] == '\n') && memcmp(p + i, prefix, n) == 0)
			return true;
	return false;
}

/* [CMD-1..5][IFACE-6] the standard set, the allow-list, and each status. */
static void test_standard_commands(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = NULL;
	struct ib_buf out = { 0 };
	struct ib_slice args[2] = { KEY("k"), KEY("v") };
	char hex[2 * IB_ID_LEN + 1];
	char line[64];

	IB_ASSERT_OK(hn_tree_new(&t, "chain:2", 48));
	/* node.conf's default list plus one name nobody implements. */
	snprintf(t->base.commands[t->base.command_count++], IB_MAX_STRING + 1, "x.nothing");
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_tree_run_until(t, hn_tree_formed, NULL, 10 * SECOND));
	CU_ASSERT_FATAL(hn_attach_child(t, p, 1));

	CU_ASSERT_EQUAL(peer_command(t, p, "ib.ping", NULL, 0, &out), IB_STATUS_OK);
	CU_ASSERT(output_is(&out, "pong"));
	CU_ASSERT_EQUAL(peer_command(t, p, "ib.info", NULL, 0, &out), IB_STATUS_OK);
	ib_id_to_hex(hn_id(t, 0), hex);
	snprintf(line, sizeof line, "id=%s\n", hex);
	CU_ASSERT(output_has_line(&out, line));
	CU_ASSERT(output_has_line(&out, "name=n0\n"));
	CU_ASSERT(output_has_line(&out, "parent=\n"));
	ib_id_to_hex(hn_id(t, 1), hex);
	snprintf(line, sizeof line, "children=%s\n", hex);
	CU_ASSERT(output_has_line(&out, line));
	CU_ASSERT(output_has_line(&out, "keys_digest="));
	/* [CMD-5] ib.publish is not in the default list: denied, and nothing published. */
	CU_ASSERT_EQUAL(peer_command(t, p, "ib.publish", args, 2, &out), IB_STATUS_DENIED);
	CU_ASSERT_EQUAL(version_at(t, 0, KEY("k"), NULL), 0);
	CU_ASSERT_EQUAL(peer_command(t, p, "no.such", NULL, 0, &out), IB_STATUS_DENIED);
	CU_ASSERT_EQUAL(peer_command(t, p, "x.nothing", NULL, 0, &out), IB_STATUS_UNKNOWN);
	CU_ASSERT_EQUAL(peer_command(t, p, "ib.get", NULL, 0, &out), IB_STATUS_BAD_ARGS);
	CU_ASSERT_EQUAL(peer_command(t, p, "ib.get", args, 1, &out), IB_STATUS_NOT_FOUND);
	IB_ASSERT_OK(ib_node_publish(t->nodes[1].node, KEY("k"), KEY("v"), NULL));
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_EQUAL(peer_command(t, p, "ib.get", args, 1, &out), IB_STATUS_OK);
	{
		struct ib_item item;

		IB_ASSERT_OK(ib_store_get(ib_node_store(t->nodes[0].node), KEY("k"), &item));
		CU_ASSERT(out.len == item.frame.len &&
			  memcmp(out.ptr, item.frame.ptr, out.len) == 0);
	}
	CU_ASSERT_EQUAL(peer_command(t, p, "ib.fetch", args, 1, &out), IB_STATUS_OK);
	ib_buf_free(&out);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* A captured COMMAND sent again (within 300 s) is a replay: it does not run twice. */
static void test_replayed_command_runs_once(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("chain:1", 55, &p, 0);
	struct ib_buf frame = { 0 };
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_COMMAND;
	m.h.dest = *hn_id(t, 0);
	m.u.command = (struct ib_command){ 7, KEY("ib.ping"), { NULL, 0 } };
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, &frame));
	hn_tree_run_for(t, SECOND);
	IB_ASSERT_OK(hn_peer_send_raw(p, frame.ptr, frame.len));
	hn_tree_run_for(t, SECOND);
	CU_ASSERT_EQUAL(hn_peer_count(p, IB_MSG_RESULT), 1);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_REPLAY), 1);
	ib_buf_free(&frame);
	hn_peer_free(p);
	hn_tree_free(t);
}

/* [CMD-5] listed explicitly, ib.publish runs. */
static void test_publish_command_when_listed(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = NULL;
	struct ib_slice args[2] = { KEY("k"), KEY("v") };

	IB_ASSERT_OK(hn_tree_new(&t, "chain:1", 49));
	snprintf(t->base.commands[t->base.command_count++], IB_MAX_STRING + 1, "ib.publish");
	IB_ASSERT_OK(hn_tree_new_peer(t, &p));
	IB_ASSERT_OK(hn_tree_start(t));
	CU_ASSERT_FATAL(hn_attach_child(t, p, 0));
	CU_ASSERT_EQUAL(peer_command(t, p, "ib.publish", args, 2, NULL), IB_STATUS_OK);
	CU_ASSERT_EQUAL(version_at(t, 0, KEY("k"), NULL), 1);
	CU_ASSERT_EQUAL(hn_peer_count(p, IB_MSG_PUBLISH), 1); /* flooded to the peer too */
	hn_peer_free(p);
	hn_tree_free(t);
}

static void on_result(struct ib_node *n, const ib_id *from, uint16_t status,
		      struct ib_slice output, void *ctx)
{
	struct result_log *r = ctx;

	(void)n;
	if (!from) {
		r->expired = true;
		return;
	}
	r->count++;
	r->status = status;
	r->output_len = output.len < sizeof r->output ? output.len : sizeof r->output;
	memcpy(r->output, output.ptr, r->output_len);
}

static bool result_expired(struct hn_tree *t, void *arg)
{
	(void)t;
	return ((struct result_log *)arg)->expired;
}

/* [CMD-1] a command to everyone: one RESULT from each other node; [CMD-7] a RESULT for no
 * command (while one is waiting, and after its timeout) is counted and not delivered. */
static void test_command_to_everyone_and_late_result(void)
{
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("chain:3", 50, &p, 0);
	struct result_log r = { 0 };
	struct ib_msg m;

	memset(&m, 0, sizeof m);
	m.h.type = IB_MSG_RESULT;
	m.h.dest = *hn_id(t, 0);
	m.u.result = (struct ib_result){ 424242, IB_STATUS_OK, KEY("late") };
	IB_ASSERT_OK(ib_node_command(t->nodes[0].node, NULL, "ib.ping", NULL, 0, 2000, on_result,
				     &r));
	/* Another cmd_id while ib.ping waits: not its answer. */
	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	CU_ASSERT(hn_tree_run_until(t, result_expired, &r, 5 * SECOND));
	CU_ASSERT_EQUAL(r.count, 2); /* nodes 1 and 2; the peer runs nothing */
	CU_ASSERT_EQUAL(r.status, IB_STATUS_OK);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_LATE_RESULT), 1);

	IB_ASSERT_OK(hn_peer_send(p, &m, NULL, NULL, false, NULL));
	hn_tree_run_for(t, 1000);
	CU_ASSERT_EQUAL(ib_node_counter(t->nodes[0].node, IB_CNT_LATE_RESULT), 2);
	CU_ASSERT_EQUAL(r.count, 2);
	hn_peer_free(p);
	hn_tree_free(t);
}

struct flight_log {
	unsigned results;
	unsigned expired;
};

static void on_flight_result(struct ib_node *n, const ib_id *from, uint16_t status,
			     struct ib_slice output, void *ctx)
{
	struct flight_log *r = ctx;

	(void)n;
	(void)status;
	(void)output;
	if (from)
		r->results++;
	else
		r->expired++;
}

/* Section 18: commands in flight. 1,024 wait for their time to be up; the next is refused
 * (IB_ERR_FULL, counted busy) and not sent: node 1 answers 1,024 of them. Once they expire,
 * a command is sent again. */
static void test_commands_in_flight_bounded(void)
{
	struct hn_tree *t = tree_with_peer("chain:2", 43, NULL, 0);
	struct ib_node *n0 = t->nodes[0].node;
	struct flight_log r = { 0 };

	for (unsigned i = 0; i < IB_MAX_COMMANDS_IN_FLIGHT; i++)
		IB_ASSERT_OK(ib_node_command(n0, hn_id(t, 1), "ib.ping", NULL, 0, 5000,
					     on_flight_result, &r));
	CU_ASSERT_EQUAL(ib_node_command(n0, hn_id(t, 1), "ib.ping", NULL, 0, 5000,
					on_flight_result, &r), IB_ERR_FULL);
	CU_ASSERT_EQUAL(ib_node_counter(n0, IB_CNT_BUSY), 1);
	hn_tree_run_for(t, 4 * SECOND);
	CU_ASSERT_EQUAL(r.results, IB_MAX_COMMANDS_IN_FLIGHT);
	CU_ASSERT_EQUAL(r.expired, 0);
	hn_tree_run_for(t, 2 * SECOND);
	CU_ASSERT_EQUAL(r.expired, IB_MAX_COMMANDS_IN_FLIGHT);
	IB_ASSERT_OK(ib_node_command(n0, hn_id(t, 1), "ib.ping", NULL, 0, 1000,
				     on_flight_result, &r));
	hn_tree_run_for(t, 2 * SECOND);
	CU_ASSERT_EQUAL(r.results, IB_MAX_COMMANDS_IN_FLIGHT + 1);
	CU_ASSERT_EQUAL(r.expired, IB_MAX_COMMANDS_IN_FLIGHT + 1);
	hn_tree_free(t);
}

/* [LINK-21] Requests that come in one read are paced as each is handled: the answers TLS has
 * made and the socket not taken yet count in the link's backlog, though the node writes them
 * only once the read is done. 40 SELECTs of a 60,000-byte item, in one TLS record from a
 * child that does not read: the node answers the first until its queue toward the child
 * passes answer_backlog (256 KiB: 5 answers), and the others are counted busy. */
static void test_answers_paced_within_one_read(void)
{
	static uint8_t value[60000];
	enum { SELECTS = 40, ANSWERED_MAX = (256 * 1024) / sizeof value + 1 };
	struct hn_peer *p = NULL;
	struct hn_tree *t = tree_with_peer("chain:1", 44, &p, 0);
	struct ib_node *n0 = t->nodes[0].node;
	struct ib_buf frames = { 0 };
	uint64_t version, busy;

	IB_ASSERT_OK(ib_node_publish(n0, KEY("paced"), (struct ib_slice){ value, sizeof value },
				     NULL));
	version = version_at(t, 0, KEY("paced"), NULL);
	CU_ASSERT_FATAL(version > 0);
	hn_peer_pause(p, true);
	for (unsigned i = 0; i < SELECTS; i++) {
		struct ib_msg m;

		memset(&m, 0, sizeof m);
		m.h.type = IB_MSG_SELECT;
		m.h.dest = *hn_id(t, 0);
		m.u.select = (struct ib_select){ i + 1, KEY("paced"), version };
		IB_ASSERT_OK(hn_peer_frame(p, &m, NULL, NULL, false, &frames));
	}
	CU_ASSERT_FATAL(frames.len < 16384); /* one record, one read */
	busy = ib_node_counter(n0, IB_CNT_BUSY);
	IB_ASSERT_OK(hn_peer_send_raw(p, frames.ptr, frames.len));
	hn_tree_run_for(t, SECOND / 10);
	CU_ASSERT(ib_node_counter(n0, IB_CNT_BUSY) - busy >= SELECTS - ANSWERED_MAX);
	if (ib_node_counter(n0, IB_CNT_BUSY) - busy < SELECTS - ANSWERED_MAX)
		fprintf(stderr, "\n  %llu of %u SELECTs counted busy, at least %u expected\n",
			(unsigned long long)(ib_node_counter(n0, IB_CNT_BUSY) - busy),
			(unsigned)SELECTS, (unsigned)(SELECTS - ANSWERED_MAX));
	ib_buf_free(&frames);
	hn_peer_free(p);
	hn_tree_free(t);
}

static const struct ib_test_case cases[] = {
	IB_TEST(test_seq_reservation, "MSG-14 MSG-5"),
	IB_TEST(test_start_reports_rejected_items, "DATA-6"),
	IB_TEST(test_batch_failure_counted, "DATA-19 DATA-5"),
	IB_TEST(test_publish_replicates_and_versions_grow, "DATA-2 DATA-3 DATA-7"),
	IB_TEST(test_older_publish_ignored_frame_kept, "DATA-2 DATA-4"),
	IB_TEST(test_fetch_elects_newest, "ELECT-1 ELECT-2 ELECT-3 ELECT-5 ELECT-8"),
	IB_TEST(test_fetch_not_found, "ELECT-2"),
	IB_TEST(test_silent_holder_skipped, "ELECT-6"),
	IB_TEST(test_forged_transfer_rejected, "ELECT-5 ELECT-6"),
	IB_TEST(test_stale_transfer_rejected, "ELECT-5"),
	IB_TEST(test_select_answers_current_item, "ELECT-4 ELECT-7"),
	IB_TEST(test_publish_survives_restart, "DATA-5 DATA-6"),
	IB_TEST(test_concurrent_writers_converge, "DATA-1 DATA-2"),
	IB_TEST(test_election_picks_newest_and_falls_back, "ELECT-2 ELECT-6"),
	IB_TEST(test_late_joiner_fetches, "ELECT-1 ELECT-4"),
	IB_TEST(test_replayed_command_runs_once, "FLOOD-3 CMD-1"),
	IB_TEST(test_standard_commands, "CMD-2 CMD-3 CMD-4 CMD-5 IFACE-6"),
	IB_TEST(test_publish_command_when_listed, "CMD-5"),
	IB_TEST(test_command_to_everyone_and_late_result, "CMD-1 CMD-7"),
	IB_TEST(test_commands_in_flight_bounded, "CMD-7"),
	IB_TEST(test_answers_paced_within_one_read, "LINK-21"),
	IB_TEST_END
};

const struct ib_test_suite ib_suite_data = { "data", NULL, NULL, cases };
