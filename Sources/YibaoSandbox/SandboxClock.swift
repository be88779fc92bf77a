import Synchronization
import YibaoCore

/// The sandbox's test clock: the system's time plus an offset a demo or a test moves forward (`POST
/// /v1/sandbox/clock/advance`), to see what tomorrow brings — the daily close of today, a period that
/// has ended and can be cleared, a credit bill falling due — without waiting for it. Forward only:
/// nothing Yibao keeps (ids, sessions, the audit log) expects time to go back. Wired in by
/// `serve --demo` and `--sandbox` only, like the other sandbox parties; production reads the system
/// clock itself.
public final class SandboxClock: WallClock {
    /// The most one call moves the clock: 31 days.
    public static let maximumStepSeconds: Int64 = 31 * 86_400

    private let system: any WallClock
    private let offset = Atomic<Int64>(0)

    /// A clock `offsetSeconds` after `system`.
    public init(system: any WallClock) { self.system = system }

    public func now() -> Instant { system.now().adding(seconds: offset.load(ordering: .relaxed)) }

    /// How far ahead of the system's time this clock is.
    public var offsetSeconds: Int64 { offset.load(ordering: .relaxed) }

    /// Moves the clock forward by `days` and `seconds` (neither negative), 1 second to
    /// `maximumStepSeconds` in all.
    public func advance(days: Int = 0, seconds: Int = 0) throws(Refusal) {
        let limit = SandboxClock.maximumStepSeconds
        // Each part is bounded before they are added, so no request can overflow the sum.
        guard (0...limit / 86_400).contains(Int64(days)), (0...limit).contains(Int64(seconds)),
            (1...limit).contains(Int64(days) * 86_400 + Int64(seconds))
        else {
            throw Refusal.invalid("days", "the sandbox clock moves forward by 1 second to 31 days at a time (days and seconds, never back)")
        }
        offset.add(Int64(days) * 86_400 + Int64(seconds), ordering: .relaxed)
    }
}
