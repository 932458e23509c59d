/*
 * interbot.h - the one public header of libinterbot, the reference implementation of the
 * interbot protocol, version 1 (spec/interbot-v1.md).
 *
 * Conventions: functions return 0 (IB_OK) on success and a negative enum ib_err on failure,
 * unless their comment says otherwise. Slices (struct ib_slice) borrow memory owned by
 * someone else; buffers (struct ib_buf) own theirs. Every exported name is ib_<module>_<verb>.
 */
#ifndef INTERBOT_H
#define INTERBOT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IB_SOFTWARE_NAME "interbot-ref"
#define IB_SOFTWARE_VERSION "0.1.0"

/* Wire constants and limits (spec section 18). */
#define IB_ID_LEN 16                     /* id_bot: MD5 of the SPKI */
#define IB_PUBKEY_LEN 32                 /* raw Ed25519 public key */
#define IB_SECRET_LEN 32                 /* raw Ed25519 secret key (RFC 8032 seed) */
#define IB_SPKI_LEN 44                   /* DER SubjectPublicKeyInfo of an Ed25519 key */
#define IB_SIG_LEN 64                    /* [FRAME-3] the only valid signature_length */
#define IB_FRAME_HEADER_LEN 21           /* id_bot + u16 + u24 */
#define IB_MSG_HEADER_LEN 28             /* version, type, flags, seq, dest */
#define IB_MAX_MESSAGE_LIMIT 16777215u   /* largest u24, default max_message */
#define IB_MAX_MESSAGE_MIN 65536u        /* smallest max_message a node may announce */
#define IB_MAX_STRING 255u               /* u8-prefixed strings */
#define IB_MAX_BLOB 16777215u            /* u24-prefixed blobs */
#define IB_MAX_PATH 255u                 /* ids in a path */
/* [DATA-10] max_value: the longest value a node publishes, so that an ib.get RESULT of the
 * item (421 bytes around the value, with a 255-byte key) fits the smallest max_message. */
#define IB_MAX_VALUE (IB_MAX_MESSAGE_MIN - 421u)
#define IB_NONCE_MIN 16u                 /* [KA-2] */
#define IB_NONCE_MAX 64u
#define IB_REPLAY_WINDOW 64u             /* [FLOOD-3] */
#define IB_COMMAND_MAX_SKEW_US (300ull * 1000000ull) /* [CMD-6] */
#define IB_PROTOCOL_VERSION 1u
#define IB_ALPN "interbot/1"

struct ib_msg;
struct ib_keyring;

/* Errors. Wire-decoding errors name the rule a peer broke; the table in error.c gives each a
 * short name (used in vectors and logs) and a sentence (ib_strerror). */
enum ib_err {
	IB_OK = 0,
	IB_ERR_NOMEM = -1,          /* allocation failed */
	IB_ERR_INVALID_ARG = -2,    /* a caller passed a value outside the API's contract */
	IB_ERR_TRUNCATED = -3,      /* fewer bytes than the field or frame needs */
	IB_ERR_TRAILING = -4,       /* bytes left after the last field */
	IB_ERR_BAD_STRING = -5,     /* string not UTF-8, or holds U+0000 [MSG-8] */
	IB_ERR_RANGE = -6,          /* a field value outside its range [MSG-7] */
	IB_ERR_BAD_SIG_LEN = -7,    /* signature_length != 64 [FRAME-3] */
	IB_ERR_TOO_BIG = -8,        /* message_length > max_message [FRAME-4] */
	IB_ERR_UNKNOWN_ORIGIN = -9, /* id_bot not in the keyring [FRAME-5] */
	IB_ERR_BAD_SIGNATURE = -10, /* signature does not verify [FRAME-6] */
	IB_ERR_BAD_VERSION = -11,   /* message version != 1 [MSG-1] */
	IB_ERR_RESERVED_TYPE = -12, /* type 0x00 or 0x80-0xFF [MSG-3] */
	IB_ERR_HOP_DEST = -13,      /* hop-local message with dest set [MSG-6] */
	IB_ERR_REPLAY = -14,        /* seq seen or older than the window [FLOOD-3] */
	IB_ERR_IO = -15,            /* a file or socket operation failed (errno kept) */
	IB_ERR_KEY_FILE = -16,      /* a key file that does not parse */
	IB_ERR_KEY_PERMS = -17,     /* private key readable by group/other [ID-5] */
	IB_ERR_NOT_ED25519 = -18,   /* a key of another algorithm */
	IB_ERR_DUPLICATE_ID = -19,  /* two keys with one id_bot [ID-4] */
	IB_ERR_CRYPTO = -20,        /* OpenSSL failed for a reason of its own */
	IB_ERR_STALE = -21,         /* COMMAND seq too far from the clock [CMD-6] */
	IB_ERR_NOT_FOUND = -22,     /* a lookup found nothing */
	IB_ERR_CONFIG = -23,        /* node.conf (or another config file) is wrong; see ib_diag */
	IB_ERR_BAD_ARGS = -24,      /* a COMMAND args list that does not decode */
	IB_ERR_NOT_PUBLISH = -25,   /* TRANSFER frame is not a PUBLISH of the key asked [ELECT-5] */
	IB_ERR_AGAIN = -26,         /* non-blocking operation would block: try after the event */
	IB_ERR_CLOSED = -27,        /* the peer closed (EOF, or TLS close_notify) */
	IB_ERR_HANDSHAKE = -28,     /* TLS handshake failed: version, ALPN, certificate [TLS-1..3] */
	IB_ERR_NOT_AUTHORIZED = -29,/* the peer's key is not in the keyring [TLS-4] */
	IB_ERR_FULL = -30,          /* a bound reached (the store's items or bytes, a version) */
	IB_ERR_NO_DEST = -31,       /* OFFER, SELECT, TRANSFER, RESULT, dest all zero [MSG-11] */
	IB_ERR_WEAK_KEY = -32,      /* an Ed25519 key of small order or not canonical [FRAME-10] */
	IB_ERR__COUNT = 33
};

/* A sentence for people; never NULL. */
const char *ib_strerror(int err);
/* A short lowercase name ("truncated", "bad_signature"...); never NULL. */
const char *ib_errname(int err);

