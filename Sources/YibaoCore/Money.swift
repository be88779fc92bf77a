/// An amount of money in fen (分, 0.01 yuan). Every amount in Yibao is a `Money`; there is no
/// floating point anywhere in money arithmetic. Arithmetic traps on overflow (a bug, never input:
/// inputs are range-checked long before they could overflow).
public struct Money: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The amount in fen.
    public let fen: Int64

    /// Creates an amount from fen.
    public init(fen: Int64) { self.fen = fen }

    /// Creates an amount from whole yuan.
    public static func yuan(_ yuan: Int64) -> Money {
        let (value, overflow) = yuan.multipliedReportingOverflow(by: 100)
        precondition(!overflow, "Money overflow")
        return Money(fen: value)
    }

    /// Zero fen.
    public static let zero = Money(fen: 0)

    /// The largest amount any single request may carry (10 million yuan); larger is refused as absurd.
    public static let requestAmountMax = Money.yuan(10_000_000)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let fen = try? container.decode(Int64.self) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "an amount is an integer number of fen (no decimals, no text)")
        }
        self.fen = fen
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(fen)
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.fen < rhs.fen }

    public static func + (lhs: Money, rhs: Money) -> Money {
        let (value, overflow) = lhs.fen.addingReportingOverflow(rhs.fen)
        precondition(!overflow, "Money overflow")
        return Money(fen: value)
    }

    public static func - (lhs: Money, rhs: Money) -> Money {
        let (value, overflow) = lhs.fen.subtractingReportingOverflow(rhs.fen)
        precondition(!overflow, "Money overflow")
        return Money(fen: value)
    }

    public static prefix func - (value: Money) -> Money { .zero - value }

    public static func += (lhs: inout Money, rhs: Money) { lhs = lhs + rhs }
    public static func -= (lhs: inout Money, rhs: Money) { lhs = lhs - rhs }

    /// True when the amount is below zero.
    public var isNegative: Bool { fen < 0 }

    /// True when the amount is above zero.
    public var isPositive: Bool { fen > 0 }

    /// This amount, or zero if it is negative.
    public var clampedAtZero: Money { fen < 0 ? .zero : self }

    /// The share of this amount given by `ratio`, rounded with Yibao's one rounding rule:
    /// **half away from zero, to the fen** (the national platform's `round2` on yuan).
    /// 4.52 yuan × 5 % = 0.226 → 0.23; −0.226 → −0.23.
    public func portion(_ ratio: Ratio) -> Money {
        Money(fen: Rounding.divideRoundingHalfAwayFromZero(fen, times: Int64(ratio.basisPoints), by: Ratio.one))
    }

    /// Yuan with two decimals, e.g. `"6426.00"` or `"-0.23"`.
    public var description: String {
        let sign = fen < 0 ? "-" : ""
        let magnitude = fen.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// The sum of a sequence of amounts.
    public static func sum<S: Sequence>(_ values: S) -> Money where S.Element == Money {
        values.reduce(.zero, +)
    }
}

/// A ratio in basis points (1/10,000): 8500 is 85 %. Reimbursement ratios, first self-pay ratios
/// (先行自付比例) and interest rates are all `Ratio`s.
public struct Ratio: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Basis points in a whole (100 %).
    public static let one: Int64 = 10_000

    /// The ratio in basis points.
    public let basisPoints: Int64

    /// Creates a ratio from basis points.
    public init(basisPoints: Int64) { self.basisPoints = basisPoints }

    /// Creates a ratio from a whole percentage, e.g. `Ratio(percent: 85)`.
    public init(percent: Int64) { self.basisPoints = percent * 100 }

    /// 0 %.
    public static let zero = Ratio(basisPoints: 0)
    /// 100 %.
    public static let whole = Ratio(basisPoints: one)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let basisPoints = try? container.decode(Int64.self) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a ratio is an integer number of basis points (8500 is 85%)")
        }
        self.basisPoints = basisPoints
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(basisPoints)
    }

    public static func < (lhs: Ratio, rhs: Ratio) -> Bool { lhs.basisPoints < rhs.basisPoints }

    /// True for 0 % ... 100 %.
    public var isProperFraction: Bool { basisPoints >= 0 && basisPoints <= Ratio.one }

    /// This ratio plus another, capped at 100 %.
    public func adding(_ other: Ratio) -> Ratio {
        Ratio(basisPoints: min(Ratio.one, basisPoints + other.basisPoints))
    }

    /// This ratio scaled by a factor (itself a ratio), with the one rounding rule.
    public func scaled(by factor: Ratio) -> Ratio {
        Ratio(basisPoints: Rounding.divideRoundingHalfAwayFromZero(basisPoints, times: factor.basisPoints, by: Ratio.one))
    }

    /// Percent with up to two decimals, e.g. `"85%"` or `"4.5%"`.
    public var description: String {
        let whole = basisPoints / 100
        let fraction = basisPoints % 100
        if fraction == 0 { return "\(whole)%" }
        let decimals = fraction % 10 == 0 ? "\(fraction / 10)" : (fraction < 10 ? "0\(fraction)" : "\(fraction)")
        return "\(whole).\(decimals)%"
    }
}

