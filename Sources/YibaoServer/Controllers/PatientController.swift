import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import YibaoApp
import YibaoCore
import YibaoStore

/// The patient's phone: registration (ID number, insurance number and phone, verified by SMS), sign-in
/// with password and authenticator code, sessions, devices that make e-voucher codes, funding sources,
/// receipts.
struct PatientController {
    let platform: Platform
    let messages: any MessageGateway
    let auth: PatientAuth
    let limiter: RateLimiter
    let trustedProxies: [String]

    struct RegistrationCodeRequest: Codable, Sendable {
        var idNumber: String
        var personNumber: String
        var phone: String
    }

    struct RegistrationCodeSent: Codable, Sendable {
        var sentTo: String
        var expiresInSeconds: Int64
    }

    struct RegistrationRequest: Codable, Sendable {
        var idNumber: String
        var personNumber: String
        var phone: String
        var smsCode: String
        var password: String
    }

    struct Registered: Codable, Sendable {
        var personNumber: String
        /// The authenticator app's key, base32 (what an app takes by hand), shown once.
        var totpSecret: String
        var otpauthUri: String
    }

    struct PhoneRequest: Codable, Sendable {
        var phone: String
    }

    struct PasswordResetRequest: Codable, Sendable {
        var phone: String
        var smsCode: String
        var totpCode: String
        var newPassword: String
    }

    struct AuthenticatorRequest: Codable, Sendable {
        var phone: String
        var password: String
        var smsCode: String
    }

    struct SecondFactorRequest: Codable, Sendable {
        var totpCode: String
    }

    struct SignInRequest: Codable, Sendable {
        var phone: String
        var password: String
        var totpCode: String?
    }

    struct SessionOpened: Codable, Sendable {
        var token: String
        var sessionId: String
        var expiresAt: Instant
    }

    struct Profile: Codable, Sendable {
        var personNumber: String
        var nameMasked: String
        var region: RegionCode
        var insuranceType: InsuranceType
        var status: InsuranceStatus
        var accountBalance: Money
        var sessionId: String
        var sessionExpiresAt: Instant
    }

    struct DeviceRequest: Codable, Sendable {
        var name: String
        var totpCode: String?
    }

    /// What a phone needs to make codes offline (docs/e-voucher-code.md), shown once.
    struct DeviceProvisioned: Codable, Sendable {
        var deviceId: String
        var deviceNumber: String
        var secret: String
        var algorithm: String
        var stepSeconds: Int64
        var codeLength: Int
        var serverTime: Instant
    }

    struct CurrentCode: Codable, Sendable {
        var code: String
        var validUntil: Instant
    }

