-- interbot.lua - a Wireshark dissector for the interbot protocol, version 1
-- (spec/interbot-v1.md: the frame envelope of section 5, the message header of section 6,
-- every body of section 7).
--
-- It reads the traces `interbot run DIR --pcap FILE` writes: LINKTYPE_WIRESHARK_UPPER_PDU
-- packets whose tags name this dissector, one whole frame per packet; and TLS decrypted with
-- a key log (interbot-conform --keylog FILE), found by its ALPN interbot/1. Load it with
--     wireshark -X lua_script:spec/wireshark/interbot.lua FILE
--     tshark -r FILE -X lua_script:spec/wireshark/interbot.lua -V
-- or copy it to the personal Lua plugins folder (Help > About > Folders).
--
-- Field names are the spec's: interbot.id_bot, interbot.signature_length, interbot.type,
-- interbot.seq, interbot.dest, interbot.<message>.<field> (interbot.publish.key,
-- interbot.hello.role, interbot.error.code ...). The frame inside a TRANSFER is dissected the
-- same way, below interbot.transfer.frame. What the library refuses as malformed is marked
-- with expert info named after its error (interbot.expert.truncated, .trailing, .range,
-- .bad_string, .bad_signature_length, .unsupported_version, .reserved_type, .hop_dest,
-- .no_dest), so that a filter `_ws.expert` or `interbot.expert.range` finds it. Signatures
-- and origins are not checked: that needs the keys.

local proto = Proto("interbot", "Interbot Protocol")

local FRAME_HEADER_LEN = 21
local MSG_HEADER_LEN = 28
local ID_LEN = 16
local SIG_LEN = 64
local MAX_DEPTH = 8   -- TRANSFER in TRANSFER ...: a crafted packet cannot exhaust the stack

local type_names = {
	[0x01] = "HELLO", [0x02] = "PATH", [0x03] = "PING", [0x04] = "PONG", [0x05] = "ERROR",
	[0x10] = "PUBLISH", [0x11] = "QUERY", [0x12] = "OFFER", [0x13] = "SELECT",
	[0x14] = "TRANSFER", [0x20] = "COMMAND", [0x21] = "RESULT", [0x30] = "ANNOUNCE",
	[0x31] = "PARTED",
}
local role_names = { [1] = "server", [2] = "client" }
local error_code_names = {         -- section 17
	[1] = "protocol_violation", [2] = "not_authorized", [3] = "loop_detected",
	[4] = "too_big", [5] = "keepalive_timeout", [6] = "revoked",
	[7] = "no_children_accepted", [8] = "unsupported_version", [9] = "shutting_down",
	[10] = "duplicate_identity",
}
local status_names = {             -- section 15
	[0] = "ok", [1] = "failed", [2] = "denied", [3] = "unknown", [4] = "bad_args",
	[5] = "not_found",
}

-- ---- Fields ---------------------------------------------------------------------------------

local hf = {
	id_bot = ProtoField.bytes("interbot.id_bot", "Origin (id_bot)"),
	signature_length = ProtoField.uint16("interbot.signature_length", "Signature length"),
	message_length = ProtoField.uint24("interbot.message_length", "Message length"),
	signature = ProtoField.bytes("interbot.signature", "Signature"),
	message = ProtoField.bytes("interbot.message", "Message"),
	version = ProtoField.uint8("interbot.version", "Version"),
	type = ProtoField.uint8("interbot.type", "Type", base.HEX, type_names),
	flags = ProtoField.uint16("interbot.flags", "Flags", base.HEX),
	seq = ProtoField.uint64("interbot.seq", "Sequence number"),
	dest = ProtoField.bytes("interbot.dest", "Destination (all zero: everyone)"),
	body = ProtoField.bytes("interbot.body", "Body (type not known here)"),
	arg = ProtoField.bytes("interbot.command.arg", "Argument"),
}

