import YibaoCore

/// Numbered, append-only schema migrations: they read like a changelog. A released migration never
/// changes; a change is a new migration. Both databases run the same DDL (integers and text only).
public enum Migrations {
    /// One migration.
    public struct Migration: Sendable {
        /// The version this migration brings the schema to.
        public let version: Int
        /// What it does.
        public let name: String
        /// The statements, run in one transaction.
        public let statements: [String]
    }

    /// Every migration, in order.
    public static let all: [Migration] = [
        Migration(version: 1, name: "foundation: people, institutions, catalogue, policies, ledger, visits, settlements", statements: foundation),
        Migration(
            version: 2, name: "one-code payment: patients, sessions, devices, codes, funding sources, channel operations, sandbox bank",
            statements: oneCode
        ),
        Migration(version: 3, name: "security: signing secrets, request nonces, the hash-chained audit log", statements: security),
        Migration(version: 4, name: "wallet, inbox, webhooks, transaction reports, premiums and coverage", statements: wallet),
        Migration(version: 5, name: "family accounts: bindings, who pays for a visit", statements: family),
        Migration(
            version: 6, name: "credit: partners, lines, bills, entries, repayments, credit reports, frictionless authorisations", statements: credit),
        Migration(version: 7, name: "ledger: the platform's accounts kept in slots (the balance is their sum)", statements: slots),
        Migration(
            version: 8,
            name: "account security: second-factor failures and lockout, recent second factor per session, authenticator resets, account adjustments",
            statements: accountSecurity),
        Migration(version: 9, name: "decide, then write: the outbox of projections expanded after the commit", statements: outbox),
        Migration(
            version: 10,
            name:
                "reconciliation and clearing: when each settlement completed, clearings, their items and deductions, payout accounts, the exception queue, the national gateway's messages and registrations",
            statements: clearing),
        Migration(version: 11, name: "payment orders: a visit paid on the patient's phone (national 6201)", statements: paymentOrders),
        Migration(
            version: 12, name: "the national gateway's visit query (5201): registrations by institution and person",
            statements: ["CREATE INDEX national_registrations_person ON national_registrations (institution_code, person_number, created_at)"]),
        Migration(
            version: 13,
            name:
                "institution staff: cashiers and managers who sign in to the cashier console; open visits by institution; visits per hospital level in the accumulators",
            statements: staff),
        Migration(
            version: 14, name: "medication reminders: a schedule per settled drug line, fired into the inbox at its times",
            statements: [
                """
                CREATE TABLE medication_reminders (
                    id TEXT PRIMARY KEY,
                    person_number TEXT NOT NULL,
                    settlement_id TEXT NOT NULL,
                    line_number TEXT NOT NULL,
                    state TEXT NOT NULL,
                    next_at BIGINT,
                    body TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    UNIQUE (settlement_id, line_number)
                )
                """,
                "CREATE INDEX medication_reminders_person ON medication_reminders (person_number, created_at)",
                "CREATE INDEX medication_reminders_due ON medication_reminders (next_at) WHERE next_at IS NOT NULL",
            ]),
        Migration(
            version: 15, name: "the national gateway keeps the diagnoses a hospital reports (sealed), for 5202",
            statements: ["ALTER TABLE national_registrations ADD COLUMN diagnoses_cipher TEXT"]),
        Migration(
            version: 16,
            name: "commercial plans: a region's plan per year, and what it met and paid of each person's year beside the basic fund's",
            statements: [
                "ALTER TABLE accumulators ADD COLUMN plan_deductible_met BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE accumulators ADD COLUMN plan_paid BIGINT NOT NULL DEFAULT 0",
                """
                CREATE TABLE commercial_plans (
                    region TEXT NOT NULL,
                    year BIGINT NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    document TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (region, year)
                )
                """,
                "CREATE INDEX settlements_region_time ON settlements (region, created_at)",
            ]),
        Migration(
            version: 17,
            name:
                "a plan's claims found by the plan that paid: the plan's id on the records it paid or got money back in, indexed for those records only (instead of every settlement by region)",
            statements: [
                "ALTER TABLE settlements ADD COLUMN plan_id TEXT",
                "DROP INDEX IF EXISTS settlements_region_time",
                "CREATE INDEX settlements_plan_time ON settlements (plan_id, completed_at) WHERE plan_id IS NOT NULL",
            ]),
        Migration(
            version: 18,
            name:
                "the daily close verifies the day's entries, not the whole ledger: each account row's verified sum of postings, and up to when it holds",
            statements: [
                "CREATE TABLE verified_balances (account_id TEXT PRIMARY KEY, balance BIGINT NOT NULL)",
                "CREATE TABLE ledger_verified (id BIGINT PRIMARY KEY, through BIGINT, day TEXT, rebuilding TEXT, updated_at BIGINT NOT NULL)",
                "INSERT INTO ledger_verified (id, through, day, rebuilding, updated_at) VALUES (1, NULL, NULL, NULL, 0)",
            ]),
        Migration(
            version: 19,
            name:
                "the settlements still pending indexed alone: an index of every settlement by state let SQLite's planner read all the completed ones for a question about a few (the reversals of a batch's settlements, a person's purchases)",
            statements: [
                "DROP INDEX IF EXISTS settlements_state",
                "CREATE INDEX settlements_pending ON settlements (created_at) WHERE state = 'pending'",
            ]),
        Migration(
            version: 20,
            name:
                "a settlement indexed only where it has the value asked for: by original only if it gives money back for one, by completion only once completed (every settlement added an entry keyed NULL to the first, and a card payment one to the second that its completion then moved)",
            statements: [
                "DROP INDEX IF EXISTS settlements_original",
                "CREATE INDEX settlements_original ON settlements (original_id) WHERE original_id IS NOT NULL",
                "DROP INDEX IF EXISTS settlements_completed",
                "CREATE INDEX settlements_completed ON settlements (institution_code, completed_at) WHERE completed_at IS NOT NULL",
            ]),
        Migration(
            version: 21,
            name:
                "what waits indexed alone: the counter's visits waiting to be settled (a one-code visit is written paying or settled and never waits, yet every one added an entry keyed by its state that a card payment's completion then moved) and the channel operations still pending (every capture done moved its entry to 'done', where nothing looks for it)",
            statements: [
                "DROP INDEX IF EXISTS visits_institution_state",
                "CREATE INDEX visits_open ON visits (institution_code, opened_at, id) WHERE state = 'open'",
                "DROP INDEX IF EXISTS channel_operations_due",
                "CREATE INDEX channel_operations_due ON channel_operations (next_attempt_at, id) WHERE state = 'pending'",
            ]),
        Migration(
            version: 22,
            name:
                "a settlement waiting for the bank is its patient's payment lock: one pending settlement per person, held by a unique index of the pending ones, instead of a row of payment_locks written with it and deleted when it ends (the index's few entries still serve the questions about what is pending)",
            statements: [
                "DROP INDEX IF EXISTS settlements_pending",
                "CREATE UNIQUE INDEX settlements_pending ON settlements (person_number) WHERE state = 'pending'",
                "DROP TABLE payment_locks",
            ]),
    ]

