import YibaoCore
import YibaoStore

/// A binding request from a binder.
public struct BindingRequest: Sendable, Hashable, Codable {
    /// The member's person number.
    public var memberNumber: String
    /// The member's ID number (proves the binder knows who they bind).
    public var memberIdNumber: String
    /// The member is the binder's spouse, parent or child.
    public var relationship: Relationship
    /// For members under 16: the document's kind (户口簿, 出生医学证明 …).
    public var documentType: String?
    /// For members under 16: the document's reference (its number, or the id of the uploaded scan).
    public var documentReference: String?

    /// Creates a request.
    public init(
        memberNumber: String, memberIdNumber: String, relationship: Relationship, documentType: String? = nil, documentReference: String? = nil
    ) {
        self.memberNumber = memberNumber
        self.memberIdNumber = memberIdNumber
        self.relationship = relationship
        self.documentType = documentType
        self.documentReference = documentReference
    }
}

/// One entry of "who acted for me": a family member's read or payment.
public struct FamilyActivity: Sendable, Hashable, Codable {
    /// When.
    public var at: Instant
    /// Who (`family:<person number>`).
    public var actor: String
    /// What (`family.view_wallet`, `family.pay` …).
    public var action: String
}

extension Platform {
    /// A binder asks to bind a relative. Members under 16 come with identity documents an operator
    /// reviews; members 16 and older confirm in their own session. Refused early when the binder's
    /// monthly limit is already reached.
    public func requestBinding(binder: String, _ request: BindingRequest) async throws -> FamilyBinding {
        guard request.memberNumber != binder else { throw Refusal.invalid("member_number", "you cannot bind yourself") }
        let cipher = self.cipher
        let ids = self.ids
        let id = ids.next("B")
        return try await write { db, now in
            guard let member = try PeopleRepository.find(number: request.memberNumber, cipher: cipher, in: db),
                member.idNumber.uppercased() == request.memberIdNumber.uppercased()
            else {
                throw Refusal(.unknownPerson, "no enrolled person has this person number and ID number together", field: "member_number")
            }
            let existing = try FamilyRepository.of(person: binder, in: db)
            if existing.contains(where: { $0.memberNumber == member.number && ($0.state == .pending || $0.state == .approved) }) {
                throw Refusal(.alreadyExists, "you already have a binding or a request for this person")
            }
            let month = FamilyRules.month(now)
            if let problem = FamilyRules.limitProblem(
                binderCompletedThisMonth: try FamilyRepository.effectiveCount(binder: binder, month: month, in: db), memberBoundThisMonth: 0
            ) {
                throw problem
            }
            let verification = FamilyRules.verification(memberBirth: member.birthDate, on: ChinaTime.date(now))
            var documentCipher: String?
            if verification == .documents {
                guard let type = request.documentType, !type.isEmpty, type.count <= 50, let reference = request.documentReference, !reference.isEmpty,
                    reference.count <= 200
                else {
                    throw Refusal.invalid(
                        "document_type", "a member under 16 is bound with an identity document: document_type and document_reference")
                }
                documentCipher = cipher.seal(reference, field: "family_bindings.document_reference", row: id)
            }
            let binding = FamilyBinding(
                id: id, binderNumber: binder, memberNumber: member.number, relationship: request.relationship, state: .pending,
                verification: verification, documentType: verification == .documents ? request.documentType : nil, requestedAt: now
            )
            try FamilyRepository.insert(binding, documentCipher: documentCipher, in: db)
            try AuditRepository.append(
                actor: "patient:" + binder, action: "family.request", subject: member.number,
                value: ["binding": id, "relationship": request.relationship.rawValue, "verification": verification.rawValue], now: now, in: db
            )
            try Events.notice(
                person: member.number, topic: "family.requested", title: "亲情账户绑定申请",
                body: verification == .selfConfirmation
                    ? "有家庭成员申请绑定您的医保账户（\(request.relationship.rawValue)）。请在本人登录后确认，或拒绝。申请号 \(id)"
                    : "有家庭成员提交了绑定您医保账户的证件，等待医保经办机构审核。申请号 \(id)",
                ids: ids, now: now, in: db
            )
            return binding
        }
    }