-- The bodies of section 7, field by field in wire order. Kinds: u8 u16 u32 u64 id,
-- string (u8 length), blob (u24 length), path (path_count u8, then ids), nonce
-- (nonce_length u8, then bytes), frame (a blob holding a whole frame, or nothing).
-- min/max: the spec's range (for strings and blobs: of the length).
local schemas = {
	[0x01] = { "hello", {
		{ "role", "u8", min = 1, max = 2, names = role_names },
		{ "keepalive_interval_ms", "u32", min = 100, max = 3600000 },
		{ "max_message", "u32", min = 65536, max = 16777215 },
		{ "name", "string", min = 1 },
		{ "path", "path" } } },
	[0x02] = { "path", { { "path", "path" } } },
	[0x03] = { "ping", { { "nonce", "nonce" } } },
	[0x04] = { "pong", { { "nonce", "nonce" } } },
	[0x05] = { "error", {
		{ "code", "u16", names = error_code_names },
		{ "reason", "string" } } },
	[0x10] = { "publish", {
		{ "key", "string", min = 1 },
		{ "version", "u64", min = 1 },
		{ "value", "blob" } } },
	[0x11] = { "query", {
		{ "query_id", "u64" },
		{ "key", "string", min = 1 } } },
	[0x12] = { "offer", {
		{ "query_id", "u64" },
		{ "key", "string", min = 1 },
		{ "version", "u64", min = 1 },
		{ "writer", "id" } } },
	[0x13] = { "select", {
		{ "query_id", "u64" },
		{ "key", "string", min = 1 },
		{ "version", "u64", min = 1 } } },
	[0x14] = { "transfer", {
		{ "query_id", "u64" },
		{ "frame", "frame" } } },
	[0x20] = { "command", {
		{ "cmd_id", "u64" },
		{ "name", "string", min = 1 },
		{ "args", "blob", args = true } } },
	[0x21] = { "result", {
		{ "cmd_id", "u64" },
		{ "status", "u16", names = status_names },
		{ "output", "blob" } } },
	[0x30] = { "announce", {
		{ "parent", "id" },
		{ "role", "u8", min = 1, max = 2, names = role_names },
		{ "name", "string", min = 1 },
		{ "software", "string" } } },
	[0x31] = { "parted", { { "child", "id" } } },
}

-- One ProtoField per body field (and per length prefix), named interbot.<message>.<field>.
local function make_fields(msg, f)
	local abbr = "interbot." .. msg .. "." .. f[1]
	local kind = f[2]
	if kind == "u8" then
		f.hf = ProtoField.uint8(abbr, f[1], base.DEC, f.names)
	elseif kind == "u16" then
		f.hf = ProtoField.uint16(abbr, f[1], base.DEC, f.names)
	elseif kind == "u32" then
		f.hf = ProtoField.uint32(abbr, f[1], base.DEC)
	elseif kind == "u64" then
		f.hf = ProtoField.uint64(abbr, f[1], base.DEC)
	elseif kind == "string" then
		f.hf = ProtoField.string(abbr, f[1], base.UNICODE)
		f.hf_len = ProtoField.uint8(abbr .. "_length", f[1] .. " length")
	elseif kind == "blob" or kind == "frame" then
		f.hf = ProtoField.bytes(abbr, f[1])
		f.hf_len = ProtoField.uint24(abbr .. "_length", f[1] .. " length")
	elseif kind == "id" then
		f.hf = ProtoField.bytes(abbr, f[1])
	elseif kind == "path" then
		f.hf = ProtoField.bytes(abbr, "path element (id_bot)")
		f.hf_len = ProtoField.uint8("interbot." .. msg .. ".path_count", "path_count")
	elseif kind == "nonce" then
		f.hf = ProtoField.bytes(abbr, "nonce")
		f.hf_len = ProtoField.uint8("interbot." .. msg .. ".nonce_length", "nonce_length")
	end
	return { f.hf, f.hf_len }
end

