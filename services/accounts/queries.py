"""The accounts service's SQL, by name. Every table lives in the ``accounts``
schema; names are qualified so the queries run on the shared pool whatever its
search path."""

from __future__ import annotations

from typing import Final

# Serialises "is the database empty?" checks of concurrent bootstraps.
LOCK_BOOTSTRAP: Final = "SELECT pg_advisory_xact_lock(hashtext('accounts:bootstrap'))"

# --- plans -------------------------------------------------------------------

_PLAN_COLUMNS: Final = (
    "id, name, free, price_monthly, price_yearly, price_lifetime, limits, "
    "rate_capacity, rate_window"
)
LIST_PLANS: Final = f"SELECT {_PLAN_COLUMNS} FROM accounts.plans ORDER BY id DESC"
GET_PLAN: Final = f"SELECT {_PLAN_COLUMNS} FROM accounts.plans WHERE id = $1"
LOCK_PLAN: Final = f"SELECT {_PLAN_COLUMNS} FROM accounts.plans WHERE id = $1 FOR UPDATE"
DEFAULT_PLAN_ID: Final = "SELECT id FROM accounts.plans WHERE free ORDER BY id LIMIT 1"
INSERT_PLAN: Final = f"""
INSERT INTO accounts.plans
    (name, free, price_monthly, price_yearly, price_lifetime, limits, rate_capacity, rate_window)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING {_PLAN_COLUMNS}"""
UPDATE_PLAN: Final = f"""
UPDATE accounts.plans
SET name = $2, free = $3, price_monthly = $4, price_yearly = $5, price_lifetime = $6,
    limits = $7, rate_capacity = $8, rate_window = $9
WHERE id = $1
RETURNING {_PLAN_COLUMNS}"""

# --- users -------------------------------------------------------------------

# A user with their effective plan (see the user_accounts view) and the display
# prefix of their live key.
_USER_SELECT: Final = """
SELECT a.id, a.username, a.email, a.role, a.plan_id, a.plan_type, a.expires_at, a.created_at,
       a.effective_plan_id, a.plan_name, a.plan_free, a.limits, a.rate_capacity, a.rate_window,
       (SELECT k.prefix FROM accounts.api_keys k
        WHERE k.user_id = a.id AND k.revoked_at IS NULL) AS key_prefix
FROM accounts.user_accounts a"""
GET_USER: Final = _USER_SELECT + " WHERE a.id = $1"
# filter: NULL | 'admin' | 'free' | 'pro'; email: NULL or a case-insensitive fragment.
LIST_USERS: Final = (
    _USER_SELECT
    + """
WHERE ($1::text IS NULL
       OR ($1 = 'admin' AND a.role = 'admin')
       OR ($1 = 'free' AND a.plan_free)
       OR ($1 = 'pro' AND NOT a.plan_free))
  AND ($2::text IS NULL OR strpos(lower(a.email), lower($2)) > 0)
ORDER BY a.id DESC
LIMIT $3 OFFSET $4"""
)
COUNT_USERS: Final = "SELECT count(*) FROM accounts.users"
USER_EXISTS: Final = "SELECT 1 FROM accounts.users WHERE id = $1"
# Serialises changes to one user's keys (two regenerations at once).
LOCK_USER: Final = "SELECT 1 FROM accounts.users WHERE id = $1 FOR UPDATE"
INSERT_USER: Final = """
INSERT INTO accounts.users
    (username, email, password_hash, role, plan_id, plan_type, expires_at, api_secret)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id"""
UPDATE_EMAIL: Final = "UPDATE accounts.users SET email = $2 WHERE id = $1"
UPDATE_PASSWORD: Final = "UPDATE accounts.users SET password_hash = $2 WHERE id = $1"  # noqa: S105
GET_SECRET: Final = "SELECT api_secret FROM accounts.users WHERE id = $1"  # noqa: S105
SUBSCRIBE_USER: Final = """
UPDATE accounts.users SET plan_id = $2, plan_type = $3, expires_at = $4
WHERE id = $1
RETURNING id"""
DELETE_USER: Final = "DELETE FROM accounts.users WHERE id = $1 RETURNING id"
# Who is currently on a plan (for plan.changed of an edited plan).
USERS_ON_PLAN: Final = "SELECT id FROM accounts.user_accounts WHERE effective_plan_id = $1"

