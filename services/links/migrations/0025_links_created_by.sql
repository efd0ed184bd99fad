-- Who made a link: the team member who added it in the owner's workspace
-- (the identity's actor), or NULL for the owner themselves.
ALTER TABLE links ADD COLUMN created_by bigint;
