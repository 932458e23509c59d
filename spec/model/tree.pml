/*
 * tree.pml: the tree of interbot v1 (spec sections 8, 10, 11), for 3 to 5 nodes.
 *
 * Modelled: connections (client c, server s) as two FIFO channels that can be cut;
 * HELLO with the server checks [TREE-4] and the client checks [TREE-5]; PATH down the
 * subtree [TREE-6], [TREE-7], [TREE-24]; simultaneous links [TREE-9]; rounds over the
 * configured parents in order [TREE-1], [TREE-12], [TREE-13]; keep-alive loss as a cut
 * [KA-4], [KA-5]; the loss of a parent [TREE-10].
 * Abstracted away: TLS, signatures, time (the waits of [TREE-13], [TREE-14] and the
 * timers of [LINK-12] are "later": any interleaving), `mode = client` ([TREE-3],
 * [TREE-16]: every node here is a server), flooding and data (flood.pml, elect.pml).
 * README.md says why each abstraction keeps the properties checked here.
 *
 * Properties (checked by `make model`):
 *  - no persistent cycle: whenever nothing is in flight (no frame in any channel and no
 *    cut that an end has not seen yet), the parent relation has no cycle;
 *  - consistent paths: then too, every node's path is its parent's path and itself;
 *  - well-formed paths: a node never takes a path that names a node twice [TREE-22];
 *  - no invalid end state (pan's default check);
 *  - ltl `converge`: with weak fairness, once the cuts are spent, eventually always one
 *    tree (one root, no cycle). In CFG 1 every node but node 0 lists node 0 last.
 * Planted bugs (each must give a counterexample):
 *  - PLANTED_PARENT_FROM_PATH: the handshake's path check is broken: the server does
 *    not refuse a client that is in its own path ([TREE-4] step 3) and the client does
 *    not refuse a server whose path holds it ([TREE-5]): a node accepts a parent from
 *    its own subtree. (Either check alone is enough: the server's answers with the
 *    path the client checks, so a bug in one of them is masked by the other.)
 *  - PLANTED_NO_PATH_ON_JOIN: a node that joins does not send PATH to its children
 *    ([TREE-6], [TREE-23] step 2 omitted).
 */

#ifndef N
#define N 3
#endif
#ifndef CUTS
#define CUTS 1
#endif
/* CFG 1: node 0 has no parents; 1 lists (2, 0); 2 lists (1, 0); 3 lists (1, 0);
 * 4 lists (3, 0): node 0 is the root the tree converges to.
 * CFG 2: a ring of preferences, node i lists (i+1 mod N) alone: N roots can join each
 * other at the same moment and make a cycle, which PATH must break ([TREE-7]). */
#ifndef CFG
#define CFG 1
#endif

#define NONE N
/* The spec's bound on a path is 255 ids ([TREE-7], [TREE-17], [TREE-18]). A path of a
 * well-formed tree of N nodes holds at most N ids, so any bound above N behaves as 255
 * does; MAXP is the most that the path encoding below holds. */
#define MAXP 9
#define NP 2          /* entries of each node's `parents` list */
#ifndef DCAP
#define DCAP 3        /* frames a server queues toward a child ([LINK-10], below) */
#endif

/* Client states of a connection (c, s). */
#define C_NONE 0
#define C_HWAIT 1     /* HELLO sent, not answered: the attempt in progress [TREE-20] */
#define C_OPEN 2      /* the server's HELLO passed the client checks: s is c's parent */

mtype = { HELLO, PATH, ERR };

/* A path is an int: bits 0-3 its length, then 3 bits per id, root first. */
#define PLEN(p)        ((p) & 15)
#define PAT(p, k)      (((p) >> (4 + 3 * (k))) & 7)
#define PAPPEND(p, x)  ((p) + ((x) << (4 + 3 * PLEN(p))) + 1)
#define PONE(x)        (((x) << 4) + 1)
#define PLAST(p)       PAT(p, PLEN(p) - 1)

