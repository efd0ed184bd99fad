-- Tags (many per link, per owner: a tag is just a name on the owner's links)
-- and the import source key that makes re-running an import create nothing twice.

-- Lower-cased tag names, no duplicates (services/links/tags.py normalises them).
ALTER TABLE links ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
-- GET /api/urls?tag=... and the stats of one tag: the owner's links holding it.
CREATE INDEX links_tags ON links USING gin (tags) WHERE tags <> '{}';

-- Where an imported link came from, e.g. 'bitly:bit.ly/3xYz' or 'csv:<row key>':
-- one link per source key per owner, whatever the importer's re-runs.
ALTER TABLE links ADD COLUMN import_source text;
CREATE UNIQUE INDEX links_import_source ON links (owner_id, import_source)
    WHERE import_source IS NOT NULL;
