-- tempfail.lua - a message the milter must answer with a temporary
-- failure (milter_failure_action = tempfail) at MAIL, RCPT or the end of
-- the message, whichever stage the failure is found at.  It fails if every
-- stage is let through, or if the milter does not answer.
-- Globals from -D: SOCK, SENDER, RCPT, QID.
local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then error("cannot connect to " .. SOCK) end
local function refused(r) return r == SMFIR_TEMPFAIL or r == SMFIR_REPLYCODE end
mt.macro(conn, SMFIC_MAIL, "i", QID)
if mt.mailfrom(conn, "<" .. SENDER .. ">") ~= nil then error("mailfrom failed") end
if refused(mt.getreply(conn)) then return end
mt.macro(conn, SMFIC_RCPT, "i", QID, "{rcpt_mailer}", "smtp")
if mt.rcptto(conn, "<" .. RCPT .. ">") ~= nil then error("rcptto failed") end
if refused(mt.getreply(conn)) then return end
mt.header(conn, "Subject", "tempfail")
mt.eoh(conn)
if mt.eom(conn) ~= nil then error("eom failed") end
if not refused(mt.getreply(conn)) then error("the message was not refused") end
mt.disconnect(conn)
