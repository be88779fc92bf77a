import YibaoCore
import YibaoStore

/// What a cashier's system sends when the patient shows the e-voucher code: the code with the visit's
/// fee lines. With `lines`, one call settles and collects the cash part (one-code payment); the same
/// fields open a visit for HIS systems that follow the national sequence (1101 with an e-voucher,
/// 2201, 2204, 2206, 2207).
public struct CodeVisitRequest: Sendable, Hashable, Codable {
    /// The scanned e-voucher code (电子凭证动态码).
    public var code: String
    /// 医疗类别 `med_type`.
    public var category: MedicalCategory
    /// The hospital's visit number (`ipt_otp_no`), unique per institution.
    public var hospitalVisitNumber: String
    /// Fee lines.
    public var lines: [FeeLine]?
    /// 个人账户使用标志; default true.
    public var useAccount: Bool?
    /// When the code's owner pays for a bound family member: the member's person number.
    public var forPersonNumber: String?

    /// Creates a request.
    public init(code: String, category: MedicalCategory, hospitalVisitNumber: String, lines: [FeeLine]?, useAccount: Bool? = nil) {
        self.code = code
        self.category = category
        self.hospitalVisitNumber = hospitalVisitNumber
        self.lines = lines
        self.useAccount = useAccount
    }
}

extension Platform {
    /// Opens a visit from a scanned code: the code is spent, the visit carries the patient's payment
    /// authority (its settlement collects the cash part from the default funding source).
    public func openVisit(code request: CodeVisitRequest, institution: Institution) async throws -> Visit {
        try Platform.validate(request)
        let cipher = self.cipher
        let reference = self.reference
        let id = ids.next("V")
        return try await namingExistingVisit(institution: institution.code, number: request.hospitalVisitNumber) {
            try await write { db, now in
                try Platform.openCodeVisit(request, id: id, institution: institution, cipher: cipher, reference: reference, now: now, in: db)
            }
        }
    }

    /// One-code payment: in one call and one transaction, resolves the code to the person, prices the
    /// lines, decides the settlement, pays the fund and account parts, and collects the cash part from
    /// the patient's default funding source (or leaves it to the counter when the patient has none). The
    /// same walk as `settle(visitID:)`: read and lock, decide in Core, write one batch — here the visit
    /// is inserted already settled (or being paid) and the code spent in the same batch.
    public func settle(code request: CodeVisitRequest, institution: Institution, idempotency: IdempotencyRequest) async throws -> SettlementRecord {
        try Platform.validate(request)
        guard !(request.lines ?? []).isEmpty else { throw Refusal(.noFeeLines, "send the visit's fee lines with the code", field: "lines") }
        let context = SettleContext(self, institution: institution)
        let visitID = ids.next("V")
        let scope = "code-settle:" + institution.code
        // The code is verified in the transaction that spends it, its device read in one batch with the
        // key's claim (on PostgreSQL one wait for both). A retry whose code was spent by the first attempt
        // is answered from its idempotency key before the code is looked at; so is a malformed code
        // refused only after the claim, as any other refusal of the code.
        let parsed = Result { () throws(Refusal) in try Platform.parseCode(request.code) }
        let outcome: SettleOutcome = try await namingExistingVisit(institution: institution.code, number: request.hospitalVisitNumber) {
            try await write { db, now in
                let (claimed, device) = try db.fetch(
                    IdempotencyRepository.claiming(
                        scope: scope, key: idempotency.key, fingerprint: idempotency.fingerprint, kind: "settlement", id: context.settlementID,
                        now: now),
                    (try? parsed.get()).map { DeviceRepository.finding(number: $0.deviceNumber) } ?? .known(nil))
                if !claimed,
                    let record = try Platform.replayedRecord(
                        IdempotencyRepository.claimedBefore(scope: scope, key: idempotency.key, fingerprint: idempotency.fingerprint, in: db), in: db)
                {
                    return try Platform.replay(record, in: db)
                }
                let (visit, code) = try Platform.codeVisit(
                    request, code: parsed.get(), id: visitID, context: context, device: device, now: now, in: db)
                var decided = visit
                let decision = try Platform.decide(visit, useAccount: request.useAccount ?? true, context: context, now: now, in: db)
                decided.state = decision.visitState
                decided.settlementId = decision.record.id
                var writes = WriteSet()
                writes.usedCode = code
                writes.visits = [(decided, code.device)]
                return try Platform.write(decision, context: context, into: &writes, now: now, in: db)
            }
        }
        return try await finish(outcome)
    }

