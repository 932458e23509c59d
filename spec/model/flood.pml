/*
 * flood.pml: flooding and the anti-replay window of interbot v1 (spec section 9), for
 * 4 nodes whose links change.
 *
 * Modelled: links as pairs of FIFO channels [FLOOD-8] that open and close (a budget of
 * TOPO changes: cuts, and new links that may close a transient cycle, as two roots
 * joining each other do before PATH breaks the loop [TREE-7]); one origin (node 0)
 * publishing K end-to-end frames with increasing seq [MSG-5]; each node's window
 * [FLOOD-3], [FLOOD-14] (W sequence numbers instead of 64), its acceptance rules in
 * order [FLOOD-9], delivery and flooding to every open link but the arrival one
 * [FLOOD-1], [FLOOD-2]; the origin recording its own seq [FLOOD-7].
 * Abstracted away: signatures and the checks of sections 5 to 7 (frames here are valid:
 * a frame that fails them moves no window, [FLOOD-4], so it is the same as a frame
 * that never came); directed frames and routes ([FLOOD-5], [FLOOD-10]: a route only
 * narrows where a frame goes, and a directed frame with no route is flooded, so the
 * flood is the case with the most copies); other origins (each origin has its own
 * window and frames of two origins never interact); HELLO and PATH (tree.pml): links
 * change here in any way the budget allows, which includes every change the tree rules
 * make.
 *
 * Properties (checked by `make model`):
 *  - at most once: no node delivers a seq twice, whatever the links do (an assertion at
 *    each delivery; the origin counts its own frame as delivered when it sends it);
 *  - exactly once while the tree is whole: once nothing is in flight and all K frames
 *    are sent, every frame sent while the links were a spanning tree, and after which
 *    the links did not change, was delivered once at every node;
 *  - no invalid end state.
 * Planted bugs:
 *  - PLANTED_WINDOW_OFF_BY_ONE: the window's lower edge is off by one ([FLOOD-14]:
 *    `top - seq > W` instead of `> W - 1`), so a seq just below the window is checked
 *    against a bit the bitmap no longer has, and is accepted again;
 *  - PLANTED_NO_OWN_SEQ: the origin does not record its own seq ([FLOOD-7]), so its frame
 *    coming back through a transient cycle is accepted again;
 *  - PLANTED_FIRST_NOT_FORWARDED: a relay delivers the first frame of the origin but does
 *    not forward it ([FLOOD-1]): the exactly-once check must see the nodes it misses.
 */

#define N 4
#ifndef K
#define K 3           /* frames the origin sends: seq 1 .. K */
#endif
#ifndef W
#define W 2           /* the window: the spec's 64, scaled to K (K > W makes its edge matter) */
#endif
#ifndef TOPO
#define TOPO 2        /* link changes */
#endif
#define MASK ((1 << W) - 1)
#define L(a, b) ((a) * N + (b))

/* Each link carries at most one copy of each frame each way ([FLOOD-2], and a node
 * forwards a frame once, when it accepts it), so K frames never fill a channel. */
chan ch[N * N] = [K] of { byte };

bool cand[N * N];             /* the links that may exist (both directions set) */
bool open[N * N];             /* the links open now (both directions set) */
byte top[N];                  /* [FLOOD-3] the highest seq accepted, 0 before the first */
byte bits[N];                 /* bit d: top - d was accepted */
byte got[N * (K + 1)];        /* deliveries of each seq at each node */
byte sent;                    /* frames the origin sent */
byte gen;                     /* link changes so far */
byte pubgen[K + 1];           /* gen when each seq was sent */
bool pubwhole[K + 1];         /* the links were a spanning tree when it was sent */
byte topo = TOPO;
byte inflight;

hidden byte hq;
hidden byte hk;
hidden byte hn;
hidden byte hok;

/* The links form a spanning tree: N-1 of them, and connected (reach[] below). */
hidden byte reach;
bool ready;
inline whole() {
	/* hok = (open links are a spanning tree); a fixpoint over N nodes */
	hn = 0;
	hk = 0;
	do
	:: hk < N * N -> hn = hn + open[hk]; hk++
	:: else -> break
	od;
	hok = (hn == 2 * (N - 1));
	reach = 1;
	hn = 0;
	do
	:: hn < N ->
		hk = 0;
		do
		:: hk < N * N ->
			if
			:: open[hk] && (reach & (1 << (hk / N))) -> reach = reach | (1 << (hk % N))
			:: else -> skip
			fi;
			hk++
		:: else -> break
		od;
		hn++
	:: else -> break
	od;
	hok = hok && (reach == (1 << N) - 1);
	reach = 0;
	hk = 0;
	hn = 0
}

/* [FLOOD-1], [FLOOD-2]: to every open link but the arrival one (from = N: none). */
inline flood(i, from, q) {
	hk = 0;
	do
	:: hk < N ->
		if
		:: hk != from && open[L(i, hk)] ->
			assert(nfull(ch[L(i, hk)]));
			ch[L(i, hk)]!q;
			inflight++
		:: else -> skip
		fi;
		hk++
	:: else -> break
	od;
	hk = 0
}

inline deliver(i, q) {
	got[i * (K + 1) + q]++;
	assert(got[i * (K + 1) + q] == 1)    /* at most once */
}

