"""Demo data: a Buick 4S store in Shenzhen with about three years of service history.

Two halves:

* ``generate(n_customers, seed, today)`` is pure: numpy only, no database. It
  returns ``DemoData``, one DataFrame per table, keyed by local row numbers
  (``customer`` = row of ``customers``, ``vehicle`` = row of ``vehicles``). The
  same (n, seed, today) always gives the same frames.
* ``demo_seed(...)`` writes them for the ``DEMO`` dealership in one
  transaction through ``copy_rows`` (COPY on PostgreSQL), with ids assigned
  here under a table lock, so that a hundred thousand customers and a million
  visits load in well under a minute.

What the data exercises (SPEC "Who uses it", "Core records", "Segmentation"):
one user per role; customers with one or two vehicles (fleets have a few) and
second-hand cars that changed owner in the store; purchase dates in every
vehicle-age band; maintenance every 5-7 months (some owners come less often)
with mileage rising 30-60 km a day; mechanical repairs, insurance bodywork,
warranty claims on young cars and other jobs; lapsed owners; owners without
marketing consent (with the PIPL consent events of those who decided), on
do-not-contact or with a wrong number; family members sharing a phone; a few
visits carrying campaign codes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from dealercrm.core.bulk import copy_rows
from dealercrm.core.models import Dealership, Membership
from dealercrm.core.roles import Role

from . import phones
from .importing.bulkload import BulkLoad
from .models import (
    ConsentEvent,
    Customer,
    MileageReading,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from .services import customers_flag_duplicate_phones
from .validators import vin_check_digit

DEMO_CODE = "DEMO"
DEMO_NAME = "Demo 4S 粤B"
DEMO_CITY = "深圳"
DEMO_PLATE_PREFIX = "粤B"
DEMO_PASSWORD = "demo1234"  # noqa: S105 - the documented password of the demo accounts
# username, role, display name
DEMO_USERS = (
    ("advisor", Role.ADVISOR, "陈晓东"),
    ("agent", Role.AGENT, "林小红"),
    ("ccmanager", Role.CC_MANAGER, "黄丽娟"),
    ("asmanager", Role.AS_MANAGER, "王建国"),
    ("admin", Role.ADMIN, "赵志刚"),
)
DEFAULT_CUSTOMERS = 2_000
MAX_CUSTOMERS = 500_000  # VIN serials and RO day sequences are sized for this
HISTORY_DAYS = 3 * 365
TIME_ZONE = "Asia/Shanghai"

# Service advisors named on repair orders; the first is the demo advisor account.
ADVISORS = np.array([DEMO_USERS[0][2], "李伟", "张敏", "刘洋", "黄志强", "吴婷", "郑凯", "梁嘉欣"])

# --- Name material ----------------------------------------------------------
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈"
    "钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向汤"
)
_COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛"]
_MALE_GIVEN = list("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁俊浩宇志建国文海东林峰晨阳坤锋龙振宏健亮凯翔成雄荣德瑞永嘉")
_FEMALE_GIVEN = list("芳娜敏静丽艳娟霞秀玲婷雪慧颖琳洁燕红梅莉晶欣怡佳倩月萍琴璐彤蕾薇璇妍晓楠冰丹凤云爽悦诗")
_COMPANY_WORDS = list("鹏华安达信通顺盛兴宏泰联创科远航深新中粤")
_COMPANY_KINDS = ["物流", "运输", "商务服务", "科技", "汽车租赁", "贸易", "建设工程"]
_CITIES = (["深圳", "东莞", "惠州", "广州"], [0.88, 0.05, 0.04, 0.03])
_CHANNELS = (["phone", "wechat", "sms", "email"], [0.45, 0.35, 0.15, 0.05])
# Mainland mobile number blocks (3-digit operator prefixes) that libphonenumber accepts.
_MOBILE_PREFIXES = np.array(
    [*range(130, 140), 147, 150, 151, 152, 153, *range(155, 160), 166, 176, 177, 178, *range(180, 190), 191, 198, 199]
)

# --- Vehicle catalogue: brand, model, fuel, WMI, VDS stem, weights for age <1 / 1-5 / 5+ years,
#     price of a service relative to a 新君威 (electric cars need little; a Cadillac costs more) ---
_CATALOG = [
    ("别克", "新君威", "ICE", "LSG", "GR54", 18, 18, 14, 1.0),
    ("别克", "新君越", "ICE", "LSG", "GE55", 16, 18, 16, 1.15),
    ("别克", "新君越", "HEV", "LSG", "GE5H", 3, 2, 0, 1.1),
    ("别克", "GL8", "ICE", "LSG", "WN58", 15, 16, 12, 1.25),
    ("别克", "GL8", "PHEV", "LSG", "WN5P", 4, 2, 0, 1.0),
    ("别克", "陆尊", "ICE", "LSG", "WH52", 2, 4, 8, 1.25),
    ("别克", "凯越", "ICE", "LSG", "JA52", 0, 4, 16, 0.8),
    ("别克", "英朗", "ICE", "LSG", "JC54", 12, 14, 14, 0.85),
    ("别克", "微蓝6", "PHEV", "LSG", "EB5P", 4, 3, 0, 0.8),
    ("别克", "E5", "EV", "LSG", "EE5D", 5, 2, 0, 0.45),
    ("别克", "至境L7", "EREV", "LSG", "EL7R", 4, 0, 0, 0.8),
    ("雪佛兰", "科鲁泽", "ICE", "LSG", "CR54", 2, 3, 3, 0.8),
    ("雪佛兰", "迈锐宝XL", "ICE", "LSG", "CM55", 2, 3, 2, 0.95),
    ("凯迪拉克", "CT5", "ICE", "LSG", "KC55", 2, 2, 1, 2.4),
    ("大众", "朗逸", "ICE", "LSV", "AB41", 1, 1, 2, 0.8),
    ("本田", "雅阁", "ICE", "LHG", "CV36", 1, 1, 1, 1.0),
]
_CAT = pd.DataFrame(
    _CATALOG, columns=["brand", "model", "fuel", "wmi", "vds", "w_new", "w_young", "w_old", "service_price"]
).to_dict("list")
_GL8_ICE = 3  # fleets run GL8 business vans
_VIN_ALPHABET = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"))
_PLATE_LETTERS = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))
_DIGITS = np.array(list("0123456789"))
_OTHER_PREFIXES = (["粤A", "粤S", "粤L"], [0.4, 0.4, 0.2])
# ISO 3779 model-year letters from 2001 (digits 1-9, then letters without I O Q U Z and 0), 30-year cycle
_YEAR_CODES = "123456789ABCDEFGHJKLMNPRSTVWXY"

VISIT_TYPES = ["maintenance", "repair", "bodywork", "warranty", "other"]
MAINTENANCE, REPAIR, BODYWORK, WARRANTY, OTHER = range(5)
PAYERS = ["customer", "insurance", "warranty", "internal"]
CUSTOMER_PAY, INSURANCE, WARRANTY_PAY, INTERNAL = range(4)
TIERS = ["bronze", "silver", "gold", "diamond"]


@dataclass
class DemoData:
    """One frame per table. Dates are ``datetime64``; money is integer fen (cents); keys are local row numbers."""

    customers: pd.DataFrame
    vehicles: pd.DataFrame
    ownerships: pd.DataFrame
    consent_events: pd.DataFrame
    visits: pd.DataFrame
    readings: pd.DataFrame
    today: date

    def counts(self) -> dict[str, int]:
        return {
            "customers": len(self.customers),
            "vehicles": len(self.vehicles),
            "ownerships": len(self.ownerships),
            "consent_events": len(self.consent_events),
            "visits": len(self.visits),
            "mileage_readings": len(self.readings),
        }


# ============================================================================
# Generation (pure)
# ============================================================================


def _day(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _dates(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 → datetime64[D]; negative sentinel (``_NONE``) → NaT."""
    out = days.astype("datetime64[D]")
    out[days == _NONE] = np.datetime64("NaT")
    return out


