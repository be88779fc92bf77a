#!/usr/bin/env python3
"""Writes the demo reference data under Sources/YibaoServer/Assets/demo: institutions, catalogues
and people as CSV. Deterministic; rerun after editing. Policies are hand-written JSON next to them.

Names of institutions are fictional ("示例"); catalogue codes follow the shape of national codes but
are illustrative, not real national codes; ID numbers are generated with valid check digits for
fictional people."""
import csv, io, os, random

OUT = os.path.join(os.path.dirname(__file__), "..", "Sources", "YibaoServer", "Assets", "demo")
rng = random.Random(2026)

def write(name, header, rows):
    with open(os.path.join(OUT, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)

# Institutions: every level in both regions, and a pharmacy.
institutions = []
for region, city in (("440100", "广州"), ("620100", "兰州")):
    for seq, (level, name, kind) in enumerate([
        ("community", f"{city}示例街道社区卫生服务中心", "hospital"),
        ("1", f"{city}示例第一医院(一级)", "hospital"),
        ("2", f"{city}示例区人民医院(二级)", "hospital"),
        ("3", f"{city}示例市第二人民医院(三级)", "hospital"),
        ("3A", f"{city}示例大学附属医院(三级甲等)", "hospital"),
        ("community", f"{city}示例大药房(定点零售药店)", "pharmacy"),
    ], start=1):
        institutions.append([f"H{region}{seq:05d}", name, region, level, kind])
write("institutions.csv", ["code", "name", "region", "level", "kind"], institutions)

# Catalogue: drugs, services and materials in classes A, B and C.
drugs = [
    ("阿莫西林胶囊", ["0.25g×24粒", "0.5g×20粒"], "A", 12.8), ("头孢克肟分散片", ["0.1g×6片", "0.05g×12片"], "B", 28.5),
    ("布洛芬缓释胶囊", ["0.3g×20粒"], "A", 15.6), ("对乙酰氨基酚片", ["0.5g×12片", "0.3g×24片"], "A", 6.5),
    ("氨氯地平片", ["5mg×7片", "5mg×28片"], "A", 18.9), ("硝苯地平控释片", ["30mg×7片"], "B", 32.4),
    ("二甲双胍缓释片", ["0.5g×30片", "0.5g×60片"], "A", 16.2), ("阿卡波糖片", ["50mg×30片"], "B", 45.0),
    ("阿托伐他汀钙片", ["20mg×7片", "10mg×28片"], "B", 38.7), ("瑞舒伐他汀钙片", ["10mg×7片"], "B", 42.3),
    ("奥美拉唑肠溶胶囊", ["20mg×14粒", "20mg×28粒"], "A", 22.1), ("雷贝拉唑钠肠溶片", ["10mg×14片"], "B", 56.8),
    ("蒙脱石散", ["3g×10袋"], "A", 14.5), ("枸橼酸莫沙必利片", ["5mg×24片"], "B", 29.9),
    ("左氧氟沙星片", ["0.5g×4片", "0.1g×10片"], "A", 19.8), ("阿奇霉素片", ["0.25g×6片"], "A", 24.6),
    ("氯雷他定片", ["10mg×6片"], "B", 21.3), ("孟鲁司特钠片", ["10mg×5片"], "B", 58.2),
    ("沙丁胺醇气雾剂", ["100μg×200揿"], "A", 27.5), ("布地奈德福莫特罗吸入粉雾剂", ["160μg/4.5μg×60吸"], "B", 268.0),
    ("硫酸氢氯吡格雷片", ["75mg×7片"], "B", 98.5), ("阿司匹林肠溶片", ["100mg×30片"], "A", 15.2),
    ("缬沙坦胶囊", ["80mg×7粒", "80mg×28粒"], "B", 35.6), ("厄贝沙坦片", ["0.15g×7片"], "B", 31.2),
    ("美托洛尔缓释片", ["47.5mg×7片"], "A", 26.8), ("呋塞米片", ["20mg×100片"], "A", 8.6),
    ("胰岛素注射液", ["10ml:400单位"], "A", 58.0), ("甘精胰岛素注射液", ["3ml:300单位"], "B", 168.0),
    ("复方丹参滴丸", ["27mg×180丸"], "A", 29.8), ("连花清瘟胶囊", ["0.35g×24粒"], "B", 25.6),
    ("六味地黄丸", ["200丸"], "A", 18.0), ("感冒灵颗粒", ["10g×9袋"], "A", 12.5),
    ("板蓝根颗粒", ["10g×20袋"], "A", 11.8), ("藿香正气水", ["10ml×10支"], "A", 9.9),
    ("甲钴胺片", ["0.5mg×20片"], "B", 32.0), ("维生素B1片", ["10mg×100片"], "A", 3.5),
    ("碳酸钙D3片", ["600mg×60片"], "C", 58.0), ("复合维生素片", ["100片"], "C", 128.0),
    ("左甲状腺素钠片", ["50μg×100片"], "A", 29.5), ("他克莫司胶囊", ["1mg×50粒"], "B", 685.0),
    ("注射用头孢曲松钠", ["1.0g/支"], "A", 8.5), ("注射用哌拉西林他唑巴坦", ["4.5g/支"], "B", 46.8),
    ("氯化钠注射液", ["0.9% 250ml", "0.9% 500ml"], "A", 4.2), ("葡萄糖注射液", ["5% 250ml"], "A", 4.5),
    ("人血白蛋白", ["10g/瓶"], "B", 395.0), ("注射用紫杉醇(白蛋白结合型)", ["100mg/瓶"], "B", 1580.0),
    ("重组人干扰素α2b", ["300万IU/支"], "B", 86.0), ("玻璃酸钠注射液", ["2ml:20mg"], "C", 168.0),
    ("进口肠内营养混悬液", ["500ml"], "C", 96.0), ("医用祛疤凝胶", ["15g"], "C", 158.0),
]
services = [
    ("普通门诊诊查费", "A", 10.0), ("副主任医师门诊诊查费", "A", 25.0), ("主任医师门诊诊查费", "A", 35.0),
    ("急诊诊查费", "A", 15.0), ("住院诊查费(日)", "A", 20.0), ("一级护理(日)", "A", 28.0), ("二级护理(日)", "A", 18.0),
    ("普通病房床位费(日)", "A", 45.0), ("血常规检查", "A", 20.0), ("尿常规检查", "A", 10.0), ("肝功能检测", "A", 68.0),
    ("肾功能检测", "A", 45.0), ("血脂四项", "A", 40.0), ("糖化血红蛋白测定", "A", 60.0), ("心电图检查", "A", 25.0),
    ("胸部X线摄影(DR)", "A", 80.0), ("腹部彩色多普勒超声", "B", 160.0), ("头颅CT平扫", "B", 280.0),
    ("胸部CT平扫", "B", 300.0), ("腰椎磁共振成像(MRI)", "B", 650.0), ("胃镜检查", "B", 320.0), ("结肠镜检查", "B", 420.0),
    ("静脉输液(首组)", "A", 12.0), ("肌肉注射", "A", 5.0), ("清创缝合(小)", "A", 120.0), ("阑尾切除术", "A", 1800.0),
    ("腹腔镜胆囊切除术", "B", 3200.0), ("经皮冠状动脉支架植入术", "B", 8600.0), ("血液透析(次)", "A", 420.0),
    ("针灸(次)", "A", 35.0), ("推拿(次)", "A", 40.0), ("体检套餐(个人)", "C", 600.0), ("美容激光祛斑", "C", 1200.0),
    ("特需病房床位费(日)", "C", 600.0), ("心理咨询(自费)", "C", 300.0),
]
materials = [
    ("一次性输液器", "A", 3.5), ("一次性注射器", "A", 1.2), ("医用纱布块", "A", 2.0), ("静脉留置针", "B", 25.0),
    ("冠状动脉药物洗脱支架", "B", 7000.0), ("人工髋关节假体", "B", 16800.0), ("人工晶状体(进口)", "B", 6800.0),
    ("医用缝合线", "A", 18.0), ("止血材料(可吸收)", "B", 380.0), ("心脏起搏器(双腔)", "B", 32000.0),
    ("医用冷敷贴", "C", 35.0), ("医用弹力袜", "C", 168.0),
]

def code(prefix, seq):
    return f"{prefix}{seq:011d}"

items = []
seq = 0
for name, specs, klass, price in drugs:
    for spec in specs:
        seq += 1
        items.append(("drug", code("XD", seq), name, spec, klass, price))
for name, klass, price in services:
    seq += 1
    items.append(("service", code("S0", seq), name, "", klass, price))
for name, klass, price in materials:
    seq += 1
    items.append(("material", code("C0", seq), name, "", klass, price))
# More variants to reach a few hundred: generic strengths of common drugs.
generics = [("盐酸二甲双胍片", "A", 8.0), ("卡托普利片", "A", 5.0), ("格列美脲片", "B", 26.0), ("吲达帕胺片", "A", 9.0),
            ("螺内酯片", "A", 6.0), ("地高辛片", "A", 7.5), ("华法林钠片", "A", 12.0), ("泼尼松片", "A", 4.0),
            ("甲硝唑片", "A", 3.8), ("克拉霉素片", "B", 19.0), ("头孢呋辛酯片", "B", 22.0), ("头孢克洛胶囊", "B", 24.0),
            ("多潘立酮片", "A", 10.0), ("法莫替丁片", "A", 7.0), ("铝碳酸镁咀嚼片", "B", 21.0), ("乳果糖口服溶液", "B", 35.0),
            ("艾司唑仑片", "A", 6.0), ("阿普唑仑片", "A", 5.5), ("舍曲林片", "B", 48.0), ("帕罗西汀片", "B", 52.0)]
for name, klass, price in generics:
    for strength in ("小规格", "常用规格", "大规格", "家庭装", "医院装", "缓释规格", "儿童规格", "分散片规格", "口崩片规格", "肠溶规格", "颗粒剂型"):
        seq += 1
        items.append(("drug", code("XD", seq), name, strength, klass, round(price * (0.6 + rng.random() * 1.8), 2)))

def catalogue(region):
    rows = []
    for category, c, name, spec, klass, price in items:
        # Regions differ: Lanzhou puts a few class B items in class A and caps some prices lower.
        k = klass
        if region == "620100" and klass == "B" and int(c[-3:]) % 7 == 0:
            k = "A"
        cap = ""
        if k in ("A", "B") and int(c[-3:]) % 5 == 0:
            cap = f"{price * (0.9 if region == '620100' else 1.0):.2f}"
        first = ""
        if k == "B":
            first = "10" if category == "drug" else ("20" if category == "material" else "5")
        rows.append([region, c, name, spec, category, k, cap, first])
    return rows

header = ["region", "code", "name", "specification", "category", "class", "price_cap_yuan", "first_self_pay_percent"]
write("catalogue-440100.csv", header, catalogue("440100"))
write("catalogue-620100.csv", header, catalogue("620100"))

# People: employees (some retired), residents (a child under 16 among them), and a Lanzhou employee
# living in Guangzhou (treated there: cross-region).
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def id_number(area, birth, seq):
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]