/// The one place where Yibao rounds.
public enum Rounding {
    /// `value × numerator / denominator`, rounded half away from zero. Traps on overflow.
    public static func divideRoundingHalfAwayFromZero(_ value: Int64, times numerator: Int64, by denominator: Int64) -> Int64 {
        precondition(denominator > 0, "denominator must be positive")
        let (product, overflow) = value.multipliedReportingOverflow(by: numerator)
        precondition(!overflow, "Rounding overflow")
        let magnitude = product.magnitude
        let half = UInt64(denominator) / 2
        let rounded = Int64((magnitude + half) / UInt64(denominator))
        return product < 0 ? -rounded : rounded
    }

    /// `value × numerator / denominator`, rounded up (towards +∞) for non-negative inputs.
    public static func divideRoundingUp(_ value: Int64, times numerator: Int64, by denominator: Int64) -> Int64 {
        precondition(denominator > 0 && value >= 0 && numerator >= 0, "divideRoundingUp takes non-negative inputs")
        let (product, overflow) = value.multipliedReportingOverflow(by: numerator)
        precondition(!overflow, "Rounding overflow")
        return (product + denominator - 1) / denominator
    }
}

/// A quantity of a fee item (数量 `cnt`), in ten-thousandths of a unit: the national interface
/// carries `cnt` with four decimals. `Quantity(units: 2)` is 20,000.
public struct Quantity: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Ten-thousandths of a unit in one unit.
    public static let scale: Int64 = 10_000
    /// The largest quantity a fee line may carry (10,000 units).
    public static let max = Quantity(scaled: 10_000 * scale)

    /// The quantity in ten-thousandths of a unit.
    public let scaled: Int64

    /// Creates a quantity from ten-thousandths of a unit.
    public init(scaled: Int64) { self.scaled = scaled }

    /// Creates a quantity of whole units.
    public init(units: Int64) { self.scaled = units * Quantity.scale }

    /// Reads a decimal quantity (a JSON number) with at most four decimals; nil when it has more
    /// decimals, is not finite, or is beyond ±10,000 (reversals carry negative quantities; a fee line
    /// must be positive, which `FeeLine.validate` checks).
    public init?(decimal value: Double) {
        let bound = Double(Quantity.max.scaled / Quantity.scale)
        guard value.isFinite, value >= -bound, value <= bound else { return nil }
        let scaledValue = (value * Double(Quantity.scale)).rounded()
        guard abs(scaledValue - value * Double(Quantity.scale)) < 1e-6 else { return nil }
        self.scaled = Int64(scaledValue)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = try? container.decode(Double.self), let quantity = Quantity(decimal: value) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "a quantity is a number up to 10000 with at most four decimals"
            )
        }
        self = quantity
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Double(scaled) / Double(Quantity.scale))
    }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.scaled < rhs.scaled }

    /// The amount for `unitPrice` × this quantity, with the one rounding rule.
    public func amount(at unitPrice: Money) -> Money {
        Money(fen: Rounding.divideRoundingHalfAwayFromZero(unitPrice.fen, times: scaled, by: Quantity.scale))
    }

    public var description: String {
        let whole = scaled / Quantity.scale
        let fraction = scaled % Quantity.scale
        if fraction == 0 { return "\(whole)" }
        var digits = String(fraction)
        while digits.count < 4 { digits = "0" + digits }
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
