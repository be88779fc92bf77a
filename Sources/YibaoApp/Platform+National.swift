import YibaoCore
import YibaoStore

/// What the national-interface gateway keeps of its own: messages by `msgid` and registrations. The
/// gateway settles through the same operations as the JSON API (openVisit, addLines, preSettle, settle,
/// reverse, reconcileTotals …); these only remember which message and which registration is which.
extension Platform {
    /// Claims a message id of an institution; returns the earlier use (transaction, reference, answer)
    /// when the id was used before, nil when this is its first use.
    public func claimNationalMessage(
        institution: String, msgid: String, infno: String, reference: String?
    ) async throws -> (
        infno: String, reference: String?, response: String?
    )? {
        try await write { db, now in
            try NationalRepository.claim(institution: institution, msgid: msgid, infno: infno, reference: reference, now: now, in: db)
        }
    }

    /// Keeps the answer given to a message.
    public func answerNationalMessage(institution: String, msgid: String, response: String) async throws {
        try await write { db, _ in try NationalRepository.answer(institution: institution, msgid: msgid, response: response, in: db) }
    }

    /// A message an institution sent.
    public func nationalMessage(institution: String, msgid: String) async throws -> (infno: String, reference: String?, response: String?)? {
        try await read { db, _ in try NationalRepository.find(institution: institution, msgid: msgid, in: db) }
    }

    /// The person whose phone shows an e-voucher code (national 1101 by e-voucher), verified and not spent.
    public func personOfCode(_ code: String) async throws -> String {
        let cipher = self.cipher
        return try await read { db, now in try Platform.verifyCode(code, cipher: cipher, now: now, in: db).device.personNumber }
    }

    /// Registers a visit (2201) for an enrolled person; `visitID` when the Yibao visit is opened already
    /// (by the patient's e-voucher code, so that its cash part is collected from the patient's card).
    public func registerNationalVisit(
        institution: Institution, personNumber: String, hospitalVisitNumber: String, category: MedicalCategory, visitID: String? = nil
    ) async throws -> NationalRegistration {
        guard !hospitalVisitNumber.isEmpty, hospitalVisitNumber.utf8.count <= 30 else {
            throw Refusal.invalid("hospital_visit_number", "ipt_otp_no is 1 to 30 characters")
        }
        guard try await person(number: personNumber) != nil else {
            throw Refusal(.unknownPerson, "no person \(personNumber)", field: "person_number")
        }
        let registration = NationalRegistration(
            id: ids.next("M"), institutionCode: institution.code, personNumber: personNumber, hospitalVisitNumber: hospitalVisitNumber,
            category: category, state: "registered", visitId: visitID, uploads: visitID == nil ? 0 : 1)
        try await write { db, now in try NationalRepository.insert(registration, now: now, in: db) }
        return registration
    }

    /// A registration of an institution.
    public func nationalRegistration(id: String, institution: String) async throws -> NationalRegistration {
        guard let found = try await read({ db, _ in try NationalRepository.find(id: id, institution: institution, lock: false, in: db) }) else {
            throw Refusal(.notFound, "no visit \(id)", field: "visit_id")
        }
        return found
    }

    /// The national visit id (`mdtrt_id`) of a Yibao visit: its registration's, or the visit's own when it
    /// was not opened through the national interface.
    public func nationalVisitID(of visit: String, institution: String) async throws -> String {
        try await read { db, _ in try NationalRepository.registrationID(visit: visit, institution: institution, in: db) } ?? visit
    }

    /// An institution's registrations of a person in a period, with when each was made and the settlement
    /// of its visit (national 5201).
    public func nationalRegistrations(
        person: String, institution: String, from: Instant, until: Instant
    ) async throws -> [(registration: NationalRegistration, openedAt: Instant, settlementID: String?, visitState: VisitState?)] {
        try await read { db, _ in try NationalRepository.registrations(person: person, institution: institution, from: from, until: until, in: db) }
    }

