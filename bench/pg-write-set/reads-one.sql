\set a random(1, 100000)
\set b random(100001, 200000)
\set s random(1, 200000)
BEGIN;
SELECT (SELECT json_agg(t) FROM (SELECT balance, held FROM accounts WHERE id = :a FOR UPDATE) t) AS r0, (SELECT json_agg(t) FROM (SELECT balance, held FROM accounts WHERE id = :b FOR UPDATE) t) AS r1, (SELECT json_agg(t) FROM (SELECT state, completed_at FROM settlements_t WHERE id = :s FOR UPDATE) t) AS r2, (SELECT json_agg(t) FROM (SELECT id, state, settlement_id, updated_at FROM visits_t WHERE id = :s) t) AS r3, (SELECT json_agg(t) FROM (SELECT person, year, pool, deductible, fund FROM accumulators WHERE person = 'P' || CAST(:a AS bigint) AND year = 2026 AND pool = 'outpatient') t) AS r4, (SELECT json_agg(t) FROM (SELECT person, settlement FROM locks WHERE person = 'P' || CAST(:a AS bigint)) t) AS r5, (SELECT json_agg(t) FROM (SELECT key, result FROM idem WHERE key = 'K' || CAST(:a AS bigint)) t) AS r6, (SELECT json_agg(t) FROM (SELECT id, kind, settlement, amount FROM channel_ops WHERE id = 'C' || CAST(:a AS bigint)) t) AS r7;
COMMIT;
