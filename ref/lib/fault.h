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
	/* The other readings of the points issue 12 resolved, one group each: */             \
	/* A: validation order, links, TLS */                                           \
	/* B: flooding and routing */                                                   \
	/* C1: the tree */                                                              \
	X(parents_in_parallel, "TREE-12")   /* tree.c  try_join */                            \
	X(wait_between_addresses, "TREE-13") /* tree.c tree_link_closed */                    \
	X(rejoin_at_once, "TREE-14")        /* tree.c  parent_was_stable */                   \
	X(wait_after_any_loss, "TREE-14")   /* tree.c  parent_lost */                         \
	X(backoff_never_reset, "TREE-14")   /* tree.c  settle_delay */                        \
	X(loop_rejoin_at_once, "TREE-14")   /* tree.c  tree_path_received */                  \
	X(client_refuses_while_joining, "TREE-15") /* tree.c tree_accepts_children */        \
	X(client_keeps_pending_children, "TREE-16") /* tree.c accepted_to_close */           \
	X(serve_full_path, "TREE-17")       /* hello.c server_checks */                       \
	X(full_path_violation, "TREE-18")   /* hello.c client_checks */                       \
	X(path_any_sender, "TREE-19")       /* tree.c  tree_path_received */                  \
	X(unknown_peer_simultaneous, "TREE-20") /* hello.c server_checks */                  \
	/* C2: keep-alive and the map */                                                \
	/* D: data and elections */                                                     \
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

/* The fault IB_FAULT names (read once): none when unset or empty. An unknown name prints an
 * error and exits with status 2, so that a typo cannot pass for a fault the suite caught;
 * IB_FAULT=list prints every fault and its requirement, and exits 0. */
enum ib_fault ib_fault_from_env(void);

#else

#define IB_FAULT(obj, name) 0

#endif

#endif