/* Where a configuration or file error happened, for messages that name file and line. */
struct ib_diag {
	char file[256];
	int line;                   /* 0 when the error is about the whole file */
	char reason[256];
};
void ib_diag_set(struct ib_diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Borrowed bytes. */
struct ib_slice {
	const uint8_t *ptr;
	size_t len;
};

/* Owned, growable bytes. A zeroed struct is an empty buffer. */
struct ib_buf {
	uint8_t *ptr;
	size_t len;
	size_t cap;
};
void ib_buf_free(struct ib_buf *b);
void ib_buf_reset(struct ib_buf *b);    /* len = 0, keeps the memory */
int ib_buf_reserve(struct ib_buf *b, size_t extra);
int ib_buf_put(struct ib_buf *b, const void *p, size_t n);
int ib_buf_put_u8(struct ib_buf *b, uint8_t v);
int ib_buf_put_u16(struct ib_buf *b, uint16_t v);
int ib_buf_put_u24(struct ib_buf *b, uint32_t v);   /* IB_ERR_RANGE above 2^24-1 */
int ib_buf_put_u32(struct ib_buf *b, uint32_t v);
int ib_buf_put_u64(struct ib_buf *b, uint64_t v);
int ib_buf_put_string(struct ib_buf *b, struct ib_slice s);  /* u8 length; RANGE > 255 */
int ib_buf_put_blob(struct ib_buf *b, struct ib_slice s);    /* u24 length; RANGE > 2^24-1 */

/* ---- Identity names ---------------------------------------------------------------------- */

typedef struct {
	uint8_t b[IB_ID_LEN];
} ib_id;

/* [ID-2] id_bot = MD5 of the 44-byte SPKI. */
void ib_id_from_spki(ib_id *out, const uint8_t spki[IB_SPKI_LEN]);
/* 32 lowercase hex digits and a NUL. */
void ib_id_to_hex(const ib_id *id, char out[2 * IB_ID_LEN + 1]);
/* IB_ERR_RANGE unless exactly 32 hex digits. */
int ib_id_from_hex(ib_id *out, const char *hex);
bool ib_id_is_zero(const ib_id *id);
/* Lowercase hex of p[0..n) into out, which holds 2n+1 bytes (NUL-terminated). */
void ib_hex_encode(const uint8_t *p, size_t n, char *out);
/* Whether p[0..len) is RFC 3629 UTF-8 without U+0000: what the spec's strings hold. */
bool ib_utf8_valid(const uint8_t *p, size_t len);
/* hex[0..hex_len) (either case) into out; IB_ERR_RANGE for an odd length, a non-hex digit,
 * or more than cap bytes. */
int ib_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap, size_t *len);
bool ib_id_equal(const ib_id *a, const ib_id *b);
int ib_id_compare(const ib_id *a, const ib_id *b);  /* as 16 unsigned bytes */

/* ---- Keys -------------------------------------------------------------------------------- */

/* An authorized public key: parsed once, kept as an EVP_PKEY ([ID-3], no re-parse per frame). */
struct ib_pubkey;

int ib_pubkey_from_raw(struct ib_pubkey **out, const uint8_t raw[IB_PUBKEY_LEN]);
/* DER SPKI; IB_ERR_NOT_ED25519 for another algorithm, IB_ERR_KEY_FILE if it does not parse. */
int ib_pubkey_from_spki(struct ib_pubkey **out, const uint8_t *der, size_t len);
/* PEM SubjectPublicKeyInfo file; diag names the file on failure (may be NULL). */
int ib_pubkey_load(struct ib_pubkey **out, const char *path, struct ib_diag *diag);
int ib_pubkey_save(const struct ib_pubkey *k, const char *path);
const ib_id *ib_pubkey_id(const struct ib_pubkey *k);
const uint8_t *ib_pubkey_raw(const struct ib_pubkey *k);     /* 32 bytes */
const uint8_t *ib_pubkey_spki(const struct ib_pubkey *k);    /* 44 bytes */
/* The file name it came from, without directory, or "" if none. */
const char *ib_pubkey_label(const struct ib_pubkey *k);
/* [FRAME-1][FRAME-6][FRAME-9] 0 if sig is k's Ed25519 signature of msg as the spec checks it
 * (S below L, R and the key canonical and not of small order, the cofactorless equation),
 * IB_ERR_BAD_SIGNATURE if not. */
int ib_pubkey_verify(const struct ib_pubkey *k, const uint8_t *msg, size_t msg_len,
		     const uint8_t *sig, size_t sig_len);
/* [FRAME-9] Whether a 32-byte Ed25519 point encoding (a key, or a signature's R) is not
 * canonical (its y not below 2^255 - 19) or names a point of small order, whatever its sign
 * bit. A key that is one authenticates nothing ([FRAME-10]). */
bool ib_ed25519_weak_point(const uint8_t enc[IB_PUBKEY_LEN]);
void ib_pubkey_free(struct ib_pubkey *k);

/* This node's own key pair. */
struct ib_identity;

int ib_identity_generate(struct ib_identity **out);
int ib_identity_from_secret(struct ib_identity **out, const uint8_t secret[IB_SECRET_LEN]);
/* A second identity object holding the same key (for a node that is started again). */
int ib_identity_copy(struct ib_identity **out, const struct ib_identity *id);
/* [ID-5][ID-6] IB_ERR_KEY_PERMS if the file gives group or others any permission bit. */
int ib_identity_load(struct ib_identity **out, const char *key_path, struct ib_diag *diag);
/* Writes PEM PKCS#8 with mode 0600, atomically. */
int ib_identity_save(const struct ib_identity *id, const char *key_path);
/* Self-signed X.509 certificate of the key, CN = name (PEM). */
int ib_identity_write_cert(const struct ib_identity *id, const char *crt_path, const char *name);
const ib_id *ib_identity_id(const struct ib_identity *id);
const struct ib_pubkey *ib_identity_pubkey(const struct ib_identity *id);
/* [ID-1] Ed25519 signature of msg. */
int ib_identity_sign(const struct ib_identity *id, const uint8_t *msg, size_t msg_len,
		     uint8_t sig[IB_SIG_LEN]);
void ib_identity_free(struct ib_identity *id);

/* ---- Keyring ([MEMBER-1]) ------------------------------------------------------------------ */

struct ib_keyring;

int ib_keyring_new(struct ib_keyring **out);
/* Takes ownership of key in every case. IB_ERR_DUPLICATE_ID if another key has its id_bot
 * (the same key twice is not an error: it is added once). */
int ib_keyring_add(struct ib_keyring *kr, struct ib_pubkey *key);
/* Builds a new keyring from DIR/ *.pub plus own (copied; may be NULL). On failure *out is
 * untouched and diag names the file and reason ([MEMBER-3]). */
int ib_keyring_load_dir(struct ib_keyring **out, const char *dir, const struct ib_pubkey *own,
			struct ib_diag *diag);
/* One more owner of kr (ib_keyring_free drops one): many nodes of one process may share a
 * keyring, which must not be changed once shared. Returns kr. */
struct ib_keyring *ib_keyring_ref(struct ib_keyring *kr);
const struct ib_pubkey *ib_keyring_find(const struct ib_keyring *kr, const ib_id *id);
/* [ID-3][TLS-4] the key whose SPKI equals der exactly, or NULL. */
const struct ib_pubkey *ib_keyring_match_spki(const struct ib_keyring *kr, const uint8_t *der,
					      size_t len);
size_t ib_keyring_count(const struct ib_keyring *kr);
const struct ib_pubkey *ib_keyring_at(const struct ib_keyring *kr, size_t i);
/* keys_digest of spec section 15: SHA-256 of the sorted raw keys. */
int ib_keyring_digest(const struct ib_keyring *kr, uint8_t out[32]);
void ib_keyring_free(struct ib_keyring *kr);

/* ---- Frames (spec section 5) -------------------------------------------------------------- */