local all_fields = {}
for _, v in pairs(hf) do
	all_fields[#all_fields + 1] = v
end
for _, s in pairs(schemas) do
	for _, f in ipairs(s[2]) do
		for _, field in pairs(make_fields(s[1], f)) do
			all_fields[#all_fields + 1] = field
		end
	end
end
proto.fields = all_fields

-- ---- Expert info: the library's error names (ib_errname) ------------------------------------

local MAL, PROTO = expert.group.MALFORMED, expert.group.PROTOCOL
local ERR, WARN, NOTE = expert.severity.ERROR, expert.severity.WARN, expert.severity.NOTE
local ef = {
	truncated = ProtoExpert.new("interbot.expert.truncated",
		"Truncated: fewer bytes than the field needs", MAL, ERR),
	trailing = ProtoExpert.new("interbot.expert.trailing",
		"Trailing bytes after the last field", MAL, ERR),
	range = ProtoExpert.new("interbot.expert.range", "Value outside its range", MAL, ERR),
	bad_string = ProtoExpert.new("interbot.expert.bad_string",
		"String not UTF-8, or holding U+0000", MAL, ERR),
	bad_signature_length = ProtoExpert.new("interbot.expert.bad_signature_length",
		"signature_length is not 64 (the frame is dropped)", PROTO, WARN),
	unsupported_version = ProtoExpert.new("interbot.expert.unsupported_version",
		"Message version is not 1", PROTO, WARN),
	reserved_type = ProtoExpert.new("interbot.expert.reserved_type",
		"Reserved message type", PROTO, WARN),
	hop_dest = ProtoExpert.new("interbot.expert.hop_dest",
		"Hop-local message with dest set", PROTO, WARN),
	no_dest = ProtoExpert.new("interbot.expert.no_dest",
		"OFFER, SELECT, TRANSFER or RESULT with dest all zero", PROTO, WARN),
	unknown_type = ProtoExpert.new("interbot.expert.unknown_type",
		"Unassigned type: relayed (end-to-end) or ignored (hop-local)", PROTO, NOTE),
	bad_args = ProtoExpert.new("interbot.expert.bad_args",
		"args do not decode: a bad_args result, not a malformed message", PROTO, NOTE),
	cut = ProtoExpert.new("interbot.expert.cut",
		"The capture holds only the start of this frame", expert.group.UNDECODED, NOTE),
	too_deep = ProtoExpert.new("interbot.expert.too_deep",
		"Frames nested too deep: not dissected further", expert.group.UNDECODED, NOTE),
}
local ef_list = {}
for _, v in pairs(ef) do
	ef_list[#ef_list + 1] = v
end
proto.experts = ef_list

-- ---- A cursor over the packet ------------------------------------------------------------
-- Every read goes through need(): the bytes must lie before `limit` (the end the enclosing
-- length gives) or the part is truncated; and they must have been captured, or the packet
-- was cut by the trace's snapshot length (not the sender's fault: noted, not an error).

local Cursor = {}
Cursor.__index = Cursor

local function new_cursor(tvb, pinfo, off, limit)
	return setmetatable({ tvb = tvb, pinfo = pinfo, off = off, limit = limit }, Cursor)
end

function Cursor:need(n, tree, what)
	if self.off + n > self.limit then
		local left = self.limit - self.off
		local item = tree:add_proto_expert_info(ef.truncated, string.format(
			"Truncated: %s needs %d bytes, %d left", what, n, left))
		self.stopped = true
		return false, item
	end
	if self.off + n > self.tvb:len() then
		tree:add_proto_expert_info(ef.cut)
		self.stopped = true
		return false
	end
	return true
end

-- The next n bytes as a TvbRange (n may be 0), after need().
function Cursor:take(n)
	local r = self.tvb(self.off, n)
	self.off = self.off + n
	return r
end

-- [MSG-8] RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF, no U+0000.
local function utf8_valid(bytes)
	local i, n = 0, bytes:len()
	while i < n do
		local c = bytes:get_index(i)
		local extra, min
		if c == 0 then
			return false
		elseif c < 0x80 then
			extra = 0
		elseif c >= 0xC2 and c <= 0xDF then
			extra, min = 1, 0x80
		elseif c >= 0xE0 and c <= 0xEF then
			extra, min = 2, 0x800
		elseif c >= 0xF0 and c <= 0xF4 then
			extra, min = 3, 0x10000
		else
			return false
		end
		if extra > 0 then
			if i + extra > n - 1 then
				return false   -- ends inside the sequence
			end
			local cp = c % (2 ^ (6 - extra))
			for k = 1, extra do
				local b = bytes:get_index(i + k)
				if b < 0x80 or b > 0xBF then
					return false
				end
				cp = cp * 64 + (b - 0x80)
			end
			if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then
				return false
			end
		end
		i = i + 1 + extra
	end
	return true
end

local function range_error(item, name, value)
	item:add_proto_expert_info(ef.range, string.format("%s %s outside its range", name,
		tostring(value)))
end

-- ---- Body fields ----------------------------------------------------------------------------

local dissect_frame   -- the frame inside a TRANSFER

local int_sizes = { u8 = 1, u16 = 2, u32 = 4, u64 = 8 }

local function read_int(c, tree, f)
	local n = int_sizes[f[2]]
	if not c:need(n, tree, f[1]) then
		return nil
	end
	local r = c:take(n)
	local item = tree:add(f.hf, r)
	local v = n == 8 and r:uint64() or r:uint()
	if n == 8 then
		if f.min and v == UInt64(0) then
			range_error(item, f[1], v)
		end
	elseif (f.min and v < f.min) or (f.max and v > f.max) then
		range_error(item, f[1], v)
	end
	return v
end

-- A length prefix (of size n), then that many bytes: the length item, then the value item
-- (which covers the value bytes only, so that its value is exactly them); returns the value
-- item, its range and the length.
local function read_prefixed(c, tree, f, n)
	if not c:need(n, tree, f[1] .. " length") then
		return nil
	end
	local lr = c:take(n)
	local len = lr:uint()
	tree:add(f.hf_len, lr)
	if not c:need(len, tree, f[1]) then
		return nil
	end
	local vr = c:take(len)
	local item
	if f[2] == "string" then
		item = tree:add(f.hf, vr, vr:string(ENC_UTF_8))
	else
		item = tree:add(f.hf, vr)
		if len == 0 then
			item:set_text(f[1] .. ": (empty)")   -- not Wireshark's "<MISSING>"
		end
	end
	return item, vr, len
end

local function read_string(c, tree, f)
	local item, vr, len = read_prefixed(c, tree, f, 1)
	if not item then
		return nil
	end
	if not utf8_valid(vr:bytes()) then
		item:add_proto_expert_info(ef.bad_string)
	end
	if f.min and len < f.min then
		range_error(item, f[1] .. " length", len)
	end
	return vr:string(ENC_UTF_8)
end

-- [CMD-4] args: u24-prefixed items filling the blob; relays do not look inside.
local function show_args(c, item, vr)
	local off, stop = vr:offset(), vr:offset() + vr:len()
	while off < stop do
		if off + 3 > stop or off + 3 + c.tvb(off, 3):uint() > stop then
			item:add_proto_expert_info(ef.bad_args)
			return
		end
		local len = c.tvb(off, 3):uint()
		item:add(hf.arg, c.tvb(off + 3, len))
		off = off + 3 + len
	end
end

local function read_blob(c, tree, f, depth)
	local item, vr, len = read_prefixed(c, tree, f, 3)
	if not item then
		return nil
	end
	if f.args and len > 0 then
		show_args(c, item, vr)
	elseif f[2] == "frame" and len > 0 then
		-- [7.9] exactly one whole frame: dissected as any other, within the blob.
		dissect_frame(c.tvb, c.pinfo, item, vr:offset(), vr:offset() + len, depth + 1)
	end
	return vr
end

local function read_id(c, tree, f)
	if c:need(ID_LEN, tree, f[1]) then
		local r = c:take(ID_LEN)
		tree:add(f.hf, r)
		return r
	end
end

-- path_count u8 (1 .. 255) then that many ids; nonce_length u8 (16 .. 64) then the nonce.
local function read_counted(c, tree, f, unit, min, max)
	if not c:need(1, tree, f[1] .. " count") then
		return nil
	end
	local cr = c:take(1)
	local count = cr:uint()
	local count_item = tree:add(f.hf_len, cr)
	if count < min or count > max then
		range_error(count_item, f[1] .. " count", count)
	end
	if not c:need(count * unit, tree, f[1]) then
		return nil
	end
	if unit == 1 then
		tree:add(f.hf, c:take(count))
	else
		for _ = 1, count do
			tree:add(f.hf, c:take(unit))
		end
	end
	return count
end

local function read_field(c, tree, f, depth)
	local kind = f[2]
	if int_sizes[kind] then
		return read_int(c, tree, f)
	elseif kind == "string" then
		return read_string(c, tree, f)
	elseif kind == "blob" or kind == "frame" then
		return read_blob(c, tree, f, depth)
	elseif kind == "id" then
		return read_id(c, tree, f)
	elseif kind == "path" then
		return read_counted(c, tree, f, ID_LEN, 1, 255)
	elseif kind == "nonce" then
		return read_counted(c, tree, f, 1, 16, 64)
	end
end

-- [MSG-7] the exact schema: the fields in order, then nothing left over.
local function dissect_body(c, tree, schema, depth)
	local values = {}
	for _, f in ipairs(schema[2]) do
		local v = read_field(c, tree, f, depth)
		if c.stopped then
			return values
		end
		values[f[1]] = v
	end
	if c.off < c.limit then
		local r = c.tvb(c.off, math.min(c.limit, c.tvb:len()) - c.off)
		tree:add_tvb_expert_info(ef.trailing, r, string.format(
			"Trailing: %d bytes after the last field", c.limit - c.off))
	end
	return values
end

-- ---- Message header (section 6) -------------------------------------------------------------

-- [MSG-11] the types that answer one node.
local directed = { [0x12] = true, [0x13] = true, [0x14] = true, [0x21] = true }

local function is_zero(r)
	local b = r:bytes()
	for i = 0, b:len() - 1 do
		if b:get_index(i) ~= 0 then
			return false
		end
	end
	return true
end

-- A short summary for the Info column: the type, and the key or name if there is one.
local function summary(name, values)
	local label = values.key or values.name
	if type(label) == "string" then
		return name .. " " .. label
	end
	return name
end

local function dissect_message(tvb, pinfo, tree, off, limit, depth)
	local c = new_cursor(tvb, pinfo, off, limit)
	-- [MSG-2] shorter than the header: one error, whichever field it cuts.
	if not c:need(MSG_HEADER_LEN, tree, "the message header") then
		return "(truncated)"
	end
	local version = tvb(off, 1):uint()
	local vitem = tree:add(hf.version, c:take(1))
	local type_code = tvb(c.off, 1):uint()
	local titem = tree:add(hf.type, c:take(1))
	tree:add(hf.flags, c:take(2))
	tree:add(hf.seq, c:take(8))
	local dest = c:take(ID_LEN)
	local ditem = tree:add(hf.dest, dest)
	local name = type_names[type_code] or string.format("0x%02x", type_code)
	-- [MSG-1] another version: its body's layout is unknown.
	if version ~= 1 then
		vitem:add_proto_expert_info(ef.unsupported_version)
	end
	-- [MSG-3] reserved types.
	local hop = type_code >= 0x01 and type_code <= 0x0f
	local e2e = type_code >= 0x10 and type_code <= 0x7f
	if not hop and not e2e then
		titem:add_proto_expert_info(ef.reserved_type)
	elseif hop and not is_zero(dest) then
		ditem:add_proto_expert_info(ef.hop_dest)       -- [MSG-6]
	end
	local schema = schemas[type_code]
	if version ~= 1 or not schema then
		if version == 1 and (hop or e2e) then
			titem:add_proto_expert_info(ef.unknown_type)   -- [MSG-9] [MSG-10]
		end
		if c.off < limit and c:need(limit - c.off, tree, "the body") then
			tree:add(hf.body, c:take(limit - c.off))
		end
		return name
	end
	local values = dissect_body(c, tree, schema, depth)
	-- [MSG-11] checked after the body, as the library does: marked last.
	if directed[type_code] and is_zero(dest) then
		tree:add_proto_expert_info(ef.no_dest)
	end
	return summary(name, values)
end

-- ---- The frame envelope (section 5) -----------------------------------------------------------

-- Dissects the frame at off, which should end exactly at limit, below tree.
function dissect_frame(tvb, pinfo, tree, off, limit, depth)
	local shown = math.min(limit, tvb:len()) - off
	local ft = tree:add(proto, tvb(off, shown), depth == 0 and "Interbot frame" or
		"Interbot frame (the writer's own)")
	if depth > MAX_DEPTH then
		ft:add_proto_expert_info(ef.too_deep)
		return "(too deep)"
	end
	local c = new_cursor(tvb, pinfo, off, limit)
	if not c:need(FRAME_HEADER_LEN, ft, "the frame header") then
		return "(truncated)"
	end
	local sig_len = tvb(off + ID_LEN, 2):uint()
	local msg_len = tvb(off + ID_LEN + 2, 3):uint()
	-- [FRAME-2] the two lengths alone delimit the frame. [FRAME-8] the length is judged
	-- first, so it is marked first.
	local stop = off + FRAME_HEADER_LEN + sig_len + msg_len
	if stop > limit then
		ft:add_proto_expert_info(ef.truncated, string.format(
			"Truncated: the frame's lengths need %d bytes, %d there",
			stop - off, limit - off))
	end
	ft:add(hf.id_bot, c:take(ID_LEN))
	local sitem = ft:add(hf.signature_length, c:take(2))
	ft:add(hf.message_length, c:take(3))
	if sig_len ~= SIG_LEN then
		sitem:add_proto_expert_info(ef.bad_signature_length)   -- [FRAME-3]
	end
	local info
	if c:need(sig_len, ft, "the signature") then
		ft:add(hf.signature, c:take(sig_len))
		local mend = math.min(stop, limit)
		local mt = ft:add(hf.message, tvb(c.off, math.min(mend, tvb:len()) - c.off))
		info = dissect_message(tvb, pinfo, mt, c.off, mend, depth)
	else
		info = "(truncated)"
	end
	if stop < limit then
		local r = tvb(stop, math.min(limit, tvb:len()) - stop)
		ft:add_tvb_expert_info(ef.trailing, r, string.format(
			"Trailing: %d bytes after the frame", limit - stop))
	end
	return info
end

-- A stream (TLS decrypted with a key log): every whole frame in the data, and a request to
-- TLS for the bytes the last one still needs ([FRAME-2]: a frame may span records).
local function dissect_stream(tvb, pinfo, tree)
	local off, infos = 0, {}
	while off < tvb:len() do
		local left = tvb:len() - off
		local total = FRAME_HEADER_LEN
		if left >= FRAME_HEADER_LEN then
			total = total + tvb(off + ID_LEN, 2):uint() + tvb(off + ID_LEN + 2, 3):uint()
		end
		if total > left then
			pinfo.desegment_offset = off
			pinfo.desegment_len = left < FRAME_HEADER_LEN and DESEGMENT_ONE_MORE_SEGMENT
				or total - left
			break
		end
		infos[#infos + 1] = dissect_frame(tvb, pinfo, tree, off, off + total, 0)
		off = off + total
	end
	if #infos > 0 then
		pinfo.cols.info = table.concat(infos, ", ")
	end
end

function proto.dissector(tvb, pinfo, tree)
	pinfo.cols.protocol = "interbot"
	if pinfo.can_desegment > 0 then
		dissect_stream(tvb, pinfo, tree)
	else
		-- A trace: one whole frame per packet, or the start of one when the trace cut it.
		pinfo.cols.info = dissect_frame(tvb, pinfo, tree, 0, tvb:reported_len(), 0)
	end
	return tvb:len()
end

-- Decrypted TLS with the ALPN of [TLS-2] is interbot.
local ok, alpn = pcall(DissectorTable.get, "tls.alpn")
if ok and alpn then
	alpn:add("interbot/1", proto)
end
