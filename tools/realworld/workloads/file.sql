-- An SQL workload for tools/realworld/run.py on a database file in a preopened directory:
-- journal files, locks, fsync, reopening.
PRAGMA journal_mode;
CREATE TABLE log(id INTEGER PRIMARY KEY, msg TEXT);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500)
INSERT INTO log(msg) SELECT 'message ' || x FROM c;
COMMIT;
INSERT INTO log(msg) VALUES ('after commit');
SELECT count(*), max(id), (SELECT msg FROM log ORDER BY id DESC LIMIT 1) FROM log;
PRAGMA integrity_check;
VACUUM;
SELECT count(*) FROM log WHERE msg LIKE '%5%';
