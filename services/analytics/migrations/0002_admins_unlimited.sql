-- Admins are never limited: plan.changed carries the user's role, and the
-- monthly click quota and the retention purge pass over an admin's clicks.
-- Rows from before (events without a role) read as 'user'.
ALTER TABLE user_plans ADD COLUMN role text NOT NULL DEFAULT 'user';