/* Connection (c, s) is index c*N+s: up carries c -> s, down carries s -> c. */
#define K(c, s) ((c) * N + (s))
chan up[N * N] = [2] of { mtype, int };
chan down[N * N] = [DCAP] of { mtype, int };

byte par[N + 1];              /* par[i]: i's parent (child's view), NONE for a root */
int path[N];                  /* i's path, ending with i */
byte cst[N * N];              /* client state of each connection */
bool sst[N * N];              /* the server holds the connection as an open child link */
byte lost[N * N];             /* a cut that an end has not handled yet: bit 0 client, bit 1 server */
byte trying[N];               /* the server of i's attempt in progress, or NONE */
byte idx[N];                  /* i's place in its `parents` list (the round, [TREE-13]) */
byte plist[N * NP];           /* configured parents, NONE where unused */
byte cuts = CUTS;             /* cuts left: links stop changing when they are spent */
byte inflight = 1;            /* frames in channels + ends with a cut to handle (init: 1) */

hidden byte hk;
hidden byte hj;
hidden byte hb;
hidden int hp;
hidden mtype ht;

#define QUIET (inflight == 0)

/* A node is on a cycle iff following par N times does not reach NONE (par[NONE] = NONE). */
#if N == 3
#define PN(x) par[par[par[x]]]
#define CYCLE (PN(0) != NONE || PN(1) != NONE || PN(2) != NONE)
#define CONS(i) (par[i] == NONE || path[i] == PAPPEND(path[par[i]], i))
#define CONSISTENT (CONS(0) && CONS(1) && CONS(2))
#define ROOTS ((par[0] == NONE) + (par[1] == NONE) + (par[2] == NONE))
#elif N == 4
#define PN(x) par[par[par[par[x]]]]
#define CYCLE (PN(0) != NONE || PN(1) != NONE || PN(2) != NONE || PN(3) != NONE)
#define CONS(i) (par[i] == NONE || path[i] == PAPPEND(path[par[i]], i))
#define CONSISTENT (CONS(0) && CONS(1) && CONS(2) && CONS(3))
#define ROOTS ((par[0] == NONE) + (par[1] == NONE) + (par[2] == NONE) + (par[3] == NONE))
#elif N == 5
#define PN(x) par[par[par[par[par[x]]]]]
#define CYCLE (PN(0) != NONE || PN(1) != NONE || PN(2) != NONE || PN(3) != NONE || PN(4) != NONE)
#define CONS(i) (par[i] == NONE || path[i] == PAPPEND(path[par[i]], i))
#define CONSISTENT (CONS(0) && CONS(1) && CONS(2) && CONS(3) && CONS(4))
#define ROOTS ((par[0] == NONE) + (par[1] == NONE) + (par[2] == NONE) + (par[3] == NONE) + \
               (par[4] == NONE))
#else
#error "N must be 3, 4 or 5"
#endif
/* One tree: one root, no cycle (then every other node's parents lead to that root). */
#define ONETREE (ROOTS == 1 && !CYCLE)

ltl converge { <>[] ONETREE }

/* hb = (x is in p) */
inline contains(p, x) {
	hb = false;
	hk = 0;
	do
	:: hk < PLEN(p) -> hb = hb || (PAT(p, hk) == x); hk++
	:: else -> break
	od;
	hk = 0
}

/* hb = (some id is twice in p) */
inline hasdup(p) {
	hb = false;
	hk = 0;
	do
	:: hk < PLEN(p) ->
		hj = hk + 1;
		do
		:: hj < PLEN(p) -> hb = hb || (PAT(p, hk) == PAT(p, hj)); hj++
		:: else -> break
		od;
		hk++
	:: else -> break
	od;
	hk = 0;
	hj = 0
}

/* [TREE-22] a node never takes a path that names a node twice. */
inline takepath(i, p) {
	hasdup(p);
	assert(!hb);
	assert(PLEN(p) <= MAXP && PLAST(p) == i);
	path[i] = p
}

