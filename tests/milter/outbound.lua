-- outbound.lua - mail from a sender domain: the tag headers are removed,
-- an X-Rebound-Token is added (token_header = yes) and the message is
-- accepted.  The new return path itself is checked by milter.t in the log
-- and the database: miltertest cannot inspect SMFIR_CHGFROM.
-- Globals from -D: SOCK, SENDER, RCPT, QID, and optionally FLOOD and PAUSE.
local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then error("cannot connect to " .. SOCK) end
-- MAIL, the headers and EOH never change the SMTP reply, so the milter asks
-- Postfix not to wait for them: one round trip per header saved.
for _, opt in ipairs({ SMFIP_NR_MAIL, SMFIP_NR_HDR, SMFIP_NR_EOH }) do
	if not mt.test_option(conn, opt) then error("no-reply option not negotiated") end
end
if mt.test_option(conn, SMFIP_NR_RCPT) then error("RCPT must be answered") end
mt.macro(conn, SMFIC_MAIL, "i", QID)
if mt.mailfrom(conn, "<" .. SENDER .. ">", "RET=HDRS", "ENVID=e42") ~= nil then
	error("mailfrom failed")
end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("MAIL not continued") end
mt.macro(conn, SMFIC_RCPT, "i", QID, "{rcpt_mailer}", "smtp", "{rcpt_host}", "[127.0.0.1]")
if mt.rcptto(conn, "<" .. RCPT .. ">") ~= nil then error("rcptto failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("RCPT not continued") end
mt.header(conn, "Subject", "outbound")
mt.header(conn, "Message-ID", "<outbound." .. QID .. "@client.example>")
mt.header(conn, "X-Rebound-Tag", "campaign=spring; list=news")
mt.header(conn, "X-Rebound-Tag", "broken tag without equals")
mt.header(conn, "X-Rebound-Token", "forged-by-the-client")
-- FLOOD: that many more tag headers, each with a tag of its own.
for i = 1, tonumber(FLOOD or "0") do mt.header(conn, "X-Rebound-Tag", "k" .. i .. "=v") end
mt.eoh(conn)
-- PAUSE: seconds to wait before the end of the message, a transaction
-- kept in progress while milter.t reloads the configuration.
if PAUSE ~= nil then mt.sleep(tonumber(PAUSE)) end
if mt.eom(conn) ~= nil then error("eom failed") end
local r = mt.getreply(conn)
if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then error("message not accepted") end
if not mt.eom_check(conn, MT_HDRDELETE, "X-Rebound-Tag") then
	error("X-Rebound-Tag not removed")
end
if not mt.eom_check(conn, MT_HDRDELETE, "X-Rebound-Token") then
	error("the client's X-Rebound-Token not removed")
end
if not mt.eom_check(conn, MT_HDRADD, "X-Rebound-Token") then
	error("X-Rebound-Token not added")
end
mt.disconnect(conn)
