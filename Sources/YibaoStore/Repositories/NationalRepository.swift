import YibaoCore

/// A registration of the national interface (2201): the visit number `mdtrt_id` the hospital holds, the
/// medical category its later messages may change (2203), and the Yibao visit its fee details opened.
public struct NationalRegistration: Sendable, Hashable {
    /// 就诊ID `mdtrt_id`.
    public var id: String
    /// The institution.
    public var institutionCode: String
    /// 人员编号 `psn_no`.
    public var personNumber: String
    /// 住院/门诊号 `ipt_otp_no`.
    public var hospitalVisitNumber: String
    /// 医疗类别 `med_type`.
    public var category: MedicalCategory
    /// `registered` or `cancelled`.
    public var state: String
    /// The Yibao visit the fee details opened (nil before the first 2204, or after 2205 cleared them).
    public var visitId: String?
    /// How many Yibao visits fee uploads opened (a 2205 starts a new one).
    public var uploads: Int

    /// Creates a registration.
    public init(
        id: String, institutionCode: String, personNumber: String, hospitalVisitNumber: String, category: MedicalCategory, state: String,
        visitId: String?, uploads: Int
    ) {
        self.id = id
        self.institutionCode = institutionCode
        self.personNumber = personNumber
        self.hospitalVisitNumber = hospitalVisitNumber
        self.category = category
        self.state = state
        self.visitId = visitId
        self.uploads = uploads
    }
}

/// The national gateway's own records: each message by its `msgid` (the first answer, for a repeat;
/// what it concerned, for 2601) and the registrations.
package enum NationalRepository {
    /// Claims a message id; returns the earlier claim (its transaction, reference and answer, if any) when
    /// the id was used before.
    package static func claim(
        institution: String, msgid: String, infno: String, reference: String?, now: Instant, in db: any SQLExecutor
    ) throws -> (infno: String, reference: String?, response: String?)? {
        let inserted = try db.execute(
            """
            INSERT INTO national_messages (institution_code, msgid, infno, reference, response, created_at) VALUES (?, ?, ?, ?, NULL, ?)
            ON CONFLICT (institution_code, msgid) DO NOTHING
            """, [.text(institution), .text(msgid), .text(infno), .text(reference), .instant(now)])
        if inserted == 1 { return nil }
        return try find(institution: institution, msgid: msgid, in: db)
    }

    /// A message.
    package static func find(
        institution: String, msgid: String, in db: any SQLExecutor
    ) throws -> (
        infno: String, reference: String?, response: String?
    )? {
        try db.queryOne(
            "SELECT infno, reference, response FROM national_messages WHERE institution_code = ? AND msgid = ?", [.text(institution), .text(msgid)]
        ).map { (try $0.string("infno"), try $0.optionalString("reference"), try $0.optionalString("response")) }
    }

    /// Keeps a message's answer.
    package static func answer(institution: String, msgid: String, response: String, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE national_messages SET response = ? WHERE institution_code = ? AND msgid = ?", [.text(response), .text(institution), .text(msgid)])
    }

    package static func insert(_ registration: NationalRegistration, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO national_registrations (id, institution_code, person_number, hospital_visit_number, category, state, visit_id, uploads,
            created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(registration.id), .text(registration.institutionCode), .text(registration.personNumber),
                .text(registration.hospitalVisitNumber),
                .text(registration.category.rawValue), .text(registration.state), .text(registration.visitId), .int(registration.uploads),
                .instant(now), .instant(now),
            ])
    }

    package static func update(_ registration: NationalRegistration, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE national_registrations SET category = ?, state = ?, visit_id = ?, uploads = ?, updated_at = ? WHERE id = ?",
            [
                .text(registration.category.rawValue), .text(registration.state), .text(registration.visitId), .int(registration.uploads),
                .instant(now), .text(registration.id),
            ])
    }

    /// Keeps a registration's diagnoses (sealed by the caller).
    package static func setDiagnoses(id: String, sealed: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE national_registrations SET diagnoses_cipher = ?, updated_at = ? WHERE id = ?", [.text(sealed), .instant(now), .text(id)])
    }

    /// A registration's sealed diagnoses, nil when none were reported.
    package static func diagnoses(id: String, in db: any SQLExecutor) throws -> String? {
        try db.queryOne("SELECT diagnoses_cipher FROM national_registrations WHERE id = ?", [.text(id)])?.optionalString("diagnoses_cipher")
    }

    /// The registration whose fees opened a Yibao visit.
    package static func registrationID(visit: String, institution: String, in db: any SQLExecutor) throws -> String? {
        try db.queryOne(
            "SELECT id FROM national_registrations WHERE visit_id = ? AND institution_code = ?", [.text(visit), .text(institution)]
        )?.string("id")
    }

    package static func find(id: String, institution: String, lock: Bool, in db: any SQLExecutor) throws -> NationalRegistration? {
        try db.queryOne(
            "SELECT * FROM national_registrations WHERE id = ? AND institution_code = ?\(lock ? " FOR UPDATE" : "")", [.text(id), .text(institution)]
        ).map(decode)
    }

    /// An institution's registrations of a person made in `[from, until)`, oldest first, with the
    /// settlement and state of the visit their fees opened (5201).
    package static func registrations(
        person: String, institution: String, from: Instant, until: Instant, in db: any SQLExecutor
    ) throws -> [(registration: NationalRegistration, openedAt: Instant, settlementID: String?, visitState: VisitState?)] {
        try db.query(
            """
            SELECT r.*, v.settlement_id AS visit_settlement_id, v.state AS visit_state
            FROM national_registrations r LEFT JOIN visits v ON v.id = r.visit_id
            WHERE r.institution_code = ? AND r.person_number = ? AND r.created_at >= ? AND r.created_at < ?
            ORDER BY r.created_at, r.id LIMIT 500
            """, [.text(institution), .text(person), .instant(from), .instant(until)]
        ).map {
            (
                try decode($0), try $0.instant("created_at"), try $0.optionalString("visit_settlement_id"),
                try $0.optionalEnumeration("visit_state", VisitState.self)
            )
        }
    }

    static func decode(_ row: SQLRow) throws -> NationalRegistration {
        NationalRegistration(
            id: try row.string("id"), institutionCode: try row.string("institution_code"), personNumber: try row.string("person_number"),
            hospitalVisitNumber: try row.string("hospital_visit_number"), category: try row.enumeration("category"),
            state: try row.string("state"),
            visitId: try row.optionalString("visit_id"), uploads: Int(try row.int64("uploads")))
    }

    /// Keeps a file an institution uploaded (9101) or Yibao produced for it (a 3202 result).
    package static func insertFile(id: String, institution: String, filename: String, content: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO national_files (id, institution_code, filename, content, created_at) VALUES (?, ?, ?, ?, ?)",
            [.text(id), .text(institution), .text(filename), .text(content), .instant(now)])
    }

    /// A file of an institution.
    package static func file(id: String, institution: String, in db: any SQLExecutor) throws -> (filename: String, content: String)? {
        try db.queryOne("SELECT filename, content FROM national_files WHERE id = ? AND institution_code = ?", [.text(id), .text(institution)]).map {
            (try $0.string("filename"), try $0.string("content"))
        }
    }
}
