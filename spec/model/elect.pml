/*
 * elect.pml: the version election of interbot v1 (spec sections 13 and 14): a
 * requester R (node 0) runs E elections of one key, one after the other; holders 1 and
 * 2 are honest; holder 3 lies (it offers a version one above the one it holds, and
 * transfers what it holds: a member can do that, since OFFER is not signed by the
 * writer). Newer PUBLISH frames of the key reach every node at any moment.
 *
 * Modelled: QUERY to every holder; OFFER from holders that hold the key [ELECT-1];
 * the window, closed by a timer at any moment [ELECT-2], one offer per holder
 * [ELECT-12], offers after the window or of another election ignored [ELECT-7],
 * [ELECT-13]; the ranking (newest first, then first arrived) [ELECT-2], [ELECT-11];
 * R's own item against the best offer [ELECT-9]; SELECT to the chosen holder only
 * [ELECT-3]; TRANSFER of what the holder holds at that moment [ELECT-4]; its checks
 * [ELECT-5], [ELECT-14]; the wait for it, ended by a timer at any moment, and the next
 * holder [ELECT-6]; applying it as a PUBLISH [DATA-2], [ELECT-8].
 * Abstracted away: signatures (a TRANSFER's frame is the writer's: a holder can send an
 * old frame or none, not a forged one, [ELECT-5]); keys (one key: elections of two keys
 * share nothing); the (version, writer) pair is one number, its rank in the order of
 * [DATA-1] and [ELECT-11] (0: no item), since every rule only compares pairs; the seq
 * tie-break of [DATA-1] (two frames with one pair come only from a writer that lost its
 * store); routing: each holder's frames reach R on a FIFO channel of their own (a
 * directed frame follows one route, [FLOOD-5], [FLOOD-8]); timers: every wait may end
 * at any moment, so a slow holder and a dead one are the same.
 *
 * Properties (checked by `make model`):
 *  - R's item never gets older [DATA-2] (an assertion at each change);
 *  - an election never ends older than the newest version offered by a live honest
 *    holder: for each honest holder whose offer R counted, and whose TRANSFER R did not
 *    give up waiting for, R's item at the end is that offer or newer;
 *  - every election ends, and no invalid end state.
 * Planted bugs:
 *  - PLANTED_FIRST_OFFER: R selects the first offer that arrived, without comparing
 *    versions ([ELECT-2]);
 *  - PLANTED_NO_OFFER_CHECK: R applies a TRANSFER without checking that it is not older
 *    than the offer, and ends ([ELECT-5]);
 *  - PLANTED_OVERWRITE: R stores a transferred frame in place of its item without
 *    comparing them ([DATA-2], [ELECT-8]).
 */

#ifndef E
#define E 2           /* elections R runs */
#endif
#ifndef PUBS
#define PUBS 1        /* newer PUBLISH frames of the key during the run */
#endif
#define H 4           /* nodes: R = 0, holders 1 .. 3 */
#define LIAR 3

mtype = { QUERY, SELECT, OFFER, TRANSFER };

/* R -> holder h and holder h -> R: (type, query_id, rank). Each election puts at most
 * one QUERY and one SELECT on each, and one OFFER and one TRANSFER back. */
chan toh[H] = [2 * E] of { mtype, byte, byte };
chan tor[H] = [2 * E] of { mtype, byte, byte };

byte item[H];                 /* the rank of the item each node holds, 0: none */
byte latest;                  /* the newest rank published so far */
byte pubs = PUBS;
byte offer[H];                /* the offer R counted from each holder in this election */
byte ord[H];                  /* its arrival order (1 = first) */
bool failed[H];               /* [ELECT-6] skipped for the rest of the election */
bool gaveup[H];               /* R stopped waiting for its TRANSFER (a timer) */
bool ready;

hidden byte hh;
hidden byte hq;
hidden byte hv;
hidden mtype ht;

/* [DATA-2] a node applies a frame iff it is newer than the item it holds. */
inline apply(i, v) {
	if
	:: v > item[i] -> item[i] = v
	:: else -> skip
	fi
}

/* A holder: answers QUERY with OFFER [ELECT-1] and SELECT with TRANSFER [ELECT-4]. */
proctype holder(byte h)
{
end:
	do
	:: atomic {
		toh[h]?ht, hq, hv ->
		if
		:: ht == QUERY && item[h] != 0 ->
			/* [ELECT-1] the version and writer of the item it holds; the liar
			 * claims one above */
			tor[h]!OFFER, hq, item[h] + (h == LIAR)
		:: ht == QUERY && item[h] == 0 ->
			skip    /* [ELECT-1] a node that does not hold the key does not answer */
		:: ht == SELECT ->
			/* [ELECT-4] what it holds at this moment, whatever its version (0: empty) */
			tor[h]!TRANSFER, hq, item[h]
		:: else -> assert(false)
		fi;
		ht = 0; hq = 0; hv = 0
	}
	od
}

/* Newer PUBLISH frames: one is sent, and reaches each node at its own moment. */
active proctype publish()
{
end:
	do
	:: atomic { ready && pubs > 0 -> pubs--; latest++ }
	:: atomic {
		ready && item[0] < latest ->
		/* [DATA-2], [DATA-7]: R applies it, whatever an election is doing (a newer
		 * item that reaches R during an election stays, [ELECT-10]) */
		hv = item[0];
		apply(0, latest);
		assert(item[0] >= hv);
		hv = 0
	}
	:: atomic { ready && item[1] < latest -> apply(1, latest) }
	:: atomic { ready && item[2] < latest -> apply(2, latest) }
	:: atomic { ready && item[3] < latest -> apply(3, latest) }
	od
}

