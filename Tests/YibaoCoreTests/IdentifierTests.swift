import Testing
import YibaoCore

@Suite("Identifiers")
struct IdentifierTests {
    static let alphabet = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    /// With the clock stopped, only the random bits tell ids apart: 20,000 of them, from four tasks at
    /// once, crossing the random pool's refills many times, must all differ. A pool that handed out a
    /// word twice, or was not filled, makes twins.
    @Test("ids made in the same millisecond from several tasks are all different and well formed")
    func unique() async throws {
        let clock = ManualClock(Instant(millisecondsSinceEpoch: 1_780_000_000_000))
        let ids = RandomIDGenerator(clock: clock)
        let made = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { (0..<5_000).map { _ in ids.next("S") } } }
            var all: [String] = []
            for await part in group { all += part }
            return all
        }
        #expect(made.count == 20_000)
        #expect(Set(made).count == 20_000)
        for id in made.prefix(100) {
            #expect(id.count == 27 && id.hasPrefix("S"))
            #expect(id.dropFirst().allSatisfy(Self.alphabet.contains))
        }
        // The time part is the same for all of them; the random part is not one value repeated.
        #expect(Set(made.map { $0.prefix(11) }).count == 1)
        #expect(Set(made.map { $0.suffix(4) }).count > 1_000)
    }

    @Test("ids sort by the time they were made")
    func timeOrdered() {
        let clock = ManualClock(Instant(millisecondsSinceEpoch: 1_780_000_000_000))
        let ids = RandomIDGenerator(clock: clock)
        var previous = ids.next("J")
        for _ in 0..<200 {
            clock.advance(seconds: 1)
            let next = ids.next("J")
            #expect(previous < next)
            previous = next
        }
    }
}
