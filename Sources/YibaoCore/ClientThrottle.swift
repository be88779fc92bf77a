/// A client's own throttle for an instance that refuses requests when it is full (503 `overloaded`):
/// "adaptive throttling" as Google's *Site Reliability Engineering* describes it (chapter 21, "Handling
/// Overload"). Over the last `windowSeconds` the client counts the requests it wanted to send and those
/// the instance accepted (answered with anything but `overloaded`); it refuses a request itself, without
/// sending it, with probability
///
///     max(0, (requests − multiplier × accepts) / (requests + 1))
///
/// — but only while the instance has refused something within the window: requests still in flight are
/// wanted and not yet accepted, and at the start of a run (or after a quiet window) they would otherwise
/// look like refusals. While the instance accepts everything nothing changes. Once it refuses, the
/// client sends about `multiplier` × what the instance accepts, so the instance refuses about
/// (`multiplier` − 1) × that instead of every request beyond its capacity, again and again after each
/// Retry-After — and each refusal costs the instance CPU it would have settled with. A request refused
/// here counts as wanted, so a client refused by everything soon sends almost nothing; it comes back as
/// soon as the instance accepts again. `multiplier` 2 is the book's choice (a little waste for a fast
/// recovery); closer to 1 wastes less of the instance's CPU and finds a recovery more slowly.
///
/// Pure: the caller gives the time (seconds on a monotonic clock) and the random draw.
public struct ClientThrottle: Sendable {
    /// How many times what the instance accepts the client still sends (≥ 1).
    public let multiplier: Double
    /// How many seconds of history count.
    public let windowSeconds: Int

    /// What one second saw.
    private struct Second {
        var second: Int64 = -1
        var requests = 0
        var accepts = 0
        var refusals = 0
    }

    /// One per second of the window, by the second modulo its length.
    private var buckets: [Second]

    public init(multiplier: Double = 2, windowSeconds: Int = 10) {
        precondition(multiplier >= 1 && windowSeconds >= 1, "a throttle's multiplier is at least 1 and its window a second or more")
        self.multiplier = multiplier
        self.windowSeconds = windowSeconds
        buckets = Array(repeating: Second(), count: windowSeconds)
    }

    /// The probability that a request wanted at `now` is refused here.
    public func rejectionProbability(at now: Double) -> Double {
        let current = Int64(now.rounded(.down))
        var (wanted, accepted, refused) = (0, 0, 0)
        for bucket in buckets where bucket.second > current - Int64(windowSeconds) && bucket.second <= current {
            wanted += bucket.requests
            accepted += bucket.accepts
            refused += bucket.refusals
        }
        guard refused > 0 else { return 0 }
        return max(0, (Double(wanted) - multiplier * Double(accepted)) / Double(wanted + 1))
    }

    /// A request wanted at `now`, `draw` uniform in [0, 1): counts it and says whether to send it.
    public mutating func send(at now: Double, draw: Double) -> Bool {
        let probability = rejectionProbability(at: now)
        buckets[slot(at: now)].requests += 1
        return draw >= probability
    }

    /// The instance accepted a request at `now` (answered it with anything but `overloaded`).
    public mutating func accepted(at now: Double) {
        buckets[slot(at: now)].accepts += 1
    }

    /// The instance refused a request at `now` for overload (503 `overloaded`).
    public mutating func refused(at now: Double) {
        buckets[slot(at: now)].refusals += 1
    }

    /// The bucket of `now`'s second, emptied first if it last held an older second.
    private mutating func slot(at now: Double) -> Int {
        let second = Int64(now.rounded(.down))
        let slot = Int(((second % Int64(windowSeconds)) + Int64(windowSeconds)) % Int64(windowSeconds))
        if buckets[slot].second != second { buckets[slot] = Second(second: second) }
        return slot
    }
}
