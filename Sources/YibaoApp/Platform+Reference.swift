import YibaoCore
import YibaoStore

/// An institution's API credential, shown once when issued: `keyID.secret`.
public struct InstitutionCredential: Sendable, Hashable, Codable {
    /// The institution.
    public let institutionCode: String
    /// The key id (public).
    public let keyId: String
    /// The secret; only its hash is stored.
    public let secret: String
    /// The bearer token to send: `keyID.secret`.
    public var token: String { keyId + "." + secret }
}

/// A plan's claims in a period.
public struct PlanClaimsReport: Sendable, Codable {
    /// The plan.
    public var planId: String
    /// Its name.
    public var planName: String
    /// The insurer's code.
    public var insurerCode: String
    /// The insurer's name.
    public var insurerName: String
    /// The first day (China time).
    public var from: CivilDate
    /// The last day.
    public var through: CivilDate
    /// Settlements, refunds and reversals in which the plan paid or got money back, oldest first.
    public var claims: [PlanClaim]
    /// The net the plan paid over the period: what the insurer owes.
    public var planPaid: Money
}

extension Platform {
    /// How long an institution's previous key keeps working after a rotation.
    public static let keyRotationOverlapSeconds: Int64 = 7 * 86_400
    /// How long an operator token lives.
    public static let operatorTokenLifetimeSeconds: Int64 = 90 * 86_400

    // MARK: People

    /// Enrols a person (参保登记) with an opening personal-account balance; refuses duplicates.
    public func enrol(_ person: Person, openingBalance: Money = .zero, actor: String = "system") async throws {
        try Platform.validateEnrolment(person, openingBalance: openingBalance)
        let cipher = self.cipher
        let ids = self.ids
        try await write { db, now in
            try Platform.insertEnrolment(person, actor: actor, cipher: cipher, now: now, in: db)
            try Platform.creditOpening(openingBalance, to: person, actor: actor, ids: ids, now: now, in: db)
        }
    }

    /// An operator enrols a person; an opening balance is a manual adjustment by that administrator
    /// (posted at once up to `threshold`, otherwise waiting for a second administrator), in the same
    /// transaction as the enrolment. Returns the adjustment, if any.
    public func enrol(_ person: Person, openingBalance: Money, requestedBy actor: String, threshold: Money) async throws -> AccountAdjustment? {
        try Platform.validateEnrolment(person, openingBalance: openingBalance)
        let cipher = self.cipher
        let ids = self.ids
        return try await write { db, now in
            try Platform.insertEnrolment(person, actor: actor, cipher: cipher, now: now, in: db)
            guard openingBalance.isPositive else { return nil }
            return try Platform.adjust(
                person, amount: openingBalance, reason: "开户余额 opening balance", actor: actor, threshold: threshold, id: ids.next("AD"), ids: ids,
                now: now, in: db)
        }
    }

    /// Enrols many people in one transaction (a bulk import); returns how many were enrolled.
    public func enrol(_ people: [(person: Person, openingBalance: Money)], actor: String = "system") async throws -> Int {
        for (index, entry) in people.enumerated() {
            do { try Platform.validateEnrolment(entry.person, openingBalance: entry.openingBalance) } catch let refusal as Refusal {
                throw Refusal.invalid("people[\(index)]." + (refusal.field ?? ""), refusal.detail)
            }
        }
        let cipher = self.cipher
        let ids = self.ids
        return try await write { db, now in
            for (person, opening) in people {
                try Platform.insertEnrolment(person, actor: actor, cipher: cipher, now: now, in: db)
                try Platform.creditOpening(opening, to: person, actor: actor, ids: ids, now: now, in: db)
            }
            return people.count
        }
    }

    /// Refuses a person or an opening balance that cannot be enrolled.
    static func validateEnrolment(_ person: Person, openingBalance: Money) throws {
        try validate(person)
        guard !openingBalance.isNegative, openingBalance <= Money.requestAmountMax else {
            throw Refusal.invalid("opening_balance", "opening_balance is in fen and must be 0 to 1000000000")
        }
        if openingBalance.isPositive && person.insuranceType != .employee {
            throw Refusal.invalid("opening_balance", "only employees (310) have a personal account")
        }
    }

