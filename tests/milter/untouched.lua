-- untouched.lua - mail from a sender outside sender_domains passes with
-- no header edits (and, checked by milter.t, no new return path).
-- Globals from -D: SOCK, SENDER, RCPT, and optionally QID.
local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then error("cannot connect to " .. SOCK) end
if QID ~= nil then mt.macro(conn, SMFIC_MAIL, "i", QID) end
if mt.mailfrom(conn, "<" .. SENDER .. ">") ~= nil then error("mailfrom failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("MAIL not continued") end
mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp")
if mt.rcptto(conn, "<" .. RCPT .. ">") ~= nil then error("rcptto failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("RCPT not continued") end
mt.header(conn, "X-Rebound-Tag", "campaign=ignored")
mt.eoh(conn)
if mt.eom(conn) ~= nil then error("eom failed") end
local r = mt.getreply(conn)
if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then error("message not accepted") end
if mt.eom_check(conn, MT_HDRDELETE, "X-Rebound-Tag") then error("header removed") end
if mt.eom_check(conn, MT_HDRADD, "X-Rebound-Token") then error("header added") end
mt.disconnect(conn)
