import YibaoCore

/// One step of a simulation: an operation a hospital, a patient, the bank, the clock or a crash does.
/// Steps are generated from the seed before the run and refer to settlements by index (taken modulo
/// the settlements made so far), so a failing list can be shortened by removing steps and replayed.
public enum SimulationStep: Sendable, Hashable, CustomStringConvertible {
    /// A fee line: class (0 A, 1 B, 2 C) and price in fen.
    public struct Line: Sendable, Hashable, CustomStringConvertible {
        /// 0: class A, 1: class B (capped, first self-pay), 2: class C.
        public var itemClass: Int
        /// Unit price in fen.
        public var priceFen: Int64

        public var description: String { "\(["A", "B", "C"][itemClass])\(Money(fen: priceFen))" }
    }

    /// Open a visit by person number and settle it; the hospital collects cash at its counter.
    case counterSettle(member: Int, lines: [Line], useAccount: Bool)
    /// One-code payment: the member's code and the lines; cash from the member's default source.
    case codeSettle(member: Int, lines: [Line], useAccount: Bool)
    /// Member 0's code pays for member 2 (mutual aid from member 0's account, cash from 0's card).
    case familySettle(lines: [Line], useAccount: Bool)
    /// Member 1's frictionless visit, settled by the hospital with no code.
    case frictionlessSettle(lines: [Line])
    /// A hospital's payment order paid on the phone: by the member, or by member 0 for member 2 (a binder).
    case orderSettle(member: Int, byBinder: Bool, lines: [Line], useAccount: Bool)
    /// Open a visit by person number and pre-settle it; it stays open.
    case openAndPreSettle(member: Int, lines: [Line])
    /// Settle a visit opened earlier (by index).
    case settleOpenVisit(visit: Int, useAccount: Bool)
    /// Cancel a visit (挂号撤销): one opened earlier (by index; it may be settled since, then the cancellation is
    /// refused), or the visit of a settlement (refused while the settlement is live, cancelled once it is reversed).
    case cancelVisit(index: Int, ofSettlement: Bool)
    /// Refund part of the cash of a settlement (by index), in per-mille of what it paid.
    case refundCash(settlement: Int, permille: Int)
    /// Refund the insurance part of a settlement.
    case refundInsurance(settlement: Int)
    /// Refund lines of a settlement: the bits of `mask` pick the lines.
    case refundLines(settlement: Int, mask: Int)
    /// Reverse a settlement (冲正).
    case reverse(settlement: Int)
    /// Send the last money-moving request again, with the same Idempotency-Key or a new one.
    case retryLast(sameKey: Bool)
    /// Send the last money-moving request twice at once with the same key.
    case concurrentDuplicate
    /// The bank's next calls: 0 time out before processing, 1 are processed but the answer is lost, 2 find it unavailable.
    case bankFault(kind: Int, count: Int)
    /// Freeze or unfreeze a member's card, or set its balance (yuan).
    case cardChange(member: Int, frozen: Bool, balanceYuan: Int64?)
    /// Member 1 pays cash parts from the credit line (true) or the card.
    case defaultSource(creditLine: Bool)
    /// The server's background work with a healthy bank: channel operations, pending payments,
    /// premiums and repayments resolved.
    case background
    /// The clock moves.
    case advance(seconds: Int64)
    /// The credit daily job for today.
    case dailyJobs
    /// Member 2 or 3 pays the resident contribution (member 0 may pay for member 2).
    case premium(member: Int, byBinder: Bool)
    /// Member 1 repays part of the credit line, in per-mille of what is owed, from the account or the card.
    case repay(permille: Int, fromAccount: Bool)
    /// The binding of member 2 to member 0 ends (either side), or is made again.
    case binding(unbind: Bool)
    /// The next write transaction is aborted before its n-th statement (a crash).
    case abortNextWrite(statement: Int)

    public var description: String {
        switch self {
        case .counterSettle(let m, let lines, let account): return "counterSettle(member \(m), \(lines), account \(account))"
        case .codeSettle(let m, let lines, let account): return "codeSettle(member \(m), \(lines), account \(account))"
        case .familySettle(let lines, let account): return "familySettle(\(lines), account \(account))"
        case .frictionlessSettle(let lines): return "frictionlessSettle(\(lines))"
        case .orderSettle(let m, let byBinder, let lines, let account):
            return "orderSettle(member \(m)\(byBinder ? ", paid by member 0" : ""), \(lines), account \(account))"
        case .openAndPreSettle(let m, let lines): return "openAndPreSettle(member \(m), \(lines))"
        case .settleOpenVisit(let v, let account): return "settleOpenVisit(#\(v), account \(account))"
        case .cancelVisit(let v, let ofSettlement): return "cancelVisit(\(ofSettlement ? "visit of settlement " : "open visit ")#\(v))"
        case .refundCash(let s, let p): return "refundCash(#\(s), \(p)‰)"
        case .refundInsurance(let s): return "refundInsurance(#\(s))"
        case .refundLines(let s, let mask): return "refundLines(#\(s), mask \(mask))"
        case .reverse(let s): return "reverse(#\(s))"
        case .retryLast(let same): return "retryLast(\(same ? "same key" : "new key"))"
        case .concurrentDuplicate: return "concurrentDuplicate"
        case .bankFault(let kind, let count): return "bankFault(\(["timeout before", "answer lost", "unavailable"][kind]) ×\(count))"
        case .cardChange(let m, let frozen, let balance):
            return "cardChange(member \(m), frozen \(frozen), balance \(balance.map(String.init) ?? "same"))"
        case .defaultSource(let line): return "defaultSource(\(line ? "credit line" : "card"))"
        case .background: return "background"
        case .advance(let seconds): return "advance(\(seconds) s)"
        case .dailyJobs: return "dailyJobs"
        case .premium(let m, let byBinder): return "premium(member \(m)\(byBinder ? ", paid by member 0" : ""))"
        case .repay(let p, let account): return "repay(\(p)‰, \(account ? "account" : "card"))"
        case .binding(let unbind): return unbind ? "unbind" : "rebind"
        case .abortNextWrite(let n): return "abortNextWrite(statement \(n))"
        }
    }