/* Frames sent on a connection whose end has a cut to handle are lost with it. */
inline sendup(k, t, p) {
	if
	:: lost[k] & 1 -> skip
	:: else -> assert(nfull(up[k])); up[k]!t, p; inflight++
	fi
}

/* [LINK-2], [LINK-10]: a server whose queue toward a child is full closes the link
 * (queue_overflow). The channel's capacity is that queue's bound, a lower one than a
 * real node's (which [LINK-10] allows): it keeps the state space finite. The close is
 * a cut that the server makes: what is in flight is lost, the child sees it later. */
inline senddown(k, t, p) {
	if
	:: lost[k] & 2 -> skip
	:: else ->
		if
		:: nfull(down[k]) -> down[k]!t, p; inflight++
		:: full(down[k]) ->       /* not `else`: spin rejects it beside a channel test */
			inflight = inflight - len(down[k]);
			do
			:: down[k]?_, _
			:: empty(down[k]) -> break
			od;
			sst[k] = false;
			if
			:: cst[k] != C_NONE -> lost[k] = 1; inflight++
			:: else -> skip     /* the client had closed: its ERR is on its way */
			fi
		fi
	fi
}

/* [TREE-6] a node whose path changed sends PATH with it to each of its children. */
inline pathtochildren(i) {
	hj = 0;
	do
	:: hj < N ->
		if
		:: sst[K(hj, i)] -> senddown(K(hj, i), PATH, path[i])
		:: else -> skip
		fi;
		hj++
	:: else -> break
	od;
	hj = 0
}

/* [TREE-10] a node that loses its parent link becomes a root at once, sends PATH to
 * its children, and starts a new round from its first parent ([TREE-14]: when is time,
 * abstracted). */
inline loseparent(c) {
	par[c] = NONE;
	takepath(c, PONE(c));
	pathtochildren(c);
	idx[c] = 0
}

/* An attempt failed [TREE-12]: the next address of the round; after the last, a new
 * round (after the wait of [TREE-13], which is abstracted). */
inline attemptfailed(c) {
	trying[c] = NONE;
	idx[c] = (idx[c] + 1) % NP;
	if
	:: plist[c * NP + idx[c]] == NONE -> idx[c] = 0
	:: else -> skip
	fi
}

#define IDLE(c, s) (cst[K(c, s)] == C_NONE && !sst[K(c, s)] && lost[K(c, s)] == 0 && \
                    empty(up[K(c, s)]) && empty(down[K(c, s)]))
#define NEXTP(i) plist[(i) * NP + idx[i]]

/* One node's rounds over its parents: [TREE-1], [TREE-2], [TREE-11], [TREE-12],
 * [TREE-13], [TREE-21]. A connection to a peer that still holds the previous connection
 * of the pair would be refused with duplicate_identity ([TREE-4] step 4), a failed
 * attempt: here the attempt waits until the peer has closed it. */
proctype rounds(byte i)
{
end:
	do
	:: atomic {
		par[i] == NONE && trying[i] == NONE && NEXTP(i) != NONE &&
		IDLE(i, NEXTP(i)) ->
		hk = NEXTP(i);
		trying[i] = hk;
		cst[K(i, hk)] = C_HWAIT;
		/* [TREE-21] a client's HELLO holds its own id alone. [LINK-1] */
		sendup(K(i, hk), HELLO, PONE(i));
		hk = 0
	}
	od
}

