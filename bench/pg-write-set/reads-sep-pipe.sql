\set a random(1, 100000)
\set b random(100001, 200000)
\set s random(1, 200000)
\startpipeline
BEGIN;
SELECT balance, held FROM accounts WHERE id = :a FOR UPDATE;
SELECT balance, held FROM accounts WHERE id = :b FOR UPDATE;
SELECT state, completed_at FROM settlements_t WHERE id = :s FOR UPDATE;
SELECT id, state, settlement_id, updated_at FROM visits_t WHERE id = :s;
SELECT person, year, pool, deductible, fund FROM accumulators WHERE person = 'P' || CAST(:a AS bigint) AND year = 2026 AND pool = 'outpatient';
SELECT person, settlement FROM locks WHERE person = 'P' || CAST(:a AS bigint);
SELECT key, result FROM idem WHERE key = 'K' || CAST(:a AS bigint);
SELECT id, kind, settlement, amount FROM channel_ops WHERE id = 'C' || CAST(:a AS bigint);
COMMIT;
\endpipeline