/* A frame as found in some bytes; every slice borrows them. */
struct ib_frame {
	ib_id origin;
	uint16_t sig_len;
	struct ib_slice sig;
	struct ib_slice msg;
	struct ib_slice raw;        /* the whole frame, header included */
};

/* Appends one frame to out. */
int ib_frame_encode(struct ib_buf *out, const ib_id *origin, const uint8_t sig[IB_SIG_LEN],
		    const uint8_t *msg, size_t msg_len);
/* Signs msg with id and appends the frame ([ID-1]). */
int ib_frame_sign(struct ib_buf *out, const struct ib_identity *id, const uint8_t *msg,
		  size_t msg_len);
/* Parses exactly one whole frame from p[0..len): IB_ERR_TRUNCATED if short, IB_ERR_TRAILING if
 * longer, IB_ERR_TOO_BIG above max_message. Does not check the signature. */
int ib_frame_parse(struct ib_frame *f, const uint8_t *p, size_t len, uint32_t max_message);
/* [FRAME-8] envelope checks after the length: BAD_SIG_LEN, UNKNOWN_ORIGIN, BAD_SIGNATURE.
 * On success *key (if not NULL) is the origin's key. */
int ib_frame_verify(const struct ib_frame *f, const struct ib_keyring *kr,
		    const struct ib_pubkey **key);

/* The stateless part of receiving a frame whose lengths were already checked: [FRAME-8]
 * envelope checks (ib_frame_verify), then the message ([MSG-12]: [MSG-1]..[MSG-8] into *m,
 * borrowing f's bytes, then [MSG-11], IB_ERR_NO_DEST), then COMMAND freshness against
 * now_unix_us ([CMD-6], IB_ERR_STALE). On a message error *m's header is set when the
 * message held one.
 * Per-origin state (anti-replay, routes) is the caller's. */
int ib_frame_check(const struct ib_frame *f, const struct ib_keyring *kr, uint64_t now_unix_us,
		   struct ib_msg *m);
/* [ELECT-5] Checks the frame a TRANSFER carries as if received from its writer (without
 * anti-replay): whole frame, known writer, signature, message, PUBLISH of key. On success
 * *pub is the decoded PUBLISH, borrowing frame's bytes. IB_ERR_NOT_PUBLISH for another type
 * or key; the envelope and message errors otherwise. */
int ib_transfer_check(struct ib_slice frame, const struct ib_keyring *kr, struct ib_slice key,
		      struct ib_msg *pub);
/* The spec's counter name for a rejected frame (section 17): "malformed" for every body error,
 * "bad_signature", "unknown_origin", "replay", ... */
const char *ib_drop_reason(int err);

/* [FRAME-2] Incremental decoder: fed bytes in any split, yields whole frames. It buffers at
 * most one frame, and decides "too big" from the 21-byte header before buffering the rest
 * ([FRAME-4]). A link error is sticky. */
struct ib_frame_decoder {
	struct ib_buf buf;
	size_t start;               /* offset of the next undelivered byte in buf */
	uint32_t max_message;
	int error;                  /* 0, or the sticky link error */
};
void ib_frame_decoder_init(struct ib_frame_decoder *d, uint32_t max_message);
void ib_frame_decoder_free(struct ib_frame_decoder *d);
/* Copies in as many of p[0..len) as the decoder can take and sets *taken. On a header that
 * announces too big a message it stops after that header and still returns 0: call next
 * until it returns the error, so that the whole frames before it are not lost. Once the
 * error was found, feed takes nothing and returns it. */
int ib_frame_decoder_feed(struct ib_frame_decoder *d, const uint8_t *p, size_t len,
			  size_t *taken);
enum ib_frame_status {
	IB_FRAME_NEED_MORE = 0,     /* no whole frame buffered */
	IB_FRAME_READY = 1          /* *f holds a frame, valid until the next feed or next */
};
/* Returns IB_FRAME_READY, IB_FRAME_NEED_MORE, or a negative link error (IB_ERR_TOO_BIG). */
int ib_frame_decoder_next(struct ib_frame_decoder *d, struct ib_frame *f);

/* ---- Messages (spec sections 6 and 7) ---------------------------------------------------- */

enum ib_msg_type {
	IB_MSG_HELLO = 0x01,
	IB_MSG_PATH = 0x02,
	IB_MSG_PING = 0x03,
	IB_MSG_PONG = 0x04,
	IB_MSG_ERROR = 0x05,
	IB_MSG_PUBLISH = 0x10,
	IB_MSG_QUERY = 0x11,
	IB_MSG_OFFER = 0x12,
	IB_MSG_SELECT = 0x13,
	IB_MSG_TRANSFER = 0x14,
	IB_MSG_COMMAND = 0x20,
	IB_MSG_RESULT = 0x21,
	IB_MSG_ANNOUNCE = 0x30,
	IB_MSG_PARTED = 0x31
};

enum ib_role { IB_ROLE_SERVER = 1, IB_ROLE_CLIENT = 2 };

enum ib_error_code {           /* ERROR codes, spec section 17 */
	IB_EC_PROTOCOL_VIOLATION = 1,
	IB_EC_NOT_AUTHORIZED = 2,
	IB_EC_LOOP_DETECTED = 3,
	IB_EC_TOO_BIG = 4,
	IB_EC_KEEPALIVE_TIMEOUT = 5,
	IB_EC_REVOKED = 6,
	IB_EC_NO_CHILDREN_ACCEPTED = 7,
	IB_EC_UNSUPPORTED_VERSION = 8,
	IB_EC_SHUTTING_DOWN = 9,
	IB_EC_DUPLICATE_IDENTITY = 10
};

enum ib_status {               /* RESULT statuses, spec section 15 */
	IB_STATUS_OK = 0,
	IB_STATUS_FAILED = 1,
	IB_STATUS_DENIED = 2,
	IB_STATUS_UNKNOWN = 3,
	IB_STATUS_BAD_ARGS = 4,
	IB_STATUS_NOT_FOUND = 5
};

bool ib_msg_type_is_hop(uint8_t type);       /* 0x01-0x0F */
bool ib_msg_type_is_e2e(uint8_t type);       /* 0x10-0x7F */
bool ib_msg_type_is_known(uint8_t type);     /* one of enum ib_msg_type */
bool ib_msg_type_is_directed(uint8_t type);  /* OFFER, SELECT, TRANSFER, RESULT [MSG-11] */
const char *ib_msg_type_name(uint8_t type);  /* "PUBLISH", or "UNKNOWN" */
const char *ib_error_code_name(uint16_t code);  /* "loop_detected", or "unknown" */
const char *ib_status_name(uint16_t status);

struct ib_msg_header {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint64_t seq;
	ib_id dest;                 /* all zero = everyone */
};

struct ib_path {
	uint8_t count;
	const uint8_t *ids;         /* count * 16 bytes, borrowed */
};

