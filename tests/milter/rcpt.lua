-- rcpt.lua - one recipient, and the answer the milter must give it:
-- EXPECT=continue (SMFIR_CONTINUE) or EXPECT=refuse (a reply code, 4xx or
-- 5xx: milter.t tells them apart in the log).  The script fails on any
-- other answer and when the milter does not answer at all, so a dead
-- milter passes for neither.
-- Globals from -D: SOCK, SENDER, RCPT, EXPECT, and optionally QID and
-- MAILER (the {rcpt_mailer}, smtp by default).
local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then error("cannot connect to " .. SOCK) end
if mt.mailfrom(conn, "<" .. SENDER .. ">") ~= nil then error("mailfrom failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("MAIL not continued") end
mt.macro(conn, SMFIC_RCPT, "i", QID or "RCPT1", "{rcpt_mailer}", MAILER or "smtp")
if mt.rcptto(conn, "<" .. RCPT .. ">") ~= nil then error("rcptto failed") end
local r = mt.getreply(conn)
if EXPECT == "continue" then
	if r ~= SMFIR_CONTINUE then error("RCPT refused") end
elseif EXPECT == "refuse" then
	if r ~= SMFIR_REPLYCODE and r ~= SMFIR_REJECT and r ~= SMFIR_TEMPFAIL then
		error("RCPT not refused")
	end
else
	error("EXPECT must be continue or refuse")
end
mt.disconnect(conn)