    /// `count` steps from a seed.
    public static func generate(seed: UInt64, count: Int) -> [SimulationStep] {
        var rng = SplitMix64(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        // Payment orders came later: a second stream turns a third of the code payments into orders paid on the
        // phone, so the main stream (and every other step of a kept regression seed) is drawn as before.
        var orders = SplitMix64(seed: seed ^ 0x6201)
        // Cancelled visits came later still: a third stream turns half of the steps that settle an open visit into
        // cancellations, of that visit or of a settlement's.
        var cancels = SplitMix64(seed: seed ^ 0x2202)
        return (0..<count).map { _ in
            let step = next(&rng)
            let asOrder = Int.random(in: 0..<3, using: &orders) == 0
            let cancel = Int.random(in: 0..<4, using: &cancels)
            switch step {
            case .settleOpenVisit(let v, _) where cancel < 2:
                return .cancelVisit(index: v, ofSettlement: cancel == 1)
            case .codeSettle(let m, let lines, let account) where asOrder:
                return .orderSettle(member: m, byBinder: false, lines: lines, useAccount: account)
            case .familySettle(let lines, let account) where asOrder:
                return .orderSettle(member: 2, byBinder: true, lines: lines, useAccount: account)
            default: return step
            }
        }
    }

    static func lines(_ rng: inout SplitMix64) -> [Line] {
        (0..<Int.random(in: 1...3, using: &rng)).map { _ in
            let itemClass = Int.random(in: 0...2, using: &rng)
            // Mostly small bills; now and then a large one (a stay, or more than a credit line allows).
            let price: Int64 =
                Int.random(in: 0..<20, using: &rng) == 0
                ? Int64.random(in: 500_000...1_600_000, using: &rng) : Int64.random(in: 500...80_000, using: &rng)
            return Line(itemClass: itemClass, priceFen: price)
        }
    }

    static func next(_ rng: inout SplitMix64) -> SimulationStep {
        let index = Int.random(in: 0..<20, using: &rng) == 0 ? 1_000 : Int.random(in: 0..<100, using: &rng)
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<12: return .codeSettle(member: Int.random(in: 0...3, using: &rng), lines: lines(&rng), useAccount: Bool.random(using: &rng))
        case 12..<20: return .counterSettle(member: Int.random(in: 0...3, using: &rng), lines: lines(&rng), useAccount: Bool.random(using: &rng))
        case 20..<25: return .familySettle(lines: lines(&rng), useAccount: Bool.random(using: &rng))
        case 25..<29: return .frictionlessSettle(lines: lines(&rng))
        case 29..<32: return .openAndPreSettle(member: Int.random(in: 0...3, using: &rng), lines: lines(&rng))
        case 32..<34: return .settleOpenVisit(visit: index, useAccount: Bool.random(using: &rng))
        case 34..<41: return .refundCash(settlement: index, permille: [1000, 1001, 500, 10, 2000].randomElement(using: &rng)!)
        case 41..<46: return .refundInsurance(settlement: index)
        case 46..<51: return .refundLines(settlement: index, mask: Int.random(in: 1...7, using: &rng))
        case 51..<58: return .reverse(settlement: index)
        case 58..<63: return .retryLast(sameKey: Int.random(in: 0..<4, using: &rng) != 0)
        case 63..<66: return .concurrentDuplicate
        case 66..<72: return .bankFault(kind: Int.random(in: 0...2, using: &rng), count: Int.random(in: 1...2, using: &rng))
        case 72..<74:
            return .cardChange(
                member: Int.random(in: 0...3, using: &rng), frozen: Int.random(in: 0..<3, using: &rng) == 0,
                balanceYuan: Bool.random(using: &rng) ? Int64.random(in: 0...3000, using: &rng) : nil)
        case 74..<76: return .defaultSource(creditLine: Bool.random(using: &rng))
        case 76..<83: return .background
        case 83..<88: return .advance(seconds: [31, 61, 600, 3_600, 86_400, 86_400 * 9, 86_400 * 35].randomElement(using: &rng)!)
        case 88..<90: return .dailyJobs
        case 90..<93: return .premium(member: Int.random(in: 2...3, using: &rng), byBinder: Bool.random(using: &rng))
        case 93..<95: return .repay(permille: [1000, 500, 100, 1500].randomElement(using: &rng)!, fromAccount: Bool.random(using: &rng))
        case 95..<97: return .binding(unbind: Bool.random(using: &rng))
        default: return .abortNextWrite(statement: Int.random(in: 1...40, using: &rng))
        }
    }
}
