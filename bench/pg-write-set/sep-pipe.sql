\set n random(1, 1000000000000)
\set a random(1, 100000)
\set b random(100001, 200000)
\set s random(1, 200000)
\startpipeline
BEGIN;
UPDATE accounts SET balance = balance + CASE id WHEN :a THEN -10 WHEN :b THEN 10 ELSE 0 END WHERE id IN (:a, :b);
INSERT INTO journal_entries (id, kind, reference, created_at) VALUES ('J' || CAST(:n AS bigint), 'settlement', 'S' || CAST(:n AS bigint), 1);
INSERT INTO postings (entry_id, account_id, amount) VALUES ('J' || CAST(:n AS bigint), 'personal-' || CAST(:a AS bigint), -10), ('J' || CAST(:n AS bigint), 'fund-' || CAST(:b AS bigint), 10), ('J' || CAST(:n AS bigint), 'clearing-H1', 5), ('J' || CAST(:n AS bigint), 'cash-' || CAST(:a AS bigint), -5);
INSERT INTO accumulators (person, year, pool, deductible, fund) VALUES ('P' || CAST(:a AS bigint), 2026, 'outpatient', 1, 1) ON CONFLICT (person, year, pool) DO UPDATE SET deductible = excluded.deductible, fund = excluded.fund;
UPDATE settlements_t SET state = 'completed', completed_at = 1 WHERE id = :s AND state = 'pending';
UPDATE visits_t SET state = 'settled', settlement_id = 'S' || CAST(:n AS bigint), updated_at = 1 WHERE id = :s;
DELETE FROM locks WHERE person = 'P' || CAST(:a AS bigint) AND settlement = 'S' || CAST(:n AS bigint);
INSERT INTO channel_ops (id, kind, settlement, amount, created_at) VALUES ('C' || CAST(:n AS bigint), 'capture', 'S' || CAST(:n AS bigint), 5, 1);
INSERT INTO outbox (kind, reference, payload, created_at) VALUES ('settlement', 'S' || CAST(:n AS bigint), '{"some":"payload of moderate size to be like the real thing"}', 1);
INSERT INTO idem (key, result, updated_at) VALUES ('K' || CAST(:n AS bigint), 'S' || CAST(:n AS bigint), 1);
COMMIT;
\endpipeline
