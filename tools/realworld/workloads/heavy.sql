-- A compute-heavy SQL workload for tools/bench/tier_up_realworld.py --heavy (in-memory
-- database; natively ~0.5 s): memory.sql's kinds of work on more rows.
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, category INTEGER, price REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
INSERT INTO item SELECT x, 'item-' || (x * 7919 % 200003), x % 17, (x * 31 % 1000) / 10.0 FROM c;
CREATE INDEX item_name ON item(name);
CREATE TABLE category(id INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 16)
INSERT INTO category SELECT x, printf('cat-%02d', x) FROM c;
SELECT count(*), printf('%.2f', sum(price)), min(name), max(name) FROM item;
SELECT c.label, count(*), printf('%.2f', avg(i.price)) FROM item i JOIN category c ON c.id = i.category
  GROUP BY c.label ORDER BY 3 DESC, 1 LIMIT 5;
SELECT name, price, rank() OVER (ORDER BY price DESC, id) FROM item WHERE category = 3 LIMIT 5;
SELECT count(*) FROM item WHERE name LIKE 'item-1%';
SELECT count(DISTINCT substr(name, 6, 3)), max(length(name)) FROM item;
SELECT json_object('n', count(*), 'max', max(price)) FROM item;
UPDATE item SET price = price * 2 WHERE category < 5;
DELETE FROM item WHERE id % 3 = 0;
SELECT count(*), printf('%.2f', total(price)) FROM item;
SELECT category, count(*) FROM item GROUP BY category ORDER BY 2 DESC, 1 LIMIT 3;