/* The server end s of connection (c, s). */
proctype server(byte c; byte s)
{
end:
	do
	:: atomic {
		up[K(c, s)]?ht, hp ->
		inflight--;
		if
		:: ht == HELLO ->
			/* [TREE-4] step 1, [TREE-21]: honest clients send their own id alone. */
			assert(PLEN(hp) == 1 && PAT(hp, 0) == c);
			/* step 2: every node is a server here ([TREE-3]). step 3: */
			contains(path[s], c);
#ifdef PLANTED_PARENT_FROM_PATH
			hb = false;
#endif
			if
			:: hb || PLEN(path[s]) >= MAXP ->
				/* [TREE-4] step 3, [TREE-8], [TREE-17]: loop_detected */
				senddown(K(c, s), ERR, 0)
			:: else ->
				if
				:: trying[s] == c && c > s ->
					/* [TREE-9], [TREE-20]: s's own HELLO to c is unanswered; the
					 * link whose client has the smaller id is kept: s's. */
					senddown(K(c, s), ERR, 0)
				:: else ->
					if
					:: trying[s] == c ->
						/* [TREE-9]: c's link is kept; s closes its own attempt
						 * with duplicate_identity, a failed attempt [TREE-12]. */
						cst[K(s, c)] = C_NONE;
						sendup(K(s, c), ERR, 0);
						attemptfailed(s)
					:: else -> skip
					fi;
					/* accepted: s answers HELLO with its path [TREE-4], [LINK-1] */
					sst[K(c, s)] = true;
					senddown(K(c, s), HELLO, path[s])
				fi
			fi
		:: ht == ERR ->
			/* [LINK-4] the client closed (a refused HELLO, a loop, [TREE-9]). */
			sst[K(c, s)] = false
		:: else ->
			/* [LINK-17] only the parent sends PATH: honest children never do. */
			assert(false)
		fi;
		ht = 0;
		hp = 0
	}
	:: atomic {
		/* the server's end sees the cut: the child is gone */
		lost[K(c, s)] & 2 ->
		lost[K(c, s)] = lost[K(c, s)] & 1;
		inflight--;
		sst[K(c, s)] = false
	}
	od
}

/* The client end c of connection (c, s), and the cuts of that connection. */
proctype client(byte c; byte s)
{
end:
	do
	:: atomic {
		down[K(c, s)]?ht, hp ->
		inflight--;
		if
		:: cst[K(c, s)] == C_NONE ->
			skip    /* c closed this connection: what still arrives is discarded [LINK-4] */
		:: cst[K(c, s)] == C_HWAIT && ht == HELLO ->
			/* [TREE-5] the client checks, in order. */
			assert(PLEN(hp) >= 1 && PLAST(hp) == s);      /* [TREE-19] honest server */
			contains(hp, c);
#ifdef PLANTED_PARENT_FROM_PATH
			hb = false;
#endif
			if
			:: !hb -> hasdup(hp)       /* [TREE-22] */
			:: else -> skip
			fi;
			if
			:: hb || PLEN(hp) >= MAXP ->
				/* [TREE-5], [TREE-18], [TREE-22]: loop_detected, a failed attempt */
				cst[K(c, s)] = C_NONE;
				sendup(K(c, s), ERR, 0);
				attemptfailed(c)
			:: else ->
				if
				:: sst[K(s, c)] ->
					/* [TREE-5]: the server is one of c's children: duplicate_identity */
					cst[K(c, s)] = C_NONE;
					sendup(K(c, s), ERR, 0);
					attemptfailed(c)
				:: else ->
					/* [TREE-23] c joins: its path is the server's and itself, and it
					 * sends PATH to its children before anything else. */
					cst[K(c, s)] = C_OPEN;
					par[c] = s;
					trying[c] = NONE;
					takepath(c, PAPPEND(hp, c));
#ifndef PLANTED_NO_PATH_ON_JOIN
					pathtochildren(c)
#endif
				fi
			fi
		:: cst[K(c, s)] == C_HWAIT && ht == ERR ->
			/* refused ([TREE-4]) or closed by the server: a failed attempt [TREE-12] */
			cst[K(c, s)] = C_NONE;
			attemptfailed(c)
		:: cst[K(c, s)] == C_OPEN && ht == PATH ->
			assert(PLAST(hp) == s);   /* [TREE-19]: honest parents end with themselves */
			contains(hp, c);
			if
			:: !hb -> hasdup(hp)
			:: else -> skip
			fi;
			if
			:: hb || PLEN(hp) >= MAXP ->
				/* [TREE-7], [TREE-22]: a loop. c closes its parent link with
				 * loop_detected and becomes a root [TREE-10]. */
				cst[K(c, s)] = C_NONE;
				sendup(K(c, s), ERR, 0);
				loseparent(c)
			:: else ->
				hp = PAPPEND(hp, c);
				if
				:: hp != path[c] ->
					/* [TREE-7], [TREE-6]: a new path, passed on */
					takepath(c, hp);
					pathtochildren(c)
				:: else ->
					skip     /* [TREE-24]: the same path is no change */
				fi
			fi
		:: cst[K(c, s)] == C_OPEN && ht == ERR ->
			/* [LINK-4] the parent closed the link: c lost its parent [TREE-10] */
			cst[K(c, s)] = C_NONE;
			loseparent(c)
		:: else ->
			assert(false)    /* nothing else reaches a client end (a modelling error) */
		fi;
		ht = 0;
		hp = 0
	}
	:: atomic {
		/* the client's end sees the cut */
		lost[K(c, s)] & 1 ->
		lost[K(c, s)] = lost[K(c, s)] & 2;
		inflight--;
		if
		:: cst[K(c, s)] == C_OPEN ->
			cst[K(c, s)] = C_NONE;
			loseparent(c)          /* [TREE-10], [KA-5] */
		:: cst[K(c, s)] == C_HWAIT ->
			cst[K(c, s)] = C_NONE;
			attemptfailed(c)       /* [TREE-12] */
		:: else -> skip
		fi
	}
	:: atomic {
		/* A cut: TCP lost, or keep-alive lost, which each end handles as a close:
		 * [KA-4] the server closes, [KA-5] the client closes. What is in flight is
		 * lost; each end sees the loss later, on its own. */
		cuts > 0 && lost[K(c, s)] == 0 &&
		(cst[K(c, s)] != C_NONE || sst[K(c, s)]) ->
		cuts--;
		inflight = inflight - len(up[K(c, s)]) - len(down[K(c, s)]);
		do
		:: up[K(c, s)]?_, _
		:: down[K(c, s)]?_, _
		:: empty(up[K(c, s)]) && empty(down[K(c, s)]) -> break
		od;
		if
		:: cst[K(c, s)] != C_NONE -> lost[K(c, s)] = 1; inflight++
		:: else -> skip
		fi;
		if
		:: sst[K(c, s)] -> lost[K(c, s)] = lost[K(c, s)] | 2; inflight++
		:: else -> skip
		fi
	}
	od
}

