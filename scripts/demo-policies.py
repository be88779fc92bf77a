#!/usr/bin/env python3
"""Writes the demo policy files (Sources/YibaoServer/Assets/demo/policies/REGION-YEAR.json) from the
figures in ../shared/reference/policies.md. Amounts are fen, ratios basis points. 2027 repeats 2026's
figures until the bureaus publish new ones."""
import json, os

OUT = os.path.join(os.path.dirname(__file__), "..", "Sources", "YibaoServer", "Assets", "demo", "policies")
DATASET = "Figures as compiled in the public dataset good9527/china-medical-insurance (MIT, data as of 2026-03); not checked against the bureau's own site — realistic demo data"
Y = 100  # fen per yuan

def level(level, deductible, ratio_pct, retiree_bonus_bp=0):
    return {"level": level, "deductible": deductible * Y, "ratio": int(round(ratio_pct * 100)), "retiree_bonus": retiree_bonus_bp}

def tier(deductible, bands, cap=None):
    out = {"deductible": deductible * Y, "bands": [{"up_to": (None if up is None else up * Y), "ratio": int(r * 100)} for up, r in bands]}
    if cap is not None:
        out["annual_cap"] = cap * Y
    return out

PREMIUM_NOTE = "Premium amounts and windows are illustrative demo figures (the dataset does not carry contribution rates)"

def premiums(insutype, resident_amount, flexible_amount, year):
    if insutype == "390":
        return [{"kind": "resident_annual", "amount": resident_amount * Y, "opens": f"{year - 1}-09-01", "closes": f"{year}-02-28"}]
    return [{"kind": "flexible_monthly", "amount": flexible_amount * Y}]

