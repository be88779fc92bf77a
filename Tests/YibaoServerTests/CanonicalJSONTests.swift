import Foundation
import NIOCore
import Testing
import YibaoApp
import YibaoCore

@testable import YibaoServer

/// The strict reader of the one-code settlement's body (`CanonicallyReadable`) against Foundation's
/// `JSONDecoder`: wherever the reader answers, its answer must be the decoder's for the same bytes; it
/// must answer for the body clients send; and everything else must go to the decoder (which refuses or
/// accepts it as before). Bodies are generated and mutated from a seed, printed on failure.
@Suite("The settlement body read without Foundation")
struct CanonicalJSONTests {
    static func decoded(_ bytes: [UInt8]) -> CodeVisitRequest? {
        try? YibaoJSON.decoder().decode(CodeVisitRequest.self, from: Data(bytes))
    }

    static func read(_ bytes: [UInt8]) -> CodeVisitRequest? {
        CanonicalJSONReader.read(CodeVisitRequest.self, from: ByteBuffer(bytes: bytes))
    }

    @Test("the body the load generator and the cashier's console send is read, as JSONDecoder reads it")
    func usualBody() throws {
        let body = Array(
            #"{"code":"1234567890123456789","category":"11","hospital_visit_number":"LT7-1","use_account":false,"lines":[{"line_number":"1","item_code":"XA01","unit_price":1250,"quantity":2},{"line_number":"2","item_code":"XB02","unit_price":30000,"quantity":0.5}]}"#
                .utf8)
        let read = try #require(Self.read(body))
        #expect(read == Self.decoded(body))
        #expect(read.lines?.count == 2 && read.lines?[1].quantity == Quantity(scaled: 5_000) && read.useAccount == false)
        #expect(try JSONBody.decode(CodeVisitRequest.self, from: ByteBuffer(bytes: body)) == read)
    }

    @Test("what the reader does not know goes to JSONDecoder, which words the refusal")
    func leftToDecoder() throws {
        let bodies = [
            #"{"code":"1","category":"11","hospital_visit_number":"H","lines":[{"line_number":"1","item_code":"X","unit_price":1.5,"quantity":1}]}"#,
            #"{"code":"1","category":"11","hospital_visit_number":"H","lines":[{"line_number":"1","item_code":"X","unit_price":100,"quantity":1e400}]}"#,
            #"{"code":"1","category":"99","hospital_visit_number":"H"}"#,
            #"{"code":"1","category":"11"}"#,
            #"{"code":"1","code":"2","category":"11","hospital_visit_number":"H"}"#,
            #"{"code":"\u0031","category":"11","hospital_visit_number":"H"}"#,
            #"{"code":"1","category":"11","hospitalVisitNumber":"H"}"#,
            #"{"code":"1","category":"11","hospital_visit_number":"H"} x"#,
            #"[1]"#,
        ]
        for body in bodies {
            #expect(Self.read(Array(body.utf8)) == nil, "\(body)")
        }
        // The escaped code and the camelCase key are JSONDecoder's to accept; the price with decimals it
        // refuses, naming the field.
        #expect(Self.decoded(Array(bodies[5].utf8))?.code == "1")
        #expect(Self.decoded(Array(bodies[6].utf8))?.hospitalVisitNumber == "H")
        #expect(throws: Refusal.self) { try JSONBody.decode(CodeVisitRequest.self, from: ByteBuffer(bytes: Array(bodies[0].utf8))) }
        do {
            _ = try JSONBody.decode(CodeVisitRequest.self, from: ByteBuffer(bytes: Array(bodies[0].utf8)))
        } catch let refusal as Refusal {
            #expect(refusal.field == "lines[0].unit_price")
        }
    }

    @Test("on random bodies and their mutations the reader answers only as JSONDecoder does", arguments: [UInt64(1), 2, 3, 4])
    func differential(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var read = 0
        var agreedRefusals = 0
        for round in 0..<3_000 {
            var body = Self.body(&rng)
            if round % 2 == 1 { Self.mutate(&body, &rng) }
            let fast = Self.read(body)
            let full = Self.decoded(body)
            if let fast {
                read += 1
                #expect(full == fast, "seed \(seed) round \(round): \(String(decoding: body, as: UTF8.self))")
            } else if full == nil {
                agreedRefusals += 1
            }
        }
        // Both kinds must be common, or the property says little.
        #expect(read > 350, "seed \(seed): the reader answered \(read) times")
        #expect(agreedRefusals > 300, "seed \(seed): \(agreedRefusals) bodies both refused")
    }

    // MARK: Generating bodies

    static func pick<T>(_ options: [T], _ rng: inout SplitMix64) -> T { options[Int(rng.next() % UInt64(options.count))] }
    static func chance(_ percent: UInt64, _ rng: inout SplitMix64) -> Bool { rng.next() % 100 < percent }

