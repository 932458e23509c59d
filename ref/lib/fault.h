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
	X(no_source_bound, "LINK-15")       /* node.c  admit_pending */                       \
	X(wrong_sender_ignored, "LINK-17")  /* link.c  on_hop_message */                      \
	X(refuse_when_full, "LINK-16")      /* node.c  admit_pending */                       \
	X(evict_newest, "LINK-16")          /* node.c  admit_pending */                       \
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
	X(child_path_any_length, "TREE-21") /* hello.c hello_receive */                       \
	X(path_repeats_taken, "TREE-22")    /* tree.c  tree_path_repeats */                   \
	X(client_kicks_at_hello, "TREE-23") /* hello.c hello_send */                          \
	X(client_path_before_kick, "TREE-23") /* tree.c tree_joined */                        \
	X(redundant_path_passed_on, "TREE-24") /* tree.c tree_path_received */                \
	X(redundant_path_refused, "TREE-24") /* tree.c tree_path_received */                  \
	X(unresolved_ends_round, "TREE-25") /* tree.c  try_join */                            \
	X(first_round_waits, "TREE-13")     /* tree.c  tree_start */                          \
	X(backoff_no_jitter, "TREE-13")     /* tree.c  backoff_us */                          \
	X(stable_early, "TREE-14")          /* tree.c  parent_was_stable */                   \
	X(stable_late, "TREE-14")           /* tree.c  parent_was_stable */                   \
	X(loop_resets_delay, "TREE-14")     /* tree.c  tree_path_received */                  \
	/* C2: keep-alive and the map */                                                \
	X(ping_after_pong, "KA-7")          /* keepalive.c ka_pong_received */                \
	X(ping_when_idle, "KA-7")           /* keepalive.c ka_frame_received */               \
	X(skipped_ping_sent_late, "KA-7")   /* keepalive.c ka_pong_received */                \
	X(pong_deadline_at_interval, "KA-8") /* keepalive.c send_ping */                      \
	X(silence_not_rearmed, "KA-9")      /* keepalive.c ka_ping_received */                \
	X(silence_rearmed_by_any_frame, "KA-9") /* keepalive.c ka_frame_received */           \
	X(silence_from_connect, "KA-9")     /* keepalive.c ka_start */                        \
	X(early_ping_refused, "KA-10")      /* keepalive.c ka_ping_received */                \
	X(no_announce_while_linkless, "MAP-4") /* map.c map_announce */                       \
	X(burst_without_self, "MAP-4")      /* map.c map_burst */                             \
	X(map_keeps_last_arrived, "MAP-5")  /* map.c remember */                              \
	X(parted_keeps_entry, "MAP-6")      /* map.c parted */                                \
	X(parted_ignores_parent, "MAP-6")   /* map.c parted */                                \
	X(parted_only_child, "MAP-6")       /* map.c parted */                                \
	X(parent_lost_keeps_map, "MAP-7")   /* map.c map_keep_own_subtree */                  \
	X(map_skips_replays, "MAP-8")       /* map.c map_replayed */                          \
	X(no_announce_on_path_change, "MAP-9") /* map.c map_announce */                       \
	X(malformed_pong_closes, "KA-11")   /* keepalive.c ka_frame_dropped */                \
	X(malformed_pong_answers, "KA-11")  /* keepalive.c ka_frame_dropped */                \
	X(late_pong_accepted, "KA-8")       /* keepalive.c send_ping */                       \
	X(silence_on_grid, "KA-9")          /* keepalive.c ka_ping_received */                \
	X(late_ping_accepted, "KA-9")       /* keepalive.c arm_silence */                     \
	X(parted_only_unexpected, "MAP-11") /* map.c map_parted */                            \
	X(parted_needs_announce, "MAP-11")  /* map.c map_parted */                            \
	X(parted_for_refusals, "MAP-11")    /* map.c map_fault_link_closing */                \
	X(burst_after_traffic, "MAP-12")    /* map.c map_burst */                             \
	X(burst_holds_child, "MAP-13")      /* map.c map_burst */                             \
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
	X(revoke_keeps_items, "MEMBER-6")    /* node.c  drop_removed_writers */              \
	X(revoke_keeps_item_files, "MEMBER-6") /* store.c unpersist */                       \
	X(store_refusal_not_forwarded, "DATA-13") /* flood.c fault_store_refused */          \
	X(publish_despite_write_failure, "DATA-14") /* data.c ib_node_publish */             \
	X(fetch_answers_transfer, "ELECT-10") /* election.c elect_transfer_received */       \
	X(own_by_version_only, "ELECT-11")   /* election.c own_as_new */                     \
	X(transfer_from_skipped_holder, "ELECT-14") /* election.c fault_skipped_holder */    \
	X(transfer_checks_window, "ELECT-15") /* flood.c flood_fault_embedded */             \
	X(transfer_records_window, "ELECT-15") /* flood.c flood_fault_embedded */            \
	X(empty_transfer_when_too_big, "ELECT-16") /* election.c elect_select_received */    \
	X(elections_unbounded, "ELECT-17")  /* election.c ib_node_fetch */                   \
	/* E: commands, interface, identity */                                          \
	X(stale_bound_whole_seconds, "CMD-8") /* link.c  on_frame */                          \
	X(dedupe_cmd_id, "CMD-9")           /* command.c cmd_received */                      \
	X(args_before_name, "CMD-10")       /* command.c cmd_received */                      \
	X(args_before_unknown, "CMD-10")    /* command.c cmd_received */                      \
	X(get_bad_key_not_found, "CMD-11")  /* command.c run */                               \
	X(drop_unassigned_status, "CMD-12") /* link.c  on_frame */                            \
	X(publish_unknown, "CMD-13")        /* command.c implemented */                       \
	X(command_names_fold_case, "CMD-14") /* command.c name_is */                          \
	X(info_no_final_newline, "CMD-15")  /* command.c run_info */                          \
	X(info_role_behaviour, "CMD-16")    /* command.c run_info */                          \
	X(ping_newline, "CMD-17")           /* command.c run */                               \
	X(default_commands_publish, "CMD-5") /* config.c defaults_for_path */                 \
	X(refusal_names_no_file, "IFACE-9") /* identity.c check_key_perms */                  \
	X(conf_lines_skip_comments, "IFACE-10") /* config.c ib_config_parse */                \
	X(conf_line_limit_counts_lf, "IFACE-10") /* config.c check_line_text */               \
	X(empty_commands_default, "IFACE-11") /* config.c parse_commands */                   \
	X(default_name_fixed, "IFACE-11")   /* config.c defaults_for_path */                  \
	X(key_mode_exactly_0600, "ID-6")    /* identity.c check_key_perms */                  \
	X(key_dir_checked, "ID-6")          /* identity.c check_key_perms */                  \
	X(key_mode_rw_bits_only, "ID-6")    /* identity.c check_key_perms */                  \
	X(own_key_file_refused, "ID-7")     /* keyring.c load_one */                          \
	X(big_result_sent, "CMD-18")        /* command.c cmd_send_result */                   \
	X(big_result_failed_everywhere, "CMD-18") /* command.c cmd_send_result */             \
	X(pub_names_any_case, "IFACE-14")   /* keyring.c is_pub_name */                       \
	X(pub_dot_files_read, "IFACE-14")   /* keyring.c is_pub_name */                       \
	X(pub_links_skipped, "IFACE-14")    /* keyring.c load_one */                          \
	X(pub_bad_file_skipped, "IFACE-15") /* keyring.c load_one */                          \
	X(pub_first_block_only, "IFACE-15") /* pem.c   one_block */                           \
	X(pub_any_der, "IFACE-15")          /* pubkey.c ib_pubkey_load */                     \
	X(pkcs8_v2_refused, "IFACE-16")     /* identity.c pkcs8_parse */                      \
	X(pkcs8_public_key_unchecked, "IFACE-16") /* identity.c identity_from_pkcs8 */        \
	X(crt_presented_unchecked, "IFACE-17") /* identity.c ib_identity_load, ib_identity_x509 */ \
	X(sighup_rereads_conf, "IFACE-18")  /* node.c  ib_node_reload_keys */                 \
	X(forget_seq_reservation, "MSG-14") /* node.c  ib_node_use_store */                   \
	X(idle_watches_write, "LINK-22")    /* link.c  flush */                               \
	X(linger_watches_write, "LINK-22")  /* link.c  linger_flush */                        \
	X(persist_after_answers, "DATA-19") /* link.c  on_readable */                         \
	X(conf_equals_in_value_refused, "IFACE-19") /* config.c parse_line */                 \
	X(conf_empty_item_skipped, "IFACE-19") /* config.c parse_parents, parse_commands */   \
	X(conf_duplicate_parent_accepted, "IFACE-19") /* config.c parent_listed */            \
	X(conf_host_wildcard, "IFACE-19")   /* config.c split_plain */                        \
	X(conf_host_unicode_letters, "IFACE-19") /* config.c is_name_char */                  \
	X(conf_leading_zeros_octal, "IFACE-19") /* config.c parse_number */                   \
	X(empty_parents_refused, "IFACE-11") /* config.c parse_parents */                     \
	X(default_name_lexical, "IFACE-20") /* config.c defaults_for_path */                  \
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

/* The same for code that runs before there is a node to ask: node.conf and identity.key are
 * read by ib_node_open only, so this too breaks the IUT alone. */
#define IB_FAULT_ENV(name) (ib_fault_from_env() == IB_FAULT_ID_##name)

#else

#define IB_FAULT(obj, name) 0
#define IB_FAULT_ENV(name) 0
#define ib_keyring_fault_weak_keys(allowed) ((void)0)
#define ib_msg_fault_lax_transfer(lax) ((void)0)

#endif

#endif
