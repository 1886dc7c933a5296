-- faults-workload.lua - the fixed workload of milter-faults.t: five SMTP
-- transactions, one after another, each expecting the milter's normal
-- replies.  They make five records, in this order:
--   QA  message, one recipient, tags
--   QB  message, three recipients, tags
--   QC  event: a suppressed recipient refused (the next one passes)
--   QD  event: a recipient Postfix rejected (SMFIP_RCPT_REJ)
--   QE  message, two recipients, no tags
-- It prints "answered QX" once the milter has answered the step that
-- made the record of QX.  A reply other than the normal one ends it with
-- a line "wrong: ..."; a milter gone away (the fault was fatal) ends it
-- with an error and no such line.
-- Globals from -D: SOCK, SENDER, SUPPRESSED, and Q, the prefix of the
-- queue ids (QA is Q .. "A").
local function wrong(text)
	print("wrong: " .. text)
	error(text)
end

local function connect()
	-- Few attempts: the milter is up, and a dead one should fail fast.
	local conn = mt.connect(SOCK, 5, 0.1)
	if conn == nil then error("cannot connect to " .. SOCK) end
	return conn
end

local function mail(conn, qid)
	mt.macro(conn, SMFIC_MAIL, "i", qid)
	if mt.mailfrom(conn, "<" .. SENDER .. ">") ~= nil then error("mailfrom failed") end
	if mt.getreply(conn) ~= SMFIR_CONTINUE then wrong(qid .. ": MAIL not continued") end
end

local function rcpt(conn, qid, address, want)
	mt.macro(conn, SMFIC_RCPT, "i", qid, "{rcpt_mailer}", "smtp", "{rcpt_host}", "[127.0.0.1]")
	if mt.rcptto(conn, "<" .. address .. ">") ~= nil then error("rcptto failed") end
	if mt.getreply(conn) ~= want then wrong(qid .. ": unexpected reply to " .. address) end
end

local function outbound(qid, rcpts, tags)
	local conn = connect()
	mail(conn, qid)
	for _, address in ipairs(rcpts) do rcpt(conn, qid, address, SMFIR_CONTINUE) end
	mt.header(conn, "Message-ID", "<fault." .. qid .. "@client.example>")
	if tags ~= nil then mt.header(conn, "X-Rebound-Tag", tags) end
	mt.eoh(conn)
	if mt.eom(conn) ~= nil then error(qid .. ": eom failed") end
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then wrong(qid .. ": message not accepted") end
	if not mt.eom_check(conn, MT_HDRADD, "X-Rebound-Token") then
		wrong(qid .. ": X-Rebound-Token not added")
	end
	print("answered " .. qid)
	mt.disconnect(conn)
end

outbound(Q .. "A", { "a1@good.example" }, "campaign=fault; list=a")
outbound(Q .. "B", { "b1@good.example", "b2@good.example", "b3@good.example" },
	"campaign=fault; list=b")

local conn = connect()
mail(conn, Q .. "C")
rcpt(conn, Q .. "C", SUPPRESSED, SMFIR_REPLYCODE)
print("answered " .. Q .. "C")
rcpt(conn, Q .. "C", "c1@good.example", SMFIR_CONTINUE)
mt.disconnect(conn)

conn = connect()
if not mt.test_option(conn, SMFIP_RCPT_REJ) then wrong("SMFIP_RCPT_REJ not negotiated") end
mail(conn, Q .. "D")
mt.macro(conn, SMFIC_RCPT, "i", Q .. "D", "{rcpt_mailer}", "error", "{rcpt_host}", "5.1.1",
	"{rcpt_addr}", "Recipient address rejected: <d1@good.example>: User unknown")
if mt.rcptto(conn, "<d1@good.example>") ~= nil then error("rcptto failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then wrong("rejected RCPT not continued") end
print("answered " .. Q .. "D")
mt.disconnect(conn)

outbound(Q .. "E", { "e1@good.example", "e2@good.example" }, nil)
