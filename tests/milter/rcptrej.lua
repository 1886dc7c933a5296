-- rcptrej.lua - with SMFIP_RCPT_REJ negotiated, a recipient Postfix
-- rejected arrives with {rcpt_mailer} = error; the milter continues (its
-- reply is ignored anyway) and milter.t checks the recorded event.
-- Globals from -D: SOCK, SENDER, RCPT, QID.
local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then error("cannot connect to " .. SOCK) end
if not mt.test_option(conn, SMFIP_RCPT_REJ) then error("SMFIP_RCPT_REJ not negotiated") end
if mt.mailfrom(conn, "<" .. SENDER .. ">") ~= nil then error("mailfrom failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("MAIL not continued") end
mt.macro(conn, SMFIC_RCPT, "i", QID, "{rcpt_mailer}", "error", "{rcpt_host}", "5.1.1",
	"{rcpt_addr}", "Recipient address rejected: <" .. RCPT .. ">: User unknown")
if mt.rcptto(conn, "<" .. RCPT .. ">") ~= nil then error("rcptto failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rejected RCPT not continued") end
mt.disconnect(conn)
