import Foundation
import Testing

@testable import YibaoServer

/// Where a webhook is delivered is checked again at delivery time: a name that pointed at a public
/// address when subscribed may since point inside (DNS rebinding), and a name with no address is said
/// plainly, since the bureau's screen shows the refusal as what the partner's endpoint answered.
@Suite("Webhooks: the destination checked at delivery")
struct WebhookTransportTests {
    @Test("a name resolving to any private address is refused, one with no address is said plainly, a public one passes")
    func refusalByAddresses() {
        #expect(HTTPWebhookTransport.refusal(host: "hooks.insurer.example", addresses: ["93.184.216.34"]) == nil)
        let inside = HTTPWebhookTransport.refusal(host: "hooks.insurer.example", addresses: ["93.184.216.34", "10.1.2.3"])
        #expect(inside?.contains("resolves to 10.1.2.3") == true, "\(inside ?? "passed")")
        let loopback = HTTPWebhookTransport.refusal(host: "hooks.insurer.example", addresses: ["::1"])
        #expect(loopback?.contains("resolves to ::1") == true, "\(loopback ?? "passed")")
        #expect(
            HTTPWebhookTransport.refusal(host: "hooks.insurer.example", addresses: [])
                == "hooks.insurer.example has no address (its name does not resolve)")
    }

    @Test("delivering to a name that never resolves (.invalid) or to the local machine is refused before connecting")
    func deliveryRefused() async {
        let transport = HTTPWebhookTransport(allowPrivate: false)
        for (url, says) in [
            ("https://insurer.invalid/hooks", "insurer.invalid has no address"), ("https://localhost/hooks", "localhost is the local machine"),
        ] {
            do {
                let status = try await transport.post(url: url, headers: [], body: "{}")
                Issue.record("\(url) was delivered to: \(status)")
            } catch {
                #expect("\(error)".contains(says), "\(url): \(error)")
            }
        }
    }
}
