-- Clicks on a bio page's blocks (the edge's /<alias>/b/<id>): the event names the
-- page's link and the block. Such a click is stored raw like any other and counted
-- here, per block; it is not a view of the page, so it is in none of the link's
-- rollups (link_totals, breakdowns, visitors).
ALTER TABLE clicks ADD COLUMN block_id bigint;

CREATE TABLE block_totals (
    link_id  bigint NOT NULL,
    block_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    clicks   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, block_id)
) WITH (fillfactor = 80);
