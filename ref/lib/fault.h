/*
 * fault.h - deliberate faults, for the self-test of the conformance suite
 * (`make conformance-selftest`): each one breaks one requirement at the exact place the
 * reference node honours it, so that the suite can be shown to catch it.
 *
 * Only a build with -DIB_FAULTS (make FAULTS=1, in build/faults) has them. Elsewhere
 * IB_FAULT(obj, name) is the constant 0, its arguments are never compiled, and fault.c is not
 * built: the production node holds no fault code and no fault symbol.
 *
 * In a fault build one variant runs at a time, chosen by the environment variable IB_FAULT
 * (its name in lowercase-hyphen form, e.g. IB_FAULT=skip-signature-check). Only a node opened
 * from a directory (ib_node_open: the IUT of interbot-conform --self, `interbot run`) takes
 * it; the reference nodes and tester peers that share the process stay correct.
 */
#ifndef IB_FAULT_H
#define IB_FAULT_H

#include <stdbool.h>

/* X(name, requirement broken). The name is written with '_' here, with '-' in IB_FAULT. */
#define IB_FAULT_LIST(X)                                                                      \
	X(skip_signature_check, "FRAME-6")  /* link.c  on_frame */                            \
	X(no_too_big_check, "FRAME-4")      /* link.c  link_new */                            \
	X(accept_stale_commands, "CMD-6")   /* link.c  on_frame */                            \
	X(forward_hop_local, "FLOOD-6")     /* link.c  on_frame */                            \
	X(hop_local_any_origin, "LINK-3")   /* link.c  on_hop_message */                      \
	X(second_hello_accepted, "LINK-6")  /* link.c  on_hop_message */                      \
	X(echo_to_sender, "FLOOD-2")        /* flood.c send_all */                            \
	X(forget_replay_window, "FLOOD-3")  /* flood.c flood_receive */                       \
	X(skip_loop_check, "TREE-4")        /* hello.c server_checks */                       \
	X(no_ping, "KA-1")                  /* keepalive.c ping_due */                        \
	X(wrong_pong_nonce, "KA-3")         /* keepalive.c ka_ping_received */                \
	X(ignore_missing_pong, "KA-4")      /* keepalive.c pong_overdue */                    \
	X(ignore_parent_silence, "KA-5")    /* keepalive.c parent_silent */                   \
	X(accept_tls12, "TLS-1")            /* tls.c   ib_tls_new, handshake */               \
	X(no_alpn_check, "TLS-2")           /* tls.c   check_client_hello, select_alpn, handshake */ \
	X(accept_unknown_keys, "TLS-4")     /* tls.c   pin_peer, handshake; link.c on_tls_open */ \
	X(revoke_keeps_links, "MEMBER-2")   /* node.c  ib_node_set_keyring */                 \
	X(ignore_publish, "DATA-2")         /* data.c  data_publish_received */               \
	X(elect_stale_version, "ELECT-2")   /* election.c best_offer */                       \
	X(accept_stale_transfer, "ELECT-5") /* election.c elect_transfer_received */          \
	X(run_denied_commands, "CMD-2")     /* command.c allowed */                           \
	X(crash_on_reserved_type, "ERR-2")  /* node.c  node_count */                          \
	X(revoke_skips_hello_wait, "MEMBER-5") /* node.c ib_node_set_keyring */               \
	X(window_wraps, "FLOOD-14")         /* flood.c fault_window_wraps */                  \
	X(window_shift_by_64, "FLOOD-14")   /* flood.c window_accept */                       \
	/* The other readings of the points issue 12 resolved, one group each: */             \
	/* A: validation order, links, TLS */                                           \
	X(accept_undirected, "MSG-11")      /* link.c  on_frame */                            \
	X(link_rules_first, "MSG-12")       /* link.c  on_frame */                            \
	X(hello_wait_drops, "LINK-9")       /* link.c  on_frame_hello_wait */                 \
	X(hello_wait_version_pv, "LINK-9")  /* link.c  on_frame_hello_wait */                 \
	X(queue_bound_peer, "LINK-10")      /* link.c  queue_limit */                         \
	X(client_alpn_late, "TLS-8")        /* tls.c   pin_peer */                            \
	X(optional_client_cert, "TLS-8")    /* tls.c   ib_tls_new */                          \
	X(late_pinning, "TLS-8")            /* tls.c   pin_peer */                            \
	X(not_authorized_error, "TLS-8")    /* tls.c   pin_peer, handshake; link.c on_tls_open */ \
	X(close_at_once, "LINK-11")         /* link.c  linger_start */                        \
	X(no_connect_timeout, "LINK-12")    /* link.c  link_connect, on_connected */          \
	X(hello_timer_from_connect, "LINK-12") /* link.c on_tls_open */                       \
	X(client_no_hello_timer, "LINK-12") /* link.c  on_tls_open */                         \
	X(shutdown_skips_hello_wait, "LINK-13") /* node.c stop_code */                       \
	X(shutdown_announces, "LINK-13")    /* node.c  ib_node_stop */                        \
	X(error_before_checks, "LINK-4")    /* link.c  on_frame */                            \
	X(drop_undirected_with_dest, "MSG-13") /* link.c on_frame */                          \
	X(accept_small_order_r, "FRAME-9")  /* link.c  on_frame */                            \
	X(accept_weak_keys, "FRAME-10")     /* keyring.c refused_key; node.c reload */        \
	X(transfer_lengths_unchecked, "MSG-7") /* message.c check_transfer_frame */           \
	/* B: flooding and routing */                                                   \
	X(route_after_delivery, "FLOOD-9")        /* flood.c flood_receive */              \
	X(stale_command_moves_window, "FLOOD-9")  /* flood.c flood_receive */              \
	X(route_from_stale_command, "FLOOD-10")   /* flood.c flood_receive */              \
	X(route_from_broadcast_only, "FLOOD-10")  /* flood.c flood_receive */              \
	X(route_from_hop_local, "FLOOD-10")       /* link.c  on_frame */                   \
	X(route_from_transfer, "FLOOD-10")        /* flood.c fault_route_from_transfer */  \
	X(route_follows_last_arrival, "FLOOD-11") /* flood.c flood_receive */              \
	X(deliver_passing_frames, "FLOOD-12")     /* flood.c by_destination */             \
	X(too_big_for_peer_closes, "FLOOD-13")    /* link.c  link_send */                  \
	/* C1: the tree */                                                              \
	/* C2: keep-alive and the map */                                                \
	/* D: data and elections */                                                     \
	X(version_from_offers, "DATA-8")     /* data.c  next_version */                      \
	X(publish_at_max_bad_args, "DATA-9") /* data.c  ib_node_publish */                   \
	X(publish_fits_max_message, "DATA-10") /* data.c ib_node_publish */                  \
	X(drop_long_value, "DATA-11")        /* data.c  data_publish_received */             \
	X(keys_case_folded, "DATA-12")       /* store.c store_key_compare */                 \
	X(empty_transfer_when_older, "ELECT-4") /* election.c elect_select_received */       \
	X(own_equal_selects, "ELECT-9")      /* election.c own_as_new */                     \
	X(own_checked_once, "ELECT-9")       /* election.c own_as_new */                     \
	X(fetch_own_older_not_found, "ELECT-10") /* election.c select_next */                \
	X(rank_by_version_only, "ELECT-11")  /* election.c best_offer */                     \
	X(transfer_must_match_offer, "ELECT-11") /* election.c elect_transfer_received */    \
	X(every_offer_counts, "ELECT-12")    /* election.c offer_counts */                   \
	X(late_offers_join, "ELECT-13")      /* election.c offer_counts */                   \
	X(offer_any_key, "ELECT-13")         /* election.c offer_counts */                   \
	X(transfer_from_any_holder, "ELECT-14") /* election.c transfer_election */           \
	X(transfer_any_query_id, "ELECT-14") /* election.c transfer_election */              \
	/* E: commands, interface, identity */                                          \
	/* end */