people = []
def person(number, name, area, birth, seq, region, insutype, retired, phone, balance, filing=""):
    people.append([number, name, id_number(area, birth, seq), region, insutype, "true" if retired else "false", phone, balance, filing])

gz = [("张伟", "19850312", "310", False, "3200.00"), ("王芳", "19900725", "310", False, "1800.00"), ("李强", "19580101", "310", True, "5600.00"),
      ("刘敏", "19620818", "310", True, "4200.00"), ("陈杰", "19951130", "310", False, "900.00"), ("杨丽", "19881005", "310", False, "2500.00"),
      ("黄磊", "19760214", "310", False, "3800.00"), ("赵婷", "19930420", "310", False, "1200.00"),
      ("周秀英", "19520603", "390", False, ""), ("吴建国", "19600909", "390", False, ""), ("徐小明", "20150601", "390", False, ""),
      ("孙悦", "20120315", "390", False, ""), ("马丽", "19990101", "390", False, ""), ("朱大海", "19700707", "390", False, "")]
for i, (name, birth, insutype, retired, balance) in enumerate(gz, start=1):
    person(f"P4401000{i:05d}", name, "440106", birth, 100 + i, "440100", insutype, retired, f"138001{i:05d}", balance)
lz = [("高峰", "19820520", "310", False, "2100.00"), ("林芳", "19870917", "310", False, "1600.00"), ("何志强", "19570303", "310", True, "4800.00"),
      ("郭敏", "19910611", "310", False, "700.00"), ("罗秀兰", "19550812", "390", False, ""), ("梁子轩", "20140228", "390", False, ""),
      ("宋晓燕", "19980808", "390", False, ""), ("郑国庆", "19661001", "390", False, "")]
for i, (name, birth, insutype, retired, balance) in enumerate(lz, start=1):
    person(f"P6201000{i:05d}", name, "620102", birth, 200 + i, "620100", insutype, retired, f"139001{i:05d}", balance)
# Insured in Lanzhou, living and treated in Guangzhou, not filed.
person("P620100000901", "韩冰", "620102", "19890409", 301, "620100", "310", False, "13900190001", "2000.00", "none")
write("people.csv", ["number", "name", "id_number", "region", "insurance_type", "retired", "phone", "opening_balance_yuan", "cross_region_filing"], people)
print(f"{len(institutions)} institutions, {len(items)} catalogue items per region, {len(people)} people")
