import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Makes identifiers for new records: a short prefix naming the kind of record, then 26 characters
/// of Crockford base 32 holding 48 bits of milliseconds and 80 random bits (the ULID layout), so
/// ids sort by creation time, are unique across server instances and carry no personal data.
/// `S` + 26 characters fits the national 30-character `setl_id`.
public protocol IDGenerator: Sendable {
    /// A new identifier starting with `prefix`.
    func next(_ prefix: String) -> String
}

/// The production generator: the kernel's cryptographic random source and a wall clock. The random
/// bits come from a pool filled sixteen identifiers at a time (`RandomPool`), not from two system calls
/// per identifier (the standard library's generator asks the kernel for every word, and a settlement
/// makes several ids).
public struct RandomIDGenerator: IDGenerator {
    private let clock: any WallClock
    private let pool = RandomPool()

    /// Creates a generator reading time from `clock`.
    public init(clock: any WallClock) { self.clock = clock }

    public func next(_ prefix: String) -> String {
        let (high, low) = pool.next()
        return ULID.encode(time: clock.now(), high: high, low: low).prefixed(prefix)
    }
}

/// Random words from the kernel's cryptographic source, read ahead 256 bytes at a time (what one
/// `getentropy` call gives) under a lock; each word is handed out once.
final class RandomPool: Sendable {
    private struct State {
        var words = [UInt64](repeating: 0, count: 32)
        var next = 32
    }

    private let state = Mutex(State())

    /// Two random words.
    func next() -> (UInt64, UInt64) {
        state.withLock { state in
            if state.next + 2 > state.words.count {
                state.words.withUnsafeMutableBytes(RandomPool.fill)
                state.next = 0
            }
            defer { state.next += 2 }
            return (state.words[state.next], state.words[state.next + 1])
        }
    }

    /// Fills `buffer` (at most 256 bytes) from the kernel's cryptographic source in one call:
    /// `getentropy`, which is `getrandom`; elsewhere, and should it fail, a word at a time from the
    /// standard library's generator.
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        #if canImport(Glibc)
        if getentropy(buffer.baseAddress, buffer.count) == 0 { return }
        #endif
        var source = SystemRandomNumberGenerator()
        for offset in stride(from: 0, to: buffer.count, by: 8) {
            buffer.storeBytes(of: source.next() as UInt64, toByteOffset: offset, as: UInt64.self)
        }
    }
}

/// A deterministic generator for tests and simulations: a seeded sequence, so a failing run can be
/// repeated from its seed.
public final class SeededIDGenerator: IDGenerator {
    private let state: Mutex<SplitMix64>
    private let clock: any WallClock

    /// Creates a generator from a seed.
    public init(seed: UInt64, clock: any WallClock) {
        self.state = Mutex(SplitMix64(seed: seed))
        self.clock = clock
    }

    public func next(_ prefix: String) -> String {
        let (high, low) = state.withLock { rng in (rng.next(), rng.next()) }
        return ULID.encode(time: clock.now(), high: high, low: low).prefixed(prefix)
    }
}

/// Bounds of time-ordered identifiers, for reading the records of a period by their ids.
public enum TimeOrderedID {
    /// The smallest identifier starting with `prefix` made at `time`: every id made at or after it
    /// sorts at or after this, every id made before it sorts before.
    public static func lowerBound(_ prefix: String, at time: Instant) -> String {
        ULID.encode(time: time, high: 0, low: 0).prefixed(prefix)
    }
}

/// SplitMix64: a small, fast, seedable random number generator for simulations and tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum ULID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    static func encode(time: Instant, high: UInt64, low: UInt64) -> String {
        var output = [UInt8](repeating: 0, count: 26)
        var timestamp = UInt64(max(0, time.millisecondsSinceEpoch)) & 0xFFFF_FFFF_FFFF
        for index in stride(from: 9, through: 0, by: -1) {
            output[index] = alphabet[Int(timestamp & 31)]
            timestamp >>= 5
        }
        // 80 random bits: 16 from `high`, 64 from `low`.
        var randomHigh = high & 0xFFFF
        var randomLow = low
        for index in stride(from: 25, through: 10, by: -1) {
            output[index] = alphabet[Int(randomLow & 31)]
            randomLow = (randomLow >> 5) | ((randomHigh & 31) << 59)
            randomHigh >>= 5
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension String {
    fileprivate func prefixed(_ prefix: String) -> String { prefix + self }
}