    /// The member confirms a binding in their own session (after face verification): it takes effect
    /// if the monthly limits allow.
    public func confirmBinding(id: String, member: String) async throws -> FamilyBinding {
        try await decide(id: id, expecting: .selfConfirmation, by: "patient:" + member, approve: true, note: nil) { binding in
            guard binding.memberNumber == member else { throw Refusal(.notFound, "no binding \(id) for you") }
        }
    }

    /// The member declines a binding.
    public func declineBinding(id: String, member: String) async throws -> FamilyBinding {
        try await decide(id: id, expecting: .selfConfirmation, by: "patient:" + member, approve: false, note: nil) { binding in
            guard binding.memberNumber == member else { throw Refusal(.notFound, "no binding \(id) for you") }
        }
    }

    /// An operator approves or rejects a binding made with documents.
    public func reviewBinding(id: String, approve: Bool, operatorName: String, note: String?) async throws -> FamilyBinding {
        try await decide(id: id, expecting: .documents, by: "operator:" + operatorName, approve: approve, note: note) { _ in }
    }

    /// The binder withdraws a pending request.
    public func cancelBinding(id: String, binder: String) async throws -> FamilyBinding {
        let ids = self.ids
        return try await write { db, now in
            guard var binding = try FamilyRepository.find(id: id, lock: true, in: db), binding.binderNumber == binder else {
                throw Refusal(.notFound, "no binding \(id) of yours")
            }
            guard binding.state == .pending else { throw Refusal(.bindingNotPending, "binding \(id) is \(binding.state.rawValue)") }
            binding.state = .cancelled
            binding.decidedAt = now
            binding.decidedBy = "patient:" + binder
            try FamilyRepository.update(binding, in: db)
            try AuditRepository.append(
                actor: "patient:" + binder, action: "family.cancel", subject: binding.memberNumber, value: ["binding": id], now: now, in: db)
            try Events.notice(
                person: binding.memberNumber, topic: "family.cancelled", title: "绑定申请已撤回", body: "申请 \(id) 已撤回。", ids: ids, now: now, in: db)
            return binding
        }
    }

    /// Either side ends a binding, effective at once: no payment started after this draws on the binder.
    public func unbind(id: String, by person: String) async throws -> FamilyBinding {
        let ids = self.ids
        return try await write { db, now in
            guard var binding = try FamilyRepository.find(id: id, lock: true, in: db),
                binding.binderNumber == person || binding.memberNumber == person
            else {
                throw Refusal(.notFound, "no binding \(id) of yours")
            }
            guard binding.state == .approved else { throw Refusal(.bindingNotPending, "binding \(id) is \(binding.state.rawValue), not in force") }
            binding.state = .unbound
            binding.unboundAt = now
            binding.unboundBy = "patient:" + person
            try FamilyRepository.update(binding, in: db)
            try AuditRepository.append(
                actor: "patient:" + person, action: "family.unbind", subject: binding.memberNumber, value: ["binding": id], now: now, in: db)
            for side in [binding.binderNumber, binding.memberNumber] {
                try Events.notice(person: side, topic: "family.unbound", title: "亲情账户已解绑", body: "绑定 \(id) 已解除，立即生效。", ids: ids, now: now, in: db)
            }
            return binding
        }
    }

    /// The bindings where a person is binder or member.
    public func bindings(of person: String) async throws -> [FamilyBinding] {
        try await read { db, _ in try FamilyRepository.of(person: person, in: db) }
    }

    /// Bindings made with documents waiting for review.
    public func pendingBindingReviews() async throws -> [BindingReview] {
        let cipher = self.cipher
        return try await read { db, _ in
            try FamilyRepository.pendingReviews(cipher: cipher, in: db).map { BindingReview(binding: $0.0, documentReference: $0.1) }
        }
    }