    /// The newest version this program knows.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    /// Brings the database schema up to date; returns the versions applied. Safe to run from several
    /// instances at once (PostgreSQL takes an advisory lock; SQLite has one writer). A migration may
    /// build an index over a large table, and an instance waits for another's migration under the
    /// advisory lock: neither has a limit on the database's answer (`DatabaseWait.unbounded`).
    @discardableResult
    public static func migrate(_ backend: any StoreBackend, now: Instant) async throws -> [Int] {
        try await DatabaseWait.unbounded { try await migrateUnbounded(backend, now: now) }
    }

    private static func migrateUnbounded(_ backend: any StoreBackend, now: Instant) async throws -> [Int] {
        _ = try await backend.write { db in
            try db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)", [])
        }
        return try await backend.write { db in
            if db.dialect == .postgres { _ = try db.query("SELECT pg_advisory_xact_lock(73012026)", []) }
            let current =
                try db.queryOne("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS version FROM schema_migrations", [])?.int64("version") ?? 0
            guard current <= latestVersion else { throw StoreError.schemaTooNew(stored: Int(current), known: latestVersion) }
            var applied: [Int] = []
            for migration in all where migration.version > current {
                for statement in migration.statements { try db.execute(statement, []) }
                try db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.int(migration.version), .text(migration.name), .instant(now)]
                )
                applied.append(migration.version)
            }
            return applied
        }
    }

    /// The schema version stored in the database (0 when none).
    public static func storedVersion(_ backend: any StoreBackend) async throws -> Int {
        try await backend.read { db in
            let exists =
                try db.queryOne(
                    db.dialect == .postgres
                        ? "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'schema_migrations'"
                        : "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                    []
                )?.int64("n") ?? 0
            guard exists > 0 else { return 0 }
            return Int(
                try db.queryOne("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS version FROM schema_migrations", [])?.int64("version") ?? 0)
        }
    }

    /// When the database was created: the first migration's time, the day this installation went
    /// into service (nil before any migration).
    public static func createdAt(in db: any SQLExecutor) throws -> Instant? {
        try db.queryOne("SELECT MIN(applied_at) AS at FROM schema_migrations", [])?.optionalInstant("at")
    }

    static let foundation: [String] = [
        """
        CREATE TABLE people (
            number TEXT PRIMARY KEY,
            name_cipher TEXT NOT NULL,
            id_number_cipher TEXT NOT NULL,
            id_number_lookup TEXT NOT NULL UNIQUE,
            phone_cipher TEXT,
            phone_lookup TEXT,
            key_id TEXT NOT NULL,
            birth_date TEXT NOT NULL,
            region TEXT NOT NULL,
            insurance_type TEXT NOT NULL,
            retired BIGINT NOT NULL,
            status TEXT NOT NULL,
            cross_region_filing TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX people_phone_lookup ON people (phone_lookup)",
        """
        CREATE TABLE institutions (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            region TEXT NOT NULL,
            level TEXT NOT NULL,
            kind TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE institution_keys (
            key_id TEXT PRIMARY KEY,
            institution_code TEXT NOT NULL REFERENCES institutions (code),
            secret_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT,
            revoked_at BIGINT
        )
        """,
        "CREATE INDEX institution_keys_institution ON institution_keys (institution_code)",
        """
        CREATE TABLE operators (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            disabled_at BIGINT
        )
        """,
        """
        CREATE TABLE operator_tokens (
            token_hash TEXT PRIMARY KEY,
            operator_id TEXT NOT NULL REFERENCES operators (id),
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT
        )
        """,
        """
        CREATE TABLE catalogue_items (
            region TEXT NOT NULL,
            code TEXT NOT NULL,
            name TEXT NOT NULL,
            specification TEXT NOT NULL,
            category TEXT NOT NULL,
            item_class TEXT NOT NULL,
            price_cap BIGINT,
            first_self_pay_bp BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (region, code)
        )
        """,
        """
        CREATE TABLE policies (
            region TEXT NOT NULL,
            insurance_type TEXT NOT NULL,
            year BIGINT NOT NULL,
            document TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (region, insurance_type, year)
        )
        """,
        "CREATE TABLE reference_versions (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
        """
        CREATE TABLE accumulators (
            person_number TEXT NOT NULL,
            year BIGINT NOT NULL,
            pool TEXT NOT NULL,
            deductible_paid BIGINT NOT NULL,
            basic_fund_paid BIGINT NOT NULL,
            above_cap_amount BIGINT NOT NULL,
            above_cap_fund_paid BIGINT NOT NULL,
            in_scope_total BIGINT NOT NULL,
            visits BIGINT NOT NULL,
            PRIMARY KEY (person_number, year, pool)
        )
        """,
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            owner TEXT NOT NULL,
            balance BIGINT NOT NULL,
            held BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            CHECK (kind <> 'personal' OR (held >= 0 AND balance >= held))
        )
        """,
        """
        CREATE TABLE journal_entries (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            reference TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX journal_entries_reference ON journal_entries (reference)",
        """
        CREATE TABLE postings (
            entry_id TEXT NOT NULL REFERENCES journal_entries (id),
            account_id TEXT NOT NULL REFERENCES accounts (id),
            amount BIGINT NOT NULL,
            PRIMARY KEY (entry_id, account_id)
        )
        """,
        "CREATE INDEX postings_account ON postings (account_id)",
        """
        CREATE TABLE visits (
            id TEXT PRIMARY KEY,
            institution_code TEXT NOT NULL REFERENCES institutions (code),
            person_number TEXT NOT NULL REFERENCES people (number),
            category TEXT NOT NULL,
            hospital_visit_number TEXT NOT NULL,
            state TEXT NOT NULL,
            lines TEXT NOT NULL,
            line_count BIGINT NOT NULL,
            total BIGINT NOT NULL,
            settlement_id TEXT,
            opened_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (institution_code, hospital_visit_number)
        )
        """,
        """
        CREATE TABLE settlements (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            visit_id TEXT NOT NULL REFERENCES visits (id),
            original_id TEXT,
            institution_code TEXT NOT NULL,
            person_number TEXT NOT NULL,
            mutual_aid_payer TEXT,
            region TEXT NOT NULL,
            insurance_type TEXT NOT NULL,
            year BIGINT NOT NULL,
            pool TEXT NOT NULL,
            category TEXT NOT NULL,
            total BIGINT NOT NULL,
            fund_total BIGINT NOT NULL,
            account_paid BIGINT NOT NULL,
            cash_paid BIGINT NOT NULL,
            document TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            reversed_by TEXT
        )
        """,
        "CREATE INDEX settlements_institution_time ON settlements (institution_code, created_at)",
        "CREATE INDEX settlements_person_time ON settlements (person_number, created_at)",
        "CREATE INDEX settlements_original ON settlements (original_id)",
        """
        CREATE TABLE idempotency_keys (
            scope TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            result_kind TEXT NOT NULL,
            result_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (scope, idempotency_key)
        )
        """,
    ]

    static let oneCode: [String] = [
        """
        CREATE TABLE patients (
            person_number TEXT PRIMARY KEY REFERENCES people (number),
            phone_lookup TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            totp_secret_cipher TEXT NOT NULL,
            totp_last_step BIGINT NOT NULL,
            failed_sign_ins BIGINT NOT NULL,
            locked_until BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE sms_codes (
            phone_lookup TEXT NOT NULL,
            purpose TEXT NOT NULL,
            code_hash TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (phone_lookup, purpose)
        )
        """,
        """
        CREATE TABLE patient_sessions (
            token_hash TEXT PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            person_number TEXT NOT NULL REFERENCES people (number),
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT
        )
        """,
        "CREATE INDEX patient_sessions_person ON patient_sessions (person_number)",
        """
        CREATE TABLE devices (
            id TEXT PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,
            person_number TEXT NOT NULL REFERENCES people (number),
            name TEXT NOT NULL,
            secret_cipher TEXT NOT NULL,
            enrolled_at BIGINT NOT NULL,
            revoked_at BIGINT
        )
        """,
        "CREATE INDEX devices_person ON devices (person_number)",
        """
        CREATE TABLE used_codes (
            device_id TEXT NOT NULL REFERENCES devices (id),
            step BIGINT NOT NULL,
            institution_code TEXT NOT NULL,
            used_at BIGINT NOT NULL,
            PRIMARY KEY (device_id, step)
        )
        """,
        """
        CREATE TABLE funding_sources (
            id TEXT PRIMARY KEY,
            person_number TEXT NOT NULL REFERENCES people (number),
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,
            token TEXT NOT NULL,
            masked TEXT NOT NULL,
            bank TEXT NOT NULL,
            is_default BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            removed_at BIGINT
        )
        """,
        "CREATE INDEX funding_sources_person ON funding_sources (person_number)",
        """
        CREATE TABLE payment_locks (
            person_number TEXT PRIMARY KEY,
            settlement_id TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE channel_operations (
            id TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,
            reference TEXT NOT NULL,
            refund_reference TEXT,
            amount BIGINT NOT NULL,
            state TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX channel_operations_due ON channel_operations (state, next_attempt_at)",
        "ALTER TABLE visits ADD COLUMN payment_authority TEXT NOT NULL DEFAULT 'counter'",
        "ALTER TABLE visits ADD COLUMN device_id TEXT",
        "ALTER TABLE settlements ADD COLUMN funding_source_id TEXT",
        "CREATE INDEX settlements_state ON settlements (state, created_at)",
        """
        CREATE TABLE sandbox_cards (
            number TEXT PRIMARY KEY,
            token TEXT NOT NULL UNIQUE,
            holder_id_hash TEXT NOT NULL,
            holder_name TEXT NOT NULL,
            kind TEXT NOT NULL,
            bank TEXT NOT NULL,
            balance BIGINT NOT NULL,
            credit_limit BIGINT NOT NULL,
            used BIGINT NOT NULL,
            held BIGINT NOT NULL,
            single_limit BIGINT,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE sandbox_operations (
            reference TEXT PRIMARY KEY,
            token TEXT NOT NULL,
            amount BIGINT NOT NULL,
            state TEXT NOT NULL,
            captured BIGINT NOT NULL,
            refunded BIGINT NOT NULL,
            decline_reason TEXT,
            description TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE sandbox_refunds (
            refund_reference TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            amount BIGINT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
    ]

    static let security: [String] = [
        "ALTER TABLE institution_keys ADD COLUMN secret_cipher TEXT",
        """
        CREATE TABLE request_nonces (
            key_id TEXT NOT NULL,
            nonce TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (key_id, nonce)
        )
        """,
        "CREATE INDEX request_nonces_expiry ON request_nonces (expires_at)",
        """
        CREATE TABLE audit_heads (
            lane BIGINT PRIMARY KEY,
            seq BIGINT NOT NULL,
            hash TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE audit_log (
            lane BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (lane, seq)
        )
        """,
        "CREATE INDEX audit_log_subject ON audit_log (subject)",
        "INSERT INTO audit_heads (lane, seq, hash) VALUES (0, 0, 'ebf9ace616db34b5508b26c4727694c2569beebc4271447a498c85a7e737d372')",
        "INSERT INTO audit_heads (lane, seq, hash) VALUES (1, 0, 'c8083477ffb772d99406f0a48fafb98dcc497dbd45fc57279b5688912f2b6b08')",
        "INSERT INTO audit_heads (lane, seq, hash) VALUES (2, 0, 'c744f47645afc47a283922f3af0968a3b57a7aacf04fecd0eee1007a84800156')",
        "INSERT INTO audit_heads (lane, seq, hash) VALUES (3, 0, 'c9124219ffc4bb4dec9488e24bb2f7c1c11a6ca860281d31426cedc9e34bf0a7')",
        "INSERT INTO audit_heads (lane, seq, hash) VALUES (4, 0, '81a39c7350fe5654778aa2b63a9c1289e439fcf565aa26ae932d1b73c4348f62')",
        "INSERT INTO audit_heads (lane, seq, hash) VALUES (5, 0, '29f592379a8378f3643a4ea0d0c140f2360486aa12b3838f29a530cc76e1ed36')",
        "INSERT INTO audit_heads (lane, seq, hash) VALUES (6, 0, '4c80ef10e6718bbaf11db879f0f61838da978e0d47933866560291e316fb6319')",
        "INSERT INTO audit_heads (lane, seq, hash) VALUES (7, 0, '5d99fd2ea8a23f708e256c464bd390a35ab78e9e806888fcbcdaac7e6541c7ce')",
        "UPDATE sandbox_cards SET holder_name = ''",
    ]

    static let wallet: [String] = [
        """
        CREATE TABLE wallet_heads (
            person_number TEXT PRIMARY KEY,
            wallet_seq BIGINT NOT NULL,
            inbox_seq BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE wallet_events (
            person_number TEXT NOT NULL,
            seq BIGINT NOT NULL,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            reference TEXT NOT NULL,
            at BIGINT NOT NULL,
            institution_code TEXT,
            counterparty TEXT NOT NULL,
            total BIGINT NOT NULL,
            fund BIGINT NOT NULL,
            account BIGINT NOT NULL,
            mutual_aid BIGINT NOT NULL,
            cash BIGINT NOT NULL,
            actor TEXT NOT NULL,
            PRIMARY KEY (person_number, seq)
        )
        """,
        "CREATE INDEX wallet_events_time ON wallet_events (person_number, at)",
        """
        CREATE TABLE inbox (
            person_number TEXT NOT NULL,
            seq BIGINT NOT NULL,
            id TEXT NOT NULL UNIQUE,
            topic TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            reference TEXT,
            at BIGINT NOT NULL,
            read_at BIGINT,
            PRIMARY KEY (person_number, seq)
        )
        """,
        """
        CREATE TABLE webhook_subscriptions (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            url TEXT NOT NULL,
            secret_cipher TEXT NOT NULL,
            events TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            disabled_at BIGINT
        )
        """,
        """
        CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,
            subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id),
            event_type TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            last_status BIGINT,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            delivered_at BIGINT
        )
        """,
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)",
        """
        CREATE TABLE transaction_reports (
            id TEXT PRIMARY KEY,
            person_number TEXT NOT NULL,
            event_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL,
            resolution TEXT,
            note TEXT,
            created_at BIGINT NOT NULL,
            resolved_at BIGINT,
            resolved_by TEXT
        )
        """,
        "CREATE INDEX transaction_reports_state ON transaction_reports (state, created_at)",
        """
        CREATE TABLE premium_payments (
            id TEXT PRIMARY KEY,
            person_number TEXT NOT NULL REFERENCES people (number),
            payer_number TEXT NOT NULL,
            kind TEXT NOT NULL,
            period TEXT NOT NULL,
            amount BIGINT NOT NULL,
            state TEXT NOT NULL,
            funding_source_id TEXT,
            document TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            paid_at BIGINT
        )
        """,
        "CREATE UNIQUE INDEX premium_payments_live ON premium_payments (person_number, kind, period) WHERE state IN ('pending', 'paid')",
        "CREATE INDEX premium_payments_state ON premium_payments (state, created_at)",
        """
        CREATE TABLE coverage (
            person_number TEXT NOT NULL,
            kind TEXT NOT NULL,
            period TEXT NOT NULL,
            premium_id TEXT NOT NULL,
            activated_at BIGINT NOT NULL,
            PRIMARY KEY (person_number, kind, period)
        )
        """,
    ]

    static let family: [String] = [
        """
        CREATE TABLE family_bindings (
            id TEXT PRIMARY KEY,
            binder_number TEXT NOT NULL REFERENCES people (number),
            member_number TEXT NOT NULL REFERENCES people (number),
            relationship TEXT NOT NULL,
            state TEXT NOT NULL,
            verification TEXT NOT NULL,
            document_type TEXT,
            document_reference_cipher TEXT,
            requested_at BIGINT NOT NULL,
            decided_at BIGINT,
            decided_by TEXT,
            unbound_at BIGINT,
            unbound_by TEXT,
            effective_month TEXT,
            note TEXT
        )
        """,
        "CREATE INDEX family_bindings_binder ON family_bindings (binder_number, state)",
        "CREATE INDEX family_bindings_member ON family_bindings (member_number, state)",
        "CREATE INDEX family_bindings_pending ON family_bindings (state, verification, requested_at)",
        "ALTER TABLE visits ADD COLUMN payer_number TEXT",
    ]

    static let credit: [String] = [
        "CREATE TABLE credit_partners (id TEXT PRIMARY KEY, terms TEXT NOT NULL, updated_at BIGINT NOT NULL)",
        """
        CREATE TABLE credit_lines (
            id TEXT PRIMARY KEY,
            person_number TEXT NOT NULL REFERENCES people (number),
            partner TEXT NOT NULL,
            funding_source_id TEXT NOT NULL UNIQUE,
            token TEXT NOT NULL,
            masked TEXT NOT NULL,
            credit_limit BIGINT NOT NULL,
            state TEXT NOT NULL,
            terms TEXT NOT NULL,
            opened_at BIGINT NOT NULL,
            suspended_at BIGINT,
            next_statement TEXT NOT NULL,
            processed_through TEXT,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX credit_lines_person ON credit_lines (person_number, partner)",
        "CREATE INDEX credit_lines_processed ON credit_lines (processed_through)",
        """
        CREATE TABLE credit_bills (
            id TEXT PRIMARY KEY,
            line_id TEXT NOT NULL REFERENCES credit_lines (id),
            cycle_start TEXT NOT NULL,
            statement_date TEXT NOT NULL,
            due_date TEXT NOT NULL,
            principal_billed BIGINT NOT NULL,
            principal_due BIGINT NOT NULL,
            interest_due BIGINT NOT NULL,
            fees_due BIGINT NOT NULL,
            interest_charged BIGINT NOT NULL,
            fees_charged BIGINT NOT NULL,
            interest_carry BIGINT NOT NULL,
            accrued_through TEXT,
            paid_at BIGINT,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX credit_bills_cycle ON credit_bills (line_id, statement_date)",
        """
        CREATE TABLE credit_entries (
            id TEXT PRIMARY KEY,
            line_id TEXT NOT NULL REFERENCES credit_lines (id),
            kind TEXT NOT NULL,
            amount BIGINT NOT NULL,
            reference TEXT,
            bill_id TEXT,
            at BIGINT NOT NULL,
            note TEXT NOT NULL
        )
        """,
        "CREATE INDEX credit_entries_line ON credit_entries (line_id, bill_id, at)",
        """
        CREATE TABLE credit_repayments (
            id TEXT PRIMARY KEY,
            line_id TEXT NOT NULL REFERENCES credit_lines (id),
            person_number TEXT NOT NULL,
            source TEXT NOT NULL,
            funding_source_id TEXT,
            amount BIGINT NOT NULL,
            state TEXT NOT NULL,
            allocation TEXT,
            decline_reason TEXT,
            created_at BIGINT NOT NULL,
            completed_at BIGINT
        )
        """,
        "CREATE INDEX credit_repayments_line ON credit_repayments (line_id, created_at)",
        "CREATE INDEX credit_repayments_state ON credit_repayments (state, created_at)",
        """
        CREATE TABLE credit_reports (
            id TEXT PRIMARY KEY,
            line_id TEXT NOT NULL REFERENCES credit_lines (id),
            person_number TEXT NOT NULL,
            kind TEXT NOT NULL,
            amount BIGINT NOT NULL,
            overdue_days BIGINT NOT NULL,
            at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX credit_reports_at ON credit_reports (at)",
        """
        CREATE TABLE frictionless_authorisations (
            id TEXT PRIMARY KEY,
            person_number TEXT NOT NULL REFERENCES people (number),
            funding_source_id TEXT,
            priority TEXT NOT NULL,
            consent_version TEXT NOT NULL,
            consent_digest TEXT NOT NULL,
            signed_at BIGINT NOT NULL,
            revoked_at BIGINT
        )
        """,
        "CREATE UNIQUE INDEX frictionless_live ON frictionless_authorisations (person_number) WHERE revoked_at IS NULL",
        "ALTER TABLE channel_operations ADD COLUMN detail TEXT",
        """
        CREATE TABLE sandbox_credit_bureau (
            holder_id_hash TEXT PRIMARY KEY,
            score BIGINT NOT NULL,
            delinquent BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE sandbox_credit_events (
            reference TEXT PRIMARY KEY,
            token TEXT NOT NULL,
            kind TEXT NOT NULL,
            amount BIGINT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
    ]

    /// Existing platform-side accounts become slot 0 of their account (LedgerRepository.slots).
    static let slots: [String] = [
        """
        INSERT INTO accounts (id, kind, owner, balance, held, created_at, updated_at)
        SELECT id || '#0', kind, owner, balance, held, created_at, updated_at FROM accounts
        WHERE kind NOT IN ('personal', 'credit_line') AND id NOT LIKE '%#%'
        """,
        """
        UPDATE postings SET account_id = account_id || '#0' WHERE account_id IN
        (SELECT id FROM accounts WHERE kind NOT IN ('personal', 'credit_line') AND id NOT LIKE '%#%')
        """,
        "DELETE FROM accounts WHERE kind NOT IN ('personal', 'credit_line') AND id NOT LIKE '%#%'",
    ]

    static let accountSecurity: [String] = [
        "ALTER TABLE patients ADD COLUMN second_factor_failures BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE patients ADD COLUMN second_factor_locked_until BIGINT",
        "ALTER TABLE patients ADD COLUMN authenticator_reset_at BIGINT",
        "ALTER TABLE patient_sessions ADD COLUMN second_factor_at BIGINT",
        """
        CREATE TABLE account_adjustments (
            id TEXT PRIMARY KEY,
            person_number TEXT NOT NULL REFERENCES people (number),
            amount BIGINT NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_at BIGINT NOT NULL,
            decided_by TEXT,
            decided_at BIGINT,
            entry_id TEXT
        )
        """,
        "CREATE INDEX account_adjustments_state ON account_adjustments (state, requested_at)",
    ]

    static let outbox: [String] = [
        """
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            reference TEXT NOT NULL,
            detail TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX outbox_due ON outbox (next_attempt_at)",
    ]

    static let staff: [String] = [
        """
        CREATE TABLE staff_members (
            institution_code TEXT NOT NULL REFERENCES institutions (code),
            name TEXT NOT NULL,
            display_name TEXT NOT NULL,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            totp_secret_cipher TEXT NOT NULL,
            totp_last_step BIGINT NOT NULL,
            failed_sign_ins BIGINT NOT NULL,
            locked_until BIGINT,
            created_at BIGINT NOT NULL,
            disabled_at BIGINT,
            PRIMARY KEY (institution_code, name)
        )
        """,
        """
        CREATE TABLE staff_sessions (
            token_hash TEXT PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            institution_code TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT
        )
        """,
        "CREATE INDEX staff_sessions_member ON staff_sessions (institution_code, name)",
        // Visits per hospital level: a repeat stay's lower deductible applies at the same level.
        "ALTER TABLE accumulators ADD COLUMN visits_by_level TEXT NOT NULL DEFAULT ''",
        // The counter's list of visits waiting to be settled.
        "CREATE INDEX visits_institution_state ON visits (institution_code, state, opened_at)",
    ]

    static let paymentOrders: [String] = [
        """
        CREATE TABLE payment_orders (
            id TEXT PRIMARY KEY,
            institution_code TEXT NOT NULL REFERENCES institutions (code),
            visit_id TEXT NOT NULL UNIQUE REFERENCES visits (id),
            person_number TEXT NOT NULL,
            category TEXT NOT NULL,
            hospital_visit_number TEXT NOT NULL,
            total BIGINT NOT NULL,
            cancelled BIGINT NOT NULL DEFAULT 0,
            settlement_id TEXT,
            payer_number TEXT,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX payment_orders_person ON payment_orders (person_number, created_at)",
        "CREATE INDEX payment_orders_institution ON payment_orders (institution_code, created_at)",
    ]

    static let clearing: [String] = [
        "ALTER TABLE settlements ADD COLUMN completed_at BIGINT",
        """
        UPDATE settlements SET completed_at = COALESCE(
            (SELECT MIN(e.created_at) FROM journal_entries e WHERE e.reference = settlements.id), created_at)
        WHERE state = 'completed'
        """,
        "CREATE INDEX settlements_completed ON settlements (institution_code, completed_at)",
        "ALTER TABLE institutions ADD COLUMN payout_account TEXT",
        """
        CREATE TABLE clearings (
            id TEXT PRIMARY KEY,
            institution_code TEXT NOT NULL REFERENCES institutions (code),
            insurance_type TEXT NOT NULL,
            period_from TEXT NOT NULL,
            period_through TEXT NOT NULL,
            state TEXT NOT NULL,
            started_by TEXT NOT NULL,
            item_count BIGINT NOT NULL,
            total BIGINT NOT NULL,
            claimed BIGINT NOT NULL,
            approved_by TEXT,
            payout_account TEXT,
            bank_reference TEXT,
            last_failure TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX clearings_institution ON clearings (institution_code, created_at)",
        "CREATE INDEX clearings_state ON clearings (state, created_at)",
        """
        CREATE TABLE clearing_items (
            settlement_id TEXT PRIMARY KEY REFERENCES settlements (id),
            clearing_id TEXT NOT NULL REFERENCES clearings (id),
            kind TEXT NOT NULL,
            region TEXT NOT NULL,
            total BIGINT NOT NULL,
            owed BIGINT NOT NULL,
            completed_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX clearing_items_clearing ON clearing_items (clearing_id)",
        """
        CREATE TABLE clearing_deductions (
            id TEXT PRIMARY KEY,
            clearing_id TEXT NOT NULL REFERENCES clearings (id),
            settlement_id TEXT,
            amount BIGINT NOT NULL,
            reason TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX clearing_deductions_clearing ON clearing_deductions (clearing_id)",
        """
        CREATE TABLE reconciliations (
            id TEXT PRIMARY KEY,
            institution_code TEXT NOT NULL,
            kind TEXT NOT NULL,
            period_from TEXT NOT NULL,
            period_through TEXT NOT NULL,
            balanced BIGINT NOT NULL,
            summary TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX reconciliations_institution ON reconciliations (institution_code, created_at)",
        "CREATE INDEX journal_entries_time ON journal_entries (created_at)",
        """
        CREATE TABLE exceptions (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            reference TEXT NOT NULL,
            scope TEXT NOT NULL,
            detail TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            resolved_at BIGINT,
            resolved_by TEXT,
            resolution TEXT,
            UNIQUE (kind, reference)
        )
        """,
        "CREATE INDEX exceptions_state ON exceptions (state, created_at)",
        "ALTER TABLE sandbox_operations ADD COLUMN captured_at BIGINT",
        "UPDATE sandbox_operations SET captured_at = updated_at WHERE state = 'captured'",
        "CREATE TABLE daily_closes (day TEXT PRIMARY KEY, report TEXT NOT NULL, created_at BIGINT NOT NULL)",
        """
        CREATE TABLE national_messages (
            institution_code TEXT NOT NULL,
            msgid TEXT NOT NULL,
            infno TEXT NOT NULL,
            reference TEXT,
            response TEXT,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (institution_code, msgid)
        )
        """,
        """
        CREATE TABLE national_registrations (
            id TEXT PRIMARY KEY,
            institution_code TEXT NOT NULL,
            person_number TEXT NOT NULL,
            hospital_visit_number TEXT NOT NULL,
            category TEXT NOT NULL,
            state TEXT NOT NULL,
            visit_id TEXT,
            uploads BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX national_registrations_visit ON national_registrations (visit_id)",
        """
        CREATE TABLE national_files (
            id TEXT PRIMARY KEY,
            institution_code TEXT NOT NULL,
            filename TEXT NOT NULL,
            content TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
    ]
}
