-- The address book: each user's contacts, groups and custom fields.
-- Everything hangs off users (ON DELETE CASCADE): deleting a user removes it all.

CREATE TABLE contact_groups (
    id         bigserial   PRIMARY KEY,
    owner_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contact_groups_owner_name ON contact_groups (owner_id, lower(name));

CREATE TABLE contact_fields (
    id         bigserial   PRIMARY KEY,
    owner_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    type       text        NOT NULL CHECK (type IN ('text', 'number', 'date')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contact_fields_owner_name ON contact_fields (owner_id, lower(name));

CREATE TABLE contacts (
    id         bigserial   PRIMARY KEY,
    owner_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text,
    surname    text,
    email      text,
    gsm        text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contacts_identified CHECK (
        coalesce(name, '') <> '' OR coalesce(surname, '') <> ''
        OR coalesce(email, '') <> '' OR coalesce(gsm, '') <> '')
);
CREATE INDEX contacts_owner ON contacts (owner_id, id DESC);

CREATE TABLE contact_group_members (
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    group_id   bigint NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, group_id)
);
CREATE INDEX contact_group_members_group ON contact_group_members (group_id, contact_id);

CREATE TABLE contact_field_values (
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    field_id   bigint NOT NULL REFERENCES contact_fields (id) ON DELETE CASCADE,
    value      text   NOT NULL,
    PRIMARY KEY (contact_id, field_id)
);
CREATE INDEX contact_field_values_field ON contact_field_values (field_id);