    /// Whether a binder may act for a member now.
    public func mayActFor(binder: String, member: String) async throws -> Bool {
        try await read { db, _ in try FamilyRepository.active(binder: binder, member: member, in: db) != nil }
    }

    /// Who acted for a member: family members' reads and payments, newest first.
    public func familyActivity(member: String) async throws -> [FamilyActivity] {
        try await read { db, _ in
            try db.query(
                "SELECT at, actor, action FROM audit_log WHERE subject = ? AND actor LIKE 'family:%' ORDER BY at DESC LIMIT 200", [.text(member)]
            ).map { FamilyActivity(at: try $0.instant("at"), actor: try $0.string("actor"), action: try $0.string("action")) }
        }
    }

    private func decide(
        id: String, expecting verification: BindingVerification, by actor: String, approve: Bool, note: String?,
        check: @escaping @Sendable (FamilyBinding) throws -> Void
    ) async throws -> FamilyBinding {
        let cipher = self.cipher
        let reference = self.reference
        let ids = self.ids
        return try await write { db, now in
            guard var binding = try FamilyRepository.find(id: id, lock: true, in: db), binding.verification == verification else {
                throw Refusal(.notFound, "no binding \(id) awaiting this decision")
            }
            try check(binding)
            guard binding.state == .pending else { throw Refusal(.bindingNotPending, "binding \(id) is already \(binding.state.rawValue)") }
            binding.decidedAt = now
            binding.decidedBy = actor
            binding.note = note
            if approve {
                // Both people's rows are locked (in a fixed order) so that two approvals cannot both pass the limits.
                for person in [binding.binderNumber, binding.memberNumber].sorted() {
                    _ = try WalletRepository.lockHead(person: person, in: db)
                }
                let month = FamilyRules.month(now)
                if let problem = FamilyRules.limitProblem(
                    binderCompletedThisMonth: try FamilyRepository.effectiveCount(binder: binding.binderNumber, month: month, in: db),
                    memberBoundThisMonth: try FamilyRepository.effectiveCount(member: binding.memberNumber, month: month, in: db)
                ) {
                    throw problem
                }
                if let member = try PeopleRepository.find(number: binding.memberNumber, cipher: cipher, in: db),
                    try reference.policy(region: member.region, type: member.insuranceType, year: ChinaTime.date(now).year, now: now, in: db)?.family?
                        .singleFamilyOnly ?? true,
                    let other = try FamilyRepository.activeForMember(member.number, in: db).first
                {
                    throw Refusal(.alreadyInFamily, "this person already belongs to another family account (\(other.id)); they must unbind first")
                }
                binding.state = .approved
                binding.effectiveMonth = month
            } else {
                binding.state = .rejected
            }
            try FamilyRepository.update(binding, in: db)
            try AuditRepository.append(
                actor: actor, action: approve ? "family.approve" : "family.reject", subject: binding.memberNumber, value: ["binding": id], now: now,
                in: db
            )
            for side in [binding.binderNumber, binding.memberNumber] {
                try Events.notice(
                    person: side, topic: approve ? "family.approved" : "family.rejected", title: approve ? "亲情账户绑定成功" : "亲情账户绑定未通过",
                    body: approve ? "绑定 \(id) 已生效。" : "绑定 \(id) 未通过\(note.map { "：" + $0 } ?? "")。", ids: ids, now: now, in: db
                )
            }
            return binding
        }
    }
}

/// A binding waiting for an operator's review: the binding and where the document's scan is kept.
/// Encoded as the binding's fields plus `document_reference`.
public struct BindingReview: Sendable, Hashable, Encodable {
    /// The binding.
    public var binding: FamilyBinding
    /// Where the scan of the document (户口簿, 出生医学证明 …) is kept.
    public var documentReference: String?

    private enum Keys: String, CodingKey { case documentReference }

    public func encode(to encoder: any Encoder) throws {
        try binding.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(documentReference, forKey: .documentReference)
    }
}
