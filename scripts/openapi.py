#!/usr/bin/env python3
"""Writes Sources/YibaoServer/Assets/openapi.json, the OpenAPI 3.1 description of Yibao's HTTP API.
Edit the tables here, rerun, commit both. A test keeps the paths and methods in step with the
server's route table; schemathesis checks responses against the schemas."""
import json, os

OUT = os.path.join(os.path.dirname(__file__), "..", "Sources", "YibaoServer", "Assets", "openapi.json")

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def arr(items): return {"type": "array", "items": items}
def obj(props, required=(), extra=True, description=None):
    o = {"type": "object", "properties": props}
    if required: o["required"] = list(required)
    if not extra: o["additionalProperties"] = False
    if description: o["description"] = description
    return o
S = {"type": "string"}
I = {"type": "integer"}
B = {"type": "boolean"}
MONEY = ref("Money")
RATIO = ref("Ratio")
def nullable(schema): return {"anyOf": [schema, {"type": "null"}]}
def enum(*values): return {"type": "string", "enum": list(values)}

schemas = {
    "Money": {"type": "integer", "description": "An amount in fen (分, 0.01 yuan); never a decimal."},
    "Ratio": {"type": "integer", "description": "A ratio in basis points: 8500 is 85%."},
    "Region": {"type": "string", "pattern": "^[0-9]{6}$", "description": "Six-digit administrative division code."},
    "Instant": {"type": "string", "description": "ISO 8601 time in China Standard Time, e.g. 2026-11-22T16:30:00.000+08:00."},
    "Problem": obj({
        "type": S, "title": S, "status": I, "detail": S, "code": S, "number": I, "field": S,
        "references": {"type": "object", "additionalProperties": S}, "request_id": S,
    }, ["type", "title", "status", "detail", "code", "number", "request_id"], description="RFC 9457 problem document."),
    "Health": obj({"status": S, "database": S, "schema_version": I}, ["status"]),
    "MedicalCategory": enum("11", "13", "14", "21", "41", "51", "52", "9901", "9902"),
    "HospitalLevel": enum("community", "1", "2", "3", "3A"),
    "InsuranceType": enum("310", "390"),
    "FeeLine": obj({
        "line_number": {"type": "string", "minLength": 1, "maxLength": 30, "description": "费用明细流水号 feedetl_sn"},
        "item_code": {"type": "string", "minLength": 1, "maxLength": 50, "description": "医疗目录编码 med_list_codg"},
        "hospital_item_code": {"type": "string", "maxLength": 150},
        "unit_price": {"type": "integer", "minimum": 0, "maximum": 100000000, "description": "单价 pric, fen"},
        "quantity": {"type": "number", "exclusiveMinimum": 0, "maximum": 10000, "description": "数量 cnt, up to four decimals"},
    }, ["line_number", "item_code", "unit_price", "quantity"]),
    "LineSplit": obj({
        "line_number": S, "item_code": S, "hospital_item_code": S, "item_name": S, "specification": S, "category": S,
        "item_class": enum("A", "B", "C"), "unit_price": MONEY, "quantity": {"type": "number"}, "amount": MONEY,
        "price_cap": MONEY, "first_self_pay_ratio": RATIO, "full_self_pay": MONEY, "over_limit": MONEY, "first_self_pay": MONEY,
        "in_scope": MONEY,
    }, ["line_number", "item_code", "amount", "full_self_pay", "over_limit", "first_self_pay", "in_scope"]),
    "Visit": obj({
        "id": S, "institution_code": S, "person_number": S, "category": ref("MedicalCategory"), "hospital_visit_number": S,
        "state": enum("open", "settled"), "lines": arr(ref("LineSplit")), "total": MONEY, "settlement_id": S, "opened_at": ref("Instant"),
    }, ["id", "institution_code", "person_number", "category", "state", "lines", "total"]),
    "OpenVisitRequest": obj({
        "person_number": {"type": "string", "minLength": 1, "maxLength": 30, "description": "人员编号; or send code"},
        "code": {"type": "string", "description": "the patient's e-voucher code; the visit's cash part is then collected from the patient's card"},
        "category": ref("MedicalCategory"),
        "hospital_visit_number": {"type": "string", "minLength": 1, "maxLength": 30}, "lines": arr(ref("FeeLine")),
    }, ["category", "hospital_visit_number"], description="Exactly one of person_number and code."),
    "CodeSettlementRequest": obj({
        "code": {"type": "string", "description": "the scanned e-voucher code (21 digits starting 88)"}, "category": ref("MedicalCategory"),
        "hospital_visit_number": {"type": "string", "minLength": 1, "maxLength": 30}, "lines": {**arr(ref("FeeLine")), "minItems": 1},
        "use_account": B,
    }, ["code", "category", "hospital_visit_number", "lines"]),
    "RefundRequest": obj({"type": enum("lines", "cash", "insurance"), "line_numbers": arr(S), "amount": MONEY}, ["type"]),
    "FundingSourceSummary": obj({"id": S, "kind": enum("debit", "credit", "medical_credit"), "masked": S, "bank": S}),
    "Receipt": obj({
        "settlement_id": S, "kind": S, "original_id": S, "institution": {"type": "object"}, "person_name_masked": S, "category": S,
        "settled_at": ref("Instant"), "lines": arr(ref("SettledLine")), "total_amount": MONEY, "fund_paid": MONEY, "account_paid": MONEY,
        "mutual_aid_paid": MONEY, "cash_paid": MONEY, "cash_collection": enum("counter", "channel"), "funding_source": ref("FundingSourceSummary"),
        "breakdown": ref("Breakdown"), "verification_code": S,
    }, ["settlement_id", "kind", "total_amount", "fund_paid", "account_paid", "cash_paid", "verification_code"]),
    "RegistrationCodeRequest": obj({"id_number": S, "person_number": S, "phone": S}, ["id_number", "person_number", "phone"]),
    "RegistrationCodeSent": obj({"sent_to": S, "expires_in_seconds": I}, ["sent_to", "expires_in_seconds"]),
    "RegistrationRequest": obj({"id_number": S, "person_number": S, "phone": S, "sms_code": S, "password": S},
                               ["id_number", "person_number", "phone", "sms_code", "password"]),
    "Registered": obj({"person_number": S, "totp_secret": S, "otpauth_uri": S}, ["person_number", "totp_secret", "otpauth_uri"]),
    "SignInRequest": obj({"phone": S, "password": S, "totp_code": S}, ["phone", "password", "totp_code"]),
    "SessionOpened": obj({"token": S, "session_id": S, "expires_at": ref("Instant")}, ["token", "session_id", "expires_at"]),
    "Profile": obj({"person_number": S, "name_masked": S, "region": ref("Region"), "insurance_type": ref("InsuranceType"), "status": S,
                    "account_balance": MONEY, "session_id": S, "session_expires_at": ref("Instant")}, ["person_number", "session_id"]),
    "Device": obj({"id": S, "number": S, "person_number": S, "name": S, "enrolled_at": ref("Instant"), "revoked_at": ref("Instant")},
                  ["id", "number", "name", "enrolled_at"]),
    "DeviceRequest": obj({"name": {"type": "string", "minLength": 1, "maxLength": 50}, "totp_code": S}, ["name", "totp_code"]),
    "DeviceProvisioned": obj({"device_id": S, "device_number": S, "secret": S, "algorithm": S, "step_seconds": I, "code_length": I,
                              "server_time": ref("Instant")}, ["device_id", "device_number", "secret", "algorithm", "step_seconds"]),
    "CurrentCode": obj({"code": S, "valid_until": ref("Instant")}, ["code", "valid_until"]),
    "CardRequest": obj({"card_number": S, "totp_code": S}, ["card_number", "totp_code"]),
    "FundingSource": obj({"id": S, "kind": enum("debit", "credit", "medical_credit"), "masked": S, "bank": S, "is_default": B},
                         ["id", "kind", "masked", "bank", "is_default"]),
    "SandboxCardRequest": obj({"person_number": S, "kind": enum("debit", "credit", "medical_credit"), "balance": MONEY, "credit_limit": MONEY,
                               "single_limit": MONEY}, ["person_number", "kind"]),
    "SandboxCard": obj({"number": S, "token": S, "kind": S, "bank": S, "balance": MONEY, "credit_limit": MONEY, "used": MONEY, "held": MONEY,
                        "single_limit": MONEY, "status": S}, ["number", "kind", "balance"]),
    "SandboxFaults": obj({"timeouts_before_processing": I, "timeouts_after_processing": I, "unavailable": I, "delay_milliseconds": I}),
    "SandboxMessage": obj({"phone": S, "text": S, "sent_at": ref("Instant")}, ["phone", "text", "sent_at"]),
    "AddLinesRequest": obj({"lines": arr(ref("FeeLine"))}, ["lines"]),
    "SettleRequest": obj({"use_account": B, "cash_collection": enum("counter", "channel")}),
    "Breakdown": obj({k: MONEY for k in [
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
        "hifob_pay", "hifmi_pay", "cvlserv_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
        "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt", "balc"]} | {"pool_prop_selfpay": RATIO},
        ["medfee_sumamt", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay"],
        description="The national settlement buckets (setlinfo), in fen."),
    "FundDetail": obj({"fund_pay_type": S, "fund_pay_type_name": S, "inscp_scp_amt": MONEY, "crt_payb_lmt_amt": MONEY,
                       "fund_payamt": MONEY, "setl_proc_info": S}, ["fund_pay_type", "fund_payamt"]),
    "SettledLine": obj({"split": ref("LineSplit"), "fund_paid": MONEY, "account_paid": MONEY, "cash_paid": MONEY},
                       ["split", "fund_paid", "account_paid", "cash_paid"]),
    "Accumulators": obj({k: MONEY for k in ["deductible_paid", "basic_fund_paid", "above_cap_amount", "above_cap_fund_paid",
                                             "in_scope_total"]} | {"visits": I}),
    "SettlementPreview": obj({"visit_id": S, "policy_title": S, "year": I, "breakdown": ref("Breakdown"),
                              "lines": arr(ref("SettledLine")), "details": arr(ref("FundDetail")), "trace": arr(S)},
                             ["visit_id", "breakdown", "lines", "details", "trace"]),
    "Institution": obj({"code": S, "name": S, "region": ref("Region"), "level": ref("HospitalLevel"),
                        "kind": enum("hospital", "pharmacy")}, ["code", "name", "region", "level", "kind"]),
    "SettlementRecord": obj({
        "id": S, "kind": enum("settlement", "reversal", "refund"), "state": S, "visit_id": S, "original_id": S,
        "institution": obj({"code": S, "name": S, "level": ref("HospitalLevel"), "region": ref("Region")}),
        "person_number": S, "person_name_masked": S, "insurance_region": ref("Region"), "insurance_type": ref("InsuranceType"),
        "category": ref("MedicalCategory"), "year": I, "pool": enum("outpatient", "inpatient"), "policy_title": S,
        "breakdown": ref("Breakdown"), "lines": arr(ref("SettledLine")), "details": arr(ref("FundDetail")), "trace": arr(S),
        "accumulator_delta": ref("Accumulators"), "mutual_aid_payer": S, "cash_collection": S, "settled_at": ref("Instant"),
        "reversed_by": S,
    }, ["id", "kind", "state", "visit_id", "breakdown", "lines", "settled_at"]),
    "InstitutionInput": obj({"name": {"type": "string", "minLength": 1, "maxLength": 200}, "region": ref("Region"),
                             "level": ref("HospitalLevel"), "kind": enum("hospital", "pharmacy")}, ["name", "region", "level"]),
    "InstitutionCredential": obj({"institution_code": S, "key_id": S, "secret": S}, ["institution_code", "key_id", "secret"]),
    "Policy": {"type": "object", "description": "A region × insurance type × year policy; see docs/policies.md."},
    "PolicyFile": obj({"region": ref("Region"), "year": I, "policies": arr(ref("Policy"))}, ["region", "year", "policies"]),
    "SavedPolicies": obj({"region": ref("Region"), "year": I, "saved": arr(ref("InsuranceType"))}),
    "CatalogueItem": obj({"region": ref("Region"), "code": S, "name": S, "specification": S,
                          "category": enum("drug", "service", "material"), "item_class": enum("A", "B", "C"), "price_cap": MONEY,
                          "first_self_pay_ratio": RATIO}, ["region", "code", "name", "category", "item_class"]),
    "ImportReport": obj({"received": I, "accepted": I, "created": I, "updated": I,
                         "rejected": arr(obj({"line": I, "reason": S}))}, ["received", "accepted", "rejected"]),
    "EnrolmentInput": obj({"number": {"type": "string", "minLength": 1, "maxLength": 30}, "name": S, "id_number": S,
                           "region": ref("Region"), "insurance_type": ref("InsuranceType"), "retired": B, "phone": S,
                           "cross_region_filing": enum("none", "referral", "longTermResident"), "opening_balance": MONEY},
                          ["number", "name", "id_number", "region", "insurance_type"]),
    "PersonView": obj({"number": S, "name_masked": S, "id_number_masked": S, "phone_masked": S, "birth_date": S,
                       "region": ref("Region"), "insurance_type": ref("InsuranceType"), "person_type": S, "retired": B,
                       "status": S, "cross_region_filing": S, "account_balance": MONEY, "account_held": MONEY},
                      ["number", "name_masked", "id_number_masked", "region", "insurance_type"]),
    "LedgerReport": obj({"entries": I, "postings": I, "accounts": I, "settlements": I,
                         "problems": arr(obj({"check": S, "location": S, "detail": S}))}, ["entries", "postings", "accounts", "problems"]),
    "AccountView": obj({"id": S, "balance": MONEY}, ["id", "balance"]),
    "WalletEvent": obj({"person_number": S, "seq": I, "id": S, "kind": enum("settlement", "reversal", "refund", "premium", "mutual_aid_given", "account_credit", "credit_repayment"),
                        "reference": S, "at": ref("Instant"), "institution_code": S, "counterparty": S, "total": MONEY, "fund": MONEY, "account": MONEY,
                        "mutual_aid": MONEY, "cash": MONEY, "actor": S}, ["seq", "id", "kind", "reference", "at", "total"]),
    "HistoryPage": obj({"events": arr(ref("WalletEvent")), "next_cursor": S}, ["events"]),
    "WalletSummary": obj({"person_number": S, "account_balance": MONEY, "account_held": MONEY, "account_available": MONEY,
                          "cards": arr(obj({"source": ref("FundingSourceSummary"), "available": MONEY, "is_default": B}))},
                         ["person_number", "account_balance", "cards"]),
    "PurchasedItem": obj({"settlement_id": S, "settled_at": ref("Instant"), "institution": {"type": "object"}, "item_code": S, "name": S,
                          "specification": S, "category": S, "quantity": {"type": "number"}, "amount": MONEY, "fund_paid": MONEY, "account_paid": MONEY,
                          "cash_paid": MONEY}, ["settlement_id", "name", "amount"]),
    "PurchasedItemsPage": obj({"items": arr(ref("PurchasedItem")), "next_cursor": S}, ["items"]),
    "Statement": obj({"person_number": S, "month": S, "opening_balance": MONEY, "closing_balance": MONEY, "account_in": MONEY, "account_out": MONEY,
                      "care_total": MONEY, "fund_paid": MONEY, "account_paid": MONEY, "mutual_aid_received": MONEY, "cash_paid": MONEY,
                      "mutual_aid_given": MONEY, "premiums": MONEY, "settlement_count": I, "events": arr(ref("WalletEvent"))},
                     ["month", "opening_balance", "closing_balance", "events"]),
    "InboxMessage": obj({"person_number": S, "seq": I, "id": S, "topic": S, "title": S, "body": S, "reference": S, "at": ref("Instant"),
                         "read_at": ref("Instant")}, ["seq", "id", "topic", "title", "body", "at"]),
    "ReadThrough": obj({"through_seq": I}, ["through_seq"]),
    "ReportRequest": obj({"event_id": S, "reason": {"type": "string", "minLength": 1, "maxLength": 1000}}, ["event_id", "reason"]),
    "TransactionReport": obj({"id": S, "person_number": S, "event_id": S, "reason": S, "state": enum("open", "resolved"), "resolution": S, "note": S,
                              "created_at": ref("Instant"), "resolved_at": ref("Instant"), "resolved_by": S}, ["id", "event_id", "state"]),
    "ResolveRequest": obj({"resolution": {"type": "string", "minLength": 1, "maxLength": 50}, "note": S}, ["resolution"]),
    "PremiumOption": obj({"kind": enum("resident_annual", "flexible_monthly"), "period": S, "amount": MONEY, "open": B, "payment_id": S,
                          "status": enum("unpaid", "pending", "paid")}, ["kind", "period", "amount", "open", "status"]),
    "PremiumRequest": obj({"person_number": S, "kind": enum("resident_annual", "flexible_monthly"), "period": S, "amount": MONEY,
                           "funding_source_id": S}, ["person_number", "kind", "period", "amount"]),
    "PremiumPayment": obj({"id": S, "person_number": S, "payer_number": S, "region": ref("Region"), "kind": S, "period": S, "amount": MONEY,
                           "state": enum("pending", "paid", "declined", "cancelled"), "funding_source": ref("FundingSourceSummary"),
                           "decline_reason": S, "created_at": ref("Instant"), "paid_at": ref("Instant")}, ["id", "kind", "period", "amount", "state"]),
    "PremiumReceipt": obj({"payment": ref("PremiumPayment"), "verification_code": S}, ["payment", "verification_code"]),
    "Coverage": obj({"kind": S, "period": S, "premium_id": S}, ["kind", "period", "premium_id"]),
    "ReceiptVerification": obj({"authentic": B, "kind": S, "amount": MONEY, "period": S, "at": ref("Instant"), "institution": S}, ["authentic"]),
    "SubscribeRequest": obj({"url": S, "events": arr(enum("settlement.completed", "settlement.reversed", "settlement.refunded", "payment.declined",
                                                            "premium.paid", "*")), "partner": S}, ["url", "events"]),
    "WebhookSubscription": obj({"id": S, "owner": S, "url": S, "events": arr(S), "secret": S}, ["id", "owner", "url", "events"]),
    "AuditReport": obj({"records": I, "heads": arr(obj({"lane": I, "seq": I, "hash": S})), "problems": arr(S)}, ["records", "heads", "problems"]),
}

def json_body(schema): return {"required": True, "content": {"application/json": {"schema": schema}}}
def ok(schema, status="200", description="OK"):
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}
PROBLEM = {"description": "A problem document", "content": {"application/problem+json": {"schema": ref("Problem")}}}
def problems(*statuses): return {str(s): PROBLEM for s in statuses}
def qparam(name): return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
def param(name, description=""):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 200},
               "description": "A new random value per operation; the same value on every retry of it."}