# --- API keys ----------------------------------------------------------------

INSERT_KEY: Final = """
INSERT INTO accounts.api_keys (user_id, key_hash, prefix, expires_at)
VALUES ($1, $2, $3, $4)"""
# Revokes the live key of a user; returns its hash (for apikey.revoked).
REVOKE_KEYS: Final = """
UPDATE accounts.api_keys SET revoked_at = now()
WHERE user_id = $1 AND revoked_at IS NULL
RETURNING key_hash"""
LIVE_KEY_HASHES: Final = (
    "SELECT key_hash FROM accounts.api_keys WHERE user_id = $1 AND revoked_at IS NULL"
)
# The gateway's lookup: a live, unexpired key and its user's effective plan.
RESOLVE_KEY: Final = """
SELECT a.id, a.username, a.role, a.effective_plan_id, a.limits, a.rate_capacity, a.rate_window,
       k.expires_at AS key_expires_at
FROM accounts.api_keys k
JOIN accounts.user_accounts a ON a.id = k.user_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"""
# The add-contact endpoint's lookup: the key's user and their HMAC secret.
RESOLVE_KEY_OWNER: Final = """
SELECT u.id, u.api_secret
FROM accounts.api_keys k JOIN accounts.users u ON u.id = k.user_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"""

# --- single sign-on and sessions ---------------------------------------------

INSERT_SSO: Final = """
INSERT INTO accounts.sso_tokens (token_hash, user_id, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))"""
# Consumes a token exactly once, even under concurrent visits.
CONSUME_SSO: Final = """
UPDATE accounts.sso_tokens SET used_at = now()
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
RETURNING user_id"""
SSO_EXISTS: Final = "SELECT 1 FROM accounts.sso_tokens WHERE token_hash = $1"
# Whether a token would sign in now (NULL: unknown), without using it up.
SSO_USABLE: Final = """
SELECT used_at IS NULL AND expires_at > now() FROM accounts.sso_tokens WHERE token_hash = $1"""
INSERT_SESSION: Final = """
INSERT INTO accounts.sessions (token_hash, user_id, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))"""
DELETE_SESSIONS: Final = "DELETE FROM accounts.sessions WHERE user_id = $1"
PURGE_STALE_SSO: Final = (
    "DELETE FROM accounts.sso_tokens WHERE expires_at < now() - interval '1 day'"
)
PURGE_STALE_SESSIONS: Final = "DELETE FROM accounts.sessions WHERE expires_at < now()"

# --- contacts ----------------------------------------------------------------

_CONTACT_SELECT: Final = """
SELECT c.id, c.name, c.surname, c.email, c.gsm, c.created_at, c.updated_at,
       coalesce((SELECT array_agg(m.group_id ORDER BY m.group_id)
                 FROM accounts.contact_group_members m WHERE m.contact_id = c.id),
                '{}'::bigint[]) AS group_ids,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', v.field_id, 'value', v.value)
                                  ORDER BY v.field_id)
                 FROM accounts.contact_field_values v WHERE v.contact_id = c.id),
                '[]'::jsonb) AS field_values
FROM accounts.contacts c"""
GET_CONTACT: Final = _CONTACT_SELECT + " WHERE c.id = $1 AND c.owner_id = $2"
# group: NULL or a group id; q: NULL or a case-insensitive fragment of any of the four fields.
_CONTACT_FILTER: Final = """
WHERE c.owner_id = $1
  AND ($2::bigint IS NULL OR EXISTS (
        SELECT 1 FROM accounts.contact_group_members m
        WHERE m.contact_id = c.id AND m.group_id = $2))
  AND ($3::text IS NULL
       OR strpos(lower(coalesce(c.name, '')), lower($3)) > 0
       OR strpos(lower(coalesce(c.surname, '')), lower($3)) > 0
       OR strpos(lower(coalesce(c.email, '')), lower($3)) > 0
       OR strpos(lower(coalesce(c.gsm, '')), lower($3)) > 0)"""