struct ib_hello {
	uint8_t role;
	uint32_t keepalive_interval_ms;
	uint32_t max_message;
	struct ib_slice name;
	struct ib_path path;
};
struct ib_nonce_body { struct ib_slice nonce; };        /* PING, PONG */
struct ib_error_body { uint16_t code; struct ib_slice reason; };
struct ib_publish { struct ib_slice key; uint64_t version; struct ib_slice value; };
struct ib_query { uint64_t query_id; struct ib_slice key; };
struct ib_offer { uint64_t query_id; struct ib_slice key; uint64_t version; ib_id writer; };
struct ib_select { uint64_t query_id; struct ib_slice key; uint64_t version; };
struct ib_transfer { uint64_t query_id; struct ib_slice frame; };
struct ib_command { uint64_t cmd_id; struct ib_slice name; struct ib_slice args; };
struct ib_result { uint64_t cmd_id; uint16_t status; struct ib_slice output; };
struct ib_announce { ib_id parent; uint8_t role; struct ib_slice name; struct ib_slice software; };
struct ib_parted { ib_id child; };

/* A decoded message. Slices borrow the bytes it was decoded from. */
struct ib_msg {
	struct ib_msg_header h;
	struct ib_slice body;       /* the bytes after the header */
	union {
		struct ib_hello hello;
		struct ib_path path;
		struct ib_nonce_body ping;      /* PING and PONG */
		struct ib_error_body error;
		struct ib_publish publish;
		struct ib_query query;
		struct ib_offer offer;
		struct ib_select select;
		struct ib_transfer transfer;
		struct ib_command command;
		struct ib_result result;
		struct ib_announce announce;
		struct ib_parted parted;
	} u;
};

/* Decodes header and, for known types, the body ([MSG-1]..[MSG-8]). Unassigned types decode
 * to header + body slice only. Errors: TRUNCATED, TRAILING, BAD_STRING, RANGE, BAD_VERSION,
 * RESERVED_TYPE, HOP_DEST. */
int ib_msg_decode(struct ib_msg *m, const uint8_t *p, size_t len);
/* Appends the encoding of m (header, then body from m->u for known types, or m->body for
 * unassigned ones). Refuses what a decoder would refuse, with the decoder's error
 * (IB_ERR_RANGE, BAD_STRING, BAD_VERSION, RESERVED_TYPE, HOP_DEST, TRUNCATED/TRAILING for a
 * TRANSFER frame); on failure out is left as it was. */
int ib_msg_encode(struct ib_buf *out, const struct ib_msg *m);

/* The decoded fields of m as a JSON object, in a malloc'd NUL-terminated string the caller
 * frees: {"type": "PUBLISH", "type_code": 16, "version": 1, "flags": 0, "seq": "123",
 * "dest": "<32 hex>", "body": {...}}. Field names are the spec's; u64 values are decimal
 * strings, ids and opaque bytes hex, strings text. Used by vectors and reports. */
int ib_msg_to_json(const struct ib_msg *m, char **out);

/* COMMAND args (spec section 7.10): splits args into at most max items.
 * IB_ERR_BAD_ARGS if the list does not fill args exactly or has more than max items. */
int ib_args_split(struct ib_slice args, struct ib_slice *items, size_t max, size_t *count);
int ib_args_put(struct ib_buf *out, struct ib_slice item);

/* ---- Anti-replay window and sequence numbers ---------------------------------------------- */

/* [FLOOD-3] Per-origin window: highest seq accepted and a bitmap of the 64 below and at it. */
struct ib_replay_window {
	uint64_t top;
	uint64_t bitmap;            /* bit i set: top - i was accepted */
	bool started;
};
/* 0 if seq would be accepted, IB_ERR_REPLAY if not. Does not change the window. */
int ib_replay_check(const struct ib_replay_window *w, uint64_t seq);
/* Records seq; call only for frames that passed every check ([FLOOD-4]). Returns as check. */
int ib_replay_accept(struct ib_replay_window *w, uint64_t seq);

/* [MSG-5] Sequence numbers of one origin: microseconds since the epoch, or last + 1. */
struct ib_seq_gen {
	uint64_t last;
};
/* Returns 0 (never a valid result) when last is 2^64-1 and it cannot advance. */
uint64_t ib_seq_next(struct ib_seq_gen *g, uint64_t now_unix_us);

/* ---- Node configuration: node.conf (spec section 19.1) ------------------------------------ */

#define IB_MAX_PARENTS 16u               /* entries of `parents` */
#define IB_MAX_COMMANDS 64u              /* entries of `commands` */
#define IB_MAX_ADDR 262u                 /* "[" 253-byte host "]:" 5-digit port, and NUL */
#define IB_CONF_MAX_LINE 4096u           /* longer lines are a config error */

struct ib_config {
	char name[IB_MAX_STRING + 1];
	char listen[IB_MAX_ADDR];
	uint8_t mode;                        /* enum ib_role */
	char parents[IB_MAX_PARENTS][IB_MAX_ADDR];
	size_t parent_count;
	uint32_t keepalive_interval_ms;
	uint32_t keepalive_timeout_ms;
	uint32_t max_message;
	uint32_t election_window_ms;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	char commands[IB_MAX_COMMANDS][IB_MAX_STRING + 1];
	size_t command_count;
	/* [IFACE-21] bounds (spec section 18); the defaults are the IB_ macros below */
	uint32_t max_store_items, max_store_mib;    /* [DATA-13] */
	uint32_t max_writer_items, max_writer_mib;  /* [DATA-17] */
	uint32_t max_pending, max_pending_per_source; /* [LINK-14], [LINK-15] */
	uint32_t max_elections;                     /* [ELECT-17] */
};

/* The spec's defaults; name = default_name (the directory's base name), listen empty. */
void ib_config_defaults(struct ib_config *c, const char *default_name);
/* [IFACE-2] Parses node.conf text over the defaults already in *c. On error diag names
 * `file` and the line, and *c may be partly changed (parse into a copy to keep the old).
 * IB_ERR_CONFIG for every syntax or value error. */
int ib_config_parse(struct ib_config *c, const char *text, size_t len, const char *file,
		    struct ib_diag *diag);
/* Reads path (defaults from the directory's base name), then parses it. */
int ib_config_load(struct ib_config *c, const char *path, struct ib_diag *diag);
/* Writes every key, atomically (temp file, fsync, rename). */
int ib_config_write(const struct ib_config *c, const char *path);
/* "host:port" or "[v6]:port" -> host (without brackets) and port 1..65535. IB_ERR_RANGE. */
int ib_addr_parse(const char *s, char *host, size_t host_cap, uint16_t *port);

/* ---- Time and the event loop --------------------------------------------------------------- */

/* Where a node takes its time from: the real clocks in the program, a virtual clock in tests
 * (the harness advances it). Both readings in microseconds. */
struct ib_clock {
	uint64_t (*monotonic_us)(void *ctx);  /* never goes back; for timers */
	uint64_t (*unix_us)(void *ctx);       /* wall clock; for seq ([MSG-5]) and [CMD-6] */
	void *ctx;
};
/* CLOCK_MONOTONIC and CLOCK_REALTIME. */
const struct ib_clock *ib_clock_system(void);

