-- suppressed.lua - a suppressed recipient gets the configured 5xx at RCPT;
-- the next, unsuppressed recipient of the same transaction passes.
-- Globals from -D: SOCK, SENDER, RCPT (suppressed), OTHER, QID.
local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then error("cannot connect to " .. SOCK) end
if mt.mailfrom(conn, "<" .. SENDER .. ">") ~= nil then error("mailfrom failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("MAIL not continued") end
mt.macro(conn, SMFIC_RCPT, "i", QID, "{rcpt_mailer}", "smtp")
if mt.rcptto(conn, "<" .. RCPT .. ">") ~= nil then error("rcptto failed") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("suppressed RCPT not refused") end
if mt.rcptto(conn, "<" .. OTHER .. ">") ~= nil then error("rcptto failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("other RCPT refused") end
mt.disconnect(conn)