_NONE = np.iinfo(np.int64).min


def _pick(rng, values, weights, size):
    p = np.asarray(weights, dtype=float)
    return np.asarray(values)[rng.choice(len(values), size=size, p=p / p.sum())]


def _join_chars(chars: np.ndarray) -> np.ndarray:
    """An (n, k) array of single characters → n strings of k characters."""
    chars = np.ascontiguousarray(chars.astype("<U1"))
    return chars.view(f"<U{chars.shape[1]}").ravel()


def _customers(rng, n: int, t: int) -> dict[str, np.ndarray]:
    is_company = rng.random(n) < 0.015
    gender = np.where(rng.random(n) < 0.68, "M", "F")
    gender[is_company] = ""

    ranks = np.arange(1, len(_SURNAMES) + 1)
    weights = 1.0 / ranks**0.9
    for ch in "陈黄林梁罗郑谢钟":  # Cantonese flavour: common in Shenzhen
        weights[_SURNAMES.index(ch)] *= 1.6
    surnames = np.array(list(_SURNAMES))[rng.choice(len(_SURNAMES), size=n, p=weights / weights.sum())]
    compound = rng.random(n) < 0.004
    surnames = np.where(compound, np.array(_COMPOUND_SURNAMES)[rng.integers(0, 4, n)], surnames)
    male, female = np.array(_MALE_GIVEN), np.array(_FEMALE_GIVEN)
    g1 = np.where(gender == "F", female[rng.integers(0, len(female), n)], male[rng.integers(0, len(male), n)])
    g2 = np.where(gender == "F", female[rng.integers(0, len(female), n)], male[rng.integers(0, len(male), n)])
    two_chars = rng.random(n) < 0.72
    given = np.where(two_chars, np.strings.add(g1, g2), g1)

    words = np.array(_COMPANY_WORDS)
    trade_name = np.strings.add(words[rng.integers(0, len(words), n)], words[rng.integers(0, len(words), n)])
    kind = np.strings.add(np.array(_COMPANY_KINDS)[rng.integers(0, len(_COMPANY_KINDS), n)], "有限公司")
    company_names = np.strings.add(np.strings.add("深圳市", trade_name), kind)

    # Phones: a random operator prefix and an 8-digit number from an affine permutation of the row number,
    # unique by construction; then some family members share a phone (flagged as possible duplicates later).
    prefix = _MOBILE_PREFIXES[rng.integers(0, len(_MOBILE_PREFIXES), n)]
    suffix = (np.arange(n, dtype=np.int64) * 61_803_399 + int(rng.integers(0, 10**8))) % 10**8
    phone_no = prefix.astype(np.int64) * 10**8 + suffix
    family = (rng.random(n) < 0.02) & ~is_company
    heads = np.flatnonzero(~family & ~is_company)
    relatives = np.flatnonzero(family)
    if len(heads) and len(relatives):
        partner = heads[rng.integers(0, len(heads), len(relatives))]
        phone_no[relatives] = phone_no[partner]
        same_surname = rng.random(len(relatives)) < 0.5
        surnames[relatives[same_surname]] = surnames[partner[same_surname]]
    names = np.where(is_company, company_names, np.strings.add(surnames, given))

    age_years = np.clip(rng.normal(42, 11, n), 20, 75)
    birthday = t - (age_years * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    birthday[is_company] = _NONE

    # Consent: 0 undecided (no event), 1 granted, 2 granted then withdrawn.
    consent_status = _pick(rng, [0, 1, 2], [0.17, 0.75, 0.08], n)
    lapsed = rng.random(n) < 0.15
    churn_day = np.where(lapsed, t - rng.integers(185, 1000, n), np.iinfo(np.int64).max)
    return {
        "n": n,
        "is_company": is_company,
        "name": names,
        "phone": np.char.add("+86", phone_no.astype(str)),
        "gender": gender,
        "birthday": birthday,
        "city": _pick(rng, *_CITIES, n),
        "preferred_channel": _pick(rng, *_CHANNELS, n),
        "consent_status": consent_status,
        "do_not_contact": rng.random(n) < 0.02,
        "flag_wrong_number": rng.random(n) < 0.015,
        "flag_bounced": rng.random(n) < 0.01,
        "churn_day": churn_day,
        "advisor": rng.integers(0, len(ADVISORS), n),
    }


def _age_days(rng, size: int) -> np.ndarray:
    """Vehicle ages at ``today`` spread over the bands <1, 1-2, 2-3, 3-5 and 5+ years."""
    bounds = np.array([[5, 360], [370, 725], [735, 1090], [1100, 1820], [1830, 4300]])
    band = _pick(rng, np.arange(5), [0.13, 0.15, 0.16, 0.25, 0.31], size)
    lo, hi = bounds[band, 0], bounds[band, 1]
    return lo + (rng.random(size) * (hi - lo)).astype(np.int64)


def _vehicles(rng, cust: dict, t: int) -> dict[str, np.ndarray]:
    n = cust["n"]
    count = np.where(rng.random(n) < 0.14, 2, 1)
    count[cust["is_company"]] = rng.integers(2, 5, cust["is_company"].sum())
    owner = np.repeat(np.arange(n), count)
    v = len(owner)
    first_of_owner = np.r_[True, owner[1:] != owner[:-1]]
    purchase = t - _age_days(rng, v)

    # Second-hand cars: an owner changed cars; the old one was sold to another customer of the store.
    single = np.flatnonzero((count == 1) & ~cust["is_company"])
    n_transfers = min(max(1 if n >= 40 else 0, round(0.03 * n)), len(single) // 2)
    chosen = rng.permutation(single)[: 2 * n_transfers]
    sellers, buyers = chosen[:n_transfers], chosen[n_transfers:]
    prev_owner = np.full(v, -1, dtype=np.int64)
    transfer_day = np.full(v, _NONE, dtype=np.int64)
    buyer_gap = np.zeros(v, dtype=np.int64)
    vehicle_of = np.flatnonzero(first_of_owner)  # each customer's first vehicle
    used = vehicle_of[buyers]
    sold_on = t - rng.integers(60, 1000, n_transfers)
    prev_owner[used] = sellers
    transfer_day[used] = sold_on
    buyer_gap[used] = rng.integers(20, 150, n_transfers)
    purchase[used] = sold_on - rng.integers(4 * 365, 8 * 365, n_transfers)  # bought new by the seller
    purchase[vehicle_of[sellers]] = sold_on - rng.integers(0, 30, n_transfers)  # the seller's replacement

    age = t - purchase
    weight_cols = np.stack([_CAT["w_new"], _CAT["w_young"], _CAT["w_old"]])
    band = np.where(age < 365, 0, np.where(age < 5 * 365, 1, 2))
    model = np.empty(v, dtype=np.int64)
    for b in range(3):
        idx = np.flatnonzero(band == b)
        model[idx] = _pick(rng, np.arange(len(_CATALOG)), weight_cols[b], len(idx))
    fleet = cust["is_company"][owner] & (rng.random(v) < 0.7)
    model[fleet] = _GL8_ICE

    purchase_year = purchase.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    model_year = purchase_year - (rng.random(v) < 0.25)
    fuel = np.array(_CAT["fuel"])[model]

    return {
        "v": v,
        "owner": owner,
        "prev_owner": prev_owner,
        "transfer_day": transfer_day,
        "buyer_gap": buyer_gap,
        "purchase": purchase,
        "brand": np.array(_CAT["brand"])[model],
        "model": np.array(_CAT["model"])[model],
        "fuel": fuel,
        "service_price": np.array(_CAT["service_price"])[model],
        "model_year": model_year,
        "warranty_end": purchase + 3 * 365,
        "vin": _vins(rng, model, model_year),
        "plate": _plates(rng, fuel),
        "km_per_day": rng.uniform(30, 60, v),
        "km_drift": rng.uniform(-0.15, 0.15, v),
        "interval": np.where(rng.random(v) < 0.72, rng.uniform(150, 215, v), rng.uniform(230, 400, v)),
        "interval_drift": rng.normal(0, 0.02, v),
    }


def _vins(rng, model: np.ndarray, model_year: np.ndarray) -> np.ndarray:
    """Valid, unique VINs: WMI, VDS, check digit, model year, plant, a 6-digit serial unique per vehicle."""
    v = len(model)
    if v >= 10**6:
        raise ValueError("Too many vehicles for unique 6-digit VIN serials.")
    chars = np.empty((v, 17), dtype="<U1")
    wmi = np.array([list(w) for w in _CAT["wmi"]])[model]
    vds = np.array([list(s) for s in _CAT["vds"]])[model]
    chars[:, 0:3] = wmi
    chars[:, 3:7] = vds
    chars[:, 7] = _VIN_ALPHABET[rng.integers(0, len(_VIN_ALPHABET), v)]
    chars[:, 8] = "0"
    chars[:, 9] = np.array(list(_YEAR_CODES))[(model_year - 2001) % 30]
    chars[:, 10] = np.array(list("SYWDN"))[rng.integers(0, 5, v)]
    serial = (np.arange(v, dtype=np.int64) * 7_919 + int(rng.integers(0, 10**6))) % 10**6
    chars[:, 11:17] = np.array(list("0123456789"))[(serial[:, None] // 10 ** np.arange(5, -1, -1)) % 10]
    vins = _join_chars(chars)
    check = np.array([vin_check_digit(vin) for vin in vins.tolist()])
    chars[:, 8] = check
    return _join_chars(chars)


def _plates(rng, fuel: np.ndarray) -> np.ndarray:
    """Unique plates: mostly 粤B; 7 characters, or 8 for new-energy cars (D electric, F plug-in/range extender)."""
    v = len(fuel)
    plates = np.empty(v, dtype="<U8")
    todo = np.arange(v)
    while len(todo):
        k = len(todo)
        prefix = np.where(rng.random(k) < 0.95, DEMO_PLATE_PREFIX, _pick(rng, *_OTHER_PREFIXES, k))
        # ordinary: five characters, none to two of them letters (no I or O)
        chars = _DIGITS[rng.integers(0, 10, (k, 5))]
        letters = _PLATE_LETTERS[rng.integers(0, len(_PLATE_LETTERS), (k, 5))]
        n_letters = _pick(rng, [0, 1, 2], [0.2, 0.55, 0.25], k)
        first = rng.random(k) < 0.7
        pos1 = np.where(first, 0, rng.integers(0, 5, k))
        pos2 = rng.integers(1, 5, k)
        rows = np.arange(k)
        mask = np.zeros((k, 5), dtype=bool)
        mask[rows, pos1] = n_letters >= 1
        mask[rows, pos2] |= n_letters == 2
        ordinary = np.strings.add(prefix, _join_chars(np.where(mask, letters, chars)))
        # new energy: D/F, a letter or digit, four digits
        nev_kind = np.where(fuel[todo] == "EV", "D", "F")
        second = np.where(rng.random(k) < 0.5, letters[:, 0], chars[:, 0])
        nev = np.strings.add(
            np.strings.add(prefix, nev_kind), np.strings.add(second, _join_chars(_DIGITS[rng.integers(0, 10, (k, 4))]))
        )
        is_nev = np.isin(fuel[todo], ["EV", "PHEV", "EREV"])
        plates[todo] = np.where(is_nev, nev, ordinary)
        _, first_index = np.unique(plates, return_index=True)
        keep = np.zeros(v, dtype=bool)
        keep[first_index] = True
        todo = np.flatnonzero(~keep)
    return plates


def _visit_rows(rng, cust: dict, veh: dict, t: int) -> dict[str, np.ndarray]:
    """Every repair order on every vehicle's timeline, with the customer who brought the car in that day."""
    v = veh["v"]
    window_start = t - HISTORY_DAYS
    start = np.maximum(window_start, veh["purchase"])

    # Maintenance: first service ~3 months after purchase (首保), or at a random phase of the interval
    k = int(np.ceil(HISTORY_DAYS / 90)) + 1
    first = np.where(
        veh["purchase"] >= window_start,
        veh["purchase"] + rng.integers(75, 120, v),
        window_start + (rng.random(v) * veh["interval"]).astype(np.int64),
    )
    steps = np.arange(k)
    gaps = veh["interval"][:, None] * (1 + veh["interval_drift"][:, None] * steps) * rng.normal(1, 0.08, (v, k))
    gaps = np.maximum(gaps, 90)
    gaps[:, 0] = 0
    m_days = first[:, None] + np.cumsum(gaps, axis=1).astype(np.int64)
    m_vehicle = np.broadcast_to(np.arange(v)[:, None], (v, k))
    keep = m_days <= t
    m_vehicle, m_days = m_vehicle[keep], m_days[keep]

    # Other jobs: Poisson counts over the vehicle's span in the window, uniform dates.
    age_years = (t - veh["purchase"]) / 365
    span = np.maximum(t - start, 0)
    warranty_span = np.maximum(np.minimum(t, veh["warranty_end"]) - start, 0)
    parts_v, parts_d, parts_t = [m_vehicle], [m_days], [np.full(len(m_days), MAINTENANCE)]
    # Some cars break down or crash far more than others: per-vehicle proneness with mean 1, mostly lower.
    prone_repair = rng.gamma(0.5, 2.0, v)
    prone_crash = rng.gamma(0.4, 2.5, v)
    for kind, rate, days in (
        (REPAIR, np.minimum(0.3 + 0.08 * age_years, 1.0) * prone_repair, span),
        (BODYWORK, 0.28 * prone_crash, span),
        (WARRANTY, np.full(v, 0.45), warranty_span),
        (OTHER, np.full(v, 0.45), span),
    ):
        counts = rng.poisson(rate * days / 365)
        vehicle = np.repeat(np.arange(v), counts)
        parts_v.append(vehicle)
        parts_d.append(start[vehicle] + (rng.random(len(vehicle)) * days[vehicle]).astype(np.int64))
        parts_t.append(np.full(len(vehicle), kind))
    # A second order on the same day as some maintenance visits (a repair found on inspection, a wash).
    extra = rng.random(len(m_days)) < 0.2
    parts_v.append(m_vehicle[extra])
    parts_d.append(m_days[extra])
    parts_t.append(np.where(rng.random(extra.sum()) < 0.5, REPAIR, OTHER))

    vehicle = np.concatenate(parts_v)
    day = np.concatenate(parts_d)
    vtype = np.concatenate(parts_t)

    # Who brought the car: the owner on that day; a used car's buyer comes back some weeks after buying it.
    transferred = veh["prev_owner"][vehicle] >= 0
    before_sale = transferred & (day < veh["transfer_day"][vehicle])
    customer = np.where(before_sale, veh["prev_owner"][vehicle], veh["owner"][vehicle])
    in_gap = transferred & ~before_sale & (day < veh["transfer_day"][vehicle] + veh["buyer_gap"][vehicle])
    keep = ~in_gap & (day <= cust["churn_day"][customer]) & (day <= t)
    vehicle, day, vtype, customer = vehicle[keep], day[keep], vtype[keep], customer[keep]
    order = np.lexsort((vtype, vehicle, day))
    return {"vehicle": vehicle[order], "day": day[order], "type": vtype[order], "customer": customer[order]}


def _amounts(
    rng, vtype: np.ndarray, km_since: np.ndarray, major: np.ndarray, price: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labour and parts in fen (labour in whole yuan), and the payer, by visit type."""
    n = len(vtype)
    # median total (yuan), sigma, clip low, clip high, labour share low/high
    params = {
        MAINTENANCE: (620, 0.2, 380, 1_250, 0.25, 0.40),
        REPAIR: (1_900, 0.55, 800, 6_000, 0.25, 0.45),
        BODYWORK: (5_200, 0.65, 2_000, 20_000, 0.35, 0.55),
        WARRANTY: (1_500, 0.7, 300, 6_000, 0.20, 0.40),
        OTHER: (260, 0.6, 80, 800, 0.30, 0.70),
    }
    total = np.empty(n)
    share = np.empty(n)
    for kind, (median, sigma, lo, hi, s_lo, s_hi) in params.items():
        idx = np.flatnonzero(vtype == kind)
        total[idx] = median * np.exp(rng.normal(0, sigma, len(idx)))
        if kind == MAINTENANCE:  # more wear parts after a longer distance
            total[idx] *= np.clip((km_since[idx] / 8_000) ** 0.4, 0.8, 1.6)
        total[idx] = np.clip(total[idx], lo, hi)
        share[idx] = rng.uniform(s_lo, s_hi, len(idx))
    big = np.flatnonzero(major)
    total[big] = np.clip(total[big] * rng.uniform(1.9, 2.6, len(big)), 1_200, 3_200)
    service = np.flatnonzero(vtype == MAINTENANCE)
    total[service] = np.clip(total[service] * price[service], 180, 6_000)
    total_fen = np.round(total * 100).astype(np.int64)
    labor = np.round(total_fen * share / 100).astype(np.int64) * 100  # labour hours priced in whole yuan
    payer = np.full(n, CUSTOMER_PAY)
    payer[vtype == WARRANTY] = WARRANTY_PAY
    bodywork = np.flatnonzero(vtype == BODYWORK)
    payer[bodywork[rng.random(len(bodywork)) < 0.75]] = INSURANCE
    other = np.flatnonzero(vtype == OTHER)
    free_check = other[rng.random(len(other)) < 0.3]  # free inspections on the house
    payer[free_check] = INTERNAL
    total_fen[free_check] = 0
    labor[free_check] = 0
    maintenance = np.flatnonzero(vtype == MAINTENANCE)
    payer[maintenance[rng.random(len(maintenance)) < 0.01]] = INTERNAL
    labor = np.minimum(labor, total_fen)
    return labor, total_fen - labor, payer


def _campaign_codes(rng, day: np.ndarray, vtype: np.ndarray, t: int) -> pd.Categorical:
    """A few visits during past seasonal campaigns carry the campaign's code (活动代码)."""
    labels = [""]
    codes = np.zeros(len(day), dtype=np.int64)
    first_year = int(np.datetime64(t - HISTORY_DAYS, "D").astype("datetime64[Y]").astype(int)) + 1970
    last_year = int(np.datetime64(t, "D").astype("datetime64[Y]").astype(int)) + 1970
    eligible = np.isin(vtype, [MAINTENANCE, REPAIR, OTHER])
    draw = rng.random(len(day))
    for year in range(first_year, last_year + 1):
        for code, begin, end in (
            (f"WAKEUP-{year}H1", f"{year}-03-01", f"{year}-04-30"),
            (f"SUMMER-AC-{year}", f"{year}-06-15", f"{year}-08-31"),
            (f"WINTER-CARE-{year}", f"{year}-11-15", f"{year}-12-31"),
        ):
            lo, hi = _day(date.fromisoformat(begin)), _day(date.fromisoformat(end))
            if lo > t:
                continue
            codes[eligible & (day >= lo) & (day <= hi) & (draw < 0.1)] = len(labels)
            labels.append(code)
    return pd.Categorical.from_codes(codes, categories=labels)


def _categories(codes: np.ndarray, labels) -> pd.Categorical:
    """Repeated labels stored once (a million visits would otherwise hold a million copies of each)."""
    return pd.Categorical.from_codes(codes, categories=list(labels))


def _close_days(rng, day: np.ndarray, vtype: np.ndarray, t: int) -> np.ndarray:
    n = len(day)
    extra = np.zeros(n, dtype=np.int64)
    for kind, lo, hi in ((MAINTENANCE, 0, 1), (REPAIR, 0, 3), (BODYWORK, 2, 14), (WARRANTY, 0, 5)):
        idx = np.flatnonzero(vtype == kind)
        extra[idx] = rng.integers(lo, hi + 1, len(idx))
    maintenance_same_day = (vtype == MAINTENANCE) & (rng.random(n) < 0.85)
    extra[maintenance_same_day] = 0
    closed = day + extra
    closed[closed > t] = _NONE  # still in the workshop
    return closed


def _local_times(rng, days: np.ndarray, tz: str) -> np.ndarray:
    """Random office-hours local times on ``days`` as UTC datetime64[s]."""
    seconds = days * 86_400 + rng.integers(9 * 3600, 19 * 3600, len(days))
    local = pd.DatetimeIndex(seconds.astype("datetime64[s]"))
    return (
        local.tz_localize(tz, nonexistent="shift_forward", ambiguous=np.zeros(len(days), dtype=bool))
        .tz_convert("UTC")
        .tz_localize(None)
        .values
    )


def _consent(rng, cust: dict, since: np.ndarray, t: int, tz: str) -> tuple[pd.DataFrame, dict]:
    status = cust["consent_status"]
    decided = np.flatnonzero(status > 0)
    # Decisions fall between the customer's first car here (at most four years back) and yesterday, so that
    # none is in the future even early in the morning of ``today``.
    lo = np.minimum(np.maximum(since[decided], t - 4 * 365), t - 2)
    first_day = lo + (rng.random(len(decided)) * (t - 2 - lo)).astype(np.int64)
    first_at = _local_times(rng, first_day, tz)
    first_channel = np.where(rng.random(len(decided)) < 0.6, "dms", "counter")

    withdrawn = decided[status[decided] == 2]
    w_first = first_day[status[decided] == 2]
    w_day = w_first + 1 + (rng.random(len(withdrawn)) * (t - 1 - w_first)).astype(np.int64)
    w_at = _local_times(rng, w_day, tz)
    w_channel = np.where(rng.random(len(withdrawn)) < 0.5, "dms", "counter")

    events = pd.DataFrame(
        {
            "customer": np.concatenate([decided, withdrawn]),
            "granted": np.concatenate([np.ones(len(decided), bool), np.zeros(len(withdrawn), bool)]),
            "occurred_at": np.concatenate([first_at, w_at]),
            "channel": np.concatenate([first_channel, w_channel]),
        }
    )
    events["by_advisor"] = events["channel"] == "counter"
    events = events.sort_values(["customer", "occurred_at"], kind="stable").reset_index(drop=True)

    n = cust["n"]
    changed_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    channel = np.full(n, "", dtype="<U10")
    changed_at[decided] = first_at
    channel[decided] = first_channel
    changed_at[withdrawn] = w_at
    channel[withdrawn] = w_channel
    fields = {"marketing_consent": status == 1, "consent_changed_at": changed_at, "consent_channel": channel}
    return events, fields


def generate(n_customers: int, seed: int, today: date, *, tz: str = TIME_ZONE) -> DemoData:
    """The demo data set: deterministic for (n_customers, seed, today)."""
    if not 1 <= n_customers <= MAX_CUSTOMERS:
        raise ValueError(f"n_customers must be between 1 and {MAX_CUSTOMERS}.")
    rng = np.random.default_rng(seed)
    t = _day(today)
    cust = _customers(rng, n_customers, t)
    veh = _vehicles(rng, cust, t)
    vis = _visit_rows(rng, cust, veh, t)

    # --- visits ---
    vtype, day, vehicle, customer = vis["type"], vis["day"], vis["vehicle"], vis["customer"]
    since_purchase = day - veh["purchase"][vehicle]
    mileage = np.round(
        veh["km_per_day"][vehicle] * since_purchase * (1 + veh["km_drift"][vehicle] * since_purchase / 3650)
    ).astype(np.int64)
    # Maintenance is priced by the distance since the car's previous service, and is a major service
    # (大保养: plugs, brake fluid, gearbox oil) when the odometer passes a 30,000 km mark.
    m_rows = np.flatnonzero(vtype == MAINTENANCE)
    m_rows = m_rows[np.lexsort((day[m_rows], vehicle[m_rows]))]
    m_vehicle, m_mileage = vehicle[m_rows], mileage[m_rows]
    first_service = np.r_[True, m_vehicle[1:] != m_vehicle[:-1]]
    previous = np.where(first_service, np.maximum(m_mileage - 7_500, 0), np.r_[0, m_mileage[:-1]])
    km_since = np.zeros(len(day))
    km_since[m_rows] = m_mileage - previous
    major = np.zeros(len(day), dtype=bool)
    major[m_rows] = (m_mileage // 30_000) > (previous // 30_000)
    labor, parts, payer = _amounts(rng, vtype, km_since, major, veh["service_price"][vehicle])
    # the customer's usual advisor, sometimes another one
    advisor = np.where(rng.random(len(day)) < 0.8, cust["advisor"][customer], rng.integers(0, len(ADVISORS), len(day)))
    # RO numbers run per day in date order (RO + yyyymmdd + sequence); rows are then kept per vehicle, in
    # date order, which is also the cheapest order for the database's vehicle and customer indexes.
    day_start = np.r_[0, np.flatnonzero(np.diff(day)) + 1]
    seq = np.arange(len(day)) - np.repeat(day_start, np.diff(np.r_[day_start, len(day)])) + 1
    ro_number = np.strings.add(
        np.strings.add("RO", np.strings.replace(np.datetime_as_string(day.astype("datetime64[D]")), "-", "")),
        np.strings.zfill(seq.astype(str), 4),
    )
    closed = _close_days(rng, day, vtype, t)
    campaign = _campaign_codes(rng, day, vtype, t)
    by_vehicle = np.lexsort((vtype, day, vehicle))
    vtype, day, vehicle, customer = vtype[by_vehicle], day[by_vehicle], vehicle[by_vehicle], customer[by_vehicle]
    visits = pd.DataFrame(
        {
            "ro_number": ro_number[by_vehicle],
            "vehicle": vehicle,
            "customer": customer,
            "opened_on": _dates(day),
            "closed_on": _dates(closed[by_vehicle]),
            "mileage_km": mileage[by_vehicle],
            "visit_type": _categories(vtype, VISIT_TYPES),
            "labor_fen": labor[by_vehicle],
            "parts_fen": parts[by_vehicle],
            "payer": _categories(payer[by_vehicle], PAYERS),
            "advisor_name": _categories(advisor[by_vehicle], ADVISORS),
            "campaign_code": campaign[by_vehicle],
        }
    )
    mileage = mileage[by_vehicle]

    # --- mileage readings: the last two visit days of every vehicle (enough for a daily rate) ---
    rv, rd, rm = vehicle, day, mileage
    distinct = np.r_[(rv[1:] != rv[:-1]) | (rd[1:] != rd[:-1]), True]  # last row of each (vehicle, day)
    rv, rd, rm = rv[distinct], rd[distinct], rm[distinct]
    from_end = np.r_[np.flatnonzero(rv[1:] != rv[:-1]), len(rv) - 1]  # last row of each vehicle
    rank = np.repeat(from_end, np.diff(np.r_[-1, from_end])) - np.arange(len(rv))
    keep = rank < 2
    readings = pd.DataFrame(
        {"vehicle": rv[keep], "read_on": _dates(rd[keep]), "mileage_km": rm[keep], "source": "visit"}
    )
    last_mileage = np.full(veh["v"], -1, dtype=np.int64)
    last_mileage[rv[rank == 0]] = rm[rank == 0]

    # --- vehicles and their ownership history ---
    v = veh["v"]
    transferred = np.flatnonzero(veh["prev_owner"] >= 0)
    vehicles = pd.DataFrame(
        {
            "vin": veh["vin"],
            "plate": veh["plate"],
            "brand": veh["brand"],
            "model": veh["model"],
            "model_year": veh["model_year"],
            "purchase_date": _dates(veh["purchase"]),
            "fuel_type": veh["fuel"],
            "warranty_end": _dates(veh["warranty_end"]),
            "mileage_km": pd.array(np.where(last_mileage >= 0, last_mileage, 0), dtype="Int64"),
            "owner": veh["owner"],
        }
    )
    vehicles.loc[last_mileage < 0, "mileage_km"] = pd.NA
    open_start = np.where(veh["prev_owner"] >= 0, veh["transfer_day"], veh["purchase"])
    ownerships = pd.DataFrame(
        {
            "vehicle": np.concatenate([transferred, np.arange(v)]),
            "customer": np.concatenate([veh["prev_owner"][transferred], veh["owner"]]),
            "started_on": _dates(np.concatenate([veh["purchase"][transferred], open_start])),
            "ended_on": _dates(np.concatenate([veh["transfer_day"][transferred], np.full(v, _NONE)])),
        }
    )

    # --- customers: consent, member tier from lifetime spend ---
    n = cust["n"]
    since = np.full(n, t, dtype=np.int64)
    np.minimum.at(since, ownerships["customer"].to_numpy(), np.concatenate([veh["purchase"][transferred], open_start]))
    events, consent = _consent(rng, cust, since, t, tz)
    spend = np.bincount(customer, weights=(labor + parts).astype(float), minlength=n).astype(np.int64)
    tier = np.searchsorted(np.array([5_000, 20_000, 50_000]) * 100, spend, side="right")
    customers = pd.DataFrame(
        {
            "customer_no": np.strings.add("C", np.strings.zfill((np.arange(n) + 1).astype(str), 7)),
            "name": cust["name"],
            "phone": cust["phone"],
            "gender": cust["gender"],
            "birthday": _dates(cust["birthday"]),
            "city": cust["city"],
            "preferred_channel": cust["preferred_channel"],
            "member_tier": np.array(TIERS)[tier],
            "points": spend // 1_000,
            **consent,
            "do_not_contact": cust["do_not_contact"],
            "flag_wrong_number": cust["flag_wrong_number"],
            "flag_bounced": cust["flag_bounced"],
        }
    )
    return DemoData(
        customers=customers,
        vehicles=vehicles,
        ownerships=ownerships,
        consent_events=events,
        visits=visits,
        readings=readings,
        today=today,
    )


# ============================================================================
# Writing
# ============================================================================


@dataclass
class SeedResult:
    created: bool
    counts: dict[str, int]
    seconds: float
    phases: dict[str, float]
    duplicates_flagged: int = 0


def demo_users(*, dealership: Dealership) -> dict[str, models.Model]:
    """Get or create one account per role, each a member of ``dealership``; new ones get ``DEMO_PASSWORD``."""
    user_model = get_user_model()
    users = {}
    for username, role, display_name in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "display_name": display_name,
                # an address on the reserved .test domain: the weekly report pack and escalations reach the
                # managers in the demo's outbox (EMAIL_BACKEND of the local settings), never a real mailbox
                "email": f"{username}@demo.dealercrm.test",
                # The dealership's administrator uses the app's /staff/ pages; the Django admin is for
                # the platform's operators (createsuperuser), so no demo account is staff or superuser.
                "is_staff": False,
                "is_superuser": False,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, dealership=dealership)
        users[username] = user
    return users


def _purge(queryset: models.QuerySet) -> None:
    """Delete ``queryset`` and every row that depends on it, set-based (no per-row signals or history)."""
    model = queryset.model
    for field in model._meta.many_to_many:  # e.g. tags declared on the model itself
        through = field.remote_field.through
        link = field.m2m_field_name()
        through._base_manager.filter(**{f"{link}__in": queryset})._raw_delete(queryset.db)
    for rel in model._meta.related_objects:
        related = rel.related_model._base_manager
        if rel.many_to_many:
            through = rel.through
            for field in through._meta.fields:
                if field.is_relation and field.related_model is model:
                    through._base_manager.filter(**{f"{field.name}__in": queryset})._raw_delete(queryset.db)
            continue
        if rel.on_delete is models.DO_NOTHING:
            continue
        dependants = related.filter(**{f"{rel.field.name}__in": queryset})
        if rel.on_delete is models.SET_NULL:
            dependants.update(**{rel.field.name: None})
        else:
            _purge(dependants)
    queryset._raw_delete(queryset.db)


_PURGE_ROOTS = (ServiceVisit, Vehicle, Customer)


def _truncatable_tables() -> list[str] | None:
    """Every table whose rows all die with the roots' rows, when TRUNCATE may stand in for deleting them.

    None when some dependant is reached through a nullable key or is only nulled (SET_NULL): then
    truncating would remove rows that deleting row by row keeps.
    """
    seen: list[type[models.Model]] = list(_PURGE_ROOTS)
    nulled: set[type[models.Model]] = set()
    queue = list(_PURGE_ROOTS)
    while queue:
        model = queue.pop()
        related = [field.remote_field.through for field in model._meta.many_to_many]
        for rel in model._meta.related_objects:
            if rel.many_to_many:
                related.append(rel.through)
            elif rel.on_delete is models.SET_NULL:
                nulled.add(rel.related_model)
            elif rel.on_delete is not models.DO_NOTHING:
                if rel.field.null:
                    return None
                related.append(rel.related_model)
        for dependant in related:
            if dependant not in seen:
                seen.append(dependant)
                queue.append(dependant)
    if not nulled <= set(seen):
        return None
    return [m._meta.db_table for m in seen]


def demo_purge(*, dealership: Dealership) -> None:
    """Remove the dealership's visits, vehicles and customers (and what hangs off them), set-based.

    On PostgreSQL, when the dealership owns every customer, vehicle and visit in the database (a demo
    database), one TRUNCATE replaces the deletes: no dead rows and no foreign-key checks per deleted row.
    """
    if connection.vendor == "postgresql" and not any(
        root.objects.exclude(dealership=dealership).exists() for root in _PURGE_ROOTS
    ):
        tables = _truncatable_tables()
        if tables:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)}")
                return
            except DatabaseError:  # a table outside the graph still refers to them: delete instead
                pass
    for root in _PURGE_ROOTS:
        _purge(root.objects.filter(dealership=dealership))


def _sql_dates(values: np.ndarray) -> list:
    text = np.datetime_as_string(values.astype("datetime64[D]"), unit="D")
    out = text.astype(object)
    out[text == "NaT"] = None
    return out.tolist()


def _sql_datetimes(values: np.ndarray) -> list:
    """UTC datetime64 → what Django stores: aware text on PostgreSQL, naive UTC text on SQLite."""
    text = np.strings.replace(np.datetime_as_string(values.astype("datetime64[s]"), unit="s"), "T", " ")
    if connection.vendor == "postgresql":
        text = np.strings.add(text, "+00:00")
    out = text.astype(object)
    out[np.isnat(values)] = None
    return out.tolist()


def _sql_money(fen: np.ndarray) -> list:
    """Integer fen → exact decimal text with two places ("1234.50")."""
    yuan = (fen // 100).astype(str)
    cents = np.strings.zfill((fen % 100).astype(str), 2)
    return np.strings.add(np.strings.add(yuan, "."), cents).tolist()


def _write(table: str, n: int, columns: dict, chunk: int = 100_000) -> int:
    """Write ``n`` rows; ``columns`` maps a column name to a function (start, stop) → list of values."""
    names = list(columns)
    written = 0
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        values = [columns[name](start, stop) for name in names]
        written += copy_rows(table, names, zip(*values, strict=True), chunk_rows=chunk)
    return written


def _const(value):
    return lambda start, stop: [value] * (stop - start)


PHONE_COLUMNS = ("phone", "phone_hash", "phone_last4")


def _stored_phones(numbers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The generated E.164 numbers as stored: ciphertext, keyed hash, last four digits (customers.phones)."""
    stored = [phones.stored_columns_e164(number) for number in numbers.tolist()]  # generated in E.164
    return tuple(np.array(column, dtype=object) for column in zip(*stored, strict=True))


def _col(array, convert=None):
    def get(start, stop):
        part = array[start:stop]
        return convert(part) if convert else part.tolist()

    return get


def _ids(base: int, local: np.ndarray) -> np.ndarray:
    return local.astype(np.int64) + base + 1


def _id_bases(tables: list[type[models.Model]]) -> dict[type[models.Model], int]:
    """The last id each table has handed out, read under a lock that keeps other writers out until commit.

    The larger of the highest id present and the table's sequence, so that ids of deleted rows (which
    history tables may still name) are never handed out again.
    """
    qn = connection.ops.quote_name
    bases = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(qn(m._meta.db_table) for m in tables)
            cursor.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
        for m in tables:
            table, pk = m._meta.db_table, m._meta.pk.column
            cursor.execute(f"SELECT COALESCE(MAX({qn(pk)}), 0) FROM {qn(table)}")  # noqa: S608
            last = int(cursor.fetchone()[0])
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
                (sequence,) = cursor.fetchone()
                if sequence:
                    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 - name from PG
                    value, called = cursor.fetchone()
                    last = max(last, value if called else value - 1)
            elif connection.vendor == "sqlite":
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                last = max(last, int(row[0]) if row else 0)
            bases[m] = last
    return bases


def demo_write(data: DemoData, *, dealership: Dealership, advisor) -> dict[str, int]:
    """Insert the generated frames for ``dealership`` (inside the caller's transaction).

    A large data set is bulk-loaded on PostgreSQL (see ``customers.importing.bulkload``): secondary
    indexes built after the rows are in, foreign keys checked by one anti-join per key instead of a
    trigger per row (the generated ids do not come from a join, so they are checked, not trusted).
    """
    tables = [Customer, Vehicle, VehicleOwnership, ConsentEvent, ServiceVisit, MileageReading]
    base = _id_bases(tables)
    bulk = BulkLoad(connection)
    names = [m._meta.db_table for m in tables]
    if bulk.worth_it(ServiceVisit._meta.db_table, len(data.visits)):
        bulk.start(names)
    # rendered once: the CSV writer would otherwise format a datetime object on every row
    now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
    d_id = dealership.pk
    c, v, o, e, s, r = (
        data.customers,
        data.vehicles,
        data.ownerships,
        data.consent_events,
        data.visits,
        data.readings,
    )
    counts = {}

    def arr(frame, column):
        return frame[column].to_numpy()

    counts["customers"] = _write(
        Customer._meta.db_table,
        len(c),
        {
            "id": _col(_ids(base[Customer], np.arange(len(c)))),
            "dealership_id": _const(d_id),
            **{
                name: _col(arr(c, name))
                for name in ("customer_no", "name", "gender", "city", "preferred_channel", "member_tier")
            },
            # stored encrypted, with the keyed hash and last four digits that find it (customers.phones)
            **dict(
                zip(("phone", "phone_hash", "phone_last4"), map(_col, _stored_phones(arr(c, "phone"))), strict=True)
            ),
            "birthday": _col(arr(c, "birthday"), _sql_dates),
            "points": _col(arr(c, "points")),
            "marketing_consent": _col(arr(c, "marketing_consent")),
            "consent_changed_at": _col(arr(c, "consent_changed_at"), _sql_datetimes),
            "consent_channel": _col(arr(c, "consent_channel")),
            "do_not_contact": _col(arr(c, "do_not_contact")),
            "flag_wrong_number": _col(arr(c, "flag_wrong_number")),
            "flag_bounced": _col(arr(c, "flag_bounced")),
            "flag_possible_duplicate": _const(False),
            # issue 11's contact fields: nobody has replied "T", no e-mail or WeChat address on file yet
            "sms_opt_out": _const(False),
            "email": _const(""),
            "wechat_openid": _const(""),
            "notes": _const(""),
            "created_at": _const(now),
            "updated_at": _const(now),
        },
    )
    mileage = arr(v, "mileage_km")
    counts["vehicles"] = _write(
        Vehicle._meta.db_table,
        len(v),
        {
            "id": _col(_ids(base[Vehicle], np.arange(len(v)))),
            "dealership_id": _const(d_id),
            **{name: _col(arr(v, name)) for name in ("vin", "plate", "brand", "model", "model_year", "fuel_type")},
            "purchase_date": _col(arr(v, "purchase_date"), _sql_dates),
            "warranty_end": _col(arr(v, "warranty_end"), _sql_dates),
            "mileage_km": lambda start, stop: [None if pd.isna(x) else int(x) for x in mileage[start:stop]],
            "owner_id": _col(_ids(base[Customer], arr(v, "owner"))),
            "created_at": _const(now),
            "updated_at": _const(now),
        },
    )
    counts["ownerships"] = _write(
        VehicleOwnership._meta.db_table,
        len(o),
        {
            "id": _col(_ids(base[VehicleOwnership], np.arange(len(o)))),
            "vehicle_id": _col(_ids(base[Vehicle], arr(o, "vehicle"))),
            "customer_id": _col(_ids(base[Customer], arr(o, "customer"))),
            "started_on": _col(arr(o, "started_on"), _sql_dates),
            "ended_on": _col(arr(o, "ended_on"), _sql_dates),
        },
    )
    recorded_by = np.where(arr(e, "by_advisor"), advisor.pk, 0)
    counts["consent_events"] = _write(
        ConsentEvent._meta.db_table,
        len(e),
        {
            "id": _col(_ids(base[ConsentEvent], np.arange(len(e)))),
            "customer_id": _col(_ids(base[Customer], arr(e, "customer"))),
            "granted": _col(arr(e, "granted")),
            "occurred_at": _col(arr(e, "occurred_at"), _sql_datetimes),
            "channel": _col(arr(e, "channel")),
            "recorded_by_id": lambda start, stop: [x or None for x in recorded_by[start:stop].tolist()],
            "note": _const(""),
            "text_shown": _const(""),
            "source_file": _const(""),
            "reference": _const(""),
            "created_at": _const(now),
        },
    )
    labor, parts = arr(s, "labor_fen"), arr(s, "parts_fen")
    advisor_name = arr(s, "advisor_name")
    counts["visits"] = _write(
        ServiceVisit._meta.db_table,
        len(s),
        {
            "id": _col(_ids(base[ServiceVisit], np.arange(len(s)))),
            "dealership_id": _const(d_id),
            "ro_number": _col(arr(s, "ro_number")),
            "vehicle_id": _col(_ids(base[Vehicle], arr(s, "vehicle"))),
            "customer_id": _col(_ids(base[Customer], arr(s, "customer"))),
            "opened_on": _col(arr(s, "opened_on"), _sql_dates),
            "closed_on": _col(arr(s, "closed_on"), _sql_dates),
            "mileage_km": _col(arr(s, "mileage_km")),
            "visit_type": _col(arr(s, "visit_type")),
            "labor_amount": _col(labor, _sql_money),
            "parts_amount": _col(parts, _sql_money),
            "total_amount": _col(labor + parts, _sql_money),
            "payer": _col(arr(s, "payer")),
            "advisor_name": _col(advisor_name),
            "advisor_id": lambda start, stop: [
                advisor.pk if name == advisor.display_name else None for name in advisor_name[start:stop].tolist()
            ],
            "campaign_code": _col(arr(s, "campaign_code")),
            "created_at": _const(now),
            "updated_at": _const(now),
        },
    )
    counts["mileage_readings"] = _write(
        MileageReading._meta.db_table,
        len(r),
        {
            "id": _col(_ids(base[MileageReading], np.arange(len(r)))),
            "vehicle_id": _col(_ids(base[Vehicle], arr(r, "vehicle"))),
            "read_on": _col(arr(r, "read_on"), _sql_dates),
            "mileage_km": _col(arr(r, "mileage_km")),
            "source": _col(arr(r, "source")),
        },
    )
    bulk.check_foreign_keys(names)
    bulk.finish()
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), tables):
            cursor.execute(sql)
    return counts


def demo_dealership() -> Dealership:
    dealership, _ = Dealership.objects.get_or_create(
        code=DEMO_CODE,
        defaults={"name": DEMO_NAME, "city": DEMO_CITY, "plate_prefix": DEMO_PLATE_PREFIX, "time_zone": TIME_ZONE},
    )
    return dealership


def demo_seed(
    *, customers: int = DEFAULT_CUSTOMERS, seed: int = 0, today: date | None = None, reset: bool = False
) -> SeedResult:
    """Create the DEMO dealership, its users and (unless it already has customers) its generated data.

    All in one transaction. With ``reset`` the dealership's existing customers, vehicles and visits are
    deleted first. ``phases`` times each step; "commit" includes PostgreSQL's deferred foreign-key checks.
    """
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        phases[name] = round(time.perf_counter() - started - sum(phases.values()), 2)

    today = today or timezone.localdate()
    counts: dict[str, int] = {}
    flagged = 0
    with transaction.atomic():
        dealership = demo_dealership()
        users = demo_users(dealership=dealership)
        lap("users")
        exists = Customer.objects.filter(dealership=dealership).exists()
        if exists and not reset:
            return SeedResult(created=False, counts={}, seconds=time.perf_counter() - started, phases=phases)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if exists:
            demo_purge(dealership=dealership)
            lap("purge")
        data = generate(customers, seed, today, tz=dealership.time_zone)
        lap("generate")
        counts = demo_write(data, dealership=dealership, advisor=users["advisor"])
        lap("write")
        del data
        flagged = customers_flag_duplicate_phones(dealership=dealership)
        lap("flag duplicates")
    lap("commit")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Customer, Vehicle, VehicleOwnership, ConsentEvent, ServiceVisit, MileageReading):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        lap("analyze")
    return SeedResult(
        created=True,
        counts=counts,
        seconds=time.perf_counter() - started,
        phases=phases,
        duplicates_flagged=flagged,
    )
