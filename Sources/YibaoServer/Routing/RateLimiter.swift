import Synchronization
import YibaoCore

/// Counts events per key in fixed windows and says when a key has had too many: failed code
/// verifications per device and per institution, SMS requests per phone. In memory, per instance
/// (docs/threat-model.md: several instances multiply the allowance by their number).
final class RateLimiter: Sendable {
    /// A limit: at most `count` events per `windowSeconds`.
    struct Limit: Sendable {
        let count: Int
        let windowSeconds: Int64
    }

    /// The most keys tracked (older windows are dropped first).
    static let keysMax = 100_000

    private let clock: any WallClock
    private let counters = Mutex<[String: (windowStart: Int64, count: Int)]>([:])

    init(clock: any WallClock) { self.clock = clock }

    /// Seconds to wait when `key` is over its limit, nil when it may proceed.
    func retryAfter(_ key: String, _ limit: Limit) -> Int? {
        let now = clock.now().secondsSinceEpoch
        let window = now - now % limit.windowSeconds
        return counters.withLock { counters in
            guard let entry = counters[key], entry.windowStart == window, entry.count >= limit.count else { return nil }
            return Int(window + limit.windowSeconds - now)
        }
    }

    /// Counts one event for `key`.
    func record(_ key: String, _ limit: Limit) {
        let now = clock.now().secondsSinceEpoch
        let window = now - now % limit.windowSeconds
        counters.withLock { counters in
            if counters.count >= RateLimiter.keysMax {
                counters = counters.filter { $0.value.windowStart >= window }
                if counters.count >= RateLimiter.keysMax { counters.removeAll() }
            }
            if let entry = counters[key], entry.windowStart == window {
                counters[key] = (window, entry.count + 1)
            } else {
                counters[key] = (window, 1)
            }
        }
    }

    /// Refuses with 429 when over the limit; otherwise counts the event.
    func check(_ key: String, _ limit: Limit, what: String) throws {
        if let wait = retryAfter(key, limit) {
            throw Refusal(.rateLimited, "too many \(what); try again in \(wait) seconds", retryAfterSeconds: wait)
        }
        record(key, limit)
    }
}

/// The limits Yibao applies.
enum Limits {
    /// Failed code verifications per device: 5 a minute.
    static let codeFailuresPerDevice = RateLimiter.Limit(count: 5, windowSeconds: 60)
    /// Failed code verifications per institution: 60 a minute.
    static let codeFailuresPerInstitution = RateLimiter.Limit(count: 60, windowSeconds: 60)
    /// SMS codes per phone: 1 a minute.
    static let smsPerPhone = RateLimiter.Limit(count: 1, windowSeconds: 60)
    /// SMS codes per phone: 5 an hour.
    static let smsPerPhoneHourly = RateLimiter.Limit(count: 5, windowSeconds: 3600)
    /// SMS codes asked for from one client address: 20 an hour.
    static let smsPerClient = RateLimiter.Limit(count: 20, windowSeconds: 3600)
    /// Registration attempts per phone: 10 an hour.
    static let registrationsPerPhone = RateLimiter.Limit(count: 10, windowSeconds: 3600)
    /// Registration and password-reset attempts from one client address: 30 an hour.
    static let registrationsPerClient = RateLimiter.Limit(count: 30, windowSeconds: 3600)
    /// Sign-in attempts per phone per instance: 10 a minute (the account lockout counts across instances).
    static let signInsPerPhone = RateLimiter.Limit(count: 10, windowSeconds: 60)
    /// Receipt verifications per client address: 30 a minute.
    static let receiptVerificationsPerClient = RateLimiter.Limit(count: 30, windowSeconds: 60)
}