/* hh = the best offer left ([ELECT-2], [ELECT-11]): the newest, then the first arrived;
 * 0 when none is left. */
inline best() {
	hh = 0;
	hq = 1;
	do
	:: hq < H ->
		if
		:: offer[hq] != 0 && !failed[hq] &&
#ifdef PLANTED_FIRST_OFFER
		   (hh == 0 || ord[hq] < ord[hh]) ->
#else
		   (hh == 0 || offer[hq] > offer[hh] || (offer[hq] == offer[hh] && ord[hq] < ord[hh])) ->
#endif
			hh = hq
		:: else -> skip
		fi;
		hq++
	:: else -> break
	od;
	hq = 0
}

/* A frame arriving for R while it waits: only OFFER of this election, in the window,
 * first of its holder counts [ELECT-12], [ELECT-13], [ELECT-7]. */
#define RECV_OFFERS(h) \
	:: atomic { \
		tor[h]?ht, hq, hv -> \
		if \
		:: ht == OFFER && hq == e && wopen && offer[h] == 0 -> \
			nord++; offer[h] = hv; ord[h] = nord \
		:: else -> skip     /* late_offer, late_transfer */ \
		fi; \
		ht = 0; hq = 0; hv = 0 \
	}

active proctype requester()
{
	byte e;                   /* the election running, its query_id */
	byte nord;                /* offers counted so far */
	byte sel;                 /* the holder R selected */
	byte selv;                /* the version it offered */
	bool wopen;
	bool done;

	ready;
	e = 1;
	do
	:: e <= E ->
		atomic {
			hh = 1;
			do
			:: hh < H ->
				offer[hh] = 0; ord[hh] = 0; failed[hh] = false; gaveup[hh] = false;
				/* step 1: QUERY, flooded; each holder gets it on its route */
				toh[hh]!QUERY, e, 0;
				hh++
			:: else -> break
			od;
			hh = 0;
			nord = 0;
			wopen = true
		}
		/* step 3: collect offers while the window is open [ELECT-2] */
		do
		RECV_OFFERS(1)
		RECV_OFFERS(2)
		RECV_OFFERS(3)
		:: atomic { wopen = false; break }     /* the window's timer, at any moment */
		od;
		/* steps 4 to 7 */
		done = false;
		do
		:: done -> break
		:: else ->
			atomic {
				best();
				if
				:: hh == 0 -> done = true   /* step 8: no offer left: R's own item */
				:: hh != 0 && item[0] >= offer[hh] ->
					done = true          /* [ELECT-9]: R's own item is as new */
				:: else ->
					/* [ELECT-3] SELECT to the chosen holder only */
					sel = hh;
					selv = offer[hh];
					toh[sel]!SELECT, e, selv
				fi;
				hh = 0
			}
			if
			:: done -> skip
			:: else ->
				do
				:: atomic {
					tor[sel]?ht, hq, hv ->
					if
					:: ht == TRANSFER && hq == e ->
						/* [ELECT-14] the selected holder's, this election's.
						 * [ELECT-5]: a frame (not empty), not older than the offer. */
#ifdef PLANTED_NO_OFFER_CHECK
						if
						:: hv != 0 ->
#else
						if
						:: hv != 0 && hv >= selv ->
#endif
							hq = item[0];
#ifdef PLANTED_OVERWRITE
							item[0] = hv;
#else
							apply(0, hv);       /* [DATA-2], [ELECT-8] */
#endif
							assert(item[0] >= hq);   /* R's item never gets older */
							done = true
						:: else ->
							failed[sel] = true      /* [ELECT-6] holder_failed */
						fi;
						ht = 0; hq = 0; hv = 0;
						break
					:: else ->
						ht = 0; hq = 0; hv = 0   /* late_offer, late_transfer */
					fi
				}
				:: atomic {
					/* [ELECT-6] no TRANSFER in time: the timer, at any moment */
					failed[sel] = true;
					gaveup[sel] = true;
					break
				}
				/* frames of other holders wait in their channels meanwhile; those
				 * of this election are late once read ([ELECT-13], [ELECT-14]) */
				od
			fi
		od;
		/* The election ended with R's item ([ELECT-10]): never older than the offer of
		 * a live honest holder. */
		assert(offer[1] == 0 || gaveup[1] || item[0] >= offer[1]);
		assert(offer[2] == 0 || gaveup[2] || item[0] >= offer[2]);
		/* What the election kept is dead from here on: cleared, so that states that
		 * differ only in it are one state for pan. */
		atomic {
			hh = 1;
			do
			:: hh < H ->
				offer[hh] = 0; ord[hh] = 0; failed[hh] = false; gaveup[hh] = false;
				hh++
			:: else -> break
			od;
			hh = 0;
			nord = 0;
			wopen = false;
			done = false;
			sel = 0;
			selv = 0;
			e++
		}
	:: else -> break
	od
}

init {
	atomic {
		/* every start: each node holds no item, rank 1 or rank 2 */
		hh = 0;
		do
		:: hh < H ->
			if
			:: item[hh] = 0
			:: item[hh] = 1
			:: item[hh] = 2
			fi;
			if
			:: item[hh] > latest -> latest = item[hh]
			:: else -> skip
			fi;
			hh++
		:: else -> break
		od;
		/* Holders 1 and 2 run the same code and play the same part in every rule and
		 * property, so a start and its mirror (their items swapped) have mirrored runs:
		 * a start with item[1] > item[2] is explored as its mirror (6 of 9 pairs). */
		if
		:: item[1] > item[2] -> hv = item[1]; item[1] = item[2]; item[2] = hv; hv = 0
		:: else -> skip
		fi;
		hh = 0;
		run holder(1);
		run holder(2);
		run holder(3);
		ready = true
	}
}
