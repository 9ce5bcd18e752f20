-- Push: followers are told when our change feed moved, and sync within
-- seconds instead of waiting for their timer (app/federation/push.py).

-- How many notifications a followed peer has sent us. A sync remembers the
-- count it started with and, when it changed meanwhile, is followed by another.
ALTER TABLE peers ADD COLUMN notified INTEGER NOT NULL DEFAULT 0;

-- The newest sequence number of our feed that our followers were told about.
CREATE TABLE federation_push (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    pushed INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO federation_push (id, pushed) VALUES (1, 0);