    /// The visit a scanned code opens, not yet written, and the code to spend with it: the code (the
    /// request's, parsed) verified against its device's row, read in this transaction
    /// (`DeviceRepository.finding`), so the device is still enrolled and the step still accepted now.
    static func codeVisit(
        _ request: CodeVisitRequest, code parsed: VoucherCode.Parsed, id: String, context: SettleContext, device: (Device, String)?,
        now: Instant, in db: any SQLExecutor
    ) throws -> (Visit, WriteSet.UsedCode) {
        let code = try verify(parsed, device: device, cipher: context.cipher, now: now)
        var patient = code.device.personNumber
        var payer: String?
        if let member = request.forPersonNumber, member != code.device.personNumber {
            patient = member
            payer = code.device.personNumber
        }
        let priced = try price(request.lines ?? [], region: context.institution.region, firstIndex: 0, reference: context.reference, now: now, in: db)
        let visit = Visit(
            id: id, institutionCode: context.institution.code, personNumber: patient, category: request.category,
            hospitalVisitNumber: request.hospitalVisitNumber, state: .open, lines: priced, settlementId: nil, openedAt: now,
            paymentAuthority: .fundingSource, payerNumber: payer
        )
        return (visit, WriteSet.UsedCode(device: code.device.id, step: code.step, institution: context.institution.code))
    }

    /// Refuses unless the binder has a binding in force with the member and the care is one family
    /// members may pay for.
    static func requireFamilyAuthority(binder: String, member: String, category: MedicalCategory, in db: any SQLExecutor) throws {
        guard try FamilyRepository.active(binder: binder, member: member, in: db) != nil else {
            throw Refusal(.forbidden, "the code's owner has no family binding in force with \(member)", field: "for_person_number")
        }
        guard category.familyPaymentAllowed else {
            throw Refusal(
                .familyPaymentNotAllowed,
                "family members may not pay for \(category.chineseName) (chronic/special disease, maternity and work injury are excluded)",
                field: "category"
            )
        }
    }

    static func validate(_ request: CodeVisitRequest) throws {
        if request.code.isEmpty || request.code.utf8.count > 64 { throw Refusal.invalid("code", "code must be the scanned e-voucher code") }
        if request.hospitalVisitNumber.isEmpty || request.hospitalVisitNumber.utf8.count > 30 {
            throw Refusal.invalid("hospital_visit_number", "hospital_visit_number (ipt_otp_no) must be 1 to 30 characters")
        }
        try validate(request.lines ?? [], existing: [])
    }

    static func openCodeVisit(
        _ request: CodeVisitRequest, id: String, institution: Institution, cipher: PersonalDataCipher, reference: ReferenceCache, now: Instant,
        in db: any SQLExecutor
    ) throws -> Visit {
        let device = try spendCode(request.code, institution: institution.code, cipher: cipher, now: now, in: db)
        var patient = device.personNumber
        var payer: String?
        if let member = request.forPersonNumber, member != device.personNumber {
            try Platform.requireFamilyAuthority(binder: device.personNumber, member: member, category: request.category, in: db)
            patient = member
            payer = device.personNumber
        }
        let priced = try price(request.lines ?? [], region: institution.region, firstIndex: 0, reference: reference, now: now, in: db)
        let visit = Visit(
            id: id, institutionCode: institution.code, personNumber: patient, category: request.category,
            hospitalVisitNumber: request.hospitalVisitNumber, state: .open, lines: priced, settlementId: nil, openedAt: now,
            paymentAuthority: .fundingSource, payerNumber: payer
        )
        try VisitRepository.insert(visit, deviceID: device.id, now: now, in: db)
        return visit
    }
}