INST = [{"institution": []}]
PATIENT = [{"patient": []}]
NO_CONTENT = {"204": {"description": "Done"}}
def html(description="A printable page"):
    return {"200": {"description": description, "content": {"text/html": {"schema": S}}}}
def OP(role): return [{"operator": [role]}]

def op(summary, security=None, params=(), body=None, responses=None, errors=(400, 401, 403, 404)):
    o = {"summary": summary, "responses": dict(responses or {})}
    o["responses"].update(problems(*errors))
    if security is not None: o["security"] = security
    else: o["security"] = []
    if params: o["parameters"] = list(params)
    if body: o["requestBody"] = body
    return o

paths = {
    "/health": {"get": op("Liveness: the process answers", responses=ok(ref("Health")), errors=())},
    "/ready": {"get": op("Readiness: the database answers", responses=ok(ref("Health")), errors=(503,))},
    "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                         "responses": {"200": {"description": "Prometheus text", "content": {"text/plain": {"schema": S}}}}}},
    "/openapi.json": {"get": {"summary": "This API, as OpenAPI 3.1", "security": [],
                              "responses": {"200": {"description": "This document", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/v1/visits": {"post": op("Open a visit by person number or e-voucher code, with its fee lines (1101 + 2201 + 2204)", INST,
                              body=json_body(ref("OpenVisitRequest")), responses=ok(ref("Visit"), "201", "Opened"), errors=(400, 401, 403, 409, 422, 429))},
    "/v1/settlements": {"post": op("One-code payment: the e-voucher code and the fee lines, settled and paid in one call", INST, [IDEMPOTENCY],
                                   json_body(ref("CodeSettlementRequest")), ok(ref("SettlementRecord"), "201", "Settled"),
                                   (400, 401, 403, 409, 422, 429, 503))},
    "/v1/settlements/{settlement_id}/refunds": {"post": op("Refund part of a settlement (6203): lines, cash or insurance", INST,
                                                           [param("settlement_id"), IDEMPOTENCY], json_body(ref("RefundRequest")),
                                                           ok(ref("SettlementRecord"), "201", "Refunded"), (400, 401, 403, 404, 409, 422))},
    "/v1/settlements/{settlement_id}/receipt": {"get": op("The electronic receipt of a settlement", INST, [param("settlement_id")], responses=ok(ref("Receipt")))},
    "/v1/settlements/{settlement_id}/receipt.html": {"get": op("The receipt as a printable page", INST, [param("settlement_id")], responses=html())},
    "/v1/patient/registration/sms": {"post": op("Send a registration code to the enrolled phone", [], body=json_body(ref("RegistrationCodeRequest")),
                                                responses=ok(ref("RegistrationCodeSent"), "202", "Sent"), errors=(400, 422, 429))},
    "/v1/patient/registration": {"post": op("Register with the SMS code and a password; returns the authenticator secret", [],
                                            body=json_body(ref("RegistrationRequest")), responses=ok(ref("Registered"), "201", "Registered"),
                                            errors=(400, 409, 422))},
    "/v1/patient/sessions": {"post": op("Sign in with phone, password and authenticator code", [], body=json_body(ref("SignInRequest")),
                                        responses=ok(ref("SessionOpened"), "201", "Signed in"), errors=(400, 401, 429))},
    "/v1/patient/sessions/{session_id}": {"delete": op("Sign out a session", PATIENT, [param("session_id")], responses=NO_CONTENT)},
    "/v1/patient/me": {"get": op("The signed-in patient", PATIENT, responses=ok(ref("Profile")))},
    "/v1/patient/devices": {"get": op("The patient's devices", PATIENT, responses=ok(arr(ref("Device")))),
                            "post": op("Enrol this phone for e-voucher codes (needs the authenticator code)", PATIENT, body=json_body(ref("DeviceRequest")),
                                       responses=ok(ref("DeviceProvisioned"), "201", "Enrolled"), errors=(400, 401, 403, 409))},
    "/v1/patient/devices/{device_id}": {"delete": op("Revoke a device: its codes stop working at once", PATIENT, [param("device_id")], responses=NO_CONTENT)},
    "/v1/patient/devices/{device_id}/code": {"get": op("The device's current code (for barcode display)", PATIENT, [param("device_id")],
                                                       responses=ok(ref("CurrentCode")))},
    "/v1/patient/devices/{device_id}/code.svg": {"get": {"summary": "The device's current code as a QR image", "security": PATIENT,
                                                         "parameters": [param("device_id")],
                                                         "responses": {"200": {"description": "SVG", "content": {"image/svg+xml": {"schema": S}}}} | problems(401, 403, 404)}},
    "/v1/patient/settlements/{settlement_id}/receipt": {"get": op("The patient's receipt", PATIENT, [param("settlement_id")], responses=ok(ref("Receipt")))},
    "/v1/patient/settlements/{settlement_id}/receipt.html": {"get": op("The patient's receipt as a page", PATIENT, [param("settlement_id")], responses=html())},
    "/v1/patient/funding-sources": {"get": op("The patient's cards and credit lines", PATIENT, responses=ok(arr(ref("FundingSource")))),
                                    "post": op("Bind a card (the bank checks it is in the patient's name)", PATIENT, body=json_body(ref("CardRequest")),
                                               responses=ok(ref("FundingSource"), "201", "Bound"), errors=(400, 401, 403, 409, 422, 503))},
    "/v1/patient/funding-sources/{source_id}/default": {"put": op("Pay cash parts from this source", PATIENT, [param("source_id")],
                                                                  responses=ok(arr(ref("FundingSource"))))},
    "/v1/patient/funding-sources/{source_id}": {"delete": op("Remove a funding source", PATIENT, [param("source_id")], responses=NO_CONTENT)},
    "/v1/patient/wallet": {"get": op("Balances: personal account, cards and credit lines", PATIENT, responses=ok(ref("WalletSummary")))},
    "/v1/patient/history": {"get": op("Every movement, newest first", PATIENT, [qparam("from"), qparam("until"), qparam("kind"), qparam("institution"),
                                                                              qparam("cursor"), qparam("limit")], responses=ok(ref("HistoryPage")))},
    "/v1/patient/history.csv": {"get": {"summary": "The history as CSV", "security": PATIENT, "parameters": [qparam("from"), qparam("until"), qparam("kind"), qparam("institution")],
                                        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": S}}}} | problems(400, 401, 403)}},
    "/v1/patient/items": {"get": op("Drugs and items bought, with what each payer paid", PATIENT, [qparam("from"), qparam("until"), qparam("institution"), qparam("cursor")],
                                    responses=ok(ref("PurchasedItemsPage")))},
    "/v1/patient/statements/{month}": {"get": op("A month's statement (YYYY-MM)", PATIENT, [param("month")], responses=ok(ref("Statement")))},
    "/v1/patient/statements/{month}/page": {"get": op("A month's statement as a printable page", PATIENT, [param("month")], responses=html())},
    "/v1/patient/inbox": {"get": op("Messages, newest first", PATIENT, [qparam("cursor")], responses=ok(arr(ref("InboxMessage"))))},
    "/v1/patient/inbox/read": {"post": op("Mark messages read up to a number", PATIENT, body=json_body(ref("ReadThrough")), responses=NO_CONTENT)},
    "/v1/patient/reports": {"post": op("Report a movement you do not recognise", PATIENT, body=json_body(ref("ReportRequest")),
                                       responses=ok(ref("TransactionReport"), "201", "Reported")),
                            "get": op("Your reports", PATIENT, responses=ok(arr(ref("TransactionReport"))))},
    "/v1/patient/premiums": {"get": op("Contributions you may pay, amounts from the policy", PATIENT, [qparam("person_number")], responses=ok(arr(ref("PremiumOption")))),
                             "post": op("Pay a contribution (confirm the amount shown)", PATIENT, [IDEMPOTENCY], json_body(ref("PremiumRequest")),
                                        ok(ref("PremiumPayment"), "201", "Paid"), (400, 401, 403, 404, 409, 422, 503))},
    "/v1/patient/premiums/{premium_id}/receipt": {"get": op("The electronic receipt of a contribution", PATIENT, [param("premium_id")], responses=ok(ref("PremiumReceipt")))},
    "/v1/patient/coverage": {"get": op("The periods you are covered for", PATIENT, responses=ok(arr(ref("Coverage"))))},
    "/v1/receipts/{receipt_id}/verification": {"get": op("Check a receipt: authentic, amount, period; no personal data", [],
                                                         [param("receipt_id"), qparam("code"), qparam("amount"), qparam("period")],
                                                         responses=ok(ref("ReceiptVerification")), errors=(400, 429))},
    "/v1/webhooks": {"post": op("Subscribe to your settlements' events (Standard Webhooks)", INST, body=json_body(ref("SubscribeRequest")),
                                responses=ok(ref("WebhookSubscription"), "201", "Subscribed")),
                     "get": op("Your subscriptions", INST, responses=ok(arr(ref("WebhookSubscription"))))},
    "/v1/webhooks/{subscription_id}": {"delete": op("Cancel a subscription", INST, [param("subscription_id")], responses=NO_CONTENT)},
    "/v1/admin/webhooks": {"post": op("Subscribe a partner to event types", OP("administrator"), body=json_body(ref("SubscribeRequest")),
                                      responses=ok(ref("WebhookSubscription"), "201", "Subscribed")),
                           "get": op("Every live subscription", OP("viewer"), responses=ok(arr(ref("WebhookSubscription"))))},
    "/v1/admin/webhooks/{webhook_id}": {"delete": op("Cancel any subscription", OP("administrator"), [param("webhook_id")], responses=NO_CONTENT)},
    "/v1/admin/reports": {"get": op("Reported transactions", OP("operator"), [qparam("state")], responses=ok(arr(ref("TransactionReport"))))},
    "/v1/admin/reports/{report_id}": {"put": op("Resolve a report; the patient is told", OP("operator"), [param("report_id")], json_body(ref("ResolveRequest")),
                                                ok(ref("TransactionReport")), (400, 401, 403, 404, 409))},
    "/v1/sandbox/cards": {"post": op("Sandbox bank: issue a card to a person", OP("operator"), body=json_body(ref("SandboxCardRequest")),
                                     responses=ok(ref("SandboxCard"), "201", "Issued"), errors=(400, 401, 403, 404, 422))},
    "/v1/sandbox/cards/{card_number}": {"get": op("Sandbox bank: a card's balance and holds", OP("viewer"), [param("card_number")],
                                                  responses=ok(ref("SandboxCard")))},
    "/v1/sandbox/faults": {"put": op("Sandbox bank: inject timeouts, unavailability, delays", OP("operator"), body=json_body(ref("SandboxFaults")),
                                     responses=NO_CONTENT)},
    "/v1/sandbox/messages": {"get": op("Sandbox SMS: messages sent to a phone", OP("operator"),
                                       [{"name": "phone", "in": "query", "required": True, "schema": S}], responses=ok(arr(ref("SandboxMessage"))))},
    "/v1/visits/{visit_id}": {"get": op("A visit with its priced lines", INST, [param("visit_id")], responses=ok(ref("Visit")))},
    "/v1/visits/{visit_id}/lines": {"post": op("Add fee lines to an open visit (2204 / 2301)", INST, [param("visit_id")],
                                               json_body(ref("AddLinesRequest")), ok(ref("Visit")), (400, 401, 403, 404, 409, 422))},
    "/v1/visits/{visit_id}/pre-settlement": {"post": op("Pre-settle: the split as it would be now; moves nothing (2206 / 2303)", INST,
                                                        [param("visit_id")], {"required": False, "content": {"application/json": {"schema": ref("SettleRequest")}}},
                                                        ok(ref("SettlementPreview")), (400, 401, 403, 404, 409, 422))},
    "/v1/visits/{visit_id}/settlement": {"post": op("Settle the visit (2207 / 2304)", INST, [param("visit_id"), IDEMPOTENCY],
                                                    {"required": False, "content": {"application/json": {"schema": ref("SettleRequest")}}},
                                                    ok(ref("SettlementRecord"), "201", "Settled"), (400, 401, 403, 404, 409, 422))},
    "/v1/settlements/{settlement_id}": {"get": op("A settlement of this institution (5203)", INST, [param("settlement_id")], responses=ok(ref("SettlementRecord")))},
    "/v1/settlements/{settlement_id}/reversal": {"post": op("Reverse a settlement (2208 / 2305)", INST, [param("settlement_id"), IDEMPOTENCY],
                                                            responses=ok(ref("SettlementRecord"), "201", "Reversed"), errors=(400, 401, 403, 404, 409, 422))},
    "/v1/admin/institutions": {"get": op("List institutions", OP("viewer"), responses=ok(arr(ref("Institution"))))},
    "/v1/admin/institutions/{code}": {"put": op("Create or update an institution", OP("administrator"), [param("code")], json_body(ref("InstitutionInput")),
                                                ok(ref("Institution")) | ok(ref("Institution"), "201", "Created"))},
    "/v1/admin/institutions/{code}/keys": {"post": op("Issue an API key (earlier keys expire after 7 days)", OP("administrator"), [param("code")],
                                                      responses=ok(ref("InstitutionCredential"), "201", "Issued"))},
    "/v1/admin/policies": {"get": op("List policies", OP("viewer"), responses=ok(arr(ref("Policy"))))},
    "/v1/admin/policies/{region}/{year}": {"put": op("Save a region's policies for a year", OP("administrator"), [param("region"), param("year")],
                                                     json_body(ref("PolicyFile")), ok(ref("SavedPolicies")))},
    "/v1/admin/policies/{region}/{year}/{insurance_type}": {"get": op("A policy", OP("viewer"), [param("region"), param("year"), param("insurance_type")],
                                                                      responses=ok(ref("Policy")))},
    "/v1/admin/catalogue": {"post": op("Import catalogue items from CSV", OP("operator"),
                                       body={"required": True, "content": {"text/csv": {"schema": S}}}, responses=ok(ref("ImportReport")))},
    "/v1/admin/catalogue/{region}/{code}": {"get": op("A catalogue item", OP("viewer"), [param("region"), param("code")], responses=ok(ref("CatalogueItem")))},
    "/v1/admin/people": {"post": op("Enrol a person (参保登记)", OP("operator"), body=json_body(ref("EnrolmentInput")),
                                    responses=ok(ref("PersonView"), "201", "Enrolled"), errors=(400, 401, 403, 409, 422))},
    "/v1/admin/people/{number}": {"get": op("A person, personal data masked", OP("viewer"), [param("number")], responses=ok(ref("PersonView")))},
    "/v1/admin/ledger/verification": {"get": op("Verify the whole ledger", OP("viewer"), responses=ok(ref("LedgerReport")))},
    "/v1/admin/audit/verification": {"get": op("Verify the hash-chained audit log (anchors: ?anchor=lane:seq:hash,…)", OP("viewer"),
                                               [{"name": "anchor", "in": "query", "required": False, "schema": S}], responses=ok(ref("AuditReport")))},
    "/v1/admin/accounts/{account_id}": {"get": op("An account's balance", OP("viewer"), [param("account_id", "e.g. personal:P440100000001")],
                                                  responses=ok(ref("AccountView")))},
}

document = {
    "openapi": "3.1.0",
    "info": {"title": "Yibao", "version": "0.1.0",
             "description": "Medical-insurance payment and settlement. Amounts are integer fen; settlement buckets use the national interface's field names. Errors are RFC 9457 problem documents."},
    "servers": [{"url": "http://localhost:8080"}],
    "components": {
        "securitySchemes": {
            "institution": {"type": "apiKey", "in": "header", "name": "Authorization",
                            "description": "A signed request: YIBAO-HMAC-SHA256 Credential=<key id>, Timestamp=<unix s>, Nonce=<16-64>, Signature=<hex> (docs/api.md); the demo also accepts Bearer keyID.secret"},
            "operator": {"type": "http", "scheme": "bearer", "description": "An operator token: op_…"},
            "patient": {"type": "http", "scheme": "bearer", "description": "A patient session token: ps_…"},
        },
        "schemas": schemas,
    },
    "paths": paths,
}
with open(OUT, "w", encoding="utf-8") as f:
    json.dump(document, f, ensure_ascii=False, indent=1, sort_keys=False)
    f.write("\n")
print(f"{sum(len(v) for v in paths.values())} operations")