/* A clock that moves only when told to. */
struct ib_vclock {
	uint64_t monotonic_us;
	uint64_t unix_us;
};
void ib_vclock_init(struct ib_vclock *v, uint64_t start_unix_us);
void ib_vclock_advance(struct ib_vclock *v, uint64_t us);
/* A struct ib_clock reading v; v must outlive every user of the clock. */
struct ib_clock ib_vclock_clock(struct ib_vclock *v);

/* A small poll() loop (as Redis's ae.c): file descriptors with callbacks, and timers. Several
 * nodes may share one loop. Single-threaded; callbacks may add or remove watches and timers,
 * including their own. */
struct ib_loop;

enum { IB_EV_READ = 1, IB_EV_WRITE = 2, IB_EV_ERROR = 4 };

typedef void (*ib_fd_cb)(struct ib_loop *loop, int fd, unsigned events, void *arg);
typedef void (*ib_timer_cb)(struct ib_loop *loop, void *arg);

/* The clock is copied into the loop. */
int ib_loop_new(struct ib_loop **out, const struct ib_clock *clock);
/* Frees the loop; does not close the watched descriptors. */
void ib_loop_free(struct ib_loop *loop);
const struct ib_clock *ib_loop_clock(const struct ib_loop *loop);
uint64_t ib_loop_now_us(const struct ib_loop *loop);   /* the clock's monotonic reading */
/* Watches fd for events (IB_EV_READ | IB_EV_WRITE, or 0 for errors only); replaces an
 * existing watch of fd. Errors and hang-ups arrive as IB_EV_ERROR | IB_EV_READ, so that the
 * callback's read finds them. A watch changed during a turn misses that turn's events (they
 * come again on the next, as poll() reports them again). */
int ib_loop_watch(struct ib_loop *loop, int fd, unsigned events, ib_fd_cb cb, void *arg);
void ib_loop_unwatch(struct ib_loop *loop, int fd);
/* A one-shot timer due delay_us after now; *id (may be NULL) names it for cancel. Ids are
 * never 0 and never reused. Timers due at the same time fire in the order they were added;
 * a timer added by a timer callback fires on a later turn at the earliest. */
int ib_loop_timer_add(struct ib_loop *loop, uint64_t delay_us, ib_timer_cb cb, void *arg,
		      uint64_t *id);
/* Cancelling a fired or unknown id does nothing. */
void ib_loop_timer_cancel(struct ib_loop *loop, uint64_t id);
/* Monotonic time of the next timer; IB_ERR_NOT_FOUND if there is none. */
int ib_loop_next_deadline(const struct ib_loop *loop, uint64_t *at_us);
/* One turn: poll() for at most max_wait_ms (-1: until the next timer, or until a descriptor
 * is ready when there is no timer; with neither, it returns 0 at once; 0: do not block), call
 * the callbacks of ready descriptors, then of every timer due by the clock. On a virtual clock
 * pass 0, and advance the clock to ib_loop_next_deadline yourself. Returns the number of
 * callbacks called, or a negative error (IB_ERR_IO from poll, EINTR excepted;
 * IB_ERR_INVALID_ARG when called from inside a callback). */
int ib_loop_run_once(struct ib_loop *loop, int max_wait_ms);

/* For a program with a poll() loop of its own. ib_loop_prepare fills fds (up to max) with the
 * descriptors and events this loop waits for, sets *timeout_ms to the time until its next
 * timer (-1: none), and returns how many descriptors it wants (call again with a larger array
 * if that is more than max). After the program's poll() over those entries (with revents
 * set, in the same order, possibly among its own), ib_loop_dispatch runs the callbacks of the
 * ready ones and the timers due. Returns as ib_loop_run_once. */
size_t ib_loop_prepare(struct ib_loop *loop, struct pollfd *fds, size_t max, int *timeout_ms);
int ib_loop_dispatch(struct ib_loop *loop, const struct pollfd *fds, size_t n);

/* ---- The shared data store (spec section 13) ----------------------------------------------- */

/* An item as the store holds it; every slice borrows the store's copy of the writer's frame
 * and stays valid until that key is replaced or the store is freed. */
struct ib_item {
	struct ib_slice key;
	uint64_t version;
	ib_id writer;
	uint64_t seq;               /* of the writer's PUBLISH */
	struct ib_slice value;
	struct ib_slice frame;      /* the writer's PUBLISH frame, whole ([DATA-4]) */
};

struct ib_store;

/* Spec section 20 asks for a bounded store: past these (the reference's defaults), new keys
 * (or a larger frame) are refused with IB_ERR_FULL, counted by the node (store_full), and the
 * old items stay. */
#define IB_STORE_MAX_ITEMS 65536u
#define IB_STORE_MAX_MIB 256u
#define IB_STORE_MAX_BYTES (IB_STORE_MAX_MIB * 1024u * 1024u)
/* [DATA-17] What one writer may hold: a member cannot fill the store for the others. */
#define IB_STORE_MAX_WRITER_ITEMS 4096u
#define IB_STORE_MAX_WRITER_MIB 32u
#define IB_STORE_MAX_WRITER_BYTES (IB_STORE_MAX_WRITER_MIB * 1024u * 1024u)
/* The reference's other bounds of section 18 (node.conf keys of the same names, [IFACE-21]). */
#define IB_MAX_ELECTIONS 64u             /* [ELECT-17] max_elections */
#define IB_MAX_PENDING_LINKS 128u        /* [LINK-14] max_pending */
#define IB_MAX_PENDING_PER_SOURCE 8u     /* [LINK-15] max_pending_per_source */
/* Commands this node sent and waits for RESULTs of (section 18): each holds a timer and
 * its caller's context until its timeout, so an owner's script in a loop is bounded too. */
#define IB_MAX_COMMANDS_IN_FLIGHT 1024u

/* [DATA-13][DATA-17] A store's bounds (node.conf's max_store_items and the like,
 * [IFACE-21]), bytes in frames; ib_store_open starts with the IB_STORE_MAX_ ones above. A
 * bound set below what the store already holds refuses new keys until it holds less. */
struct ib_store_bounds {
	size_t items, bytes;                /* of other writers than the node ([DATA-16]) */
	size_t writer_items, writer_bytes;  /* of each writer, the node too */
};

/* [DATA-1] -1, 0 or 1 as (version, writer, seq) of a is older than, equal to or newer than
 * b's. */
int ib_item_compare(uint64_t version_a, const ib_id *writer_a, uint64_t seq_a,
		    uint64_t version_b, const ib_id *writer_b, uint64_t seq_b);

/* Opens the store persisted in dir (created if absent; NULL: in memory only; kr is required
 * with a dir) and loads every item again through ib_transfer_check against kr ([DATA-6]): a
 * file that fails is not loaded (it stays on disk), is counted in *rejected (may be NULL),
 * named in diag (the first one) and in ib_store_rejected (the first IB_STORE_REPORTED).
 * Leftovers of a crash mid-write are deleted. */
int ib_store_open(struct ib_store **out, const char *dir, const struct ib_keyring *kr,
		  size_t *rejected, struct ib_diag *diag);