LIST_CONTACTS: Final = _CONTACT_SELECT + _CONTACT_FILTER + " ORDER BY c.id DESC LIMIT $4 OFFSET $5"
COUNT_CONTACTS: Final = "SELECT count(*) FROM accounts.contacts c" + _CONTACT_FILTER
LOCK_CONTACT: Final = """
SELECT id, name, surname, email, gsm FROM accounts.contacts
WHERE id = $1 AND owner_id = $2 FOR UPDATE"""
INSERT_CONTACT: Final = """
INSERT INTO accounts.contacts (owner_id, name, surname, email, gsm)
VALUES ($1, $2, $3, $4, $5)
RETURNING id"""
UPDATE_CONTACT: Final = """
UPDATE accounts.contacts SET name = $3, surname = $4, email = $5, gsm = $6, updated_at = now()
WHERE id = $1 AND owner_id = $2"""
DELETE_CONTACT: Final = "DELETE FROM accounts.contacts WHERE id = $1 AND owner_id = $2"
CLEAR_MEMBERSHIPS: Final = "DELETE FROM accounts.contact_group_members WHERE contact_id = $1"
ADD_MEMBERSHIPS: Final = """
INSERT INTO accounts.contact_group_members (contact_id, group_id)
SELECT $1, g FROM unnest($2::bigint[]) AS g
ON CONFLICT DO NOTHING"""
SET_FIELD_VALUES: Final = """
INSERT INTO accounts.contact_field_values (contact_id, field_id, value)
SELECT $1, f, v FROM unnest($2::bigint[], $3::text[]) AS t (f, v)
ON CONFLICT (contact_id, field_id) DO UPDATE SET value = excluded.value"""
DELETE_FIELD_VALUES: Final = """
DELETE FROM accounts.contact_field_values
WHERE contact_id = $1 AND field_id = any($2::bigint[])"""

OWNED_GROUP_IDS: Final = """
SELECT id FROM accounts.contact_groups WHERE owner_id = $1 AND id = any($2::bigint[])"""
OWNED_FIELDS: Final = """
SELECT id, type FROM accounts.contact_fields WHERE owner_id = $1 AND id = any($2::bigint[])"""

LIST_GROUPS: Final = """
SELECT g.id, g.name, g.created_at,
       (SELECT count(*) FROM accounts.contact_group_members m WHERE m.group_id = g.id) AS contacts
FROM accounts.contact_groups g
WHERE g.owner_id = $1
ORDER BY g.id DESC LIMIT $2 OFFSET $3"""
COUNT_GROUPS: Final = "SELECT count(*) FROM accounts.contact_groups WHERE owner_id = $1"
INSERT_GROUP: Final = """
INSERT INTO accounts.contact_groups (owner_id, name) VALUES ($1, $2) RETURNING id"""
DELETE_GROUP: Final = "DELETE FROM accounts.contact_groups WHERE id = $1 AND owner_id = $2"

LIST_FIELDS: Final = """
SELECT id, name, type, created_at FROM accounts.contact_fields
WHERE owner_id = $1
ORDER BY id DESC LIMIT $2 OFFSET $3"""
COUNT_FIELDS: Final = "SELECT count(*) FROM accounts.contact_fields WHERE owner_id = $1"
INSERT_FIELD: Final = """
INSERT INTO accounts.contact_fields (owner_id, name, type) VALUES ($1, $2, $3) RETURNING id"""
DELETE_FIELD: Final = "DELETE FROM accounts.contact_fields WHERE id = $1 AND owner_id = $2"

# --- teams -------------------------------------------------------------------

# Serialises changes to one owner's team (the plan's team.count holds under
# concurrent invitations and acceptances); also says whether the owner exists.
LOCK_TEAM_OWNER: Final = "SELECT 1 FROM accounts.users WHERE id = $1 FOR UPDATE"
# Members plus invitations still open: what team.count counts.
COUNT_TEAM_SEATS: Final = """
SELECT (SELECT count(*) FROM accounts.team_members WHERE owner_id = $1)
     + (SELECT count(*) FROM accounts.team_invitations
        WHERE owner_id = $1 AND accepted_at IS NULL AND expires_at > now()
          AND ($2::bigint IS NULL OR id <> $2))"""