/* [FLOOD-3], [FLOOD-14]: hok = (q is accepted); the window moves when it is. */
inline window(i, q) {
	if
	:: top[i] == 0 ->
		hok = 1; top[i] = q; bits[i] = 1      /* the first frame of an origin */
	:: top[i] != 0 && q > top[i] ->
		hok = 1;
		if
		:: q - top[i] >= W -> bits[i] = 1     /* only the new top's bit [FLOOD-14] */
		:: else -> bits[i] = ((bits[i] << (q - top[i])) & MASK) | 1
		fi;
		top[i] = q
#ifdef PLANTED_WINDOW_OFF_BY_ONE
	:: top[i] != 0 && q <= top[i] && top[i] - q > W ->
#else
	:: top[i] != 0 && q <= top[i] && top[i] - q > W - 1 ->
#endif
		hok = 0                               /* below the window: replay */
	:: else ->
		if
		:: ((bits[i] >> (top[i] - q)) & 1) -> hok = 0    /* seen: replay */
		:: else -> hok = 1; bits[i] = (bits[i] | (1 << (top[i] - q))) & MASK
		fi
	fi
}

/* Node i receiving from neighbour j. */
proctype recv(byte i; byte j)
{
end:
	do
	:: atomic {
		ch[L(j, i)]?hq ->
		inflight--;
		/* [FLOOD-9] rule 1 (anti-replay, reads the window), rule 3 (accept: record),
		 * rule 4 (everyone: deliver and flood). No COMMAND here (rule 2). */
		window(i, hq);
		if
#ifdef PLANTED_FIRST_NOT_FORWARDED
		:: hok && hq == 1 -> deliver(i, hq)
		:: hok && hq != 1 -> deliver(i, hq); flood(i, j, hq)
#else
		:: hok -> deliver(i, hq); flood(i, j, hq)
#endif
		:: else -> skip     /* dropped, not forwarded [FLOOD-3] */
		fi;
		hq = 0;
		hok = 0
	}
	od
}

/* The origin: node 0 sends seq 1 .. K. */
active proctype origin()
{
end:
	do
	:: atomic {
		ready && sent < K ->
		sent++;
		/* [FLOOD-7]: the origin records its own seq, so that its frame coming back
		 * through a transient loop is dropped as a replay */
#ifndef PLANTED_NO_OWN_SEQ
		window(0, sent);
#endif
		deliver(0, sent);
		whole();
		pubwhole[sent] = hok;
		pubgen[sent] = gen;
		hok = 0;
		flood(0, N, sent)
	}
	od
}

/* Link changes: a link closes (what is in flight on it is lost) or opens. */
active proctype links()
{
end:
	do
	:: atomic {
		ready && topo > 0 ->
		topo--;
		gen++;
		/* choose a candidate link */
		if
		:: hk = L(0, 1)
		:: hk = L(1, 2)
		:: hk = L(1, 3)
		:: hk = L(2, 3)
		:: hk = L(0, 3)
		fi;
		hn = (hk % N) * N + hk / N;      /* the other direction */
		if
		:: open[hk] ->
			open[hk] = false;
			open[hn] = false;
			inflight = inflight - len(ch[hk]) - len(ch[hn]);
			do
			:: ch[hk]?_
			:: ch[hn]?_
			:: empty(ch[hk]) && empty(ch[hn]) -> break
			od
		:: else ->
			open[hk] = true;
			open[hn] = true
		fi;
		hk = 0;
		hn = 0
	}
	od
}

/* Exactly once while the tree is whole: checked when nothing is in flight, all is sent. */
#define DONE(q, i) (got[(i) * (K + 1) + (q)] == 1)
#define ALLGOT(q) (DONE(q, 0) && DONE(q, 1) && DONE(q, 2) && DONE(q, 3))
#define OWED(q) (sent >= (q) && pubwhole[q] && pubgen[q] == gen)
#if K == 2
#define EXACTLY (!OWED(1) || ALLGOT(1)) && (!OWED(2) || ALLGOT(2))
#elif K == 3
#define EXACTLY (!OWED(1) || ALLGOT(1)) && (!OWED(2) || ALLGOT(2)) && (!OWED(3) || ALLGOT(3))
#elif K == 4
#define EXACTLY (!OWED(1) || ALLGOT(1)) && (!OWED(2) || ALLGOT(2)) && \
                (!OWED(3) || ALLGOT(3)) && (!OWED(4) || ALLGOT(4))
#else
#error "K must be 2, 3 or 4"
#endif

active proctype monitor()
{
end:
	do
	:: inflight == 0 && sent == K && !(EXACTLY) -> assert(EXACTLY)
	od
}

init {
	atomic {
		/* the tree 0-1, 1-2, 1-3; 2-3 and 0-3 may open (each would close a cycle) */
		cand[L(0, 1)] = 1; cand[L(1, 0)] = 1; open[L(0, 1)] = 1; open[L(1, 0)] = 1;
		cand[L(1, 2)] = 1; cand[L(2, 1)] = 1; open[L(1, 2)] = 1; open[L(2, 1)] = 1;
		cand[L(1, 3)] = 1; cand[L(3, 1)] = 1; open[L(1, 3)] = 1; open[L(3, 1)] = 1;
		cand[L(2, 3)] = 1; cand[L(3, 2)] = 1;
		cand[L(0, 3)] = 1; cand[L(3, 0)] = 1;
		hk = 0;
		do
		:: hk < N * N ->
			if
			:: cand[hk] -> run recv(hk % N, hk / N)
			:: else -> skip
			fi;
			hk++
		:: else -> break
		od;
		hk = 0;
		ready = true
	}
}
