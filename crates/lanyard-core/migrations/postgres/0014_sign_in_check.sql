-- One statement per sign-in on PostgreSQL (issue 17): a sign-in's writes (replay record, pending
-- login, provisioning, session, audit) go as ONE statement of data-modifying CTEs, whose last
-- part calls this function with whether the replay record was written and the pending login
-- consumed. Raising aborts the statement, and with it every write in it, so a replayed answer or
-- an answer to a request already answered leaves nothing behind. The codes are read by
-- store/signin.rs (LY001 replay, LY002 pending login gone).
-- PostgreSQL only: SQLite refuses the same sign-ins with failing statements of its batch.
CREATE FUNCTION lanyard_sign_in_check(replay_recorded BOOLEAN, pending_consumed BOOLEAN)
RETURNS INTEGER AS $$
BEGIN
  IF NOT replay_recorded THEN
    RAISE EXCEPTION 'the assertion or token was used already' USING ERRCODE = 'LY001';
  END IF;
  IF NOT pending_consumed THEN
    RAISE EXCEPTION 'the pending login is gone' USING ERRCODE = 'LY002';
  END IF;
  RETURN 1;
END
$$ LANGUAGE plpgsql VOLATILE;