#ifdef IB_FAULTS

#define IB_FAULT_ENUM(name, req) IB_FAULT_ID_##name,
enum ib_fault {
	IB_FAULT_ID_none = 0,
	IB_FAULT_LIST(IB_FAULT_ENUM)
	IB_FAULT__COUNT
};
#undef IB_FAULT_ENUM

/* Whether obj (anything with an `enum ib_fault fault` member: the node, the TLS context)
 * runs with this fault. */
#define IB_FAULT(obj, name) ((obj)->fault == IB_FAULT_ID_##name)

/* The store runs with the node's fault (store.c has no node to ask). */
struct ib_store;
void ib_store_set_fault(struct ib_store *s, enum ib_fault f);
/* The keyring being loaded authorizes weak keys (set around a node's reload). */
void ib_keyring_fault_weak_keys(bool allowed);
/* Messages decoded now take any TRANSFER frame (set around a node's checks of a frame). */
void ib_msg_fault_lax_transfer(bool lax);

/* The fault IB_FAULT names (read once): none when unset or empty. An unknown name prints an
 * error and exits with status 2, so that a typo cannot pass for a fault the suite caught;
 * IB_FAULT=list prints every fault and its requirement, and exits 0. */
enum ib_fault ib_fault_from_env(void);

#else

#define IB_FAULT(obj, name) 0
#define ib_keyring_fault_weak_keys(allowed) ((void)0)
#define ib_msg_fault_lax_transfer(lax) ((void)0)

#endif

#endif
