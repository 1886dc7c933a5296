-- bounce.lua - the bounce-domain guard: malformed, forged and expired
-- tokens are refused at RCPT, a valid token and classic VERP pass, and a
-- valid token earns an X-Rebound-Verification header at EOM (a copy sent
-- by the client is removed).
-- Globals from -D: SOCK, DOMAIN, VALID, FORGED, EXPIRED, and optionally
-- PREFIX (return_path_prefix, bounces by default).
local P = (PREFIX or "bounces") .. "+"
local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then error("cannot connect to " .. SOCK) end
if mt.mailfrom(conn, "<>") ~= nil then error("mailfrom failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("MAIL not continued") end
mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "rebound")
local function rcpt(local_part, want, what)
	if mt.rcptto(conn, "<" .. local_part .. "@" .. DOMAIN .. ">") ~= nil then
		error("rcptto failed")
	end
	if mt.getreply(conn) ~= want then error(what) end
end
rcpt(P .. FORGED, SMFIR_REPLYCODE, "forged token accepted")
rcpt(P .. EXPIRED, SMFIR_REPLYCODE, "expired token accepted")
rcpt(P .. "notatoken", SMFIR_REPLYCODE, "malformed token accepted")
-- An XVERP recipient after a forged token does not make it classic VERP.
rcpt(P .. FORGED .. "+bob=good.example", SMFIR_REPLYCODE,
	"forged token followed by an XVERP recipient accepted")
rcpt(P .. VALID .. "+bob=good.example", SMFIR_CONTINUE,
	"valid token followed by an XVERP recipient refused")
rcpt(P .. "alice=good.example", SMFIR_CONTINUE, "classic VERP refused")
rcpt("postmaster", SMFIR_CONTINUE, "postmaster at the bounce domain refused")
rcpt(P .. VALID, SMFIR_CONTINUE, "valid token refused")
mt.header(conn, "X-Rebound-Verification", "valid (forged by the sender)")
mt.eoh(conn)
if mt.eom(conn) ~= nil then error("eom failed") end
local r = mt.getreply(conn)
if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then error("bounce not accepted") end
if not mt.eom_check(conn, MT_HDRDELETE, "X-Rebound-Verification") then
	error("the sender's X-Rebound-Verification not removed")
end
if not mt.eom_check(conn, MT_HDRADD, "X-Rebound-Verification", "valid") then
	error("X-Rebound-Verification not added")
end
mt.disconnect(conn)