/* The properties checked in every state where nothing is in flight. */
active proctype monitor()
{
end:
	do
	:: QUIET && CYCLE -> assert(!(QUIET && CYCLE))            /* no persistent cycle */
	:: QUIET && !CONSISTENT -> assert(!(QUIET && !CONSISTENT)) /* [TREE-6], [TREE-7] */
	od
}

init {
	atomic {
		hk = 0;
		do
		:: hk < N ->
			par[hk] = NONE;
			path[hk] = PONE(hk);
			trying[hk] = NONE;
			plist[hk * NP] = NONE;
			plist[hk * NP + 1] = NONE;
			hk++
		:: else -> break
		od;
		par[NONE] = NONE;
#if CFG == 1
		plist[1 * NP] = 2; plist[1 * NP + 1] = 0;
		plist[2 * NP] = 1; plist[2 * NP + 1] = 0;
#if N >= 4
		plist[3 * NP] = 1; plist[3 * NP + 1] = 0;
#endif
#if N >= 5
		plist[4 * NP] = 3; plist[4 * NP + 1] = 0;
#endif
#else
		hk = 0;
		do
		:: hk < N -> plist[hk * NP] = (hk + 1) % N; hk++
		:: else -> break
		od;
#endif
		hk = 0;
		do
		:: hk < N ->
			run rounds(hk);
			hj = 0;
			do
			:: hj < N ->
				if
				:: hj != hk -> run server(hk, hj); run client(hk, hj)
				:: else -> skip
				fi;
				hj++
			:: else -> break
			od;
			hk++
		:: else -> break
		od;
		hk = 0;
		hj = 0;
		inflight = 0
	}
}
