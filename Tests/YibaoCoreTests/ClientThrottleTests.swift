import Testing
import YibaoCore

/// The client's throttle (`yibao loadtest --throttle`): nothing changes while an instance accepts; while
/// it refuses, the client sends about `multiplier` × what it accepts; it forgets a window's refusals.
@Suite("Client throttle: adaptive throttling against an instance refusing for overload")
struct ClientThrottleTests {
    /// Uniform draws in [0, 1) from a fixed seed (SplitMix64), so the runs below are the same every time.
    struct Draws {
        var state: UInt64
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
    }

    @Test("an instance that accepts everything: every request is sent, whatever the draw")
    func acceptedNeverThrottled() {
        var throttle = ClientThrottle(multiplier: 1.1)
        for index in 0..<5_000 {
            let now = Double(index) / 500
            let sent = throttle.send(at: now, draw: 0)
            #expect(sent)
            throttle.accepted(at: now)
        }
        #expect(throttle.rejectionProbability(at: 10) == 0)
    }

    @Test("a run's start: requests in flight and none accepted yet are not throttled until the instance refuses one")
    func startOfRun() {
        var throttle = ClientThrottle(multiplier: 2)
        for index in 0..<64 {
            let sent = throttle.send(at: Double(index) / 1_000, draw: 0)
            #expect(sent)
        }
        throttle.refused(at: 0.07)
        #expect(abs(throttle.rejectionProbability(at: 0.08) - 64.0 / 65.0) < 1e-12)
    }

    @Test("the probability is (wanted − multiplier × accepted) / (wanted + 1) over a window with a refusal")
    func formula() {
        var throttle = ClientThrottle(multiplier: 2, windowSeconds: 10)
        // Five wanted in second 3 and five in second 4; one of each accepted.
        for index in 0..<10 { _ = throttle.send(at: 3 + Double(index) / 5, draw: 0.99) }
        throttle.accepted(at: 3.5)
        throttle.accepted(at: 4.2)
        #expect(throttle.rejectionProbability(at: 4.5) == 0, "nothing refused yet")
        throttle.refused(at: 4.4)
        #expect(abs(throttle.rejectionProbability(at: 4.5) - 6.0 / 11.0) < 1e-12)
        // Second 3 falls out of the window that ends at second 13, second 4 out of the one at 14.
        #expect(abs(throttle.rejectionProbability(at: 13.5) - (5.0 - 2) / 6.0) < 1e-12)
        #expect(throttle.rejectionProbability(at: 14.4) == 0)
    }

    @Test("a client refused by everything sends almost nothing, and sends again once the window has passed")
    func refusedThenForgotten() {
        var throttle = ClientThrottle(multiplier: 2, windowSeconds: 10)
        var draws = Draws(state: 7)
        var sentLastSecond = 0
        for index in 0..<5_000 {
            let now = Double(index) / 1_000
            if throttle.send(at: now, draw: draws.next()) {
                throttle.refused(at: now)
                if now >= 4 { sentLastSecond += 1 }
            }
        }
        #expect(sentLastSecond < 10)
        #expect(throttle.rejectionProbability(at: 4.999) > 0.99)
        #expect(throttle.rejectionProbability(at: 15) == 0)
        let sentAgain = throttle.send(at: 15, draw: 0)
        #expect(sentAgain)
    }

    /// An instance that accepts `capacity` requests a second and refuses the rest; the client wants
    /// `wanted` a second. After the first window, the client sends about multiplier × capacity.
    @Test("under a steady 3 × overload the instance sees about multiplier × what it accepts", arguments: [1.1, 2.0])
    func steadyOverload(multiplier: Double) {
        let (capacity, wanted) = (1_000, 3_000)
        var throttle = ClientThrottle(multiplier: multiplier, windowSeconds: 10)
        var draws = Draws(state: 42)
        var sent = 0
        var acceptedTotal = 0
        for second in 0..<40 {
            var acceptedThisSecond = 0
            for index in 0..<wanted {
                let now = Double(second) + Double(index) / Double(wanted)
                guard throttle.send(at: now, draw: draws.next()) else { continue }
                if second >= 20 { sent += 1 }
                if acceptedThisSecond < capacity {
                    acceptedThisSecond += 1
                    throttle.accepted(at: now)
                } else {
                    throttle.refused(at: now)
                }
            }
            if second >= 20 { acceptedTotal += acceptedThisSecond }
        }
        #expect(acceptedTotal == 20 * capacity)
        let ratio = Double(sent) / Double(acceptedTotal)
        #expect(ratio > multiplier * 0.9 && ratio < multiplier * 1.1, "sent \(sent) for \(acceptedTotal) accepted: \(ratio)")
    }
}
