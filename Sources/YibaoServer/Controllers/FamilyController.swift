import Foundation
import Hummingbird
import YibaoApp
import YibaoCore
import YibaoStore

/// Family accounts (亲情账户 / 家庭共济): binding relatives, confirming, reviewing, unbinding, and acting for
/// a bound member (their balances, history, drug list, contributions).
struct FamilyController {
    let platform: Platform
    let verifier: any IdentityVerifier
    let auth: PatientAuthCheck

    struct BindRequest: Codable, Sendable {
        var memberNumber: String
        var memberIdNumber: String
        var relationship: Relationship
        var totpCode: String?
        var documentType: String?
        var documentReference: String?
    }

    struct ConfirmRequest: Codable, Sendable {
        var totpCode: String?
        /// The face-verification provider's evidence (the sandbox accepts `sandbox-face:<person number>`).
        var faceEvidence: String
    }

    /// Which face-verification provider the app's client should use.
    struct FaceVerificationProvider: Codable, Sendable {
        var provider: String
    }

    struct ReviewRequest: Codable, Sendable {
        var decision: String
        var note: String?
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/patient/family/bindings", .patient, "Ask to bind a spouse, parent or child (needs the authenticator code)") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(BindRequest.self, context: context)
            try await auth.requireSecondFactor(body.totpCode, session: context.patient)
            let binding = try await platform.requestBinding(
                binder: context.patient.personNumber,
                BindingRequest(
                    memberNumber: body.memberNumber, memberIdNumber: body.memberIdNumber, relationship: body.relationship,
                    documentType: body.documentType,
                    documentReference: body.documentReference
                )
            )
            return JSONResponse(binding, status: .created)
        }
        routes.add(.get, "/v1/patient/family/bindings", .patient, "Your bindings, as binder and as member") { _, context in
            JSONResponse(try await platform.bindings(of: context.patient.personNumber))
        }
        routes.add(
            .post, "/v1/patient/family/bindings/{binding_id}/confirm", .patient, "Confirm a binding of you (second factor and face verification)"
        ) {
            request, context in
            let me = context.patient.personNumber
            let id = try context.parameters.require("binding_id")
            // Someone else's binding is not found, before anything about the request is judged.
            guard try await platform.bindings(of: me).contains(where: { $0.id == id && $0.memberNumber == me }) else {
                throw Refusal(.notFound, "no binding \(id) for you")
            }
            var request = request
            let body = try await request.decodeJSON(ConfirmRequest.self, context: context)
            try await auth.requireSecondFactor(body.totpCode, session: context.patient)
            guard let person = try await platform.person(number: me), try await verifier.verify(person: person, evidence: body.faceEvidence) else {
                throw Refusal(.identityNotVerified, "face verification did not confirm you; try again", field: "face_evidence")
            }
            return JSONResponse(try await platform.confirmBinding(id: id, member: me))
        }
        routes.add(.get, "/v1/patient/face-verification", .patient, "The face-verification provider the app collects evidence with") { _, _ in
            guard verifier.isConfigured else { throw UnconfiguredParty.refusal("face verification") }
            return JSONResponse(FaceVerificationProvider(provider: verifier.provider))
        }
        routes.add(.post, "/v1/patient/family/bindings/{binding_id}/decline", .patient, "Decline a binding of you") { _, context in
            JSONResponse(try await platform.declineBinding(id: try context.parameters.require("binding_id"), member: context.patient.personNumber))
        }
        routes.add(.post, "/v1/patient/family/bindings/{binding_id}/cancel", .patient, "Withdraw your pending request") { _, context in
            JSONResponse(try await platform.cancelBinding(id: try context.parameters.require("binding_id"), binder: context.patient.personNumber))
        }
        routes.add(.delete, "/v1/patient/family/bindings/{binding_id}", .patient, "Unbind (either side; at once)") { _, context in
            JSONResponse(try await platform.unbind(id: try context.parameters.require("binding_id"), by: context.patient.personNumber))
        }
        routes.add(.get, "/v1/patient/family/members/{member_number}/wallet", .patient, "A bound member's balances") { _, context in
            let member = try await acting(context, purpose: "family.view_wallet")
            return JSONResponse(try await platform.wallet(person: member))
        }
        routes.add(.get, "/v1/patient/family/members/{member_number}/history", .patient, "A bound member's movements (same filters as yours)") {
            request, context in
            let member = try await acting(context, purpose: "family.view_history")
            return JSONResponse(try await platform.history(person: member, query: try WalletController.query(request)))
        }
        routes.add(.get, "/v1/patient/family/members/{member_number}/items", .patient, "A bound member's drugs and items") { request, context in
            let member = try await acting(context, purpose: "family.view_items")
            let q = request.uri.queryParameters
            return JSONResponse(
                try await platform.purchasedItems(
                    person: member, from: try WalletController.instant(q.get("from"), "from"),
                    until: try WalletController.instant(q.get("until"), "until"),
                    institution: q.get("institution"), cursor: q.get("cursor")
                )
            )
        }
        routes.add(.get, "/v1/patient/family/members/{member_number}/medication-reminders", .patient, "A bound member's medication reminders") {
            _, context in
            let member = try await acting(context, purpose: "family.view_reminders")
            return JSONResponse(try await platform.medicationReminders(person: member))
        }
        routes.add(
            .patch, "/v1/patient/family/members/{member_number}/medication-reminders/{reminder_id}", .patient,
            "Accept, edit or turn off a bound member's reminder; its times then reach you too"
        ) { request, context in
            let member = try context.parameters.require("member_number")
            try await FamilyAuthority.require(platform: platform, actor: context.patient.personNumber, for: member, purpose: .view)
            var request = request
            let body = try await request.decodeJSON(WalletController.ReminderChange.self, context: context)
            let caregiver = member == context.patient.personNumber ? nil : context.patient.personNumber
            return JSONResponse(
                try await platform.changeMedicationReminder(
                    id: try context.parameters.require("reminder_id"), person: member,
                    change: body.change(caregiver: caregiver)))
        }
        routes.add(.get, "/v1/patient/family/activity", .patient, "Who acted for you: family members' reads and payments") { _, context in
            JSONResponse(try await platform.familyActivity(member: context.patient.personNumber))
        }
        routes.add(.get, "/v1/admin/family/reviews", .operator(.operator), "Bindings made with documents, waiting for review") { _, _ in
            JSONResponse(try await platform.pendingBindingReviews())
        }
        routes.add(.put, "/v1/admin/family/reviews/{binding_id}", .operator(.operator), "Approve or reject a binding made with documents") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(ReviewRequest.self, context: context)
            guard ["approve", "reject"].contains(body.decision) else { throw Refusal.invalid("decision", "decision is approve or reject") }
            return JSONResponse(
                try await platform.reviewBinding(
                    id: try context.parameters.require("binding_id"), approve: body.decision == "approve", operatorName: context.operator.name,
                    note: body.note
                )
            )
        }
    }

    /// The member a binder acts for (or the patient themself), with the read recorded in the member's
    /// audit trail; 404 for anyone else.
    func acting(_ context: AppRequestContext, purpose: String) async throws -> String {
        let member = try context.parameters.require("member_number")
        try await FamilyAuthority.require(platform: platform, actor: context.patient.personNumber, for: member, purpose: .view, action: purpose)
        return member
    }
}

/// Checks a signed-in patient's authenticator code (new devices, cards, family bindings, paying for family).
struct PatientAuthCheck: Sendable {
    let platform: Platform

    /// The second factor of a signed-in patient: the authenticator code, or one proved in this session in
    /// the last five minutes (see `Platform.requireSecondFactor`).
    func requireSecondFactor(_ code: String?, session: PatientSession) async throws {
        try await platform.requireSecondFactor(code, session: session)
    }
}
