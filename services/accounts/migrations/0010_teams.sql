-- Teams: an owner's workspace members and the invitations that bring them in.
-- Invitation tokens are stored only as sha256 hex, like every other secret.

CREATE TABLE team_members (
    id          bigserial   PRIMARY KEY,
    owner_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    member_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- any of: analytics, links, assets, team (services/accounts/team_permissions.py)
    permissions text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_members_once UNIQUE (owner_id, member_id),
    CONSTRAINT team_members_not_self CHECK (owner_id <> member_id)
);
CREATE INDEX team_members_member ON team_members (member_id);

CREATE TABLE team_invitations (
    id          bigserial   PRIMARY KEY,
    owner_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       text        NOT NULL,
    permissions text[]      NOT NULL,
    token_hash  text        NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX team_invitations_owner ON team_invitations (owner_id, id);