void ib_store_free(struct ib_store *s);
/* The i-th file ib_store_open did not load, "path: reason"; NULL past the last one named. */
#define IB_STORE_REPORTED 64u
const char *ib_store_rejected(const struct ib_store *s, size_t i);
/* [DATA-2] Keeps frame (a verified PUBLISH; pub is its decoding) if it is newer than the item
 * held for its key, or none is held. Returns 1 when applied, 0 when not newer (nothing
 * changes), or a negative error: IB_ERR_IO when it could not be persisted, and then the old
 * item stays in force, on disk and in memory ([DATA-5]); IB_ERR_FULL past the store's
 * bounds; IB_ERR_INVALID_ARG when pub is not frame's decoding. Files: DIR/<hex key>.item for keys up to 64 bytes, DIR/sha256-<hex of
 * the key's SHA-256>.item above, each holding the writer's frame exactly. */
int ib_store_apply(struct ib_store *s, struct ib_slice frame, const struct ib_msg *pub);
/* [DATA-16] The node's own id: its items count toward their writer's bounds only, never
 * toward the store's, so that other writers cannot keep the owner's items out. */
void ib_store_set_own(struct ib_store *s, const ib_id *own);
void ib_store_set_bounds(struct ib_store *s, const struct ib_store_bounds *max);
/* IB_ERR_NOT_FOUND when no item is held for key. */
int ib_store_get(const struct ib_store *s, struct ib_slice key, struct ib_item *item);
/* [DATA-3] The version this node publishes key with: the highest held + 1 (1 if none);
 * 0 when the highest is 2^64-1 and nothing can be published. Only the item held counts: a
 * newer one that could not be stored, or a file refused at open, is not known. */
uint64_t ib_store_next_version(const struct ib_store *s, struct ib_slice key);
/* Removes every item for which gone(item, ctx) is true, from memory and from its directory
 * ([MEMBER-6]); *removed (may be NULL) gets how many. The items go from memory in every case;
 * IB_ERR_IO when a file could not be deleted (the first error; the others are still tried). */
int ib_store_remove_if(struct ib_store *s, bool (*gone)(const struct ib_item *item, void *ctx),
		       void *ctx, size_t *removed);
size_t ib_store_count(const struct ib_store *s);
/* The i-th item in key order (bytewise); IB_ERR_NOT_FOUND past the end. */
int ib_store_at(const struct ib_store *s, size_t i, struct ib_item *item);

/* ---- The node ------------------------------------------------------------------------------ */

/* One interbot node: its links, its place in the tree, flooding. Single-threaded: every call
 * comes from the loop's thread. */
struct ib_node;

/* Why frames are dropped and links refused or closed (spec section 17), counted per node
 * ([ERR-1]). */
enum ib_counter {
	IB_CNT_BAD_SIGNATURE_LENGTH,
	IB_CNT_UNKNOWN_ORIGIN,
	IB_CNT_BAD_SIGNATURE,
	IB_CNT_UNSUPPORTED_VERSION,
	IB_CNT_RESERVED_TYPE,
	IB_CNT_MALFORMED,
	IB_CNT_UNKNOWN_HOP_TYPE,
	IB_CNT_REPLAY,
	IB_CNT_STALE_COMMAND,
	IB_CNT_TOO_BIG_FOR_PEER,    /* [FRAME-7] not sent: above the peer's max_message */
	IB_CNT_CONNECT_FAILED,
	IB_CNT_HANDSHAKE_FAILED,
	IB_CNT_HANDSHAKE_TIMEOUT,
	IB_CNT_NOT_AUTHORIZED,
	IB_CNT_QUEUE_OVERFLOW,
	IB_CNT_LINK_LOST,
	IB_CNT_LINKS_REFUSED,       /* closed with ERROR at the HELLO exchange */
	IB_CNT_LINKS_OPENED,
	IB_CNT_FRAMES_IN,           /* valid frames received */
	IB_CNT_FRAMES_FORWARDED,
	IB_CNT_FRAMES_DELIVERED,
	IB_CNT_STORE_FAILED,        /* [DATA-5] an item that could not be persisted */
	IB_CNT_LATE_OFFER,          /* [ELECT-7] */
	IB_CNT_LATE_TRANSFER,
	IB_CNT_HOLDER_FAILED,       /* [ELECT-6] */
	IB_CNT_LATE_RESULT,         /* [CMD-7] */
	IB_CNT_PENDING_PER_SOURCE,  /* [LINK-15] a connection refused: its source holds enough */
	IB_CNT_PENDING_EVICTED,     /* [LINK-16] the oldest pending connection, closed for a new one */
	IB_CNT_CONTROL_EVICTED,     /* the oldest control client, closed for a new one */
	IB_CNT_ACCEPT_FAILED,       /* accept() failed (out of descriptors): listening paused */
	IB_CNT_STORE_FULL,          /* an item refused: IB_STORE_MAX_ITEMS or _BYTES reached */
	IB_CNT_BUSY,                /* [LINK-21] a request not acted on: its link is backed up */
	IB_CNT_ERROR_RECEIVED,      /* [ERR-4] a link the peer closed with ERROR */
	/* [ERR-4] links this node closed with an ERROR of that code (unsupported_version and
	 * not_authorized have their counters above) */
	IB_CNT_PROTOCOL_VIOLATION,
	IB_CNT_LOOP_DETECTED,
	IB_CNT_TOO_BIG,
	IB_CNT_KEEPALIVE_TIMEOUT,
	IB_CNT_REVOKED,
	IB_CNT_NO_CHILDREN_ACCEPTED,
	IB_CNT_SHUTTING_DOWN,
	IB_CNT_DUPLICATE_IDENTITY,
	/* resources at their bound (spec section 18), each also in a rate-limited log line */
	IB_CNT_HELLO_TIMEOUT,       /* [LINK-7] no HELLO within hello_timeout_ms (also counted
				     * protocol_violation, the ERROR it is closed with) */
	IB_CNT_LINGER_FULL,         /* [LINK-19] a connection closed at once: max_lingering */
	IB_CNT_CONTROL_CUT,         /* a control client cut: request too long, or a request not
				     * sent or an answer not read within the deadline */
	IB_CNT_SEQ_RESERVE_FAILED,  /* [MSG-14] a seq reservation that could not be recorded */
	IB_CNT_STORE_FLUSHES,       /* [DATA-19] disk flushes (fsync, syncfs) the store asked for */
	IB_CNT__COUNT
};
const char *ib_counter_name(enum ib_counter c);

enum ib_log_level { IB_LOG_ERROR = 0, IB_LOG_WARN = 1, IB_LOG_INFO = 2, IB_LOG_DEBUG = 3 };
/* One line per event, without the trailing newline. */
typedef void (*ib_log_fn)(void *ctx, enum ib_log_level level, const char *line);

/* Called for every end-to-end message delivered to this node ([FLOOD-1] rule 3): to
 * everyone or directed to it. f and m borrow the link's buffer: copy what you keep. */
typedef void (*ib_deliver_fn)(struct ib_node *node, const struct ib_frame *f,
			      const struct ib_msg *m, void *ctx);