def policies(year):
    gz_emp = {
        "region": "440100", "insurance_type": "310", "year": year, "title": f"广州市职工基本医疗保险 {year}",
        "sources": ["穗医保规字〔2022〕3号 (职工门诊共济)", "广州市社会医疗保险规定 (住院)", DATASET,
                    "Inpatient annual cap ≈ 6× the average wage, shown as 1,000,000 yuan; the major-illness subsidy above it pays 95% with no deductible and no cap given",
                    "Not modelled: a stay over 90 days paying the deductible again"],
        "outpatient": {"deductible_scope": "per_visit", "annual_cap": 8000 * Y, "retiree_annual_cap": 10000 * Y,
                       "levels": [level("community", 0, 80, 500), level("1", 0, 80, 500), level("2", 0, 65, 500), level("3", 0, 65, 500), level("3A", 0, 65, 500)]},
        "inpatient": {"deductible_scope": "per_visit", "annual_cap": 1000000 * Y,
                      "levels": [level("community", 250, 90, 300), level("1", 250, 90, 300), level("2", 500, 85, 450), level("3", 1000, 80, 600), level("3A", 1000, 80, 600)],
                      "above_cap": tier(0, [(None, 95)])},
        "cross_region": {"unfiled": 7000, "referral": 9000, "long_term_resident": 10000},
        "family": {"single_family_only": True, "account_may_repay_credit": True},
    }
    gz_res = {
        "region": "440100", "insurance_type": "390", "year": year, "title": f"广州市城乡居民基本医疗保险 {year}",
        "sources": ["穗医保规字〔2023〕5号 (居民门诊、大病保险)", "广州市社会医疗保险规定 (住院)", DATASET,
                    "Outpatient at level 2/3 hospitals is not covered (ratio 0): residents use their chosen community or level-1 clinic",
                    "Catastrophic insurance: deductible 18,000; 60% up to a cumulative 100,000 (82,000 after the deductible); 70% above; cap 450,000"],
        "outpatient": {"deductible_scope": "per_visit", "annual_cap": 1000 * Y,
                       "levels": [level("community", 0, 80), level("1", 0, 80), level("2", 0, 0), level("3", 0, 0), level("3A", 0, 0)]},
        "inpatient": {"deductible_scope": "per_visit", "annual_cap": 350000 * Y,
                      "levels": [level("community", 150, 90), level("1", 150, 90), level("2", 300, 80), level("3", 500, 70), level("3A", 500, 70)],
                      "above_cap": tier(18000, [(82000, 60), (None, 70)], cap=450000)},
        "cross_region": {"unfiled": 7000, "referral": 9000, "long_term_resident": 10000},
        "family": {"single_family_only": True, "account_may_repay_credit": True},
    }
    lz_emp = {
        "region": "620100", "insurance_type": "310", "year": year, "title": f"兰州市职工基本医疗保险 {year}",
        "sources": ["兰政办发〔2022〕140号 (职工门诊共济)", "兰医保发〔2024〕36号 (住院)", DATASET,
                    "Level 3 is Lanzhou's 3B; 3A is separate. The large-amount subsidy pays 90% above the basic cap, up to 500,000",
                    "repeat_stay_deductible_factor 50% is illustrative: the dataset says only that repeat stays at the same level pay a lower deductible"],
        "outpatient": {"deductible_scope": "per_year", "annual_cap": 2500 * Y,
                       "levels": [level("community", 200, 65, 500), level("1", 200, 65, 500), level("2", 200, 60, 500), level("3", 200, 55, 500), level("3A", 200, 55, 500)]},
        "inpatient": {"deductible_scope": "per_visit", "annual_cap": 500000 * Y, "repeat_stay_deductible_factor": 5000,
                      "levels": [level("community", 200, 92, 300), level("1", 200, 92, 300), level("2", 400, 90, 300), level("3", 600, 86, 300), level("3A", 1000, 85, 300)],
                      "above_cap": tier(0, [(None, 90)], cap=500000)},
        "cross_region": {"unfiled": 7000, "referral": 9000, "long_term_resident": 10000},
        "family": {"single_family_only": True, "account_may_repay_credit": True},
    }
    lz_res = {
        "region": "620100", "insurance_type": "390", "year": year, "title": f"兰州市城乡居民基本医疗保险 {year}",
        "sources": ["兰医保发〔2024〕36号 (住院、居民门诊)", DATASET,
                    "Catastrophic insurance: deductible 5,000, then 60% (5k-10k), 65% (10k-20k), 70% (20k-50k), 75% (50k-100k), 80% above; bands are measured on the cumulative amount"],
        "outpatient": {"deductible_scope": "per_visit", "annual_cap": 130 * Y,
                       "levels": [level("community", 0, 70), level("2", 0, 0), level("3", 0, 0), level("3A", 0, 0)]},
        "inpatient": {"deductible_scope": "per_visit", "annual_cap": 150000 * Y,
                      "levels": [level("community", 100, 90), level("1", 200, 85), level("2", 400, 80), level("3", 600, 70), level("3A", 1400, 65)],
                      "above_cap": tier(5000, [(5000, 60), (15000, 65), (45000, 70), (95000, 75), (None, 80)])},
        "cross_region": {"unfiled": 6500, "referral": 8500, "long_term_resident": 10000},
        "family": {"single_family_only": True, "account_may_repay_credit": True},
    }
    for policy, resident, flexible in ((gz_emp, 0, 580), (gz_res, 420 if year >= 2027 else 400, 0), (lz_emp, 0, 350), (lz_res, 400 if year >= 2027 else 380, 0)):
        policy["premiums"] = premiums(policy["insurance_type"], resident, flexible, year)
        policy["sources"].append(PREMIUM_NOTE)
    return {"440100": [gz_emp, gz_res], "620100": [lz_emp, lz_res]}

for year in (2026, 2027):
    for region, items in policies(year).items():
        with open(os.path.join(OUT, f"{region}-{year}.json"), "w", encoding="utf-8") as f:
            json.dump({"region": region, "year": year, "policies": items}, f, ensure_ascii=False, indent=2)
            f.write("\n")
print("policies written")