    /// Writes an enrolment: the person, its audit record, the personal account.
    static func insertEnrolment(_ person: Person, actor: String, cipher: PersonalDataCipher, now: Instant, in db: any SQLExecutor) throws {
        try PeopleRepository.insert(person, cipher: cipher, now: now, in: db)
        try AuditRepository.append(
            actor: actor, action: "person.enrol", subject: person.number, value: ["region": person.region.value], now: now, in: db)
        try LedgerRepository.ensure(.personal(person.number), now: now, in: db)
    }

    /// Credits an opening balance from the region's contributions (nothing when it is zero).
    static func creditOpening(_ amount: Money, to person: Person, actor: String, ids: any IDGenerator, now: Instant, in db: any SQLExecutor) throws {
        guard
            let entry = JournalEntry(
                id: ids.next("J"), kind: .accountCredit, reference: "enrol:" + person.number, at: now,
                movements: [Posting(.contributions(person.region), -amount), Posting(.personal(person.number), amount)])
        else { return }
        try LedgerRepository.post(entry, actor: actor, in: db)
        try Events.accountCredit(
            person: person.number, amount: amount, reference: entry.reference, counterparty: "\(person.region) 医保基金", actor: actor, ids: ids,
            now: now, in: db)
    }

    /// A person by number.
    public func person(number: String) async throws -> Person? {
        let cipher = self.cipher
        return try await read { db, _ in try PeopleRepository.find(number: number, cipher: cipher, in: db) }
    }

    /// A person by ID number.
    public func person(idNumber: String) async throws -> Person? {
        let cipher = self.cipher
        return try await read { db, _ in try PeopleRepository.find(idNumber: idNumber, cipher: cipher, in: db) }
    }

    /// A person's personal-account balance (available and on hold).
    public func accountBalance(of number: String) async throws -> (balance: Money, held: Money) {
        let balance = try await read { db, _ in try LedgerRepository.balance(.personal(number), in: db) }
        return (balance.balance, balance.held)
    }