    struct CardRequest: Codable, Sendable {
        var cardNumber: String
        var totpCode: String?
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/patient/registration/sms", .anyone, "Send a registration code to the enrolled phone") { request, context in
            var request = request
            let body = try await request.decodeJSON(RegistrationCodeRequest.self, context: context)
            guard messages.isConfigured else { throw UnconfiguredParty.refusal("SMS") }
            try limitSMS(phone: body.phone, client: context.clientAddress(request, trustedProxies: trustedProxies))
            let person = try await platform.registrationPerson(idNumber: body.idNumber, personNumber: body.personNumber, phone: body.phone)
            try await sendCode(to: body.phone, purpose: "register", text: { "【医保】您的注册验证码是 \($0)，5分钟内有效。Yibao registration code \($0)." })
            return JSONResponse(
                RegistrationCodeSent(sentTo: Masking.phone(person.phone ?? body.phone), expiresInSeconds: Platform.smsCodeLifetimeSeconds),
                status: .accepted
            )
        }
        routes.add(.post, "/v1/patient/registration", .anyone, "Register with the SMS code and a password; returns the authenticator key") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(RegistrationRequest.self, context: context)
            let client = context.clientAddress(request, trustedProxies: trustedProxies)
            try limiter.check("registration:" + body.phone, Limits.registrationsPerPhone, what: "registration attempts for this phone")
            try limiter.check("registration-client:" + client, Limits.registrationsPerClient, what: "registration attempts from this address")
            let person = try await platform.registrationPerson(idNumber: body.idNumber, personNumber: body.personNumber, phone: body.phone)
            if let problem = PasswordPolicy.problem(body.password, phone: body.phone, idNumber: body.idNumber) {
                throw Refusal(.weakPassword, problem, field: "password")
            }
            let secret = AuthenticatorCode.newSecret()
            try await platform.registerPatient(
                person: person, smsCode: body.smsCode, passwordHash: try await auth.hash(body.password), totpSecret: secret)
            return JSONResponse(
                Registered(
                    personNumber: person.number, totpSecret: AuthenticatorCode.manualKey(secret),
                    otpauthUri: AuthenticatorCode.otpauthURI(secret: secret, label: "Yibao:\(Masking.phone(body.phone))")
                ),
                status: .created
            )
        }
        routes.add(.post, "/v1/patient/sessions", .anyone, "Sign in with phone, password and authenticator code") { request, context in
            var request = request
            let body = try await request.decodeJSON(SignInRequest.self, context: context)
            try limiter.check("sign-in:" + body.phone, Limits.signInsPerPhone, what: "sign-in attempts")
            let now = platform.clock.now()
            guard let credentials = try await platform.patientCredentials(phone: body.phone) else {
                _ = try await auth.hash(body.password)  // as slow as a real check: the answer does not tell whether the phone is registered
                throw Refusal(.signInFailed, "the phone, password or authenticator code is wrong")
            }
            if credentials.authenticatorResetPending, credentials.lockedUntil.map({ $0 <= now }) ?? true {
                throw Refusal(
                    .signInFailed, "your authenticator was reset by the bureau: set up the new one first (password and an SMS code)",
                    field: "totp_code")
            }
            let step = try await auth.checkSignIn(
                password: body.password, hash: credentials.passwordHash, totpSecret: credentials.totpSecret, code: body.totpCode,
                lastStep: credentials.totpLastStep, lockedUntil: credentials.lockedUntil, now: now,
                wrong: "the phone, password or authenticator code is wrong"
            ) { try await platform.recordSignInFailure(person: credentials.personNumber) }
            let (token, session) = try await platform.openSession(person: credentials.personNumber, totpStep: step)
            return JSONResponse(SessionOpened(token: token, sessionId: session.id, expiresAt: session.expiresAt), status: .created)
        }
        routes.add(.get, "/v1/patient/sessions", .patient, "Your signed-in sessions") { _, context in
            JSONResponse(try await platform.sessions(of: context.patient.personNumber, current: context.patient.id))
        }
        routes.add(.delete, "/v1/patient/sessions", .patient, "Sign out everywhere: every session ends") { _, context in
            try await platform.revokeAllSessions(person: context.patient.personNumber, actor: "patient:" + context.patient.personNumber)
            return Response(status: .noContent)
        }
        routes.add(.delete, "/v1/patient/sessions/{session_id}", .patient, "Sign out a session") { _, context in
            try await platform.revokeSession(id: try context.parameters.require("session_id"), person: context.patient.personNumber)
            return Response(status: .noContent)
        }
        routes.add(
            .post, "/v1/patient/sessions/current/second-factor", .patient,
            "Prove the authenticator code again: sensitive actions in the next five minutes need no code"
        ) { request, context in
            var request = request
            let body = try await request.decodeJSON(SecondFactorRequest.self, context: context)
            try await platform.requireSecondFactor(body.totpCode, session: context.patient)
            return Response(status: .noContent)
        }
        addRecoveryRoutes(to: routes)
        routes.add(.get, "/v1/patient/institutions", .patient, "Designated institutions (定点医药机构): code, name, level, region") { _, _ in
            JSONResponse(try await platform.institutions().map(InstitutionSummary.init))
        }
        routes.add(
            .post, "/v1/patient/estimate", .patient,
            "How much will I be reimbursed? What a settlement of these items at an institution would pay now; nothing is written"
        ) { request, context in
            var request = request
            let body = try await request.decodeJSON(EstimateRequest.self, context: context)
            return JSONResponse(try await platform.estimate(person: context.patient.personNumber, body))
        }
        routes.add(.get, "/v1/patient/me", .patient, "The signed-in patient") { _, context in
            guard let person = try await platform.person(number: context.patient.personNumber) else { throw Refusal(.notFound, "no such person") }
            let balance = try await platform.accountBalance(of: person.number)
            return JSONResponse(
                Profile(
                    personNumber: person.number, nameMasked: Masking.name(person.name), region: person.region, insuranceType: person.insuranceType,
                    status: person.status, accountBalance: balance.balance - balance.held, sessionId: context.patient.id,
                    sessionExpiresAt: context.patient.expiresAt
                )
            )
        }
        addDeviceRoutes(to: routes)
        addFundingRoutes(to: routes)
    }

    func addDeviceRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/patient/devices", .patient, "The patient's devices") { _, context in
            JSONResponse(try await platform.devices(person: context.patient.personNumber))
        }
        routes.add(.post, "/v1/patient/devices", .patient, "Enrol this phone for e-voucher codes (needs the authenticator code)") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(DeviceRequest.self, context: context)
            try await platform.requireSecondFactor(body.totpCode, session: context.patient)
            let enrolled = try await platform.enrolDevice(person: context.patient.personNumber, name: body.name)
            return JSONResponse(
                DeviceProvisioned(
                    deviceId: enrolled.device.id, deviceNumber: enrolled.device.number, secret: Base32.encode(enrolled.secret),
                    algorithm: "YIBAO-EVC-1",
                    stepSeconds: VoucherCode.stepSeconds, codeLength: VoucherCode.length, serverTime: platform.clock.now()
                ),
                status: .created
            )
        }
        routes.add(.delete, "/v1/patient/devices/{device_id}", .patient, "Revoke a device: its codes stop working at once") { _, context in
            try await platform.revokeDevice(id: try context.parameters.require("device_id"), person: context.patient.personNumber)
            return Response(status: .noContent)
        }
        routes.add(
            .get, "/v1/patient/devices/{device_id}/code", .patient,
            "The device's current code (for barcode display); needs a second factor in the last five minutes"
        ) { _, context in
            try await platform.requireSecondFactor(nil, session: context.patient)
            let current = try await platform.currentCode(device: try context.parameters.require("device_id"), person: context.patient.personNumber)
            return JSONResponse(CurrentCode(code: current.code, validUntil: current.validUntil), headers: [.cacheControl: "no-store"])
        }
        routes.add(
            .get, "/v1/patient/devices/{device_id}/code.svg", .patient,
            "The device's current code as a QR image; needs a second factor in the last five minutes"
        ) { _, context in
            try await platform.requireSecondFactor(nil, session: context.patient)
            let current = try await platform.currentCode(device: try context.parameters.require("device_id"), person: context.patient.personNumber)
            let svg = try QRCode(current.code).svg()
            return Response(
                status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: svg))
            )
        }
        routes.add(.get, "/v1/patient/settlements/{settlement_id}/receipt", .patient, "The patient's receipt") { _, context in
            JSONResponse(platform.receipt(for: try await ownSettlement(try context.parameters.require("settlement_id"), context.patient)))
        }
        routes.add(.get, "/v1/patient/settlements/{settlement_id}/receipt.html", .patient, "The patient's receipt as a page") { _, context in
            ReceiptPage.response(platform.receipt(for: try await ownSettlement(try context.parameters.require("settlement_id"), context.patient)))
        }
    }

    func addFundingRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/patient/funding-sources", .patient, "The patient's cards and credit lines") { _, context in
            JSONResponse(try await platform.fundingSources(person: context.patient.personNumber).map(FundingSourceView.init))
        }
        routes.add(.post, "/v1/patient/funding-sources", .patient, "Bind a card (the bank checks it is in the patient's name)") { request, context in
            var request = request
            let body = try await request.decodeJSON(CardRequest.self, context: context)
            try await platform.requireSecondFactor(body.totpCode, session: context.patient)
            let source = try await platform.bindCard(person: context.patient.personNumber, number: body.cardNumber)
            return JSONResponse(FundingSourceView(source), status: .created)
        }
        routes.add(.put, "/v1/patient/funding-sources/{source_id}/default", .patient, "Pay cash parts from this source") { _, context in
            try await platform.setDefaultFundingSource(id: try context.parameters.require("source_id"), person: context.patient.personNumber)
            return JSONResponse(try await platform.fundingSources(person: context.patient.personNumber).map(FundingSourceView.init))
        }
        routes.add(.delete, "/v1/patient/funding-sources/{source_id}", .patient, "Remove a funding source") { _, context in
            try await platform.removeFundingSource(id: try context.parameters.require("source_id"), person: context.patient.personNumber)
            return Response(status: .noContent)
        }
    }

    /// A funding source without its channel token.
    struct FundingSourceView: Codable, Sendable {
        var id: String
        var kind: CardKind
        var masked: String
        var bank: String
        var isDefault: Bool

        init(_ source: FundingSource) {
            id = source.id
            kind = source.kind
            masked = source.masked
            bank = source.bank
            isDefault = source.isDefault
        }
    }

    /// Password reset and a new authenticator after an operator's reset: both start with an SMS code to
    /// the registered phone, rate-limited like registration.
    func addRecoveryRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/patient/password-reset/sms", .anyone, "Send a password-reset code to your registered phone") { request, context in
            var request = request
            let body = try await request.decodeJSON(PhoneRequest.self, context: context)
            guard messages.isConfigured else { throw UnconfiguredParty.refusal("SMS") }
            try limitSMS(phone: body.phone, client: context.clientAddress(request, trustedProxies: trustedProxies))
            // The same answer whether or not the phone is registered: it does not tell who uses Yibao.
            if try await platform.registeredPerson(phone: body.phone) != nil {
                try await sendCode(to: body.phone, purpose: "reset", text: { "【医保】您的重置密码验证码是 \($0)，5分钟内有效。如非本人操作请忽略。" })
            }
            return JSONResponse(
                RegistrationCodeSent(sentTo: Masking.phone(body.phone), expiresInSeconds: Platform.smsCodeLifetimeSeconds), status: .accepted)
        }
        routes.add(.post, "/v1/patient/password-reset", .anyone, "Set a new password with the SMS code and the authenticator code") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(PasswordResetRequest.self, context: context)
            try limiter.check(
                "registration-client:" + context.clientAddress(request, trustedProxies: trustedProxies), Limits.registrationsPerClient,
                what: "attempts from this address")
            guard let person = try await platform.registeredPerson(phone: body.phone), let found = try await platform.person(number: person) else {
                throw Refusal(.smsCodeInvalid, "the verification code is wrong or has expired; request a new one", field: "sms_code")
            }
            if let problem = PasswordPolicy.problem(body.newPassword, phone: body.phone, idNumber: found.idNumber) {
                throw Refusal(.weakPassword, problem, field: "new_password")
            }
            try await platform.resetPassword(
                phone: body.phone, smsCode: body.smsCode, totpCode: body.totpCode, passwordHash: try await auth.hash(body.newPassword))
            return Response(status: .noContent)
        }
        routes.add(.post, "/v1/patient/authenticator/sms", .anyone, "After the bureau reset your authenticator: send a code to set up a new one") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(PhoneRequest.self, context: context)
            guard messages.isConfigured else { throw UnconfiguredParty.refusal("SMS") }
            try limitSMS(phone: body.phone, client: context.clientAddress(request, trustedProxies: trustedProxies))
            if try await platform.registeredPerson(phone: body.phone) != nil {
                try await sendCode(to: body.phone, purpose: "authenticator", text: { "【医保】您设置新身份验证器的验证码是 \($0)，5分钟内有效。如非本人操作请立即联系医保经办机构。" })
            }
            return JSONResponse(
                RegistrationCodeSent(sentTo: Masking.phone(body.phone), expiresInSeconds: Platform.smsCodeLifetimeSeconds), status: .accepted)
        }
        routes.add(
            .post, "/v1/patient/authenticator", .anyone, "Set up a new authenticator after the bureau's reset: password and SMS code; returns the key"
        ) { request, context in
            var request = request
            let body = try await request.decodeJSON(AuthenticatorRequest.self, context: context)
            try limiter.check("sign-in:" + body.phone, Limits.signInsPerPhone, what: "attempts")
            guard let credentials = try await platform.patientCredentials(phone: body.phone),
                try await auth.verify(body.password, hash: credentials.passwordHash)
            else {
                if let person = try await platform.registeredPerson(phone: body.phone) { _ = try await platform.recordSignInFailure(person: person) }
                throw Refusal(.signInFailed, "the phone or password is wrong")
            }
            let secret = AuthenticatorCode.newSecret()
            try await platform.reenrolAuthenticator(person: credentials.personNumber, phone: body.phone, smsCode: body.smsCode, secret: secret)
            return JSONResponse(
                Registered(
                    personNumber: credentials.personNumber, totpSecret: AuthenticatorCode.manualKey(secret),
                    otpauthUri: AuthenticatorCode.otpauthURI(secret: secret, label: "Yibao:\(Masking.phone(body.phone))")),
                status: .created)
        }
    }

    /// SMS codes per phone (1 a minute, 5 an hour) and per client address (20 an hour).
    func limitSMS(phone: String, client: String) throws {
        try limiter.check("sms:" + phone, Limits.smsPerPhone, what: "verification codes for this phone")
        try limiter.check("sms-hour:" + phone, Limits.smsPerPhoneHourly, what: "verification codes for this phone")
        try limiter.check("sms-client:" + client, Limits.smsPerClient, what: "verification codes from this address")
    }

    /// Saves a new code for a phone and purpose and sends it.
    func sendCode(to phone: String, purpose: String, text: (String) -> String) async throws {
        let code = String(format: "%06d", Int.random(in: 0...999_999))
        try await platform.saveSMSCode(phone: phone, purpose: purpose, code: code)
        try await messages.send(to: phone, text: text(code))
    }

    func ownSettlement(_ id: String, _ session: PatientSession) async throws -> SettlementRecord {
        guard let record = try await platform.settlement(id: id, institution: nil), record.personNumber == session.personNumber,
            record.state == .completed
        else { throw Refusal(.notFound, "no settlement \(id) of yours") }
        return record
    }
}