/* A node from objects already loaded; it takes ownership of id and kr (freed by
 * ib_node_free, also on failure). cfg is copied. The listen address of cfg may have port 0
 * (an ephemeral port, for tests): ib_node_listen_port tells which one it got. */
int ib_node_new(struct ib_node **out, struct ib_loop *loop, const struct ib_config *cfg,
		struct ib_identity *id, struct ib_keyring *kr, struct ib_diag *diag);
/* A node from a node directory (spec section 19.1): identity.key, authorized/, node.conf. */
int ib_node_open(struct ib_node **out, struct ib_loop *loop, const char *dir,
		 struct ib_diag *diag);
/* Persists the node's items in store_dir from now on (ib_node_new nodes keep them in memory;
 * ib_node_open nodes use DIR/store): what is there is loaded and checked ([DATA-6]). */
int ib_node_use_store(struct ib_node *n, const char *store_dir, struct ib_diag *diag);
void ib_node_set_log(struct ib_node *n, ib_log_fn fn, void *ctx, enum ib_log_level level);
void ib_node_set_deliver(struct ib_node *n, ib_deliver_fn fn, void *ctx);
/* Seeds the node's jitter generator (retry delays), for reproducible runs. */
void ib_node_set_seed(struct ib_node *n, uint64_t seed);
/* Listens, and starts joining the configured parents ([TREE-1]). */
int ib_node_start(struct ib_node *n, struct ib_diag *diag);
/* [LINK-8] Closes every link with shutting_down and stops listening and retrying. */
void ib_node_stop(struct ib_node *n);
/* [LINK-11] Whether connections it closed are still delivering their last bytes (at most
 * 2 s each): a program that stops runs its loop until this is false, then frees the node. */
bool ib_node_lingering(const struct ib_node *n);
void ib_node_free(struct ib_node *n);

/* [MEMBER-2][MEMBER-3] Reloads authorized/ (ib_node_open nodes), closes the links of keys
 * no longer in it and drops their items from the store and its files ([MEMBER-6]). On
 * failure the old keyring stays and diag says why. */
int ib_node_reload_keys(struct ib_node *n, struct ib_diag *diag);
/* The same with a keyring given by the caller (takes ownership). */
int ib_node_set_keyring(struct ib_node *n, struct ib_keyring *kr);

/* Replaces the parents list (an owner's change at run time). A root starts trying them at
 * once; a node with a parent keeps it and uses the new list when it next looks for one. */
int ib_node_set_parents(struct ib_node *n, const char *const *addrs, size_t count);

/* Originates an end-to-end message: fills version, seq and signs; m->h.dest and the body are
 * the caller's. Sent to every link, or along the route to dest ([FLOOD-7]). */
int ib_node_send(struct ib_node *n, struct ib_msg *m);

/* [DATA-3] Publishes value under key as this node: version = the held item's + 1 ([DATA-8]),
 * flooded to everyone and kept in this node's store. *version (may be NULL) tells which.
 * IB_ERR_RANGE for a key outside 1..255 bytes or a value above IB_MAX_VALUE ([DATA-10]),
 * IB_ERR_BAD_STRING for a key that is not UTF-8, IB_ERR_FULL when the held item is at
 * version 2^64-1 ([DATA-9]) or the store is full; nothing is sent then. */
int ib_node_publish(struct ib_node *n, struct ib_slice key, struct ib_slice value,
		    uint64_t *version);
/* The node's store (read-only: items arrive through PUBLISH and TRANSFER). */
const struct ib_store *ib_node_store(const struct ib_node *n);

/* What an election saw: the offers in the order they arrived, and whose item was taken. */
#define IB_REPORT_MAX_OFFERS 32u
struct ib_election_report {
	size_t offers;              /* offers received (the array keeps the first 32) */
	struct {
		ib_id holder;
		uint64_t version;
		ib_id writer;
		bool failed;            /* selected, then silent or refused ([ELECT-6]) */
	} offer[IB_REPORT_MAX_OFFERS];
	bool transferred;           /* an item came by TRANSFER from `holder` */
	ib_id holder;
	bool own;                   /* this node's own item was as new: nothing was selected */
};

/* Runs a version election for key (spec section 14); fn is called once, on the loop, with
 * IB_OK and the item (now also in the store), IB_ERR_NOT_FOUND when nobody holds it, or
 * IB_ERR_CLOSED when the node is freed first; report tells how it went. ib_node_fetch returns
 * IB_ERR_FULL, and fn is not called, while max_elections (64) elections are open
 * ([ELECT-17]). */
typedef void (*ib_fetch_fn)(struct ib_node *n, int status, const struct ib_item *item,
			    const struct ib_election_report *report, void *ctx);
int ib_node_fetch(struct ib_node *n, struct ib_slice key, ib_fetch_fn fn, void *ctx);

/* A command this node runs for others (spec section 15), when `commands` lists its name.
 * Returns a RESULT status (enum ib_status) and writes the output. */
typedef uint16_t (*ib_command_fn)(struct ib_node *n, const ib_id *from,
				  const struct ib_slice *args, size_t nargs, struct ib_buf *output,
				  void *ctx);
int ib_node_register_command(struct ib_node *n, const char *name, ib_command_fn fn, void *ctx);
/* Sends COMMAND name(args) to dest (NULL: everyone). fn is called for every RESULT that comes
 * within timeout_ms (from = the answering node), then once with from = NULL when the time is
 * up; later RESULTs are counted, not delivered ([CMD-7]). IB_ERR_FULL, nothing sent and fn
 * not called, while IB_MAX_COMMANDS_IN_FLIGHT commands wait for their time to be up. */
typedef void (*ib_result_fn)(struct ib_node *n, const ib_id *from, uint16_t status,
			     struct ib_slice output, void *ctx);
int ib_node_command(struct ib_node *n, const ib_id *dest, const char *name,
		    const struct ib_slice *args, size_t nargs, uint32_t timeout_ms,
		    ib_result_fn fn, void *ctx);

/* What the node tells about one of its open links (owner tools). */
struct ib_link_info {
	ib_id peer;
	char name[IB_MAX_STRING + 1];   /* the name its HELLO gave */
	char addr[IB_MAX_ADDR];         /* host:port of the other end */
	bool is_parent;                 /* false: a child */
	uint8_t role;                   /* enum ib_role of the peer */
	uint64_t rtt_us;                /* last PING -> PONG time ([KA-6]); 0 if none yet */
	uint64_t open_since_us;         /* monotonic time the HELLO exchange ended */
};
/* Fills up to max entries; returns how many open links there are. */
size_t ib_node_links(const struct ib_node *n, struct ib_link_info *out, size_t max);

/* The tree map (spec section 16): every bot this node knows of, from ANNOUNCE and PARTED. */
struct ib_map_entry {
	ib_id id;
	ib_id parent;                   /* all zero: a root */
	uint8_t role;
	char name[IB_MAX_STRING + 1];
	char software[IB_MAX_STRING + 1];
	uint64_t seen_unix_us;          /* when its last ANNOUNCE was accepted */
};
/* Fills up to max entries, this node first; returns how many bots the map holds. */
size_t ib_node_map(const struct ib_node *n, struct ib_map_entry *out, size_t max);

