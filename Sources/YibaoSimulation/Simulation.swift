import Foundation
import YibaoApp
import YibaoCore
import YibaoStore

/// A seeded stateful simulation of Yibao's money (TigerBeetle's VOPR is the model): random
/// interleavings of settlements (counter, one-code with card or credit line, a relative paying with
/// mutual aid, frictionless), pre-settlements, every kind of refund with partial amounts, reversals,
/// retries with the same and with new Idempotency-Keys, concurrent duplicates, bank declines, time-outs
/// and late answers, the clock moving with the credit daily job, contributions, repayments, unbinding in
/// the middle of a payment, and transactions aborted at random statements — against the real platform,
/// with every invariant of `SimulationInvariants` checked after every step.
///
/// The same seed gives the same steps. On a failure the run is replayed with steps removed until no
/// step can be removed and it still fails: the shortest failing list is reported with the seed.
public enum Simulation {
    /// What one seed did.
    public struct Report: Sendable {
        /// The seed.
        public var seed: UInt64
        /// The steps run.
        public var steps: Int
        /// The first violations found (empty: the seed passed).
        public var problems: [String]
        /// The step at which they were found.
        public var failingStep: Int?
        /// The shortest failing step list found (when it failed and shrinking ran).
        public var shortest: [SimulationStep]?
        /// Settlements made.
        public var settlements: Int
        /// Transactions aborted on purpose.
        public var aborted: Int
        /// Completed records in which the commercial plan paid (settlements) or got money back (refunds and
        /// reversals): evidence the run exercised the plan.
        public var planRecords: (paid: Int, givenBack: Int) = (0, 0)
        /// What each step did.
        public var outcomes: [String]

        /// True when every invariant held after every step.
        public var passed: Bool { problems.isEmpty }

        /// The report as text: the seed, and on failure the problems and the shortest step list.
        public var text: String {
            if passed {
                return
                    "seed \(seed): \(steps) steps, \(settlements) settlements (the plan paid in \(planRecords.paid), got back in \(planRecords.givenBack)), \(aborted) aborted transactions, every invariant held"
            }
            var lines = ["seed \(seed): FAILED at step \(failingStep.map(String.init) ?? "?") of \(steps)"]
            lines += problems.prefix(10).map { "  - \($0)" }
            if let shortest {
                lines.append("  shortest failing step list (\(shortest.count) steps; replay with `yibao simulate --seed \(seed) --steps \(steps)`):")
                lines += shortest.enumerated().map { "    \($0.offset): \($0.element)" }
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Runs `steps` steps of `seed`; on failure, shrinks the step list (at most `shrinkRunsMax` replays).
    public static func run(
        seed: UInt64, steps count: Int, database: SimulationWorld.Database, shrink: Bool = true, shrinkRunsMax: Int = 60,
        log: (@Sendable (String) -> Void)? = nil
    ) async throws -> Report {
        let steps = SimulationStep.generate(seed: seed, count: count)
        var report = try await execute(seed: seed, steps: steps, database: database, log: log)
        if !report.passed, shrink, let failing = report.failingStep {
            report.shortest = try await shorten(seed: seed, steps: Array(steps[...failing]), database: database, runsMax: shrinkRunsMax)
        }
        return report
    }

    /// Runs a given step list from a fresh world; stops at the first violation.
    public static func execute(
        seed: UInt64, steps: [SimulationStep], database: SimulationWorld.Database, log: (@Sendable (String) -> Void)? = nil
    ) async throws -> Report {
        let world = try await SimulationWorld.make(seed: seed, database: database)
        let simulator = Simulator(world: world)
        var report = Report(seed: seed, steps: steps.count, problems: [], failingStep: nil, shortest: nil, settlements: 0, aborted: 0, outcomes: [])
        do {
            let initial = try await SimulationInvariants.check(world, quiescent: true)
            if !initial.isEmpty {
                report.problems = initial.map { "before any step: \($0)" }
                report.failingStep = 0
            } else {
                for (index, step) in steps.enumerated() {
                    log?("seed \(seed) step \(index): \(step)")
                    let problems = await simulator.run(step, index: index)
                    log?("  → \(simulator.outcomes.last ?? "")")
                    if !problems.isEmpty {
                        report.problems = problems
                        report.failingStep = index
                        break
                    }
                }
            }
        } catch {
            await world.close()
            throw error
        }
        report.settlements = simulator.settlements.count
        report.aborted = world.faults.abortedCount
        let records = try await SimulationInvariants.snapshot(world.platform, cache: SimulationInvariants.DecodeCache()).records
            .filter { $0.state == .completed }
        report.planRecords = (
            records.filter { $0.breakdown.otherFund.isPositive }.count, records.filter { $0.breakdown.otherFund.isNegative }.count
        )
        report.outcomes = simulator.outcomes
        await world.close()
        return report
    }

    /// Removes steps while the list still fails, by replaying from a fresh world.
    static func shorten(seed: UInt64, steps: [SimulationStep], database: SimulationWorld.Database, runsMax: Int) async throws -> [SimulationStep] {
        try await shortest(steps, runsMax: runsMax) { candidate in
            try await !execute(seed: seed, steps: candidate, database: database).passed
        }
    }

    /// The shortest sublist of `steps` (in order) that still fails, found by removing halves, then
    /// quarters, … then single steps, at most `runsMax` tries of `fails`.
    public static func shortest<Step: Sendable>(
        _ steps: [Step], runsMax: Int, fails: ([Step]) async throws -> Bool
    ) async rethrows -> [Step] {
        var current = steps
        var runs = 0
        var chunk = max(1, current.count / 2)
        while runs < runsMax {
            var start = 0
            var removedAny = false
            while start < current.count && runs < runsMax {
                var candidate = current
                candidate.removeSubrange(start..<min(current.count, start + chunk))
                runs += 1
                if !candidate.isEmpty, try await fails(candidate) {
                    current = candidate
                    removedAny = true
                } else {
                    start += chunk
                }
            }
            if !removedAny {
                if chunk == 1 { break }
                chunk /= 2
            }
        }
        return current
    }
}