_MEMBER_SELECT: Final = """
SELECT m.id, m.member_id, u.username, u.email, m.permissions, m.created_at, m.updated_at
FROM accounts.team_members m JOIN accounts.users u ON u.id = m.member_id"""
LIST_MEMBERS: Final = (
    _MEMBER_SELECT + " WHERE m.owner_id = $1 ORDER BY m.id DESC LIMIT $2 OFFSET $3"
)
IS_MEMBER: Final = "SELECT 1 FROM accounts.team_members WHERE owner_id = $1 AND member_id = $2"
COUNT_MEMBERS: Final = "SELECT count(*) FROM accounts.team_members WHERE owner_id = $1"
GET_MEMBER: Final = _MEMBER_SELECT + " WHERE m.id = $1 AND m.owner_id = $2"
UPDATE_MEMBER: Final = """
UPDATE accounts.team_members SET permissions = $3, updated_at = now()
WHERE id = $1 AND owner_id = $2
RETURNING member_id"""
DELETE_MEMBER: Final = """
DELETE FROM accounts.team_members WHERE id = $1 AND owner_id = $2 RETURNING member_id"""
INSERT_MEMBER: Final = """
INSERT INTO accounts.team_members (owner_id, member_id, permissions)
VALUES ($1, $2, $3)
ON CONFLICT (owner_id, member_id) DO NOTHING
RETURNING id"""
# The workspaces a user is a member of (for their X-Workspace header).
LIST_WORKSPACES: Final = """
SELECT m.owner_id, u.username, m.permissions, m.created_at
FROM accounts.team_members m JOIN accounts.users u ON u.id = m.owner_id
WHERE m.member_id = $1
ORDER BY m.id DESC LIMIT $2 OFFSET $3"""
COUNT_WORKSPACES: Final = "SELECT count(*) FROM accounts.team_members WHERE member_id = $1"
LIST_INVITATIONS: Final = """
SELECT id, email, permissions, expires_at, created_at FROM accounts.team_invitations
WHERE owner_id = $1 AND accepted_at IS NULL AND expires_at > now()
ORDER BY id DESC"""
OPEN_INVITATION_FOR: Final = """
SELECT 1 FROM accounts.team_invitations
WHERE owner_id = $1 AND lower(email) = lower($2) AND accepted_at IS NULL AND expires_at > now()"""
INSERT_INVITATION: Final = """
INSERT INTO accounts.team_invitations (owner_id, email, permissions, token_hash, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
RETURNING id, expires_at"""
# Withdraws an open invitation (its seat is free again); a used one stays as a record.
DELETE_INVITATION: Final = """
DELETE FROM accounts.team_invitations
WHERE id = $1 AND owner_id = $2 AND accepted_at IS NULL
RETURNING id"""
# The invitation a token opens, whatever its state (the caller says why it is
# unusable), locked: a concurrent acceptance waits, then sees it used.
FIND_INVITATION: Final = """
SELECT id, owner_id, email, permissions, accepted_at IS NULL AND expires_at > now() AS usable
FROM accounts.team_invitations WHERE token_hash = $1
FOR UPDATE"""
# Uses a token exactly once, even when two acceptances race.
USE_INVITATION: Final = """
UPDATE accounts.team_invitations SET accepted_at = now(), accepted_by = $2
WHERE id = $1 AND accepted_at IS NULL AND expires_at > now()
RETURNING id"""
USERNAME_OF: Final = "SELECT username FROM accounts.users WHERE id = $1"
USER_BY_EMAIL: Final = "SELECT id FROM accounts.users WHERE lower(email) = lower($1)"
# A team member's key resolved in an owner's workspace: the owner's account and
# plan, the member's id, permissions and key expiry.
RESOLVE_WORKSPACE_KEY: Final = """
SELECT a.id, a.username, a.role, a.effective_plan_id, a.limits, a.rate_capacity, a.rate_window,
       k.expires_at AS key_expires_at, m.member_id, m.permissions
FROM accounts.api_keys k
JOIN accounts.team_members m ON m.member_id = k.user_id AND m.owner_id = $2
JOIN accounts.user_accounts a ON a.id = m.owner_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"""