    static func validate(_ person: Person) throws {
        if person.number.isEmpty || person.number.utf8.count > 30 || !person.number.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
            throw Refusal.invalid("number", "number (psn_no) must be 1 to 30 letters or digits")
        }
        if person.name.isEmpty || person.name.count > 50 { throw Refusal.invalid("name", "name must be 1 to 50 characters") }
        if !IDNumber.isValid(person.idNumber) {
            throw Refusal.invalid("id_number", "id_number must be an 18-character resident ID number with a valid check digit")
        }
        if let phone = person.phone, !(phone.count == 11 && phone.hasPrefix("1") && phone.allSatisfy(\.isNumber)) {
            throw Refusal.invalid("phone", "phone must be an 11-digit mobile number starting with 1")
        }
    }

    // MARK: Institutions

    /// Creates or updates an institution; returns true when it was created.
    @discardableResult
    public func saveInstitution(_ institution: Institution, actor: String = "system") async throws -> Bool {
        if institution.code.isEmpty || institution.code.utf8.count > 30
            || !institution.code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        {
            throw Refusal.invalid("code", "code (fixmedins_code) must be 1 to 30 letters or digits")
        }
        if institution.name.isEmpty || institution.name.count > 200 { throw Refusal.invalid("name", "name must be 1 to 200 characters") }
        if let account = institution.payoutAccount, account.isEmpty || account.count > 64 {
            throw Refusal.invalid("payout_account", "the payout account is 1 to 64 characters")
        }
        let created = try await write { db, now in
            let created = try InstitutionRepository.upsert(institution, now: now, in: db)
            try AuditRepository.append(actor: actor, action: "institution.save", subject: institution.code, value: institution, now: now, in: db)
            return created
        }
        reference.invalidate()
        return created
    }

    /// An institution by code.
    public func institution(code: String) async throws -> Institution? {
        let reference = self.reference
        return try await read { db, now in try reference.institution(code, now: now, in: db) }
    }

    /// All institutions.
    public func institutions() async throws -> [Institution] {
        try await read { db, _ in try InstitutionRepository.all(in: db) }
    }

    /// Issues a new API key for an institution; earlier keys keep working for the overlap period.
    public func issueInstitutionKey(code: String, actor: String = "system") async throws -> InstitutionCredential {
        let keyID = ids.next("K")
        let secret = Secrets.randomToken()
        let hash = Secrets.sha256Hex(secret)
        let sealed = cipher.seal(secret, field: "institution_keys.secret", row: keyID)
        try await write { db, now in
            guard try InstitutionRepository.find(code: code, in: db) != nil else { throw Refusal(.notFound, "no institution has code \(code)") }
            try InstitutionRepository.insertKey(keyID: keyID, institution: code, secretHash: hash, secretCipher: sealed, now: now, in: db)
            try AuditRepository.append(actor: actor, action: "institution.key_issued", subject: code, value: ["key_id": keyID], now: now, in: db)
            try InstitutionRepository.expireOtherKeys(
                institution: code, except: keyID, at: now.adding(seconds: Platform.keyRotationOverlapSeconds), in: db
            )
        }
        return InstitutionCredential(institutionCode: code, keyId: keyID, secret: secret)
    }

    /// Installs a key with a chosen id and secret (the demo's published credentials; never in production).
    public func installInstitutionKey(code: String, keyID: String, secret: String) async throws {
        let hash = Secrets.sha256Hex(secret)
        let sealed = cipher.seal(secret, field: "institution_keys.secret", row: keyID)
        try await write { db, now in
            try InstitutionRepository.insertKey(keyID: keyID, institution: code, secretHash: hash, secretCipher: sealed, now: now, in: db)
            try AuditRepository.append(
                actor: "system", action: "institution.key_installed", subject: code, value: ["key_id": keyID], now: now, in: db)
        }
    }

    /// The institution a bearer token `keyID.secret` belongs to, or nil when the token is wrong,
    /// expired or revoked.
    public func authenticateInstitution(token: String) async throws -> Institution? {
        guard let dot = token.firstIndex(of: "."), token.utf8.count < 200 else { return nil }
        let keyID = String(token[..<dot])
        let hash = Secrets.sha256Hex(String(token[token.index(after: dot)...]))
        let reference = self.reference
        return try await read { db, now in
            guard let key = try InstitutionRepository.key(keyID, in: db), Secrets.constantTimeEquals(key.secretHash, hash),
                key.revokedAt == nil, key.expiresAt.map({ $0 > now }) ?? true
            else { return nil }
            return try reference.institution(key.institutionCode, now: now, in: db)
        }
    }

    /// The institution and signing secret of a live key (for request signatures), or nil.
    public func institutionSigningKey(keyID: String) async throws -> (institution: Institution, secret: String)? {
        guard keyID.utf8.count < 100 else { return nil }
        let reference = self.reference
        let cipher = self.cipher
        return try await read { db, now in
            guard let key = try InstitutionRepository.key(keyID, in: db), key.revokedAt == nil, key.expiresAt.map({ $0 > now }) ?? true,
                let sealed = key.secretCipher, let institution = try reference.institution(key.institutionCode, now: now, in: db)
            else { return nil }
            return (institution, try cipher.open(sealed, field: "institution_keys.secret", row: key.keyID))
        }
    }

    /// Records a request nonce of a key; false when it was seen before (a replay).
    public func claimNonce(keyID: String, nonce: String, expires: Instant) async throws -> Bool {
        try await write { db, _ in
            try db.execute(
                "INSERT INTO request_nonces (key_id, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT (key_id, nonce) DO NOTHING",
                [.text(keyID), .text(nonce), .instant(expires)]
            ) == 1
        }
    }

    /// Deletes nonces past their window.
    @discardableResult
    public func purgeNonces() async throws -> Int {
        try await write { db, now in try db.execute("DELETE FROM request_nonces WHERE expires_at < ?", [.instant(now)]) }
    }

    // MARK: Catalogue and policies

    /// Imports catalogue items (inserting or replacing by region and code); returns how many were new.
    public func importCatalogue(_ items: [CatalogueItem], actor: String = "system") async throws -> Int {
        for (index, item) in items.enumerated() {
            if let problem = item.problems().first { throw Refusal.invalid("items[\(index)]", problem) }
        }
        let created = try await write { db, now in
            let created = try CatalogueRepository.upsert(items, now: now, in: db)
            let regions = Set(items.map(\.region.value)).sorted().joined(separator: ",")
            try AuditRepository.append(
                actor: actor, action: "catalogue.import", subject: "catalogue:" + regions,
                value: ["items": "\(items.count)", "created": "\(created)"], now: now,
                in: db
            )
            return created
        }
        reference.invalidate()
        return created
    }

    /// A catalogue item of a region.
    public func catalogueItem(region: RegionCode, code: String) async throws -> CatalogueItem? {
        let reference = self.reference
        return try await read { db, now in try reference.catalogue(region, now: now, in: db)[code] }
    }

    /// How many catalogue items a region has (all regions when nil).
    public func catalogueCount(region: RegionCode?) async throws -> Int64 {
        try await read { db, _ in try CatalogueRepository.count(region: region, in: db) }
    }

    /// Saves a policy (replacing the same region, type and year) after checking it.
    public func savePolicy(_ policy: Policy, actor: String = "system") async throws {
        try await savePolicies([policy], actor: actor)
    }

    /// Saves several policies (a region's file for a year) in one transaction: all of them, or none
    /// when any is refused.
    public func savePolicies(_ policies: [Policy], actor: String = "system") async throws {
        for policy in policies {
            if let problem = policy.problems().first { throw Refusal.invalid(problem.field, problem.message) }
        }
        try await write { db, now in
            for policy in policies {
                try PolicyRepository.save(policy, now: now, in: db)
                try AuditRepository.append(
                    actor: actor, action: "policy.save", subject: "policy:\(policy.region)-\(policy.insuranceType.rawValue)-\(policy.year)",
                    value: ["digest": Secrets.sha256Hex(try YibaoJSON.string(policy))], now: now, in: db
                )
            }
        }
        reference.invalidate()
    }

    /// A policy.
    public func policy(region: RegionCode, type: InsuranceType, year: Int) async throws -> Policy? {
        let reference = self.reference
        return try await read { db, now in try reference.policy(region: region, type: type, year: year, now: now, in: db) }
    }

    /// Saves a commercial plan (replacing the same region and year) after checking it.
    public func saveCommercialPlan(_ plan: CommercialPlan, actor: String = "system") async throws {
        if let problem = plan.problems().first { throw Refusal.invalid("plan", problem) }
        try await write { db, now in
            try CommercialPlanRepository.save(plan, now: now, in: db)
            try AuditRepository.append(
                actor: actor, action: "plan.save", subject: "plan:\(plan.region)-\(plan.year)",
                value: ["id": plan.id, "digest": Secrets.sha256Hex(try YibaoJSON.string(plan))], now: now, in: db)
        }
        reference.invalidate()
    }

    /// The commercial plan of a region and year, if any.
    public func commercialPlan(region: RegionCode, year: Int) async throws -> CommercialPlan? {
        let reference = self.reference
        return try await read { db, now in try reference.plan(region: region, year: year, now: now, in: db) }
    }

    /// What a region's plan paid (and got back) in a period, settlement by settlement with the lines: the
    /// claims report the bureau or the hospitals present to the insurer, and the insurer audits.
    public func planClaims(region: RegionCode, year: Int, period: StatementPeriod) async throws -> PlanClaimsReport {
        guard let plan = try await commercialPlan(region: region, year: year) else {
            throw Refusal(.notFound, "region \(region) has no commercial plan for \(year)")
        }
        let claims = try await read { db, _ in
            try SettlementRepository.ofPlan(plan.id, from: period.start, until: period.end, limit: 100_000, in: db).compactMap(PlanClaim.of)
        }
        return PlanClaimsReport(
            planId: plan.id, planName: plan.name, insurerCode: plan.insurer.code, insurerName: plan.insurer.name, from: period.from,
            through: period.through, claims: claims, planPaid: Money.sum(claims.map(\.planPaid)))
    }

    /// All commercial plans.
    public func commercialPlans() async throws -> [CommercialPlan] {
        try await read { db, _ in try CommercialPlanRepository.all(in: db) }
    }

    /// All policies.
    public func policies() async throws -> [Policy] {
        try await read { db, _ in try PolicyRepository.all(in: db) }
    }
}