    static func text(_ rng: inout SplitMix64) -> String {
        let plain = ["A", "7", "-", " ", "医保", "é", "🙂", "x", "LT12"]
        let escaped = ["\\\"", "\\\\", "\\u0041", "\\n"]
        return (0..<Int(1 + rng.next() % 4)).map { _ in chance(95, &rng) ? pick(plain, &rng) : pick(escaped, &rng) }.joined()
    }

    static func integer(_ rng: inout SplitMix64) -> String {
        chance(85, &rng)
            ? String(Int64(rng.next() % 200_000_000) - 1_000)
            : pick(["-0", "100.0", "1e3", "01", "99999999999999999999", "\"12\"", "null", "true"], &rng)
    }

    static func quantity(_ rng: inout SplitMix64) -> String {
        chance(85, &rng)
            ? pick(["1", "2", "0.5", "1.0001", "1E1", "2e-1", "-1", "10000", "0", "3.25"], &rng)
            : pick(["0.12345", "10001", "1.", ".5", "1e400", "\"1\"", "null"], &rng)
    }

    static func whitespace(_ rng: inout SplitMix64) -> String { chance(20, &rng) ? pick([" ", "\n", "\t ", "\r\n"], &rng) : "" }

    static func object(_ fields: [(String, String)], _ rng: inout SplitMix64) -> String {
        var fields = fields
        for index in fields.indices.reversed() {
            let other = Int(rng.next() % UInt64(index + 1))
            fields.swapAt(index, other)
        }
        let ws = whitespace(&rng)
        return "{" + ws + fields.map { "\"\($0.0)\"" + whitespace(&rng) + ":" + whitespace(&rng) + $0.1 }.joined(separator: "," + ws) + ws + "}"
    }

    static func optional(_ key: String, _ value: String, into fields: inout [(String, String)], _ rng: inout SplitMix64) {
        switch rng.next() % 3 {
        case 0: fields.append((key, value))
        case 1: fields.append((key, "null"))
        default: break
        }
    }

    static func line(_ rng: inout SplitMix64) -> String {
        var fields: [(String, String)] = []
        if chance(97, &rng) { fields.append(("line_number", "\"\(text(&rng))\"")) }
        if chance(97, &rng) { fields.append(("item_code", "\"\(text(&rng))\"")) }
        if chance(97, &rng) { fields.append(("unit_price", integer(&rng))) }
        if chance(97, &rng) { fields.append(("quantity", quantity(&rng))) }
        optional("hospital_item_code", "\"\(text(&rng))\"", into: &fields, &rng)
        optional("charge_batch", "\"\(text(&rng))\"", into: &fields, &rng)
        if chance(10, &rng) { fields.append(("dosage", pick(["null", "{}", #"{"per_dose":"1 tablet"}"#], &rng))) }
        if chance(4, &rng) { fields.append((pick(["unitPrice", "extra", "item_code"], &rng), "\"1\"")) }
        return object(fields, &rng)
    }

    static func body(_ rng: inout SplitMix64) -> [UInt8] {
        var fields: [(String, String)] = []
        if chance(97, &rng) { fields.append(("code", "\"\(chance(90, &rng) ? String(rng.next() % 1_000_000) : text(&rng))\"")) }
        if chance(97, &rng) { fields.append(("category", "\"\(pick(["11", "13", "14", "21", "99", ""], &rng))\"")) }
        if chance(97, &rng) { fields.append(("hospital_visit_number", "\"\(text(&rng))\"")) }
        optional("use_account", pick(["true", "false", "1", "\"true\""], &rng), into: &fields, &rng)
        optional("for_person_number", "\"\(text(&rng))\"", into: &fields, &rng)
        let lines = (0..<Int(rng.next() % 4)).map { _ in line(&rng) }
        optional("lines", "[" + lines.joined(separator: ",") + "]", into: &fields, &rng)
        if chance(4, &rng) { fields.append((pick(["hospitalVisitNumber", "unknown", "code"], &rng), "\"1\"")) }
        return Array((whitespace(&rng) + object(fields, &rng) + whitespace(&rng)).utf8)
    }

    /// One to three byte edits: a byte removed, one of JSON's own put in, or one replaced.
    static func mutate(_ body: inout [UInt8], _ rng: inout SplitMix64) {
        let significant = Array("{}[]:,\"\\ -.0159eEtrufalsn".utf8) + [0x00, 0x1F, 0xC3, 0xFF]
        for _ in 0...(rng.next() % 3) where !body.isEmpty {
            let at = Int(rng.next() % UInt64(body.count))
            switch rng.next() % 3 {
            case 0: body.remove(at: at)
            case 1: body.insert(pick(significant, &rng), at: at)
            default: body[at] = pick(significant, &rng)
            }
        }
    }
}