    /// Replaces the diagnoses of one stage of a registration (national 2203, 2401/2403, 2402), sealed as
    /// medical data; returns the visit's diagnoses now.
    @discardableResult
    public func recordNationalDiagnoses(
        _ uploaded: [Diagnosis], stage: Diagnosis.Stage, registration: String, institution: String
    ) async throws -> [Diagnosis] {
        guard uploaded.allSatisfy({ $0.stage == stage }) else { throw Refusal.invalid("diseinfo", "diagnoses of one stage at a time") }
        let cipher = self.cipher
        return try await write { db, now in
            guard try NationalRepository.find(id: registration, institution: institution, lock: true, in: db) != nil else {
                throw Refusal(.notFound, "no visit \(registration)", field: "mdtrt_id")
            }
            let current = try Platform.diagnoses(registration: registration, cipher: cipher, in: db)
            let next = Diagnosis.replacing(stage, in: current, with: uploaded)
            guard next.count <= Diagnosis.perVisitMax else {
                throw Refusal.invalid("diseinfo", "a visit keeps at most \(Diagnosis.perVisitMax) diagnoses")
            }
            try NationalRepository.setDiagnoses(
                id: registration,
                sealed: cipher.seal(try YibaoJSON.storageString(next), field: "national_registrations.diagnoses", row: registration),
                now: now, in: db)
            return next
        }
    }

    /// The diagnoses a registration's hospital reported (national 5202); someone else's registration is not found.
    public func nationalDiagnoses(registration: String, institution: String) async throws -> [Diagnosis] {
        let cipher = self.cipher
        return try await read { db, _ in
            guard try NationalRepository.find(id: registration, institution: institution, lock: false, in: db) != nil else {
                throw Refusal(.notFound, "no visit \(registration)", field: "mdtrt_id")
            }
            return try Platform.diagnoses(registration: registration, cipher: cipher, in: db)
        }
    }

    static func diagnoses(registration: String, cipher: PersonalDataCipher, in db: any SQLExecutor) throws -> [Diagnosis] {
        guard let sealed = try NationalRepository.diagnoses(id: registration, in: db) else { return [] }
        return try YibaoJSON.decodeStored(
            [Diagnosis].self, from: try cipher.open(sealed, field: "national_registrations.diagnoses", row: registration))
    }

    /// The drugs a person was dispensed in chronic and special-disease outpatient care (national 5205,
    /// 慢特病用药记录) in `[from, until)`, at any institution: each settlement with its drug lines as they
    /// stand after refunds (reversed settlements left out). Only an institution that registered the
    /// person through the national interface in the last 365 days may ask — the patient is in front of it —
    /// and each answer is audited.
    public func chronicMedication(
        person: String, institution: String, from: Instant, until: Instant
    ) async throws -> [(record: SettlementRecord, lines: [SettledLine])] {
        try await write { db, now in
            let treated = try NationalRepository.registrations(
                person: person, institution: institution, from: now.adding(days: -365), until: now.adding(seconds: 1), in: db)
            guard !treated.isEmpty else {
                throw Refusal(.forbidden, "this institution registered no visit of \(person) in the last 365 days", field: "person_number")
            }
            let records = try SettlementRepository.ofPerson(
                person, category: .chronicSpecialOutpatient, from: from, until: until, limit: 2000, in: db)
            let found = try records.map { record in
                let standing = SettlementStanding.of(record, refunds: try SettlementRepository.refunds(of: record.id, in: db))
                return (record: record, lines: standing.liveLines.filter { $0.split.category == .drug })
            }
            .filter { !$0.lines.isEmpty }
            try AuditRepository.append(
                actor: "institution:" + institution, action: "national.chronic_medication", subject: person,
                value: ["settlements": "\(found.count)"], now: now, in: db)
            return found
        }
    }

    /// Writes a registration's changes.
    public func updateNationalRegistration(_ registration: NationalRegistration) async throws {
        try await write { db, now in try NationalRepository.update(registration, now: now, in: db) }
    }

    /// A person's year-to-date figures of a year, per benefit pool (national 5206).
    public func yearToDate(person: String, year: Int) async throws -> [(pool: BenefitPoolKind, figures: PoolAccumulators)] {
        try await read { db, _ in
            try BenefitPoolKind.allCases.map { ($0, try AccumulatorRepository.read(person: person, year: year, pool: $0, in: db)) }
        }
    }

    /// Keeps a file for an institution (national 9101 upload, or a result it will download with 9102); returns its id.
    public func keepNationalFile(institution: String, filename: String, content: String) async throws -> String {
        guard content.utf8.count <= 8 * 1024 * 1024 else { throw Refusal(.bodyTooLarge, "a file is at most 8 MiB", field: "in") }
        let id = ids.next("F")
        try await write { db, now in
            try NationalRepository.insertFile(
                id: id, institution: institution, filename: String(filename.prefix(200)), content: content, now: now, in: db)
        }
        return id
    }

    /// A file of an institution.
    public func nationalFile(id: String, institution: String) async throws -> (filename: String, content: String) {
        guard let file = try await read({ db, _ in try NationalRepository.file(id: id, institution: institution, in: db) }) else {
            throw Refusal(.notFound, "no file \(id)", field: "file_qury_no")
        }
        return file
    }
}
