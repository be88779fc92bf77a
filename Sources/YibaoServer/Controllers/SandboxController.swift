import Hummingbird
import Logging
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoStore

/// The sandbox parties' back office, for demos and tests: issue cards, inject bank faults, read the
/// SMS the sandbox "sent". 404 when the platform runs with real parties.
struct SandboxController {
    let platform: Platform
    let messages: any MessageGateway

    struct CardRequest: Codable, Sendable {
        var personNumber: String
        var kind: CardKind
        /// Debit: the balance in fen.
        var balance: Money?
        /// Credit: the limit in fen.
        var creditLimit: Money?
        /// The largest single payment in fen.
        var singleLimit: Money?
    }

    struct StandingRequest: Codable, Sendable {
        var personNumber: String
        /// The credit score the sandbox bureau holds (300–850).
        var score: Int
    }

    struct ClockAdvance: Codable, Sendable {
        var days: Int?
        var seconds: Int?
    }

    struct ClockView: Codable, Sendable {
        var now: Instant
        /// How far the sandbox clock is ahead of the system's.
        var offsetSeconds: Int64
    }

    struct FaultsRequest: Codable, Sendable {
        var timeoutsBeforeProcessing: Int?
        var timeoutsAfterProcessing: Int?
        var unavailable: Int?
        var delayMilliseconds: Int?
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/sandbox/cards", .operator(.operator), "Sandbox bank: issue a card to a person") { request, context in
            var request = request
            let body = try await request.decodeJSON(CardRequest.self, context: context)
            let bank = try sandbox()
            guard let person = try await platform.person(number: body.personNumber) else {
                throw Refusal(.unknownPerson, "no person \(body.personNumber)", field: "person_number")
            }
            for (field, value) in [("balance", body.balance), ("credit_limit", body.creditLimit), ("single_limit", body.singleLimit)] {
                if let value, value.isNegative || value > Money.requestAmountMax { throw Refusal.invalid(field, "\(field) is 0 to 1000000000 fen") }
            }
            let card = try await bank.issueCard(
                holderIDNumber: person.idNumber, holderName: person.name, kind: body.kind, balance: body.balance ?? .zero,
                creditLimit: body.creditLimit ?? .zero, singleLimit: body.singleLimit
            )
            return JSONResponse(card, status: .created)
        }
        routes.add(.get, "/v1/sandbox/cards/{card_number}", .operator(.viewer), "Sandbox bank: a card's balance and holds") { _, context in
            // The captures this instance still has to send after its answers are sent first: the card as the
            // bank will hold it once they arrive.
            await platform.flushAfterCommit()
            guard let card = try await sandbox().card(try context.parameters.require("card_number")) else { throw Refusal(.notFound, "no such card") }
            return JSONResponse(card)
        }
        routes.add(.put, "/v1/sandbox/faults", .operator(.operator), "Sandbox bank: inject timeouts, unavailability, delays") { request, context in
            var request = request
            let body = try await request.decodeJSON(FaultsRequest.self, context: context)
            let bank = try sandbox()
            let values = [body.timeoutsBeforeProcessing, body.timeoutsAfterProcessing, body.unavailable, body.delayMilliseconds].compactMap { $0 }
            guard values.allSatisfy({ $0 >= 0 && $0 <= 10_000 }) else { throw Refusal.invalid("body", "fault counts are 0 to 10000") }
            // Faults go to the next calls in order: the captures still queued after earlier answers are sent
            // first, so they do not take faults meant for the requests that follow.
            await platform.flushAfterCommit()
            bank.inject(
                SandboxBank.Faults(
                    timeoutsBeforeProcessing: body.timeoutsBeforeProcessing ?? 0, timeoutsAfterProcessing: body.timeoutsAfterProcessing ?? 0,
                    unavailable: body.unavailable ?? 0, delayMilliseconds: body.delayMilliseconds ?? 0
                )
            )
            return Response(status: .noContent)
        }
        routes.add(.get, "/v1/sandbox/clock", .operator(.viewer), "Sandbox test clock: now, and how far ahead of the system's time") { _, _ in
            let clock = try sandboxClock()
            return JSONResponse(ClockView(now: clock.now(), offsetSeconds: clock.offsetSeconds))
        }
        routes.add(
            .post, "/v1/sandbox/clock/advance", .operator(.operator),
            "Sandbox test clock: move forward (days and/or seconds, at most 31 days a call; never back)"
        ) { request, context in
            var request = request
            let body = try await request.decodeJSON(ClockAdvance.self, context: context)
            let clock = try sandboxClock()
            try clock.advance(days: body.days ?? 0, seconds: body.seconds ?? 0)
            context.logger.notice("sandbox clock advanced", metadata: ["offset_seconds": "\(clock.offsetSeconds)"])
            return JSONResponse(ClockView(now: clock.now(), offsetSeconds: clock.offsetSeconds))
        }
        routes.add(.get, "/v1/sandbox/messages", .operator(.operator), "Sandbox SMS: messages sent to a phone (?phone=)") { request, _ in
            guard let gateway = messages as? SandboxMessages else { throw Refusal(.notFound, "the SMS gateway is not the sandbox") }
            guard let phone = request.uri.queryParameters.get("phone") else { throw Refusal.invalid("phone", "give ?phone=") }
            return JSONResponse(gateway.messages(to: phone))
        }
        addCreditRoutes(to: routes)
    }

    func addCreditRoutes(to routes: RouteRegistry) {
        routes.add(.put, "/v1/sandbox/credit-standing", .operator(.operator), "Sandbox bank: set a person's credit score at its bureau") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(StandingRequest.self, context: context)
            guard (300...850).contains(body.score) else { throw Refusal.invalid("score", "score is 300 to 850") }
            guard let bank = platform.credit as? SandboxBank else { throw Refusal(.notFound, "the credit partner is not the sandbox bank") }
            guard let person = try await platform.person(number: body.personNumber) else {
                throw Refusal(.unknownPerson, "no person \(body.personNumber)", field: "person_number")
            }
            try await bank.setCreditScore(idNumber: person.idNumber, score: body.score)
            return Response(status: .noContent)
        }
    }

    func sandboxClock() throws -> SandboxClock {
        guard let clock = platform.sandboxClock else { throw Refusal(.notFound, "the platform runs on the system clock, not the sandbox's") }
        return clock
    }

    func sandbox() throws -> SandboxBank {
        guard let bank = platform.sandbox else { throw Refusal(.notFound, "the payment channel is not the sandbox bank") }
        return bank
    }
}