/* Events for the embedding program. */
typedef void (*ib_item_fn)(struct ib_node *n, const struct ib_item *item, void *ctx);
/* Called whenever the store takes a newer item (from PUBLISH, TRANSFER or this node). */
void ib_node_on_item(struct ib_node *n, ib_item_fn fn, void *ctx);
typedef void (*ib_link_fn)(struct ib_node *n, const struct ib_link_info *link, bool up,
			   void *ctx);
/* Called when a link opens (after HELLO) and when an open link closes. */
void ib_node_on_link(struct ib_node *n, ib_link_fn fn, void *ctx);

const ib_id *ib_node_id(const struct ib_node *n);
const char *ib_node_name(const struct ib_node *n);
uint16_t ib_node_listen_port(const struct ib_node *n);
/* The parent's id, or false for a root. */
bool ib_node_parent(const struct ib_node *n, ib_id *parent);
/* This node's path, root first, itself last ([TREE-6]); returns the number of ids. */
size_t ib_node_path(const struct ib_node *n, ib_id *out, size_t max);
size_t ib_node_child_count(const struct ib_node *n);
size_t ib_node_link_count(const struct ib_node *n);   /* open links, parent included */
uint64_t ib_node_counter(const struct ib_node *n, enum ib_counter c);

/* ---- Frame traces (pcap) -------------------------------------------------------------------- */

/* A pcap file of frames: every whole frame a node sends or receives, after TLS and unchanged,
 * one packet per frame, with its time and both endpoints. The link type is
 * LINKTYPE_WIRESHARK_UPPER_PDU (252): each packet begins with Wireshark's exported-PDU tags
 * naming the dissector "interbot" (spec/wireshark/interbot.lua), the IPv4 or IPv6 addresses
 * and the TCP ports, so Wireshark and tshark open it ready to read. Every packet is flushed
 * to the file at once: the trace can be read while the node runs. The file is created with
 * mode 0600 (it holds what TLS hides). */
struct ib_trace;

/* Packets are cut at this length, tags included (Wireshark's largest packet for the link
 * type); the record keeps the frame's whole length. */
#define IB_TRACE_SNAPLEN 262144u
/* The smallest size limit: the pcap file header and one record of the largest packet. */
#define IB_TRACE_MIN_BYTES (24u + 16u + IB_TRACE_SNAPLEN)

/* One end of a link: family 4 or 6 (0: unknown, no address tag is written), the address in
 * network order (4 or 16 bytes used), the TCP port. */
struct ib_trace_addr {
	uint8_t family;
	uint8_t ip[16];
	uint16_t port;
};
/* "host:port" or "[v6]:port" with a numeric host (a "%scope" is dropped). IB_ERR_RANGE. */
int ib_trace_addr_parse(struct ib_trace_addr *a, const char *hostport);

/* Creates (or truncates) path. max_bytes 0: no limit. Otherwise the trace rotates: when the
 * next packet would take the file past max_bytes, path is renamed to path.1 (replacing an
 * older one) and a new path is started, so the newest traffic is kept in at most
 * 2 x max_bytes on disk. No path, or max_bytes below IB_TRACE_MIN_BYTES, is
 * IB_ERR_INVALID_ARG; a file that cannot be created IB_ERR_IO; diag (may be NULL) says why. */
int ib_trace_open(struct ib_trace **out, const char *path, uint64_t max_bytes,
		  struct ib_diag *diag);
/* Writes one frame (frame[0..len), whole) sent from src to dst at unix_us, and flushes it.
 * The first failure (a full disk, a failed rotation) stops the trace for good, closing the
 * file, and is returned once (IB_ERR_IO); every later call returns IB_ERR_CLOSED and writes
 * nothing. */
int ib_trace_write(struct ib_trace *t, uint64_t unix_us, const struct ib_trace_addr *src,
		   const struct ib_trace_addr *dst, const uint8_t *frame, size_t len);
struct ib_trace_stats {
	uint64_t packets;           /* written, in every file */
	uint64_t cut;               /* of those, cut at IB_TRACE_SNAPLEN */
	uint64_t rotations;
	bool stopped;               /* a failure stopped the trace */
	int error;                  /* that failure */
};
void ib_trace_stats(const struct ib_trace *t, struct ib_trace_stats *st);
/* Closes the file and frees t (NULL: nothing). */
void ib_trace_close(struct ib_trace *t);
/* Traces every frame of n's links into t from now on (NULL: stop). t is not owned: close it
 * after ib_node_free, or after setting NULL. A write failure is logged once by the node. */
void ib_node_set_trace(struct ib_node *n, struct ib_trace *t);

/* ---- TLS key log ---------------------------------------------------------------------------- */

/* Appends the TLS secrets of every handshake this process makes from now on (every node's,
 * in both roles) to path, one line per secret in the NSS key log format that Wireshark reads
 * (tls.keylog_file, the SSLKEYLOGFILE convention), flushed per line: a packet capture of the
 * links can then be decrypted. Whoever reads the file can read those links, so it is created
 * with mode 0600 and opened for appending, never through a symbolic link, and an existing file
 * is refused unless it is a regular file owned by the effective user, with no permission for
 * group or others and no other hard link. The library never opens one by itself (the
 * SSLKEYLOGFILE variable is the program's to honour). IB_ERR_INVALID_ARG without a path,
 * IB_ERR_KEY_PERMS for a file of another user or one open to others, IB_ERR_IO otherwise;
 * diag (may be NULL) says why. On failure the key log before, if any, stays; on success it
 * is closed and replaced. Not to be called while another thread runs handshakes. */
int ib_keylog_open(const char *path, struct ib_diag *diag);
/* Stops the key log and closes its file (none open: nothing). */
void ib_keylog_close(void);

/* The control socket for owner tools (spec section 19.1, DIR/control.sock; `interbot ctl`):
 * a Unix stream socket on the node's loop. A client sends one JSON object and "\n"
 * ({"cmd":"status"}), at most IB_CONTROL_MAX_REQUEST bytes before the "\n"; the node answers
 * one JSON object and "\n" ({"ok":true,...} or {"ok":false,"error":"..."}) and closes. The
 * commands and their answers are described at the top of control.c. */
#define IB_CONTROL_MAX_REQUEST 65536u
/* Listens at path with mode 0600. A stale socket file there (nobody accepts on it) is removed
 * first; a live one (another node) or a file that is not a socket is IB_ERR_IO, a path too
 * long for a Unix socket IB_ERR_RANGE, and diag says why. IB_ERR_INVALID_ARG when the node
 * has a control socket already or is stopping. Closed by ib_node_control_close, which
 * ib_node_stop and ib_node_free call. */
int ib_node_control_open(struct ib_node *n, const char *path, struct ib_diag *diag);
/* Closes the socket and every client connection (requests waiting for an answer get none)
 * and removes the socket file if it is still the one opened. Nothing when none is open. */
void ib_node_control_close(struct ib_node *n);

#endif /* INTERBOT_H */
